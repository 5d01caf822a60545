/* test_syspolicy: unit tests of the system policy choice (syspolicy.h:
 * which rules, which environment settings a locked, broken, absent or
 * unlocked system policy lets through, secure-execution mode), of the
 * rules keys it adds ("locked", log.destination, log.audit) and of the
 * /etc/ld.so.preload editor (preloadfile.h). */
#include "unit.h"
#include "unit_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envpolicy.h"
#include "preloadfile.h"
#include "rules.h"
#include "syspolicy.h"

static const char *const *fake_env;

static const char *env_of(const char *name)
{
    size_t l = strlen(name);
    for (const char *const *e = fake_env; e && *e; e++)
        if (strncmp(*e, name, l) == 0 && (*e)[l] == '=')
            return *e + l + 1;
    return NULL;
}

static const char *const everything[] = { "HFSHIM_RULES=/tmp/open.json",
                                          "HFSHIM_OFFLINE=0",
                                          "HFSHIM_LOG=off",
                                          "HFSHIM_AUDIT=/tmp/a.jsonl",
                                          "HFSHIM_FAULT=rate-limited",
                                          "HFSHIM_LOG_FORMAT=json",
                                          NULL };

static void test_absent_is_unchanged(void **state)
{
    (void)state;
    struct hfs_policy p;
    fake_env = everything;
    hfs_policy_choose(HFS_SYS_ABSENT, NULL, 0, env_of, &p);
    assert_int_equal(p.src, HFS_POLICY_ENV);
    assert_false(p.locked);
    assert_string_equal(p.rules_path, "/tmp/open.json");
    assert_string_equal(p.offline, "0");
    assert_string_equal(p.log_dest, "off");
    assert_string_equal(p.audit, "/tmp/a.jsonl");
    assert_string_equal(p.fault, "rate-limited");
    assert_string_equal(p.log_format, "json");
    assert_true(p.user_env);
    assert_int_equal(p.nignored, 0);
    fake_env = NULL;
    hfs_policy_choose(HFS_SYS_ABSENT, NULL, 0, env_of, &p);
    assert_int_equal(p.src, HFS_POLICY_DEFAULT);
    assert_null(p.offline);
}

static void test_unlocked_system_is_the_default(void **state)
{
    (void)state;
    struct hfs_policy p;
    struct hfs_rules *sys = rules_from_file("sys.json", "{\"version\": 1, \"offline\": true}");
    fake_env = NULL;
    hfs_policy_choose(HFS_SYS_LOADED, sys, 0, env_of, &p);
    assert_int_equal(p.src, HFS_POLICY_SYSTEM);
    assert_false(p.locked);
    fake_env = everything;
    hfs_policy_choose(HFS_SYS_LOADED, sys, 0, env_of, &p);
    assert_int_equal(p.src, HFS_POLICY_ENV); /* HFSHIM_RULES still replaces it */
    assert_string_equal(p.offline, "0");
    hfs_rules_free(sys);
}

