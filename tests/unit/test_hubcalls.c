/* test_hubcalls: unit tests of Hub calls answered from the local cache:
 * hubpath (every recognised form, and hostile paths refused), sha1 (test
 * vectors, git blob ids), hubcache on a cache tree built in a temporary
 * folder (revisions, LFS pointer ids, copies, links leaving the repo,
 * missing blobs, case-insensitive folders, discovery order), hubsynth
 * answers (info, tree, paths-info, resolve headers, Range, EntryNotFound
 * only for files the cache records as missing), the decision core's cache
 * action and predicates with a fake probe, and the connection engine's
 * answers that wait for the request body (paths-info). Expected ids were
 * computed with Python's hashlib, independently of this code. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cacheprobe.h"
#include "cjson_bind.h"
#include "conn.h"
#include "decide.h"
#include "hubcache.h"
#include "hubpath.h"
#include "hubsynth.h"
#include "rules.h"
#include "sha1.h"

#define SHA "0123456789abcdef0123456789abcdef01234567"
#define PR "89abcdef0123456789abcdef0123456789abcdef"
/* git blob id of "{}\n" and of "hello\n" */
#define CFG_OID "0967ef424bce6791893e9a57bb952f80fd536e93"
#define HELLO_OID "ce013625030ba8dba906f756967f9e9ca394464a"
/* an LFS file: 1000 bytes of 'x'; its sha256 and its pointer's git id */
#define BIG_SHA256 "44f8354494a5ba03ba1792a8d3e9c534c47a9181980fde7a3f44b06ef2ae7c7f"
#define BIG_PTR_OID "c05cbdd4def3e245749f8a718a63ee61741be5fa"

/* ---- hubpath ----------------------------------------------------------- */

static void parse_ok(const char *method, const char *path, const char *query, enum hfs_hub_kind kind, const char *type,
                     const char *repo, const char *rev, const char *file)
{
    struct hfs_hubreq q;
    const char *why;
    int rc = hfs_hub_parse(method, path, query, &q, &why);
    if (rc != 1)
        fail_msg("%s %s: rc %d (%s)", method, path, rc, why);
    assert_int_equal(q.kind, kind);
    assert_string_equal(q.type, type);
    assert_string_equal(q.repo, repo);
    assert_string_equal(q.rev, rev);
    assert_string_equal(q.path, file);
}

static void test_hubpath_forms(void **state)
{
    (void)state;
    parse_ok("GET", "/api/models/gpt2", NULL, HFS_HUB_INFO, "model", "gpt2", "", "");
    parse_ok("GET", "/api/models/acme/tiny", "expand=sha&expand=siblings", HFS_HUB_INFO, "model", "acme/tiny", "", "");
    parse_ok("GET", "/api/datasets/acme/d/revision/main", NULL, HFS_HUB_INFO, "dataset", "acme/d", "main", "");
    parse_ok("GET", "/api/spaces/acme/s/revision/refs%2Fpr%2F1", NULL, HFS_HUB_INFO, "space", "acme/s", "refs/pr/1",
             "");
    parse_ok("GET", "/api/models/acme/tiny/tree/main", "recursive=true", HFS_HUB_TREE, "model", "acme/tiny", "main",
             "");
    parse_ok("GET", "/api/models/gpt2/tree/" SHA "/onnx/sub", NULL, HFS_HUB_TREE, "model", "gpt2", SHA, "onnx/sub");
    parse_ok("POST", "/api/models/acme/tiny/paths-info/main", NULL, HFS_HUB_PATHS_INFO, "model", "acme/tiny", "main",
             "");
    parse_ok("HEAD", "/acme/tiny/resolve/main/config.json", NULL, HFS_HUB_RESOLVE, "model", "acme/tiny", "main",
             "config.json");
    parse_ok("GET", "/gpt2/resolve/v1.0/a%20b/c.bin", NULL, HFS_HUB_RESOLVE, "model", "gpt2", "v1.0", "a b/c.bin");
    parse_ok("GET", "/datasets/acme/d/resolve/refs%2Fconvert%2Fparquet/x.parquet", NULL, HFS_HUB_RESOLVE, "dataset",
             "acme/d", "refs/convert/parquet", "x.parquet");
    parse_ok("HEAD", "/spaces/acme/s/resolve/main/app.py", NULL, HFS_HUB_RESOLVE, "space", "acme/s", "main", "app.py");
    parse_ok("GET", "/api/resolve-cache/models/acme/tiny/" SHA "/onnx/model.onnx", NULL, HFS_HUB_RESOLVE, "model",
             "acme/tiny", SHA, "onnx/model.onnx");
    parse_ok("GET", "/api/resolve-cache/models/gpt2/" SHA "/config.json", NULL, HFS_HUB_RESOLVE, "model", "gpt2", SHA,
             "config.json");
    /* a model whose org is literally "models" (no type prefix for models) */
    parse_ok("GET", "/models/x/resolve/main/f", NULL, HFS_HUB_RESOLVE, "model", "models/x", "main", "f");

    struct hfs_hubreq q;
    const char *why;
    assert_int_equal(hfs_hub_parse("GET", "/api/models/a/b/tree/main", "recursive=True&expand=false", &q, &why), 1);
    assert_true(q.recursive);
    assert_int_equal(hfs_hub_parse("GET", "/api/models/a/b/tree/main", "recursive=false", &q, &why), 1);
    assert_false(q.recursive);
    assert_int_equal(hfs_hub_parse("GET", "/api/models/a/b", "blobs=true", &q, &why), 1);
    assert_true(q.blobs);
    assert_int_equal(hfs_hub_parse("HEAD", "/a/b/resolve/main/x", NULL, &q, &why), 1);
    assert_true(q.head);
}

