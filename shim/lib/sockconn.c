/* sockconn: the connection engine on watched and virtual sockets (see
 * header): what the app writes and reads goes through it here; the fd
 * table is sockfd.c, the virtual ends sockswap.c, the socket options
 * sockopt.c.
 *
 * Watched (a real connection): what the app writes goes through the
 * connection engine; forwarded requests reach the peer, answered ones are
 * swallowed. An answer is delivered by turning the fd into a virtual one
 * (dup3 of a socketpair end over it, the real socket closed) holding the
 * answer, with "Connection: close", so poll/epoll see it readable like a
 * server's bytes; the client opens a new connection for its next request.
 * When real responses are still due first (pipelining), the answer waits
 * in the engine and reads serve it in its turn. Bytes that are not HTTP
 * are never held: a peer that speaks first makes the connection pass
 * through, and the beginning of a head is released once the app waits for
 * the peer (it reads here, or waits for input: waithooks.c).
 *
 * Virtual: the other end of the app's connection (peer) is ours. Made at
 * connect (or when the connect fails because the server is down), the app's
 * own socket is connected to a loopback listener made for that moment and
 * closed at once; the accepted socket is the peer. The app keeps its file
 * description: its fd number, flags, socket options, dup()s, and the epoll
 * registrations it made before connect (nginx registers its upstream
 * socket before connecting) all stay, and readiness is the kernel's own.
 * Where the loopback cannot be used (lo down in a fresh network namespace,
 * a socket bound to a device), the fd becomes one end of a socketpair
 * instead, as a watched fd answered later does (above); epoll
 * registrations of the replaced socket are then renewed as listed by
 * /proc/self/fdinfo (sockswap.c, take_epoll).
 * Requests the app writes are judged and answered: the answer bytes are
 * written into the peer (what does not fit waits and is topped up on the
 * app's next read or write), so readiness, non-blocking reads and EOF keep
 * working. TCP socket options succeed, getpeername says what the app
 * connected to. */

#include "sockconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <time.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/conn.h"
#include "../core/decide.h"
#include "../core/errtext.h"
#include "../core/log.h"
#include "faultpace.h"
#include "httpjudge.h"
#include "reachmem.h"
#include "reachwait.h"
#include "real.h"
#include "state.h"
#include "sockfd.h"
#include "sockswap.h"
#include "tlspair.h"

#define FLUSH_WAIT_MS 30000 /* a retried head (sent while the app reads) waits this long for the peer */

/* -- the engine's I/O for one call ---------------------------------------- */

struct call {
    struct hfs_sock *s;
    int fd, flags, err;
    struct hfs_http_origin origin;
    struct hfs_http_scratch scratch;
    char *fb_head; /* a GET/HEAD to a Hub host went on: its head, for the first-byte deadline */
    size_t fb_len;
};

static long io_send(void *ctx, const char *p, size_t n)
{
    struct call *c = ctx;
    if (c->s->virtual_) {
        c->err = ECONNRESET;
        return -1;
    }
    ssize_t k = REAL(send)(c->fd, p, n, c->flags | MSG_NOSIGNAL);
    if (k > 0)
        return (long)k;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    c->err = k < 0 ? errno : EPIPE;
    return -1;
}

static int io_wait(void *ctx)
{
    struct call *c = ctx;
    struct pollfd p = { .fd = c->fd, .events = POLLOUT };
    int rc;
    do
        rc = REAL(poll)(&p, 1, FLUSH_WAIT_MS);
    while (rc < 0 && errno == EINTR);
    if (rc <= 0) {
        c->err = rc == 0 ? ETIMEDOUT : errno;
        return -1;
    }
    return 0;
}

static long io_recv(void *ctx, char *buf, size_t n)
{
    (void)ctx;
    (void)buf;
    (void)n;
    return -1; /* the layer reads the peer itself (see hfs_sock_read) */
}

