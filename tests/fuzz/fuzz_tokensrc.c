/* fuzz_tokensrc: libFuzzer target for the token-source readers (tokensrc.h):
 * the input, split at the first two NUL bytes, becomes a ~/.netrc, a
 * ~/.git-credentials and an $HF_HOME/stored_tokens in a private temporary
 * folder. Invariants: no crash or over-read; every value found from the
 * netrc or stored tokens is a substring of its file (git credentials are
 * percent-decoded, so only their length is bounded by the file's); at most
 * the capacity is filled; labels are NUL-terminated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokensrc.h"

static char dir[64];
static char hfhome[128];

static const char *env(const char *name)
{
    if (!strcmp(name, "HOME"))
        return dir;
    if (!strcmp(name, "HF_HOME"))
        return hfhome;
    if (!strcmp(name, "HF_ENDPOINT"))
        return "https://mirror.example:8443";
    return NULL;
}

static void put(const char *name, const char *p, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    fwrite(p, 1, n, f);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz-tokensrc-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        snprintf(hfhome, sizeof hfhome, "%s", dir); /* stored_tokens lives beside .netrc */
    }
    const char *s = (const char *)data;
    const char *a = memchr(s, 0, size);
    const char *b = a ? memchr(a + 1, 0, size - (size_t)(a + 1 - s)) : NULL;
    size_t n1 = a ? (size_t)(a - s) : size;
    const char *p2 = a ? a + 1 : s + size;
    size_t n2 = b ? (size_t)(b - p2) : (size_t)(s + size - p2);
    const char *p3 = b ? b + 1 : s + size;
    size_t n3 = (size_t)(s + size - p3);
    put(".netrc", s, n1);
    put(".git-credentials", p2, n2);
    put("stored_tokens", p3, n3);
    struct hfs_tokensrc src[8];
    size_t n = hfs_tokensrc_find(env, src, 8);
    if (n > 8)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (!memchr(src[i].label, 0, sizeof src[i].label))
            abort();
        size_t l = strlen(src[i].value);
        if (src[i].kind == HFS_SRC_NETRC && (l > n1 || !memmem(s, n1, src[i].value, l)))
            abort();
        if (src[i].kind == HFS_SRC_STORED && (l > n3 || !memmem(p3, n3, src[i].value, l)))
            abort();
        if (src[i].kind == HFS_SRC_GIT && l > n2)
            abort();
    }
    hfs_tokensrc_free(src, n);
    return 0;
}
