/* sslhooks: the OpenSSL plaintext layer's hooks. Client sessions whose
 * socket the socket layer watches or made virtual, or whose SNI names a
 * host some HTTP rule may act on, get the same connection engine as plain
 * sockets, on plaintext (sslengine.c): SSL_write[_ex] frames and judges
 * requests (heads rewritten, answered requests swallowed), SSL_read[_ex]
 * and SSL_peek[_ex] serve answers in their turn; zero-length calls move no
 * HTTP bytes and get libssl's own answers. A session on a virtual socket
 * is virtual too: the handshake succeeds without a peer, the peer
 * certificate is one made in-process for the host (tlscert.c), ALPN says
 * none (HTTP/1.1), and SSL_get_error tells what our answers mean. Sessions
 * that negotiated h2, server sessions and sessions libcurl drives pass
 * through untouched. Here: first sight of a session, the handshake and
 * its deadlines, the memory-BIO pairing with the socket layer (tlspair.h)
 * and the hooks. Elsewhere: the real libssl (ssllib.c), the session table
 * (sslsess.c), the engine adapter (sslengine.c), ALPN offers (sslalpn.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/conn.h"
#include "../core/decide.h"
#include "../core/log.h"
#include "curlstate.h"
#include "faultpace.h"
#include "decide_apply.h"
#include "dnsmem.h"
#include "httpjudge.h"
#include "reachmem.h"
#include "reachwait.h"
#include "real.h"
#include "sockconn.h"
#include "sslalpn.h"
#include "sslengine.h"
#include "ssllib.h"
#include "sslsess.h"
#include "state.h"
#include "tlscert.h"
#include "tlspair.h"

/* -- first sight of a session ----------------------------------------------------- */

/* 1 when rules other than token hygiene act on the session's host (the
 * core's http_strict): an h2 session must then be refused. */
static int h2_must_refuse(const struct hfs_tls_sess *e)
{
    struct hfs_verdict v;
    hfs_judge_dest(e->host, &e->addr, e->port ? e->port : 443, "https", &v);
    return v.http_strict || v.fate == HFS_CONN_VIRTUAL || e->virtual_;
}

/* First sight of a client session (handshake or first write): whether
 * hfshim acts on it. */
static void examine(SSL *ssl)
{
    int busy_outer;
    if (!ssl || hfs_in_curl || hfs_busy || !hfs_ready())
        return;
    if (hfs_tls_known(ssl))
        return;
    struct hfs_tls_sess *e = calloc(1, sizeof *e);
    if (!e)
        return;
    pthread_mutex_init(&e->mu, NULL);
    e->ssl = ssl;
    e->skip = 1;
    e->fd = -1;
    e->wake_fd = -1;
    HFS_BUSY_ENTER(busy_outer);
    int (*is_server)(const SSL *) = RS(SSL_is_server);
    int (*get_fd)(const SSL *) = RS(SSL_get_fd);
    const char *(*sni)(const SSL *, const int) = RS(SSL_get_servername);
    if (!(is_server && is_server(ssl))) {
        const char *name = sni ? sni(ssl, TLSEXT_NAMETYPE_host_name) : NULL;
        int fd = get_fd ? get_fd(ssl) : -1;
        int virt = 0, watched = 0;
        char host[256] = "";
        if (fd >= 0 && hfs_sock_dest(fd, host, sizeof host, &e->addr, &e->port, &virt)) {
            watched = 1;
            hfs_sock_set_tls(fd);
            e->server_down = hfs_sock_server_down(fd);
            SSL_CTX *(*ctx_of)(const SSL *) = RS(SSL_get_SSL_CTX);
            e->lazy_ok = !virt && hfs_sock_answerable(fd) && !hfs_tls_is_h2only(ssl) &&
                         !(ctx_of && hfs_tls_is_h2only(ctx_of(ssl)));
        }
        if (name && *name)
            snprintf(e->host, sizeof e->host, "%s", name);
        else
            snprintf(e->host, sizeof e->host, "%s", host);
        if (!e->host[0] && (e->addr.family == AF_INET || e->addr.family == AF_INET6))
            inet_ntop(e->addr.family, e->addr.a, e->host, sizeof e->host); /* no SNI for an address */
        e->fd = fd;
        if (watched) {
            e->virtual_ = virt;
            e->skip = 0;
            if (!virt) {
                e->hub = hfs_reach_on() && hfs_dest_is_hub(e->host, &e->addr, e->port);
            }
        } else if (fd < 0) {
            /* a memory BIO: dormant until its ClientHello shows up on a
             * socket hfshim watches or made virtual (hfs_tls_adopt) */
            e->membio = 1;
            e->dormant = 1;
            e->skip = 0;
        } else if (e->host[0]) {
            /* a socket hfshim does not watch: the SNI name decides whether
             * HTTP rules may act on it */
            struct hfs_verdict v;
            hfs_judge_dest(e->host, NULL, 443, "https", &v);
            e->port = 443;
            e->skip = !(v.http_rules || v.fate == HFS_CONN_VIRTUAL);
        }
        if (!e->skip && !e->dormant && !(e->conn = hfs_conn_new(e->virtual_)))
            e->skip = 1;
    }
    HFS_BUSY_LEAVE(busy_outer);
    if (!hfs_tls_insert(e)) { /* another thread was first */
        pthread_mutex_destroy(&e->mu);
        hfs_conn_free(e->conn);
        free(e);
    }
}

/* -- hooks ------------------------------------------------------------------------ */

/* A dormant memory-BIO session: remember its ClientHello random once
 * libssl has made it (the first handshake call writes the ClientHello). */
static void note_random(SSL *ssl)
{
    if (!hfs_tls_any())
        return;
    size_t (*cr)(const SSL *, unsigned char *, size_t) = RS(SSL_get_client_random);
    hfs_tls_table_lock();
    struct hfs_tls_sess *e = hfs_tls_find_locked(ssl);
    if (e && e->membio && e->dormant && !e->have_random && cr && cr(ssl, e->random, 32) == 32)
        e->have_random = 1;
    hfs_tls_table_unlock();
}

struct adopt {
    const unsigned char *random;
    int fd, port, virtual_;
    const char *host;
    const struct hfs_addr *addr;
};

