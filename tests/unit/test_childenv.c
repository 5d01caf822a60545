/* test_childenv: unit tests of child-environment composition
 * (shim/core/childenv.h): the LD_PRELOAD value (sanitizer runtimes first,
 * then ours, no duplicate when nested), removal when children are not
 * shimmed, carried HFSHIM_* settings, and every buffer-size limit. */
#include "unit.h"

#include <string.h>

#include "childenv.h"

#define OURS "/opt/hfshim/lib/libhfshim.so"

static void compose(const char *existing, int add, const char *want)
{
    char out[512];
    memset(out, 'x', sizeof out);
    long n = hfs_preload_compose(existing, OURS, add, out, sizeof out);
    assert_int_equal(n, (long)strlen(want));
    assert_string_equal(out, want);
}

static void test_compose_adds_ours(void **state)
{
    (void)state;
    compose(NULL, 1, OURS);
    compose("", 1, OURS);
    compose("/usr/lib/libfoo.so", 1, OURS ":/usr/lib/libfoo.so");
    compose("libfoo.so libbar.so", 1, OURS ":libfoo.so:libbar.so");
    compose("::a.so:: :b.so:", 1, OURS ":a.so:b.so");
}

static void test_compose_keeps_sanitizers_first(void **state)
{
    (void)state;
    compose("/usr/lib/x86_64-linux-gnu/libasan.so.8", 1, "/usr/lib/x86_64-linux-gnu/libasan.so.8:" OURS);
    compose("liba.so:libasan.so.8:libb.so:libubsan.so.1", 1, "libasan.so.8:libubsan.so.1:" OURS ":liba.so:libb.so");
    compose("/x/libclang_rt.asan-x86_64.so:/y/libtsan.so.2:/z/liblsan.so.0:/w/libhwasan.so", 1,
            "/x/libclang_rt.asan-x86_64.so:/y/libtsan.so.2:/z/liblsan.so.0:/w/libhwasan.so:" OURS);
    /* only the file name decides: a directory called libasan does not */
    compose("/libasan/libfoo.so", 1, OURS ":/libasan/libfoo.so");
}

static void test_compose_no_duplicate_when_nested(void **state)
{
    (void)state;
    compose(OURS, 1, OURS);
    compose("libasan.so.8:" OURS ":libfoo.so", 1, "libasan.so.8:" OURS ":libfoo.so");
    /* another copy of the shim (older path) is replaced by ours */
    compose("/old/libhfshim.so:libfoo.so:/other/libhfshim.so.1", 1, OURS ":libfoo.so");
}

static void test_compose_never_repeats_an_entry(void **state)
{
    (void)state;
    compose("a.so:a.so: a.so:b.so:a.so", 1, OURS ":a.so:b.so");
    compose("libasan.so.8:libasan.so.8:x.so", 0, "libasan.so.8:x.so");
}

static void test_compose_with_runtime_list(void **state)
{
    (void)state;
    /* ourlib may carry the parent's sanitizer runtimes before the library */
    const char *list = "/usr/lib/libasan.so.8:" OURS;
    char out[256];
    assert_int_equal(hfs_preload_compose("x.so", list, 1, out, sizeof out), (long)strlen(list) + 5);
    assert_string_equal(out, "/usr/lib/libasan.so.8:" OURS ":x.so");
    hfs_preload_compose("/usr/lib/libasan.so.8:x.so", list, 1, out, sizeof out);
    assert_string_equal(out, "/usr/lib/libasan.so.8:" OURS ":x.so");
    hfs_preload_compose("libtsan.so.2", "::" OURS ":", 1, out, sizeof out);
    assert_string_equal(out, "libtsan.so.2:" OURS);
    hfs_preload_compose("x.so", list, 0, out, sizeof out); /* removing ignores the list */
    assert_string_equal(out, "x.so");
}

