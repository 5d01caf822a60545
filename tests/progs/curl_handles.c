/* curl_handles: easy handles made, used and freed in the patterns that
 * put a handle at an address an earlier one had, or move a handle from
 * one thread to another (the libcurl layer finds a thread's last handle
 * without its lock: tests/test_curl_layer.py). Every transfer sends a
 * stale-looking Authorization and an X-Seq header naming its own path;
 * the program prints one line per transfer and how many handles reused
 * an address. BASE is the fake Hub's URL. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const char *base;

static size_t count(char *p, size_t s, size_t n, void *d)
{
    (void)p;
    *(size_t *)d += s * n;
    return s * n;
}

/* Sets the request of transfer seq on h (a header list of its own, kept
 * in *list until the transfer is done). */
static void setup(CURL *h, int seq, size_t *got, struct curl_slist **list, char *url, size_t cap)
{
    char hdr[64];
    snprintf(url, cap, "%s/bytes/%d", base, 100 + seq);
    snprintf(hdr, sizeof hdr, "X-Seq: %d", seq);
    *list = curl_slist_append(NULL, "Authorization: Bearer hf_staleTOKENxxxxxxxxxxxxxxxxxxxxxx");
    *list = curl_slist_append(*list, hdr);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *list);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, got);
}

static void run(CURL *h, int seq, const char *where)
{
    char url[512];
    size_t got = 0;
    long code = 0;
    struct curl_slist *list = NULL;
    setup(h, seq, &got, &list, url, sizeof url);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    printf("%s %d: rc=%d status=%ld got=%zu\n", where, seq, (int)rc, code, got);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(list);
}

struct pass {
    CURL *h;
    int seq;
};

static void *first_half(void *arg)
{
    struct pass *p = arg;
    p->h = curl_easy_init();
    run(p->h, p->seq, "made");
    return NULL;
}

static void *second_half(void *arg)
{
    struct pass *p = arg;
    run(p->h, p->seq + 1, "moved");
    curl_easy_cleanup(p->h);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    base = argv[1];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    void *seen[16];
    int reused = 0, seq = 0;
    /* one thread: each handle freed before the next is made */
    for (int i = 0; i < 16; i++, seq++) {
        CURL *h = curl_easy_init();
        for (int k = 0; k < i; k++)
            reused += seen[k] == (void *)h;
        seen[i] = h;
        run(h, seq, "same");
        curl_easy_cleanup(h);
    }
    /* made and used on one thread, used again and freed on another, then
     * a new handle on this one */
    for (int i = 0; i < 4; i++, seq += 3) {
        struct pass p = { NULL, seq };
        pthread_t a, b;
        pthread_create(&a, NULL, first_half, &p);
        pthread_join(a, NULL);
        pthread_create(&b, NULL, second_half, &p);
        pthread_join(b, NULL);
        CURL *h = curl_easy_init();
        run(h, seq + 2, "after");
        curl_easy_cleanup(h);
    }
    printf("reused %s\n", reused ? "yes" : "no");
    curl_global_cleanup();
    return 0;
}
