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
 * __xstat), so it goes to the kernel directly: the fstatat/fstat system
 * calls (inline, not through libc's hooked syscall()), whose struct is
 * glibc's struct stat on x86_64 and aarch64.
 *
 * Neither libdl nor libpthread is named NEEDED: naming one loads it (an
 * empty stub since 2.34) into every program, a measurable part of the
 * per-exec cost (libdl: two more objects' worth of mapping, faults and a
 * slower symbol look-up for the whole process). dlopen, dlsym, dladdr,
 * dlclose and dlerror are weak references to their GLIBC_2.2.5 (aarch64:
 * 2.17) versions, which libc.so.6 has had since 2.34; on an older glibc
 * they are absent, and are taken from libdl.so.2 the first time, loaded
 * the way glibc loads its NSS modules (__libc_dlopen_mode, exported by
 * every glibc from 2.17 to 2.33; a weak, unversioned reference, so
 * nothing is required of a newer one). The few functions used
 * from it (pthread_once, pthread_key_create, pthread_setspecific) are
 * looked up at first use in the process's global scope instead, where
 * glibc >= 2.34 and any threaded program on an older one have them. An
 * old-glibc program without libpthread has one thread: pthread_once is
 * then an atomic flag with the same encoding (2 = done), and a key's
 * thread-exit destructor is not needed.
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
#undef HFS_GLIBC_OLD

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "../core/startup.h"

/* libdl, without naming it (see above): the functions of libc.so.6 when it
 * has them (glibc >= 2.34), else libdl.so.2's (per object file, found on
 * first use; NULL when neither exists). */
extern __typeof__(dlopen) dlopen __attribute__((weak));
extern __typeof__(dlsym) dlsym __attribute__((weak));
extern __typeof__(dladdr) dladdr __attribute__((weak));
extern __typeof__(dlclose) dlclose __attribute__((weak));
extern __typeof__(dlerror) dlerror __attribute__((weak));
extern void *__libc_dlopen_mode(const char *name, int mode) __attribute__((weak));
extern void *__libc_dlsym(void *handle, const char *name) __attribute__((weak));

static inline void *hfs_old_libdl(const char *name)
{
    static void *lib;
    void *h = __atomic_load_n(&lib, __ATOMIC_ACQUIRE);
    if (!h && __libc_dlopen_mode) {
        h = __libc_dlopen_mode("libdl.so.2", RTLD_NOW | 0x80000000 /* glibc's __RTLD_DLOPEN */);
        __atomic_store_n(&lib, h, __ATOMIC_RELEASE);
    }
    return h && __libc_dlsym ? __libc_dlsym(h, name) : NULL;
}

static inline void *hfs_old_dlsym(void *handle, const char *name)
{
    __typeof__(dlsym) *f = dlsym ? dlsym : (__typeof__(dlsym) *)hfs_old_libdl("dlsym");
    return f ? f(handle, name) : NULL;
}

static inline void *hfs_old_dlopen(const char *file, int mode)
{
    __typeof__(dlopen) *f = dlopen ? dlopen : (__typeof__(dlopen) *)hfs_old_libdl("dlopen");
    return f ? f(file, mode) : NULL;
}

static inline int hfs_old_dladdr(const void *addr, Dl_info *info)
{
    __typeof__(dladdr) *f = dladdr ? dladdr : (__typeof__(dladdr) *)hfs_old_libdl("dladdr");
    return f ? f(addr, info) : 0;
}

static inline int hfs_old_dlclose(void *handle)
{
    __typeof__(dlclose) *f = dlclose ? dlclose : (__typeof__(dlclose) *)hfs_old_libdl("dlclose");
    return f ? f(handle) : -1;
}

static inline char *hfs_old_dlerror(void)
{
    __typeof__(dlerror) *f = dlerror ? dlerror : (__typeof__(dlerror) *)hfs_old_libdl("dlerror");
    return f ? f() : (char *)"libdl.so.2 cannot be loaded";
}

#define dlsym(handle, name) hfs_old_dlsym(handle, name)
#define dlopen(file, mode) hfs_old_dlopen(file, mode)
#define dladdr(addr, info) hfs_old_dladdr(addr, info)
#define dlclose(handle) hfs_old_dlclose(handle)
#define dlerror() hfs_old_dlerror()

/* the system call itself, not libc's syscall(), which the library hooks
 * (hatchhooks.c): the shim's own stat calls stay out of its hooks */
static inline long hfs_raw_syscall4(long n, long a, long b, long c, long d)
{
    long ret;
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
#else
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
    ret = x0;
#endif
    if ((unsigned long)ret > -4096UL) {
        errno = (int)-ret;
        return -1;
    }
    return ret;
}

static inline int hfs_old_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
    return (int)hfs_raw_syscall4(SYS_newfstatat, dirfd, (long)path, (long)st, flags);
}

