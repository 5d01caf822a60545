/* iohooks: the data and lifecycle hooks of the plain-socket HTTP layer:
 * write/send/writev/sendto/sendmsg(without a destination) and
 * read/recv/recvfrom/readv/recvmsg hand watched and virtual fds to
 * sockconn (zero-length calls keep the socket's own answer: 0, never a
 * "would block" the engine has no reason for); shutdown lets held bytes
 * leave before the FIN; close/dup2/dup3/
 * close_range/socket/accept/accept4 keep the fd table true;
 * setsockopt/getsockopt/getpeername/getsockname answer for virtual fds.
 * Every other fd costs one table load and goes to libc. Calls made while
 * libcurl transfers run, or from inside hfshim, pass through. */

#include "iohooks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../core/log.h"
#include "curlstate.h"
#include "reachwait.h"
#include "real.h"
#include "sockconn.h"
#include "state.h"

#define WATCHED(fd) __builtin_expect(hfs_sock_of(fd) != NULL, 0)

/* The one check on the hot path: one table load, and for the rare
 * watched fd the re-entry guard and a check (fstat) that the fd still is
 * that socket. */
static inline int mine(int fd, struct hfs_sock **s)
{
    *s = hfs_sock_of(fd);
    return __builtin_expect(*s != NULL, 0) && !hfs_busy && hfs_sock_current(fd, *s);
}

/* The app ends its sending side: what the engine holds or still owes the
 * wire leaves before the FIN (sockconn.c hfs_sock_write_end). */
HFS_EXPORT int shutdown(int fd, int how)
{
    struct hfs_sock *s;
    if ((how == SHUT_WR || how == SHUT_RDWR) && mine(fd, &s))
        hfs_sock_write_end(s, fd);
    return REAL(shutdown)(fd, how);
}

HFS_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    struct hfs_sock *s;
    if (mine(fd, &s))
        return hfs_sock_write(s, fd, buf, n, 0);
    return REAL(write)(fd, buf, n);
}
HFS_EXPORT ssize_t __write(int fd, const void *buf, size_t n) __attribute__((alias("write"), copy(write)));

HFS_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    struct hfs_sock *s;
    if (mine(fd, &s))
        return hfs_sock_write(s, fd, buf, n, flags);
    return REAL(send)(fd, buf, n, flags);
}
HFS_EXPORT ssize_t __send(int fd, const void *buf, size_t n, int flags) __attribute__((alias("send"), copy(send)));

#define IOV_CHUNK (256 * 1024)

/* A buffer for the vectored reads: the iov's total, at most IOV_CHUNK
 * (the rest is left for the next call, as a partial read). */
static char *iov_buffer(const struct iovec *iov, int cnt, size_t *total)
{
    size_t t = 0;
    for (int i = 0; i < cnt; i++)
        t += iov[i].iov_len;
    *total = t > IOV_CHUNK ? IOV_CHUNK : t;
    char *b = malloc(*total ? *total : 1);
    if (!b)
        errno = ENOBUFS;
    return b;
}

/* Gathers iov into one buffer, IOV_CHUNK bytes at a time, and writes
 * each: as the kernel's writev, everything a blocking socket takes (all
 * of it), a short count only when the socket takes less (non-blocking);
 * an error after some bytes went is reported by the next call. */
static ssize_t gather_write(struct hfs_sock *s, int fd, const struct iovec *iov, int cnt, int flags)
{
    size_t total = 0;
    for (int i = 0; i < cnt; i++)
        total += iov[i].iov_len;
    size_t cap = total > IOV_CHUNK ? IOV_CHUNK : total;
    char *b = malloc(cap ? cap : 1);
    if (!b) {
        errno = ENOBUFS;
        return -1;
    }
    size_t sent = 0;
    int vi = 0;
    size_t voff = 0; /* position in iov[vi] */
    ssize_t r = 0;
    int e = errno;
    do {
        size_t len = 0;
        for (int i = vi; i < cnt && len < cap; i++) {
            size_t from = i == vi ? voff : 0;
            size_t k = iov[i].iov_len - from < cap - len ? iov[i].iov_len - from : cap - len;
            if (k)
                memcpy(b + len, (const char *)iov[i].iov_base + from, k);
            len += k;
        }
        /* past the first piece, an error is reported as the count so far,
         * with no SIGPIPE (the kernel signals only the call that fails) */
        r = hfs_sock_write(s, fd, b, len, sent ? flags | MSG_NOSIGNAL : flags);
        if (r < 0) {
            e = errno;
            break;
        }
        sent += (size_t)r;
        for (size_t adv = (size_t)r; adv > 0 && vi < cnt;) { /* step over what went */
            size_t k = iov[vi].iov_len - voff < adv ? iov[vi].iov_len - voff : adv;
            voff += k;
            adv -= k;
            if (voff == iov[vi].iov_len) {
                vi++;
                voff = 0;
            }
        }
        if ((size_t)r < len)
            break;
    } while (sent < total);
    free(b);
    errno = e;
    return sent ? (ssize_t)sent : r;
}