static void test_hubpath_not_recognised(void **state)
{
    (void)state;
    static const char *const m_p[][2] = {
        { "GET", "/api/whoami-v2" },
        { "GET", "/api/models" },
        { "POST", "/api/models/a/b" },
        { "GET", "/api/models/a/b/commits/main" },
        { "GET", "/api/models/a/b/discussions" },
        { "GET", "/api/models/a/b/paths-info/main" },
        { "POST", "/api/models/a/b/tree/main" },
        { "PUT", "/a/b/resolve/main/x" },
        { "GET", "/a/b/blob/main/x" },
        { "GET", "/a/b/resolve/main" },
        { "GET", "/api/kernels/a/b" },
        { "GET", "/" },
        { "GET", "/api/resolve-cache/models/a/b/main/x" },
        { "GET", "/api/models/a/b/c/d" },
    };
    for (size_t i = 0; i < sizeof m_p / sizeof m_p[0]; i++) {
        struct hfs_hubreq q;
        const char *why;
        int rc = hfs_hub_parse(m_p[i][0], m_p[i][1], NULL, &q, &why);
        if (rc != 0)
            fail_msg("%s %s: rc %d", m_p[i][0], m_p[i][1], rc);
        assert_int_equal(q.kind, HFS_HUB_NONE);
    }
}

static void test_hubpath_hostile(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "/api/models/../etc",
        "/api/models/a/..",
        "/api/models/a%2Fb",
        "/api/models/a%2fb/c",
        "/api/models/a/b/revision/..",
        "/api/models/a/b/revision/%2e%2e",
        "/api/models/a/b/revision/refs%2F..%2Fx",
        "/a/b/resolve/main/../x",
        "/a/b/resolve/main/%2e%2e/x",
        "/a/b/resolve/main/x/%2E%2E/%2E%2E/y",
        "/a/b/resolve/main/%00x",
        "/a/b/resolve/main/x%0ay",
        "/a/b/resolve/main/.",
        "/a/b/resolve/%2e/x",
        "/a/b/resolve/main/a%5cb",
        "/a/b/resolve/main/%zz",
        "/a/b/resolve/main/%4",
        "/a--b/c/resolve/main/x",
        "/-a/b/resolve/main/x",
        "/a/b./resolve/main/x",
        "/a/b/resolve/main/..%2f..%2fx",
        "/api/models/a/b/tree/main/..",
        "/api/resolve-cache/models/a/b/" SHA "/../x",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct hfs_hubreq q;
        const char *why;
        int rc = hfs_hub_parse("GET", paths[i], NULL, &q, &why);
        if (rc == 1)
            fail_msg("%s accepted as %s %s@%s path %s", paths[i], q.type, q.repo, q.rev, q.path);
    }
    /* empty segments and a trailing slash never parse */
    struct hfs_hubreq q;
    const char *why;
    assert_int_equal(hfs_hub_parse("GET", "/a/b/resolve/main//x", NULL, &q, &why), 0);
    assert_int_equal(hfs_hub_parse("GET", "/api/models/a/b/", NULL, &q, &why), 0);
    /* too long parts */
    char longp[3000] = "/a/b/resolve/main/";
    memset(longp + strlen(longp), 'x', 1500);
    assert_int_not_equal(hfs_hub_parse("GET", longp, NULL, &q, &why), 1);
}

static void test_safe_relpath_and_folder(void **state)
{
    (void)state;
    assert_true(hfs_hub_safe_relpath("a/b.c/d", 100));
    assert_true(hfs_hub_safe_relpath("..a/b..", 100));
    assert_false(hfs_hub_safe_relpath("", 100));
    assert_false(hfs_hub_safe_relpath("a//b", 100));
    assert_false(hfs_hub_safe_relpath("/a", 100));
    assert_false(hfs_hub_safe_relpath("a/", 100));
    assert_false(hfs_hub_safe_relpath("a/../b", 100));
    assert_false(hfs_hub_safe_relpath("a/./b", 100));
    assert_false(hfs_hub_safe_relpath("a\\b", 100));
    assert_false(hfs_hub_safe_relpath("a\tb", 100));
    assert_false(hfs_hub_safe_relpath("abcdef", 5));
    char out[64];
    assert_int_equal(hfs_hub_folder("model", "acme/tiny", out, sizeof out), 0);
    assert_string_equal(out, "models--acme--tiny");
    assert_int_equal(hfs_hub_folder("dataset", "gpt2", out, sizeof out), 0);
    assert_string_equal(out, "datasets--gpt2");
    assert_int_equal(hfs_hub_folder("model", "acme/tiny", out, 10), -1);
}

