/* curlplan: the libcurl layer's one decision step, shared by
 * curl_easy_perform and curl_multi_add_handle: describe the handle's
 * transfer as a request, ask the core, then apply the verdict to the
 * handle (header list swapped for one with the edits, delay slept, the
 * log lines written) and say how the transfer must go on. */
#ifndef HFS_CURLPLAN_H
#define HFS_CURLPLAN_H

#include "../core/cacheprobe.h"
#include "curlstate.h"

enum hfs_curl_next {
    HFS_CURL_PASS,    /* run the real transfer (maybe with our header list) */
    HFS_CURL_VIRTUAL, /* answer with plan->answer through the callbacks */
    HFS_CURL_FAIL,    /* fail with plan->code; the error buffer is filled */
};

struct hfs_curl_plan {
    enum hfs_curl_next next;
    CURLcode code;
    struct hfs_answer answer; /* may point into cache */
    char rule[128];
    struct hfs_cache_ctx cache; /* an answer from the Hub cache */
};

/* Decides for the transfer h is about to run. Release the plan with
 * hfs_curl_plan_done once its answer is delivered. */
void hfs_curl_plan(CURL *h, struct hfs_curl_plan *plan);
void hfs_curl_plan_done(struct hfs_curl_plan *plan);

/* After a transfer: gives the app's own header list, option credentials
 * and callbacks back to the handle. */
void hfs_curl_restore(CURL *h);
/* A transfer ended with rc: a Hub transfer whose bounded connect phase
 * timed out, or whose connection was reset before any response, is
 * learned as unreachable (reach). Before hfs_curl_restore. */
void hfs_curl_reach_done(CURL *h, CURLcode rc);

/* Delivers a virtual transfer's answer to h's callbacks, as libcurl would
 * (status line and headers to the header callback, body to the write
 * callback, failonerror honoured), and remembers it for curl_easy_getinfo.
 * Returns the CURLcode the transfer ends with. */
CURLcode hfs_curl_deliver(CURL *h, const struct hfs_answer *a);

/* curl_easy_getinfo for a handle whose last transfer was virtual: 1 when
 * answered (value written through arg), 0 to ask the real libcurl. */
int hfs_curl_getinfo_virtual(CURL *h, CURLINFO info, void *arg);

#endif
