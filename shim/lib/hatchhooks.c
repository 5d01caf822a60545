/* hatchhooks: the less common libc calls that can put bytes on a socket
 * without write/send (docs/escape-hatches.md lists every entry point and
 * what hfshim does with it). On a watched or virtual fd:
 *  - splice from a pipe goes through the HTTP engine: the pipe's bytes are
 *    peeked with tee into a scratch pipe, written through the engine, and
 *    only what the engine took is consumed from the pipe (vmsplice only
 *    fills pipes: its bytes reach a socket through this splice);
 *  - pwritev2/pwritev64v2 with offset -1 (a writev on a socket) go
 *    through the writev hook;
 *  - aio_write/lio_listio are refused with EINVAL and a log line: glibc's
 *    aio thread writes with its internal write, which no hook sees;
 *  - fdopen gives a stdio stream whose reads and writes go through the
 *    read/write hooks (fopencookie; fileno() still says fd): glibc's
 *    stdio writes with its internal write, which no hook sees;
 *  - __write_nocancel (GLIBC_PRIVATE, reachable with dlsym) is a write;
 *  - syscall(SYS_connect, ...) and the other numbers that connect, send,
 *    duplicate or close go to the hooks of the same names (libuv closes
 *    with syscall(SYS_close)); io_uring_setup is refused (ENOSYS, a log
 *    line) offline and under a locked policy, where its network
 *    operations would go unjudged; every other number goes to libc.
 * Every other fd costs one table load and goes to libc. */

#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../core/log.h"
#include "real.h"
#include "sockconn.h"
#include "state.h"

static int mine(int fd, struct hfs_sock **s)
{
    *s = hfs_sock_of(fd);
    return __builtin_expect(*s != NULL, 0) && !hfs_busy && hfs_sock_current(fd, *s);
}

/* Takes n bytes out of the pipe (they were sent). */
static void consume(int pipe_fd, size_t n)
{
    char sink[4096];
    while (n > 0) {
        ssize_t k = REAL(read)(pipe_fd, sink, n < sizeof sink ? n : sizeof sink);
        if (k <= 0 && !(k < 0 && errno == EINTR))
            break;
        if (k > 0)
            n -= (size_t)k;
    }
}

/* The pipe's bytes through the engine; the buffer is on the heap (a small
 * thread stack must not overflow here): ENOMEM when there is none. */
#define SPLICE_CHUNK 65536
static ssize_t splice_watched(struct hfs_sock *s, int in, int out, size_t len, unsigned int flags)
{
    size_t want = len < SPLICE_CHUNK ? len : SPLICE_CHUNK;
    char *buf = malloc(want);
    int p[2], e;
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
        e = errno;
        free(buf);
        errno = e;
        return -1;
    }
    /* tee waits for data unless SPLICE_F_NONBLOCK or the pipe is non-blocking, as splice does */
    ssize_t got = tee(in, p[1], want, flags & SPLICE_F_NONBLOCK);
    if (got > 0)
        got = REAL(read)(p[0], buf, (size_t)got);
    e = errno;
    REAL(close)(p[0]);
    REAL(close)(p[1]);
    if (got <= 0) {
        free(buf);
        errno = e;
        return got;
    }
    ssize_t w = hfs_sock_write(s, out, buf, (size_t)got, (flags & SPLICE_F_NONBLOCK) ? MSG_DONTWAIT : 0);
    e = errno;
    free(buf);
    if (w > 0)
        consume(in, (size_t)w);
    errno = e;
    return w;
}

HFS_EXPORT ssize_t splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t len, unsigned int flags)
{
    struct hfs_sock *s;
    if (!REAL(splice)) {
        errno = ENOSYS;
        return -1;
    }
    if (mine(out, &s) && !off_in && !off_out && len > 0)
        return splice_watched(s, in, out, len, flags);
    return REAL(splice)(in, off_in, out, off_out, len, flags);
}

