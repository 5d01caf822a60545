/* real: the real functions behind hfshim's hooks (fakeroot's wrapfunc
 * idea: declare each hook once, in hooks.def). REAL(name) is the next
 * definition of name in the lookup order, resolved with dlsym(RTLD_NEXT)
 * on first use and cached; only the hooks marked REAL there have one
 * (getenv/secure_getenv never call the real function). */
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

/* One entry for each hook of hooks.def marked REAL, in its order. */
#define HFS_REAL_ENTRY_REAL(n) HFS_REAL_##n,
#define HFS_REAL_ENTRY_HOOK(n)
#define HFS_REAL_ENTRY_ALIAS(n)
enum hfs_real_index {
#define HFS_HOOK(n, layer, how) HFS_REAL_ENTRY_##how(n)
#include "hooks.def"
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
