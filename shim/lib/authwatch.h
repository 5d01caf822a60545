/* authwatch: what every HTTP layer (libcurl, plain sockets, OpenSSL) does
 * with the response head of a request that carried a token or went to a
 * Hub host: one diagnostic line for Hub errors (hubdiag.h), learning a
 * token the Hub answered 401 "Invalid credentials" to (tokmem.h), and
 * saying whether the request must be retried once without Authorization
 * before the application sees anything. The layers only show heads and
 * apply the answer; this file holds the policy's side effects. */
#ifndef HFS_AUTHWATCH_H
#define HFS_AUTHWATCH_H

#include "../core/decide.h"

struct hfs_auth_watch {
    char layer[8];
    char method[16];
    char url[1024];  /* as logs show it (hfs_log_safe_url) */
    char path[1024]; /* the request path, for the repo id in diagnostics */
    int router;      /* to the Inference router */
    struct hfs_verdict_auth a;
    int retried; /* the anonymous retry was made (never twice) */
};

/* Fills w from the request and its verdict; returns 1 when the layer must
 * show the response head to hfs_auth_watch_response (v->auth.watch). */
int hfs_auth_watch_start(struct hfs_auth_watch *w, const struct hfs_request *r, const struct hfs_verdict *v);

/* The final (non-1xx) response head to the request. Logs what it means,
 * learns the token when the Hub says it is invalid. Returns 1 when the
 * layer must drop this response and send the request again without
 * Authorization (once; only when can_retry: the layer can do it without
 * the application noticing, e.g. the connection stays open). */
int hfs_auth_watch_response(struct hfs_auth_watch *w, int status, const struct hfs_header *h, size_t n, int can_retry);

#endif