HFS_EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t offset, int flags)
{
    struct hfs_sock *s;
    if (!REAL(pwritev2)) {
        errno = ENOSYS;
        return -1;
    }
    if (offset == -1 && mine(fd, &s))
        return writev(fd, iov, cnt);
    return REAL(pwritev2)(fd, iov, cnt, offset, flags);
}

HFS_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t offset, int flags)
{
    struct hfs_sock *s;
    if (!REAL(pwritev64v2)) {
        errno = ENOSYS;
        return -1;
    }
    if (offset == -1 && mine(fd, &s))
        return writev(fd, iov, cnt);
    return REAL(pwritev64v2)(fd, iov, cnt, offset, flags);
}

/* 1 (after the log line) when an asynchronous write targets a watched or
 * virtual fd. */
static int aio_refused(int fd, const char *call)
{
    if (!hfs_sock_of(fd) || hfs_busy)
        return 0;
    hfs_log_msg("block",
                "refused %s on fd %d: asynchronous writes to a connection hfshim watches would go out "
                "unjudged -> EINVAL",
                call, fd);
    errno = EINVAL;
    return 1;
}

HFS_EXPORT int aio_write(struct aiocb *cb)
{
    if (aio_refused(cb->aio_fildes, "aio_write"))
        return -1;
    if (!REAL(aio_write)) {
        errno = ENOSYS;
        return -1;
    }
    return REAL(aio_write)(cb);
}

HFS_EXPORT int aio_write64(struct aiocb64 *cb)
{
    if (aio_refused(cb->aio_fildes, "aio_write64"))
        return -1;
    if (!REAL(aio_write64)) {
        errno = ENOSYS;
        return -1;
    }
    return REAL(aio_write64)(cb);
}

HFS_EXPORT int lio_listio(int mode, struct aiocb *const list[], int n, struct sigevent *sev)
{
    for (int i = 0; i < n; i++)
        if (list[i] && list[i]->aio_lio_opcode == LIO_WRITE && aio_refused(list[i]->aio_fildes, "lio_listio"))
            return -1;
    if (!REAL(lio_listio)) {
        errno = ENOSYS;
        return -1;
    }
    return REAL(lio_listio)(mode, list, n, sev);
}

HFS_EXPORT int lio_listio64(int mode, struct aiocb64 *const list[], int n, struct sigevent *sev)
{
    for (int i = 0; i < n; i++)
        if (list[i] && list[i]->aio_lio_opcode == LIO_WRITE && aio_refused(list[i]->aio_fildes, "lio_listio64"))
            return -1;
    if (!REAL(lio_listio64)) {
        errno = ENOSYS;
        return -1;
    }
    return REAL(lio_listio64)(mode, list, n, sev);
}

/* -- stdio over a watched or virtual socket -------------------------------- */

static ssize_t stream_read(void *c, char *buf, size_t n)
{
    ssize_t k;
    do
        k = read((int)(intptr_t)c, buf, n);
    while (k < 0 && errno == EINTR);
    return k;
}

/* stdio counts a short write as an error: write all of it, as stdio's own
 * file writer does. */
static ssize_t stream_write(void *c, const char *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t k = write((int)(intptr_t)c, buf + off, n - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return off ? (ssize_t)off : -1;
        off += (size_t)k;
    }
    return (ssize_t)off;
}

static int stream_close(void *c) { return close((int)(intptr_t)c); }

HFS_EXPORT FILE *fdopen(int fd, const char *mode)
{
    struct hfs_sock *s;
    if (!REAL(fdopen)) {
        errno = ENOSYS;
        return NULL;
    }
    if (!mode || !mine(fd, &s))
        return REAL(fdopen)(fd, mode);
    cookie_io_functions_t io = { stream_read, stream_write, NULL, stream_close };
    FILE *f = fopencookie((void *)(intptr_t)fd, mode, io);
    if (!f)
        return NULL;
    if (strchr(mode, 'e'))
        fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
    f->_fileno = fd; /* fileno() answers as for fdopen; the cookie functions do the I/O */
    return f;
}

