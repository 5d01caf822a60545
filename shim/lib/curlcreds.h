/* curlcreds: a libcurl handle's option credentials: the Authorization
 * value libcurl would make from them, and hiding them from the real
 * handle for the length of a transfer (curlplan.c hides, the restore
 * gives them back). */
#ifndef HFS_CURLCREDS_H
#define HFS_CURLCREDS_H

#include <stddef.h>

#include "curlstate.h"

/* The Authorization value libcurl makes itself from the handle's options
 * when the app's header list has none, written into out; its length, or 0
 * when libcurl sends none. *probe: libcurl sends it only after a
 * challenge (several methods allowed, or CURLAUTH_ONLY). */
size_t hfs_curl_option_auth(const char *bearer, const char *user, const char *passwd, long want, const char *url,
                            char *out, size_t cap, int *probe);

/* Unsets the option credentials (CURLOPT_XOAUTH2_BEARER, USERNAME,
 * PASSWORD) on the real handle for the transfer about to run; the restore
 * gives them back (hfs_curl_unhide_creds). */
void hfs_curl_hide_creds(CURL *h);
void hfs_curl_unhide_creds(CURL *h);

/* curl_easy_setopt of a credential option while they are hidden: only
 * recorded (the restore sets it). 1 when taken. */
int hfs_curl_creds_setopt(CURL *h, CURLoption opt, void *p);

/* Puts the app's credentials (and CURLOPT_PIPEWAIT, off for a retry) on
 * dst, a curl_easy_duphandle copy of a handle in a transfer (c: its state,
 * lock held). */
void hfs_curl_fix_dup_creds(CURL *dst, const struct hfs_curl *c);

#endif
