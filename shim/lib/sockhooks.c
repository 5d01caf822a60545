/* sockhooks: connect/sendto/sendmsg/sendmmsg hooks. A destination the
 * rules block fails at once: stream sockets with ECONNREFUSED, datagram
 * sockets (UDP DNS included) with ENETUNREACH; nothing is sent. A stream
 * connection that must not reach the network but whose HTTP requests can
 * be answered becomes a virtual connection (sockswap.c), and one to a
 * destination some HTTP rule may act on is watched. Calls without a
 * destination go to the plain-socket HTTP layer (iohooks.c); non-IP
 * families pass straight through. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/errtext.h"
#include "../core/log.h"
#include <sys/socket.h>

#include "blackhole.h"
#include "curlstate.h"
#include "decide_apply.h"
#include "dnsmem.h"
#include "iohooks.h"
#include "reachmem.h"
#include "reachwait.h"
#include "real.h"
#include "sockconn.h"
#include "state.h"

#define WATCHED_FD(fd) (hfs_sock_of(fd) != NULL)

/* An IP address of a length the kernel takes (the common case: no
 * question to ask the socket). */
static int plain_ip(const struct sockaddr *sa, socklen_t len)
{
    return sa && ((sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) ||
                  (sa->sa_family == AF_INET6 && len >= 24 && len <= sizeof(struct sockaddr_storage)));
}

static int sock_int(int fd, int opt)
{
    int v = -1, saved = errno;
    socklen_t l = sizeof v;
    if (REAL(getsockopt)(fd, SOL_SOCKET, opt, &v, &l) < 0)
        v = -1;
    errno = saved;
    return v;
}

/* An address hfshim cannot read on an IP socket: refused, never passed. */
static int refuse_unread(int fd, const struct sockaddr *sa, socklen_t len, const char *call, int err, const char *why)
{
    hfs_log_msg("block", "refused %s on fd %d: %s (family %d, length %u): %s", call, fd, why,
                sa && len >= sizeof(sa_family_t) ? sa->sa_family : -1, (unsigned)len,
                err == EAFNOSUPPORT ? "EAFNOSUPPORT" : "EINVAL");
    if (hfs_audit_on()) {
        struct hfs_audit_rec a = { .layer = "connect",
                                   .decision = "refuse",
                                   .rule = "(unreadable address)",
                                   .why = why,
                                   .error = err == EAFNOSUPPORT ? "EAFNOSUPPORT" : "EINVAL",
                                   .reset_after = -1 };
        hfs_audit_write(&a);
    }
    return err;
}

enum plan { GO, WATCH, WATCH_ANSWERABLE, VIRTUAL, HANG };

/* 0 when the connection may go on (*plan says how); else the errno to
 * fail with (after logging). r holds the destination; type is the
 * socket's type, or -1 to ask; *hub says whether the connect is bounded
 * and learned from (reach). */
static int judge_dest(int fd, int type, int connecting, enum plan *plan, struct hfs_request *r, char *name, int *hub)
{
    struct hfs_verdict v;
    int err, saved = errno;
    *plan = GO;
    r->layer = HFS_LAYER_CONNECT;
    if (type < 0)
        type = sock_int(fd, SO_TYPE);
    if (type == SOCK_DGRAM || type == SOCK_RAW || type == SOCK_SEQPACKET)
        r->layer = HFS_LAYER_DATAGRAM;
    if (hfs_dnsmem_get(&r->addr, name, 256))
        r->host = name;
    err = r->layer == HFS_LAYER_DATAGRAM ? ENETUNREACH : ECONNREFUSED;
    errno = saved;
    hfs_judge_verdict(r, err == ENETUNREACH ? "ENETUNREACH" : "ECONNREFUSED", &v);
    *hub = v.hub && r->layer == HFS_LAYER_CONNECT && v.kind != HFS_V_BLOCK && v.fate == HFS_CONN_REAL && hfs_reach_on();
    if (v.fate == HFS_CONN_HANG && connecting && r->layer == HFS_LAYER_CONNECT) {
        *plan = HANG; /* libcurl's connections too: its connect timeout ends it */
        return 0;
    }
    if (r->layer == HFS_LAYER_DATAGRAM || !connecting || hfs_in_curl)
        return v.kind == HFS_V_BLOCK && (v.fate != HFS_CONN_VIRTUAL || r->layer == HFS_LAYER_DATAGRAM || hfs_in_curl)
                   ? err
                   : 0;
    if (v.fate == HFS_CONN_VIRTUAL)
        *plan = VIRTUAL;
    else if (v.fate == HFS_CONN_REFUSE)
        return err;
    else if (v.http_rules)
        *plan = v.answerable ? WATCH_ANSWERABLE : WATCH;
    return 0;
}

