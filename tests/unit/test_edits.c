/* test_edits: unit tests of the header edits (shim/core/edits.h): turning
 * a verdict's strip-header/set-header rules into concrete edits (values
 * from the environment or a file through callbacks, prefix, first line,
 * trailing white space, values left out and why), and applying them to
 * libcurl-style header lines: kept lines in order, a "Name:" line per
 * unconditional removal, set lines, edits in rule order, and -1 when the
 * output does not fit. */
#include "unit.h"
#include "unit_rules.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "decide.h"
#include "edits.h"
#include "regex.h"
#include "rules.h"

/* ---- a fake environment and file system ------------------------------- */

struct fake {
    const char *const *env;   /* NAME, value, ..., NULL */
    const char *const *files; /* path, content, ..., NULL */
    int nskipped;
    const struct hfs_rule *skipped_rule[8];
    const char *skipped_why[8];
    int nfile_calls;
    size_t last_cap;
};

static const char *fake_env(void *ctx, const char *name)
{
    const struct fake *f = ctx;
    for (size_t i = 0; f->env && f->env[i]; i += 2)
        if (strcmp(f->env[i], name) == 0)
            return f->env[i + 1];
    return NULL;
}

static long fake_file(void *ctx, const char *path, char *buf, size_t cap)
{
    struct fake *f = ctx;
    f->nfile_calls++;
    f->last_cap = cap;
    for (size_t i = 0; f->files && f->files[i]; i += 2)
        if (strcmp(f->files[i], path) == 0) {
            size_t n = strlen(f->files[i + 1]);
            if (n >= cap)
                n = cap - 1;
            memcpy(buf, f->files[i + 1], n);
            buf[n] = 0;
            return (long)n;
        }
    errno = ENOENT;
    return -1;
}

static void fake_skipped(void *ctx, const struct hfs_rule *rule, const char *why)
{
    struct fake *f = ctx;
    if (f->nskipped < 8) {
        f->skipped_rule[f->nskipped] = rule;
        f->skipped_why[f->nskipped] = why;
    }
    f->nskipped++;
}

/* The verdict of a libcurl request to host. */
static struct hfs_verdict decide_for(const struct hfs_rules *r, const char *host)
{
    struct hfs_request q;
    struct hfs_verdict v;
    memset(&q, 0, sizeof q);
    q.layer = HFS_LAYER_CURL;
    q.host = host;
    q.port = 443;
    q.method = "GET";
    q.scheme = "https";
    q.path = "/";
    q.http_known = 1;
    hfs_decide(r, &q, &v);
    return v;
}

/* A verdict holding rules[0..n) of r as its edits (in that order). */
static struct hfs_verdict edits_of(const struct hfs_rules *r)
{
    struct hfs_verdict v;
    memset(&v, 0, sizeof v);
    v.kind = HFS_V_ALLOW;
    for (size_t i = 0; i < r->nrules; i++)
        v.edits[v.nedits++] = &r->rules[i];
    return v;
}

#define SET_ENV(hdr, var, pre) "{\"action\":\"set-header\",\"header\":\"" hdr "\",\"from_env\":\"" var "\"" pre "}"
#define SET_FILE(hdr, path, pre) "{\"action\":\"set-header\",\"header\":\"" hdr "\",\"from_file\":\"" path "\"" pre "}"

/* ---- hfs_edits_resolve ------------------------------------------------ */

