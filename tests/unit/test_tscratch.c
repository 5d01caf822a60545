/* test_tscratch: the thread's kept work area (shim/core/tscratch.h): the
 * same area again on the same thread, a nested use its own, a bigger ask
 * served whole, other threads their own areas freed when they exit (the
 * sanitizer build reports a leak otherwise), and a use from a thread-exit
 * destructor that runs after the area's own (no use after free). */
#include "unit.h"

#include <pthread.h>
#include <string.h>

#include "tscratch.h"

static void test_kept_and_nested(void **state)
{
    (void)state;
    struct hfs_tscratch a = hfs_tscratch_take(1000);
    assert_non_null(a.p);
    assert_int_equal(a.own, 0);
    memset(a.p, 'a', 1000);
    struct hfs_tscratch b = hfs_tscratch_take(500); /* nested: not the same area */
    assert_non_null(b.p);
    assert_int_equal(b.own, 1);
    assert_ptr_not_equal(a.p, b.p);
    memset(b.p, 'b', 500);
    assert_int_equal(((char *)a.p)[999], 'a');
    hfs_tscratch_give(b);
    hfs_tscratch_give(a);
    struct hfs_tscratch c = hfs_tscratch_take(800); /* kept: the same area */
    assert_ptr_equal(c.p, a.p);
    assert_int_equal(c.own, 0);
    hfs_tscratch_give(c);
    struct hfs_tscratch d = hfs_tscratch_take(100000); /* bigger: served whole */
    assert_non_null(d.p);
    assert_int_equal(d.own, 0);
    memset(d.p, 'd', 100000);
    hfs_tscratch_give(d);
    struct hfs_tscratch e = hfs_tscratch_take(50);
    assert_ptr_equal(e.p, d.p);
    hfs_tscratch_give(e);
}

static pthread_key_t late_key;

/* Runs after tscratch's own destructor (its key was made first): the area
 * was freed, so this take must get a new one, not the freed one. */
static void late_use(void *arg)
{
    (void)arg;
    struct hfs_tscratch t = hfs_tscratch_take(4096);
    if (t.p)
        memset(t.p, 'z', 4096);
    hfs_tscratch_give(t);
}

static void *worker(void *arg)
{
    struct hfs_tscratch t = hfs_tscratch_take(16384 + (size_t)(long)arg);
    if (!t.p || t.own)
        return (void *)1;
    memset(t.p, 'w', 16384);
    hfs_tscratch_give(t);
    pthread_setspecific(late_key, (void *)1);
    return NULL;
}

static void test_threads_own_areas_freed_at_exit(void **state)
{
    (void)state;
    hfs_tscratch_give(hfs_tscratch_take(1)); /* tscratch's key first */
    assert_int_equal(pthread_key_create(&late_key, late_use), 0);
    for (int round = 0; round < 50; round++) {
        pthread_t t[4];
        for (long i = 0; i < 4; i++)
            assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
        for (int i = 0; i < 4; i++) {
            void *rc;
            assert_int_equal(pthread_join(t[i], &rc), 0);
            assert_null(rc);
        }
    }
    pthread_key_delete(late_key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept_and_nested),
        cmocka_unit_test(test_threads_own_areas_freed_at_exit),
    };
    return cmocka_run_group_tests_name("tscratch", tests, NULL, NULL);
}
