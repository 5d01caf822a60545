/* test_regex: unit tests of the PCRE2 wrapper (shim/core/regex.h): regex
 * compile errors with PCRE2's message and offset, matching (caseless,
 * UTF-8, invalid UTF-8 subjects, explicit lengths), glob conversion edge
 * cases, and matches that run before, during and after the lazy JIT
 * build, from several threads at once. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "unit.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "regex.h"

static struct hfs_re *re_ok(const char *src, int caseless)
{
    char err[256] = "";
    struct hfs_re *re = hfs_re_compile(src, caseless, err, sizeof err);
    if (!re)
        print_message("%s: %s\n", src, err);
    assert_non_null(re);
    return re;
}

static int m(struct hfs_re *re, const char *s) { return hfs_re_match(re, s, strlen(s)); }

static void re_err(const char *src, const char *want)
{
    char err[256] = "";
    assert_null(hfs_re_compile(src, 0, err, sizeof err));
    assert_string_equal(err, want);
}

static void test_compile_errors(void **state)
{
    (void)state;
    re_err("(", "missing closing parenthesis at offset 1");
    re_err("^/a)", "unmatched closing parenthesis at offset 3");
    re_err("*x", "quantifier does not follow a repeatable item at offset 0");
    re_err("[ab", "missing terminating ] for character class at offset 3");
    re_err("a{2,1}", "numbers out of order in {} quantifier at offset 5");
    re_err("\\", "\\ at end of pattern at offset 1");
    re_err("(?<n>a)(?<n>b)", "two named subpatterns have the same name (PCRE2_DUPNAMES not set) at offset 12");
    re_err("a\xff", "UTF-8 error: illegal byte (0xfe or 0xff) at offset 1");
    /* no error buffer: still NULL, nothing written */
    assert_null(hfs_re_compile("(", 0, NULL, 0));
    char small[8] = "";
    assert_null(hfs_re_compile("(", 0, small, sizeof small));
    assert_string_equal(small, "missing");
}

static void test_match_basics(void **state)
{
    (void)state;
    struct hfs_re *re = re_ok("^/api/models/[^/]+$", 0);
    assert_true(m(re, "/api/models/bert"));
    assert_false(m(re, "/api/models/a/b"));
    assert_false(m(re, "/API/models/bert")); /* case-sensitive */
    hfs_re_free(re);
    re = re_ok("^/api/", 1);
    assert_true(m(re, "/API/x"));
    hfs_re_free(re);
    re = re_ok("", 0); /* the empty regex matches everything */
    assert_true(m(re, ""));
    assert_true(m(re, "x"));
    hfs_re_free(re);
    hfs_re_free(NULL);
}

static void test_utf8(void **state)
{
    (void)state;
    struct hfs_re *re = re_ok("^.$", 0);
    assert_true(m(re, "\xC3\xA9")); /* one character, two bytes */
    assert_false(m(re, "ab"));
    hfs_re_free(re);
    re = re_ok("^\xC3\xA9T\xC3\xA9$", 1);
    assert_true(m(re, "\xC3\x89t\xC3\x89")); /* caseless beyond ASCII */
    hfs_re_free(re);
}

static void test_invalid_utf8_subject_still_searched(void **state)
{
    (void)state;
    struct hfs_re *re = re_ok("^/secret", 0);
    assert_true(m(re, "/secret\xff"));
    assert_true(m(re, "/secret/\xC3"));
    assert_false(m(re, "\xff/secret"));
    hfs_re_free(re);
    re = re_ok("token=", 0);
    assert_true(m(re, "a=\xfe\xff&token=1"));
    hfs_re_free(re);
    re = re_ok("^.$", 0);
    assert_false(m(re, "\xff")); /* an invalid byte is no character */
    hfs_re_free(re);
}

static void test_explicit_length(void **state)
{
    (void)state;
    struct hfs_re *re = re_ok("c$", 0);
    assert_false(hfs_re_match(re, "abc", 2));
    assert_true(hfs_re_match(re, "abcd", 3));
    hfs_re_free(re);
    re = re_ok("^a\\x00b$", 0);
    assert_true(hfs_re_match(re, "a\0b", 3));
    assert_false(hfs_re_match(re, "a\0b", 1));
    hfs_re_free(re);
}

static struct hfs_re *glob_ok(const char *g)
{
    char err[256] = "";
    struct hfs_re *re = hfs_re_compile_glob(g, err, sizeof err);
    if (!re)
        print_message("%s: %s\n", g, err);
    assert_non_null(re);
    return re;
}