/* Where a call with a destination address goes, judged by what the
 * kernel will do with it (hfs_addr_kernel_dest): */
enum route {
    R_KERNEL,    /* to libc as it is (no rule applies, or not an IP socket) */
    R_CONNECTED, /* the connected path: a watched stream socket's bytes */
    R_FASTOPEN,  /* a TCP Fast Open send to a watched destination: connect, then send */
    R_REFUSE     /* refused with *err (already logged) */
};

static enum route route_dest(int fd, const struct sockaddr *sa, socklen_t len, int flags, const char *call, int *err)
{
    int busy_outer;
    struct hfs_request r = { .layer = HFS_LAYER_CONNECT };
    char name[256];
    enum plan plan;
    const char *why = "";
    int hub, type, domain, fastopen = (flags & MSG_FASTOPEN) != 0;
    if (!hfs_ready())
        return R_KERNEL;
    if (WATCHED_FD(fd) && !fastopen)
        return R_CONNECTED; /* TCP: the address is ignored, the bytes go to the peer */
    if ((type = sock_int(fd, SO_TYPE)) < 0)
        return R_KERNEL; /* not a socket: the kernel says so */
    if (plain_ip(sa, len))
        domain = sa->sa_family;
    else if ((domain = sock_int(fd, SO_DOMAIN)) != AF_INET && domain != AF_INET6)
        return R_KERNEL;
    if (type == SOCK_STREAM && !fastopen)
        return R_KERNEL;
    HFS_BUSY_ENTER(busy_outer);
    enum hfs_sa_kind k =
        hfs_addr_kernel_dest(&r, sa, len, domain, type, type == SOCK_STREAM ? HFS_SA_CONNECT : HFS_SA_SEND, err, &why);
    enum route ro = R_KERNEL;
    if (k == HFS_SA_BAD) {
        refuse_unread(fd, sa, len, call, *err, why);
        ro = R_REFUSE;
    } else if (k == HFS_SA_DEST && (*err = judge_dest(fd, type, type == SOCK_STREAM, &plan, &r, name, &hub))) {
        ro = R_REFUSE;
    } else if (k == HFS_SA_DEST && type == SOCK_STREAM && plan != GO) {
        ro = R_FASTOPEN;
    }
    HFS_BUSY_LEAVE(busy_outer);
    return ro;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum { DL_DONE, DL_SLOW, DL_PENDING };

/* Waits for fd's connect, in progress, until end (monotonic ms): 1 when
 * it completed (*so: its outcome, 0 or the errno), 0 when time ran out. */
static int wait_connect(int fd, long long end, int *so)
{
    for (;;) {
        long long left = end - mono_ms();
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int n = left > 0 ? REAL(poll)(&p, 1, (int)left) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            return 0;
        socklen_t sl = sizeof *so;
        *so = 0;
        if (n < 0 || REAL(getsockopt)(fd, SOL_SOCKET, SO_ERROR, so, &sl) < 0)
            *so = errno;
        return 1;
    }
}

/* A connect to a Hub host, bounded by reach.connect_ms. A blocking socket
 * is made non-blocking for the real connect and waited for here (no
 * thread), its flags put back as the app set them. DL_DONE: *rc and *err
 * are what the app's connect returns (0 or the failure); DL_SLOW: not
 * complete in time (the pending connect is left to the caller);
 * DL_PENDING: the app's own socket is non-blocking and the connect is in
 * progress (EINPROGRESS): the caller records its deadline where the app
 * will wait (reachwait.h). The wait only covers the handshake of TCP: a
 * healthy network answers within one round trip. */
static int deadline_connect(int fd, const struct sockaddr *addr, socklen_t len, int *rc, int *err)
{
    int entry = errno; /* a successful connect leaves errno as it was */
    int fl = REAL(fcntl)(fd, F_GETFL);
    int blocking = fl >= 0 && !(fl & O_NONBLOCK);
    if (fl < 0) {
        *rc = REAL(connect)(fd, addr, len);
        *err = errno;
        return DL_DONE;
    }
    if (blocking)
        REAL(fcntl)(fd, F_SETFL, fl | O_NONBLOCK);
    *rc = REAL(connect)(fd, addr, len);
    *err = *rc == 0 ? entry : errno;
    if (*rc == 0 || *err != EINPROGRESS) {
        if (blocking)
            REAL(fcntl)(fd, F_SETFL, fl);
        return DL_DONE;
    }
    if (!blocking)
        return DL_PENDING;
    int so, done = wait_connect(fd, mono_ms() + hfs_reach_connect_ms(), &so);
    REAL(fcntl)(fd, F_SETFL, fl);
    if (!done)
        return DL_SLOW;
    *rc = so ? -1 : 0;
    *err = so ? so : entry;
    return DL_DONE;
}

/* A non-blocking connect to a Hub host in progress: what its deadline
 * needs (reachwait.h). */
struct pending_connect {
    struct hfs_request r;
    char host[256];
    struct sockaddr_storage sa;
    socklen_t len;
    int curl;       /* libcurl's: it fails (libcurl answers at its own layer), never virtual */
    int answerable; /* some requests can be answered without the server (plan WATCH_ANSWERABLE) */
};

static const char *pc_host(const struct pending_connect *p) { return p->r.host ? p->r.host : p->r.ip; }

static int tcp_state(int fd)
{
    struct tcp_info ti;
    socklen_t l = sizeof ti;
    return REAL(getsockopt)(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) == 0 ? ti.tcpi_state : -1;
}

/* The deadline passed: still connecting means packets are dropped. The
 * host is learned as unreachable and the socket connected to a virtual
 * peer that answers as offline (writable, SO_ERROR 0); where that cannot
 * be (libcurl, no loopback), the attempt is ended and the socket reads
 * ETIMEDOUT. */
static int connect_expired(int fd, void *arg)
{
    struct pending_connect *p = arg;
    int st = tcp_state(fd);
    if (st == TCP_ESTABLISHED)
        hfs_reach_ok(pc_host(p));
    if (st != TCP_SYN_SENT)
        return 0; /* done: the app reads the outcome */
    hfs_reach_learn_req(&p->r, HFS_REACH_CONNECT_SLOW, ETIMEDOUT);
    if (!p->curl && hfs_sock_make_virtual(fd, &p->r, (struct sockaddr *)&p->sa, p->len) == 0)
        return 0; /* the Hub is unreachable: answered as offline on a virtual connection */
    struct sockaddr un = { .sa_family = AF_UNSPEC };
    REAL(connect)(fd, &un, sizeof un); /* the attempt ends: pollers see the socket ready, in error */
    return ETIMEDOUT;
}

/* The app asks SO_ERROR before the deadline: the outcome, learned. */
static int connect_asked(int fd, void *arg, int *val)
{
    struct pending_connect *p = arg;
    int st = tcp_state(fd);
    if (st == TCP_SYN_SENT)
        return HFS_RW_KEEP; /* still in progress: the deadline stays */
    if (st == TCP_ESTABLISHED) {
        hfs_reach_ok(pc_host(p));
        return HFS_RW_DONE;
    }
    socklen_t l = sizeof *val;
    if (REAL(getsockopt)(fd, SOL_SOCKET, SO_ERROR, val, &l) < 0)
        *val = errno;
    int err = *val;
    if (!(hfs_sock_unreachable(err) || err == EACCES || err == EPERM))
        return HFS_RW_ANSWERED;
    hfs_reach_learn_req(&p->r, HFS_REACH_CONNECT, err);
    if (p->curl)
        return HFS_RW_ANSWERED;
    int down = hfs_reach_host_down(pc_host(p));
    if ((down || (p->answerable && hfs_sock_unreachable(err))) &&
        hfs_sock_make_virtual(fd, &p->r, (struct sockaddr *)&p->sa, p->len) == 0) {
        if (!down)
            hfs_sock_mark_server_down(fd, err); /* not learned: as a failed connect to an answerable server */
        *val = 0;
    }
    return HFS_RW_ANSWERED;
}

/* Records the deadline of fd's connect, in progress; -1 when it cannot. */
static int connect_deadline(int fd, const struct hfs_request *r, const struct sockaddr *addr, socklen_t len,
                            int answerable)
{
    struct pending_connect *p = calloc(1, sizeof *p);
    if (!p || len > sizeof p->sa) {
        free(p);
        return -1;
    }
    p->r = *r;
    if (r->host) {
        snprintf(p->host, sizeof p->host, "%s", r->host);
        p->r.host = p->host;
    }
    memcpy(&p->sa, addr, len);
    p->len = len;
    p->curl = hfs_in_curl;
    p->answerable = answerable;
    if (hfs_rw_add(fd, hfs_reach_connect_ms(), connect_expired, connect_asked, p) < 0) {
        free(p);
        return -1;
    }
    return 0;
}

HFS_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    int busy_outer;
    struct hfs_request r = { .layer = HFS_LAYER_CONNECT };
    char name[256];
    enum plan plan = GO;
    int err = 0, rc, saved, hub = 0;
    if (!REAL(connect)) {
        errno = ENOSYS;
        return -1;
    }
    if (__builtin_expect(atomic_load_explicit(&hfs_rw_entries, memory_order_relaxed) != 0, 0) &&
        (err = hfs_rw_failed(fd))) {
        errno = err; /* its deadline ended the attempt (reachwait.h) */
        return -1;
    }
    if (!hfs_ready() || !plain_ip(addr, len)) {
        int domain = hfs_ready() ? sock_int(fd, SO_DOMAIN) : -1;
        const char *why = "";
        if ((domain == AF_INET || domain == AF_INET6) &&
            hfs_addr_kernel_dest(&r, addr, len, domain, 0, HFS_SA_CONNECT, &err, &why) == HFS_SA_BAD) {
            HFS_BUSY_ENTER(busy_outer);
            errno = refuse_unread(fd, addr, len, "connect", err, why);
            HFS_BUSY_LEAVE(busy_outer);
            return -1;
        }
        if (WATCHED_FD(fd)) /* AF_UNSPEC disconnects; not IP: not ours */
            hfs_sock_forget(fd);
        return REAL(connect)(fd, addr, len);
    }
    HFS_BUSY_ENTER(busy_outer);
    hfs_addr_from_sockaddr(&r, addr, len);
    err = judge_dest(fd, -1, 1, &plan, &r, name, &hub);
    if (!err && plan == VIRTUAL && hfs_sock_make_virtual(fd, &r, addr, len) < 0) {
        hfs_log_msg("error", "could not make a virtual connection to %s port %d (%s): refused", r.host ? r.host : r.ip,
                    r.port, hfs_errtext(errno));
        err = ECONNREFUSED;
    }
    HFS_BUSY_LEAVE(busy_outer);
    if (err) {
        errno = err;
        return -1;
    }
    if (plan == VIRTUAL)
        return 0;
    if (WATCHED_FD(fd))
        hfs_sock_forget(fd);
    if (plan == HANG) {
        /* toward a queue that drops every SYN: in progress forever */
        rc = hfs_blackhole_connect(fd, addr->sa_family);
        if (rc < 0 && errno != EINPROGRESS && errno != EINTR && errno != ETIMEDOUT) {
            hfs_log_msg("error", "could not make the connection to %s port %d hang (%s): refused",
                        r.host ? r.host : r.ip, r.port, hfs_errtext(errno));
            errno = ECONNREFUSED;
        }
        return rc;
    }
    if (hub) {
        /* a Hub host: the connect is bounded (reach.connect_ms) and what
         * it shows about the Hub's reachability is learned */
        int dl = deadline_connect(fd, addr, len, &rc, &saved);
        if (dl == DL_PENDING && connect_deadline(fd, &r, addr, len, plan == WATCH_ANSWERABLE) < 0) {
            /* no room for its deadline: waited for here, as a blocking one */
            int so;
            if (!wait_connect(fd, mono_ms() + hfs_reach_connect_ms(), &so))
                dl = DL_SLOW;
            else
                dl = DL_DONE, rc = -1, saved = so ? so : EINPROGRESS; /* the app's poll says "ready" */
        } else if (dl == DL_PENDING) {
            if (plan == WATCH || plan == WATCH_ANSWERABLE) {
                hfs_sock_watch(fd, &r, addr, len);
                if (plan == WATCH_ANSWERABLE)
                    hfs_sock_mark_answerable(fd);
            }
            errno = EINPROGRESS; /* the deadline is kept where the app waits (reachwait.h) */
            return -1;
        }
        if (dl == DL_SLOW) {
            HFS_BUSY_ENTER(busy_outer);
            hfs_reach_learn_req(&r, HFS_REACH_CONNECT_SLOW, ETIMEDOUT);
            if (hfs_in_curl || hfs_sock_make_virtual(fd, &r, addr, len) < 0) {
                HFS_BUSY_LEAVE(
                    busy_outer); /* libcurl's transfer fails now (its next ones are answered at its own layer) */
                errno = ETIMEDOUT;
                return -1;
            }
            HFS_BUSY_LEAVE(busy_outer);
            return 0; /* the Hub is unreachable: answered as offline on a virtual connection */
        }
        HFS_BUSY_ENTER(busy_outer);
        int sign = rc < 0 && (hfs_sock_unreachable(saved) || saved == EACCES || saved == EPERM);
        if (sign)
            hfs_reach_learn_req(&r, HFS_REACH_CONNECT, saved);
        else if (rc == 0 || (saved == EINPROGRESS && dl != DL_PENDING))
            hfs_reach_ok(r.host ? r.host : r.ip);
        if (sign && !hfs_in_curl && plan != WATCH_ANSWERABLE && hfs_reach_host_down(r.host ? r.host : r.ip) &&
            hfs_sock_make_virtual(fd, &r, addr, len) == 0) {
            HFS_BUSY_LEAVE(busy_outer); /* now unreachable: its requests are answered as offline */
            return 0;
        }
        HFS_BUSY_LEAVE(busy_outer);
    } else {
        rc = REAL(connect)(fd, addr, len);
        saved = errno;
    }
    if (rc < 0 && plan == WATCH_ANSWERABLE &&
        (hfs_sock_unreachable(saved) || (hub && (saved == EACCES || saved == EPERM)))) {
        /* the server is down, but some of this connection's requests can
         * be answered without it: a virtual connection gives those */
        HFS_BUSY_ENTER(busy_outer);
        rc = hfs_sock_make_virtual(fd, &r, addr, len);
        if (rc == 0)
            hfs_sock_mark_server_down(fd, saved);
        HFS_BUSY_LEAVE(busy_outer);
        if (rc < 0)
            rc = -1;
        else
            return 0;
    } else if ((plan == WATCH || plan == WATCH_ANSWERABLE) && (rc == 0 || saved == EINPROGRESS)) {
        hfs_sock_watch(fd, &r, addr, len);
        if (plan == WATCH_ANSWERABLE)
            hfs_sock_mark_answerable(fd);
    }
    errno = saved;
    return rc;
}

