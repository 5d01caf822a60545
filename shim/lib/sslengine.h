/* sslengine: the connection engine on a session's plaintext (sslengine.c). */
#ifndef HFS_SSLENGINE_H
#define HFS_SSLENGINE_H

#include "../core/conn.h"
#include "httpjudge.h"
#include "sslsess.h"

/* how long the engine waits for the socket when libssl wants it */
#define WAIT_MS 30000

/* One call into the engine on a session (e locked). */
struct hfs_tls_call {
    SSL *ssl;
    struct hfs_tls_sess *e;
    struct hfs_http_origin origin;
    struct hfs_http_scratch scratch;
    int sslerr;
    char *fb_head; /* a GET/HEAD to a Hub host went on: its head, for the first-byte deadline */
    size_t fb_len;
};

/* Starts a call on ssl's session e. */
void hfs_tls_call_setup(struct hfs_tls_call *c, SSL *ssl, struct hfs_tls_sess *e);

/* The engine's I/O for a call. */
struct hfs_conn_io hfs_tls_io(struct hfs_tls_call *c);

/* The first real write of a deferred session: HTTP/1.1 only in ALPN
 * before it; after it, a session whose server still chose h2 is dead. */
void hfs_tls_lazy_begin(struct hfs_tls_call *c);
void hfs_tls_lazy_end(struct hfs_tls_call *c);

#endif
