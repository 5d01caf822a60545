/* sockconn: watched and virtual sockets (see header).
 *
 * Watched (a real connection): what the app writes goes through the
 * connection engine; forwarded requests reach the peer, answered ones are
 * swallowed. An answer is delivered by turning the fd into a virtual one
 * (dup3 of a socketpair end over it, the real socket closed) holding the
 * answer, with "Connection: close", so poll/epoll see it readable like a
 * server's bytes; the client opens a new connection for its next request.
 * When real responses are still due first (pipelining), the answer waits
 * in the engine and reads serve it in its turn.
 *
 * Virtual: the fd is one end of a socketpair; the other end (peer) is
 * ours. Requests the app writes are judged and answered: the answer bytes
 * are written into the peer (what does not fit waits and is topped up on
 * the app's next read or write), so readiness, non-blocking reads and EOF
 * keep working. TCP socket options succeed, getpeername says what the app
 * connected to. */

#include "sockconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <time.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/conn.h"
#include "../core/log.h"
#include "faultpace.h"
#include "httpjudge.h"
#include "real.h"
#include "state.h"
#include "tlspair.h"

#define HFS_SOCK_MAX_EPOLL 4
#define FLUSH_WAIT_MS 30000 /* a staged head waits this long for the peer */

struct hfs_sock {
    pthread_mutex_t mu;
    struct hfs_sock *next_free;
    int virtual_, tls, off, closing, failed_logged;
    char host[256];
    struct hfs_addr addr;
    int port;
    struct sockaddr_storage sa;
    socklen_t salen;
    struct hfs_conn *conn;
    int peer;
    char *pend;
    size_t pend_len, pend_off;
    int pend_close;
    /* epoll sets the fd is in: re-added after the fd is replaced (an epoll
     * registration belongs to the old socket and dies with it) */
    struct { int epfd; struct epoll_event ev; } ep[HFS_SOCK_MAX_EPOLL];
    int nep;
    int answerable;  /* a failed connect turns it virtual (server down) */
    int server_down; /* virtual because the server was unreachable: errno */
    int reset_eof;   /* virtual: a reset rule cut the answer; its end reads ECONNRESET */
    long rate;       /* virtual: a throttle rule's bytes/s for what the app reads */
    /* the open file fd refers to (fstat): an fd closed behind our back
     * (libuv closes with syscall(SYS_close)) and reused for a file or a
     * pipe is recognised and forgotten, never treated as a socket */
    _Atomic unsigned long long dev, ino;
    /* fds whose table slot holds this entry (dup/fcntl(F_DUPFD) of a
     * watched or virtual fd shares it): released when the last goes */
    atomic_int refs;
};

_Atomic(struct hfs_sock *) hfs_fdtab[HFS_FD_MAX];
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct hfs_sock *pool;

static struct hfs_sock *alloc_sock(void)
{
    pthread_mutex_lock(&pool_mu);
    struct hfs_sock *s = pool;
    if (s)
        pool = s->next_free;
    pthread_mutex_unlock(&pool_mu);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return NULL;
        pthread_mutex_init(&s->mu, NULL);
    }
    return s;
}

/* Entries are never freed, only reused: a thread still holding a pointer
 * to one whose fd another thread closed finds a valid (reset) entry. */
static void release_sock(struct hfs_sock *s)
{
    pthread_mutex_lock(&s->mu);
    hfs_conn_free(s->conn);
    s->conn = NULL;
    if (s->peer >= 0)
        REAL(close)(s->peer);
    s->peer = -1;
    free(s->pend);
    s->pend = NULL;
    s->pend_len = s->pend_off = 0;
    s->virtual_ = s->tls = 0;
    s->off = 1; /* a stale pointer passes straight through */
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&pool_mu);
    s->next_free = pool;
    pool = s;
    pthread_mutex_unlock(&pool_mu);
}

/* One table slot less holds s. */
static void unref_sock(struct hfs_sock *s)
{
    if (atomic_fetch_sub(&s->refs, 1) <= 1)
        release_sock(s);
}

void hfs_sock_forget(int fd)
{
    if ((unsigned)fd >= HFS_FD_MAX)
        return;
    struct hfs_sock *s = atomic_exchange(&hfs_fdtab[fd], NULL);
    if (s)
        unref_sock(s);
}

