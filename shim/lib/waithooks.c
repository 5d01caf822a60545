/* waithooks: poll/ppoll/select/pselect/epoll_wait/epoll_pwait/epoll_pwait2,
 * where the application waits; two jobs.
 *
 * Reach deadlines (reachwait.h): while a non-blocking socket's Hub
 * deadline is pending, a wait that may last longer is cut at the earliest
 * deadline; there its action runs (the socket is left ready in the kernel:
 * virtual and answered, or failed) and the real call is made again for
 * what remains of the application's timeout, so the application sees its
 * socket ready as it would see any event, never an early timeout, and
 * nothing spins. Deadlines already due run at the start of any wait.
 *
 * Held heads: the engine holds the beginning of a request head until the head is
 * complete; an application that waits for input on that connection while
 * no response is due is not writing HTTP (a client never waits in the
 * middle of its request), so the held bytes are released before it waits
 * (hfs_sock_awaited), or they would be held forever. Only a wait that may
 * block (a timeout other than 0) for input (POLLIN, a read set, an epoll
 * set the fd is in for EPOLLIN) counts. While no connection holds a head
 * (hfs_heads_held is 0, nearly always) each call costs one load, and one
 * more for the deadlines. */
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <string.h>
#include <time.h>

#include "reachwait.h"
#include "real.h"
#include "sockconn.h"
#include "state.h"

static inline int heads_held(void)
{
    return __builtin_expect(atomic_load_explicit(&hfs_heads_held, memory_order_relaxed) != 0, 0) && !hfs_busy;
}

static inline int deadlines(void)
{
    return __builtin_expect(atomic_load_explicit(&hfs_rw_pending, memory_order_relaxed) != 0, 0) && !hfs_busy;
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The end of the application's wait (monotonic ns), -1: none. */
static long long end_of_ms(int ms) { return ms < 0 ? -1 : now_ns() + (long long)ms * 1000000LL; }
static long long end_of_ts(const struct timespec *t)
{
    return t ? now_ns() + (long long)t->tv_sec * 1000000000LL + t->tv_nsec : -1;
}

/* One slice of a wait that ends at end: runs the deadlines that passed
 * and says how long the real call may wait (ns, -1: forever); *ours is
 * set when the slice ends at a deadline rather than at the app's end. */
static long long slice(long long end, int *ours)
{
    long long next = hfs_rw_due(), left = end < 0 ? -1 : end - now_ns();
    if (end >= 0 && left < 0)
        left = 0;
    *ours = next >= 0 && (left < 0 || next * 1000000LL < left);
    return *ours ? next * 1000000LL : left;
}

static int ms_of(long long ns)
{
    return ns < 0 ? -1 : ns / 1000000 > 0x7fffffff ? 0x7fffffff : (int)((ns + 999999) / 1000000);
}
static struct timespec ts_of(long long ns) { return (struct timespec){ ns / 1000000000LL, ns % 1000000000LL }; }

static void awaited_pollfds(const struct pollfd *fds, nfds_t n)
{
    for (nfds_t i = 0; i < n; i++)
        if (fds[i].fd >= 0 && (fds[i].events & POLLIN))
            hfs_sock_awaited(fds[i].fd);
}

static void awaited_fdset(int nfds, const fd_set *rd)
{
    for (int fd = 0; rd && fd < nfds && fd < FD_SETSIZE; fd++)
        if (FD_ISSET(fd, rd))
            hfs_sock_awaited(fd);
}

/* select's sets are rewritten by each call: kept for the next slice (the
 * bytes that nfds covers: the caller's set may be no larger). */
struct sets {
    fd_set r, w, e;
};

static size_t set_bytes(int nfds) { return (size_t)(nfds + 63) / 64 * 8; }

static void save_sets(struct sets *k, int nfds, const fd_set *rd, const fd_set *wr, const fd_set *ex)
{
    if (rd)
        memcpy(&k->r, rd, set_bytes(nfds));
    if (wr)
        memcpy(&k->w, wr, set_bytes(nfds));
    if (ex)
        memcpy(&k->e, ex, set_bytes(nfds));
}

static void restore_sets(const struct sets *k, int nfds, fd_set *rd, fd_set *wr, fd_set *ex)
{
    if (rd)
        memcpy(rd, &k->r, set_bytes(nfds));
    if (wr)
        memcpy(wr, &k->w, set_bytes(nfds));
    if (ex)
        memcpy(ex, &k->e, set_bytes(nfds));
}

static int zero_ts(const struct timespec *t) { return t && !t->tv_sec && !t->tv_nsec; }

/* glibc declares poll's array write-only (__attr_access): gcc then takes
 * our reading the caller's events for reading uninitialized memory. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
HFS_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    if (heads_held() && timeout != 0 && fds)
        awaited_pollfds(fds, n);
    if (!deadlines())
        return REAL(poll)(fds, n, timeout);
    long long end = end_of_ms(timeout);
    for (;;) {
        int ours, rc = REAL(poll)(fds, n, ms_of(slice(end, &ours)));
        if (rc != 0 || !ours)
            return rc;
    }
}

HFS_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *mask)
{
    if (heads_held() && !zero_ts(t) && fds)
        awaited_pollfds(fds, n);
    if (!deadlines())
        return REAL(ppoll)(fds, n, t, mask);
    long long end = end_of_ts(t);
    for (;;) {
        int ours;
        long long ns = slice(end, &ours);
        struct timespec ts = ts_of(ns);
        int rc = REAL(ppoll)(fds, n, ns < 0 ? NULL : &ts, mask);
        if (rc != 0 || !ours)
            return rc;
    }
}
#pragma GCC diagnostic pop

HFS_EXPORT int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
    if (heads_held() && !(tv && !tv->tv_sec && !tv->tv_usec))
        awaited_fdset(nfds, rd);
    if (!deadlines() || nfds < 0 || nfds > FD_SETSIZE)
        return REAL(select)(nfds, rd, wr, ex, tv);
    struct sets keep;
    save_sets(&keep, nfds, rd, wr, ex);
    long long end = tv ? now_ns() + (long long)tv->tv_sec * 1000000000LL + (long long)tv->tv_usec * 1000 : -1;
    for (;;) {
        int ours;
        long long ns = slice(end, &ours);
        struct timeval t = { ns / 1000000000LL, (ns % 1000000000LL + 999) / 1000 };
        int rc = REAL(select)(nfds, rd, wr, ex, ns < 0 ? NULL : &t);
        if (rc != 0 || !ours) {
            if (tv) { /* Linux says how much of the timeout was left */
                long long left = end - now_ns();
                left = left > 0 ? left : 0;
                *tv = (struct timeval){ left / 1000000000LL, (left % 1000000000LL) / 1000 };
            }
            return rc;
        }
        restore_sets(&keep, nfds, rd, wr, ex);
    }
}