static void test_locked_takes_only_restrictions(void **state)
{
    (void)state;
    struct hfs_policy p;
    struct hfs_rules *sys =
        rules_from_file("sys.json", "{\"version\": 1, \"locked\": true, \"offline\": true, "
                                    "\"log\": {\"destination\": \"/var/log/hfshim.log\", \"audit\": \"/var/log/a\"}}");
    assert_true(sys->locked);
    assert_string_equal(sys->log_dest, "/var/log/hfshim.log");
    assert_string_equal(sys->audit_path, "/var/log/a");
    fake_env = everything;
    hfs_policy_choose(HFS_SYS_LOADED, sys, 0, env_of, &p);
    assert_int_equal(p.src, HFS_POLICY_SYSTEM);
    assert_true(p.locked);
    assert_null(p.rules_path);
    assert_null(p.offline);
    assert_null(p.log_dest);
    assert_null(p.audit);                         /* the policy names its own */
    assert_string_equal(p.fault, "rate-limited"); /* faults only make things fail */
    assert_int_equal(p.nignored, 4);
    assert_string_equal(p.ignored[0], "HFSHIM_RULES=/tmp/open.json");
    assert_string_equal(p.ignored[1], "HFSHIM_OFFLINE=0");
    assert_string_equal(p.ignored[2], "HFSHIM_LOG=off");
    assert_string_equal(p.ignored[3], "HFSHIM_AUDIT=/tmp/a.jsonl");
    /* the same values as the policy's are not attempts */
    static const char *const same[] = { "HFSHIM_OFFLINE=yes", "HFSHIM_LOG=/var/log/hfshim.log",
                                        "HFSHIM_AUDIT=/var/log/a", NULL };
    fake_env = same;
    hfs_policy_choose(HFS_SYS_LOADED, sys, 0, env_of, &p);
    assert_int_equal(p.nignored, 0);
    assert_string_equal(p.offline, "yes");
    /* "variables" is stricter than answering (the libraries go offline too): taken */
    static const char *const vars[] = { "HFSHIM_OFFLINE=variables", NULL };
    fake_env = vars;
    hfs_policy_choose(HFS_SYS_LOADED, sys, 0, env_of, &p);
    assert_string_equal(p.offline, "variables");
    assert_int_equal(p.nignored, 0);
    hfs_rules_free(sys);
    /* the other way round is not */
    sys = rules_from_file("sys.json", "{\"version\": 1, \"locked\": true, \"offline\": \"variables\"}");
    static const char *const one[] = { "HFSHIM_OFFLINE=1", NULL };
    fake_env = one;
    hfs_policy_choose(HFS_SYS_LOADED, sys, 0, env_of, &p);
    assert_null(p.offline);
    assert_int_equal(p.nignored, 1);
    hfs_rules_free(sys);

    /* a locked online policy: offline is a restriction, taken */
    sys = rules_from_file("sys.json", "{\"version\": 1, \"locked\": true}");
    static const char *const on[] = { "HFSHIM_OFFLINE=1", "HFSHIM_LOG=stderr", "HFSHIM_AUDIT=/tmp/mine", NULL };
    fake_env = on;
    hfs_policy_choose(HFS_SYS_LOADED, sys, 0, env_of, &p);
    assert_string_equal(p.offline, "1");
    assert_string_equal(p.audit, "/tmp/mine"); /* an audit log the policy does not name only adds records */
    assert_int_equal(p.nignored, 0);
    hfs_rules_free(sys);
}

static void test_broken_fails_closed(void **state)
{
    (void)state;
    struct hfs_policy p;
    fake_env = everything;
    hfs_policy_choose(HFS_SYS_BROKEN, NULL, 0, env_of, &p);
    assert_int_equal(p.src, HFS_POLICY_SAFE);
    assert_true(p.locked);
    assert_null(p.rules_path);
    assert_null(p.offline);
    assert_null(p.fault);
    assert_int_equal(p.nignored, 3); /* rules, offline=0, log=off; the audit log only adds records */
    hfs_policy_choose(HFS_SYS_UNTRUSTED, NULL, 1, env_of, &p);
    assert_int_equal(p.src, HFS_POLICY_SAFE);
    assert_int_equal(p.nignored, 0); /* secure mode: the environment is not read */
}

static void test_secure_mode_reads_no_environment(void **state)
{
    (void)state;
    struct hfs_policy p;
    fake_env = everything;
    hfs_policy_choose(HFS_SYS_ABSENT, NULL, 1, env_of, &p);
    assert_int_equal(p.src, HFS_POLICY_DEFAULT);
    assert_false(p.user_env);
    assert_null(p.rules_path);
    assert_null(p.offline);
    assert_null(p.log_dest);
    assert_null(p.audit);
    assert_null(p.fault);
    assert_null(p.log_format);
}

static void test_ignored_values_are_printable(void **state)
{
    (void)state;
    struct hfs_policy p;
    char big[400];
    memset(big, 'x', sizeof big);
    memcpy(big, "HFSHIM_RULES=/a\n\x1b[31m", 21);
    big[sizeof big - 1] = 0;
    const char *const env[] = { big, NULL };
    struct hfs_rules *sys = rules_from_file("sys.json", "{\"version\": 1, \"locked\": true}");
    fake_env = env;
    hfs_policy_choose(HFS_SYS_LOADED, sys, 0, env_of, &p);
    assert_int_equal(p.nignored, 1);
    assert_memory_equal(p.ignored[0], "HFSHIM_RULES=/a??[31m", 21);
    assert_true(strlen(p.ignored[0]) < sizeof p.ignored[0]);
    assert_string_equal(p.ignored[0] + strlen(p.ignored[0]) - 3, "...");
    hfs_rules_free(sys);
}

