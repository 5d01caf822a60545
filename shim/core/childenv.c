/* childenv: LD_PRELOAD composition and child environments (see header). */
#include "childenv.h"

#include <string.h>

static int is_sep(char c) { return c == ':' || c == ' '; }

static const char *base_of(const char *s, size_t len, size_t *blen)
{
    size_t i = len;
    while (i > 0 && s[i - 1] != '/')
        i--;
    *blen = len - i;
    return s + i;
}

static int starts(const char *s, size_t len, const char *prefix)
{
    size_t pl = strlen(prefix);
    return len >= pl && memcmp(s, prefix, pl) == 0;
}

static int is_sanitizer(const char *s, size_t len)
{
    size_t bl;
    const char *b = base_of(s, len, &bl);
    return starts(b, bl, "libasan") || starts(b, bl, "libtsan") || starts(b, bl, "libubsan") ||
           starts(b, bl, "liblsan") || starts(b, bl, "libhwasan") || starts(b, bl, "libclang_rt.");
}

static int is_shim(const char *s, size_t len)
{
    size_t bl;
    const char *b = base_of(s, len, &bl);
    return starts(b, bl, "libhfshim");
}

int hfs_preload_has_shim(const char *v)
{
    while (v && *v) {
        size_t l = 0;
        while (*v && is_sep(*v))
            v++;
        while (v[l] && !is_sep(v[l]))
            l++;
        if (l && is_shim(v, l))
            return 1;
        v += l;
    }
    return 0;
}

struct out {
    char *p;
    size_t len, cap;
    int overflow;
};

/* 1 when the ':'-separated output already holds the entry s[0..l). */
static int already(const struct out *o, const char *s, size_t l)
{
    size_t i = 0;
    while (i < o->len) {
        size_t j = i;
        while (j < o->len && o->p[j] != ':')
            j++;
        if (j - i == l && memcmp(o->p + i, s, l) == 0)
            return 1;
        i = j + 1;
    }
    return 0;
}

static void put(struct out *o, const char *s, size_t l)
{
    if (!o->overflow && already(o, s, l))
        return;
    if (o->len && !o->overflow) {
        if (o->len + 1 >= o->cap) {
            o->overflow = 1;
            return;
        }
        o->p[o->len++] = ':';
    }
    if (o->overflow || o->len + l >= o->cap) {
        o->overflow = 1;
        return;
    }
    memcpy(o->p + o->len, s, l);
    o->len += l;
}

/* pass 0: sanitizer runtimes; pass 1: everything else but libhfshim. */
static void put_entries(struct out *o, const char *v, int pass)
{
    while (v && *v) {
        size_t l = 0;
        while (*v && is_sep(*v))
            v++;
        while (v[l] && !is_sep(v[l]))
            l++;
        if (l && !is_shim(v, l) && is_sanitizer(v, l) == (pass == 0))
            put(o, v, l);
        v += l;
    }
}

long hfs_preload_sanitizers(const char *existing, char *out, size_t outlen)
{
    struct out o = { out, 0, outlen, 0 };
    if (outlen == 0)
        return -1;
    put_entries(&o, existing, 0);
    if (o.overflow)
        return -1;
    out[o.len] = 0;
    return (long)o.len;
}

long hfs_preload_compose(const char *existing, const char *ourlib, int add, char *out, size_t outlen)
{
    struct out o = { out, 0, outlen, 0 };
    if (outlen == 0)
        return -1;
    put_entries(&o, existing, 0);
    while (add && ourlib && *ourlib) { /* "runtime:…:libhfshim.so" */
        size_t l = 0;
        while (ourlib[l] && ourlib[l] != ':')
            l++;
        if (l)
            put(&o, ourlib, l);
        ourlib += l + (ourlib[l] == ':');
    }
    put_entries(&o, existing, 1);
    if (o.overflow)
        return -1;
    out[o.len] = 0;
    return (long)o.len;
}

size_t hfs_env_count(char *const *envp)
{
    size_t n = 0;
    while (envp && envp[n])
        n++;
    return n;
}

static int name_eq(const char *entry, const char *nameq)
{
    /* nameq is "NAME=..." ; compare up to and including '=' */
    size_t i = 0;
    while (nameq[i] && nameq[i] != '=') {
        if (entry[i] != nameq[i])
            return 0;
        i++;
    }
    return entry[i] == '=';
}

int hfs_childenv_build(char *const *envp, const char *ourlib, const char *const *carry, int children, char **out,
                       size_t outcap, char *buf, size_t buflen)
{
    static const char pre[] = "LD_PRELOAD=";
    size_t n = 0, pl = sizeof pre - 1, last = (size_t)-1;
    int have_preload = 0;
    /* With several LD_PRELOAD entries the dynamic loader uses the last:
     * compose that one into buf and drop the others (they would all
     * point at buf, which holds only one value). */
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], pre, pl) == 0)
            last = i;
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *e = envp[i];
        if (strncmp(e, pre, pl) == 0) {
            long l;
            if (i != last)
                continue;
            if (buflen <= pl)
                return -1;
            memcpy(buf, pre, pl);
            l = hfs_preload_compose(e + pl, ourlib, children, buf + pl, buflen - pl);
            if (l < 0)
                return -1;
            have_preload = 1;
            if (l == 0)
                continue; /* nothing left: drop the variable */
            e = buf;
        } else if (!children && strncmp(e, "HFSHIM_", 7) == 0) {
            continue;
        }
        if (n + 1 >= outcap)
            return -1;
        out[n++] = (char *)e;
    }
    if (children) {
        if (!have_preload) {
            size_t ll = strlen(ourlib);
            if (pl + ll + 1 > buflen || n + 1 >= outcap)
                return -1;
            memcpy(buf, pre, pl);
            memcpy(buf + pl, ourlib, ll + 1);
            out[n++] = buf;
        }
        for (size_t c = 0; carry && carry[c]; c++) {
            int present = 0;
            for (size_t i = 0; envp && envp[i] && !present; i++)
                present = name_eq(envp[i], carry[c]);
            if (present)
                continue;
            if (n + 1 >= outcap)
                return -1;
            out[n++] = (char *)carry[c];
        }
    }
    out[n] = NULL;
    return 0;
}
