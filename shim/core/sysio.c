/* sysio: system calls for hfshim's own I/O, never through its hooks (see
 * header). */
#include "sysio.h"
#include "startup.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* raw(n, a, b, c, d): the system call's result, -errno on failure (the
 * kernel's convention), errno untouched. */
#if defined(__x86_64__)
static inline long raw(long n, long a, long b, long c, long d)
{
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
static inline long raw(long n, long a, long b, long c, long d)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory", "cc");
    return x0;
}
#else
/* libc's syscall(): inside the host that is hfshim's hook, which passes
 * these numbers on a file's fd to libc unchanged. */
static inline long raw(long n, long a, long b, long c, long d)
{
    int saved = errno;
    long r = syscall(n, a, b, c, d);
    if (r == -1) {
        r = -errno;
        errno = saved;
    }
    return r;
}
#endif

/* the result, or -1 with errno; retried while the call was interrupted */
static long call(long n, long a, long b, long c, long d, int retry)
{
    long r;
    do
        r = raw(n, a, b, c, d);
    while (retry && r == -EINTR);
    if (r < 0 && r > -4096) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

HFS_STARTUP int hfs_sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    return (int)call(SYS_openat, dirfd, (long)path, flags, (long)mode, 1);
}

long hfs_sys_read(int fd, void *buf, size_t n) { return call(SYS_read, fd, (long)buf, (long)n, 0, 1); }

long hfs_sys_pread(int fd, void *buf, size_t n, unsigned long long off)
{
    return call(SYS_pread64, fd, (long)buf, (long)n, (long)off, 1);
}

long hfs_sys_write(int fd, const void *buf, size_t n) { return call(SYS_write, fd, (long)buf, (long)n, 0, 1); }

long hfs_sys_pwrite(int fd, const void *buf, size_t n, unsigned long long off)
{
    return call(SYS_pwrite64, fd, (long)buf, (long)n, (long)off, 1);
}

HFS_STARTUP int hfs_sys_close(int fd) { return fd < 0 ? 0 : (int)call(SYS_close, fd, 0, 0, 0, 0); }

long hfs_sys_getpid(void) { return call(SYS_getpid, 0, 0, 0, 0, 0); }
