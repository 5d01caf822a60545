/* sockconn: watched and virtual sockets (see header).
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
 * /proc/self/fdinfo (see take_epoll).
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
#include "decide_apply.h"
#include "faultpace.h"
#include "httpjudge.h"
#include "reachmem.h"
#include "reachwait.h"
#include "real.h"
#include "state.h"
#include "tlspair.h"

#define HFS_SOCK_MAX_EPOLL 4
#define FLUSH_WAIT_MS 30000 /* a retried head (sent while the app reads) waits this long for the peer */

struct hfs_sock {
    pthread_mutex_t mu;
    struct hfs_sock *next_free;
    int virtual_, tls, off, closing, failed_logged;
    int wr_shut; /* the app shut its sending side: its writes go to the socket, which refuses them */
    int lo;      /* virtual over loopback: fd is still the app's own TCP socket */
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
    struct {
        int epfd;
        struct epoll_event ev;
    } ep[HFS_SOCK_MAX_EPOLL];
    int nep;
    int answerable;  /* a failed connect turns it virtual (server down) */
    int server_down; /* virtual because the server was unreachable: errno */
    int reset_eof;   /* virtual: a reset rule cut the answer; its end reads ECONNRESET */
    long rate;       /* virtual: a throttle rule's bytes/s for what the app reads */
    int held;        /* counted in hfs_heads_held */
    char *fb_head;   /* a GET/HEAD to a Hub host went on and no response byte came yet: its head */
    size_t fb_len;
    /* the open file fd refers to (fstat): an fd closed behind our back
     * (libuv closes with REAL(syscall)(SYS_close)) and reused for a file or a
     * pipe is recognised and forgotten, never treated as a socket */
    _Atomic unsigned long long dev, ino;
    /* fds whose table slot holds this entry (dup/REAL(fcntl)(F_DUPFD) of a
     * watched or virtual fd shares it): released when the last goes */
    atomic_int refs;
};

_Atomic(struct hfs_sock *) hfs_fdtab[HFS_FD_MAX];
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct hfs_sock *pool;
atomic_int hfs_heads_held;
static atomic_int fd_hiwater; /* the highest fd ever watched */

void hfs_heads_note(int *flag, int holds)
{
    holds = holds != 0;
    if (*flag != holds) {
        atomic_fetch_add(&hfs_heads_held, holds ? 1 : -1);
        *flag = holds;
    }
}

/* s's head-held state after an engine call (s locked). */
static void note_held(struct hfs_sock *s)
{
    hfs_heads_note(&s->held, !s->virtual_ && s->conn && hfs_conn_holds_head(s->conn));
}

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
    hfs_heads_note(&s->held, 0);
    hfs_conn_free(s->conn);
    s->conn = NULL;
    if (s->peer >= 0 && s->lo) {
        /* the app's socket is being closed: end the loopback connection
         * with a reset, so that neither end stays in TIME_WAIT holding a
         * local port for a minute (a program making many virtual
         * connections would run out of ports) */
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        REAL(setsockopt)(s->peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    if (s->peer >= 0)
        REAL(close)(s->peer);
    s->peer = -1;
    free(s->pend);
    s->pend = NULL;
    s->pend_len = s->pend_off = 0;
    free(s->fb_head);
    s->fb_head = NULL;
    s->virtual_ = s->tls = s->lo = 0;
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
    if ((unsigned)fd >= HFS_FD_MAX || !(s = alloc_sock()))
        return NULL;
    for (int hi = atomic_load(&fd_hiwater); fd > hi && !atomic_compare_exchange_weak(&fd_hiwater, &hi, fd);)
        ;
    pthread_mutex_lock(&s->mu);
    s->virtual_ = s->tls = s->off = s->closing = s->failed_logged = s->pend_close = 0;
    s->lo = s->reset_eof = 0;
    s->rate = 0;
    s->nep = 0;
    s->answerable = s->server_down = 0;
    free(s->fb_head);
    s->fb_head = NULL;
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

/* -- the other end of a virtual connection ---------------------------------- */

#define LOOP_WAIT_MS 1000 /* the loopback handshake takes microseconds */

/* An address as (IPv6 or v4-mapped bytes, port), to compare the two ends. */
static int addr_key(const struct sockaddr_storage *ss, unsigned char a[16], unsigned *port)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
        memset(a, 0, 10);
        a[10] = a[11] = 0xff;
        memcpy(a + 12, &v4->sin_addr, 4);
        *port = ntohs(v4->sin_port);
        return 0;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
        memcpy(a, &v6->sin6_addr, 16);
        *port = ntohs(v6->sin6_port);
        return 0;
    }
    return -1;
}

