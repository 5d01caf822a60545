/* curlwatch: the response side of token hygiene for libcurl transfers.
 * When a verdict asks to watch the response (authwatch.h), the transfer's
 * write and header callbacks are replaced by ours for as long as it runs:
 * the response head is held until its blank line (1xx heads too, and the
 * head of a challenge libcurl answers itself), shown to
 * hfs_auth_watch_response, then either replayed to the application's own
 * callbacks in the order libcurl produced it (header lines, and with
 * CURLOPT_HEADER their copies in the body stream; return values honoured:
 * a short count aborts the transfer, CURL_WRITEFUNC_PAUSE pauses it and
 * the replay resumes when libcurl delivers the paused line again) and the
 * rest streamed through unchanged; or, when the answer says "retry",
 * swallowed with its body so that the transfer can be run once more
 * without Authorization (curl_easy_perform performs again; the multi
 * interface removes and re-adds the handle and hides the first
 * completion). The application's callbacks are never called with a lock
 * held, and libcurl's defaults (fwrite to CURLOPT_WRITEDATA or stdout;
 * headers to CURLOPT_HEADERDATA through the write function) are kept. */
#ifndef HFS_CURLWATCH_H
#define HFS_CURLWATCH_H

#include "authwatch.h"
#include "curlstate.h"

/* Installs the watch on h for the transfer about to run. can_retry: the
 * request can be sent again as it is (no streamed upload); probe: the
 * token comes from an option that libcurl only sends after a challenge,
 * so a 401/407 head with a challenge is not the answer to the token;
 * optcred: the token comes from an option (libcurl may answer a 401 by
 * sending it again within the same transfer: a dropped answer then ends
 * the transfer at once rather than being read to its end). */
void hfs_curl_watch_install(CURL *h, const struct hfs_auth_watch *w, int can_retry, int probe, int optcred);

/* The transfer on h ended with *rc: a head still held (a libcurl that
 * failed with CURLOPT_FAILONERROR before the blank line, or a transfer
 * cut inside its head) is judged or replayed now, which may change *rc
 * as the application's callbacks decide. Returns 1 when the answer was
 * dropped and the transfer must run again (call hfs_curl_watch_rearm
 * first), 0 otherwise. No lock may be held. */
int hfs_curl_watch_finish(CURL *h, CURLcode *rc);

/* Prepares h for the anonymous retry: its header list without any
 * Authorization line (and "Authorization:" so libcurl adds none of its
 * own), the option credentials unset, the error buffer as the
 * application left it, the watch ready for the new answer. 0, or -1 when
 * it cannot (out of memory: the transfer must then fail with
 * CURLE_OUT_OF_MEMORY, its answer being gone). */
int hfs_curl_watch_rearm(CURL *h);

/* Faults of the transfer about to run on h: cut >= 0 (a reset rule): it
 * ends as a reset (CURLE_RECV_ERROR, "Recv failure: Connection reset by
 * peer") once cut bytes of its response (head lines and body, as the
 * app's callbacks get them) were delivered; rate > 0 (a throttle rule):
 * the callbacks get the response no faster than rate bytes/s (they wait,
 * so libcurl reads no faster either). Adds a watch without a token check
 * if h has none (w NULL in hfs_curl_watch_install). */
void hfs_curl_watch_fault(CURL *h, long cut, long rate);

/* 1 when h has a watch installed. */
int hfs_curl_watch_active(CURL *h);

/* Takes the watch off h: the application's callbacks go back on the real
 * handle. Safe when there is none. */
void hfs_curl_watch_remove(CURL *h);

/* Frees a watch whose handle is gone (curl_easy_cleanup). */
void hfs_curl_watch_free(struct hfs_curl_watch *x);

/* curl_easy_setopt of a callback option (CURLOPT_WRITEFUNCTION,
 * WRITEDATA, HEADERFUNCTION, HEADERDATA) while a watch is installed: the
 * watch takes the new value instead of the real handle. 1 when taken. */
int hfs_curl_watch_setopt(CURL *h, CURLoption opt, void *p);

/* Puts the application's callbacks on dst, a curl_easy_duphandle copy of
 * src made while src had a watch (c: src's state, lock held). */
void hfs_curl_watch_fix_dup(CURL *dst, const struct hfs_curl *c);

#endif
