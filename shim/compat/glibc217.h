/* glibc217: forced into every object of the portable build (the Makefile's
 * PORTABLE=1, `-include shim/compat/glibc217.h`) so libhfshim.so and the
 * hfshim launcher, built here against a new glibc, load into any process
 * whose glibc is 2.17 or newer (docs/portable-build.md).
 *
 * The linker binds each imported glibc symbol to its newest ("default")
 * version. Where glibc gave a function a new version after 2.17 (libdl and
 * libpthread merged into libc in 2.34, the stat family made real functions
 * in 2.33), a `.symver` directive binds our references to the old version
 * instead, which every glibc since then still provides. The stat family
 * had no such entry point before 2.33 (stat was an inline wrapper around
 * __xstat), so it goes to the kernel directly: fstatat/fstat system calls,
 * whose struct is glibc's struct stat on x86_64 and aarch64.
 *
 * Only what the code uses is listed; `make check-exports` (the portable
 * check) fails on any import newer than GLIBC_2.17, so a new one shows up
 * at once. Not used in the sanitizer builds (they run here only). */
#ifndef HFS_GLIBC217_H
#define HFS_GLIBC217_H

#if defined(__x86_64__)
#define HFS_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define HFS_GLIBC_BASE "GLIBC_2.17"
#else
#error "the portable build knows x86_64 and aarch64; build with PORTABLE=0 for this machine's glibc only"
#endif

#define HFS_GLIBC_OLD(sym) __asm__(".symver " #sym "," #sym "@" HFS_GLIBC_BASE)
/* libdl (GLIBC_2.34 in libc since) */
HFS_GLIBC_OLD(dlopen);
HFS_GLIBC_OLD(dlsym);
HFS_GLIBC_OLD(dladdr);
HFS_GLIBC_OLD(dlclose);
HFS_GLIBC_OLD(dlerror);
/* libpthread (GLIBC_2.34 in libc since) */
HFS_GLIBC_OLD(pthread_once);
HFS_GLIBC_OLD(pthread_key_create);
HFS_GLIBC_OLD(pthread_getspecific);
HFS_GLIBC_OLD(pthread_setspecific);
#undef HFS_GLIBC_OLD

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int hfs_old_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
    return (int)syscall(SYS_newfstatat, dirfd, path, st, flags);
}

static inline int hfs_old_fstat(int fd, struct stat *st)
{
    return (int)syscall(SYS_fstat, fd, st);
}

#define stat(path, st) hfs_old_fstatat(AT_FDCWD, path, st, 0)
#define lstat(path, st) hfs_old_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW)
#define fstatat(dirfd, path, st, flags) hfs_old_fstatat(dirfd, path, st, flags)
#define fstat(fd, st) hfs_old_fstat(fd, st)

#endif