/* ---- sha1 -------------------------------------------------------------- */

static void test_sha1_vectors(void **state)
{
    (void)state;
    struct hfs_sha1 s;
    char hex[41];
    hfs_sha1_init(&s);
    hfs_sha1_hex(&s, hex);
    assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    hfs_sha1_init(&s);
    hfs_sha1_update(&s, "abc", 3);
    hfs_sha1_hex(&s, hex);
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    hfs_sha1_init(&s);
    static char as[1000];
    memset(as, 'a', sizeof as);
    size_t total = 0, piece = 1;
    while (total < 1000000) { /* a million 'a' in uneven pieces */
        size_t n = piece % 997 + 1;
        if (n > 1000000 - total)
            n = 1000000 - total;
        hfs_sha1_update(&s, as, n);
        total += n;
        piece += 7;
    }
    hfs_sha1_hex(&s, hex);
    assert_string_equal(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    hfs_git_blob_init(&s, 3);
    hfs_sha1_update(&s, "{}\n", 3);
    hfs_sha1_hex(&s, hex);
    assert_string_equal(hex, CFG_OID);
}

/* ---- a cache tree ------------------------------------------------------ */

static char root[256], outside[300];

static void put_file(const char *path, const char *data, size_t n)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0755);
            *p = '/';
        }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void put_link(const char *target, const char *path)
{
    put_file(path, "", 0);
    unlink(path);
    assert_int_equal(symlink(target, path), 0);
}

static char big[1000];
static const char big_sha256[] = BIG_SHA256;

static int setup_cache(void **state)
{
    (void)state;
    char p[512];
    snprintf(root, sizeof root, "/tmp/hfs_hubcalls_XXXXXX");
    assert_non_null(mkdtemp(root));
    memset(big, 'x', sizeof big);
#define R(fmt, ...) (snprintf(p, sizeof p, "%s/" fmt, root, __VA_ARGS__), p)
    put_file(R("models--acme--tiny/blobs/%s", CFG_OID), "{}\n", 3);
    put_file(R("models--acme--tiny/blobs/%s", big_sha256), big, sizeof big);
    put_file(R("models--acme--tiny/refs/%s", "main"), SHA, 40);
    put_file(R("models--acme--tiny/refs/%s", "refs/pr/1"), PR "\n", 41);
    put_file(R("models--acme--tiny/refs/%s", "broken"), "cafe", 4);
    put_link("../../blobs/" CFG_OID, R("models--acme--tiny/snapshots/%s/config.json", SHA));
    put_link("../../../blobs/" BIG_SHA256, R("models--acme--tiny/snapshots/%s/onnx/model.onnx", SHA));
    put_file(R("models--acme--tiny/snapshots/%s/copied.txt", SHA), "hello\n", 6); /* no symlinks: a copy */
    put_link("../../blobs/"
             "ffffffffffffffffffffffffffffffffffffffff",
             R("models--acme--tiny/snapshots/%s/gone.bin", SHA));
    snprintf(outside, sizeof outside, "%s.outside", root);
    put_file(outside, "secret\n", 7);
    put_link(outside, R("models--acme--tiny/snapshots/%s/escape.txt", SHA));
    put_file(R("models--acme--tiny/.no_exist/%s/tokenizer.json", SHA), "", 0);
    put_file(R("models--acme--tiny/.no_exist/%s/gone.bin", SHA), "", 0);
    put_file(R("models--acme--tiny/.no_exist/%s/config.json", SHA), "", 0);
    put_link("../../blobs/" CFG_OID, R("models--acme--tiny/snapshots/%s/config.json", PR));
    put_file(R("models--Qdrant--Bge/refs/%s", "main"), SHA, 40);
    put_file(R("models--Qdrant--Bge/snapshots/%s/a.txt", SHA), "hello\n", 6);
#undef R
    return 0;
}

static int teardown_cache(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", root, outside);
    return system(cmd) == 0 ? 0 : -1;
}

static void roots_one(struct hfs_cache_roots *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir[0], sizeof r->dir[0], "%s", root);
    r->from[0] = "test";
    r->n = 1;
}