/* A TCP Fast Open send (MSG_FASTOPEN) to a destination some rule acts
 * on: the connection is made by the connect hook (judged, watched or
 * virtual), then the data goes the connected way, so it is judged too.
 * A non-blocking socket says EINPROGRESS with nothing sent, as TFO does
 * without a cookie. */
static ssize_t fastopen_send(int fd, const struct sockaddr *sa, socklen_t len, const void *buf, size_t n, int flags)
{
    if (connect(fd, sa, len) < 0)
        return -1;
    return hfs_sendto_connected(fd, buf, n, flags & ~MSG_FASTOPEN);
}

/* glibc's public alias of connect (docs/escape-hatches.md) */
HFS_EXPORT int __connect(int fd, const struct sockaddr *addr, socklen_t len)
    __attribute__((alias("connect"), copy(connect)));

HFS_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len)
{
    int err = 0;
    if (!REAL(sendto)) {
        errno = ENOSYS;
        return -1;
    }
    if (!addr)
        return hfs_sendto_connected(fd, buf, n, flags);
    switch (route_dest(fd, addr, len, flags, "sendto", &err)) {
    case R_CONNECTED: return hfs_sendto_connected(fd, buf, n, flags);
    case R_FASTOPEN: return fastopen_send(fd, addr, len, buf, n, flags);
    case R_REFUSE: errno = err; return -1;
    case R_KERNEL: break;
    }
    return REAL(sendto)(fd, buf, n, flags, addr, len);
}