/* the dormant session whose ClientHello had this random (table locked) */
static int adopt_match(struct hfs_tls_sess *e, void *arg)
{
    const struct adopt *a = arg;
    if (!e->dormant || !e->have_random || memcmp(e->random, a->random, 32) != 0)
        return 0;
    pthread_mutex_lock(&e->mu);
    if (a->host && *a->host && !e->host[0])
        snprintf(e->host, sizeof e->host, "%s", a->host);
    if (!e->host[0] && (a->addr->family == AF_INET || a->addr->family == AF_INET6))
        inet_ntop(a->addr->family, a->addr->a, e->host, sizeof e->host);
    e->addr = *a->addr;
    e->port = a->port;
    e->virtual_ = a->virtual_;
    e->wake_fd = a->fd;
    e->server_down = hfs_sock_server_down(a->fd);
    e->conn = hfs_conn_new(a->virtual_);
    if (e->conn)
        e->dormant = 0;
    else
        e->skip = 1;
    pthread_mutex_unlock(&e->mu);
    return 1;
}

int hfs_tls_adopt(const unsigned char random[32], int fd, const char *host, const struct hfs_addr *addr, int port,
                  int virtual_)
{
    if (!hfs_tls_any())
        return 0;
    struct adopt a = { random, fd, port, virtual_, host, addr };
    return hfs_tls_find(adopt_match, &a) != NULL;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum { HS_SLOW = -2 };

/* A Hub session on a non-blocking socket (an event loop's, or Python's
 * socket with a timeout, which waits in poll itself): its handshake, or
 * the start of the response to a GET/HEAD, is bounded where the app waits
 * (reachwait.h), never here. At the deadline, nothing received from the
 * server since it was set means the host is unreachable: it is learned
 * and the session turns virtual, as the blocking waits below do (the
 * handshake reports done, the request is answered as offline), its socket
 * made readable so the app calls again; for libcurl's sessions (answered
 * at its own layer), or when that cannot be, the socket is shut down and
 * the app's next call fails at once (a handshake: errno ETIMEDOUT). */
struct tls_wait {
    unsigned long long rx0;
    int reason, curl;
    SSL *ssl;
    char host[256];
};

static int handshake_timed_out(struct hfs_tls_sess *e);
static int answer_offline(SSL *ssl, struct hfs_tls_sess *e, const char *head, size_t len, int reason, int err);

static int tls_wait_expired(int fd, void *arg)
{
    struct tls_wait *w = arg;
    int st, done = -1;
    unsigned long long rx;
    if (hfs_rw_tcp(fd, &st, &rx) < 0)
        return 0;
    int silent = rx == w->rx0;
    if (!silent && w->reason == HFS_REACH_HANDSHAKE_SLOW)
        return 0; /* the server answered */
    struct hfs_tls_sess *e = w->curl ? NULL : hfs_tls_get(w->ssl);
    if (e && (e->fd != fd || e->virtual_ || e->dead)) {
        hfs_tls_put(e);
        return 0; /* not that session any more, or already answered */
    }
    if (!e && !w->curl)
        return 0; /* the session ended */
    if (e && w->reason == HFS_REACH_SILENT && !(e->fb_head && e->conn && hfs_conn_outstanding(e->conn) == 1)) {
        hfs_tls_put(e);
        return 0; /* its response started (the app read it) */
    }
    if (!silent && e) {
        /* bytes came: a response, or only a TLS 1.3 server's session
         * tickets (libssl takes them in; application data stays for the app) */
        int (*peek)(SSL *, void *, int) = RS(SSL_peek);
        int (*get_error)(const SSL *, int) = RS(SSL_get_error);
        char b;
        int pr = peek && get_error ? peek(w->ssl, &b, 1) : 1;
        silent = pr <= 0 && get_error(w->ssl, pr) == SSL_ERROR_WANT_READ;
    }
    if (!silent) {
        if (e)
            hfs_tls_put(e);
        return 0; /* the server answered */
    }
    if (e) {
        if (w->reason == HFS_REACH_HANDSHAKE_SLOW) {
            done = handshake_timed_out(e);
        } else {
            char *head = e->fb_head;
            e->fb_head = NULL;
            done = answer_offline(w->ssl, e, head, e->fb_len, HFS_REACH_SILENT, 0);
            free(head);
        }
        hfs_tls_put(e);
    }
    if (done == 0) {
        hfs_sock_wake(fd); /* the app's wait ends: its next call finds the virtual session */
        return 0;
    }
    hfs_reach_learn(w->host[0] ? w->host : NULL, w->reason, 0);
    REAL(shutdown)(fd, SHUT_RDWR);
    return ETIMEDOUT;
}

/* Sets fd's deadline (a handshake's only once: the app calls again at
 * each step): 0, else -1 (the caller then waits itself). */
static int tls_deadline(SSL *ssl, int fd, const char *host, int reason, int ms)
{
    if (reason == HFS_REACH_HANDSHAKE_SLOW && hfs_rw_has(fd, tls_wait_expired))
        return 0;
    struct tls_wait *w = calloc(1, sizeof *w);
    int st;
    if (!w || hfs_rw_tcp(fd, &st, &w->rx0) < 0) {
        free(w);
        return -1;
    }
    w->reason = reason;
    w->ssl = ssl;
    w->curl = hfs_in_curl;
    snprintf(w->host, sizeof w->host, "%s", host ? host : "");
    if (hfs_rw_add(fd, ms, tls_wait_expired, NULL, w) < 0) {
        free(w);
        return -1;
    }
    return 0;
}

static int nonblocking_fd(int fd)
{
    int fl = fd >= 0 ? REAL(fcntl)(fd, F_GETFL) : -1;
    return fl >= 0 && (fl & O_NONBLOCK);
}

/* The real handshake of a session with a Hub host, bounded by
 * reach.handshake_ms: made on a non-blocking socket and waited for here
 * (no thread; the socket's flags are put back as the app set them), so a
 * server that accepts and never finishes the handshake cannot hold the
 * app. What libssl returns, or HS_SLOW when time ran out. */
static int bounded_handshake(SSL *ssl, int fd, const char *host, int (*hs)(SSL *))
{
    int fl = fd >= 0 ? REAL(fcntl)(fd, F_GETFL) : -1;
    int (*get_error)(const SSL *, int) = RS(SSL_get_error);
    if (fl < 0 || !get_error)
        return hs(ssl);
    if ((fl & O_NONBLOCK) && tls_deadline(ssl, fd, host, HFS_REACH_HANDSHAKE_SLOW, hfs_reach_handshake_ms()) == 0) {
        int r = hs(ssl); /* the app's own non-blocking step; its wait has the deadline */
        if (r != 1 && hfs_rw_failed(fd))
            errno = ETIMEDOUT;
        return r;
    }
    if (!(fl & O_NONBLOCK))
        REAL(fcntl)(fd, F_SETFL, fl | O_NONBLOCK);
    long long end = mono_ms() + hfs_reach_handshake_ms();
    int r;
    for (;;) {
        r = hs(ssl);
        if (r == 1)
            break;
        int err = get_error(ssl, r);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
            break;
        long long left = end - mono_ms();
        struct pollfd p = { .fd = fd, .events = err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT };
        int n = 0;
        while (left > 0 && (n = REAL(poll)(&p, 1, (int)left)) < 0 && errno == EINTR)
            left = end - mono_ms();
        if (n <= 0) {
            r = HS_SLOW;
            break;
        }
    }
    if (!(fl & O_NONBLOCK))
        REAL(fcntl)(fd, F_SETFL, fl);
    return r;
}

/* A Hub host did not finish its handshake in time: it is learned as
 * unreachable and the session goes on without a peer (its requests are
 * answered as offline: from the cache, or an HTTP 403). 0, or -1 when
 * the socket could not be made virtual. */
static int handshake_timed_out(struct hfs_tls_sess *e)
{
    hfs_reach_learn(e->host[0] ? e->host : NULL, HFS_REACH_HANDSHAKE_SLOW, 0);
    if (e->fd < 0 || hfs_sock_tls_takeover(e->fd) != 0)
        return -1;
    e->virtual_ = 1;
    e->lazy = 0;
    return 0;
}

/* the live memory-BIO session woken through *fd, locked (table locked) */
static int membio_on_fd(struct hfs_tls_sess *e, void *arg)
{
    if (!e->membio || e->wake_fd != *(int *)arg || e->dormant || e->skip)
        return 0;
    pthread_mutex_lock(&e->mu);
    return 1;
}

int hfs_tls_membio_timed_out(int fd, const char *host)
{
    if (fd < 0 || !hfs_tls_any())
        return -1;
    struct hfs_tls_sess *found = hfs_tls_find(membio_on_fd, &fd);
    if (!found)
        return -1;
    int rc = -1;
    if (!found->virtual_ && !found->dead) {
        hfs_reach_learn(found->host[0] ? found->host : host, HFS_REACH_HANDSHAKE_SLOW, 0);
        if (hfs_sock_tls_takeover(fd) == 0) {
            found->virtual_ = 1;
            found->lazy = 0;
            rc = 0;
        }
    }
    hfs_tls_put(found);
    if (rc == 0)
        hfs_sock_wake(fd); /* the loop reads the socket and calls the handshake again: done */
    return rc;
}

static int handshake(SSL *ssl, int (*real)(SSL *))
{
    int busy_outer;
    examine(ssl);
    struct hfs_tls_sess *e = hfs_tls_get(ssl);
    if (e && e->dead) {
        hfs_tls_put(e);
        return -1;
    }
    if (e && e->virtual_) {
        e->err = 0;
        hfs_tls_put(e);
        return 1; /* a virtual session: nothing to negotiate */
    }
    if (e && (e->lazy || (e->lazy_ok && !e->conn_used))) {
        /* deferred: made by the first real write (io_send) */
        void (*connect_state)(SSL *) = RS(SSL_set_connect_state);
        if (!e->lazy && connect_state)
            connect_state(ssl); /* SSL_connect would have; the write's implicit handshake needs it */
        e->lazy = 1;
        e->err = 0;
        hfs_tls_put(e);
        return 1;
    }
    int hub = 0, fd = -1;
    char host[256] = "";
    if (e) {
        e->err = 0; /* libssl tells about its own call */
        hub = e->hub && !e->membio;
        fd = e->fd;
        snprintf(host, sizeof host, "%s", e->host);
        hfs_tls_put(e);
    }
    if (!real)
        return -1;
    int r = hub ? bounded_handshake(ssl, fd, host, real) : real(ssl);
    if (r == HS_SLOW) {
        HFS_BUSY_ENTER(busy_outer);
        if ((e = hfs_tls_get(ssl))) {
            r = handshake_timed_out(e) == 0 ? 1 : -1;
            e->err = r == 1 ? 0 : SSL_ERROR_SYSCALL;
            hfs_tls_put(e);
        } else {
            r = -1;
        }
        HFS_BUSY_LEAVE(busy_outer);
        if (r == 1)
            return 1; /* the Hub is unreachable: a virtual session answers as offline */
        errno = ETIMEDOUT;
        return -1;
    }
    note_random(ssl);
    if (r == 1 && (e = hfs_tls_get(ssl))) { /* h2 is opaque to an HTTP/1 engine: hands off */
        const unsigned char *p = NULL;
        unsigned len = 0;
        void (*alpn)(const SSL *, const unsigned char **, unsigned *) = RS(SSL_get0_alpn_selected);
        if (alpn)
            alpn(ssl, &p, &len);
        if (len == 2 && p && memcmp(p, "h2", 2) == 0 && !h2_must_refuse(e)) {
            /* only token hygiene applies to this host: it cannot read h2,
             * so the session passes through (said once per process) */
            static atomic_int said;
            if (!atomic_exchange(&said, 1))
                hfs_log_msg("info",
                            "TLS connection to %s negotiated HTTP/2: token hygiene cannot read it and lets "
                            "it pass (rules/README.md §11)",
                            e->host[0] ? e->host : "(address)");
            e->skip = 1;
        } else if (len == 2 && p && memcmp(p, "h2", 2) == 0) {
            /* HTTP/2 is opaque to the HTTP/1 engine, and HTTP rules apply
             * to this host: passing it through would silently skip them
             * (a token strip, a block), so the session is refused */
            e->dead = 1;
            e->err = SSL_ERROR_SSL;
            hfs_log_msg("error",
                        "TLS connection to %s negotiated HTTP/2, but HTTP rules apply to this host and "
                        "hfshim reads HTTP/1.1 only: refused (make the client use HTTP/1.1)",
                        e->host[0] ? e->host : "(address)");
            r = -1;
        }
        hfs_tls_put(e);
    }
    return r;
}

HFS_EXPORT int SSL_do_handshake(SSL *ssl) { return handshake(ssl, RS(SSL_do_handshake)); }
HFS_EXPORT int SSL_connect(SSL *ssl) { return handshake(ssl, RS(SSL_connect)); }

/* The Hub host of session e showed a sign (reason, err) while a GET/HEAD
 * waited for its response (e->mu held, hfs_busy set): the host is learned
 * as unreachable and the session turns virtual; the request is judged
 * again and answered as offline (cache or 403), which the app's next
 * SSL_read gets. 0, or -1 when it could not be (the app sees what the
 * server did). */
static int answer_offline(SSL *ssl, struct hfs_tls_sess *e, const char *head, size_t len, int reason, int err)
{
    int saved = errno;
    hfs_reach_learn(e->host[0] ? e->host : NULL, reason, err);
    struct hfs_conn *fresh = hfs_conn_new(1);
    struct hfs_tls_call *c = fresh ? malloc(sizeof *c) : NULL;
    if (!c || hfs_sock_tls_takeover(e->fd) != 0) {
        free(c);
        hfs_conn_free(fresh);
        errno = saved;
        return -1; /* the app waits for the server as it would have */
    }
    hfs_conn_free(e->conn);
    e->conn = fresh;
    e->virtual_ = 1;
    hfs_tls_call_setup(c, ssl, e);
    struct hfs_conn_io io = hfs_tls_io(c);
    hfs_conn_write(e->conn, head, len, &io);
    hfs_http_judge_done(&c->scratch);
    free(c->fb_head);
    free(c);
    errno = saved;
    return 0;
}

/* A GET/HEAD to a Hub host went to the server over TLS (e->mu held,
 * hfs_busy set): its response must start within reach.first_byte_ms. When
 * nothing arrives (a server that finished the handshake and went silent),
 * the host is learned as unreachable and the session turns virtual: the
 * request is judged again and answered as offline (cache or 403), which the
 * app's next SSL_read gets. Only the start of a response is bounded. */
static void first_byte_wait(SSL *ssl, struct hfs_tls_sess *e, const char *head, size_t len)
{
    int (*pending)(const SSL *) = RS(SSL_pending);
    int (*peek)(SSL *, void *, int) = RS(SSL_peek);
    int (*get_error)(const SSL *, int) = RS(SSL_get_error);
    int fl = e->fd >= 0 ? REAL(fcntl)(e->fd, F_GETFL) : -1;
    if (fl < 0 || !peek || !get_error || (pending && pending(ssl) > 0))
        return;
    int saved = errno, k = 0;
    long long end = mono_ms() + hfs_reach_first_byte_ms();
    for (;;) {
        long long left = end - mono_ms();
        struct pollfd p = { .fd = e->fd, .events = POLLIN };
        k = left > 0 ? REAL(poll)(&p, 1, (int)left) : 0;
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        /* something came: a response, or only TLS housekeeping (a TLS 1.3
         * server's session tickets). libssl takes the records in; the
         * application data, if any, stays for the app's SSL_read */
        char b;
        if (!(fl & O_NONBLOCK))
            REAL(fcntl)(e->fd, F_SETFL, fl | O_NONBLOCK);
        int pr = peek(ssl, &b, 1);
        int pe = pr > 0 ? 0 : get_error(ssl, pr);
        if (!(fl & O_NONBLOCK))
            REAL(fcntl)(e->fd, F_SETFL, fl);
        if (pr > 0 || pe != SSL_ERROR_WANT_READ) {
            k = 1; /* the response started (or the session ended): the app reads it */
            break;
        }
    }
    if (k != 0) {
        errno = saved;
        return;
    }
    answer_offline(ssl, e, head, len, HFS_REACH_SILENT, 0);
    errno = saved;
}

/* One write of the app through the engine. 1 with *written, or <= 0
 * with e->err / libssl's error state saying why. */
static int write_ex(SSL *ssl, struct hfs_tls_sess *e, const void *buf, size_t n, size_t *written)
{
    int busy_outer;
    e->conn_used = 1;
    if (e->dead) {
        e->err = SSL_ERROR_SSL;
        return -1;
    }
    struct hfs_tls_call cbuf, *c = &cbuf; /* on the stack, as read_ex's: no malloc per write */
    hfs_tls_call_setup(c, ssl, e);
    size_t off = (e->resume_n == n && e->resume_off < n) ? e->resume_off : 0;
    if (e->lazy && off == 0 && hfs_conn_at_request_start(e->conn)) {
        /* a deferred handshake is made when a request needs the server,
         * before the engine takes any of it: a non-blocking app then
         * gets WANT_READ/WANT_WRITE and waits with its own timeout */
        HFS_BUSY_ENTER(busy_outer);
        int need = hfs_http_needs_network(&c->origin, buf, n) == 1;
        int r = 1, err = 0;
        if (need) {
            int (*hs)(SSL *) = RS(SSL_do_handshake);
            hfs_tls_lazy_begin(c);
            r = !hs ? -1 : e->hub && !e->membio ? bounded_handshake(ssl, e->fd, e->host, hs) : hs(ssl);
            if (r == HS_SLOW && handshake_timed_out(e) == 0) {
                r = 1; /* the Hub is unreachable: the request is answered as offline */
                hfs_tls_call_setup(c, ssl, e);
            } else {
                err = r == 1 ? 0 : r == HS_SLOW ? SSL_ERROR_SYSCALL : RS(SSL_get_error)(ssl, r);
                if (r == 1)
                    hfs_tls_lazy_end(c);
                else if (r == HS_SLOW)
                    r = -1;
            }
        }
        HFS_BUSY_LEAVE(busy_outer);
        if (r != 1 || e->dead) {
            e->err = r == 1 ? SSL_ERROR_SSL : err ? err : SSL_ERROR_SYSCALL;
            if (e->err != SSL_ERROR_WANT_READ && e->err != SSL_ERROR_WANT_WRITE)
                hfs_log_msg("error",
                            "TLS handshake with %s (deferred by hfshim until a request needed the server) "
                            "failed",
                            e->host[0] ? e->host : "(address)");
            return -1;
        }
    }
    struct hfs_conn_io io = hfs_tls_io(c);
    HFS_BUSY_ENTER(busy_outer);
    long r = hfs_conn_write(e->conn, (const char *)buf + off, n - off, &io);
    hfs_http_judge_done(&c->scratch);
    if (r > 0 && off + (size_t)r == n && c->fb_head && !e->virtual_ && hfs_conn_outstanding(e->conn) == 1 &&
        hfs_conn_at_request_start(e->conn) &&
        !(nonblocking_fd(e->fd) &&
          (hfs_in_curl || tls_deadline(ssl, e->fd, e->host, HFS_REACH_SILENT, hfs_reach_first_byte_ms()) == 0)))
        first_byte_wait(ssl, e, c->fb_head, c->fb_len); /* libcurl's own bound is LOW_SPEED (curlplan.c) */
    if (c->fb_head && !e->virtual_ && hfs_conn_outstanding(e->conn) == 1) {
        free(e->fb_head); /* kept until its response starts: a reset before it is answered as offline */
        e->fb_head = c->fb_head;
        e->fb_len = c->fb_len;
        c->fb_head = NULL;
    }
    free(c->fb_head);
    HFS_BUSY_LEAVE(busy_outer);
    hfs_tls_note_held(e);
    int sslerr = c->sslerr;
    if (r > 0 && off + (size_t)r == n) {
        e->resume_off = e->resume_n = 0;
        e->err = 0;
        *written = n;
        if (e->membio && e->wake_fd >= 0 && hfs_conn_readable(e->conn)) {
            /* the event loop reads the session only when its socket is
             * readable: make it so (a real socket is replaced by a
             * virtual one first; the answer ends that connection) */
            if (!e->virtual_ && hfs_sock_tls_takeover(e->wake_fd) == 0)
                e->virtual_ = 1;
            hfs_sock_wake(e->wake_fd);
        }
        return 1;
    }
    if (r >= 0) { /* the peer would block: the app retries with the same buffer */
        e->resume_off = off + (size_t)r;
        e->resume_n = n;
        e->err = sslerr ? sslerr : SSL_ERROR_WANT_WRITE;
        return -1;
    }
    e->resume_off = e->resume_n = 0;
    if (sslerr) {
        e->err = sslerr;
        return -1;
    }
    hfs_log_msg("error", "TLS connection to %s closed by hfshim: %s", e->host[0] ? e->host : "(address)",
                hfs_conn_failed(e->conn) ? hfs_conn_failed(e->conn) : "failed");
    e->err = SSL_ERROR_SYSCALL;
    errno = ECONNRESET;
    return -1;
}

/* A zero-length write, read or peek on a session hfshim handles moves no
 * HTTP bytes. On a session negotiated with its server libssl answers it
 * (0 returned: e->err is cleared, so SSL_get_error asks libssl). On one
 * without a negotiated peer (virtual, or its handshake deferred) it gets
 * what libssl says on an established session: a write succeeds with
 * nothing written (SSL_write: 0 and SSL_ERROR_SYSCALL); a read returns 0
 * with SSL_ERROR_SYSCALL when plaintext waits, SSL_ERROR_ZERO_RETURN once
 * the session ended, and otherwise SSL_ERROR_WANT_READ on a non-blocking
 * or memory-BIO session, or SSL_ERROR_SYSCALL at once on a blocking one
 * (libssl would wait for a record no server will send). Returns 1 with
 * *ret set. */
static int zero_io(struct hfs_tls_sess *e, int reading, int ex, int *ret)
{
    if (e->dead) {
        e->err = SSL_ERROR_SSL;
        *ret = ex ? 0 : -1;
        return 1;
    }
    if (!e->virtual_ && !e->lazy) {
        e->err = 0;
        e->conn_used = 1;
        return 0;
    }
    if (!reading) {
        e->err = ex ? 0 : SSL_ERROR_SYSCALL;
        *ret = ex ? 1 : 0;
        return 1;
    }
    int fd = e->membio ? e->wake_fd : e->fd;
    int nonblocking = e->membio || (fd >= 0 && (REAL(fcntl)(fd, F_GETFL) & O_NONBLOCK));
    if (e->ended || hfs_conn_at_eof(e->conn))
        e->err = SSL_ERROR_ZERO_RETURN;
    else if (e->peeked_len || hfs_conn_readable(e->conn) || !nonblocking)
        e->err = SSL_ERROR_SYSCALL;
    else
        e->err = SSL_ERROR_WANT_READ;
    *ret = e->err == SSL_ERROR_WANT_READ && !ex ? -1 : 0;
    return 1;
}

HFS_EXPORT int SSL_write_ex(SSL *ssl, const void *buf, size_t n, size_t *written)
{
    struct hfs_tls_sess *e;
    int zr;
    if (!hfs_in_curl && !hfs_busy) {
        examine(ssl);
        if ((e = hfs_tls_get(ssl))) {
            if (n == 0 && !zero_io(e, 0, 1, &zr)) {
                hfs_tls_put(e); /* libssl answers */
            } else if (n == 0) {
                hfs_tls_put(e);
                if (written)
                    *written = 0;
                return zr;
            } else {
                size_t w = 0;
                int r = write_ex(ssl, e, buf, n, &w);
                hfs_tls_put(e);
                if (written)
                    *written = w;
                return r == 1 ? 1 : 0;
            }
        }
    }
    int (*real)(SSL *, const void *, size_t, size_t *) = RS(SSL_write_ex);
    return real ? real(ssl, buf, n, written) : 0;
}

HFS_EXPORT int SSL_write(SSL *ssl, const void *buf, int n)
{
    struct hfs_tls_sess *e;
    int zr;
    if (!hfs_in_curl && !hfs_busy && n >= 0) {
        examine(ssl);
        if ((e = hfs_tls_get(ssl))) {
            if (n == 0 && !zero_io(e, 0, 0, &zr)) {
                hfs_tls_put(e); /* libssl answers */
            } else if (n == 0) {
                hfs_tls_put(e);
                return zr;
            } else {
                size_t w = 0;
                int r = write_ex(ssl, e, buf, (size_t)n, &w);
                hfs_tls_put(e);
                return r == 1 ? (int)w : -1;
            }
        }
    }
    int (*real)(SSL *, const void *, int) = RS(SSL_write);
    return real ? real(ssl, buf, n) : -1;
}

/* A reset rule cut the response (the app sees ECONNRESET), or a hang
 * rule holds it: the session's socket becomes a virtual one that never
 * gets readable, so the app's poll waits for its own timeout; a blocking
 * socket waits there. */
static long fault_read(struct hfs_tls_sess *e, long q)
{
    if (q == HFS_CONN_RESET) {
        e->err = SSL_ERROR_SYSCALL;
        errno = ECONNRESET;
        return -1;
    }
    int fd = e->membio ? e->wake_fd : e->fd;
    if (!e->virtual_ && fd >= 0 && hfs_sock_tls_takeover(fd) == 0)
        e->virtual_ = 1;
    if (fd >= 0 && !e->membio && !(REAL(fcntl)(fd, F_GETFL) & O_NONBLOCK)) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        pthread_mutex_unlock(&e->mu);
        while (REAL(poll)(&p, 1, -1) < 0 && errno == EINTR)
            ;
        pthread_mutex_lock(&e->mu);
    }
    e->err = SSL_ERROR_WANT_READ;
    return -1;
}

