/* fuzz_preloadfile: libFuzzer target for the /etc/ld.so.preload editor.
 * The first byte picks add or remove; the rest is the file. Checked:
 * after adding, our library is listed exactly once and no other
 * libhfshim; after removing, none; every other entry survives in its
 * order; comments ('#' to the end of the line) are not entries; editing
 * the result again changes nothing (idempotent). */
#include <stdlib.h>
#include <string.h>

#include "preloadfile.h"

#define OURS "/usr/local/lib/libhfshim.so"

static int is_sep(char c) { return c == ' ' || c == '\t' || c == ':' || c == '\n'; }

static int is_shim(const char *s, size_t l)
{
    size_t i = l;
    while (i > 0 && s[i - 1] != '/')
        i--;
    return l - i >= 9 && memcmp(s + i, "libhfshim", 9) == 0;
}

/* The n-th non-shim entry (or, with shim set, counts ours). */
struct entries {
    const char *s[512];
    size_t l[512];
    size_t n, ours, other_shims;
};

static void split(const char *t, size_t len, struct entries *e)
{
    memset(e, 0, sizeof *e);
    for (size_t k = 0; k < len;) {
        while (k < len && is_sep(t[k]))
            k++;
        if (k < len && t[k] == '#') { /* a comment, to the end of the line */
            while (k < len && t[k] != '\n')
                k++;
            continue;
        }
        size_t s = k;
        while (k < len && !is_sep(t[k]) && t[k] != '#')
            k++;
        if (k == s)
            continue;
        if (is_shim(t + s, k - s)) {
            if (k - s == strlen(OURS) && memcmp(t + s, OURS, k - s) == 0)
                e->ours++;
            else
                e->other_shims++;
        } else if (e->n < 512) {
            e->s[e->n] = t + s;
            e->l[e->n++] = k - s;
        }
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    int add = data[0] & 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    char *out, *again;
    size_t outlen, againlen;
    int rc = hfs_preloadfile_edit(text, len, add ? OURS : NULL, add, &out, &outlen);
    if (rc < 0)
        return 0; /* out of memory only */
    struct entries in, res;
    split(text, len, &in);
    split(out, outlen, &res);
    if (in.n < 512 && res.n < 512) {
        if (res.n != in.n)
            abort();
        for (size_t i = 0; i < in.n; i++)
            if (res.l[i] != in.l[i] || memcmp(res.s[i], in.s[i], in.l[i]) != 0)
                abort();
    }
    if (res.other_shims || res.ours != (size_t)add)
        abort();
    if (rc == 0 && (outlen != len || memcmp(out, text, len) != 0))
        abort(); /* "unchanged" means byte for byte */
    if (hfs_preloadfile_edit(out, outlen, add ? OURS : NULL, add, &again, &againlen) != 0 || againlen != outlen ||
        memcmp(again, out, outlen) != 0)
        abort();
    free(again);
    free(out);
    return 0;
}