static int same_end(const struct sockaddr_storage *x, const struct sockaddr_storage *y)
{
    unsigned char a[16], b[16];
    unsigned pa, pb;
    return addr_key(x, a, &pa) == 0 && addr_key(y, b, &pb) == 0 && pa == pb && !memcmp(a, b, 16);
}

/* A listening socket on the loopback, port chosen by the kernel: ::1 for
 * an IPv6 socket when the host has it, else 127.0.0.1. *to is where the
 * app's socket (family dom) connects. -1 when there is no loopback. */
static int loopback_listener(int dom, struct sockaddr_storage *to, socklen_t *tolen)
{
    struct sockaddr_storage la;
    socklen_t ll = sizeof la;
    int l = -1;
    memset(&la, 0, sizeof la);
    if (dom == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&la;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        l = REAL(socket)(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (l >= 0 && bind(l, (struct sockaddr *)a, sizeof *a) < 0) {
            REAL(close)(l);
            l = -1;
        }
    }
    if (l < 0) {
        struct sockaddr_in *a = (struct sockaddr_in *)&la;
        memset(&la, 0, sizeof la);
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        l = REAL(socket)(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (l >= 0 && bind(l, (struct sockaddr *)a, sizeof *a) < 0) {
            REAL(close)(l);
            return -1;
        }
    }
    if (l < 0)
        return -1;
    if (listen(l, 8) < 0 || REAL(getsockname)(l, (struct sockaddr *)&la, &ll) < 0) {
        REAL(close)(l);
        return -1;
    }
    memset(to, 0, sizeof *to);
    if (dom == AF_INET6 && la.ss_family == AF_INET) { /* v4-mapped */
        struct sockaddr_in6 *t = (struct sockaddr_in6 *)to;
        t->sin6_family = AF_INET6;
        t->sin6_port = ((struct sockaddr_in *)&la)->sin_port;
        t->sin6_addr.s6_addr[10] = t->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&t->sin6_addr.s6_addr[12], &((struct sockaddr_in *)&la)->sin_addr, 4);
        *tolen = sizeof *t;
    } else {
        memcpy(to, &la, ll);
        *tolen = ll;
    }
    return l;
}

/* Connects fd, the app's TCP socket (never connected, or its connect just
 * failed), to a loopback listener made for the purpose and closed before
 * returning, and returns the accepted end (non-blocking, close-on-exec,
 * ours). The app's file description stays what it was, with its flags,
 * options and epoll registrations. -1 when the loopback cannot be used
 * (lo down, a socket bound to a device, not TCP, a firewall): fd is then
 * left unconnected. The connection handshake is waited for here, also on
 * a non-blocking socket (O_NONBLOCK is set for that moment). */
static int loopback_peer(int fd)
{
    int dom = 0, type = 0, proto = 0, fl, peer = -1, one = 1;
    socklen_t ol = sizeof dom, tl = sizeof type, pl = sizeof proto, tolen = 0, ml;
    struct sockaddr_storage to, me, from;
    struct sockaddr un = { .sa_family = AF_UNSPEC };
    if (REAL(getsockopt)(fd, SOL_SOCKET, SO_DOMAIN, &dom, &ol) < 0 ||
        REAL(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
        REAL(getsockopt)(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &pl) < 0 || (dom != AF_INET && dom != AF_INET6) ||
        type != SOCK_STREAM || proto != IPPROTO_TCP || (fl = REAL(fcntl)(fd, F_GETFL)) < 0)
        return -1;
    int l = loopback_listener(dom, &to, &tolen);
    if (l < 0)
        return -1;
    if (!(fl & O_NONBLOCK))
        REAL(fcntl)(fd, F_SETFL, fl | O_NONBLOCK);
    int rc = REAL(connect)(fd, (struct sockaddr *)&to, tolen);
    if (rc < 0 && errno != EINPROGRESS) { /* a failed connect is dissolved first */
        REAL(connect)(fd, &un, sizeof un);
        rc = REAL(connect)(fd, (struct sockaddr *)&to, tolen);
    }
    ml = sizeof me;
    if ((rc == 0 || errno == EINPROGRESS) && REAL(getsockname)(fd, (struct sockaddr *)&me, &ml) == 0) {
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            long left = LOOP_WAIT_MS - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
            struct pollfd p = { .fd = l, .events = POLLIN };
            if (left <= 0 || (REAL(poll)(&p, 1, (int)left) < 0 && errno != EINTR))
                break;
            socklen_t fl2 = sizeof from;
            int a = REAL(accept4)(l, (struct sockaddr *)&from, &fl2, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (a < 0)
                continue; /* EAGAIN, EINTR, or a connection gone before accept */
            if (same_end(&from, &me)) {
                peer = a;
                break;
            }
            REAL(close)(a); /* another process's connection to the port: not ours */
        }
    }
    REAL(close)(l);
    if (!(fl & O_NONBLOCK))
        REAL(fcntl)(fd, F_SETFL, fl);
    if (peer < 0) {
        REAL(connect)(fd, &un, sizeof un);
        return -1;
    }
    REAL(setsockopt)(peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* answers leave at once */
    return peer;
}

/* The epoll registrations of the socket fd refers to, read from
 * /proc/self/fdinfo of each of the process's epoll fds; each is deleted
 * here (a registration belongs to the open file, not the fd number: left
 * alone it would die with the socket, or fire for it under the same number
 * while another copy keeps it open). */
#define HFS_RENEW_MAX 32
struct epreg {
    int epfd;
    struct epoll_event ev;
};

static int take_epoll(int fd, struct epreg *out, int max)
{
    struct stat st;
    char path[64], link[64], line[256];
    int n = 0;
    if (fstat(fd, &st) < 0)
        return -1;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        char *end;
        long ep = strtol(e->d_name, &end, 10);
        if (*end || end == e->d_name || ep == fd || ep == dirfd(d))
            continue;
        snprintf(path, sizeof path, "/proc/self/fd/%ld", ep);
        ssize_t k = readlink(path, link, sizeof link - 1);
        if (k <= 0)
            continue;
        link[k] = 0;
        if (strcmp(link, "anon_inode:[eventpoll]"))
            continue;
        snprintf(path, sizeof path, "/proc/self/fdinfo/%ld", ep);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        while (n < max && fgets(line, sizeof line, f)) {
            int tfd;
            unsigned events;
            unsigned long long data;
            unsigned long ino;
            const char *ip = strstr(line, "ino:");
            if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3 || tfd != fd || !ip ||
                sscanf(ip, "ino:%lx", &ino) != 1 || ino != (unsigned long)st.st_ino)
                continue;
            out[n].epfd = (int)ep;
            out[n].ev.events = events;
            out[n].ev.data.u64 = data;
            if (REAL(epoll_ctl)((int)ep, EPOLL_CTL_DEL, fd, &out[n].ev) == 0)
                n++;
        }
        fclose(f);
    }
    closedir(d);
    return n;
}

/* Puts one end of a new socketpair in place of fd (dup3 closes the socket
 * fd was; O_NONBLOCK and FD_CLOEXEC are kept; so are its epoll
 * registrations, with their events, data and armed state) and returns
 * the other end (non-blocking, ours), or -1 with errno. *renewed says
 * whether the registrations were carried over (else /proc was unreadable:
 * the caller renews those it knows of). */
static int swap_in_socketpair(int fd, int *renewed)
{
    int sp[2], fl, fdfl;
    struct epreg reg[HFS_RENEW_MAX];
    *renewed = 0;
    if ((fl = REAL(fcntl)(fd, F_GETFL)) < 0 || (fdfl = REAL(fcntl)(fd, F_GETFD)) < 0)
        return -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp))
        return -1;
    if (((fl & O_NONBLOCK) && REAL(fcntl)(sp[0], F_SETFL, O_NONBLOCK) < 0) ||
        REAL(fcntl)(sp[1], F_SETFL, O_NONBLOCK) < 0) {
        int e = errno;
        REAL(close)(sp[0]);
        REAL(close)(sp[1]);
        errno = e;
        return -1;
    }
    int n = take_epoll(fd, reg, HFS_RENEW_MAX);
    if (REAL(dup3)(sp[0], fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
        int e = errno;
        for (int i = 0; i < n; i++)
            REAL(epoll_ctl)(reg[i].epfd, EPOLL_CTL_ADD, fd, &reg[i].ev);
        REAL(close)(sp[0]);
        REAL(close)(sp[1]);
        errno = e;
        return -1;
    }
    REAL(close)(sp[0]);
    for (int i = 0; i < n; i++)
        if (REAL(epoll_ctl)(reg[i].epfd, EPOLL_CTL_ADD, fd, &reg[i].ev) < 0)
            hfs_log_msg("error", "could not renew fd %d's registration in epoll set %d for its virtual connection: %s",
                        fd, reg[i].epfd, hfs_errtext(errno));
    *renewed = n >= 0;
    return sp[1];
}

