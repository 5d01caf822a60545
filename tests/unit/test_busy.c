/* test_busy: the re-entry guard of shim/lib/state.h. HFS_BUSY_ENTER and
 * HFS_BUSY_LEAVE save and restore the thread's guard, so shim code that
 * takes the guard inside shim code that already holds it leaves the outer
 * guard set (the old `hfs_busy = 1 ... hfs_busy = 0` cleared it, and the
 * outer code's own libc calls then ran through hfshim's hooks). */
#include "unit.h"

#include "../../shim/lib/state.h"

__thread int hfs_busy __attribute__((tls_model("initial-exec")));

/* shim code that guards itself, as a hook's helper does */
static int inner_work(void)
{
    int busy_outer;
    HFS_BUSY_ENTER(busy_outer);
    int seen = hfs_busy;
    HFS_BUSY_LEAVE(busy_outer);
    return seen;
}

static void test_outer_guard_survives_a_nested_one(void **state)
{
    (void)state;
    int outer;
    hfs_busy = 0;
    HFS_BUSY_ENTER(outer);
    assert_int_equal(outer, 0);
    assert_int_equal(inner_work(), 1);
    assert_int_equal(hfs_busy, 1); /* still inside the outer guard */
    HFS_BUSY_LEAVE(outer);
    assert_int_equal(hfs_busy, 0);
}

static void test_unguarded_after_a_lone_guard(void **state)
{
    (void)state;
    hfs_busy = 0;
    assert_int_equal(inner_work(), 1);
    assert_int_equal(hfs_busy, 0);
}

static void test_guard_is_per_call_path(void **state)
{
    (void)state;
    int a, b;
    hfs_busy = 0;
    HFS_BUSY_ENTER(a);
    HFS_BUSY_ENTER(b);
    HFS_BUSY_LEAVE(b);
    assert_int_equal(hfs_busy, 1);
    HFS_BUSY_LEAVE(a);
    assert_int_equal(hfs_busy, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outer_guard_survives_a_nested_one),
        cmocka_unit_test(test_unguarded_after_a_lone_guard),
        cmocka_unit_test(test_guard_is_per_call_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