static void test_resolve_env_with_prefix(void **state)
{
    (void)state;
    static const char *const env[] = { "MY_TOKEN", "hf_abc123", "KEY", "k\tv", NULL };
    struct fake f = { env, NULL, 0, { 0 }, { 0 }, 0, 0 };
    struct hfs_value_source src = { fake_env, fake_file, fake_skipped, &f };
    struct hfs_rules *r = rules_from("{\"version\":1,\"rules\":["
                                     "{\"match\":{\"host\":\"@hub\"},\"action\":\"set-header\",\"header\":"
                                     "\"Authorization\",\"from_env\":\"MY_TOKEN\",\"prefix\":\"Bearer \"},"
                                     "{\"match\":{\"host\":\"@hub\"},\"action\":\"set-header\",\"header\":\"X-Key\","
                                     "\"from_env\":\"KEY\"}]}");
    struct hfs_verdict v = decide_for(r, "huggingface.co");
    assert_int_equal(v.nedits, 2);
    struct hfs_hdr_edit out[4];
    char buf[128];
    memset(buf, 'Z', sizeof buf);
    assert_int_equal(hfs_edits_resolve(&v, &src, out, 4, buf, sizeof buf), 2);
    assert_int_equal(out[0].remove, 0);
    assert_string_equal(out[0].name, "Authorization");
    assert_string_equal(out[0].value, "Bearer hf_abc123");
    assert_null(out[0].value_re);
    assert_ptr_equal(out[0].rule, &r->rules[0]);
    assert_ptr_equal(out[0].value, buf); /* copied into buf, one after the other */
    assert_string_equal(out[1].name, "X-Key");
    assert_string_equal(out[1].value, "k\tv"); /* a tab is not a control character here */
    assert_ptr_equal(out[1].value, buf + 17);
    assert_ptr_equal(out[1].rule, &r->rules[1]);
    assert_int_equal(f.nskipped, 0);
    assert_int_equal(f.nfile_calls, 0);
    /* not a Hub host: no edits at all */
    v = decide_for(r, "pypi.org");
    assert_int_equal(v.nedits, 0);
    assert_int_equal(hfs_edits_resolve(&v, &src, out, 4, buf, sizeof buf), 0);
    hfs_rules_free(r);
}

static void test_resolve_file_first_line_trimmed(void **state)
{
    (void)state;
    static const char *const files[] = { "/multi", "key-one\nsecond line\n", "/crlf",  "tok\r\n",
                                         "/ws",    "Bearer a b \t \r\nx",    "/noeol", "plain",
                                         NULL };
    struct fake f = { NULL, files, 0, { 0 }, { 0 }, 0, 0 };
    struct hfs_value_source src = { fake_env, fake_file, fake_skipped, &f };
    struct hfs_rules *r = rules_from("{\"version\":1,\"rules\":[" SET_FILE("X-A", "/multi", "") "," SET_FILE(
        "X-B", "/crlf", ",\"prefix\":\"Token \"") "," SET_FILE("X-C", "/ws",
                                                               "") "," SET_FILE("X-D", "/noeol",
                                                                                ",\"prefix\":\"p=\"") "]}");
    struct hfs_verdict v = edits_of(r);
    struct hfs_hdr_edit out[8];
    char buf[256];
    assert_int_equal(hfs_edits_resolve(&v, &src, out, 8, buf, sizeof buf), 4);
    assert_string_equal(out[0].value, "key-one");
    assert_string_equal(out[1].value, "Token tok");
    assert_string_equal(out[2].value, "Bearer a b");
    assert_string_equal(out[3].value, "p=plain");
    assert_string_equal(out[3].name, "X-D");
    assert_int_equal(f.nfile_calls, 4);
    assert_int_equal(f.nskipped, 0);
    /* the file is read after the prefix: its room is what is left */
    assert_int_equal(f.last_cap, sizeof buf - (8 + 10 + 11) - 2);
    hfs_rules_free(r);
}

