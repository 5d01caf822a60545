/* preloadfile: /etc/ld.so.preload editing (see header). */
#include "preloadfile.h"

#include <stdlib.h>
#include <string.h>

/* The dynamic loader's separators (glibc rtld: ": \t\n"; '#' starts a
 * comment that runs to the end of the line; '\r' is part of a name). */
static int is_sep(char c) { return c == ' ' || c == '\t' || c == ':' || c == '\n'; }

/* The same test as LD_PRELOAD composition (childenv.c): the file name
 * starts with "libhfshim". */
static int entry_is_shim(const char *s, size_t l)
{
    size_t i = l;
    while (i > 0 && s[i - 1] != '/')
        i--;
    return l - i >= 9 && memcmp(s + i, "libhfshim", 9) == 0;
}

struct sb {
    char *p;
    size_t len, cap;
    int oom;
};

static void add(struct sb *b, const char *s, size_t l)
{
    if (b->oom)
        return;
    if (b->len + l + 1 > b->cap) {
        size_t cap = (b->len + l + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, l);
    b->len += l;
    b->p[b->len] = 0;
}

int hfs_preloadfile_edit(const char *text, size_t len, const char *lib, int addlib, char **out, size_t *outlen)
{
    struct sb b = { NULL, 0, 0, 0 };
    int changed = 0, have = 0;
    size_t liblen = lib ? strlen(lib) : 0;
    *out = NULL;
    *outlen = 0;
    if (addlib && (!lib || lib[0] != '/' || liblen >= 4096))
        return -1;
    for (size_t i = 0; addlib && i < liblen; i++)
        if (is_sep(lib[i]) || lib[i] == '#')
            return -1;
    add(&b, "", 0);
    for (size_t i = 0; i < len;) {
        size_t e = i;
        while (e < len && text[e] != '\n')
            e++;
        const char *line = text + i;
        size_t ll = e - i, start = b.len;
        const char *hash = memchr(line, '#', ll);
        size_t cl = hash ? ll - (size_t)(hash - line) : 0; /* the comment, kept as it is */
        ll -= cl;
        int nl = e < len, touched = 0, any = 0;
        /* the line rebuilt from its kept entries, one blank apart */
        for (size_t k = 0; k < ll;) {
            while (k < ll && is_sep(line[k]))
                k++;
            size_t s = k;
            while (k < ll && !is_sep(line[k]))
                k++;
            if (k == s)
                continue;
            int keep = 1;
            if (entry_is_shim(line + s, k - s)) {
                keep = addlib && !have && k - s == liblen && memcmp(line + s, lib, liblen) == 0;
                have |= keep; /* the first exact copy stays */
                touched |= !keep;
            }
            if (keep) {
                if (any)
                    add(&b, " ", 1);
                add(&b, line + s, k - s);
                any = 1;
            }
        }
        if (touched) {
            changed = 1;
            if (cl) {
                if (any)
                    add(&b, " ", 1);
                add(&b, hash, cl);
            }
            if (any || cl)
                add(&b, "\n", 1);
        } else if (!b.oom) { /* nothing dropped: the line byte for byte */
            b.len = start;
            add(&b, line, ll + cl + (size_t)nl);
        }
        i = e + (size_t)nl;
    }
    if (addlib && !have) {
        if (b.len && b.p[b.len - 1] != '\n')
            add(&b, "\n", 1);
        add(&b, lib, liblen);
        add(&b, "\n", 1);
        changed = 1;
    }
    if (b.oom) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    *outlen = b.len;
    return changed;
}

int hfs_preloadfile_has(const char *text, size_t len, const char *lib)
{
    char *out;
    size_t outlen;
    int rc = hfs_preloadfile_edit(text, len, lib, lib != NULL, &out, &outlen);
    free(out);
    return rc == 0;
}