/* Reads into one buffer and scatters it over iov. */
static ssize_t scatter_read(struct hfs_sock *s, int fd, const struct iovec *iov, int cnt, int flags)
{
    size_t total;
    char *b = iov_buffer(iov, cnt, &total);
    if (!b)
        return -1;
    ssize_t r = hfs_sock_read(s, fd, b, total, flags);
    int e = errno;
    size_t off = 0;
    for (int i = 0; i < cnt && r > 0 && off < (size_t)r; i++) {
        size_t k = iov[i].iov_len < (size_t)r - off ? iov[i].iov_len : (size_t)r - off;
        memcpy(iov[i].iov_base, b + off, k);
        off += k;
    }
    free(b);
    errno = e;
    return r;
}

HFS_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    struct hfs_sock *s;
    if (mine(fd, &s) && cnt > 0)
        return gather_write(s, fd, iov, cnt, 0);
    return REAL(writev)(fd, iov, cnt);
}

/* sendto/sendmsg with a destination are judged in sockhooks.c; without
 * one, on a watched fd, they are writes. */
ssize_t hfs_sendto_connected(int fd, const void *buf, size_t n, int flags)
{
    struct hfs_sock *s;
    if (mine(fd, &s))
        return hfs_sock_write(s, fd, buf, n, flags);
    return REAL(sendto)(fd, buf, n, flags, NULL, 0);
}

ssize_t hfs_sendmsg_connected(int fd, const struct msghdr *msg, int flags)
{
    struct hfs_sock *s;
    /* with ancillary data too (TCP takes SOL_SOCKET ones and sends the
     * bytes): they are dropped, the bytes are judged */
    if (mine(fd, &s) && msg && msg->msg_iovlen > 0)
        return gather_write(s, fd, msg->msg_iov, (int)msg->msg_iovlen, flags);
    return REAL(sendmsg)(fd, msg, flags);
}

/* A zero-length read() or readv() returns 0 at once on any socket (no
 * wait, nothing consumed): it goes to libc as it is. */
static int iov_empty(const struct iovec *iov, int cnt)
{
    for (int i = 0; i < cnt; i++)
        if (iov[i].iov_len)
            return 0;
    return 1;
}

HFS_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    struct hfs_sock *s;
    if (n && mine(fd, &s))
        return hfs_sock_read(s, fd, buf, n, 0);
    return REAL(read)(fd, buf, n);
}
HFS_EXPORT ssize_t __read(int fd, void *buf, size_t n) __attribute__((alias("read"), copy(read)));

HFS_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    struct hfs_sock *s;
    if (mine(fd, &s))
        return hfs_sock_read(s, fd, buf, n, flags);
    return REAL(recv)(fd, buf, n, flags);
}

HFS_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa, socklen_t *len)
{
    struct hfs_sock *s;
    if (mine(fd, &s)) {
        ssize_t r = hfs_sock_read(s, fd, buf, n, flags);
        if (r >= 0 && sa && len && !hfs_sock_getpeername(s, sa, len)) {
            int e = errno;
            if (getpeername(fd, sa, len) < 0)
                *len = 0;
            errno = e;
        }
        return r;
    }
    return REAL(recvfrom)(fd, buf, n, flags, sa, len);
}

