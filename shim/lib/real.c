/* real: lazy dlsym(RTLD_NEXT) resolution of the REAL functions of hooks.def. */
#include "real.h"

#include "../core/startup.h"

#include <dlfcn.h>
#include <link.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

/* name, and whether it is libcurl's (layer curl): looked for in a libcurl
 * loaded privately too */
#define HFS_REAL_IS_CURL_curl 1
#define HFS_REAL_IS_CURL_conn 0
#define HFS_REAL_IS_CURL_io 0
#define HFS_REAL_IS_CURL_wait 0
#define HFS_REAL_IS_CURL_hatch 0
#define HFS_REAL_IS_CURL_dns 0
#define HFS_REAL_IS_CURL_env 0
#define HFS_REAL_IS_CURL_exec 0
#define HFS_REAL_NAME_REAL(n, layer) { #n, HFS_REAL_IS_CURL_##layer },
#define HFS_REAL_NAME_HOOK(n, layer)
#define HFS_REAL_NAME_ALIAS(n, layer)
static const struct {
    const char *name;
    int curl;
} names[HFS_REAL_COUNT] = {
#define HFS_HOOK(n, layer, how) HFS_REAL_NAME_##how(n, layer)
#include "hooks.def"
};

HFS_STARTUP_DATA _Atomic(void *) hfs_real_cache[HFS_REAL_COUNT];

/* first use (most at start-up: setenv) */
HFS_STARTUP void *hfs_real_find(enum hfs_real_index i)
{
    void *p = names[i].curl ? hfs_real_curl(names[i].name) : dlsym(RTLD_NEXT, names[i].name);
    atomic_store_explicit(&hfs_real_cache[i], p, memory_order_release);
    return p;
}

struct find {
    const char *prefix;
    const char *name;
    void *found;
};

static int find_in_lib(struct dl_phdr_info *info, size_t size, void *data)
{
    struct find *f = data;
    (void)size;
    const char *base = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
    base = base ? base + 1 : info->dlpi_name;
    if (f->found || !base || strncmp(base, f->prefix, strlen(f->prefix)) != 0)
        return 0;
    void *h = dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
    if (h) {
        f->found = dlsym(h, f->name);
        dlclose(h); /* RTLD_NOLOAD took a reference; the library stays loaded */
    }
    return f->found != NULL;
}

void *hfs_real_lib(const char *prefix, const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (!p) {
        struct find f = { prefix, name, NULL };
        dl_iterate_phdr(find_in_lib, &f);
        p = f.found;
    }
    return p;
}

void *hfs_real_curl(const char *name) { return hfs_real_lib("libcurl", name); }