static void io_judge(void *ctx, struct hfs_conn *conn, const struct hfs_http1_head *h, const char *head, size_t len,
                     struct hfs_conn_verdict *v)
{
    struct call *c = ctx;
    (void)conn;
    hfs_http_judge(&c->origin, h, head, len, v, &c->scratch);
    int get = (h->method_len == 3 && memcmp(h->method, "GET", 3) == 0) ||
              (h->method_len == 4 && memcmp(h->method, "HEAD", 4) == 0);
    if (v->act == HFS_CONN_FORWARD && get && !c->origin.virtual_ && !c->fb_head && hfs_reach_on() && c->s->hub &&
        (c->fb_head = malloc(len))) {
        memcpy(c->fb_head, head, len);
        c->fb_len = len;
    }
}

static void setup_call(struct call *c, struct hfs_sock *s, int fd, int flags)
{
    c->s = s;
    c->fd = fd;
    c->flags = flags & (MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE);
    c->err = 0;
    c->scratch.answer = NULL;
    c->fb_head = NULL;
    c->fb_len = 0;
    c->origin = (struct hfs_http_origin){ .layer = HFS_LAYER_HTTP,
                                          .scheme = "http",
                                          .host = s->host[0] ? s->host : NULL,
                                          .addr = s->addr,
                                          .port = s->port,
                                          .virtual_ = s->virtual_,
                                          .close_answers = !s->virtual_,
                                          .server_down = s->server_down };
}

/* Writes what waits for the peer end of a virtual fd (never blocks); once
 * everything is in and the connection is to end, the app sees EOF. */
static void flush_pending(struct hfs_sock *s)
{
    while (s->pend && s->pend_off < s->pend_len) {
        ssize_t k = REAL(send)(s->peer, s->pend + s->pend_off, s->pend_len - s->pend_off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k <= 0)
            return;
        s->pend_off += (size_t)k;
    }
    free(s->pend);
    s->pend = NULL;
    s->pend_len = s->pend_off = 0;
    if (s->pend_close && s->peer >= 0 && !s->closing) {
        REAL(shutdown)(s->peer, SHUT_WR);
        s->closing = 1;
    }
}

static int append_pending(struct hfs_sock *s, char *data, size_t len)
{
    if (!s->pend) {
        s->pend = data;
        s->pend_len = len;
        s->pend_off = 0;
        return 0;
    }
    char *p = realloc(s->pend, s->pend_len + len);
    if (!p) {
        free(data);
        return -1;
    }
    memcpy(p + s->pend_len, data, len);
    s->pend = p;
    s->pend_len += len;
    free(data);
    return 0;
}

/* Moves answers whose turn has come from the engine to the peer end. */
static void pull_answers(struct hfs_sock *s)
{
    char *d;
    size_t len;
    int close_after;
    while (s->conn) {
        long rate = hfs_conn_rate(s->conn);
        if (!(d = hfs_conn_take_answer(s->conn, &len, &close_after)))
            break;
        append_pending(s, d, len);
        if (rate > 0)
            s->rate = rate;
        if (close_after)
            s->pend_close = 1;
        if (close_after == 2) /* cut by a reset rule: the end reads as a reset */
            s->reset_eof = 1;
    }
    flush_pending(s);
}

/* A watched fd whose next turn is an answer, with nothing real due
 * first: becomes a virtual fd holding the answer, then EOF. */
static void maybe_convert(struct hfs_sock *s, int fd)
{
    if (s->virtual_ || !s->conn || hfs_conn_outstanding(s->conn) || !hfs_conn_readable(s->conn) ||
        hfs_conn_owes(s->conn)) /* bytes still owed to the real peer */
        return;
    if (hfs_sock_turn_virtual(s, fd) < 0)
        return;                  /* the answer is still served by reads, in turn */
    if (!hfs_conn_hung(s->conn)) /* a hang rule's turn never ends: no EOF either */
        s->pend_close = 1;
    pull_answers(s);
}

