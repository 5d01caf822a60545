/* curldl: libcurl opened on first use (see header). */
#include "curldl.h"

#include <dlfcn.h>
#include <stdio.h>

static struct hfs_curl table;
static int state; /* 0 not tried, 1 loaded, -1 missing */
static char missing[200];

const struct hfs_curl *hfs_curl(char *why, size_t cap)
{
    if (state == 0) {
        state = -1;
        void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            snprintf(missing, sizeof missing, "no libcurl.so.4 here: the Hub check needs libcurl (package libcurl4)");
        } else {
#define GET(field, sym)                                                                                                \
    if (!(*(void **)&table.field = dlsym(h, sym)))                                                                     \
        snprintf(missing, sizeof missing, "libcurl.so.4 has no %s", sym);
            GET(easy_init, "curl_easy_init")
            GET(easy_setopt, "curl_easy_setopt")
            GET(easy_perform, "curl_easy_perform")
            GET(easy_getinfo, "curl_easy_getinfo")
            GET(easy_strerror, "curl_easy_strerror")
            GET(easy_cleanup, "curl_easy_cleanup")
            GET(slist_append, "curl_slist_append")
            GET(slist_free_all, "curl_slist_free_all")
#undef GET
            if (!missing[0])
                state = 1;
        }
    }
    if (state == 1)
        return &table;
    if (why && cap)
        snprintf(why, cap, "%s", missing);
    return NULL;
}
