/* waithooks: poll/ppoll/select/pselect/epoll_wait/epoll_pwait/epoll_pwait2.
 * The engine holds the beginning of a request head until the head is
 * complete; an application that waits for input on that connection while
 * no response is due is not writing HTTP (a client never waits in the
 * middle of its request), so the held bytes are released before it waits
 * (hfs_sock_awaited), or they would be held forever. Only a wait that may
 * block (a timeout other than 0) for input (POLLIN, a read set, an epoll
 * set the fd is in for EPOLLIN) counts. While no connection holds a head
 * (hfs_heads_held is 0, nearly always) each call costs one load. */
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>

#include "real.h"
#include "sockconn.h"
#include "state.h"

static inline int heads_held(void)
{
    return __builtin_expect(atomic_load_explicit(&hfs_heads_held, memory_order_relaxed) != 0, 0) && !hfs_busy;
}

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

static int zero_ts(const struct timespec *t) { return t && !t->tv_sec && !t->tv_nsec; }

/* glibc declares poll's array write-only (__attr_access): gcc then takes
 * our reading the caller's events for reading uninitialized memory. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
HFS_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    if (heads_held() && timeout != 0 && fds)
        awaited_pollfds(fds, n);
    return REAL(poll)(fds, n, timeout);
}

HFS_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *mask)
{
    if (heads_held() && !zero_ts(t) && fds)
        awaited_pollfds(fds, n);
    return REAL(ppoll)(fds, n, t, mask);
}
#pragma GCC diagnostic pop

HFS_EXPORT int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
    if (heads_held() && !(tv && !tv->tv_sec && !tv->tv_usec))
        awaited_fdset(nfds, rd);
    return REAL(select)(nfds, rd, wr, ex, tv);
}

HFS_EXPORT int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *t, const sigset_t *mask)
{
    if (heads_held() && !zero_ts(t))
        awaited_fdset(nfds, rd);
    return REAL(pselect)(nfds, rd, wr, ex, t, mask);
}

HFS_EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
    if (heads_held() && timeout != 0)
        hfs_sock_awaited_epoll(epfd);
    return REAL(epoll_wait)(epfd, ev, max, timeout);
}

HFS_EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *mask)
{
    if (heads_held() && timeout != 0)
        hfs_sock_awaited_epoll(epfd);
    return REAL(epoll_pwait)(epfd, ev, max, timeout, mask);
}

HFS_EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max, const struct timespec *t, const sigset_t *mask)
{
    if (heads_held() && !zero_ts(t))
        hfs_sock_awaited_epoll(epfd);
    return REAL(epoll_pwait2)(epfd, ev, max, t, mask);
}