static void test_offline_stricter_and_endpoints(void **state)
{
    (void)state;
    assert_true(hfs_offline_stricter(0, HFS_OFFLINE_ANSWER));
    assert_true(hfs_offline_stricter(HFS_OFFLINE_ANSWER, HFS_OFFLINE_VARIABLES));
    assert_true(hfs_offline_stricter(HFS_OFFLINE_ANSWER, HFS_OFFLINE_ANSWER));
    assert_false(hfs_offline_stricter(HFS_OFFLINE_ANSWER, 0));
    assert_false(hfs_offline_stricter(HFS_OFFLINE_VARIABLES, HFS_OFFLINE_ANSWER));
    assert_false(hfs_offline_stricter(0, -1));
    struct hfs_policy p;
    static const char *const ep[] = { "HF_ENDPOINT=http://10.0.0.1", NULL };
    fake_env = ep;
    /* locked online: the program's endpoint would become a Hub host that "@hub" rules allow */
    struct hfs_rules *sys = rules_from_file("sys.json", "{\"version\": 1, \"locked\": true}");
    hfs_policy_choose(HFS_SYS_LOADED, sys, 0, env_of, &p);
    assert_false(p.endpoints);
    assert_int_equal(p.nignored, 1);
    assert_string_equal(p.ignored[0], "HF_ENDPOINT=(a Hub host only offline)");
    hfs_rules_free(sys);
    /* locked offline: a Hub host gets no network at all, so it only restricts */
    sys = rules_from_file("sys.json", "{\"version\": 1, \"locked\": true, \"offline\": true}");
    hfs_policy_choose(HFS_SYS_LOADED, sys, 0, env_of, &p);
    assert_true(p.endpoints);
    assert_int_equal(p.nignored, 0);
    hfs_rules_free(sys);
    hfs_policy_choose(HFS_SYS_ABSENT, NULL, 0, env_of, &p);
    assert_true(p.endpoints);
    hfs_policy_choose(HFS_SYS_ABSENT, NULL, 1, env_of, &p);
    assert_false(p.endpoints);
}

static void test_env_change_refused(void **state)
{
    (void)state;
    const struct hfs_envvar env[] = { { "HF_HUB_OFFLINE", "1" }, { "HF_TOKEN", NULL } };
    size_t i = 99;
    assert_true(hfs_env_change_refused(env, 2, "HF_HUB_OFFLINE", 14, "0", 1, &i));
    assert_int_equal(i, 0);
    assert_true(hfs_env_change_refused(env, 2, "HF_HUB_OFFLINE", 14, NULL, 1, &i)); /* unsetenv */
    assert_false(hfs_env_change_refused(env, 2, "HF_HUB_OFFLINE", 14, "1", 1, &i)); /* the same value */
    assert_false(hfs_env_change_refused(env, 2, "HF_HUB_OFFLINE", 14, "0", 0, &i)); /* no overwrite: no-op */
    assert_true(hfs_env_change_refused(env, 2, "HF_TOKEN", 8, "hf_x", 0, &i));      /* enforced unset */
    assert_int_equal(i, 1);
    assert_false(hfs_env_change_refused(env, 2, "HF_TOKEN", 8, NULL, 1, &i));
    assert_true(hfs_env_change_refused(env, 2, "HF_HUB_OFFLINE=1", 14, "0", 1, &i)); /* len bounds the name */
    assert_false(hfs_env_change_refused(env, 2, "HF_HUB", 6, "0", 1, &i));           /* a prefix is another name */
    assert_false(hfs_env_change_refused(env, 2, "PATH", 4, "/x", 1, &i));
    assert_false(hfs_env_change_refused(env, 0, "HF_HUB_OFFLINE", 14, "0", 1, &i));
}

