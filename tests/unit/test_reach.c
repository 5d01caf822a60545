/* test_reach: unit tests of the Hub reachability verdicts (core/reach.h),
 * the "reach" rules section, the decision core's use of them (an
 * unreachable Hub host is handled as offline mode handles Hub hosts, other
 * hosts are untouched) and the take-over of the libraries' offline
 * switches (core/envpolicy.h). */
#include "unit.h"
#include "unit_rules.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "envpolicy.h"
#include "reach.h"
#include "rules.h"

static void test_mark_down_expire(void **state)
{
    (void)state;
    static struct hfs_reach_table t;
    struct hfs_reach_entry e;
    memset(&t, 0, sizeof t);
    assert_int_equal(hfs_reach_down(&t, "huggingface.co", 1000, 60000, NULL), 0);
    assert_int_equal(hfs_reach_mark(&t, "HuggingFace.co.", 1000, 60000, HFS_REACH_LOOKUP, EAI_AGAIN), 1);
    /* already known: no second log line */
    assert_int_equal(hfs_reach_mark(&t, "huggingface.co", 2000, 60000, HFS_REACH_CONNECT_SLOW, ETIMEDOUT), 0);
    assert_int_equal(hfs_reach_down(&t, "huggingface.co", 30000, 60000, &e), 1);
    assert_string_equal(e.host, "huggingface.co");
    assert_int_equal(e.reason, HFS_REACH_LOOKUP);
    assert_int_equal(e.since_ms, 1000);
    assert_int_equal(hfs_reach_down(&t, "cdn-lfs.huggingface.co", 30000, 60000, NULL), 0);
    /* the verdict holds remember_ms, then the host is tried again */
    assert_int_equal(hfs_reach_down(&t, "huggingface.co", 61001, 60000, NULL), 0);
    assert_int_equal(hfs_reach_mark(&t, "huggingface.co", 61001, 60000, HFS_REACH_SILENT, 0), 1);
    struct hfs_reach_entry list[4];
    assert_int_equal(hfs_reach_list(&t, 62000, 60000, list, 4), 1);
    assert_int_equal(list[0].reason, HFS_REACH_SILENT);
    /* it answered: forgotten, once */
    assert_int_equal(hfs_reach_clear(&t, "huggingface.co"), 1);
    assert_int_equal(hfs_reach_clear(&t, "huggingface.co"), 0);
    assert_int_equal(hfs_reach_down(&t, "huggingface.co", 62000, 60000, NULL), 0);
}

static void test_table_full(void **state)
{
    (void)state;
    static struct hfs_reach_table t;
    char name[32];
    memset(&t, 0, sizeof t);
    for (int i = 0; i < HFS_REACH_SLOTS; i++) {
        snprintf(name, sizeof name, "h%d.example", i);
        assert_int_equal(hfs_reach_mark(&t, name, 1000, 60000, HFS_REACH_LOOKUP, EAI_AGAIN), 1);
    }
    assert_int_equal(hfs_reach_mark(&t, "one-more.example", 1000, 60000, HFS_REACH_LOOKUP, EAI_AGAIN), -1);
    assert_int_equal(hfs_reach_down(&t, "h7.example", 1000, 60000, NULL), 1);
}

static void test_reason_text(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(hfs_reach_reason_text(HFS_REACH_LOOKUP, EAI_AGAIN, buf, sizeof buf),
                        "the name lookup failed (EAI_AGAIN)");
    assert_string_equal(hfs_reach_reason_text(HFS_REACH_CONNECT, ECONNREFUSED, buf, sizeof buf),
                        "the connection failed (ECONNREFUSED)");
}

static void test_rules_section(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from("{\"version\": 1}");
    assert_int_equal(r->reach.learn, 1);
    assert_int_equal(r->reach.resolve_ms, 1000);
    assert_int_equal(r->reach.connect_ms, 1500);
    assert_int_equal(r->reach.handshake_ms, 1500);
    assert_int_equal(r->reach.first_byte_ms, 2000);
    assert_int_equal(r->reach.remember_s, 60);
    assert_int_equal(r->reach.offline_variables, 1);
    assert_string_equal(r->reach.state_file, "~/.cache/hfshim/reach");
    hfs_rules_free(r);
    r = rules_from("{\"version\": 1, \"reach\": {\"learn\": false, \"resolve_ms\": 3000, \"connect_ms\": 5000, "
                   "\"handshake_ms\": 6000, "
                   "\"first_byte_ms\": 7000, \"remember_s\": 10, \"state_file\": null, "
                   "\"offline_variables\": \"library\"}}");
    assert_int_equal(r->reach.learn, 0);
    assert_int_equal(r->reach.resolve_ms, 3000);
    assert_int_equal(r->reach.connect_ms, 5000);
    assert_int_equal(r->reach.handshake_ms, 6000);
    assert_int_equal(r->reach.first_byte_ms, 7000);
    assert_int_equal(r->reach.remember_s, 10);
    assert_null(r->reach.state_file);
    assert_int_equal(r->reach.offline_variables, 0);
    hfs_rules_free(r);
    struct hfs_diag d;
    memset(&d, 0, sizeof d);
    const char *bad = "{\"version\": 1, \"reach\": {\"connect_ms\": 0}}";
    assert_null(hfs_rules_load_buffer("t.json", bad, strlen(bad), &d));
    assert_non_null(strstr(d.first_error, "connect_ms"));
    memset(&d, 0, sizeof d);
    bad = "{\"version\": 1, \"reach\": {\"resolve_ms\": 500}}"; /* glibc's resolver counts in seconds */
    assert_null(hfs_rules_load_buffer("t.json", bad, strlen(bad), &d));
    assert_non_null(strstr(d.first_error, "resolve_ms"));
    memset(&d, 0, sizeof d);
    bad = "{\"version\": 1, \"reach\": {\"offline_variables\": \"yes\"}}";
    assert_null(hfs_rules_load_buffer("t.json", bad, strlen(bad), &d));
}