static void test_resolve_skips_missing_empty_and_control(void **state)
{
    (void)state;
    static const char *const env[] = {
        "EMPTY", "", "CTL", "a\x01z", "NL", "tok\n", "DEL", "ok\x7f", "GOOD", "g", NULL
    };
    static const char *const files[] = { "/empty",     "",    "/blank", " \t\r\n", "/firstempty",
                                         "\nsecond\n", "/cr", "a\rb\n", NULL };
    struct fake f = { env, files, 0, { 0 }, { 0 }, 0, 0 };
    struct hfs_value_source src = { fake_env, fake_file, fake_skipped, &f };
    struct hfs_rules *r = rules_from("{\"version\":1,\"rules\":["
                                     "{\"action\":\"strip-header\",\"header\":\"Cookie\"}," /* 0 */
                                     SET_ENV("X-1", "UNSET", ",\"prefix\":\"Bearer \"") "," /* 1 */
                                     SET_ENV("X-2", "EMPTY", "") ","                        /* 2 */
                                     SET_ENV("X-3", "CTL", "") ","                          /* 3 */
                                     SET_ENV("X-4", "NL", "") ","                           /* 4 */
                                     SET_FILE("X-5", "/missing", "") ","                    /* 5 */
                                     SET_FILE("X-6", "/empty", "") ","                      /* 6 */
                                     SET_FILE("X-7", "/blank", "") ","                      /* 7 */
                                     SET_FILE("X-8", "/firstempty", "") ","                 /* 8 */
                                     SET_FILE("X-9", "/cr", "") ","                         /* 9 */
                                     SET_ENV("X-10", "DEL", "") ","                         /* 10 */
                                     SET_ENV("X-11", "GOOD", "") "]}");                     /* 11 */
    struct hfs_verdict v = edits_of(r);
    assert_int_equal(v.nedits, 12);
    struct hfs_hdr_edit out[12];
    char buf[256];
    assert_int_equal(hfs_edits_resolve(&v, &src, out, 12, buf, sizeof buf), 3);
    assert_int_equal(out[0].remove, 1);
    assert_string_equal(out[0].name, "Cookie");
    assert_null(out[0].value);
    assert_string_equal(out[1].name, "X-10");
    assert_string_equal(out[1].value, "ok\x7f");
    assert_string_equal(out[2].name, "X-11");
    assert_string_equal(out[2].value, "g");
    assert_ptr_equal(out[2].rule, &r->rules[11]);
    static const char *const why[] = {
        "the variable is not set",
        "the variable is not set",
        "the value holds a control character",
        "the value holds a control character",
        "the file cannot be read",
        "the file is empty",
        "the file is empty",
        "the file is empty",
        "the value holds a control character",
    };
    assert_int_equal(f.nskipped, 9);
    for (int i = 0; i < 8; i++) {
        assert_ptr_equal(f.skipped_rule[i], &r->rules[i + 1]);
        assert_string_equal(f.skipped_why[i], why[i]);
    }
    /* only the first 8 are kept by the fake; the 9th is counted */
    hfs_rules_free(r);
    /* the 9th, alone */
    r = rules_from("{\"version\":1,\"rules\":[" SET_FILE("X-9", "/cr", "") "]}");
    v = edits_of(r);
    f.nskipped = 0;
    assert_int_equal(hfs_edits_resolve(&v, &src, out, 12, buf, sizeof buf), 0);
    assert_int_equal(f.nskipped, 1);
    assert_string_equal(f.skipped_why[0], why[8]);
    hfs_rules_free(r);
}

static void test_resolve_strip_edits_and_limits(void **state)
{
    (void)state;
    static const char *const env[] = { "T", "hf_abcdef", NULL };
    struct fake f = { env, NULL, 0, { 0 }, { 0 }, 0, 0 };
    struct hfs_value_source src = { fake_env, fake_file, fake_skipped, &f };
    struct hfs_rules *r = rules_from(
        "{\"version\":1,\"rules\":["
        "{\"action\":\"strip-header\",\"header\":\"Authorization\",\"value\":\"^Basic \"}," SET_ENV(
            "Authorization", "T", ",\"prefix\":\"Bearer \"") ","
                                                             "{\"action\":\"strip-header\",\"header\":\"Cookie\"}]}");
    struct hfs_verdict v = edits_of(r);
    struct hfs_hdr_edit out[3];
    char buf[64];
    assert_int_equal(hfs_edits_resolve(&v, &src, out, 3, buf, sizeof buf), 3);
    assert_int_equal(out[0].remove, 1);
    assert_ptr_equal(out[0].value_re, r->rules[0].args.value_re);
    assert_string_equal(out[1].value, "Bearer hf_abcdef");
    assert_int_equal(out[2].remove, 1);
    assert_null(out[2].value_re);
    /* cap: only the first edits */
    assert_int_equal(hfs_edits_resolve(&v, &src, out, 1, buf, sizeof buf), 1);
    assert_int_equal(out[0].remove, 1);
    assert_string_equal(out[0].name, "Authorization");
    assert_int_equal(f.nskipped, 0);
    /* "Bearer hf_abcdef" needs 17 bytes: 16 is too little */
    assert_int_equal(hfs_edits_resolve(&v, &src, out, 3, buf, 16), 2);
    assert_int_equal(out[1].remove, 1);
    assert_string_equal(out[1].name, "Cookie");
    assert_int_equal(f.nskipped, 1);
    assert_string_equal(f.skipped_why[0], "the value is too long");
    assert_int_equal(hfs_edits_resolve(&v, &src, out, 3, buf, 17), 3);
    assert_string_equal(out[1].value, "Bearer hf_abcdef");
    /* not even the prefix and one byte fit */
    f.nskipped = 0;
    assert_int_equal(hfs_edits_resolve(&v, &src, out, 3, buf, 8), 2);
    assert_string_equal(f.skipped_why[0], "no room for the value");
    /* no source at all: left out, nobody to tell */
    assert_int_equal(hfs_edits_resolve(&v, NULL, out, 3, buf, sizeof buf), 2);
    hfs_rules_free(r);
}