HFS_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    int err = 0;
    if (!REAL(sendmsg)) {
        errno = ENOSYS;
        return -1;
    }
    if (msg && (!msg->msg_name || !msg->msg_namelen)) /* the kernel ignores a name of length 0 */
        return hfs_sendmsg_connected(fd, msg, flags);
    if (msg) {
        switch (route_dest(fd, msg->msg_name, msg->msg_namelen, flags, "sendmsg", &err)) {
        case R_CONNECTED: return hfs_sendmsg_connected(fd, msg, flags);
        case R_FASTOPEN: {
            struct msghdr m = *msg;
            if (connect(fd, msg->msg_name, msg->msg_namelen) < 0)
                return -1;
            m.msg_name = NULL;
            m.msg_namelen = 0;
            return hfs_sendmsg_connected(fd, &m, flags & ~MSG_FASTOPEN);
        }
        case R_REFUSE: errno = err; return -1;
        case R_KERNEL: break;
        }
    }
    return REAL(sendmsg)(fd, msg, flags);
}

/* A watched stream socket: each message goes the connected way (judged),
 * as sendmmsg would send them, one after the other. Elsewhere, sends the
 * messages before the first refused one; fails only when the first one is
 * refused (sendmmsg's own partial-success contract). */
HFS_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
    if (!REAL(sendmmsg)) {
        errno = ENOSYS;
        return -1;
    }
    if (vec && vlen && hfs_ready() && WATCHED_FD(fd) && !(flags & MSG_FASTOPEN)) {
        unsigned int i;
        for (i = 0; i < vlen; i++) {
            size_t want = 0;
            for (size_t j = 0; j < vec[i].msg_hdr.msg_iovlen; j++)
                want += vec[i].msg_hdr.msg_iov[j].iov_len;
            ssize_t k = hfs_sendmsg_connected(fd, &vec[i].msg_hdr, flags);
            if (k < 0) {
                if (i == 0)
                    return -1;
                break;
            }
            vec[i].msg_len = (unsigned int)k;
            if ((size_t)k < want) {
                i++;
                break;
            }
        }
        return (int)i;
    }
    for (unsigned int i = 0; vec && i < vlen; i++) {
        int err = 0;
        if (!vec[i].msg_hdr.msg_name || !vec[i].msg_hdr.msg_namelen)
            continue;
        if (route_dest(fd, vec[i].msg_hdr.msg_name, vec[i].msg_hdr.msg_namelen, flags, "sendmmsg", &err) == R_REFUSE) {
            if (i == 0) {
                errno = err;
                return -1;
            }
            vlen = i;
            break;
        }
    }
    return REAL(sendmmsg)(fd, vec, vlen, flags);
}

/* GLIBC_PRIVATE, but reachable with dlsym: the same function */
HFS_EXPORT int __sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
    __attribute__((alias("sendmmsg"), copy(sendmmsg)));