static void test_cache_find_revisions(void **state)
{
    (void)state;
    struct hfs_cache_roots r;
    struct hfs_snapshot s;
    const char *why;
    roots_one(&r);
    assert_int_equal(hfs_cache_find(&r, "model", "acme/tiny", "", &s, &why), 1);
    assert_string_equal(s.sha, SHA);
    assert_int_equal(hfs_cache_find(&r, "model", "acme/tiny", "HEAD", &s, &why), 1); /* no refs/HEAD: main */
    assert_string_equal(s.sha, SHA);
    assert_int_equal(hfs_cache_find(&r, "model", "acme/tiny", "refs/pr/1", &s, &why), 1);
    assert_string_equal(s.sha, PR);
    assert_int_equal(hfs_cache_find(&r, "model", "acme/tiny", PR, &s, &why), 1);
    assert_int_equal(hfs_cache_find(&r, "model", "acme/tiny", "v2", &s, &why), 0);
    assert_int_equal(hfs_cache_find(&r, "model", "acme/tiny", "broken", &s, &why), 0);
    assert_int_equal(hfs_cache_find(&r, "model", "acme/tiny", "fedcba9876543210fedcba9876543210fedcba98", &s, &why), 0);
    assert_int_equal(hfs_cache_find(&r, "dataset", "acme/tiny", "", &s, &why), 0);
    assert_int_equal(hfs_cache_find(&r, "model", "qdrant/bge", "main", &s, &why), 1); /* any case */
    assert_non_null(strstr(s.repo_dir, "models--Qdrant--Bge"));
}

static void test_cache_files_and_ids(void **state)
{
    (void)state;
    struct hfs_cache_roots r;
    struct hfs_snapshot s;
    struct hfs_cache_file f, *list;
    const char *why;
    char blob[4096];
    roots_one(&r);
    assert_int_equal(hfs_cache_find(&r, "model", "acme/tiny", "main", &s, &why), 1);
    assert_int_equal(hfs_cache_file(&s, "config.json", &f, blob, sizeof blob), 1);
    assert_string_equal(f.oid, CFG_OID);
    assert_int_equal(f.size, 3);
    assert_false(f.lfs);
    assert_int_equal(hfs_cache_file(&s, "onnx/model.onnx", &f, NULL, 0), 1);
    assert_true(f.lfs);
    assert_string_equal(f.etag, big_sha256);
    assert_int_equal(f.size, 1000);
    /* the pointer "version …\noid sha256:<h>\nsize 1000\n": 129 bytes */
    assert_int_equal(f.pointer_size, 129);
    assert_string_equal(f.oid, BIG_PTR_OID);
    assert_int_equal(hfs_cache_file(&s, "copied.txt", &f, NULL, 0), 1);
    assert_string_equal(f.oid, HELLO_OID); /* hashed: no blob name to read it from */
    assert_int_equal(hfs_cache_file(&s, "gone.bin", &f, NULL, 0), 0);
    assert_int_equal(hfs_cache_file(&s, "escape.txt", &f, NULL, 0), 0);
    assert_int_equal(hfs_cache_file(&s, "../refs/main", &f, NULL, 0), 0);
    assert_true(hfs_cache_listed(&s, "gone.bin"));
    assert_false(hfs_cache_listed(&s, "tokenizer.json"));
    assert_true(hfs_cache_no_exist(&s, "tokenizer.json"));
    long n = hfs_cache_list(&s, "", &list);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].path, "config.json");
    assert_string_equal(list[1].path, "copied.txt");
    assert_string_equal(list[2].path, "onnx/model.onnx");
    free(list);
    assert_int_equal(hfs_cache_list(&s, "onnx", &list), 1);
    free(list);
    assert_int_equal(hfs_cache_list(&s, "..", &list), 0);
    free(list);
}

static const char *fake_env(const char *name)
{
    static const char *const kv[][2] = {
        { "HOME", "/home/u" }, { "XDG_CACHE_HOME", "/xdg" }, { "HF_HOME", "" }, { "FE", "/fe" }, { NULL, NULL }
    };
    for (int i = 0; kv[i][0]; i++)
        if (!strcmp(kv[i][0], name))
            return kv[i][1];
    return NULL;
}

static const char *hub_cache_env(const char *name)
{
    if (!strcmp(name, "HUGGINGFACE_HUB_CACHE"))
        return "~/old";
    return fake_env(name);
}

static void test_cache_roots(void **state)
{
    (void)state;
    struct hfs_cache_roots r;
    hfs_cache_roots_default(fake_env, &r); /* HF_HOME empty: XDG next */
    assert_int_equal(r.n, 1);
    assert_string_equal(r.dir[0], "/xdg/huggingface/hub");
    hfs_cache_roots_default(hub_cache_env, &r);
    assert_string_equal(r.dir[0], "/home/u/old");
    assert_int_equal(hfs_cache_roots_add(&r, "$FE", fake_env, "rule"), 1);
    assert_int_equal(hfs_cache_roots_add(&r, "${FE}/sub/", fake_env, "rule"), 1);
    assert_int_equal(hfs_cache_roots_add(&r, "$FE", fake_env, "rule"), 0);      /* listed already */
    assert_int_equal(hfs_cache_roots_add(&r, "$NOPE/x", fake_env, "rule"), 0);  /* unset */
    assert_int_equal(hfs_cache_roots_add(&r, "${FE", fake_env, "rule"), 0);     /* malformed */
    assert_int_equal(hfs_cache_roots_add(&r, "relative", fake_env, "rule"), 0); /* not absolute */
    assert_int_equal(r.n, 3);
    assert_string_equal(r.dir[1], "/fe");
    assert_string_equal(r.dir[2], "/fe/sub");
}