void hfs_sock_epoll(int fd, int epfd, int op, const struct epoll_event *ev)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    int i = 0;
    while (i < s->nep && s->ep[i].epfd != epfd)
        i++;
    if (op == EPOLL_CTL_DEL) {
        if (i < s->nep)
            s->ep[i] = s->ep[--s->nep];
    } else if (ev) {
        if (i == s->nep && s->nep < HFS_SOCK_MAX_EPOLL)
            s->nep++;
        if (i < s->nep) {
            s->ep[i].epfd = epfd;
            s->ep[i].ev = *ev;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

static void log_failure(struct hfs_sock *s, const char *why)
{
    char ip[64];
    if (s->failed_logged++)
        return;
    hfs_log_msg("error", "connection to %s port %d closed by hfshim: %s", hfs_sock_shown_host(s, ip, sizeof ip),
                s->port, why ? why : "failed");
}

/* The connection is over for the app: virtual, the peer end closes;
 * real, the socket is shut down. */
static void kill_conn(struct hfs_sock *s, int fd)
{
    if (s->virtual_ && s->peer >= 0)
        REAL(shutdown)(s->peer, SHUT_RDWR);
    else if (!s->virtual_)
        REAL(shutdown)(fd, SHUT_RDWR);
    s->closing = 1;
}

/* The first bytes of a connection are a TLS ClientHello record: hand the
 * connection to the OpenSSL layer if one of its memory-BIO sessions wrote
 * it. Returns 1 when adopted. */
static int adopt_tls(struct hfs_sock *s, int fd, const unsigned char *b, size_t n)
{
    if (n < 43 || b[0] != 0x16 || b[1] != 3 || b[5] != 1)
        return 0;
    pthread_mutex_lock(&s->mu);
    int fresh = !s->conn && !s->tls && !s->off;
    char host[256];
    struct hfs_addr addr = s->addr;
    int port = s->port, virt = s->virtual_;
    snprintf(host, sizeof host, "%s", s->host);
    pthread_mutex_unlock(&s->mu);
    if (!fresh || !hfs_tls_adopt(b + 11, fd, host, &addr, port, virt))
        return 0;
    pthread_mutex_lock(&s->mu);
    s->tls = 1;
    pthread_mutex_unlock(&s->mu);
    return 1;
}

void hfs_sock_wake(int fd)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    if (s->virtual_ && s->peer >= 0)
        append_pending(s, strdup("\n"), 1);
    flush_pending(s);
    pthread_mutex_unlock(&s->mu);
}

int hfs_sock_tls_takeover(int fd)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    if (!s)
        return -1;
    pthread_mutex_lock(&s->mu);
    int rc = s->virtual_ ? 0 : hfs_sock_turn_virtual(s, fd);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* The engine sends with MSG_NOSIGNAL (its own writes must never kill the
 * host). When an application's write fails with EPIPE because of it, the
 * kernel would have sent SIGPIPE to the writing thread unless the
 * application asked for MSG_NOSIGNAL: so does this. */
static void app_epipe(int flags)
{
    if (!(flags & MSG_NOSIGNAL))
        REAL(syscall)(SYS_tgkill, (long)getpid(), (long)REAL(syscall)(SYS_gettid), (long)SIGPIPE);
}

/* The ClientHello of a TLS stack hfshim cannot read went to a Hub host:
 * the server's first answer is waited for here, at most
 * reach.handshake_ms. None: the host is learned as unreachable and the
 * connection shut down, so the app fails at once (a clean connection
 * failure; its later connections are refused or answered as offline)
 * instead of waiting for its own timeout. */
static void bound_foreign_handshake(int fd, const char *host)
{
    int busy_outer;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long left = hfs_reach_handshake_ms();
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int k = REAL(poll)(&p, 1, (int)left);
        if (k > 0)
            return;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        left = hfs_reach_handshake_ms() - ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
        if (k < 0 && errno == EINTR && left > 0)
            continue;
        if (k < 0)
            return;
        break;
    }
    int saved = errno;
    HFS_BUSY_ENTER(busy_outer);
    hfs_reach_learn(host, HFS_REACH_HANDSHAKE_SLOW, 0);
    HFS_BUSY_LEAVE(busy_outer);
    REAL(shutdown)(fd, SHUT_RDWR);
    errno = saved;
}

/* The same bound for a non-blocking socket, kept where the app waits
 * (reachwait.h): at the deadline, nothing received since the ClientHello
 * means the same as above. */
struct foreign_tls {
    unsigned long long rx0;
    int membio; /* the ClientHello of a memory-BIO session hfshim reads (asyncio) */
    char host[256];
};