int hfs_sock_dup(int old, int fd)
{
    struct hfs_sock *s = hfs_sock_of(old), *prev;
    if (!s || (unsigned)fd >= HFS_FD_MAX || fd == old)
        return s ? -1 : 0;
    atomic_fetch_add(&s->refs, 1);
    if ((prev = atomic_exchange(&hfs_fdtab[fd], s)))
        unref_sock(prev);
    return 0;
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void install_atfork(void)
{
    pthread_atfork(hfs_sock_atfork_prepare, hfs_sock_atfork_parent, hfs_sock_atfork_child);
}

static void note_identity(struct hfs_sock *s, int fd)
{
    struct stat st;
    int ok = fstat(fd, &st) == 0;
    atomic_store_explicit(&s->dev, ok ? (unsigned long long)st.st_dev : 0, memory_order_relaxed);
    atomic_store_explicit(&s->ino, ok ? (unsigned long long)st.st_ino : 0, memory_order_relaxed);
}

int hfs_sock_current(int fd, struct hfs_sock *s)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && (unsigned long long)st.st_ino == atomic_load_explicit(&s->ino, memory_order_relaxed) &&
        (unsigned long long)st.st_dev == atomic_load_explicit(&s->dev, memory_order_relaxed))
        return 1;
    /* not the socket we watched any more: forget it (unless it was just replaced) */
    struct hfs_sock *expect = s;
    if (atomic_compare_exchange_strong(&hfs_fdtab[fd], &expect, NULL))
        unref_sock(s);
    return 0;
}

static struct hfs_sock *install(int fd, const struct hfs_request *r, const struct sockaddr *sa, socklen_t len)
{
    struct hfs_sock *s;
    pthread_once(&atfork_once, install_atfork); /* only once a socket is watched */
    if ((unsigned)fd >= HFS_FD_MAX || !(s = alloc_sock()))
        return NULL;
    pthread_mutex_lock(&s->mu);
    s->virtual_ = s->tls = s->off = s->closing = s->failed_logged = s->pend_close = 0;
    s->reset_eof = 0;
    s->rate = 0;
    s->nep = 0;
    s->answerable = s->server_down = 0;
    s->peer = -1;
    snprintf(s->host, sizeof s->host, "%s", r->host && r->host[0] ? r->host : "");
    s->addr = r->addr;
    s->port = r->port;
    s->salen = len <= sizeof s->sa ? len : sizeof s->sa;
    memcpy(&s->sa, sa, s->salen);
    note_identity(s, fd);
    atomic_store(&s->refs, 1);
    pthread_mutex_unlock(&s->mu);
    struct hfs_sock *old = atomic_exchange(&hfs_fdtab[fd], s);
    if (old)
        unref_sock(old);
    return s;
}

void hfs_sock_watch(int fd, const struct hfs_request *r, const struct sockaddr *sa, socklen_t len)
{
    install(fd, r, sa, len);
}

/* Puts one end of a new socketpair in place of fd (dup3 closes the socket
 * fd was; O_NONBLOCK and FD_CLOEXEC are kept) and returns
 * the other end (non-blocking, ours), or -1 with errno. */
static int swap_in_socketpair(int fd)
{
    int sp[2], fl, fdfl;
    if ((fl = fcntl(fd, F_GETFL)) < 0 || (fdfl = fcntl(fd, F_GETFD)) < 0)
        return -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp))
        return -1;
    if (((fl & O_NONBLOCK) && fcntl(sp[0], F_SETFL, O_NONBLOCK) < 0) || fcntl(sp[1], F_SETFL, O_NONBLOCK) < 0 ||
        REAL(dup3)(sp[0], fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
        int e = errno;
        REAL(close)(sp[0]);
        REAL(close)(sp[1]);
        errno = e;
        return -1;
    }
    REAL(close)(sp[0]);
    return sp[1];
}

/* A watched fd becomes virtual in place (its entry kept): the epoll
 * registrations of the old socket died with it and are renewed. */
