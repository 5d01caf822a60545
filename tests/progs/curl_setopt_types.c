/* curl_setopt_types: curl_easy_setopt with each of libcurl's argument type
 * classes (long, object pointer, function pointer, curl_off_t, blob), for
 * options the shim's hook records and options it passes straight on,
 * printing what libcurl did with each value (tests/test_curl_layer.py:
 * the same lines with and without the shim). BASE is the fake Hub's URL. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static size_t count(char *p, size_t s, size_t n, void *d)
{
    (void)p;
    *(size_t *)d += s * n;
    return s * n;
}

static int progress_calls;

static int progress(void *d, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t e)
{
    (void)d, (void)a, (void)b, (void)c, (void)e;
    progress_calls++;
    return 0;
}

int main(int argc, char **argv)
{
    char url[512];
    size_t got = 0;
    long code = 0;
    if (argc != 2)
        return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    snprintf(url, sizeof url, "%s/bytes/1000", argv[1]);
    curl_easy_setopt(h, CURLOPT_URL, url);             /* object, recorded */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count); /* function, recorded */
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);      /* object, recorded */
    /* curl_off_t, passed on: 999 stops a 1000-byte body; 2^32 + 999 does
     * not (a value cut to 32 bits would) */
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)999);
    CURLcode rc = curl_easy_perform(h);
    printf("maxfilesize 999: rc=%d\n", (int)rc);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, ((curl_off_t)1 << 32) + 999);
    got = 0;
    rc = curl_easy_perform(h);
    printf("maxfilesize 2^32+999: rc=%d got=%zu\n", (int)rc, got);
    /* long, function and object, passed on; curl_off_t, recorded */
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "setopt-types/1");
    curl_easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, ((curl_off_t)1 << 40));
    got = 0;
    rc = curl_easy_perform(h);
    printf("progress: rc=%d got=%zu called=%s\n", (int)rc, got, progress_calls > 0 ? "yes" : "no");
    /* blob (a pointer to struct curl_blob), passed on */
    struct curl_blob blob = { (void *)"not a certificate", 17, CURL_BLOB_COPY };
    printf("blob: rc=%d\n", (int)curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob));
    /* object and curl_off_t, recorded: 3 of the 6 bytes are sent */
    snprintf(url, sizeof url, "%s/echo", argv[1]);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "abcdef");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)3);
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    printf("post: rc=%d status=%ld\n", (int)rc, code);
    /* long, recorded: a HEAD */
    snprintf(url, sizeof url, "%s/bytes/1000", argv[1]);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    got = 0;
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    printf("head: rc=%d status=%ld got=%zu\n", (int)rc, code, got);
    /* an unknown option: libcurl's own answer */
    printf("unknown: rc=%d\n", (int)curl_easy_setopt(h, (CURLoption)9999, 1L));
    curl_easy_cleanup(h);
    curl_global_cleanup();
    return 0;
}