static int foreign_tls_expired(int fd, void *arg)
{
    struct foreign_tls *f = arg;
    int st;
    unsigned long long rx;
    if (hfs_rw_tcp(fd, &st, &rx) < 0 || rx != f->rx0)
        return 0; /* the server answered */
    if (f->membio && hfs_tls_membio_timed_out(fd, f->host) == 0)
        return 0; /* a session hfshim reads: it completes as offline */
    hfs_reach_learn(f->host, HFS_REACH_HANDSHAKE_SLOW, 0);
    REAL(shutdown)(fd, SHUT_RDWR); /* readable now: the app's TLS stack reads the end */
    return 0;
}

/* 1 when the app's call on fd must not wait (O_NONBLOCK, MSG_DONTWAIT). */
static int nonblocking(int fd, int flags)
{
    int fl;
    return (flags & MSG_DONTWAIT) || ((fl = REAL(fcntl)(fd, F_GETFL)) >= 0 && (fl & O_NONBLOCK));
}

/* Records the foreign-handshake deadline of a non-blocking fd; -1 when it
 * cannot (the caller waits here). */
static int foreign_tls_deadline(int fd, const char *host, int membio)
{
    struct foreign_tls *f = calloc(1, sizeof *f);
    int st;
    if (!f || hfs_rw_tcp(fd, &st, &f->rx0) < 0) {
        free(f);
        return -1;
    }
    snprintf(f->host, sizeof f->host, "%s", host);
    f->membio = membio;
    if (hfs_rw_add(fd, hfs_reach_handshake_ms(), foreign_tls_expired, NULL, f) < 0) {
        free(f);
        return -1;
    }
    return 0;
}

static int answer_offline(struct hfs_sock *s, int fd, const char *head, size_t len, int reason, int err);

/* A GET/HEAD to a Hub host on a non-blocking socket: the first-byte
 * deadline kept where the app waits (reachwait.h). At the deadline, no
 * byte received since the request means the same as in first_byte_wait:
 * the connection turns virtual with the offline answer, readable. */
struct first_byte {
    unsigned long long rx0;
    size_t len;
    char head[];
};