static int turn_virtual(struct hfs_sock *s, int fd)
{
    int peer = swap_in_socketpair(fd);
    if (peer < 0)
        return -1;
    s->virtual_ = 1;
    s->peer = peer;
    note_identity(s, fd);
    if (atomic_load(&s->refs) > 1) /* duplicates of fd become the same new socket */
        for (int o = 0; o < HFS_FD_MAX; o++) {
            int fl;
            if (o != fd && atomic_load_explicit(&hfs_fdtab[o], memory_order_acquire) == s &&
                (fl = fcntl(o, F_GETFD)) >= 0)
                REAL(dup3)(fd, o, (fl & FD_CLOEXEC) ? O_CLOEXEC : 0);
        }
    for (int i = 0; i < s->nep; i++)
        if (REAL(epoll_ctl)(s->ep[i].epfd, EPOLL_CTL_ADD, fd, &s->ep[i].ev) < 0)
            hfs_log_msg("error", "could not re-register fd %d in epoll set %d after answering: %s", fd,
                        s->ep[i].epfd, strerror(errno));
    return 0;
}

int hfs_sock_make_virtual(int fd, const struct hfs_request *r, const struct sockaddr *sa, socklen_t len)
{
    int peer = swap_in_socketpair(fd);
    if (peer < 0)
        return -1;
    struct hfs_sock *s = install(fd, r, sa, len);
    if (!s) {
        REAL(close)(peer);
        errno = ENOMEM;
        return -1;
    }
    pthread_mutex_lock(&s->mu);
    s->virtual_ = 1;
    s->peer = peer;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* The name connected to, else the address, for log lines. */
static const char *shown_host(const struct hfs_sock *s, char *buf, size_t len)
{
    if (s->host[0])
        return s->host;
    if (!inet_ntop(s->addr.family, s->addr.a, buf, (socklen_t)len))
        snprintf(buf, len, "(address)");
    return buf;
}

int hfs_sock_unreachable(int err)
{
    return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == ETIMEDOUT || err == ENETDOWN;
}

void hfs_sock_mark_answerable(int fd)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->answerable = 1;
    pthread_mutex_unlock(&s->mu);
}

void hfs_sock_mark_server_down(int fd, int err)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    char ip[64];
    s->server_down = err;
    hfs_log_msg("info", "%s port %d: the server is unreachable (%s); requests a rule answers get their answer, "
                        "the others fail", shown_host(s, ip, sizeof ip), s->port, strerror(err));
    pthread_mutex_unlock(&s->mu);
}

