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

/* An option that changes the request (URL, method, headers) was set on a
 * handle already in a real multi handle: decide again. Edits are applied
 * anew; a verdict that would answer or fail the transfer makes it fail
 * (its URL is replaced by one libcurl refuses), since it cannot be
 * answered any more once libcurl owns it. */
void hfs_curl_replan_attached(CURL *h);

/* After a transfer: gives the app's own header list, option credentials
 * and callbacks back to the handle. */
void hfs_curl_restore(CURL *h);
/* A transfer ended with rc: a Hub transfer whose bounded connect phase
 * timed out, or whose connection was reset before any response, is
 * learned as unreachable (reach). Before hfs_curl_restore. */
void hfs_curl_reach_done(CURL *h, CURLcode rc);

/* Unsets the option credentials (CURLOPT_XOAUTH2_BEARER, USERNAME,
 * PASSWORD) on the real handle for the transfer about to run; the restore
 * gives them back. */
void hfs_curl_hide_creds(CURL *h);

/* curl_easy_setopt of a credential option while they are hidden: only
 * recorded (the restore sets it). 1 when taken. */
int hfs_curl_creds_setopt(CURL *h, CURLoption opt, void *p);

/* Puts the app's credentials (and CURLOPT_PIPEWAIT, off for a retry) on
 * dst, a curl_easy_duphandle copy of a handle in a transfer (c: its state,
 * lock held). */
void hfs_curl_fix_dup_creds(CURL *dst, const struct hfs_curl *c);

/* Delivers a virtual transfer's answer to h's callbacks, as libcurl would
 * (status line and headers to the header callback, body to the write
 * callback, failonerror honoured), and remembers it for curl_easy_getinfo.
 * Returns the CURLcode the transfer ends with. */
CURLcode hfs_curl_deliver(CURL *h, const struct hfs_answer *a);

/* curl_easy_getinfo for a handle whose last transfer was virtual: 1 when
 * answered (value written through arg), 0 to ask the real libcurl. */
int hfs_curl_getinfo_virtual(CURL *h, CURLINFO info, void *arg);

/* curlmulti.c: e, in the multi handle m, has a token watch: its
 * completion is followed (the anonymous retry). */
void hfs_curl_multi_watching(CURLM *m, CURL *e);
/* fork handlers of curlmulti.c (called by atfork.c in the library's lock order) */
void hfs_curl_multi_fork_prepare(void);
void hfs_curl_multi_fork_parent(void);
void hfs_curl_multi_fork_child(void);

#endif