/* One read through the engine: > 0 bytes, 0 (clean end, e->err set), or
 * -1 (libssl's error state, e->err 0). legacy: the app called SSL_read or
 * SSL_peek, whose failures libssl reports as 0 or -1 (an end without
 * close_notify is 0): the peer is read with SSL_read and its result kept. */
/* A read on a session failed: 1 when its socket was reset (libssl may
 * report the reset as an end of stream: the socket's state says). */
static int was_reset(int fd, int err)
{
    int st;
    unsigned long long rx;
    return err == ECONNRESET || (fd >= 0 && hfs_rw_tcp(fd, &st, &rx) == 0 && st == 7 /* the kernel's TCP_CLOSE */);
}

static long read_ex(SSL *ssl, struct hfs_tls_sess *e, void *buf, size_t n, int legacy)
{
    int busy_outer;
    e->conn_used = 1;
    if (e->dead) {
        e->err = SSL_ERROR_SSL;
        return -1;
    }
    if (e->peeked_len) { /* what SSL_peek showed comes first */
        size_t k = e->peeked_len < n ? e->peeked_len : n;
        memcpy(buf, e->peeked, k);
        memmove(e->peeked, e->peeked + k, e->peeked_len - k);
        e->peeked_len -= k;
        if (!e->peeked_len) {
            free(e->peeked);
            e->peeked = NULL;
        }
        e->err = 0;
        return (long)k;
    }
    long rate = hfs_conn_rate(e->conn);
    n = hfs_pace_chunk(rate, n); /* a throttle rule */
    long q = hfs_conn_read_queued(e->conn, buf, n);
    if (q > 0) {
        e->err = 0;
        hfs_pace_wait(rate, q);
        return q;
    }
    if (q == HFS_CONN_RESET || q == HFS_CONN_HUNG)
        return fault_read(e, q);
    if (q == 0) {
        if (e->membio && !hfs_conn_at_eof(e->conn)) { /* nothing yet: the loop waits for the socket */
            e->err = SSL_ERROR_WANT_READ;
            return -1;
        }
        e->err = SSL_ERROR_ZERO_RETURN;
        e->ended = 1;
        return 0;
    }
    if (!hfs_conn_outstanding(e->conn)) {
        /* the app waits for the server although no response is due: the
         * beginning of a head held back is not HTTP (hfs_conn_peer_awaited) */
        struct hfs_tls_call *c = malloc(sizeof *c); /* a held head is judged before it leaves */
        if (!c) {
            e->err = SSL_ERROR_SYSCALL;
            errno = ENOMEM;
            return -1;
        }
        hfs_tls_call_setup(c, ssl, e);
        struct hfs_conn_io io = hfs_tls_io(c);
        HFS_BUSY_ENTER(busy_outer);
        int rc = hfs_conn_peer_awaited(e->conn, &io);
        hfs_http_judge_done(&c->scratch);
        free(c->fb_head);
        HFS_BUSY_LEAVE(busy_outer);
        hfs_tls_note_held(e);
        int sslerr = c->sslerr;
        free(c);
        if (rc < 0) {
            e->err = sslerr ? sslerr : SSL_ERROR_SYSCALL;
            if (!sslerr)
                errno = ECONNRESET;
            return -1;
        }
    }
    int (*real)(SSL *, void *, size_t, size_t *) = RS(SSL_read_ex);
    int (*real_legacy)(SSL *, void *, int) = RS(SSL_read);
    for (;;) {
        size_t got = 0;
        int ok, lret = -1;
        pthread_mutex_unlock(&e->mu); /* never hold the lock while the peer is read */
        if (legacy) {
            lret = real_legacy ? real_legacy(ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n) : -1;
            ok = lret > 0;
            got = ok ? (size_t)lret : 0;
        } else {
            ok = real ? real(ssl, buf, n, &got) : 0;
        }
        int rd_errno = errno;
        int sslerr = ok ? 0 : RS(SSL_get_error)(ssl, legacy ? lret : 0);
        pthread_mutex_lock(&e->mu);
        if (e->skip)
            return ok ? (long)got : legacy ? lret : -1;
        if (ok && e->fb_head) { /* the response started */
            free(e->fb_head);
            e->fb_head = NULL;
        }
        if (!ok && sslerr != SSL_ERROR_WANT_READ && sslerr != SSL_ERROR_WANT_WRITE && e->fb_head && !e->virtual_ &&
            hfs_conn_outstanding(e->conn) == 1 && was_reset(e->fd, rd_errno)) {
            /* reset before any response to a GET/HEAD to a Hub host: a
             * sign it cannot be reached; the request is answered as offline */
            char *head = e->fb_head;
            e->fb_head = NULL;
            HFS_BUSY_ENTER(busy_outer);
            int answered = answer_offline(ssl, e, head, e->fb_len, HFS_REACH_RESET, ECONNRESET) == 0;
            HFS_BUSY_LEAVE(busy_outer);
            free(head);
            long q2 = answered ? hfs_conn_read_queued(e->conn, buf, n) : 0;
            if (q2 > 0) {
                e->err = 0;
                return q2;
            }
            errno = rd_errno;
        }
        /* a retried request (the Hub rejected a token) is written from here */
        struct hfs_tls_call c; /* set up, not zeroed: its 8 KiB scratch is written before it is read */
        hfs_tls_call_setup(&c, ssl, e);
        struct hfs_conn_io io = hfs_tls_io(&c);
        if (ok) {
            e->err = 0;
            HFS_BUSY_ENTER(busy_outer);
            long give = hfs_conn_read_got(e->conn, buf, got, n, &io);
            HFS_BUSY_LEAVE(busy_outer);
            if (give == HFS_CONN_AGAIN)
                continue; /* held or dropped: read on (non-blocking: libssl says WANT_READ) */
            if (give == HFS_CONN_RESET || give == HFS_CONN_HUNG)
                return fault_read(e, give);
            if (give < 0) { /* a send error, or the engine failed: never a stale errno */
                e->err = c.sslerr ? c.sslerr : SSL_ERROR_SYSCALL;
                if (!c.sslerr)
                    errno = ECONNRESET;
            }
            hfs_pace_wait(rate, give);
            return give;
        }
        if (sslerr == SSL_ERROR_ZERO_RETURN || sslerr == SSL_ERROR_SYSCALL) {
            long give = hfs_conn_read_got(e->conn, buf, 0, n, &io);
            if (give > 0) {
                e->err = 0;
                return give;
            }
        }
        e->err = sslerr;
        if (legacy)
            return lret;
        return sslerr == SSL_ERROR_ZERO_RETURN ? 0 : -1;
    }
}