static inline int hfs_old_fstat(int fd, struct stat *st)
{
    return (int)hfs_raw_syscall4(SYS_fstat, fd, (long)st, 0, 0);
}

/* the function name in the global scope, looked up once per object file
 * (static inline: each has its own cache); NULL when nobody has it */
#define HFS_PTHREAD_LOOKUP(name)                                                                                       \
    static inline void *hfs_lookup_##name(void)                                                                        \
    {                                                                                                                  \
        HFS_STARTUP_DATA static void *fn;                                                                              \
        HFS_STARTUP_DATA static int looked;                                                                            \
        if (!__atomic_load_n(&looked, __ATOMIC_ACQUIRE)) {                                                             \
            __atomic_store_n(&fn, dlsym(RTLD_DEFAULT, #name), __ATOMIC_RELAXED);                                       \
            __atomic_store_n(&looked, 1, __ATOMIC_RELEASE);                                                            \
        }                                                                                                              \
        return __atomic_load_n(&fn, __ATOMIC_RELAXED);                                                                 \
    }
HFS_PTHREAD_LOOKUP(pthread_once)
HFS_PTHREAD_LOOKUP(pthread_key_create)
HFS_PTHREAD_LOOKUP(pthread_setspecific)
#undef HFS_PTHREAD_LOOKUP

typedef int (*hfs_once_fn)(pthread_once_t *, void (*)(void));
typedef int (*hfs_key_create_fn)(pthread_key_t *, void (*)(void *));
typedef int (*hfs_setspecific_fn)(pthread_key_t, const void *);

static inline int hfs_old_pthread_once(pthread_once_t *once, void (*init)(void))
{
    hfs_once_fn real = (hfs_once_fn)hfs_lookup_pthread_once();
    if (real)
        return real(once, init);
    int v = 0; /* 0 new, 1 running, 2 done (glibc's encoding, so a libpthread loaded later agrees) */
    if (__atomic_compare_exchange_n(once, &v, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
        init();
        __atomic_store_n(once, 2, __ATOMIC_RELEASE);
        return 0;
    }
    while (__atomic_load_n(once, __ATOMIC_ACQUIRE) != 2)
        sched_yield();
    return 0;
}

static inline int hfs_old_pthread_key_create(pthread_key_t *key, void (*dtor)(void *))
{
    hfs_key_create_fn real = (hfs_key_create_fn)hfs_lookup_pthread_key_create();
    return real ? real(key, dtor) : EAGAIN;
}

static inline int hfs_old_pthread_setspecific(pthread_key_t key, const void *value)
{
    hfs_setspecific_fn real = (hfs_setspecific_fn)hfs_lookup_pthread_setspecific();
    return real ? real(key, value) : EINVAL;
}

#define pthread_once(once, init) hfs_old_pthread_once(once, init)
#define pthread_key_create(key, dtor) hfs_old_pthread_key_create(key, dtor)
#define pthread_setspecific(key, value) hfs_old_pthread_setspecific(key, value)

#define stat(path, st) hfs_old_fstatat(AT_FDCWD, path, st, 0)
#define lstat(path, st) hfs_old_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW)
#define fstatat(dirfd, path, st, flags) hfs_old_fstatat(dirfd, path, st, flags)
#define fstat(fd, st) hfs_old_fstat(fd, st)

#endif
