/* envhooks: getenv/secure_getenv hooks and the constructor's environ
 * edits. getenv runs before anything is initialised (allocators call it
 * while dlsym is still resolving), so it never calls dlsym or malloc: it
 * checks the published enforced table, then scans environ itself. */
#include "envhooks.h"
#include "../core/startup.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "../core/log.h"
#include "real.h"
#include "state.h"

extern char **environ;

/* getenv runs inside other libraries' constructors, which can come before
 * a sanitizer runtime has set itself up (it is preloaded, but initialised
 * after the program's own libraries): these functions are never
 * instrumented, or the instrumentation itself would crash there. */
#define NO_SAN __attribute__((no_sanitize_address, no_sanitize("undefined")))

HFS_STARTUP_DATA static atomic_size_t enforced_count;      /* published after hfs_g.env is filled */
HFS_STARTUP_DATA static _Atomic uint64_t enforced_lengths; /* bit (len & 63) set for each enforced name */

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

HFS_STARTUP const char *hfs_env_lookup(const char *name) { return lookup_n(name, strlen(name)); }

const char *hfs_env_user(const char *name) { return hfs_g.secure ? NULL : hfs_env_lookup(name); }

HFS_STARTUP_DATA static atomic_int env_locked; /* published after the enforced values are in environ */

HFS_STARTUP void hfs_env_apply(void)
{
    uint64_t lengths = 0;
    for (size_t i = 0; i < hfs_g.nenv; i++) {
        const struct hfs_envvar *v = &hfs_g.env[i];
        if (v->value && REAL(setenv))
            REAL(setenv)(v->name, v->value, 1);
        else if (!v->value && REAL(unsetenv))
            REAL(unsetenv)(v->name);
        lengths |= 1ull << (strlen(v->name) & 63);
    }
    atomic_store_explicit(&enforced_lengths, lengths, memory_order_relaxed);
    atomic_store_explicit(&enforced_count, hfs_g.nenv, memory_order_release);
    atomic_store_explicit(&env_locked, hfs_g.locked, memory_order_release);
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

/* -- a locked policy: the enforced variables cannot be changed ----------
 * setenv/putenv/unsetenv of an enforced variable are refused (reported as
 * done: the call's contract has no "not allowed", and getenv keeps
 * answering the enforced value anyway) and logged once per variable;
 * clearenv is followed by the enforced values again. Without a locked
 * policy the calls go straight through. */

static _Atomic uint64_t tried_bits[(HFS_MAX_ENV + 63) / 64];

static size_t enforced_index(const char *name, size_t len)
{
    size_t n = atomic_load_explicit(&enforced_count, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (strncmp(hfs_g.env[i].name, name, len) == 0 && hfs_g.env[i].name[len] == 0)
            return i;
    return (size_t)-1;
}

/* 1 when the locked policy refuses changing name[0..len) to value (NULL:
 * removing it); says so once per variable. The decision is the core's. */
static int refused(const char *call, const char *name, size_t len, const char *value, int overwrite)
{
    size_t i;
    if (!atomic_load_explicit(&env_locked, memory_order_acquire) || hfs_busy || !name || len == 0)
        return 0;
    if (!hfs_env_change_refused(hfs_g.env, atomic_load_explicit(&enforced_count, memory_order_acquire), name, len,
                                value, overwrite, &i))
        return 0;
    uint64_t bit = 1ull << (i % 64);
    if (!(atomic_fetch_or(&tried_bits[i / 64], bit) & bit)) {
        const char *want = hfs_g.env[i].value, *shown = want ? want : "";
        char masked[32];
        /* an enforced token (env.set HF_TOKEN) is shown masked */
        if (want && (strstr(hfs_g.env[i].name, "TOKEN") || strncmp(want, "hf_", 3) == 0)) {
            hfs_mask_token(want, strlen(want), masked, sizeof masked);
            shown = masked;
        }
        int busy_outer;
        HFS_BUSY_ENTER(busy_outer);
        hfs_log_msg("error", "the locked policy keeps %s%s%s: %s(%s) ignored", hfs_g.env[i].name, want ? "=" : " unset",
                    shown, call, hfs_g.env[i].name);
        HFS_BUSY_LEAVE(busy_outer);
    }
    return 1;
}

/* glibc declares these arguments nonnull, yet answers EINVAL for NULL:
 * hide the pointer from the optimiser so the check stays. */
static inline const char *laundered(const char *p)
{
    __asm__("" : "+r"(p));
    return p;
}

HFS_EXPORT int setenv(const char *name, const char *value, int overwrite)
{
    if (!REAL(setenv)) {
        errno = ENOSYS;
        return -1;
    }
    if (laundered(name) && laundered(value) && !strchr(name, '=') &&
        refused("setenv", name, strlen(name), value, overwrite))
        return 0;
    return REAL(setenv)(name, value, overwrite);
}

HFS_EXPORT int unsetenv(const char *name)
{
    if (!REAL(unsetenv)) {
        errno = ENOSYS;
        return -1;
    }
    if (laundered(name) && !strchr(name, '=') && refused("unsetenv", name, strlen(name), NULL, 1))
        return 0;
    return REAL(unsetenv)(name);
}

HFS_EXPORT int putenv(char *string)
{
    if (!REAL(putenv)) {
        errno = ENOSYS;
        return -1;
    }
    if (laundered(string)) {
        const char *eq = strchr(string, '=');
        /* glibc: "NAME" without '=' removes NAME */
        size_t len = eq ? (size_t)(eq - string) : strlen(string);
        if (refused("putenv", string, len, eq ? eq + 1 : NULL, 1))
            return 0;
        /* the enforced value again: stored as a copy, or the caller could
         * change it later through its own buffer */
        char name[256];
        if (eq && len < sizeof name && atomic_load_explicit(&env_locked, memory_order_acquire) && !hfs_busy &&
            enforced_index(string, len) != (size_t)-1) {
            memcpy(name, string, len);
            name[len] = 0;
            return REAL(setenv) ? REAL(setenv)(name, eq + 1, 1) : -1;
        }
    }
    return REAL(putenv)(string);
}

HFS_EXPORT int clearenv(void)
{
    if (!REAL(clearenv)) {
        errno = ENOSYS;
        return -1;
    }
    int rc = REAL(clearenv)();
    if (rc == 0 && atomic_load_explicit(&env_locked, memory_order_acquire) && !hfs_busy) {
        size_t n = atomic_load_explicit(&enforced_count, memory_order_acquire);
        static atomic_int told;
        int busy_outer;
        HFS_BUSY_ENTER(busy_outer);
        for (size_t i = 0; i < n; i++)
            if (hfs_g.env[i].value)
                REAL(setenv)(hfs_g.env[i].name, hfs_g.env[i].value, 1);
        if (!atomic_exchange(&told, 1))
            hfs_log_msg("error", "the locked policy keeps its variables: set again after clearenv()");
        HFS_BUSY_LEAVE(busy_outer);
    }
    return rc;
}
