/* curldl: libcurl for the launcher, opened on first use (dlopen of
 * libcurl.so.4) instead of linked: only the Hub token check (whoami.c)
 * needs it, and the launcher must start, install and explain on a machine
 * or in an image without libcurl (docs/portable-build.md). */
#ifndef HFS_CURLDL_H
#define HFS_CURLDL_H
#include <stddef.h>

#define CURL_DISABLE_DEPRECATION 1
#include <curl/curl.h>

struct hfs_curl {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *c);
    CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode rc);
    void (*easy_cleanup)(CURL *c);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
};

/* The table, or NULL with why (cap bytes) saying what is missing. */
const struct hfs_curl *hfs_curl(char *why, size_t cap);

#endif