HFS_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    struct hfs_sock *s;
    if (mine(fd, &s) && cnt > 0 && !iov_empty(iov, cnt))
        return scatter_read(s, fd, iov, cnt, 0);
    return REAL(readv)(fd, iov, cnt);
}

HFS_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    struct hfs_sock *s;
    if (mine(fd, &s) && msg && !msg->msg_controllen && msg->msg_iovlen > 0) {
        ssize_t r = scatter_read(s, fd, msg->msg_iov, (int)msg->msg_iovlen, flags);
        if (r >= 0) {
            msg->msg_flags = 0;
            if (msg->msg_name)
                msg->msg_namelen = 0;
        }
        return r;
    }
    return REAL(recvmsg)(fd, msg, flags);
}

/* sendfile to a watched fd: the file's bytes go through the same path as
 * written ones (a body sent this way must be framed, or the next request
 * would pass unjudged as its continuation). Same contract: bytes sent, the
 * offset (or the file position) advanced by that much; ENOMEM when no
 * buffer can be had (the buffer is on the heap: a small thread stack must
 * not overflow here). */
#define SENDFILE_CHUNK 65536
static ssize_t sendfile_watched(struct hfs_sock *s, int out, int in, off_t *offset, size_t count)
{
    size_t want = count < SENDFILE_CHUNK ? count : SENDFILE_CHUNK;
    char *buf = malloc(want ? want : 1);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    ssize_t got = offset ? pread(in, buf, want, *offset) : REAL(read)(in, buf, want);
    if (got <= 0) {
        int e = errno;
        free(buf);
        errno = e;
        return got;
    }
    ssize_t w = hfs_sock_write(s, out, buf, (size_t)got, 0);
    int e = errno;
    free(buf);
    if (offset)
        *offset += w > 0 ? w : 0;
    else if (w < got) /* give back what was read but not sent */
        lseek(in, (off_t)(w > 0 ? w : 0) - got, SEEK_CUR);
    errno = e;
    return w;
}

HFS_EXPORT ssize_t sendfile(int out, int in, off_t *offset, size_t count)
{
    struct hfs_sock *s;
    if (mine(out, &s))
        return sendfile_watched(s, out, in, offset, count);
    return REAL(sendfile)(out, in, offset, count);
}

HFS_EXPORT ssize_t sendfile64(int out, int in, off_t *offset, size_t count)
{
    struct hfs_sock *s;
    if (mine(out, &s))
        return sendfile_watched(s, out, in, offset, count);
    return REAL(sendfile64)(out, in, offset, count);
}

/* -- fd lifecycle ------------------------------------------------------------ */

/* fd's reach deadline (reachwait.h) ends with the socket it was about */
#define RW_ENTRIES() __builtin_expect(atomic_load_explicit(&hfs_rw_entries, memory_order_relaxed) != 0, 0)

HFS_EXPORT int close(int fd)
{
    if (RW_ENTRIES())
        hfs_rw_cancel(fd);
    if (WATCHED(fd))
        hfs_sock_forget(fd);
    return REAL(close)(fd);
}
HFS_EXPORT int __close(int fd) __attribute__((alias("close"), copy(close)));

/* A duplicate of a watched or virtual fd shares its state (what either
 * writes is judged by the same engine); one that cannot be watched (a
 * number above HFS_FD_MAX) is closed and the call fails: never an
 * unjudged way to the same socket. */
static int dup_made(int old, int fd)
{
    if (fd < 0 || fd == old)
        return fd;
    if (RW_ENTRIES() && !hfs_busy)
        hfs_rw_cancel(fd); /* fd's number names another file now */
    if (WATCHED(old)) {
        if (hfs_sock_dup(old, fd) < 0) {
            REAL(close)(fd);
            hfs_log_msg("error",
                        "refused to duplicate watched fd %d: the copy's number %d is too high to watch "
                        "-> EMFILE",
                        old, fd);
            errno = EMFILE;
            return -1;
        }
    } else if (WATCHED(fd)) {
        hfs_sock_forget(fd);
    }
    return fd;
}

HFS_EXPORT int dup(int old) { return dup_made(old, REAL(dup)(old)); }

HFS_EXPORT int dup2(int old, int fd) { return dup_made(old, REAL(dup2)(old, fd)); }