static void test_preload_sanitizers(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(hfs_preload_sanitizers("a.so:/x/libasan.so.8 libubsan.so.1:" OURS, out, sizeof out),
                     (long)strlen("/x/libasan.so.8:libubsan.so.1"));
    assert_string_equal(out, "/x/libasan.so.8:libubsan.so.1");
    assert_int_equal(hfs_preload_sanitizers("a.so:" OURS, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(hfs_preload_sanitizers(NULL, out, sizeof out), 0);
    assert_int_equal(hfs_preload_sanitizers("libasan.so.8", out, 12), -1); /* no room for the NUL */
    assert_int_equal(hfs_preload_sanitizers("libasan.so.8", out, 13), 12);
    assert_int_equal(hfs_preload_sanitizers("libasan.so.8", out, 0), -1);
}

static void test_compose_remove(void **state)
{
    (void)state;
    compose(OURS, 0, "");
    compose("libasan.so.8 " OURS " libfoo.so", 0, "libasan.so.8:libfoo.so");
    compose("libfoo.so", 0, "libfoo.so");
    compose(NULL, 0, "");
}

static void test_compose_buffer_limits(void **state)
{
    (void)state;
    char out[64];
    size_t need = strlen(OURS ":libfoo.so"); /* 38 */
    assert_int_equal(hfs_preload_compose("libfoo.so", OURS, 1, out, need + 1), (long)need);
    assert_string_equal(out, OURS ":libfoo.so");
    assert_int_equal(hfs_preload_compose("libfoo.so", OURS, 1, out, need), -1);
    assert_int_equal(hfs_preload_compose("libfoo.so", OURS, 1, out, strlen(OURS) + 1), -1);
    assert_int_equal(hfs_preload_compose(NULL, OURS, 1, out, strlen(OURS)), -1);
    assert_int_equal(hfs_preload_compose(NULL, OURS, 1, out, 0), -1);
    assert_int_equal(hfs_preload_compose(NULL, OURS, 0, out, 1), 0);
    assert_string_equal(out, "");
}

static void test_has_shim(void **state)
{
    (void)state;
    assert_true(hfs_preload_has_shim(OURS));
    assert_true(hfs_preload_has_shim("libasan.so.8 libhfshim.so"));
    assert_true(hfs_preload_has_shim("a.so::/x/libhfshim.so.2:b.so"));
    assert_false(hfs_preload_has_shim("/libhfshim/libfoo.so"));
    assert_false(hfs_preload_has_shim("liblibhfshim.so"));
    assert_false(hfs_preload_has_shim(""));
    assert_false(hfs_preload_has_shim(NULL));
}

/* Builds into out and returns the number of entries. */
static size_t build(char *const *envp, const char *const *carry, int children, char **out, size_t outcap, char *buf,
                    size_t buflen, int want_rc)
{
    int rc = hfs_childenv_build(envp, OURS, carry, children, out, outcap, buf, buflen);
    assert_int_equal(rc, want_rc);
    if (rc)
        return 0;
    size_t n = hfs_env_count(out);
    assert_true(n < outcap);
    return n;
}

static void test_build_prepends_to_existing_preload(void **state)
{
    (void)state;
    char *envp[] = { "PATH=/bin", "LD_PRELOAD=libasan.so.8:libfoo.so", "HFSHIM_RULES=/r.json", NULL };
    const char *carry[] = { "HFSHIM_RULES=/other.json", "HFSHIM_LOG=off", NULL };
    char *out[8], buf[256];
    assert_int_equal(build(envp, carry, 1, out, 8, buf, sizeof buf, 0), 4);
    assert_string_equal(out[0], "PATH=/bin");
    assert_string_equal(out[1], "LD_PRELOAD=libasan.so.8:" OURS ":libfoo.so");
    assert_ptr_equal(out[1], buf);
    assert_string_equal(out[2], "HFSHIM_RULES=/r.json"); /* present: not replaced */
    assert_string_equal(out[3], "HFSHIM_LOG=off");
    assert_null(out[4]);
}

static void test_build_adds_preload_when_absent(void **state)
{
    (void)state;
    char *envp[] = { "A=1", "LD_PRELOADX=1", NULL };
    char *out[8], buf[256];
    assert_int_equal(build(envp, NULL, 1, out, 8, buf, sizeof buf, 0), 3);
    assert_string_equal(out[0], "A=1");
    assert_string_equal(out[1], "LD_PRELOADX=1");
    assert_string_equal(out[2], "LD_PRELOAD=" OURS);
}

static void test_build_carries_into_empty_env(void **state)
{
    (void)state;
    char *empty[] = { NULL };
    const char *carry[] = { "HFSHIM_RULES=/etc/r.json", "HFSHIM_LOG=/tmp/l", "HFSHIM_OFFLINE=1", NULL };
    char *out[8], buf[256];
    assert_int_equal(build(empty, carry, 1, out, 8, buf, sizeof buf, 0), 4);
    assert_string_equal(out[0], "LD_PRELOAD=" OURS);
    assert_string_equal(out[1], "HFSHIM_RULES=/etc/r.json");
    assert_string_equal(out[2], "HFSHIM_LOG=/tmp/l");
    assert_string_equal(out[3], "HFSHIM_OFFLINE=1");
    /* a NULL environment (execve with envp == NULL) is empty */
    assert_int_equal(build(NULL, carry, 1, out, 8, buf, sizeof buf, 0), 4);
    assert_string_equal(out[1], "HFSHIM_RULES=/etc/r.json");
}

static void test_build_nested_shim_no_duplicate(void **state)
{
    (void)state;
    char *envp[] = { "LD_PRELOAD=" OURS, "HFSHIM_RULES=/r", NULL };
    const char *carry[] = { "HFSHIM_RULES=/r", NULL };
    char *out[8], buf[256];
    assert_int_equal(build(envp, carry, 1, out, 8, buf, sizeof buf, 0), 2);
    assert_string_equal(out[0], "LD_PRELOAD=" OURS);
    assert_string_equal(out[1], "HFSHIM_RULES=/r");
}

static void test_build_without_children_removes_us(void **state)
{
    (void)state;
    char *envp[] = { "LD_PRELOAD=" OURS, "HFSHIM_RULES=/r", "HOME=/root", "HFSHIM=1", "XHFSHIM_A=1", NULL };
    const char *carry[] = { "HFSHIM_LOG=off", NULL };
    char *out[8], buf[256];
    assert_int_equal(build(envp, carry, 0, out, 8, buf, sizeof buf, 0), 3);
    assert_string_equal(out[0], "HOME=/root");
    assert_string_equal(out[1], "HFSHIM=1"); /* only HFSHIM_ names are ours */
    assert_string_equal(out[2], "XHFSHIM_A=1");
    char *envp2[] = { "LD_PRELOAD=libfoo.so:" OURS, NULL };
    assert_int_equal(build(envp2, carry, 0, out, 8, buf, sizeof buf, 0), 1);
    assert_string_equal(out[0], "LD_PRELOAD=libfoo.so");
}

static void test_build_duplicate_preload_entries(void **state)
{
    (void)state;
    /* the loader uses the last LD_PRELOAD; the others are dropped */
    char *envp[] = { "LD_PRELOAD=first.so", "A=1", "LD_PRELOAD=second.so", NULL };
    char *out[8], buf[256];
    assert_int_equal(build(envp, NULL, 1, out, 8, buf, sizeof buf, 0), 2);
    assert_string_equal(out[0], "A=1");
    assert_string_equal(out[1], "LD_PRELOAD=" OURS ":second.so");
    char *envp2[] = { "LD_PRELOAD=keep.so", "LD_PRELOAD=" OURS, NULL };
    assert_int_equal(build(envp2, NULL, 0, out, 8, buf, sizeof buf, 0), 0);
}

static void test_build_limits(void **state)
{
    (void)state;
    char *envp[] = { "A=1", "B=2", NULL };
    const char *carry[] = { "HFSHIM_X=1", NULL };
    char *out[8], buf[256];
    /* A, B, LD_PRELOAD, HFSHIM_X and the NULL need 5 slots */
    build(envp, carry, 1, out, 5, buf, sizeof buf, 0);
    build(envp, carry, 1, out, 4, buf, sizeof buf, -1);
    build(envp, carry, 1, out, 2, buf, sizeof buf, -1);
    /* "LD_PRELOAD=" + ours + NUL */
    size_t need = strlen("LD_PRELOAD=" OURS) + 1;
    build(envp, carry, 1, out, 8, buf, need, 0);
    build(envp, carry, 1, out, 8, buf, need - 1, -1);
    char *envp2[] = { "LD_PRELOAD=libfoo.so", NULL };
    need = strlen("LD_PRELOAD=" OURS ":libfoo.so") + 1;
    build(envp2, NULL, 1, out, 8, buf, need, 0);
    build(envp2, NULL, 1, out, 8, buf, need - 1, -1);
    build(envp2, NULL, 1, out, 8, buf, 11, -1);
}

static void test_env_count(void **state)
{
    (void)state;
    char *e0[] = { NULL };
    char *e3[] = { "a=1", "b", "", NULL };
    assert_int_equal(hfs_env_count(NULL), 0);
    assert_int_equal(hfs_env_count(e0), 0);
    assert_int_equal(hfs_env_count(e3), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compose_adds_ours),
        cmocka_unit_test(test_compose_keeps_sanitizers_first),
        cmocka_unit_test(test_compose_no_duplicate_when_nested),
        cmocka_unit_test(test_compose_never_repeats_an_entry),
        cmocka_unit_test(test_compose_with_runtime_list),
        cmocka_unit_test(test_preload_sanitizers),
        cmocka_unit_test(test_compose_remove),
        cmocka_unit_test(test_compose_buffer_limits),
        cmocka_unit_test(test_has_shim),
        cmocka_unit_test(test_build_prepends_to_existing_preload),
        cmocka_unit_test(test_build_adds_preload_when_absent),
        cmocka_unit_test(test_build_carries_into_empty_env),
        cmocka_unit_test(test_build_nested_shim_no_duplicate),
        cmocka_unit_test(test_build_without_children_removes_us),
        cmocka_unit_test(test_build_duplicate_preload_entries),
        cmocka_unit_test(test_build_limits),
        cmocka_unit_test(test_env_count),
    };
    return cmocka_run_group_tests_name("childenv", tests, NULL, NULL);
}