/* a live session on *fd holding a head back, locked (table locked) */
static int held_on_fd(struct hfs_tls_sess *e, void *arg)
{
    if (e->fd != *(int *)arg)
        return 0;
    pthread_mutex_lock(&e->mu); /* the order hfs_tls_get() takes them in */
    if (e->held && !e->skip && !e->dormant)
        return 1;
    pthread_mutex_unlock(&e->mu);
    return 0;
}

void hfs_tls_awaited(int fd)
{
    int busy_outer;
    if (fd < 0 || !hfs_tls_any_held())
        return;
    struct hfs_tls_sess *found = hfs_tls_find(held_on_fd, &fd);
    if (!found)
        return;
    if (found->held && !hfs_conn_outstanding(found->conn)) {
        struct hfs_tls_call *c = malloc(sizeof *c); /* a held head is judged before it leaves */
        int rc = -1;
        if (c) {
            hfs_tls_call_setup(c, (SSL *)found->ssl, found);
            struct hfs_conn_io io = hfs_tls_io(c);
            HFS_BUSY_ENTER(busy_outer);
            rc = hfs_conn_peer_awaited(found->conn, &io);
            hfs_http_judge_done(&c->scratch);
            free(c->fb_head);
            free(c);
            HFS_BUSY_LEAVE(busy_outer);
        }
        hfs_tls_note_held(found);
        if (rc < 0)
            hfs_log_msg("error", "TLS connection to %s: bytes held back could not be sent: %s",
                        found->host[0] ? found->host : "(address)",
                        hfs_conn_failed(found->conn) ? hfs_conn_failed(found->conn) : "failed");
    }
    hfs_tls_put(found);
}

