/* test_envpolicy: unit tests of the enforced-variables plan
 * (shim/core/envpolicy.h): the offline variables, rules' env entries in
 * order, offline winning over a conflicting rule (with its warning), the
 * capacity limit, and hfs_parse_bool. */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "envpolicy.h"
#include "rules.h"

static struct hfs_rules *rules_from(const char *json)
{
    struct hfs_diag d;
    memset(&d, 0, sizeof d);
    struct hfs_rules *r = hfs_rules_load_buffer("e.json", json, strlen(json), &d);
    assert_non_null(r);
    return r;
}

struct capture {
    int n;
    char msg[8][300];
};

static void cap_emit(void *ctx, int is_error, const char *msg)
{
    struct capture *c = ctx;
    assert_int_equal(is_error, 0);
    if (c->n < 8)
        snprintf(c->msg[c->n++], sizeof c->msg[0], "%s", msg);
}

static void test_offline_variables(void **state)
{
    (void)state;
    static const char *const names[] = {
        "HF_HUB_OFFLINE",           "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE",         "HF_EVALUATE_OFFLINE",
        "HF_HUB_DISABLE_TELEMETRY", "HF_HUB_DISABLE_XET",   "HF_HUB_DISABLE_UPDATE_CHECK", NULL
    };
    int i = 0;
    for (; hfs_offline_env[i].name; i++) {
        assert_non_null(names[i]);
        assert_string_equal(hfs_offline_env[i].name, names[i]);
        assert_string_equal(hfs_offline_env[i].value, "1");
    }
    assert_null(names[i]);
    assert_int_equal(i, 7);
}

static void test_plan_online_is_rules_env_in_order(void **state)
{
    (void)state;
    struct hfs_rules *r =
        rules_from("{\"version\":1,\"env\":{\"set\":{\"B\":\"2\",\"A\":\"1\"},\"unset\":[\"C\",\"B\"]}}");
    struct hfs_envvar out[16];
    size_t n = hfs_env_plan(r, NULL, out, 16, NULL);
    assert_int_equal(n, 3);
    assert_string_equal(out[0].name, "B");
    assert_null(out[0].value); /* unset after set: the later entry wins, place kept */
    assert_string_equal(out[1].name, "A");
    assert_string_equal(out[1].value, "1");
    assert_string_equal(out[2].name, "C");
    assert_null(out[2].value);
    hfs_rules_free(r);
}

static void test_plan_offline_appends_and_wins(void **state)
{
    (void)state;
    struct hfs_rules *r =
        rules_from("{\"version\":1,\"offline\":\"variables\",\"env\":{\"set\":{\"HF_HUB_OFFLINE\":\"0\","
                   "\"HF_HUB_DISABLE_TELEMETRY\":\"1\",\"X\":\"y\"},\"unset\":[\"HF_DATASETS_OFFLINE\"]}}");
    struct capture c = { 0 };
    struct hfs_diag d = { cap_emit, &c, 0, 0, { 0 } };
    struct hfs_envvar out[16];
    size_t n = hfs_env_plan(r, NULL, out, 16, &d);
    assert_int_equal(n, 8); /* 4 from the rules, 4 offline ones not among them */
    assert_string_equal(out[0].name, "HF_HUB_OFFLINE");
    assert_string_equal(out[0].value, "1");
    assert_string_equal(out[1].name, "HF_HUB_DISABLE_TELEMETRY");
    assert_string_equal(out[2].name, "X");
    assert_string_equal(out[2].value, "y");
    assert_string_equal(out[3].name, "HF_DATASETS_OFFLINE");
    assert_string_equal(out[3].value, "1");
    assert_string_equal(out[4].name, "TRANSFORMERS_OFFLINE");
    assert_string_equal(out[7].name, "HF_HUB_DISABLE_UPDATE_CHECK");
    /* one warning per conflict; the same value is no conflict */
    assert_int_equal(d.warnings, 2);
    assert_int_equal(d.errors, 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.msg[0],
                        "e.json: warning: env: HF_HUB_OFFLINE is set by the rules but offline mode sets it to 1");
    assert_string_equal(
        c.msg[1], "e.json: warning: env: HF_DATASETS_OFFLINE is unset by the rules but offline mode sets it to 1");
    /* without a diag the plan is the same, silently */
    assert_int_equal(hfs_env_plan(r, NULL, out, 16, NULL), 8);
    hfs_rules_free(r);
}

