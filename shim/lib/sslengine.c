/* sslengine: the connection engine (core/conn.c) on a session's
 * plaintext: how it sends (SSL_write_ex, making a deferred handshake on
 * the first real write), waits, and has each request head judged
 * (httpjudge.c), keeping a Hub GET/HEAD's head for its first-byte
 * deadline. The hooks (sslhooks.c) drive it. */
#include "sslengine.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "real.h"
#include "ssllib.h"

/* The first real write of a deferred session: HTTP/1.1 only in ALPN (the
 * app was told none was negotiated, so it speaks HTTP/1.1); libssl makes
 * the handshake inside the write, verifying the server as the app asked. */
void hfs_tls_lazy_begin(struct hfs_tls_call *c)
{
    static const unsigned char http11[] = "\x08http/1.1";
    int (*alpn)(SSL *, const unsigned char *, unsigned int) = RS(SSL_set_alpn_protos);
    if (alpn)
        alpn(c->ssl, http11, sizeof http11 - 1);
}

void hfs_tls_lazy_end(struct hfs_tls_call *c)
{
    struct hfs_tls_sess *e = c->e;
    const unsigned char *p = NULL;
    unsigned len = 0;
    void (*sel)(const SSL *, const unsigned char **, unsigned *) = RS(SSL_get0_alpn_selected);
    e->lazy = 0;
    if (sel)
        sel(c->ssl, &p, &len);
    if (len == 2 && p && memcmp(p, "h2", 2) == 0) { /* the server ignored our ALPN list */
        e->dead = 1;
        hfs_log_msg("error", "TLS connection to %s negotiated HTTP/2 although only HTTP/1.1 was offered: refused",
                    e->host[0] ? e->host : "(address)");
    }
}

static long io_send(void *ctx, const char *p, size_t n)
{
    struct hfs_tls_call *c = ctx;
    size_t w = 0;
    int (*wr)(SSL *, const void *, size_t, size_t *) = RS(SSL_write_ex);
    if (c->e->virtual_ || !wr || c->e->dead)
        return -1;
    if (c->e->lazy) {
        int (*done)(const SSL *) = RS(SSL_is_init_finished);
        if (!done || !done(c->ssl))
            hfs_tls_lazy_begin(c);
    }
    if (wr(c->ssl, p, n, &w) == 1) {
        if (c->e->lazy) {
            hfs_tls_lazy_end(c);
            if (c->e->dead) {
                c->sslerr = SSL_ERROR_SSL;
                return -1;
            }
        }
        return (long)w;
    }
    int e = RS(SSL_get_error)(c->ssl, 0);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
        c->sslerr = e;
        return 0;
    }
    c->sslerr = e ? e : SSL_ERROR_SYSCALL;
    return -1;
}

static int io_wait(void *ctx)
{
    struct hfs_tls_call *c = ctx;
    if (c->e->fd < 0)
        return -1;
    struct pollfd p = { .fd = c->e->fd, .events = c->sslerr == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT };
    int rc;
    do
        rc = REAL(poll)(&p, 1, WAIT_MS);
    while (rc < 0 && errno == EINTR);
    return rc > 0 ? 0 : -1;
}

static long io_recv(void *ctx, char *buf, size_t n)
{
    (void)ctx;
    (void)buf;
    (void)n;
    return -1;
}

static void io_judge(void *ctx, struct hfs_conn *conn, const struct hfs_http1_head *h, const char *head, size_t len,
                     struct hfs_conn_verdict *v)
{
    struct hfs_tls_call *c = ctx;
    (void)conn;
    hfs_http_judge(&c->origin, h, head, len, v, &c->scratch);
    int get = (h->method_len == 3 && memcmp(h->method, "GET", 3) == 0) ||
              (h->method_len == 4 && memcmp(h->method, "HEAD", 4) == 0);
    if (v->act == HFS_CONN_FORWARD && get && c->e->hub && !c->e->virtual_ && !c->e->membio && !c->fb_head &&
        (c->fb_head = malloc(len))) {
        memcpy(c->fb_head, head, len);
        c->fb_len = len;
    }
}

void hfs_tls_call_setup(struct hfs_tls_call *c, SSL *ssl, struct hfs_tls_sess *e)
{
    c->ssl = ssl;
    c->e = e;
    c->sslerr = 0;
    c->fb_head = NULL;
    c->fb_len = 0;
    c->scratch.answer = NULL;
    c->origin = (struct hfs_http_origin){ .layer = HFS_LAYER_TLS,
                                          .scheme = "https",
                                          .host = e->host[0] ? e->host : NULL,
                                          .addr = e->addr,
                                          .port = e->port,
                                          .virtual_ = e->virtual_,
                                          .close_answers = e->membio && !e->virtual_,
                                          .server_down = e->server_down };
}

struct hfs_conn_io hfs_tls_io(struct hfs_tls_call *c)
{
    return (struct hfs_conn_io){ io_send, io_wait, io_recv, io_judge, c };
}