/* ---- answers ----------------------------------------------------------- */

static int answer(const char *method, const char *path, const char *query, const char *range, const char *body,
                  struct hfs_cache_answer *a)
{
    struct hfs_cache_roots r;
    struct hfs_hubreq q;
    const char *why;
    roots_one(&r);
    assert_int_equal(hfs_hub_parse(method, path, query, &q, &why), 1);
    return hfs_cache_answer(&r, &q, range, body, body ? strlen(body) : 0, a);
}

static const char *hdr(const struct hfs_cache_answer *a, const char *name)
{
    static char v[200];
    size_t n;
    const char *p = hfs_answer_header(&a->a, name, &n);
    if (!p)
        return NULL;
    snprintf(v, sizeof v, "%.*s", (int)n, p);
    return v;
}

static void test_answers(void **state)
{
    (void)state;
    struct hfs_cache_answer *a = malloc(sizeof *a);
    assert_int_equal(answer("GET", "/api/models/acme/tiny", NULL, NULL, NULL, a), 1);
    assert_int_equal(a->a.status, 200);
    assert_non_null(strstr(a->a.body, "\"id\":\"acme/tiny\""));
    assert_non_null(strstr(a->a.body, "\"sha\":\"" SHA "\""));
    assert_non_null(strstr(a->a.body, "\"siblings\":[{\"rfilename\":\"config.json\"},{\"rfilename\":\"copied.txt\"},"
                                      "{\"rfilename\":\"onnx/model.onnx\"}]"));
    assert_null(strstr(a->a.body, "escape")); /* links leaving the repo are never listed */
    hfs_cache_answer_free(a);

    assert_int_equal(answer("GET", "/api/models/acme/tiny/tree/main", NULL, NULL, NULL, a), 1);
    assert_non_null(strstr(a->a.body, "{\"type\":\"directory\",\"oid\":\"0000000000000000000000000000000000000000\","
                                      "\"size\":0,\"path\":\"onnx\"}"));
    assert_null(strstr(a->a.body, "model.onnx")); /* not recursive */
    hfs_cache_answer_free(a);
    assert_int_equal(answer("GET", "/api/models/acme/tiny/tree/main/onnx", "recursive=1", NULL, NULL, a), 1);
    assert_non_null(strstr(a->a.body, "\"lfs\":{\"oid\":\""));
    assert_non_null(strstr(a->a.body, "\"oid\":\"" BIG_PTR_OID "\""));
    assert_non_null(strstr(a->a.body, "\"pointerSize\":129"));
    hfs_cache_answer_free(a);
    assert_int_equal(answer("GET", "/api/models/acme/tiny/tree/main/nothing", NULL, NULL, NULL, a), 0);

    assert_int_equal(answer("HEAD", "/acme/tiny/resolve/main/onnx/model.onnx", NULL, NULL, NULL, a), 1);
    assert_int_equal(a->a.status, 200);
    assert_string_equal(hdr(a, "X-Repo-Commit"), SHA);
    assert_string_equal(hdr(a, "Content-Length"), "1000");
    assert_string_equal(hdr(a, "X-Linked-Size"), "1000");
    char want[80];
    snprintf(want, sizeof want, "\"%s\"", big_sha256);
    assert_string_equal(hdr(a, "X-Linked-Etag"), want);
    assert_int_equal(a->a.body_len, 0);
    hfs_cache_answer_free(a);

    assert_int_equal(answer("GET", "/acme/tiny/resolve/main/config.json", NULL, NULL, NULL, a), 1);
    assert_string_equal(hdr(a, "ETag"), "\"" CFG_OID "\"");
    assert_null(hdr(a, "X-Linked-Etag"));
    assert_int_equal(a->a.body_len, 3);
    assert_memory_equal(a->a.body, "{}\n", 3);
    hfs_cache_answer_free(a);

    assert_int_equal(answer("GET", "/acme/tiny/resolve/main/onnx/model.onnx", NULL, "bytes=10-19", NULL, a), 1);
    assert_int_equal(a->a.status, 206);
    assert_string_equal(hdr(a, "Content-Range"), "bytes 10-19/1000");
    assert_int_equal(a->a.body_len, 10);
    hfs_cache_answer_free(a);
    assert_int_equal(answer("GET", "/acme/tiny/resolve/main/onnx/model.onnx", NULL, "bytes=-5", NULL, a), 1);
    assert_string_equal(hdr(a, "Content-Range"), "bytes 995-999/1000");
    hfs_cache_answer_free(a);
    assert_int_equal(answer("GET", "/acme/tiny/resolve/main/config.json", NULL, "bytes=5-", NULL, a), 1);
    assert_int_equal(a->a.status, 416);
    hfs_cache_answer_free(a);

    /* .no_exist: 404 EntryNotFound, only for what is not in the snapshot */
    assert_int_equal(answer("HEAD", "/acme/tiny/resolve/main/tokenizer.json", NULL, NULL, NULL, a), 1);
    assert_int_equal(a->a.status, 404);
    assert_string_equal(hdr(a, "X-Error-Code"), "EntryNotFound");
    assert_string_equal(hdr(a, "X-Repo-Commit"), SHA);
    hfs_cache_answer_free(a);
    assert_int_equal(answer("HEAD", "/acme/tiny/resolve/main/config.json", NULL, NULL, NULL, a), 1);
    assert_int_equal(a->a.status, 200); /* cached: never EntryNotFound */
    hfs_cache_answer_free(a);
    assert_int_equal(answer("HEAD", "/acme/tiny/resolve/main/gone.bin", NULL, NULL, NULL, a), 0); /* listed */
    assert_int_equal(answer("HEAD", "/acme/tiny/resolve/main/escape.txt", NULL, NULL, NULL, a), 0);
    assert_int_equal(answer("HEAD", "/acme/tiny/resolve/main/other.txt", NULL, NULL, NULL, a), 0);
    assert_int_equal(answer("HEAD", "/acme/tiny/resolve/v9/config.json", NULL, NULL, NULL, a), 0);
    assert_int_equal(answer("GET", "/api/models/acme/tiny/revision/refs%2Fpr%2F1", NULL, NULL, NULL, a), 1);
    assert_non_null(strstr(a->a.body, "\"sha\":\"" PR "\""));
    hfs_cache_answer_free(a);

    /* paths-info: first without the body (the layer must wait), then with it */
    assert_int_equal(answer("POST", "/api/models/acme/tiny/paths-info/main", NULL, NULL, NULL, a), 1);
    assert_true(a->need_body);
    assert_int_equal(answer("POST", "/api/models/acme/tiny/paths-info/main", NULL, NULL,
                            "paths=onnx&paths=config%2Ejson&paths=nope&expand=true", a),
                     1);
    assert_false(a->need_body);
    assert_non_null(strstr(a->a.body, "\"path\":\"onnx\""));
    assert_non_null(strstr(a->a.body, "\"path\":\"config.json\""));
    assert_null(strstr(a->a.body, "nope"));
    hfs_cache_answer_free(a);
    assert_int_equal(answer("POST", "/api/models/acme/tiny/paths-info/main", NULL, NULL,
                            "{\"paths\": [\"onnx/model.onnx\", \"../refs/main\"]}", a),
                     1);
    assert_non_null(strstr(a->a.body, "\"path\":\"onnx/model.onnx\""));
    assert_null(strstr(a->a.body, "refs"));
    hfs_cache_answer_free(a);
    free(a);
}

