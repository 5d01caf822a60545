/* real: the one table of hooked libc functions (fakeroot's wrapfunc idea:
 * declare each hook once). REAL(name) is the next definition of name in
 * the lookup order, resolved with dlsym(RTLD_NEXT) on first use and cached.
 * getenv/secure_getenv are not here: they never call the real function. */
#ifndef HFS_REAL_H
#define HFS_REAL_H

#include <netdb.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#define HFS_HOOKS(X)                                                                                                   \
    X(connect)                                                                                                         \
    X(sendto)                                                                                                          \
    X(sendmsg)                                                                                                         \
    X(sendmmsg)                                                                                                        \
    X(getaddrinfo)                                                                                                     \
    X(gethostbyname)                                                                                                   \
    X(gethostbyname2)                                                                                                  \
    X(gethostbyname_r)                                                                                                 \
    X(gethostbyname2_r)                                                                                                \
    X(execve)                                                                                                          \
    X(execvpe)                                                                                                         \
    X(fexecve)                                                                                                         \
    X(execveat)                                                                                                        \
    X(posix_spawn)                                                                                                     \
    X(posix_spawnp)

enum hfs_real_index {
#define X(n) HFS_REAL_##n,
    HFS_HOOKS(X)
#undef X
        HFS_REAL_COUNT
};

void *hfs_real(enum hfs_real_index i);

#define REAL(n) ((__typeof__(n) *)hfs_real(HFS_REAL_##n))

/* Marks a hook for export; everything else in the library is hidden. */
#define HFS_EXPORT __attribute__((visibility("default")))

#endif
