/* sockswap: the other end of a virtual connection. Made at connect (or
 * when the connect fails because the server is down): the app's socket is
 * connected to a loopback listener made for that moment, whose accepted
 * socket is the peer; where the loopback cannot be used, or to turn a
 * watched (real) connection virtual, the fd becomes one end of a
 * socketpair (dup3 over it) and its epoll registrations are renewed (as
 * /proc/self/fdinfo lists them, else as hfs_sock_epoll remembered). */
#include "sockswap.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../core/errtext.h"
#include "../core/log.h"
#include "real.h"
#include "sockfd.h"

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
int hfs_sock_turn_virtual(struct hfs_sock *s, int fd)
{
    int renewed;
    int peer = swap_in_socketpair(fd, &renewed);
    if (peer < 0)
        return -1;
    s->virtual_ = 1;
    s->peer = peer;
    hfs_sock_note_identity(s, fd);
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
    struct hfs_sock *s = hfs_sock_install(fd, r, sa, len);
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