static int first_byte_expired(int fd, void *arg)
{
    struct first_byte *b = arg;
    struct hfs_sock *s = hfs_sock_of(fd);
    int st;
    unsigned long long rx;
    if (!s || hfs_rw_tcp(fd, &st, &rx) < 0 || rx != b->rx0)
        return 0; /* gone, or the response started */
    pthread_mutex_lock(&s->mu);
    if (!s->virtual_ && s->conn && hfs_conn_outstanding(s->conn) == 1)
        answer_offline(s, fd, b->head, b->len, HFS_REACH_SILENT, 0);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int first_byte_deadline(int fd, const char *head, size_t len)
{
    struct first_byte *b = malloc(sizeof *b + len);
    int st;
    if (!b || hfs_rw_tcp(fd, &st, &b->rx0) < 0) {
        free(b);
        return -1;
    }
    b->len = len;
    memcpy(b->head, head, len);
    if (hfs_rw_add(fd, hfs_reach_first_byte_ms(), first_byte_expired, NULL, b) < 0) {
        free(b);
        return -1;
    }
    return 0;
}

/* A GET/HEAD to a Hub host went to the server (s->mu held, hfs_busy
 * set): its response must start within reach.first_byte_ms. When it does
 * not (a silent server), the host is learned as unreachable and the
 * connection turns virtual: the request is judged again and answered as
 * offline (from the cache, or an HTTP 403), which the app then reads. The
 * wait covers the start of a response only, never a body. */
static void first_byte_wait(struct hfs_sock *s, int fd, const char *head, size_t len)
{
    int ms = hfs_reach_first_byte_ms(), k, saved = errno;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_unlock(&s->mu);
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        k = REAL(poll)(&p, 1, ms);
        if (k >= 0 || errno != EINTR)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = hfs_reach_first_byte_ms() - (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
        if (ms <= 0) {
            k = 0;
            break;
        }
    }
    pthread_mutex_lock(&s->mu);
    if (k != 0 || s->virtual_ || !s->conn || hfs_conn_outstanding(s->conn) != 1) {
        errno = saved;
        return;
    }
    answer_offline(s, fd, head, len, HFS_REACH_SILENT, 0);
    errno = saved;
}

/* The Hub host of s showed a sign (reason, err) while the request head
 * waited for its response (s->mu held, hfs_busy set): the host is learned
 * as unreachable and the connection turns virtual; the request is judged
 * again and answered as offline (cache or 403), for the app to read. 0, or
 * -1 when it could not be (the app sees what the server did). */
static int answer_offline(struct hfs_sock *s, int fd, const char *head, size_t len, int reason, int err)
{
    int saved = errno;
    char ip[64];
    const char *host = s->host[0] ? s->host : inet_ntop(s->addr.family, s->addr.a, ip, sizeof ip);
    hfs_reach_learn(host, reason, err);
    if (!hfs_reach_host_down(host)) {
        errno = saved;
        return -1; /* not learned (reach.learn off, table full): nothing to answer with */
    }
    struct hfs_conn *fresh = hfs_conn_new(1);
    struct call *c = fresh ? calloc(1, sizeof *c) : NULL;
    if (!c || hfs_sock_turn_virtual(s, fd) < 0) {
        free(c);
        hfs_conn_free(fresh);
        errno = saved;
        return -1;
    }
    hfs_conn_free(s->conn);
    s->conn = fresh;
    setup_call(c, s, fd, 0);
    struct hfs_conn_io io = { io_send, io_wait, io_recv, io_judge, c };
    if (hfs_conn_write(s->conn, head, len, &io) > 0)
        pull_answers(s);
    hfs_http_judge_done(&c->scratch);
    free(c->fb_head);
    free(c);
    errno = saved;
    return 0;
}

/* 1 when s goes to a Hub host whose reachability is watched; its name
 * (else its address) in host. */
static int hub_dest(struct hfs_sock *s, char *host, size_t cap)
{
    if (!hfs_reach_on())
        return 0;
    pthread_mutex_lock(&s->mu);
    int hub = s->hub;
    snprintf(host, cap, "%s", s->host);
    if (!host[0] && s->addr.family)
        inet_ntop(s->addr.family, s->addr.a, host, (socklen_t)cap);
    pthread_mutex_unlock(&s->mu);
    return hub;
}

ssize_t hfs_sock_write(struct hfs_sock *s, int fd, const void *buf, size_t n, int flags)
{
    int busy_outer;
    struct call cbuf, *c = &cbuf; /* on the stack, as engine_step's: no malloc per write */
    if (n == 0)                   /* nothing for the engine: the socket answers (0, or its error) */
        return REAL(send)(fd, buf, 0, flags);
    if (adopt_tls(s, fd, buf, n)) {
        int virt;
        pthread_mutex_lock(&s->mu);
        virt = s->virtual_;
        pthread_mutex_unlock(&s->mu);
        if (virt) { /* the session completes without a peer: wake its loop */
            hfs_sock_wake(fd);
            return (ssize_t)n;
        }
        ssize_t w = REAL(send)(fd, buf, n, flags);
        int saved = errno;
        char host[256];
        if (w > 0 && nonblocking(fd, flags) && hub_dest(s, host, sizeof host))
            foreign_tls_deadline(fd, host, 1); /* its handshake, bounded where the loop waits */
        errno = saved;
        return w;
    }
    pthread_mutex_lock(&s->mu);
    if (s->tls && s->virtual_) { /* a virtual TLS session writes nothing real: bytes go nowhere */
        pthread_mutex_unlock(&s->mu);
        return (ssize_t)n;
    }
    if (s->wr_shut) { /* after shutdown(SHUT_WR): the socket's own EPIPE (and SIGPIPE) */
        pthread_mutex_unlock(&s->mu);
        return REAL(send)(fd, buf, n, flags);
    }
    if (!s->off && !s->tls && !s->virtual_ && !s->conn && n >= 3 && ((const unsigned char *)buf)[0] == 0x16 &&
        ((const unsigned char *)buf)[1] == 0x03) {
        /* a ClientHello from a TLS stack hfshim cannot read (node's own
         * OpenSSL, rustls): its handshake with a Hub host is bounded */
        s->off = 1;
        char host[256];
        snprintf(host, sizeof host, "%s", s->host[0] ? s->host : "");
        int hub = hfs_reach_on() && s->hub;
        if (!host[0] && s->addr.family)
            inet_ntop(s->addr.family, s->addr.a, host, sizeof host);
        pthread_mutex_unlock(&s->mu);
        ssize_t w = REAL(send)(fd, buf, n, flags);
        int saved = errno;
        if (hub && w > 0 && !(nonblocking(fd, flags) && foreign_tls_deadline(fd, host, 0) == 0))
            bound_foreign_handshake(fd, host);
        errno = saved;
        return w;
    }
    if (s->off || s->tls || (!s->virtual_ && s->conn && hfs_conn_passing(s->conn) && !hfs_conn_owes(s->conn))) {
        s->off = s->off || !s->virtual_;
        pthread_mutex_unlock(&s->mu);
        return REAL(send)(fd, buf, n, flags);
    }
    if (s->closing) {
        pthread_mutex_unlock(&s->mu);
        app_epipe(flags);
        errno = EPIPE;
        return -1;
    }
    if (!s->conn && !(s->conn = hfs_conn_new(s->virtual_))) {
        if (!s->virtual_)
            s->off = 1;
        pthread_mutex_unlock(&s->mu);
        if (s->virtual_) {
            errno = ENOMEM;
            return -1;
        }
        return REAL(send)(fd, buf, n, flags);
    }
    setup_call(c, s, fd, flags);
    struct hfs_conn_io io = { io_send, io_wait, io_recv, io_judge, c };
    HFS_BUSY_ENTER(busy_outer);
    long r = hfs_conn_write(s->conn, buf, n, &io);
    hfs_http_judge_done(&c->scratch);
    hfs_sock_note_held(s);
    int err = c->err;
    if (r < 0 && !err) { /* refused by a rule or not HTTP on a virtual fd */
        log_failure(s, hfs_conn_failed(s->conn));
        kill_conn(s, fd);
        err = ECONNRESET;
    } else if (r >= 0) {
        if (s->virtual_)
            pull_answers(s);
        else
            maybe_convert(s, fd);
    }
    if (r > 0 && c->fb_head && !s->virtual_ && s->conn && hfs_conn_outstanding(s->conn) == 1 &&
        hfs_conn_at_request_start(s->conn) &&
        !(nonblocking(fd, flags) && first_byte_deadline(fd, c->fb_head, c->fb_len) == 0))
        first_byte_wait(s, fd, c->fb_head, c->fb_len);
    if (c->fb_head && !s->virtual_ && s->conn && hfs_conn_outstanding(s->conn) == 1) {
        free(s->fb_head); /* kept until its response starts: a reset before it is answered as offline */
        s->fb_head = c->fb_head;
        s->fb_len = c->fb_len;
        c->fb_head = NULL;
    }
    free(c->fb_head);
    HFS_BUSY_LEAVE(busy_outer);
    pthread_mutex_unlock(&s->mu);
    if (r == 0) {
        errno = EAGAIN;
        return -1;
    }
    if (r < 0) {
        if (err == EPIPE)
            app_epipe(flags);
        errno = err;
        return -1;
    }
    return r;
}

/* Runs one engine step that may send (releasing held bytes) on s, locked;
 * returns its result and, in *err, the socket error behind a failure. */
static int engine_step(struct hfs_sock *s, int fd, int flags,
                       int (*step)(struct hfs_conn *, const struct hfs_conn_io *), int *err)
{
    int busy_outer;
    struct call c;
    setup_call(&c, s, fd, flags);
    struct hfs_conn_io io = { io_send, io_wait, io_recv, io_judge, &c };
    HFS_BUSY_ENTER(busy_outer);
    int rc = step(s->conn, &io);
    hfs_http_judge_done(&c.scratch); /* a held head is judged before it leaves */
    free(c.fb_head);
    HFS_BUSY_LEAVE(busy_outer);
    hfs_sock_note_held(s);
    *err = c.err;
    return rc;
}

/* The connection was reset before any response to a GET/HEAD to a Hub
 * host: a sign the Hub cannot be reached. The host is learned and the
 * request answered as offline on the now virtual connection (1: read it
 * again), or, when that cannot be, it fails as it would have (0). */
static int reset_before_response(struct hfs_sock *s, int fd)
{
    int busy_outer;
    int saved = errno, rc = 0;
    pthread_mutex_lock(&s->mu);
    char *head = s->fb_head;
    size_t len = s->fb_len;
    s->fb_head = NULL;
    if (head && !s->virtual_ && s->conn && hfs_conn_outstanding(s->conn) == 1) {
        HFS_BUSY_ENTER(busy_outer);
        rc = answer_offline(s, fd, head, len, HFS_REACH_RESET, ECONNRESET) == 0;
        HFS_BUSY_LEAVE(busy_outer);
    }
    pthread_mutex_unlock(&s->mu);
    free(head);
    errno = saved;
    return rc;
}

ssize_t hfs_sock_read(struct hfs_sock *s, int fd, void *buf, size_t n, int flags)
{
    int busy_outer;
    pthread_mutex_lock(&s->mu);
    if (s->virtual_ && n == 0) {
        /* a zero-length read: 0 when the answer is there; a blocking one
         * never waits for bytes no server will send */
        flush_pending(s);
        pthread_mutex_unlock(&s->mu);
        ssize_t k = REAL(recv)(fd, buf, 0, flags | MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !(flags & MSG_DONTWAIT) &&
            !(REAL(fcntl)(fd, F_GETFL) & O_NONBLOCK))
            k = 0;
        return k;
    }
    if (s->virtual_) {
        flush_pending(s);
        int hung = s->conn && hfs_conn_hung(s->conn), reset_eof = s->reset_eof;
        long rate = s->rate;
        pthread_mutex_unlock(&s->mu);
        n = hfs_pace_chunk(rate, n);
        ssize_t k = REAL(recv)(fd, buf, n, flags | MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !(flags & MSG_DONTWAIT) && hung &&
            !(REAL(fcntl)(fd, F_GETFL) & O_NONBLOCK)) {
            k = REAL(recv)(fd, buf, n, flags); /* a hang rule: the read waits as for a silent server */
        } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !(flags & MSG_DONTWAIT) &&
                   !(REAL(fcntl)(fd, F_GETFL) & O_NONBLOCK)) {
            /* a blocking read with nothing on the way would wait forever
             * (there is no server): the connection ends instead */
            pthread_mutex_lock(&s->mu);
            if (!s->pend && s->peer >= 0) {
                REAL(shutdown)(s->peer, SHUT_WR);
                s->closing = 1;
            }
            pthread_mutex_unlock(&s->mu);
            k = REAL(recv)(fd, buf, n, flags);
        }
        int e = errno;
        pthread_mutex_lock(&s->mu);
        flush_pending(s);
        reset_eof = s->reset_eof;
        pthread_mutex_unlock(&s->mu);
        if (k == 0 && reset_eof && !(flags & MSG_PEEK)) {
            errno = ECONNRESET;
            return -1;
        }
        hfs_pace_wait(rate, (long)k);
        errno = e;
        return k;
    }
    if (s->off || s->tls || !s->conn || (flags & MSG_PEEK)) {
        int fresh = !s->off && !s->tls && !s->conn;
        pthread_mutex_unlock(&s->mu);
        ssize_t k = REAL(recv)(fd, buf, n, flags);
        if (fresh && k > 0) {
            /* the peer spoke before the app wrote anything: an HTTP
             * server never does, so this is another protocol (passed
             * through untouched, its first bytes never held back) */
            pthread_mutex_lock(&s->mu);
            if (!s->conn)
                s->off = 1;
            pthread_mutex_unlock(&s->mu);
        }
        return k;
    }
    if (!hfs_conn_readable(s->conn) && !hfs_conn_outstanding(s->conn)) {
        /* the app waits for the peer although no response is due: the
         * beginning of a head it holds is not HTTP (hfs_conn_peer_awaited) */
        int err;
        if (engine_step(s, fd, flags & MSG_DONTWAIT, hfs_conn_peer_awaited, &err) < 0) {
            log_failure(s, hfs_conn_failed(s->conn));
            pthread_mutex_unlock(&s->mu);
            errno = err ? err : ECONNRESET;
            return -1;
        }
    }
    if (n == 0) { /* a zero-length read: 0 when something is there to read, else the socket's answer */
        int ready = hfs_conn_readable(s->conn);
        pthread_mutex_unlock(&s->mu);
        return ready ? 0 : REAL(recv)(fd, buf, 0, flags);
    }
    long rate = hfs_conn_rate(s->conn);
    n = hfs_pace_chunk(rate, n);
    long q = hfs_conn_read_queued(s->conn, buf, n);
    pthread_mutex_unlock(&s->mu);
    if (q >= 0) {
        hfs_pace_wait(rate, q);
        return q;
    }
    if (q == HFS_CONN_RESET || q == HFS_CONN_HUNG) {
        errno = q == HFS_CONN_RESET ? ECONNRESET : EAGAIN;
        return -1;
    }
    for (;;) {
        ssize_t k = REAL(recv)(fd, buf, n, flags);
        if (k < 0 && errno == ECONNRESET && reset_before_response(s, fd))
            return hfs_sock_read(s, fd, buf, n, flags); /* the offline answer, on the virtual fd */
        if (k < 0)
            return k;
        pthread_mutex_lock(&s->mu);
        if (k > 0 && s->fb_head) { /* its response started */
            free(s->fb_head);
            s->fb_head = NULL;
        }
        long give = k;
        if (s->conn) {
            /* a retried request is sent from here (the Hub rejected a token) */
            struct call c;
            setup_call(&c, s, fd, flags & MSG_DONTWAIT);
            struct hfs_conn_io io = { io_send, io_wait, io_recv, io_judge, &c };
            HFS_BUSY_ENTER(busy_outer);
            give = hfs_conn_read_got(s->conn, buf, (size_t)k, n, &io);
            HFS_BUSY_LEAVE(busy_outer);
            if (give == -1) { /* a send error, or the engine failed: never a stale errno */
                int e = c.err;
                if (!e) {
                    log_failure(s, hfs_conn_failed(s->conn));
                    kill_conn(s, fd);
                    e = ECONNRESET;
                }
                pthread_mutex_unlock(&s->mu);
                errno = e;
                return -1;
            }
            if (give == HFS_CONN_RESET) { /* a reset rule cut the response: the server is left too */
                REAL(shutdown)(fd, SHUT_RDWR);
                pthread_mutex_unlock(&s->mu);
                errno = ECONNRESET;
                return -1;
            }
            if (give != HFS_CONN_AGAIN)
                maybe_convert(s, fd);
        }
        pthread_mutex_unlock(&s->mu);
        if (give == HFS_CONN_HUNG) {
            errno = EAGAIN;
            return -1;
        }
        if (give != HFS_CONN_AGAIN) {
            hfs_pace_wait(rate, give);
            return give;
        }
        /* held or dropped for the retry: read on (a non-blocking socket says EAGAIN itself) */
    }
}