/* ---- the decision core ------------------------------------------------- */

struct fakeprobe {
    int hit;
    int calls;
    const struct hfs_rule *last_rule;
};

static int fake_probe(void *ctx, const struct hfs_request *r, const struct hfs_rule *rule)
{
    struct fakeprobe *f = ctx;
    (void)r;
    f->calls++;
    f->last_rule = rule;
    return f->hit;
}

static struct hfs_rules *rules_from(const char *json)
{
    struct hfs_diag d;
    memset(&d, 0, sizeof d);
    struct hfs_rules *r = hfs_rules_load_buffer("c.json", json, strlen(json), &d);
    if (!r)
        fail_msg("%s", d.first_error);
    hfs_rules_add_hub(r, "hub.test");
    return r;
}

static struct hfs_request req(const char *host, const char *method, const char *path, struct hfs_cache_probe *p)
{
    struct hfs_request q;
    memset(&q, 0, sizeof q);
    q.layer = HFS_LAYER_HTTP;
    q.host = host;
    q.port = 443;
    q.method = method;
    q.path = path;
    q.scheme = "https";
    q.http_known = 1;
    q.cache = p;
    return q;
}

static void test_decide_cache_action(void **state)
{
    (void)state;
    struct hfs_rules *r =
        rules_from("{\"version\":1,\"rules\":["
                   "{\"name\":\"c\",\"match\":{\"host\":\"@hub\",\"repo\":\"^acme/\"},\"action\":\"cache\"},"
                   "{\"name\":\"b\",\"match\":{\"host\":\"@hub\",\"path\":\"^/api/\"},\"action\":\"block\"}]}");
    struct fakeprobe f = { 1, 0, NULL };
    struct hfs_cache_probe p = { fake_probe, &f };
    struct hfs_verdict v;
    struct hfs_request q = req("hub.test", "GET", "/api/models/acme/tiny", &p);
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_RESPOND);
    assert_true(v.from_cache);
    assert_string_equal(v.rule, "c");
    assert_ptr_equal(f.last_rule, &r->rules[0]);
    f.hit = 0; /* miss: the next rule decides */
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_string_equal(v.rule, "b");
    q.path = "/api/models/other/x"; /* the repo pattern does not match: the cache is not even asked */
    f.calls = 0;
    f.hit = 1;
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_int_equal(f.calls, 0);
    q.path = "/acme/tiny/resolve/main/x"; /* no probe: a miss */
    q.cache = NULL;
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_ALLOW);
    /* at the connection: watched and answerable, still real (misses go on) */
    struct hfs_request c;
    memset(&c, 0, sizeof c);
    c.layer = HFS_LAYER_CONNECT;
    c.host = "hub.test";
    c.port = 443;
    hfs_decide(r, &c, &v);
    assert_int_equal(v.fate, HFS_CONN_REAL);
    assert_true(v.http_rules);
    assert_true(v.answerable);
    hfs_rules_free(r);

    r = rules_from("{\"version\":1,\"rules\":[{\"name\":\"c\",\"match\":{\"host\":\"@hub\"},\"action\":\"cache\","
                   "\"miss\":\"block\",\"status\":404}]}");
    q = req("hub.test", "GET", "/api/models/acme/tiny", &p);
    f.hit = 0;
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_true(v.http_form);
    assert_int_equal(v.block_status, 404);
    hfs_decide(r, &c, &v); /* every request answered or blocked: virtual */
    assert_int_equal(v.fate, HFS_CONN_VIRTUAL);
    hfs_rules_free(r);
}

