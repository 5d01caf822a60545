/* curlmulti: the libcurl multi interface's hooks and what the rest of the
 * curl layer asks of them (see curlmulti.c). */
#ifndef HFS_CURLMULTI_H
#define HFS_CURLMULTI_H

#include "curlstate.h"

/* e, in the multi handle m, has a token watch: its completion is followed
 * (the anonymous retry). */
void hfs_curl_multi_watching(CURLM *m, CURL *e);

/* An option that changes the request (URL, method, headers) was set on a
 * handle already in a real multi handle: decide again. Edits are applied
 * anew; a verdict that would answer or fail the transfer makes it fail
 * (its URL is replaced by one libcurl refuses), since it cannot be
 * answered any more once libcurl owns it. */
void hfs_curl_replan_attached(CURL *h);

/* curl_easy_cleanup of h: forget it in every multi handle we follow. */
void hfs_curl_multi_forget_easy(CURL *h);

/* fork handlers (called by atfork.c in the library's lock order) */
void hfs_curl_multi_fork_prepare(void);
void hfs_curl_multi_fork_parent(void);
void hfs_curl_multi_fork_child(void);

#endif