/* A watched fd becomes virtual in place (its entry kept): a real
 * connection cannot be moved to the loopback without a reset to its
 * server, so it is replaced (see swap_in_socketpair). */
static int turn_virtual(struct hfs_sock *s, int fd)
{
    int renewed;
    int peer = swap_in_socketpair(fd, &renewed);
    if (peer < 0)
        return -1;
    s->virtual_ = 1;
    s->peer = peer;
    note_identity(s, fd);
    if (atomic_load(&s->refs) > 1) /* duplicates of fd become the same new socket */
        for (int o = 0; o < HFS_FD_MAX; o++) {
            int fl;
            if (o != fd && atomic_load_explicit(&hfs_fdtab[o], memory_order_acquire) == s &&
                (fl = REAL(fcntl)(o, F_GETFD)) >= 0)
                REAL(dup3)(fd, o, (fl & FD_CLOEXEC) ? O_CLOEXEC : 0);
        }
    for (int i = 0; !renewed && i < s->nep; i++)
        if (REAL(epoll_ctl)(s->ep[i].epfd, EPOLL_CTL_ADD, fd, &s->ep[i].ev) < 0)
            hfs_log_msg("error", "could not re-register fd %d in epoll set %d after answering: %s", fd, s->ep[i].epfd,
                        hfs_errtext(errno));
    return 0;
}

