/* ssllib: the real libssl's functions, looked up once each (see header). */
#include "ssllib.h"

#include "real.h"

/* the OpenSSL functions of hooks.def: a slot each, and the type written
 * there checked against OpenSSL's declaration */
#define HFS_SSL(n, how, r, a)                                                                                          \
    _Atomic(void *) hfs_ssl_real_##n;                                                                                  \
    _Static_assert(__builtin_types_compatible_p(__typeof__(&n), r(*) a), #n "'s type in hooks.def");
#include "hooks.def"

void *hfs_ssl_lookup(_Atomic(void *) *slot, const char *name)
{
    void *p = atomic_load_explicit(slot, memory_order_acquire);
    if (!p) {
        p = hfs_real_lib("libssl", name);
        atomic_store_explicit(slot, p, memory_order_release);
    }
    return p;
}