static void test_plan_safe_default(void **state)
{
    (void)state;
    struct hfs_rules *r = hfs_rules_safe_default();
    struct hfs_envvar out[16];
    /* hfshim is offline, the libraries are not told: only the variables
     * that are not offline switches */
    assert_int_equal(hfs_env_plan(r, NULL, out, 16, NULL), 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(out[i].name, hfs_offline_env[HFS_OFFLINE_SWITCHES + i].name);
        assert_string_equal(out[i].value, "1");
    }
    hfs_rules_free(r);
}

static const char *user_env_offline(const char *name)
{
    if (!strcmp(name, "HF_HUB_OFFLINE"))
        return "1";
    if (!strcmp(name, "HF_DATASETS_OFFLINE"))
        return "YES";
    if (!strcmp(name, "TRANSFORMERS_OFFLINE"))
        return "0";
    return NULL;
}

static void test_plan_offline_takes_over_user_switches(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from("{\"version\":1,\"offline\":true}");
    struct hfs_envvar out[16];
    size_t n = hfs_env_plan(r, user_env_offline, out, 16, NULL);
    /* the user's truthy switches become 0, the others are left alone */
    assert_int_equal(n, 5);
    assert_string_equal(out[0].name, "HF_HUB_OFFLINE");
    assert_string_equal(out[0].value, "0");
    assert_string_equal(out[1].name, "HF_DATASETS_OFFLINE");
    assert_string_equal(out[1].value, "0");
    assert_string_equal(out[2].name, "HF_HUB_DISABLE_TELEMETRY");
    assert_string_equal(out[2].value, "1");
    hfs_rules_free(r);
    /* the variables mode sets them all to 1 whatever the user had */
    r = rules_from("{\"version\":1,\"offline\":\"variables\"}");
    n = hfs_env_plan(r, user_env_offline, out, 16, NULL);
    assert_int_equal(n, 7);
    for (int i = 0; i < 7; i++)
        assert_string_equal(out[i].value, "1");
    hfs_rules_free(r);
    assert_int_equal(hfs_parse_offline("variables"), HFS_OFFLINE_VARIABLES);
    assert_int_equal(hfs_parse_offline("On"), HFS_OFFLINE_ANSWER);
    assert_int_equal(hfs_parse_offline("off"), 0);
    assert_int_equal(hfs_parse_offline("vars"), -1);
}

static void test_plan_capacity(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from("{\"version\":1,\"offline\":true,\"env\":{\"set\":{\"A\":\"1\",\"B\":\"2\"}}}");
    struct hfs_envvar out[4];
    memset(out, 0, sizeof out);
    assert_int_equal(hfs_env_plan(r, NULL, out, 3, NULL), 3);
    assert_string_equal(out[0].name, "A");
    assert_string_equal(out[2].name, "HF_HUB_DISABLE_TELEMETRY");
    assert_null(out[3].name); /* nothing written past cap */
    assert_int_equal(hfs_env_plan(r, NULL, out, 0, NULL), 0);
    hfs_rules_free(r);
}

static void test_parse_bool(void **state)
{
    (void)state;
    static const char *const yes[] = { "1", "true", "TRUE", "True", "yes", "Yes", "on", "ON", NULL };
    static const char *const no[] = { "0", "false", "FALSE", "no", "No", "off", "Off", NULL };
    static const char *const neither[] = { "",      " ",     "2", "-1", "00",     "01",  "tru",      "truee",
                                           " true", "true ", "y", "n",  "enable", "nil", "\xC3\xA9", NULL };
    for (int i = 0; yes[i]; i++)
        assert_int_equal(hfs_parse_bool(yes[i]), 1);
    for (int i = 0; no[i]; i++)
        assert_int_equal(hfs_parse_bool(no[i]), 0);
    for (int i = 0; neither[i]; i++)
        assert_int_equal(hfs_parse_bool(neither[i]), -1);
    assert_int_equal(hfs_parse_bool(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offline_variables),
        cmocka_unit_test(test_plan_online_is_rules_env_in_order),
        cmocka_unit_test(test_plan_offline_appends_and_wins),
        cmocka_unit_test(test_plan_safe_default),
        cmocka_unit_test(test_plan_offline_takes_over_user_switches),
        cmocka_unit_test(test_plan_capacity),
        cmocka_unit_test(test_parse_bool),
    };
    return cmocka_run_group_tests_name("envpolicy", tests, NULL, NULL);
}
