/* fuzz_hubcall: libFuzzer target for Hub calls answered from the cache.
 * Input: METHOD \n PATH \n QUERY \n BODY. Whatever hfs_hub_parse accepts
 * must name only safe parts (a repo folder without '/', '..' or empty
 * segments; revisions and paths that pass hfs_hub_safe_relpath; a kind
 * its method allows); answering it from a fixed cache (built once in a
 * temporary folder, with a snapshot link pointing outside the repo) must
 * never serve bytes from outside the cache, and a 200 resolve body must be
 * exactly a blob of that cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hubcache.h"
#include "hubpath.h"
#include "hubsynth.h"

#define SHA "0123456789abcdef0123456789abcdef01234567"
static char root[128];
static const char blob_a[] = "CACHED-BLOB-A\n", blob_b[] = "CACHED-BLOB-B-lfs\n";

static void put(const char *rel, const char *data)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    for (char *s = p + strlen(root) + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0755);
            *s = '/';
        }
    FILE *f = fopen(p, "wb");
    if (!f)
        abort();
    fputs(data, f);
    fclose(f);
}

static void link_(const char *target, const char *rel)
{
    char p[512];
    put(rel, "");
    snprintf(p, sizeof p, "%s/%s", root, rel);
    unlink(p);
    if (symlink(target, p))
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(root, sizeof root, "/tmp/fuzz_hubcall_XXXXXX");
    if (!mkdtemp(root))
        abort();
    put("models--a--b/refs/main", SHA);
    put("models--a--b/blobs/1111111111111111111111111111111111111111", blob_a);
    put("models--a--b/blobs/2222222222222222222222222222222222222222222222222222222222222222", blob_b);
    link_("../../blobs/1111111111111111111111111111111111111111", "models--a--b/snapshots/" SHA "/x.txt");
    link_("../../../blobs/2222222222222222222222222222222222222222222222222222222222222222",
          "models--a--b/snapshots/" SHA "/d/m.onnx");
    put("outside-secret", "OUTSIDE-SECRET\n");
    char t[256];
    snprintf(t, sizeof t, "%s/outside-secret", root);
    link_(t, "models--a--b/snapshots/" SHA "/escape");
    link_("/etc/passwd", "models--a--b/snapshots/" SHA "/passwd");
    put("models--a--b/.no_exist/" SHA "/missing.json", "");
    put("datasets--a--b/refs/main", SHA);
    link_("../../../models--a--b/blobs/1111111111111111111111111111111111111111", "datasets--a--b/snapshots/" SHA "/y");
    return 0;
}

static const char *take_line(const char **p, const char *end, char *out, size_t cap)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = (size_t)((nl ? nl : end) - *p);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, *p, n);
    out[n] = 0;
    *p = nl ? nl + 1 : end;
    return out;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    char method[16], path[4096], query[512];
    take_line(&p, end, method, sizeof method);
    take_line(&p, end, path, sizeof path);
    take_line(&p, end, query, sizeof query);
    if (strlen(method) != strnlen(method, sizeof method) || memchr(path, 0, strlen(path)))
        return 0;
    struct hfs_hubreq q;
    const char *why = NULL;
    int rc = hfs_hub_parse(method, path, *query ? query : NULL, &q, &why);
    if (!why)
        abort();
    if (rc != 1)
        return 0;
    char folder[256];
    if (hfs_hub_folder(q.type, q.repo, folder, sizeof folder) == 0 &&
        (strchr(folder, '/') || strstr(folder, "..") || strlen(folder) == 0))
        abort();
    if ((*q.rev && !hfs_hub_safe_relpath(q.rev, HFS_HUB_REV_MAX - 1)) ||
        (*q.path && !hfs_hub_safe_relpath(q.path, HFS_HUB_PATH_MAX - 1)))
        abort();
    if (q.kind == HFS_HUB_RESOLVE && (!*q.path || (strcmp(method, "GET") && strcmp(method, "HEAD"))))
        abort();
    if (q.kind == HFS_HUB_PATHS_INFO && strcmp(method, "POST"))
        abort();
    if ((q.kind == HFS_HUB_INFO || q.kind == HFS_HUB_TREE) && strcmp(method, "GET"))
        abort();

    struct hfs_cache_roots r;
    memset(&r, 0, sizeof r);
    snprintf(r.dir[0], sizeof r.dir[0], "%s", root);
    r.from[0] = "fuzz";
    r.n = 1;
    static struct hfs_cache_answer a;
    const char *body = p < end ? p : NULL;
    if (hfs_cache_answer(&r, &q, NULL, body, body ? (size_t)(end - p) : 0, &a) == 1) {
        if (a.a.body_len &&
            (memmem(a.a.body, a.a.body_len, "OUTSIDE-SECRET", 14) || memmem(a.a.body, a.a.body_len, "root:", 5)))
            abort();
        if (q.kind == HFS_HUB_RESOLVE && !q.head && a.a.status == 200 &&
            !(a.a.body_len == strlen(blob_a) && !memcmp(a.a.body, blob_a, a.a.body_len)) &&
            !(a.a.body_len == strlen(blob_b) && !memcmp(a.a.body, blob_b, a.a.body_len)))
            abort();
        hfs_cache_answer_free(&a);
    }
    return 0;
}