static void test_glob_conversion(void **state)
{
    (void)state;
    struct hfs_re *re = glob_ok("*.hf.co");
    assert_true(m(re, "a.hf.co"));
    assert_true(m(re, "a.b.c.hf.co")); /* '*' crosses dots */
    assert_true(m(re, "X.HF.CO"));     /* caseless */
    assert_true(m(re, ".hf.co"));
    assert_false(m(re, "hf.co"));
    assert_false(m(re, "a.hf.co.evil")); /* anchored at the end */
    assert_false(m(re, "a.hfxco"));      /* '.' is literal */
    hfs_re_free(re);
    re = glob_ok("s?-[a-c][!0-9].x");
    assert_true(m(re, "s1-bz.x"));
    assert_false(m(re, "s12-bz.x"));
    assert_false(m(re, "s1-dz.x"));
    assert_false(m(re, "s1-b5.x"));
    hfs_re_free(re);
    re = glob_ok("a+b(c)|d^$");
    assert_true(m(re, "a+b(c)|d^$")); /* regex characters are literal */
    assert_false(m(re, "aab(c)"));
    assert_false(m(re, "d"));
    hfs_re_free(re);
    re = glob_ok("a\\*b");
    assert_true(m(re, "a*b"));
    assert_false(m(re, "axb"));
    hfs_re_free(re);
    re = glob_ok("**");
    assert_true(m(re, ""));
    assert_true(m(re, "any.thing"));
    hfs_re_free(re);
    re = glob_ok("");
    assert_true(m(re, ""));
    assert_false(m(re, "a"));
    hfs_re_free(re);
}

static void test_glob_errors(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(hfs_re_compile_glob("a[b", err, sizeof err));
    assert_string_equal(err, "missing terminating ] for character class at offset 3");
    assert_null(hfs_re_compile_glob("ab\\", err, sizeof err));
    assert_string_equal(err, "invalid syntax at offset 3"); /* PCRE2's glob converter says so */
}

static void test_repeated_matches_before_and_after_jit(void **state)
{
    (void)state;
    uint32_t jit = 0;
    pcre2_config(PCRE2_CONFIG_JIT, &jit);
    print_message("PCRE2 JIT %s\n", jit ? "available" : "not available");
    /* the first match builds the JIT (when available), later ones use it:
     * the answers must be the same every time */
    struct hfs_re *re = re_ok("^/(api|resolve)/[a-z]+/\\d+$", 0);
    for (int i = 0; i < 200; i++) {
        assert_true(m(re, "/api/models/42"));
        assert_false(m(re, "/api/models/x"));
        assert_true(m(re, "/resolve/main/7"));
    }
    hfs_re_free(re);
}

struct race {
    pthread_barrier_t *bar;
    struct hfs_re *re;
    int ok;
};

static void *racer(void *arg)
{
    struct race *r = arg;
    pthread_barrier_wait(r->bar);
    /* while one thread builds the JIT the others match without it */
    r->ok = 1;
    for (int i = 0; i < 50; i++) {
        if (!m(r->re, "cdn-lfs.huggingface.co") || m(r->re, "huggingface.co.evil.com"))
            r->ok = 0;
    }
    return NULL;
}

static void test_concurrent_first_use(void **state)
{
    (void)state;
    enum { THREADS = 8, ROUNDS = 20 };
    for (int round = 0; round < ROUNDS; round++) {
        pthread_barrier_t bar;
        pthread_t t[THREADS];
        struct race r[THREADS];
        struct hfs_re *re = glob_ok("*.huggingface.co");
        pthread_barrier_init(&bar, NULL, THREADS);
        for (int i = 0; i < THREADS; i++) {
            r[i].bar = &bar;
            r[i].re = re;
            r[i].ok = 0;
            assert_int_equal(pthread_create(&t[i], NULL, racer, &r[i]), 0);
        }
        for (int i = 0; i < THREADS; i++) {
            pthread_join(t[i], NULL);
            assert_int_equal(r[i].ok, 1);
        }
        pthread_barrier_destroy(&bar);
        hfs_re_free(re);
    }
}

static int gave_up_calls;
static void on_gave_up(const char *pattern, const char *error)
{
    (void)error;
    assert_string_equal(pattern, "^/(a+)+$");
    gave_up_calls++;
}

/* An engine that gives up is neither a match nor a miss: -1, reported
 * once per pattern; a JIT stack overflow is retried without the JIT. */
