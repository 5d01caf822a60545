/* exechooks: keep children under the shim. Every exec-family call and
 * posix_spawn gets an environment whose LD_PRELOAD holds this library and
 * that carries the HFSHIM_* settings, even when the program execs with a
 * cleaned environment (or, with "children": false, one without them).
 * These run in vfork children: no locks, no malloc. The arrays live on
 * the stack up to a fixed size (no VLA: the frame stays bounded on a
 * small thread stack) and in pages from mmap beyond it, unmapped when the
 * call returns; in a vfork child whose exec succeeds those pages stay
 * mapped in the parent (only for more than ENV_ON_STACK variables or
 * ARGS_ON_STACK execl arguments). No memory for them: the call fails
 * with ENOMEM. If the new environment cannot be built the call goes on
 * unchanged. */
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../core/childenv.h"
#include "real.h"
#include "state.h"

extern char **environ;

#define PRELOAD_BUF 8192
#define ENV_ON_STACK 512 /* environment entries (with the carried ones) held on the stack */
#define ARGS_ON_STACK 256

/* Room for n pointers: fixed (nfixed of them) when they fit, else mmap'ed
 * pages (*mapped: their length, 0 for fixed). NULL with errno ENOMEM. */
static char **room(char **fixed, size_t nfixed, size_t n, size_t *mapped)
{
    *mapped = 0;
    if (n <= nfixed)
        return fixed;
    if (n > ((size_t)-1 >> 4)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = mmap(NULL, n * sizeof(char *), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    *mapped = n * sizeof(char *);
    return p;
}

static void unroom(char **p, size_t mapped)
{
    int e = errno;
    if (mapped)
        munmap(p, mapped);
    errno = e;
}

/* The environment a child gets. */
struct child_env {
    char *fixed[ENV_ON_STACK];
    char buf[PRELOAD_BUF];
    char **out;
    size_t mapped;
};

/* The environment to exec with: envp with this library and the carried
 * settings put in, or envp itself when it cannot be built. NULL (errno
 * ENOMEM) when there is no memory for the array. child_env_done after. */
static char *const *child_env(struct child_env *c, char *const *envp)
{
    size_t cap = hfs_env_count(envp) + HFS_MAX_CARRY + 2;
    c->mapped = 0;
    c->out = NULL;
    if (!hfs_started()) /* never loads the rules: this may be a vfork child */
        return envp;
    if (!(c->out = room(c->fixed, ENV_ON_STACK, cap, &c->mapped)))
        return NULL;
    if (hfs_childenv_build(envp, hfs_g.childlib, hfs_g.carry, hfs_g.top->children, c->out, cap, c->buf,
                           sizeof c->buf) == 0)
        return c->out;
    return envp;
}

static void child_env_done(struct child_env *c) { unroom(c->out, c->mapped); }

HFS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    struct child_env c;
    if (!REAL(execve)) {
        errno = ENOSYS;
        return -1;
    }
    char *const *env = child_env(&c, envp);
    if (!env)
        return -1;
    int rc = REAL(execve)(path, argv, env);
    child_env_done(&c);
    return rc;
}

HFS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    struct child_env c;
    if (!REAL(execvpe)) {
        errno = ENOSYS;
        return -1;
    }
    char *const *env = child_env(&c, envp);
    if (!env)
        return -1;
    int rc = REAL(execvpe)(file, argv, env);
    child_env_done(&c);
    return rc;
}

HFS_EXPORT int execv(const char *path, char *const argv[]) { return execve(path, argv, environ); }

HFS_EXPORT int execvp(const char *file, char *const argv[]) { return execvpe(file, argv, environ); }

HFS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    struct child_env c;
    if (!REAL(fexecve)) {
        errno = ENOSYS;
        return -1;
    }
    char *const *env = child_env(&c, envp);
    if (!env)
        return -1;
    int rc = REAL(fexecve)(fd, argv, env);
    child_env_done(&c);
    return rc;
}

HFS_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    struct child_env c;
    if (!REAL(execveat)) {
        errno = ENOSYS;
        return -1;
    }
    char *const *env = child_env(&c, envp);
    if (!env)
        return -1;
    int rc = REAL(execveat)(dirfd, path, argv, env, flags);
    child_env_done(&c);
    return rc;
}

HFS_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    struct child_env c;
    if (!REAL(posix_spawn))
        return ENOSYS;
    char *const *env = child_env(&c, envp);
    if (!env)
        return ENOMEM;
    int rc = REAL(posix_spawn)(pid, path, fa, attr, argv, env);
    child_env_done(&c);
    return rc;
}

HFS_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                            const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    struct child_env c;
    if (!REAL(posix_spawnp))
        return ENOSYS;
    char *const *env = child_env(&c, envp);
    if (!env)
        return ENOMEM;
    int rc = REAL(posix_spawnp)(pid, file, fa, attr, argv, env);
    child_env_done(&c);
    return rc;
}

/* The execl family: the variadic arguments (through the NULL that ends
 * them) collected into an argv, then through the hooks above. NULL with
 * errno ENOMEM; unroom(argv, *mapped) after. */
static char **collect_args(const char *arg0, va_list *ap, char **fixed, size_t *mapped)
{
    va_list count;
    size_t argc = 1;
    va_copy(count, *ap);
    while (va_arg(count, char *))
        argc++;
    va_end(count);
    char **argv = room(fixed, ARGS_ON_STACK, argc + 1, mapped);
    if (!argv)
        return NULL;
    argv[0] = (char *)arg0;
    for (size_t i = 1; i <= argc; i++)
        argv[i] = va_arg(*ap, char *);
    return argv;
}

HFS_EXPORT int execl(const char *path, const char *arg, ...)
{
    char *fixed[ARGS_ON_STACK];
    size_t mapped;
    va_list ap;
    va_start(ap, arg);
    char **argv = collect_args(arg, &ap, fixed, &mapped);
    va_end(ap);
    if (!argv)
        return -1;
    int rc = execve(path, argv, environ);
    unroom(argv, mapped);
    return rc;
}

HFS_EXPORT int execlp(const char *file, const char *arg, ...)
{
    char *fixed[ARGS_ON_STACK];
    size_t mapped;
    va_list ap;
    va_start(ap, arg);
    char **argv = collect_args(arg, &ap, fixed, &mapped);
    va_end(ap);
    if (!argv)
        return -1;
    int rc = execvpe(file, argv, environ);
    unroom(argv, mapped);
    return rc;
}

HFS_EXPORT int execle(const char *path, const char *arg, ...)
{
    char *fixed[ARGS_ON_STACK];
    size_t mapped;
    va_list ap;
    va_start(ap, arg);
    char **argv = collect_args(arg, &ap, fixed, &mapped);
    char *const *envp = argv ? va_arg(ap, char *const *) : NULL;
    va_end(ap);
    if (!argv)
        return -1;
    int rc = execve(path, argv, envp);
    unroom(argv, mapped);
    return rc;
}
