/* real: lazy dlsym(RTLD_NEXT) resolution of the functions in HFS_HOOKS. */
#include "real.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>

static const char *const names[HFS_REAL_COUNT] = {
#define X(n) #n,
    HFS_HOOKS(X)
#undef X
};

static _Atomic(void *) cache[HFS_REAL_COUNT];

void *hfs_real(enum hfs_real_index i)
{
    void *p = atomic_load_explicit(&cache[i], memory_order_acquire);
    if (!p) {
        p = dlsym(RTLD_NEXT, names[i]);
        atomic_store_explicit(&cache[i], p, memory_order_release);
    }
    return p;
}