static void test_decide_cached_predicate_and_offline(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from("{\"version\":1,\"rules\":["
                                     "{\"name\":\"s\",\"match\":{\"host\":\"@hub\",\"cached\":false},"
                                     "\"action\":\"strip-header\",\"header\":\"Authorization\"}]}");
    struct fakeprobe f = { 0, 0, NULL };
    struct hfs_cache_probe p = { fake_probe, &f };
    struct hfs_verdict v;
    struct hfs_request q = req("hub.test", "GET", "/api/models/acme/tiny", &p);
    hfs_decide(r, &q, &v);
    assert_int_equal(v.nedits, 1);
    f.hit = 1;
    hfs_decide(r, &q, &v);
    assert_int_equal(v.nedits, 0);
    q.path = "/api/whoami-v2"; /* not a Hub call the cache knows: never cached */
    f.calls = 0;
    hfs_decide(r, &q, &v);
    assert_int_equal(v.nedits, 1);
    assert_int_equal(f.calls, 0);
    hfs_rules_free(r);

    /* offline without a cache rule: the Hub cache answers (rule NULL) */
    r = rules_from("{\"version\":1,\"offline\":true}");
    q = req("hub.test", "HEAD", "/acme/tiny/resolve/main/config.json", &p);
    f.hit = 1;
    f.last_rule = &r->rules[0];
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_RESPOND);
    assert_true(v.from_cache);
    assert_string_equal(v.rule, "offline");
    assert_null(f.last_rule);
    f.hit = 0;
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_true(v.http_form);
    q.host = "other.test"; /* not a Hub host: not answered from the cache */
    f.hit = 1;
    hfs_decide(r, &q, &v);
    assert_false(v.from_cache);
    hfs_rules_free(r);
}

static void test_rules_cache_errors(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        { "{\"version\":1,\"rules\":[{\"match\":{},\"action\":\"cache\",\"miss\":\"drop\"}]}",
          "c.json:1:59: rules[0].miss: unknown miss \"drop\" (known: next, block)" },
        { "{\"version\":1,\"rules\":[{\"match\":{},\"action\":\"cache\",\"cache_dirs\":[\"rel/dir\"]}]}",
          "c.json:1:66: rules[0].cache_dirs[0]: a cache folder must be absolute, \"$VAR...\" or \"~/...\" (got "
          "\"rel/dir\")" },
        { "{\"version\":1,\"rules\":[{\"match\":{\"cached\":1},\"action\":\"allow\"}]}",
          "c.json:1:42: rules[0].match.cached: expected true or false, found a number" },
        { "{\"version\":1,\"rules\":[{\"match\":{},\"action\":\"allow\",\"miss\":\"next\"}]}", NULL },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct hfs_diag d;
        memset(&d, 0, sizeof d);
        struct hfs_rules *r = hfs_rules_load_buffer("c.json", bad[i][0], strlen(bad[i][0]), &d);
        assert_null(r);
        if (bad[i][1])
            assert_string_equal(d.first_error, bad[i][1]);
        else
            assert_non_null(strstr(d.first_error, "\"miss\" does not apply to action allow"));
    }
}

/* ---- the engine: an answer that waits for the body ---------------------- */

struct dctx {
    int released, finished;
    char got[256];
    int got_null;
};