/* ---- hfs_edit_removes ------------------------------------------------- */

static void test_edit_removes(void **state)
{
    (void)state;
    char err[200];
    struct hfs_re *re = hfs_re_compile("^Bearer hf_", 0, err, sizeof err);
    assert_non_null(re);
    struct hfs_hdr_edit strip = { 1, "Authorization", NULL, NULL, NULL };
    struct hfs_hdr_edit cond = { 1, "Authorization", re, NULL, NULL };
    struct hfs_hdr_edit set = { 0, "X-Key", NULL, "v", NULL };
    assert_int_equal(hfs_edit_removes(&strip, "authorization", 13, "x", 1), 1);
    assert_int_equal(hfs_edit_removes(&strip, "Authorization", 13, "", 0), 1);
    assert_int_equal(hfs_edit_removes(&strip, "Authorizatio", 12, "x", 1), 0);
    assert_int_equal(hfs_edit_removes(&strip, "Authorization2", 14, "x", 1), 0);
    assert_int_equal(hfs_edit_removes(&strip, "Authorization: x", 13, "x", 1), 1); /* by length */
    assert_int_equal(hfs_edit_removes(&cond, "AUTHORIZATION", 13, "Bearer hf_x", 11), 1);
    assert_int_equal(hfs_edit_removes(&cond, "Authorization", 13, "Bearer hf", 9), 0);
    assert_int_equal(hfs_edit_removes(&cond, "Authorization", 13, "Basic hf_", 9), 0);
    assert_int_equal(hfs_edit_removes(&cond, "Authorization", 13, "Bearer hf_x", 9), 0); /* value length counts */
    assert_int_equal(hfs_edit_removes(&set, "x-key", 5, "anything", 8), 1);
    assert_int_equal(hfs_edit_removes(&set, "X-Keys", 6, "v", 1), 0);
    hfs_re_free(re);
}

/* ---- hfs_edits_apply_lines -------------------------------------------- */

static long apply(const char *const *in, size_t n, const struct hfs_hdr_edit *e, size_t ne, const char **out,
                  size_t outcap, char *buf, size_t buflen)
{
    memset(out, 0, outcap * sizeof *out);
    return hfs_edits_apply_lines(in, n, e, ne, out, outcap, buf, buflen);
}

static void assert_lines(const char *const *out, long n, const char *const *want)
{
    long w = 0;
    while (want[w])
        w++;
    assert_int_equal(n, w);
    for (long i = 0; i < n; i++)
        assert_string_equal(out[i], want[i]);
}

