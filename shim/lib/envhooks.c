/* envhooks: getenv/secure_getenv hooks and the constructor's environ
 * edits. getenv runs before anything is initialised (allocators call it
 * while dlsym is still resolving), so it never calls dlsym or malloc: it
 * checks the published enforced table, then scans environ itself. */
#include "envhooks.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "real.h"
#include "state.h"

extern char **environ;

/* getenv runs inside other libraries' constructors, which can come before
 * a sanitizer runtime has set itself up (it is preloaded, but initialised
 * after the program's own libraries): these functions are never
 * instrumented, or the instrumentation itself would crash there. */
#define NO_SAN __attribute__((no_sanitize_address, no_sanitize("undefined")))

static atomic_size_t enforced_count; /* published after hfs_g.env is filled */
static _Atomic uint64_t enforced_lengths;    /* bit (len & 63) set for each enforced name */

/* The scan is glibc's own: a two-byte check before strncmp (names sharing
 * a first letter are common: PATH, PWD, PYTHON…). Inlined into getenv so
 * the hot path has no call and no spills. */
static inline NO_SAN __attribute__((always_inline)) const char *lookup_n(const char *name, size_t len)
{
    char **e = environ;
    if (__builtin_expect(!e || len == 0, 0))
        return NULL;
    if (len == 1) {
        for (; *e; e++)
            if ((*e)[0] == name[0] && (*e)[1] == '=')
                return *e + 2;
        return NULL;
    }
#ifdef HFS_SANITIZE
    /* (*e)[1] read only when (*e)[0] matched: in bounds even for "" */
    const char n0 = name[0], n1 = name[1];
    for (; *e; e++)
        if ((*e)[0] == n0 && (*e)[1] == n1 && strncmp(*e + 2, name + 2, len - 2) == 0 && (*e)[len] == '=')
            return *e + len + 1;
#else
    /* exactly glibc's loop: both first bytes in one compare (an entry is
     * "NAME=value", so two bytes are there; glibc reads them the same way) */
    const uint16_t start = (uint16_t)((unsigned char)name[0] | (unsigned char)name[1] << 8);
    for (; *e; e++) {
        const unsigned char *p = (const unsigned char *)*e;
        if ((uint16_t)(p[0] | p[1] << 8) == start && strncmp(*e + 2, name + 2, len - 2) == 0 && (*e)[len] == '=')
            return *e + len + 1;
    }
#endif
    return NULL;
}

const char *hfs_env_lookup(const char *name)
{
    return lookup_n(name, strlen(name));
}

void hfs_env_apply(void)
{
    uint64_t lengths = 0;
    for (size_t i = 0; i < hfs_g.nenv; i++) {
        const struct hfs_envvar *v = &hfs_g.env[i];
        if (v->value)
            setenv(v->name, v->value, 1);
        else
            unsetenv(v->name);
        lengths |= 1ull << (strlen(v->name) & 63);
    }
    atomic_store_explicit(&enforced_lengths, lengths, memory_order_relaxed);
    atomic_store_explicit(&enforced_count, hfs_g.nenv, memory_order_release);
}

/* 1 when name is enforced; *value is then its value (NULL = unset). */
static NO_SAN __attribute__((noinline, cold)) int enforced_slow(const char *name, const char **value)
{
    size_t n = atomic_load_explicit(&enforced_count, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (strcmp(hfs_g.env[i].name, name) == 0) {
            *value = hfs_g.env[i].value;
            return 1;
        }
    return 0;
}

static inline NO_SAN __attribute__((always_inline)) int enforced(const char *name, size_t len, const char **value)
{
    /* relaxed: a stale 0 only means "not published yet" */
    if (__builtin_expect(!(atomic_load_explicit(&enforced_lengths, memory_order_relaxed) & (1ull << (len & 63))), 1) ||
        atomic_load_explicit(&enforced_count, memory_order_relaxed) == 0)
        return 0;
    return enforced_slow(name, value);
}

HFS_EXPORT NO_SAN char *getenv(const char *name)
{
    const char *v;
    size_t len = strlen(name);
    if (__builtin_expect(enforced(name, len, &v), 0))
        return (char *)v;
    return (char *)lookup_n(name, len);
}

HFS_EXPORT NO_SAN char *secure_getenv(const char *name)
{
    if (getauxval(AT_SECURE))
        return NULL;
    return getenv(name);
}