static void test_engine_errors(void **state)
{
    (void)state;
    char s[64];
    memset(s, 'a', sizeof s);
    s[0] = '/';
    s[sizeof s - 2] = 'b';
    s[sizeof s - 1] = 0;
    struct hfs_re *re = re_ok("^/(a+)+$", 0);
    hfs_re_error_hook = on_gave_up;
    gave_up_calls = 0;
    assert_int_equal(m(re, s), -1);
    assert_int_equal(m(re, s), -1);
    assert_int_equal(gave_up_calls, 1);
    assert_int_equal(m(re, "/aaa"), 1);
    assert_int_equal(m(re, "/b"), 0);
    hfs_re_error_hook = NULL;
    hfs_re_free(re);
    /* deep repetition: over the JIT's stack, found by the interpreter */
    static char deep[4000];
    size_t o = (size_t)snprintf(deep, sizeof deep, "/api/models/");
    while (o + 12 < sizeof deep) {
        memcpy(deep + o, "a/", 2);
        o += 2;
    }
    memcpy(deep + o, "private", 8);
    re = re_ok("^/api/models/([^/]+/)*private$", 0);
    assert_int_equal(m(re, deep), 1);
    assert_int_equal(m(re, "/api/models/a/b/public"), 0);
    hfs_re_free(re);
}

static void test_risky_patterns(void **state)
{
    (void)state;
    assert_true(hfs_re_risky("^/api/models/([^/]+/)*private$"));
    assert_true(hfs_re_risky("(a*)+"));
    assert_true(hfs_re_risky("((ab)+c)*"));
    assert_true(hfs_re_risky("(x+){2,}"));
    assert_false(hfs_re_risky("^/api/(models|datasets)/[^/]+$"));
    assert_false(hfs_re_risky("(ab)+"));
    assert_false(hfs_re_risky("[(a+)]*"));
    assert_false(hfs_re_risky("\\(a+\\)*"));
    assert_false(hfs_re_risky("(a+)"));
}

static struct hfs_re *late_re;
static pthread_key_t late_key;

/* Runs after regex.c's own destructor (its key was made first): the
 * thread's match block was freed, so this match must make a new one. */
static int late_bad;

static void late_match(void *arg)
{
    (void)arg;
    /* a block of the freed one's size: the allocator hands the freed
     * memory out again first, so a match that still used it would write
     * its offsets here */
    pcre2_match_data *probe = pcre2_match_data_create(1, NULL);
    PCRE2_SIZE *ov = probe ? pcre2_get_ovector_pointer(probe) : NULL;
    if (ov)
        ov[0] = ov[1] = 4242;
    if (hfs_re_match(late_re, "xxabc", 5) != 1)
        late_bad = 1;
    if (ov && (ov[0] != 4242 || ov[1] != 4242))
        late_bad = 1;
    pcre2_match_data_free(probe);
}

static void *late_worker(void *arg)
{
    (void)arg;
    int ok = hfs_re_match(late_re, "xabcx", 5) == 1;
    pthread_setspecific(late_key, (void *)1);
    return ok ? NULL : (void *)1;
}

/* A thread-exit destructor that matches after the thread's match block
 * went: it must not match with the freed block. */
static void test_match_from_late_thread_destructor(void **state)
{
    (void)state;
    char err[256];
    late_re = hfs_re_compile("abc", 0, err, sizeof err);
    assert_non_null(late_re);
    assert_int_equal(hfs_re_match(late_re, "abc", 3), 1); /* regex.c's key first */
    assert_int_equal(pthread_key_create(&late_key, late_match), 0);
    for (int i = 0; i < 8; i++) {
        pthread_t t;
        void *rc;
        assert_int_equal(pthread_create(&t, NULL, late_worker, NULL), 0);
        assert_int_equal(pthread_join(t, &rc), 0);
        assert_null(rc);
    }
    pthread_key_delete(late_key);
    hfs_re_free(late_re);
    assert_int_equal(late_bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_match_basics),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_invalid_utf8_subject_still_searched),
        cmocka_unit_test(test_explicit_length),
        cmocka_unit_test(test_glob_conversion),
        cmocka_unit_test(test_glob_errors),
        cmocka_unit_test(test_repeated_matches_before_and_after_jit),
        cmocka_unit_test(test_concurrent_first_use),
        cmocka_unit_test(test_engine_errors),
        cmocka_unit_test(test_risky_patterns),
        cmocka_unit_test(test_match_from_late_thread_destructor),
    };
    return cmocka_run_group_tests_name("regex", tests, NULL, NULL);
}