/* SSL_peek: one read through the engine whose bytes are kept for the
 * next read (or peek) to serve first; a peek while some are kept shows
 * them again. Same results as read_ex. */
static long peek_ex(SSL *ssl, struct hfs_tls_sess *e, void *buf, size_t n, int legacy)
{
    if (!e->peeked_len) {
        char *b = malloc(n);
        if (!b) {
            e->err = SSL_ERROR_SYSCALL;
            errno = ENOMEM;
            return -1;
        }
        long r = read_ex(ssl, e, b, n, legacy);
        if (r <= 0) {
            free(b);
            return r;
        }
        e->peeked = b;
        e->peeked_len = (size_t)r;
    }
    size_t k = e->peeked_len < n ? e->peeked_len : n;
    memcpy(buf, e->peeked, k);
    e->err = 0;
    return (long)k;
}

/* The read and peek hooks: peek 0 or 1, ex 0 (SSL_read/SSL_peek: bytes,
 * or <= 0) or 1 (the _ex forms: 1 or 0, bytes in *readbytes). 1 when
 * answered (*ret set), 0 for libssl. */
static int read_hook(SSL *ssl, void *buf, size_t n, size_t *readbytes, int peek, int ex, int *ret)
{
    struct hfs_tls_sess *e;
    if (hfs_in_curl || hfs_busy || !(e = hfs_tls_get(ssl)))
        return 0;
    if (n == 0) {
        int answered = zero_io(e, 1, ex, ret);
        hfs_tls_put(e);
        return answered;
    }
    long r = peek ? peek_ex(ssl, e, buf, n, !ex) : read_ex(ssl, e, buf, n, !ex);
    hfs_tls_put(e);
    if (ex) {
        if (readbytes)
            *readbytes = r > 0 ? (size_t)r : 0;
        *ret = r > 0;
    } else {
        *ret = (int)r;
    }
    return 1;
}

