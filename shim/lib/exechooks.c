/* exechooks: keep children under the shim. Every exec-family call and
 * posix_spawn gets an environment whose LD_PRELOAD holds this library and
 * that carries the HFSHIM_* settings, even when the program execs with a
 * cleaned environment (or, with "children": false, one without them).
 * These run in vfork children: stack memory only, no locks, no malloc.
 * If the new environment cannot be built the call goes on unchanged. */
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "../core/childenv.h"
#include "real.h"
#include "state.h"

extern char **environ;

#define PRELOAD_BUF 8192

/* Declares and fills `fixed` (the environment to use) from envp. */
#define WITH_CHILD_ENV(envp)                                                                                           \
    char *const *src_env_ = (envp);                                                                                    \
    size_t cap_ = hfs_env_count(src_env_) + HFS_MAX_CARRY + 2;                                                         \
    char *out_[cap_];                                                                                                  \
    char buf_[PRELOAD_BUF];                                                                                            \
    char *const *fixed = src_env_;                                                                                     \
    if (hfs_ready() &&                                                                                                 \
        hfs_childenv_build(src_env_, hfs_g.childlib, hfs_g.carry, hfs_g.rules->children, out_, cap_, buf_,              \
                           sizeof buf_) == 0)                                                                          \
        fixed = out_;

HFS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    if (!REAL(execve)) {
        errno = ENOSYS;
        return -1;
    }
    WITH_CHILD_ENV(envp);
    return REAL(execve)(path, argv, fixed);
}

HFS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    if (!REAL(execvpe)) {
        errno = ENOSYS;
        return -1;
    }
    WITH_CHILD_ENV(envp);
    return REAL(execvpe)(file, argv, fixed);
}

HFS_EXPORT int execv(const char *path, char *const argv[])
{
    return execve(path, argv, environ);
}

HFS_EXPORT int execvp(const char *file, char *const argv[])
{
    return execvpe(file, argv, environ);
}

HFS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    if (!REAL(fexecve)) {
        errno = ENOSYS;
        return -1;
    }
    WITH_CHILD_ENV(envp);
    return REAL(fexecve)(fd, argv, fixed);
}

HFS_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    if (!REAL(execveat)) {
        errno = ENOSYS;
        return -1;
    }
    WITH_CHILD_ENV(envp);
    return REAL(execveat)(dirfd, path, argv, fixed, flags);
}

HFS_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    if (!REAL(posix_spawn))
        return ENOSYS;
    WITH_CHILD_ENV(envp);
    return REAL(posix_spawn)(pid, path, fa, attr, argv, fixed);
}

HFS_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                            const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    if (!REAL(posix_spawnp))
        return ENOSYS;
    WITH_CHILD_ENV(envp);
    return REAL(posix_spawnp)(pid, file, fa, attr, argv, fixed);
}

/* The execl family: collect the variadic arguments into an argv on the
 * stack, then go through the hooks above. */
#define COLLECT_ARGS(arg0, ap, argv)                                                                                   \
    size_t argc_ = 1;                                                                                                  \
    va_start(ap, arg0);                                                                                                \
    while (va_arg(ap, char *))                                                                                         \
        argc_++;                                                                                                       \
    va_end(ap);                                                                                                        \
    char *argv[argc_ + 1];                                                                                             \
    argv[0] = (char *)arg0;                                                                                            \
    va_start(ap, arg0);                                                                                                \
    for (size_t i_ = 1; i_ <= argc_; i_++)                                                                             \
        argv[i_] = va_arg(ap, char *);

HFS_EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    COLLECT_ARGS(arg, ap, argv);
    va_end(ap);
    return execve(path, argv, environ);
}

HFS_EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    COLLECT_ARGS(arg, ap, argv);
    va_end(ap);
    return execvpe(file, argv, environ);
}

HFS_EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    COLLECT_ARGS(arg, ap, argv);
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, argv, envp);
}