static void test_rules_keys(void **state)
{
    (void)state;
    struct hfs_diag d;
    static const char *const bad[] = {
        "{\"version\": 1, \"locked\": \"yes\"}",
        "{\"version\": 1, \"log\": {\"destination\": \"relative.log\"}}",
        "{\"version\": 1, \"log\": {\"audit\": \"off\"}}",
        "{\"version\": 1, \"log\": {\"destination\": 3}}",
        NULL,
    };
    for (const char *const *b = bad; *b; b++) {
        memset(&d, 0, sizeof d);
        assert_null(hfs_rules_load_buffer("t.json", *b, strlen(*b), &d));
        assert_true(d.errors > 0);
    }
    memset(&d, 0, sizeof d);
    assert_null(hfs_rules_load_buffer("t.json", bad[1], strlen(bad[1]), &d));
    assert_non_null(strstr(d.first_error, "t.json:1:"));
    assert_non_null(strstr(d.first_error, "not an absolute path"));
    struct hfs_rules *r = rules_from_file("sys.json", "{\"version\": 1, \"log\": {\"destination\": \"off\"}}");
    assert_string_equal(r->log_dest, "off");
    assert_false(r->locked);
    hfs_rules_free(r);
}

static void test_sys_load_states(void **state)
{
    (void)state;
    char dir[] = "/tmp/hfs-syspolicy-XXXXXX", path[64];
    struct hfs_diag d;
    struct hfs_rules *r;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/rules.json", dir);
    memset(&d, 0, sizeof d);
    assert_int_equal(hfs_sys_load(path, 0, &d, &r), HFS_SYS_ABSENT);
    assert_null(r);
    FILE *f = fopen(path, "w");
    fputs("{\"version\": 1, \"locked\": tru}", f);
    fclose(f);
    assert_int_equal(hfs_sys_load(path, 0, &d, &r), HFS_SYS_BROKEN);
    assert_non_null(strstr(d.first_error, "rules.json:1:"));
    char inc[80];
    snprintf(inc, sizeof inc, "%s/more.json", dir);
    f = fopen(inc, "w");
    fputs("{\"version\": 1, \"rules\": []}", f);
    fclose(f);
    f = fopen(path, "w");
    fputs("{\"version\": 1, \"locked\": true, \"include\": [\"more.json\"]}", f);
    fclose(f);
    chmod(dir, 0755);
    chmod(path, 0644);
    chmod(inc, 0644);
    if (geteuid() == 0) {
        memset(&d, 0, sizeof d);
        assert_int_equal(hfs_sys_load(path, 0, &d, &r), HFS_SYS_LOADED);
        assert_true(r->locked);
        assert_int_equal(r->nincludes, 1);
        assert_string_equal(r->includes[0], inc);
        hfs_rules_free(r);
        memset(&d, 0, sizeof d);
        assert_int_equal(hfs_sys_load(path, 1, &d, &r), HFS_SYS_LOADED);
        hfs_rules_free(r);
        /* a lock others can rewrite (the file, or a file it includes) locks nothing */
        chmod(inc, 0666);
        memset(&d, 0, sizeof d);
        assert_int_equal(hfs_sys_load(path, 0, &d, &r), HFS_SYS_BROKEN);
        assert_non_null(strstr(d.first_error, "a locked policy cannot be trusted"));
        assert_non_null(strstr(d.first_error, "more.json is writable by group or others"));
        chmod(inc, 0644);
        chmod(path, 0666);
        memset(&d, 0, sizeof d);
        assert_int_equal(hfs_sys_load(path, 0, &d, &r), HFS_SYS_BROKEN);
        memset(&d, 0, sizeof d);
        assert_int_equal(hfs_sys_load(path, 1, &d, &r), HFS_SYS_UNTRUSTED);
        assert_non_null(strstr(d.first_error, "writable by group or others"));
        /* a folder on the way others may write */
        chmod(path, 0644);
        chmod(dir, 0777);
        memset(&d, 0, sizeof d);
        assert_int_equal(hfs_sys_load(path, 0, &d, &r), HFS_SYS_BROKEN);
        assert_non_null(strstr(d.first_error, "writable by group or others"));
        chmod(dir, 0755);
    }
    unlink(inc);
    unlink(path);
    assert_int_equal(mkdir(path, 0755), 0);
    memset(&d, 0, sizeof d);
    assert_int_equal(hfs_sys_load(path, 0, &d, &r), HFS_SYS_BROKEN);
    assert_non_null(strstr(d.first_error, "not a regular file"));
    rmdir(path);
    rmdir(dir);
}