HFS_EXPORT int SSL_read_ex(SSL *ssl, void *buf, size_t n, size_t *readbytes)
{
    int r;
    if (read_hook(ssl, buf, n, readbytes, 0, 1, &r))
        return r;
    int (*real)(SSL *, void *, size_t, size_t *) = RS(SSL_read_ex);
    return real ? real(ssl, buf, n, readbytes) : 0;
}

HFS_EXPORT int SSL_read(SSL *ssl, void *buf, int n)
{
    int r;
    if (n >= 0 && read_hook(ssl, buf, (size_t)n, NULL, 0, 0, &r))
        return r;
    int (*real)(SSL *, void *, int) = RS(SSL_read);
    return real ? real(ssl, buf, n) : -1;
}

HFS_EXPORT int SSL_peek_ex(SSL *ssl, void *buf, size_t n, size_t *readbytes)
{
    int r;
    if (read_hook(ssl, buf, n, readbytes, 1, 1, &r))
        return r;
    int (*real)(SSL *, void *, size_t, size_t *) = RS(SSL_peek_ex);
    return real ? real(ssl, buf, n, readbytes) : 0;
}

HFS_EXPORT int SSL_peek(SSL *ssl, void *buf, int n)
{
    int r;
    if (n >= 0 && read_hook(ssl, buf, (size_t)n, NULL, 1, 0, &r))
        return r;
    int (*real)(SSL *, void *, int) = RS(SSL_peek);
    return real ? real(ssl, buf, n) : -1;
}

