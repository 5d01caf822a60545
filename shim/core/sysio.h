/* sysio: the one I/O path for hfshim's own work (log lines, the audit
 * trail, rules and token files, the Hub cache, the counters file). The
 * library exports hooks named read, write, close, syscall, … (see
 * shim/lib/hooks.def), so inside the host a plain libc call of such a
 * name, or of syscall(), would run hfshim's own hook; these make the
 * system call directly instead (inline, on x86-64 and AArch64; through
 * libc's syscall() elsewhere, which the syscall hook passes on to libc for
 * files). The library and the unit tests therefore run the same code.
 * Every function returns what the system call does, -1 with errno set on
 * failure, and retries on EINTR. No allocation, no locks: safe in a
 * signal handler and in a vfork child.
 *
 * Calls libc does not let hfshim hook (fstat, stat, lstat, unlink, …)
 * stay plain libc calls (the portable build turns the stat family into
 * system calls, shim/compat/glibc217.h); tests/test_banned_calls.py checks that no shim
 * code calls a hooked name any other way than through here or REAL(). */
#ifndef HFS_SYSIO_H
#define HFS_SYSIO_H
#include <stddef.h>
#include <sys/types.h>

/* openat(dirfd, path, flags, mode) as given: the caller adds O_CLOEXEC,
 * O_NOCTTY, O_NONBLOCK as it needs. The fd, or -1. */
int hfs_sys_openat(int dirfd, const char *path, int flags, mode_t mode);

long hfs_sys_read(int fd, void *buf, size_t n);
long hfs_sys_pread(int fd, void *buf, size_t n, unsigned long long off);
long hfs_sys_write(int fd, const void *buf, size_t n);
long hfs_sys_pwrite(int fd, const void *buf, size_t n, unsigned long long off);

/* close(2), not retried (Linux frees the fd even when it says EINTR);
 * fd < 0 is a no-op returning 0. */
int hfs_sys_close(int fd);

long hfs_sys_getpid(void);

#endif
