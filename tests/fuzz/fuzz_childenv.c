/* fuzz_childenv: libFuzzer target for child-environment composition. The
 * first byte picks the mode, the buffer sizes and whether our library comes
 * with a sanitizer runtime ("runtime:lib" form); the rest, split on NUL,
 * is the environment (entries starting with "+HFSHIM_" become carried
 * settings). Checked: the NULL-terminated result fits, LD_PRELOAD appears
 * at most once and holds our library exactly once (children) or not at
 * all, no entry twice, sanitizer runtimes before every other entry, and
 * HFSHIM_* gone when children are not shimmed. */
#include <stdlib.h>
#include <string.h>

#include "childenv.h"

#define OURS "/opt/hfshim/lib/libhfshim.so"

static int base_starts(const char *s, size_t l, const char *prefix)
{
    size_t i = l;
    while (i > 0 && s[i - 1] != '/')
        i--;
    return l - i >= strlen(prefix) && memcmp(s + i, prefix, strlen(prefix)) == 0;
}

static int is_san(const char *s, size_t l)
{
    static const char *const p[] = { "libasan", "libtsan", "libubsan", "liblsan", "libhwasan", "libclang_rt.", NULL };
    for (int i = 0; p[i]; i++)
        if (base_starts(s, l, p[i]))
            return 1;
    return 0;
}

#define RUNTIME "/usr/lib/x86_64-linux-gnu/libasan.so.8"

static void check_value(const char *v, int children, int with_runtime)
{
    int ours = 0, seen_other = 0, runtime = 0;
    if (!*v)
        abort(); /* an empty LD_PRELOAD is dropped, not written */
    for (const char *e = v;;) {
        const char *c = strchr(e, ':');
        size_t l = c ? (size_t)(c - e) : strlen(e);
        if (l == 0)
            abort();                                 /* no empty entries */
        for (const char *f = c ? c + 1 : NULL; f;) { /* no entry twice */
            const char *g = strchr(f, ':');
            size_t fl = g ? (size_t)(g - f) : strlen(f);
            if (fl == l && memcmp(f, e, l) == 0)
                abort();
            f = g ? g + 1 : NULL;
        }
        runtime += l == strlen(RUNTIME) && memcmp(e, RUNTIME, l) == 0;
        if (base_starts(e, l, "libhfshim")) {
            ours++;
            if (l != strlen(OURS) || memcmp(e, OURS, l) != 0)
                abort(); /* any other copy of the shim was dropped */
        }
        if (is_san(e, l) && seen_other)
            abort();
        if (!is_san(e, l))
            seen_other = 1;
        if (!c)
            break;
        e = c + 1;
    }
    if (ours != (children ? 1 : 0) || (children && with_runtime && runtime != 1))
        abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 1)
        return 0;
    int children = data[0] & 1, with_runtime = (data[0] & 0x80) != 0;
    const char *ourlib = with_runtime ? RUNTIME ":" OURS : OURS;
    size_t outcap = 1 + ((data[0] >> 1) & 15);
    size_t buflen = (data[0] & 0x20) ? 40 + (data[0] >> 6) * 20 : 4096;
    char *copy = malloc(size);
    char **envp = calloc(size + 1, sizeof *envp);
    const char **carry = calloc(size + 1, sizeof *carry);
    char **out = calloc(outcap, sizeof *out);
    char *buf = malloc(buflen);
    if (!copy || !envp || !carry || !out || !buf)
        goto done;
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = 0;
    size_t ne = 0, nc = 0;
    for (char *e = copy; e < copy + size - 1; e += strlen(e) + 1) {
        if (e[0] == '+') {
            if (strncmp(e + 1, "HFSHIM_", 7) == 0) /* callers carry only HFSHIM_* settings */
                carry[nc++] = e + 1;
        } else {
            envp[ne++] = e;
        }
    }
    if (hfs_childenv_build(envp, ourlib, carry, children, out, outcap, buf, buflen) != 0)
        goto done;
    size_t n = hfs_env_count(out), preloads = 0;
    if (n >= outcap)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (strncmp(out[i], "LD_PRELOAD=", 11) == 0) {
            preloads++;
            check_value(out[i] + 11, children, with_runtime);
        } else if (out[i] == buf) {
            abort(); /* buf only ever holds LD_PRELOAD */
        }
        if (!children && strncmp(out[i], "HFSHIM_", 7) == 0)
            abort();
    }
    if (preloads > 1 || (children && preloads != 1))
        abort();
    /* compose directly with a tight buffer: the length matches the text */
    for (size_t i = 0; i < ne; i++) {
        char small[64];
        long l = hfs_preload_compose(envp[i], ourlib, children, small, sizeof small);
        if (l >= (long)sizeof small || (l >= 0 && (size_t)l != strlen(small)))
            abort();
        if (l > 0 && hfs_preload_has_shim(small) != children)
            abort();
        char san[64];
        long k = hfs_preload_sanitizers(envp[i], san, sizeof san);
        if (k >= (long)sizeof san || (k >= 0 && (size_t)k != strlen(san)) || (k > 0 && hfs_preload_has_shim(san)))
            abort();
    }
done:
    free(copy);
    free(envp);
    free(carry);
    free(out);
    free(buf);
    return 0;
}