static char *finish(void *pending, const char *body, size_t len, size_t *alen, int *close_after)
{
    struct dctx *d = pending;
    d->finished++;
    d->got_null = body == NULL;
    if (body)
        snprintf(d->got, sizeof d->got, "%.*s", (int)len, body);
    char *a = malloc(64);
    int n = snprintf(a, 64, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    *alen = (size_t)n;
    *close_after = 0;
    return a;
}

static void release(void *pending) { ((struct dctx *)pending)->released++; }

static struct dctx dc;
static int judged;

static long j_send(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    (void)p;
    return (long)n;
}
static int j_wait(void *ctx)
{
    (void)ctx;
    return 0;
}
static long j_recv(void *ctx, char *b, size_t n)
{
    (void)ctx;
    (void)b;
    (void)n;
    return -1;
}
static void j_judge(void *ctx, struct hfs_conn *c, const struct hfs_http1_head *h, const char *head, size_t len,
                    struct hfs_conn_verdict *v)
{
    (void)ctx;
    (void)c;
    (void)head;
    (void)len;
    judged++;
    if (h->path_len >= 5 && memcmp(h->path, "/info", 5) == 0) {
        v->act = HFS_CONN_ANSWER;
        v->pending = &dc;
        v->finish = finish;
        v->release = release;
    } else {
        static const char a[] = "HTTP/1.1 204 No Content\r\n\r\n";
        v->act = HFS_CONN_ANSWER;
        v->answer = a;
        v->answer_len = sizeof a - 1;
    }
}

static void write_all(struct hfs_conn *c, const char *s, size_t piece)
{
    struct hfs_conn_io io = { j_send, j_wait, j_recv, j_judge, NULL };
    size_t n = strlen(s);
    for (size_t off = 0; off < n;) {
        size_t k = n - off < piece ? n - off : piece;
        long w = hfs_conn_write(c, s + off, k, &io);
        assert_true(w > 0);
        off += (size_t)w;
    }
}

static void test_conn_answer_after_body(void **state)
{
    (void)state;
    char buf[256];
    for (size_t piece = 1; piece <= 64; piece *= 4) {
        memset(&dc, 0, sizeof dc);
        struct hfs_conn *c = hfs_conn_new(1);
        write_all(c, "POST /info HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\npaths=a.txt", piece);
        /* readable right after the last body byte, no further write */
        long n = hfs_conn_read_queued(c, buf, sizeof buf);
        assert_true(n > 0);
        buf[n] = 0;
        assert_non_null(strstr(buf, "\r\n\r\nok"));
        assert_string_equal(dc.got, "paths=a.txt");
        assert_int_equal(dc.finished, 1);
        assert_int_equal(dc.released, 1);
        /* chunked, then a pipelined request after it, in one write */
        write_all(c,
                  "POST /info HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                  "GET /next HTTP/1.1\r\nHost: x\r\n\r\n",
                  piece);
        assert_string_equal(dc.got, "abcde");
        n = hfs_conn_read_queued(c, buf, sizeof buf);
        buf[n > 0 ? n : 0] = 0;
        assert_non_null(strstr(buf, "ok"));
        n = hfs_conn_read_queued(c, buf, sizeof buf);
        buf[n > 0 ? n : 0] = 0;
        assert_non_null(strstr(buf, "204"));
        /* no body at all */
        write_all(c, "POST /info HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", piece);
        assert_string_equal(dc.got, "");
        assert_int_equal(dc.finished, 3);
        assert_int_equal(dc.released, 3);
        hfs_conn_free(c);
    }
    /* freed before the body ends: released once, never finished */
    memset(&dc, 0, sizeof dc);
    struct hfs_conn *c = hfs_conn_new(1);
    write_all(c, "POST /info HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc", 64);
    hfs_conn_free(c);
    assert_int_equal(dc.finished, 0);
    assert_int_equal(dc.released, 1);
    /* a body over the limit: finish gets NULL */
    memset(&dc, 0, sizeof dc);
    c = hfs_conn_new(1);
    char head[128];
    snprintf(head, sizeof head, "POST /info HTTP/1.1\r\nHost: x\r\nContent-Length: %u\r\n\r\n", HFS_CONN_MAX_BODY + 1);
    write_all(c, head, 4096);
    char *body = malloc(HFS_CONN_MAX_BODY + 2);
    memset(body, 'b', HFS_CONN_MAX_BODY + 1);
    body[HFS_CONN_MAX_BODY + 1] = 0;
    write_all(c, body, 65536);
    free(body);
    assert_int_equal(dc.finished, 1);
    assert_true(dc.got_null);
    hfs_conn_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hubpath_forms),
        cmocka_unit_test(test_hubpath_not_recognised),
        cmocka_unit_test(test_hubpath_hostile),
        cmocka_unit_test(test_safe_relpath_and_folder),
        cmocka_unit_test(test_sha1_vectors),
        cmocka_unit_test(test_cache_find_revisions),
        cmocka_unit_test(test_cache_files_and_ids),
        cmocka_unit_test(test_cache_roots),
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_decide_cache_action),
        cmocka_unit_test(test_decide_cached_predicate_and_offline),
        cmocka_unit_test(test_rules_cache_errors),
        cmocka_unit_test(test_conn_answer_after_body),
    };
    return cmocka_run_group_tests(tests, setup_cache, teardown_cache);
}