static void expect_edit(const char *in, const char *lib, int add, int changed, const char *want)
{
    char *out;
    size_t len;
    assert_int_equal(hfs_preloadfile_edit(in, strlen(in), lib, add, &out, &len), changed);
    assert_non_null(out);
    assert_int_equal(len, strlen(want));
    assert_string_equal(out, want);
    free(out);
}

static void test_preloadfile(void **state)
{
    (void)state;
    const char *lib = "/usr/local/lib/libhfshim.so";
    expect_edit("", lib, 1, 1, "/usr/local/lib/libhfshim.so\n");
    expect_edit("/usr/local/lib/libhfshim.so\n", lib, 1, 0, "/usr/local/lib/libhfshim.so\n");
    /* other entries and their layout stay; no newline at the end is mended */
    expect_edit("/lib/a.so  /lib/b.so", lib, 1, 1, "/lib/a.so  /lib/b.so\n/usr/local/lib/libhfshim.so\n");
    /* an old copy goes, the line keeps its other entries */
    expect_edit("/lib/a.so:/opt/old/libhfshim.so\n/lib/c.so\n", lib, 1, 1,
                "/lib/a.so\n/lib/c.so\n/usr/local/lib/libhfshim.so\n");
    /* our entry twice: the first stays */
    expect_edit("/usr/local/lib/libhfshim.so /usr/local/lib/libhfshim.so\n", lib, 1, 1,
                "/usr/local/lib/libhfshim.so\n");
    expect_edit("/lib/a.so\n/usr/local/lib/libhfshim.so\n", NULL, 0, 1, "/lib/a.so\n");
    expect_edit("/lib/a.so\n", NULL, 0, 0, "/lib/a.so\n");
    expect_edit("\t/usr/local/lib/libhfshim.so\t\n", NULL, 0, 1, "");
    expect_edit("", NULL, 0, 0, "");
    /* any libhfshim* counts as a copy (as in LD_PRELOAD composition, childenv.h) */
    expect_edit("/lib/libhfshimmer.so\n", NULL, 0, 1, "");
    /* '#' starts a comment (as ld.so reads it): a commented-out copy is not
     * an entry, and a comment on a rebuilt line stays */
    expect_edit("# /usr/local/lib/libhfshim.so\n", lib, 1, 1,
                "# /usr/local/lib/libhfshim.so\n/usr/local/lib/libhfshim.so\n");
    expect_edit("/opt/libhfshim.so # old\n/lib/a.so\n", NULL, 0, 1, "# old\n/lib/a.so\n");
    /* '\r' is part of a name for ld.so: "lib\r" is not our library */
    expect_edit("/usr/local/lib/libhfshim.so\r\n", lib, 1, 1, "/usr/local/lib/libhfshim.so\n");
    char *out;
    size_t len;
    assert_int_equal(hfs_preloadfile_edit("", 0, "relative/libhfshim.so", 1, &out, &len), -1);
    assert_int_equal(hfs_preloadfile_edit("", 0, "/a b/libhfshim.so", 1, &out, &len), -1);
    assert_int_equal(hfs_preloadfile_edit("", 0, "/a:b/libhfshim.so", 1, &out, &len), -1);
    assert_true(hfs_preloadfile_has("x\n/usr/local/lib/libhfshim.so\n", 30, lib));
    assert_false(hfs_preloadfile_has("x\n", 2, lib));
    assert_true(hfs_preloadfile_has("x\n", 2, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent_is_unchanged),
        cmocka_unit_test(test_unlocked_system_is_the_default),
        cmocka_unit_test(test_locked_takes_only_restrictions),
        cmocka_unit_test(test_broken_fails_closed),
        cmocka_unit_test(test_secure_mode_reads_no_environment),
        cmocka_unit_test(test_ignored_values_are_printable),
        cmocka_unit_test(test_offline_stricter_and_endpoints),
        cmocka_unit_test(test_env_change_refused),
        cmocka_unit_test(test_rules_keys),
        cmocka_unit_test(test_sys_load_states),
        cmocka_unit_test(test_preloadfile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