static void test_apply_strip_keeps_order_and_adds_empty_line(void **state)
{
    (void)state;
    static const char *const in[] = { "Accept: */*",
                                      "Authorization: Bearer hf_x",
                                      "X-A: 1",
                                      "authorization;",
                                      "AUTHORIZATION : Basic y",
                                      "Authorization-Extra: keep",
                                      "X-B:" };
    struct hfs_hdr_edit e[] = { { 1, "Authorization", NULL, NULL, NULL } };
    const char *out[16];
    char buf[64];
    long n = apply(in, 7, e, 1, out, 16, buf, sizeof buf);
    static const char *const want[] = { "Accept: */*", "X-A: 1",         "Authorization-Extra: keep",
                                        "X-B:",        "Authorization:", NULL };
    assert_lines(out, n, want);
    /* kept lines are the caller's own strings; the new one is in buf */
    assert_ptr_equal(out[0], in[0]);
    assert_ptr_equal(out[1], in[2]);
    assert_ptr_equal(out[2], in[5]);
    assert_ptr_equal(out[3], in[6]);
    assert_ptr_equal(out[4], buf);
    /* no input lines at all: the "Name:" line still stops libcurl's own */
    n = apply(in, 0, e, 1, out, 16, buf, sizeof buf);
    static const char *const want0[] = { "Authorization:", NULL };
    assert_lines(out, n, want0);
    /* no edits: the input as is */
    n = apply(in, 3, e, 0, out, 16, buf, sizeof buf);
    static const char *const want1[] = { "Accept: */*", "Authorization: Bearer hf_x", "X-A: 1", NULL };
    assert_lines(out, n, want1);
}

static void test_apply_conditional_strip(void **state)
{
    (void)state;
    char err[200];
    struct hfs_re *re = hfs_re_compile("^Bearer hf_", 0, err, sizeof err);
    assert_non_null(re);
    static const char *const in[] = { "Authorization: Bearer hf_secret", "Authorization: Basic abc", "X: y",
                                      "authorization:   Bearer hf_other  ", "Authorization:" };
    struct hfs_hdr_edit e[] = { { 1, "Authorization", re, NULL, NULL } };
    const char *out[8];
    char buf[64];
    long n = apply(in, 5, e, 1, out, 8, buf, sizeof buf);
    /* only matching explicit lines go; no "Authorization:" is added (and
     * the existing empty one does not match) */
    static const char *const want[] = { "Authorization: Basic abc", "X: y", "Authorization:", NULL };
    assert_lines(out, n, want);
    assert_ptr_equal(out[2], in[4]);
    hfs_re_free(re);
}

static void test_apply_set_replaces_case_insensitively(void **state)
{
    (void)state;
    static const char *const in[] = { "x-api-key: old1", "Accept: a", "X-API-KEY:", "X-Api-Key-Other: z",
                                      "X-Api-Key;" };
    struct hfs_hdr_edit e[] = { { 0, "X-Api-Key", NULL, "new", NULL } };
    const char *out[8];
    char buf[64];
    long n = apply(in, 5, e, 1, out, 8, buf, sizeof buf);
    static const char *const want[] = { "Accept: a", "X-Api-Key-Other: z", "X-Api-Key: new", NULL };
    assert_lines(out, n, want);
    assert_ptr_equal(out[2], buf);
    assert_int_equal(buf[14], 0);
}

