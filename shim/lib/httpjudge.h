/* httpjudge: the one step the byte-level HTTP layers (plain sockets,
 * OpenSSL plaintext) take for each request head they see: describe it as
 * a request (method, URL from the connection's scheme, host and port and
 * the head's target), ask the core, then turn the verdict into what the
 * connection engine does (forward with the header edits, answer with the
 * synthetic response, or fail), writing the log lines and counting. Also
 * the set-header value sources every HTTP layer shares. */
#ifndef HFS_HTTPJUDGE_H
#define HFS_HTTPJUDGE_H

#include "../core/conn.h"
#include "../core/cacheprobe.h"
#include "../core/edits.h"

/* What the layer knows about the connection a head was written on. */
struct hfs_http_origin {
    enum hfs_layer layer; /* HFS_LAYER_HTTP or HFS_LAYER_TLS */
    const char *scheme;   /* "http" or "https" */
    const char *host;     /* the name connected to (resolver memory, SNI), or NULL */
    struct hfs_addr addr; /* the address connected to, when known */
    int port;
    int virtual_;      /* no real peer: a forwarded verdict fails instead */
    int close_answers; /* answers must end the connection (Connection: close) */
    int server_down;   /* virtual because the server was unreachable (errno):
                              a request no rule answers fails (reset) */
};

/* Scratch the verdict points into; hfs_http_judge_done frees it once the
 * engine has taken the verdict. */
struct hfs_http_scratch {
    struct hfs_http1_edit edits[HFS_MAX_EDITS];
    struct hfs_hdr_edit resolved[HFS_MAX_EDITS];
    char values[8192];
    char *answer;
};

void hfs_http_judge(const struct hfs_http_origin *o, const struct hfs_http1_head *h, const char *head, size_t len,
                    struct hfs_conn_verdict *out, struct hfs_http_scratch *s);
void hfs_http_judge_done(struct hfs_http_scratch *s);

/* Whether the request head at the start of buf would go to the network
 * (the core's verdict, without logging or acting): 1 yes, 0 no (answered
 * or failed here), -1 when buf does not start with a complete head. */
int hfs_http_needs_network(const struct hfs_http_origin *o, const char *buf, size_t len);

/* After a decision: when a cache probe missed because a refs file in the
 * Hub cache is not a regular file (a FIFO, never read), says so in one
 * log line (the first time in the process). */
void hfs_cache_note_unread(const struct hfs_cache_ctx *c, const char *method, const char *url);

/* set-header value sources (environment as enforced, first line of a file). */
const char *hfs_value_env(void *ctx, const char *name);
long hfs_value_file(void *ctx, const char *path, char *buf, size_t cap);

#endif