HFS_EXPORT int SSL_get_error(const SSL *ssl, int ret)
{
    struct hfs_tls_sess *e;
    if ((e = hfs_tls_get(ssl))) {
        int err = e->err;
        hfs_tls_put(e);
        if (err)
            return err;
    }
    int (*real)(const SSL *, int) = RS(SSL_get_error);
    return real ? real(ssl, ret) : SSL_ERROR_SSL;
}

/* SSL_pending and SSL_has_pending: an answer waiting, or bytes SSL_peek
 * kept, count as buffered plaintext; a virtual session has nothing else.
 * 1 when answered. */
static int pending_answer(const SSL *ssl, int *out)
{
    struct hfs_tls_sess *e = hfs_tls_get(ssl);
    if (!e)
        return 0;
    int r = e->peeked_len ? (int)(e->peeked_len < INT32_MAX ? e->peeked_len : INT32_MAX) : hfs_conn_readable(e->conn);
    int v = e->virtual_;
    hfs_tls_put(e);
    *out = r;
    return r || v;
}

HFS_EXPORT int SSL_pending(const SSL *ssl)
{
    int r;
    if (pending_answer(ssl, &r))
        return r;
    int (*real)(const SSL *) = RS(SSL_pending);
    return real ? real(ssl) : 0;
}

