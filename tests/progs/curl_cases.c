/* curl_cases: libcurl usages that once fooled the shim, one per mode, each
 * printing what the transfer returned (tests/test_curl_layer.py):
 *   curlu A B    CURLOPT_CURLU = A, then CURLOPT_URL = B (libcurl fetches A)
 *   nested A B   a transfer of B started from inside A's write callback
 *   orphan A B   A on a multi handle cleaned up without remove, then the
 *                same easy handle fetches B with curl_easy_perform
 *   late A B     A added to a multi handle, then (before the transfer
 *                starts) its header list set to "Authorization: Bearer B" */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static const char *inner_url;

static size_t sink(char *p, size_t s, size_t n, void *d)
{
    (void)p;
    (void)d;
    return s * n;
}

static size_t nest(char *p, size_t s, size_t n, void *d)
{
    (void)p;
    int *done = d;
    if (!*done) {
        *done = 1;
        CURL *h = curl_easy_init();
        long code = 0;
        curl_easy_setopt(h, CURLOPT_URL, inner_url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
        CURLcode rc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        printf("inner rc=%d code=%ld\n", rc, code);
        curl_easy_cleanup(h);
    }
    return s * n;
}

static void report(const char *what, CURL *h, CURLcode rc)
{
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    printf("%s rc=%d code=%ld\n", what, rc, code);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: curl_cases curlu|nested|orphan|late A B\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    if (strcmp(argv[1], "curlu") == 0) {
        CURLU *u = curl_url();
        curl_url_set(u, CURLUPART_URL, argv[2], 0);
        curl_easy_setopt(h, CURLOPT_CURLU, u);
        curl_easy_setopt(h, CURLOPT_URL, argv[3]);
        report("curlu", h, curl_easy_perform(h));
        curl_url_cleanup(u);
    } else if (strcmp(argv[1], "nested") == 0) {
        int done = 0;
        inner_url = argv[3];
        curl_easy_setopt(h, CURLOPT_URL, argv[2]);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, nest);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &done);
        report("outer", h, curl_easy_perform(h));
    } else if (strcmp(argv[1], "late") == 0) {
        CURLM *m = curl_multi_init();
        char auth[300];
        int running = 1;
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", argv[3]);
        struct curl_slist *l = curl_slist_append(NULL, auth);
        curl_easy_setopt(h, CURLOPT_URL, argv[2]);
        curl_multi_add_handle(m, h);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, l); /* after add: libcurl reads it at the first perform */
        while (running) {
            curl_multi_perform(m, &running);
            if (running)
                curl_multi_poll(m, NULL, 0, 1000, NULL);
        }
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)))
            if (msg->msg == CURLMSG_DONE)
                report("late", h, msg->data.result);
        curl_multi_remove_handle(m, h);
        curl_multi_cleanup(m);
        curl_slist_free_all(l);
    } else {
        CURLM *m = curl_multi_init();
        int running = 1;
        curl_easy_setopt(h, CURLOPT_URL, argv[2]);
        curl_multi_add_handle(m, h);
        while (running) {
            curl_multi_perform(m, &running);
            if (running)
                curl_multi_poll(m, NULL, 0, 1000, NULL);
        }
        curl_multi_cleanup(m); /* without curl_multi_remove_handle: libcurl allows it */
        curl_easy_setopt(h, CURLOPT_URL, argv[3]);
        report("second", h, curl_easy_perform(h));
    }
    curl_easy_cleanup(h);
    curl_global_cleanup();
    return 0;
}