void hfs_sock_write_end(struct hfs_sock *s, int fd)
{
    pthread_mutex_lock(&s->mu);
    int err;
    if (!s->wr_shut && s->conn && !s->virtual_ && !s->tls && !s->off &&
        engine_step(s, fd, 0, hfs_conn_write_end, &err) < 0)
        log_failure(s, hfs_conn_failed(s->conn));
    s->wr_shut = 1;
    pthread_mutex_unlock(&s->mu);
}

void hfs_sock_awaited(int fd)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    if (s && !hfs_sock_current(fd, s))
        s = NULL;
    if (s) {
        pthread_mutex_lock(&s->mu);
        int err;
        if (s->held && s->conn && !s->virtual_ && !hfs_conn_outstanding(s->conn) &&
            engine_step(s, fd, 0, hfs_conn_peer_awaited, &err) <
                0) { /* the wait ends at once: the connection is over */
            log_failure(s, hfs_conn_failed(s->conn));
            kill_conn(s, fd);
        }
        pthread_mutex_unlock(&s->mu);
    }
    hfs_tls_awaited(fd); /* a TLS session on fd */
}

void hfs_sock_awaited_epoll(int epfd)
{
    int hi = hfs_sock_fd_hiwater();
    for (int fd = 0; fd <= hi && fd < HFS_FD_MAX; fd++) {
        struct hfs_sock *s = hfs_sock_of(fd);
        if (!s)
            continue;
        int in = 0;
        pthread_mutex_lock(&s->mu);
        for (int i = 0; i < s->nep; i++)
            if (s->ep[i].epfd == epfd && (s->ep[i].ev.events & EPOLLIN))
                in = s->held || s->tls;
        pthread_mutex_unlock(&s->mu);
        if (in)
            hfs_sock_awaited(fd);
    }
}