HFS_EXPORT int SSL_has_pending(const SSL *ssl)
{
    int r;
    if (pending_answer(ssl, &r))
        return r != 0;
    int (*real)(const SSL *) = RS(SSL_has_pending);
    return real ? real(ssl) : 0;
}

HFS_EXPORT int SSL_shutdown(SSL *ssl)
{
    struct hfs_tls_sess *e;
    if ((e = hfs_tls_get(ssl))) {
        int v = e->virtual_ || e->lazy; /* nothing was negotiated: nothing to close */
        if (!v)
            e->err = 0; /* libssl tells about its own call */
        hfs_tls_put(e);
        if (v)
            return 1;
    }
    int (*real)(SSL *) = RS(SSL_shutdown);
    return real ? real(ssl) : -1;
}

HFS_EXPORT void SSL_free(SSL *ssl)
{
    if (ssl)
        hfs_tls_forget(ssl);
    void (*real)(SSL *) = RS(SSL_free);
    if (real)
        real(ssl);
}

/* What a virtual session says about its (absent) peer. */
static int virtual_host(const SSL *ssl, char *host, size_t len)
{
    struct hfs_tls_sess *e = hfs_tls_get(ssl);
    if (!e)
        return 0;
    int v = e->virtual_ || e->lazy;
    snprintf(host, len, "%s", e->host[0] ? e->host : "localhost");
    hfs_tls_put(e);
    return v;
}

HFS_EXPORT X509 *SSL_get1_peer_certificate(const SSL *ssl)
{
    char host[256];
    if (virtual_host(ssl, host, sizeof host))
        return hfs_tlscert_for(host);
    X509 *(*real)(const SSL *) = RS(SSL_get1_peer_certificate);
    return real ? real(ssl) : NULL;
}

HFS_EXPORT X509 *SSL_get_peer_certificate(const SSL *ssl)
{
    char host[256];
    if (virtual_host(ssl, host, sizeof host))
        return hfs_tlscert_for(host);
    X509 *(*real)(const SSL *) = RS(SSL_get_peer_certificate);
    return real ? real(ssl) : NULL;
}

HFS_EXPORT int SSL_is_init_finished(const SSL *ssl)
{
    char host[256];
    if (virtual_host(ssl, host, sizeof host))
        return 1;
    int (*real)(const SSL *) = RS(SSL_is_init_finished);
    return real ? real(ssl) : 0;
}

HFS_EXPORT void SSL_get0_alpn_selected(const SSL *ssl, const unsigned char **data, unsigned int *len)
{
    char host[256];
    if (virtual_host(ssl, host, sizeof host)) {
        *data = NULL;
        *len = 0;
        return;
    }
    void (*real)(const SSL *, const unsigned char **, unsigned int *) = RS(SSL_get0_alpn_selected);
    if (real)
        real(ssl, data, len);
    else {
        *data = NULL;
        *len = 0;
    }
}

HFS_EXPORT long SSL_get_verify_result(const SSL *ssl)
{
    char host[256];
    if (virtual_host(ssl, host, sizeof host))
        return X509_V_OK;
    long (*real)(const SSL *) = RS(SSL_get_verify_result);
    return real ? real(ssl) : X509_V_ERR_UNSPECIFIED;
}

/* Python reads a clean end of session (b"") only when the peer's
 * close_notify was received: an answered session that ends says so. */
HFS_EXPORT int SSL_get_shutdown(const SSL *ssl)
{
    struct hfs_tls_sess *e;
    if ((e = hfs_tls_get(ssl))) {
        int ended = e->ended;
        hfs_tls_put(e);
        if (ended)
            return SSL_RECEIVED_SHUTDOWN;
    }
    int (*real)(const SSL *) = RS(SSL_get_shutdown);
    return real ? real(ssl) : 0;
}