static int down_all(void *ctx, const struct hfs_request *r, const char **why)
{
    (void)r;
    (*(int *)ctx)++;
    *why = "test: unreachable";
    return 1;
}

static int probe_hit(void *ctx, const struct hfs_request *r, const struct hfs_rule *rule)
{
    (void)ctx;
    (void)rule;
    return strstr(r->path, "cached") != NULL;
}

static const char *DEFAULTISH =
    "{\"version\": 1, \"rules\": [{\"name\": \"hub-cache\", \"match\": {\"host\": \"@hub\"}, \"action\": \"cache\", "
    "\"miss\": \"next\"}]}";

static void test_decide_unreachable_is_offline_for_hub(void **state)
{
    (void)state;
    struct hfs_rules *p = rules_from(DEFAULTISH);
    int asked = 0;
    struct hfs_reach reach = { down_all, &asked };
    struct hfs_cache_probe probe = { probe_hit, NULL };
    struct hfs_verdict v;

    /* the resolver: a Hub name gets a virtual address (no lookup) */
    struct hfs_request q = { .layer = HFS_LAYER_RESOLVE, .host = "huggingface.co", .reach = &reach };
    hfs_decide(p, &q, &v);
    assert_int_equal(v.fate, HFS_CONN_VIRTUAL);
    assert_string_equal(v.rule, "unreachable");
    /* another host: never asked, untouched */
    asked = 0;
    q.host = "example.org";
    hfs_decide(p, &q, &v);
    assert_int_equal(v.kind, HFS_V_ALLOW);
    assert_int_equal(asked, 0);

    /* HTTP: a cached call is answered, a miss is blocked at the HTTP level */
    struct hfs_request h = { .layer = HFS_LAYER_TLS,
                             .host = "huggingface.co",
                             .port = 443,
                             .scheme = "https",
                             .method = "GET",
                             .path = "/api/models/acme/cached",
                             .http_known = 1,
                             .url = "https://huggingface.co/api/models/acme/cached",
                             .cache = &probe,
                             .reach = &reach };
    hfs_decide(p, &h, &v);
    assert_int_equal(v.kind, HFS_V_RESPOND);
    assert_int_equal(v.from_cache, 1);
    h.path = "/acme/other/resolve/main/config.json";
    h.method = "HEAD";
    h.url = "https://huggingface.co/acme/other/resolve/main/config.json";
    hfs_decide(p, &h, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_int_equal(v.http_form, 1);
    assert_int_equal(v.block_status, 403);
    assert_string_equal(v.rule, "unreachable");

    /* without the callback (or reachable) the miss goes to the network */
    h.reach = NULL;
    hfs_decide(p, &h, &v);
    assert_int_equal(v.kind, HFS_V_ALLOW);
    hfs_rules_free(p);
}

static const char *user_offline(const char *name) { return strcmp(name, "HF_HUB_OFFLINE") == 0 ? "1" : NULL; }

static void test_offline_switch_taken_over(void **state)
{
    (void)state;
    struct hfs_rules *p = rules_from(DEFAULTISH);
    struct hfs_envvar env[32];
    const char *which = NULL;
    assert_int_equal(hfs_env_hub_offline(p, user_offline, &which), 1);
    assert_string_equal(which, "HF_HUB_OFFLINE");
    size_t n = hfs_env_plan(p, user_offline, env, 32, NULL);
    int seen = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(env[i].name, "HF_HUB_OFFLINE") == 0) {
            assert_string_equal(env[i].value, "0");
            seen = 1;
        }
    assert_true(seen);
    hfs_rules_free(p);
    /* "library": the libraries' own offline behaviour */
    p = rules_from("{\"version\": 1, \"reach\": {\"offline_variables\": \"library\"}}");
    assert_int_equal(hfs_env_hub_offline(p, user_offline, &which), 0);
    n = hfs_env_plan(p, user_offline, env, 32, NULL);
    for (size_t i = 0; i < n; i++)
        assert_string_not_equal(env[i].name, "HF_HUB_OFFLINE");
    hfs_rules_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mark_down_expire),
        cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_reason_text),
        cmocka_unit_test(test_rules_section),
        cmocka_unit_test(test_decide_unreachable_is_offline_for_hub),
        cmocka_unit_test(test_offline_switch_taken_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
