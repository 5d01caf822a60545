/* real: the one table of hooked libc functions (fakeroot's wrapfunc idea:
 * declare each hook once). REAL(name) is the next definition of name in
 * the lookup order, resolved with dlsym(RTLD_NEXT) on first use and cached.
 * getenv/secure_getenv are not here: they never call the real function. */
#ifndef HFS_REAL_H
#define HFS_REAL_H

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/select.h>
#include <stdlib.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#define HFS_HOOKS(X)                                                                                                   \
    X(connect)                                                                                                         \
    X(sendto)                                                                                                          \
    X(sendmsg)                                                                                                         \
    X(sendmmsg)                                                                                                        \
    X(write)                                                                                                           \
    X(send)                                                                                                            \
    X(writev)                                                                                                          \
    X(read)                                                                                                            \
    X(recv)                                                                                                            \
    X(recvfrom)                                                                                                        \
    X(readv)                                                                                                           \
    X(recvmsg)                                                                                                         \
    X(close)                                                                                                           \
    X(shutdown)                                                                                                        \
    X(dup)                                                                                                             \
    X(dup2)                                                                                                            \
    X(dup3)                                                                                                            \
    X(close_range)                                                                                                     \
    X(fcntl)                                                                                                           \
    X(fcntl64)                                                                                                         \
    X(socket)                                                                                                          \
    X(accept)                                                                                                          \
    X(accept4)                                                                                                         \
    X(setsockopt)                                                                                                      \
    X(getsockopt)                                                                                                      \
    X(getpeername)                                                                                                     \
    X(getsockname)                                                                                                     \
    X(epoll_ctl)                                                                                                       \
    X(poll)                                                                                                            \
    X(ppoll)                                                                                                           \
    X(select)                                                                                                          \
    X(pselect)                                                                                                         \
    X(epoll_wait)                                                                                                      \
    X(epoll_pwait)                                                                                                     \
    X(epoll_pwait2)                                                                                                    \
    X(sendfile)                                                                                                        \
    X(sendfile64)                                                                                                      \
    X(splice)                                                                                                          \
    X(pwritev2)                                                                                                        \
    X(pwritev64v2)                                                                                                     \
    X(aio_write)                                                                                                       \
    X(aio_write64)                                                                                                     \
    X(lio_listio)                                                                                                      \
    X(lio_listio64)                                                                                                    \
    X(fdopen)                                                                                                          \
    X(__write_nocancel)                                                                                                \
    X(syscall)                                                                                                         \
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
    X(posix_spawnp)                                                                                                    \
    X(setenv)                                                                                                          \
    X(unsetenv)                                                                                                        \
    X(putenv)                                                                                                          \
    X(clearenv)                                                                                                        \
    X(curl_easy_init)                                                                                                  \
    X(curl_easy_setopt)                                                                                                \
    X(curl_easy_perform)                                                                                               \
    X(curl_easy_reset)                                                                                                 \
    X(curl_easy_duphandle)                                                                                             \
    X(curl_easy_cleanup)                                                                                               \
    X(curl_easy_getinfo)                                                                                               \
    X(curl_multi_add_handle)                                                                                           \
    X(curl_multi_remove_handle)                                                                                        \
    X(curl_multi_perform)                                                                                              \
    X(curl_multi_socket_action)                                                                                        \
    X(curl_multi_info_read)                                                                                            \
    X(curl_multi_poll)                                                                                                 \
    X(curl_multi_wait)                                                                                                 \
    X(curl_multi_setopt)                                                                                               \
    X(curl_multi_cleanup)

enum hfs_real_index {
#define X(n) HFS_REAL_##n,
    HFS_HOOKS(X)
#undef X
        HFS_REAL_COUNT
};

/* The cache (filled on first use) and its slow path; hfs_real is inline:
 * every hooked call that passes through reads it. */
extern _Atomic(void *) hfs_real_cache[HFS_REAL_COUNT];
void *hfs_real_find(enum hfs_real_index i);

static inline void *hfs_real(enum hfs_real_index i)
{
    void *p = atomic_load_explicit(&hfs_real_cache[i], memory_order_acquire);
    return __builtin_expect(p != NULL, 1) ? p : hfs_real_find(i);
}

/* A libcurl function by name: the next definition after ours, or, when
 * libcurl was loaded privately (RTLD_LOCAL, e.g. by a Python extension,
 * so RTLD_NEXT cannot see it), the one in the loaded libcurl. */
void *hfs_real_curl(const char *name);

/* The same for any library whose file name starts with prefix ("libssl"):
 * the next definition after ours, else the one in the first such library
 * loaded privately. NULL when none is loaded. */
void *hfs_real_lib(const char *prefix, const char *name);

#define REAL(n) ((__typeof__(n) *)hfs_real(HFS_REAL_##n))

/* Marks a hook for export; everything else in the library is hidden. */
#define HFS_EXPORT __attribute__((visibility("default")))

#endif