static void test_apply_edits_in_rule_order(void **state)
{
    (void)state;
    static const char *const in[] = { "Cookie: a=1", "Authorization: Basic x", "Accept: */*" };
    const char *out[8];
    char buf[128];
    /* strip then set: the set value is sent, libcurl's own is stopped */
    struct hfs_hdr_edit e1[] = { { 1, "Authorization", NULL, NULL, NULL },
                                 { 0, "Authorization", NULL, "Bearer t", NULL },
                                 { 1, "Cookie", NULL, NULL, NULL } };
    long n = apply(in, 3, e1, 3, out, 8, buf, sizeof buf);
    static const char *const want1[] = { "Accept: */*", "Authorization:", "Authorization: Bearer t", "Cookie:", NULL };
    assert_lines(out, n, want1);
    /* set then strip: the later strip removes the set value too */
    struct hfs_hdr_edit e2[] = { { 0, "Authorization", NULL, "Bearer t", NULL },
                                 { 1, "authorization", NULL, NULL, NULL } };
    n = apply(in, 3, e2, 2, out, 8, buf, sizeof buf);
    static const char *const want2[] = { "Cookie: a=1", "Accept: */*", "authorization:", NULL };
    assert_lines(out, n, want2);
    /* two sets of one header: the later one wins, one line */
    struct hfs_hdr_edit e3[] = { { 0, "X-K", NULL, "first", NULL }, { 0, "x-k", NULL, "second", NULL } };
    n = apply(in, 3, e3, 2, out, 8, buf, sizeof buf);
    static const char *const want3[] = { "Cookie: a=1", "Authorization: Basic x", "Accept: */*", "x-k: second", NULL };
    assert_lines(out, n, want3);
    /* set, then a conditional strip that matches the set value */
    char err[200];
    struct hfs_re *re = hfs_re_compile("^Bearer ", 0, err, sizeof err);
    assert_non_null(re);
    struct hfs_hdr_edit e4[] = { { 0, "Authorization", NULL, "Bearer t", NULL },
                                 { 1, "Authorization", re, NULL, NULL },
                                 { 0, "X-Other", NULL, "Bearer u", NULL } };
    n = apply(in, 3, e4, 3, out, 8, buf, sizeof buf);
    static const char *const want4[] = { "Cookie: a=1", "Accept: */*", "X-Other: Bearer u", NULL };
    assert_lines(out, n, want4);
    /* ... and one that does not */
    e4[0].value = "Basic t";
    n = apply(in, 3, e4, 3, out, 8, buf, sizeof buf);
    static const char *const want5[] = { "Cookie: a=1", "Accept: */*", "Authorization: Basic t", "X-Other: Bearer u",
                                         NULL };
    assert_lines(out, n, want5);
    hfs_re_free(re);
}

static void test_apply_too_small(void **state)
{
    (void)state;
    static const char *const in[] = { "A: 1", "Cookie: c", "B: 2" };
    struct hfs_hdr_edit e[] = { { 1, "Cookie", NULL, NULL, NULL }, { 0, "X-T", NULL, "v", NULL } };
    const char *out[8];
    char buf[32];
    /* 4 lines out: A, B, "Cookie:", "X-T: v"; 8 + 7 bytes of buf */
    assert_int_equal(apply(in, 3, e, 2, out, 4, buf, 15), 4);
    assert_string_equal(out[2], "Cookie:");
    assert_string_equal(out[3], "X-T: v");
    assert_int_equal(apply(in, 3, e, 2, out, 3, buf, 15), -1); /* no room for the set line */
    assert_int_equal(apply(in, 3, e, 2, out, 2, buf, 15), -1); /* nor for "Cookie:" */
    assert_int_equal(apply(in, 3, e, 2, out, 1, buf, 15), -1); /* nor for the kept lines */
    assert_int_equal(apply(in, 3, e, 0, out, 0, buf, 15), -1);
    assert_int_equal(apply(in, 3, e, 2, out, 4, buf, 14), -1); /* "X-T: v" does not fit */
    assert_int_equal(apply(in, 3, e, 2, out, 4, buf, 7), -1);  /* "Cookie:" does not fit */
    assert_int_equal(apply(in, 3, e, 2, out, 4, buf, 0), -1);
    assert_int_equal(apply(in, 0, e, 0, out, 0, buf, 0), 0);
    assert_int_equal(apply(in, 3, e, 1, out, 3, buf, 8), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_env_with_prefix),
        cmocka_unit_test(test_resolve_file_first_line_trimmed),
        cmocka_unit_test(test_resolve_skips_missing_empty_and_control),
        cmocka_unit_test(test_resolve_strip_edits_and_limits),
        cmocka_unit_test(test_edit_removes),
        cmocka_unit_test(test_apply_strip_keeps_order_and_adds_empty_line),
        cmocka_unit_test(test_apply_conditional_strip),
        cmocka_unit_test(test_apply_set_replaces_case_insensitively),
        cmocka_unit_test(test_apply_edits_in_rule_order),
        cmocka_unit_test(test_apply_too_small),
    };
    return cmocka_run_group_tests_name("edits", tests, NULL, NULL);
}