int hfs_sock_so_error(int fd, int *val)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    int err = 0, conv = 0;
    socklen_t l = sizeof err;
    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    if (s->answerable && !s->virtual_ && !s->conn && REAL(getsockopt)(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0) {
        if (hfs_sock_unreachable(err)) {
            struct hfs_request r = { .host = s->host[0] ? s->host : NULL, .addr = s->addr, .port = s->port };
            struct sockaddr_storage sa = s->sa;
            socklen_t salen = s->salen;
            char host[256];
            snprintf(host, sizeof host, "%s", s->host);
            r.host = host[0] ? host : NULL;
            pthread_mutex_unlock(&s->mu);
            /* install() replaces this entry: never hold its lock across */
            if (hfs_sock_make_virtual(fd, &r, (struct sockaddr *)&sa, salen) == 0) {
                hfs_sock_mark_server_down(fd, err);
                conv = 1;
            }
            *val = conv ? 0 : err;
            return 1;
        }
        *val = err; /* SO_ERROR was read (and cleared): report it */
        pthread_mutex_unlock(&s->mu);
        return 1;
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* -- the engine's I/O for one call ---------------------------------------- */

struct call {
    struct hfs_sock *s;
    int fd, flags, err;
    struct hfs_http_origin origin;
    struct hfs_http_scratch scratch;
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
        rc = poll(&p, 1, FLUSH_WAIT_MS);
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
}

static void setup_call(struct call *c, struct hfs_sock *s, int fd, int flags)
{
    c->s = s;
    c->fd = fd;
    c->flags = flags & (MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE);
    c->err = 0;
    c->scratch.answer = NULL;
    c->origin = (struct hfs_http_origin){ .layer = HFS_LAYER_HTTP, .scheme = "http",
                                          .host = s->host[0] ? s->host : NULL, .addr = s->addr, .port = s->port,
                                          .virtual_ = s->virtual_, .close_answers = !s->virtual_,
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
        shutdown(s->peer, SHUT_WR);
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
    if (s->virtual_ || !s->conn || hfs_conn_outstanding(s->conn) || !hfs_conn_readable(s->conn))
        return;
    if (turn_virtual(s, fd) < 0)
        return; /* the answer is still served by reads, in turn */
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
    hfs_log_msg("error", "connection to %s port %d closed by hfshim: %s", shown_host(s, ip, sizeof ip), s->port,
                why ? why : "failed");
}

/* The connection is over for the app: virtual, the peer end closes;
 * real, the socket is shut down. */
static void kill_conn(struct hfs_sock *s, int fd)
{
    if (s->virtual_ && s->peer >= 0)
        shutdown(s->peer, SHUT_RDWR);
    else if (!s->virtual_)
        shutdown(fd, SHUT_RDWR);
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
    int rc = s->virtual_ ? 0 : turn_virtual(s, fd);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

ssize_t hfs_sock_write(struct hfs_sock *s, int fd, const void *buf, size_t n, int flags)
{
    struct call *c;
    if (adopt_tls(s, fd, buf, n)) {
        int virt;
        pthread_mutex_lock(&s->mu);
        virt = s->virtual_;
        pthread_mutex_unlock(&s->mu);
        if (virt) { /* the session completes without a peer: wake its loop */
            hfs_sock_wake(fd);
            return (ssize_t)n;
        }
        return REAL(send)(fd, buf, n, flags);
    }
    pthread_mutex_lock(&s->mu);
    if (s->tls && s->virtual_) { /* a virtual TLS session writes nothing real: bytes go nowhere */
        pthread_mutex_unlock(&s->mu);
        return (ssize_t)n;
    }
    if (s->off || s->tls || (!s->virtual_ && s->conn && hfs_conn_passing(s->conn))) {
        s->off = s->off || !s->virtual_;
        pthread_mutex_unlock(&s->mu);
        return REAL(send)(fd, buf, n, flags);
    }
    if (s->closing) {
        pthread_mutex_unlock(&s->mu);
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
    if (!(c = malloc(sizeof *c))) {
        pthread_mutex_unlock(&s->mu);
        errno = ENOBUFS;
        return -1;
    }
    setup_call(c, s, fd, flags);
    struct hfs_conn_io io = { io_send, io_wait, io_recv, io_judge, c };
    hfs_busy = 1;
    long r = hfs_conn_write(s->conn, buf, n, &io);
    hfs_http_judge_done(&c->scratch);
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
    hfs_busy = 0;
    free(c);
    pthread_mutex_unlock(&s->mu);
    if (r == 0) {
        errno = EAGAIN;
        return -1;
    }
    if (r < 0) {
        errno = err;
        return -1;
    }
    return r;
}

ssize_t hfs_sock_read(struct hfs_sock *s, int fd, void *buf, size_t n, int flags)
{
    pthread_mutex_lock(&s->mu);
    if (s->virtual_) {
        flush_pending(s);
        int hung = s->conn && hfs_conn_hung(s->conn), reset_eof = s->reset_eof;
        long rate = s->rate;
        pthread_mutex_unlock(&s->mu);
        n = hfs_pace_chunk(rate, n);
        ssize_t k = REAL(recv)(fd, buf, n, flags | MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !(flags & MSG_DONTWAIT) && hung &&
            !(fcntl(fd, F_GETFL) & O_NONBLOCK)) {
            k = REAL(recv)(fd, buf, n, flags); /* a hang rule: the read waits as for a silent server */
        } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !(flags & MSG_DONTWAIT) &&
            !(fcntl(fd, F_GETFL) & O_NONBLOCK)) {
            /* a blocking read with nothing on the way would wait forever
             * (there is no server): the connection ends instead */
            pthread_mutex_lock(&s->mu);
            if (!s->pend && s->peer >= 0) {
                shutdown(s->peer, SHUT_WR);
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
        pthread_mutex_unlock(&s->mu);
        return REAL(recv)(fd, buf, n, flags);
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
        if (k < 0)
            return k;
        pthread_mutex_lock(&s->mu);
        long give = k;
        if (s->conn) {
            /* a retried request is sent from here (the Hub rejected a token) */
            struct call c;
            setup_call(&c, s, fd, flags & MSG_DONTWAIT);
            struct hfs_conn_io io = { io_send, io_wait, io_recv, io_judge, &c };
            hfs_busy = 1;
            give = hfs_conn_read_got(s->conn, buf, (size_t)k, n, &io);
            hfs_busy = 0;
            if (give == -1 && c.err) {
                pthread_mutex_unlock(&s->mu);
                errno = c.err;
                return -1;
            }
            if (give == HFS_CONN_RESET) { /* a reset rule cut the response: the server is left too */
                shutdown(fd, SHUT_RDWR);
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

int hfs_sock_setsockopt(struct hfs_sock *s, int fd, int level, int opt, int *rc)
{
    (void)fd;
    (void)opt;
    if (!s->virtual_ || level == SOL_SOCKET)
        return 0;
    *rc = 0; /* TCP/IP options: a socketpair has none, and needs none */
    return 1;
}

int hfs_sock_getsockopt(struct hfs_sock *s, int level, int opt, void *val, socklen_t *len, int *rc)
{
    if (!s->virtual_)
        return 0;
    if (level == SOL_SOCKET && opt == SO_DOMAIN && val && len && *len >= sizeof(int)) {
        *(int *)val = s->sa.ss_family;
        *len = sizeof(int);
        *rc = 0;
        return 1;
    }
    if (level != SOL_SOCKET && val && len) {
        memset(val, 0, *len);
        *rc = 0;
        return 1;
    }
    return 0;
}

static void copy_sa(const struct sockaddr_storage *from, socklen_t flen, struct sockaddr *sa, socklen_t *len)
{
    socklen_t n = flen < *len ? flen : *len;
    memcpy(sa, from, n);
    *len = flen;
}

int hfs_sock_getpeername(struct hfs_sock *s, struct sockaddr *sa, socklen_t *len)
{
    if (!s->virtual_ || !sa || !len)
        return 0;
    copy_sa(&s->sa, s->salen, sa, len);
    return 1;
}

int hfs_sock_getsockname(struct hfs_sock *s, struct sockaddr *sa, socklen_t *len)
{
    if (!s->virtual_ || !sa || !len)
        return 0;
    struct sockaddr_storage me;
    memset(&me, 0, sizeof me);
    socklen_t n;
    if (s->sa.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&me;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        n = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&me;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        n = sizeof *a;
    }
    copy_sa(&me, n, sa, len);
    return 1;
}

int hfs_sock_dest(int fd, char *host, size_t hostlen, struct hfs_addr *addr, int *port, int *virtual_)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    int ok = !s->off || s->virtual_;
    if (ok) {
        snprintf(host, hostlen, "%s", s->host);
        *addr = s->addr;
        *port = s->port;
        *virtual_ = s->virtual_;
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

int hfs_sock_server_down(int fd)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    int r = 0;
    if (s) {
        pthread_mutex_lock(&s->mu);
        r = s->server_down;
        pthread_mutex_unlock(&s->mu);
    }
    return r;
}

int hfs_sock_answerable(int fd)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    int r = 0;
    if (s) {
        pthread_mutex_lock(&s->mu);
        r = s->answerable && !s->virtual_;
        pthread_mutex_unlock(&s->mu);
    }
    return r;
}

void hfs_sock_set_tls(int fd)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->tls = 1;
    pthread_mutex_unlock(&s->mu);
}

/* fork: a thread holding an entry's lock does not exist in the child. */
void hfs_sock_atfork_prepare(void) { pthread_mutex_lock(&pool_mu); }
void hfs_sock_atfork_parent(void) { pthread_mutex_unlock(&pool_mu); }
void hfs_sock_atfork_child(void)
{
    pthread_mutex_init(&pool_mu, NULL);
    for (int fd = 0; fd < HFS_FD_MAX; fd++) {
        struct hfs_sock *s = atomic_load(&hfs_fdtab[fd]);
        if (s)
            pthread_mutex_init(&s->mu, NULL);
    }
}