int hfs_sock_make_virtual(int fd, const struct hfs_request *r, const struct sockaddr *sa, socklen_t len)
{
    int renewed, lo = 1, peer = loopback_peer(fd);
    if (peer < 0) {
        lo = 0;
        peer = swap_in_socketpair(fd, &renewed);
    }
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
    s->lo = lo;
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
    hfs_log_msg("info",
                "%s port %d: the server is unreachable (%s); requests a rule answers get their answer, "
                "the others fail",
                shown_host(s, ip, sizeof ip), s->port, hfs_errtext(err));
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

static int is_hub_origin(const struct hfs_http_origin *o) { return hfs_dest_is_hub(o->host, &o->addr, o->port); }

static void io_judge(void *ctx, struct hfs_conn *conn, const struct hfs_http1_head *h, const char *head, size_t len,
                     struct hfs_conn_verdict *v)
{
    struct call *c = ctx;
    (void)conn;
    hfs_http_judge(&c->origin, h, head, len, v, &c->scratch);
    int get = (h->method_len == 3 && memcmp(h->method, "GET", 3) == 0) ||
              (h->method_len == 4 && memcmp(h->method, "HEAD", 4) == 0);
    if (v->act == HFS_CONN_FORWARD && get && !c->origin.virtual_ && !c->fb_head && hfs_reach_on() &&
        is_hub_origin(&c->origin) && (c->fb_head = malloc(len))) {
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
    if (turn_virtual(s, fd) < 0)
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
    hfs_log_msg("error", "connection to %s port %d closed by hfshim: %s", shown_host(s, ip, sizeof ip), s->port,
                why ? why : "failed");
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
    int rc = s->virtual_ ? 0 : turn_virtual(s, fd);
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
    if (!c || turn_virtual(s, fd) < 0) {
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
    struct hfs_addr addr = s->addr;
    int port = s->port;
    snprintf(host, cap, "%s", s->host);
    pthread_mutex_unlock(&s->mu);
    int hub = hfs_dest_is_hub(host, &addr, port);
    if (!host[0] && addr.family)
        inet_ntop(addr.family, addr.a, host, (socklen_t)cap);
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
        int hub = hfs_reach_on() && hfs_dest_is_hub(host, &s->addr, s->port);
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
    note_held(s);
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
    note_held(s);
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
    int hi = atomic_load(&fd_hiwater);
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

int hfs_sock_setsockopt(struct hfs_sock *s, int fd, int level, int opt, int *rc)
{
    (void)fd;
    (void)opt;
    if (!s->virtual_ || s->lo || level == SOL_SOCKET)
        return 0; /* over the loopback, the app's TCP socket takes its options itself */
    *rc = 0;      /* TCP/IP options: a socketpair has none, and needs none */
    return 1;
}

int hfs_sock_getsockopt(struct hfs_sock *s, int level, int opt, void *val, socklen_t *len, int *rc)
{
    if (!s->virtual_ || s->lo)
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
    if (!s->virtual_ || s->lo || !sa || !len)
        return 0; /* over the loopback: the socket's own loopback address */
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

/* fork: the pool lock is taken before fork (atfork.c's order); a thread
 * holding an entry's lock does not exist in the child: all are made new. */
void hfs_sock_fork_prepare(void) { pthread_mutex_lock(&pool_mu); }
void hfs_sock_fork_parent(void) { pthread_mutex_unlock(&pool_mu); }
void hfs_sock_fork_child(void)
{
    pthread_mutex_init(&pool_mu, NULL);
    for (int fd = 0; fd < HFS_FD_MAX; fd++) {
        struct hfs_sock *s = atomic_load(&hfs_fdtab[fd]);
        if (s)
            pthread_mutex_init(&s->mu, NULL);
    }
}
