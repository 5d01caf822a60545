/* test_digestset: unit tests of digestset.h, the token digests a process
 * knows: learning never stops (600 and 20000 distinct digests), a known
 * verdict is not "new" again (so the state file gets no second line), an
 * older "valid" never undoes a learned 401, and past the bound the older
 * half is forgotten while the newest digest is always kept. */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "digestset.h"
#include "sha256.h"

static struct hfs_tokstate_entry entry(int i, enum hfs_tok_known what, long long when)
{
    struct hfs_tokstate_entry e = { .what = what, .when = when };
    char tok[64];
    int n = snprintf(tok, sizeof tok, "hf_token%08d", i);
    hfs_sha256(tok, (size_t)n, e.sha);
    return e;
}

static void test_grows_past_512(void **state)
{
    (void)state;
    struct hfs_digestset s;
    hfs_digestset_init(&s, 0);
    for (int i = 0; i < 600; i++) {
        struct hfs_tokstate_entry e = entry(i, HFS_KNOWN_LEARNED, 1000 + i);
        assert_int_equal(hfs_digestset_put(&s, &e), 1);
    }
    assert_int_equal(s.n, 600);
    for (int i = 0; i < 600; i++) {
        struct hfs_tokstate_entry e = entry(i, HFS_KNOWN_LEARNED, 1000 + i);
        const struct hfs_tokstate_entry *g = hfs_digestset_get(&s, e.sha);
        assert_non_null(g);
        assert_int_equal(g->what, HFS_KNOWN_LEARNED);
        assert_true(g->when == 1000 + i);
        assert_int_equal(hfs_digestset_put(&s, &e), 0); /* known: nothing new */
    }
    struct hfs_tokstate_entry other = entry(600, HFS_KNOWN_LEARNED, 1);
    assert_null(hfs_digestset_get(&s, other.sha));
    assert_true(s.forgotten == 0);
    hfs_digestset_free(&s);
    assert_null(hfs_digestset_get(&s, other.sha));
}

static void test_verdicts(void **state)
{
    (void)state;
    struct hfs_digestset s;
    hfs_digestset_init(&s, 0);
    struct hfs_tokstate_entry e = entry(1, HFS_KNOWN_LEARNED, 2000);
    assert_int_equal(hfs_digestset_put(&s, &e), 1);
    e.what = HFS_KNOWN_VALID, e.when = 1999; /* an older validation: the 401 stays */
    assert_int_equal(hfs_digestset_put(&s, &e), 0);
    assert_int_equal(hfs_digestset_get(&s, e.sha)->what, HFS_KNOWN_LEARNED);
    e.when = 2000;
    assert_int_equal(hfs_digestset_put(&s, &e), 0);
    e.when = 2001; /* a newer one wins */
    assert_int_equal(hfs_digestset_put(&s, &e), 1);
    assert_int_equal(hfs_digestset_get(&s, e.sha)->what, HFS_KNOWN_VALID);
    e.what = HFS_KNOWN_INVALID, e.when = 1; /* anything else: the last one wins */
    assert_int_equal(hfs_digestset_put(&s, &e), 1);
    assert_int_equal(hfs_digestset_get(&s, e.sha)->what, HFS_KNOWN_INVALID);
    hfs_digestset_free(&s);
}

static void test_bounded_forgets_older_half(void **state)
{
    (void)state;
    struct hfs_digestset s;
    hfs_digestset_init(&s, 8);
    for (int i = 0; i < 8; i++) {
        struct hfs_tokstate_entry e = entry(i, HFS_KNOWN_LEARNED, 100 + i);
        assert_int_equal(hfs_digestset_put(&s, &e), 1);
    }
    assert_true(s.n == 8 && s.forgotten == 0);
    struct hfs_tokstate_entry e = entry(8, HFS_KNOWN_LEARNED, 108);
    assert_int_equal(hfs_digestset_put(&s, &e), 1);
    assert_true(s.n == 5 && s.forgotten == 4);
    for (int i = 0; i <= 8; i++) { /* 100..103 forgotten, 104..108 kept */
        struct hfs_tokstate_entry q = entry(i, HFS_KNOWN_LEARNED, 0);
        if (i < 4)
            assert_null(hfs_digestset_get(&s, q.sha));
        else
            assert_non_null(hfs_digestset_get(&s, q.sha));
    }
    hfs_digestset_free(&s);

    /* all in the same second (ties), and many more than the bound: the
     * size stays bounded and the digest just put is always there */
    hfs_digestset_init(&s, 64);
    for (int i = 0; i < 20000; i++) {
        struct hfs_tokstate_entry q = entry(i, HFS_KNOWN_LEARNED, 5);
        assert_int_equal(hfs_digestset_put(&s, &q), 1);
        assert_true(s.n <= 64);
        assert_non_null(hfs_digestset_get(&s, q.sha));
    }
    assert_true(s.forgotten == 20000 - s.n);
    hfs_digestset_free(&s);

    /* the library's bound: 20000 distinct digests, the newest kept */
    hfs_digestset_init(&s, 0);
    for (int i = 0; i < 20000; i++) {
        struct hfs_tokstate_entry q = entry(i, HFS_KNOWN_LEARNED, i);
        assert_int_equal(hfs_digestset_put(&s, &q), 1);
    }
    assert_true(s.n <= HFS_DIGESTSET_MAX && s.n >= HFS_DIGESTSET_MAX / 2);
    struct hfs_tokstate_entry last = entry(19999, HFS_KNOWN_LEARNED, 0), first = entry(0, HFS_KNOWN_LEARNED, 0);
    assert_non_null(hfs_digestset_get(&s, last.sha));
    assert_null(hfs_digestset_get(&s, first.sha));
    hfs_digestset_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grows_past_512),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_bounded_forgets_older_half),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