HFS_EXPORT int dup3(int old, int fd, int flags) { return dup_made(old, REAL(dup3)(old, fd, flags)); }

/* fcntl is variadic; glibc reads its third argument as a pointer-sized
 * value whatever the command, and so does this. */
static int fcntl_common(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    int r = real(fd, cmd, arg);
    if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && r >= 0)
        return dup_made(fd, r);
    return r;
}

HFS_EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_common(REAL(fcntl), fd, cmd, arg);
}

HFS_EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_common(REAL(fcntl64), fd, cmd, arg);
}

/* glibc's public aliases of the same functions (docs/escape-hatches.md) */
HFS_EXPORT int __fcntl(int fd, int cmd, ...) __attribute__((alias("fcntl"), copy(fcntl)));
HFS_EXPORT int __libc_fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl64"), copy(fcntl64)));
HFS_EXPORT int __dup2(int old, int fd) __attribute__((alias("dup2"), copy(dup2)));

HFS_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    int r = REAL(close_range)(first, last, flags);
    if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
        for (unsigned fd = first; fd <= last && fd < HFS_FD_MAX; fd++)
            if (WATCHED((int)fd))
                hfs_sock_forget((int)fd);
    return r;
}

/* A new fd number may be one libc closed behind our back: never stale. */
HFS_EXPORT int socket(int domain, int type, int proto)
{
    int fd = REAL(socket)(domain, type, proto);
    if (fd >= 0 && RW_ENTRIES())
        hfs_rw_cancel(fd);
    if (fd >= 0 && WATCHED(fd))
        hfs_sock_forget(fd);
    return fd;
}

HFS_EXPORT int accept(int lfd, struct sockaddr *sa, socklen_t *len)
{
    int fd = REAL(accept)(lfd, sa, len);
    if (fd >= 0 && WATCHED(fd))
        hfs_sock_forget(fd);
    return fd;
}

HFS_EXPORT int accept4(int lfd, struct sockaddr *sa, socklen_t *len, int flags)
{
    int fd = REAL(accept4)(lfd, sa, len, flags);
    if (fd >= 0 && WATCHED(fd))
        hfs_sock_forget(fd);
    return fd;
}

/* -- what a virtual fd says about itself -------------------------------------- */

HFS_EXPORT int setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
    struct hfs_sock *s;
    int rc;
    if ((s = hfs_sock_of(fd)) && hfs_sock_setsockopt(s, fd, level, opt, &rc))
        return rc;
    return REAL(setsockopt)(fd, level, opt, val, len);
}

HFS_EXPORT int getsockopt(int fd, int level, int opt, void *val, socklen_t *len)
{
    struct hfs_sock *s;
    int rc;
    if (RW_ENTRIES() && level == SOL_SOCKET && opt == SO_ERROR && val && len && *len >= sizeof(int) && !hfs_busy &&
        hfs_rw_so_error(fd, (int *)val)) {
        *len = sizeof(int); /* a Hub connect's outcome, seen by its deadline (reachwait.h) */
        return 0;
    }
    if (WATCHED(fd) && level == SOL_SOCKET && opt == SO_ERROR && val && len && *len >= sizeof(int) && !hfs_busy &&
        hfs_sock_so_error(fd, (int *)val)) {
        *len = sizeof(int);
        return 0;
    }
    if ((s = hfs_sock_of(fd)) && hfs_sock_getsockopt(s, level, opt, val, len, &rc))
        return rc;
    return REAL(getsockopt)(fd, level, opt, val, len);
}

HFS_EXPORT int getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
    struct hfs_sock *s;
    if ((s = hfs_sock_of(fd)) && hfs_sock_getpeername(s, sa, len))
        return 0;
    return REAL(getpeername)(fd, sa, len);
}

HFS_EXPORT int getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
    struct hfs_sock *s;
    if ((s = hfs_sock_of(fd)) && hfs_sock_getsockname(s, sa, len))
        return 0;
    return REAL(getsockname)(fd, sa, len);
}

HFS_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    int r = REAL(epoll_ctl)(epfd, op, fd, ev);
    if (r == 0 && WATCHED(fd))
        hfs_sock_epoll(fd, epfd, op, ev);
    return r;
}