HFS_EXPORT int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *t, const sigset_t *mask)
{
    if (heads_held() && !zero_ts(t))
        awaited_fdset(nfds, rd);
    if (!deadlines() || nfds < 0 || nfds > FD_SETSIZE)
        return REAL(pselect)(nfds, rd, wr, ex, t, mask);
    struct sets keep;
    save_sets(&keep, nfds, rd, wr, ex);
    long long end = end_of_ts(t);
    for (;;) {
        int ours;
        long long ns = slice(end, &ours);
        struct timespec ts = ts_of(ns);
        int rc = REAL(pselect)(nfds, rd, wr, ex, ns < 0 ? NULL : &ts, mask);
        if (rc != 0 || !ours)
            return rc;
        restore_sets(&keep, nfds, rd, wr, ex);
    }
}

HFS_EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
    if (heads_held() && timeout != 0)
        hfs_sock_awaited_epoll(epfd);
    if (!deadlines())
        return REAL(epoll_wait)(epfd, ev, max, timeout);
    long long end = end_of_ms(timeout);
    for (;;) {
        int ours, rc = REAL(epoll_wait)(epfd, ev, max, ms_of(slice(end, &ours)));
        if (rc != 0 || !ours)
            return rc;
    }
}

HFS_EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *mask)
{
    if (heads_held() && timeout != 0)
        hfs_sock_awaited_epoll(epfd);
    if (!deadlines())
        return REAL(epoll_pwait)(epfd, ev, max, timeout, mask);
    long long end = end_of_ms(timeout);
    for (;;) {
        int ours, rc = REAL(epoll_pwait)(epfd, ev, max, ms_of(slice(end, &ours)), mask);
        if (rc != 0 || !ours)
            return rc;
    }
}

HFS_EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max, const struct timespec *t, const sigset_t *mask)
{
    if (heads_held() && !zero_ts(t))
        hfs_sock_awaited_epoll(epfd);
    if (!deadlines())
        return REAL(epoll_pwait2)(epfd, ev, max, t, mask);
    long long end = end_of_ts(t);
    for (;;) {
        int ours;
        long long ns = slice(end, &ours);
        struct timespec ts = ts_of(ns);
        int rc = REAL(epoll_pwait2)(epfd, ev, max, ns < 0 ? NULL : &ts, mask);
        if (rc != 0 || !ours)
            return rc;
    }
}