ssize_t __write_nocancel(int fd, const void *buf, size_t n);
HFS_EXPORT ssize_t __write_nocancel(int fd, const void *buf, size_t n)
{
    struct hfs_sock *s;
    if (mine(fd, &s))
        return hfs_sock_write(s, fd, buf, n, 0);
    if (!REAL(__write_nocancel)) {
        errno = ENOSYS;
        return -1;
    }
    return REAL(__write_nocancel)(fd, buf, n);
}

/* -- syscall(): the numbers that reach the network ------------------------- */

HFS_EXPORT long syscall(long n, ...)
{
    va_list ap;
    long a[6];
    va_start(ap, n);
    for (int i = 0; i < 6; i++) /* as glibc's syscall: six register-sized arguments */
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (!REAL(syscall)) {
        errno = ENOSYS;
        return -1;
    }
    if (hfs_busy) /* a call made inside the shim's own work */
        return REAL(syscall)(n, a[0], a[1], a[2], a[3], a[4], a[5]);
    /* a destination is always judged; an fd's bytes only when it is
     * watched or virtual (other fds keep the raw call: no cancellation
     * point where the caller avoided one) */
    int w0 = hfs_sock_of((int)a[0]) != NULL;
    switch (n) {
    case SYS_connect: return connect((int)a[0], (const struct sockaddr *)a[1], (socklen_t)a[2]);
    case SYS_sendto:
        return sendto((int)a[0], (const void *)a[1], (size_t)a[2], (int)a[3], (const struct sockaddr *)a[4],
                      (socklen_t)a[5]);
    case SYS_sendmsg: return sendmsg((int)a[0], (const struct msghdr *)a[1], (int)a[2]);
    case SYS_sendmmsg: return sendmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned int)a[2], (int)a[3]);
    case SYS_write: return w0 ? write((int)a[0], (const void *)a[1], (size_t)a[2]) : REAL(syscall)(n, a[0], a[1], a[2]);
    case SYS_writev:
        return w0 ? writev((int)a[0], (const struct iovec *)a[1], (int)a[2]) : REAL(syscall)(n, a[0], a[1], a[2]);
    case SYS_pwritev2:
        if (w0)
            return pwritev2((int)a[0], (const struct iovec *)a[1], (int)a[2], (off_t)a[3], (int)a[5]);
        break;
    case SYS_sendfile:
        if (hfs_sock_of((int)a[0]))
            return sendfile((int)a[0], (int)a[1], (off_t *)a[2], (size_t)a[3]);
        break;
    case SYS_splice:
        if (hfs_sock_of((int)a[2]))
            return splice((int)a[0], (loff_t *)a[1], (int)a[2], (loff_t *)a[3], (size_t)a[4], (unsigned int)a[5]);
        break;
    case SYS_dup:
        if (w0)
            return dup((int)a[0]);
        break;
#ifdef SYS_dup2
    case SYS_dup2:
        if (w0 || hfs_sock_of((int)a[1]))
            return dup2((int)a[0], (int)a[1]);
        break;
#endif
    case SYS_dup3:
        if (w0 || hfs_sock_of((int)a[1]))
            return dup3((int)a[0], (int)a[1], (int)a[2]);
        break;
    case SYS_fcntl:
        if (w0 && (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC))
            return fcntl((int)a[0], (int)a[1], (void *)a[2]);
        break;
    case SYS_close:
        if (w0)
            hfs_sock_forget((int)a[0]);
        break;
    case SYS_io_uring_setup:
        if (hfs_started() && (hfs_g.locked || hfs_g.top->offline)) {
            hfs_log_msg("block", "refused io_uring_setup: its network operations would go unjudged %s -> ENOSYS",
                        hfs_g.locked ? "under the locked policy" : "offline");
            errno = ENOSYS;
            return -1;
        }
        break;
    default: break;
    }
    return REAL(syscall)(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
