/* test_faults: unit tests of the fault core: count windows and seeded
 * probability (window.h), preset answers (presets.h), the --fault
 * shortcut (faultspec.h) and how the decision core places each fault at
 * its layer and counts windowed rules once (decide.h). */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "decide.h"
#include "faultspec.h"
#include "presets.h"
#include "rules.h"
#include "window.h"

static struct hfs_rules *load(const char *json, struct hfs_diag *d)
{
    memset(d, 0, sizeof *d);
    return hfs_rules_load_buffer("t.json", json, strlen(json), d);
}

static struct hfs_rules *rules_from(const char *json)
{
    struct hfs_diag d;
    struct hfs_rules *r = load(json, &d);
    if (!r)
        print_message("load error: %s\n", d.first_error);
    assert_non_null(r);
    return r;
}

static void test_window_counts(void **state)
{
    (void)state;
    struct hfs_window w = { .present = 1, .first = 2, .p = 1.0 };
    assert_true(hfs_window_fires(&w, "r", 1));
    assert_true(hfs_window_fires(&w, "r", 2));
    assert_false(hfs_window_fires(&w, "r", 3));
    w = (struct hfs_window){ .present = 1, .after = 1, .every = 2, .p = 1.0 };
    assert_false(hfs_window_fires(&w, "r", 1));
    assert_true(hfs_window_fires(&w, "r", 2));
    assert_false(hfs_window_fires(&w, "r", 3));
    assert_true(hfs_window_fires(&w, "r", 4));
    w = (struct hfs_window){ .present = 1, .first = 10, .after = 5, .p = 1.0 };
    assert_false(hfs_window_fires(&w, "r", 5));
    assert_true(hfs_window_fires(&w, "r", 6));
    assert_true(hfs_window_fires(&w, "r", 10));
    assert_false(hfs_window_fires(&w, "r", 11));
    struct hfs_window none = { 0 };
    assert_true(hfs_window_fires(&none, "r", 12345));
}

static void test_window_probability(void **state)
{
    (void)state;
    struct hfs_window w = { .present = 1, .p = 0.3, .seed = 7 };
    int fired = 0, again = 0;
    for (long n = 1; n <= 10000; n++) {
        int f = hfs_window_fires(&w, "rule", n);
        fired += f;
        again += f == hfs_window_fires(&w, "rule", n); /* the same answer every time */
    }
    assert_int_equal(again, 10000);
    assert_in_range(fired, 2700, 3300);
    /* another seed or rule: another sequence */
    int same = 0;
    struct hfs_window w2 = w;
    w2.seed = 8;
    for (long n = 1; n <= 200; n++)
        same += hfs_window_fires(&w, "rule", n) == hfs_window_fires(&w2, "rule", n);
    assert_true(same < 200);
    w.p = 0.0;
    for (long n = 1; n <= 100; n++)
        assert_false(hfs_window_fires(&w, "rule", n));
    double d = hfs_window_draw(1, "x", 1);
    assert_true(d >= 0.0 && d < 1.0);
}

static const char *hdr(const struct hfs_answer *a, const char *name)
{
    static char buf[700];
    size_t l = 0;
    const char *v = hfs_answer_header(a, name, &l);
    if (!v)
        return NULL;
    snprintf(buf, sizeof buf, "%.*s", (int)l, v);
    return buf;
}

static void test_preset_answers(void **state)
{
    (void)state;
    struct hfs_answer a;
    struct hfs_preset_ctx c = { .type = "model", .repo = "acme/gated", .rev = "v9", .resource = "resolvers" };
    int id;
    assert_non_null(hfs_preset_find("gated-repo", &id));
    hfs_preset_answer(id, &c, 1, &a);
    assert_int_equal(a.status, 401);
    assert_string_equal(hdr(&a, "X-Error-Code"), "GatedRepo");
    assert_string_equal(hdr(&a, "X-Error-Message"), "Access to model acme/gated is restricted. You must have access "
                                                    "to it and be authenticated to access it. Please log in.");
    c.token = 1;
    snprintf(c.type, sizeof c.type, "dataset");
    hfs_preset_answer(id, &c, 1, &a);
    assert_int_equal(a.status, 403);
    assert_string_equal(hdr(&a, "X-Error-Message"), "Access to dataset acme/gated is restricted and you are not in the "
                                                    "authorized list. Visit https://huggingface.co/datasets/acme/gated "
                                                    "to ask for access.");
    assert_non_null(hfs_preset_find("revision-not-found", &id));
    hfs_preset_answer(id, &c, 1, &a);
    assert_int_equal(a.status, 404);
    assert_string_equal(hdr(&a, "X-Error-Message"), "Invalid rev id: v9");
    assert_memory_equal(a.body, "{\"error\":\"Invalid rev id: v9\"}", a.body_len);
    assert_non_null(hfs_preset_find("repo-not-found", &id));
    hfs_preset_answer(id, &c, 1, &a);
    assert_int_equal(a.status, 401);
    assert_string_equal(hdr(&a, "X-Error-Code"), "RepoNotFound");
    assert_null(hdr(&a, "X-Error-Message"));
    assert_non_null(hfs_preset_find("rate-limited", &id));
    hfs_preset_answer(id, &c, 42, &a);
    assert_int_equal(a.status, 429);
    assert_string_equal(hdr(&a, "Retry-After"), "42");
    assert_string_equal(hdr(&a, "RateLimit"), "\"resolvers\";r=0;t=42");
    assert_non_null(hfs_preset_find("router-401", &id));
    hfs_preset_answer(id, &c, 1, &a);
    assert_int_equal(a.status, 401);
    assert_null(hdr(&a, "X-Error-Code"));
    assert_null(hdr(&a, "X-Error-Message"));
    assert_memory_equal(a.body, "{\"error\":\"Invalid username or password.\"}", a.body_len);
    assert_null(hfs_preset_find("nope", &id));
    /* hostile request parts: no line break reaches a header, the body stays JSON */
    struct hfs_preset_ctx bad = { .type = "model", .repo = "a\"b\r\nX-Evil: 1", .rev = "r\\" };
    assert_non_null(hfs_preset_find("gated-repo", &id));
    hfs_preset_answer(id, &bad, 1, &a);
    assert_null(strpbrk(hdr(&a, "X-Error-Message"), "\r\n"));
    assert_non_null(strstr(a.body, "a\\\"b??X-Evil: 1"));
}

static void test_preset_rules(void **state)
{
    (void)state;
    struct hfs_diag d;
    struct hfs_rules *r = load("{\"version\":1,\"rules\":[{\"preset\":\"rate-limited\",\"retry_after\":5,"
                               "\"headers\":{\"X-Extra\":\"1\"}},{\"preset\":\"firewall-hang\"}]}",
                               &d);
    assert_non_null(r);
    assert_int_equal(r->rules[0].action, HFS_ACT_RESPOND);
    assert_int_equal(r->rules[0].args.retry_after, 5);
    assert_int_equal(r->rules[1].action, HFS_ACT_HANG);
    assert_true(r->rules[1].args.hang_connect);
    hfs_rules_free(r);
    static const struct {
        const char *json, *msg;
    } bad[] = {
        { "{\"version\":1,\"rules\":[{\"preset\":\"bogus\"}]}", "unknown preset \"bogus\" (known presets: invalid-" },
        { "{\"version\":1,\"rules\":[{\"preset\":\"hub-outage\",\"action\":\"respond\"}]}",
          "give \"preset\" or \"action\", not both" },
        { "{\"version\":1,\"rules\":[{\"preset\":\"hub-outage\",\"retry_after\":3}]}",
          "\"retry_after\" does not apply to preset hub-outage" },
        { "{\"version\":1,\"rules\":[{\"preset\":\"firewall-hang\",\"match\":{\"path\":\"/x\"}}]}",
          "firewall-hang acts on the connection" },
        { "{\"version\":1,\"rules\":[{\"action\":\"refuse\",\"match\":{\"method\":\"GET\"}}]}",
          "refuse acts on the connection" },
        { "{\"version\":1,\"rules\":[{\"action\":\"throttle\"}]}", "needs \"bytes_per_second\"" },
        { "{\"version\":1,\"rules\":[{\"action\":\"hang\",\"stage\":\"later\"}]}", "unknown hang stage \"later\"" },
        { "{\"version\":1,\"rules\":[{\"action\":\"block\",\"window\":{}}]}", "an empty window always fires" },
        { "{\"version\":1,\"rules\":[{\"action\":\"block\",\"window\":{\"probability\":2}}]}",
          "probability must be a number from 0 to 1" },
        { "{\"version\":1,\"rules\":[{\"action\":\"block\",\"window\":{\"firstt\":2}}]}", "firstt" },
        { "{\"version\":1,\"rules\":[{\"action\":\"block\",\"match\":{\"program\":\"/usr/bin/x\"}}]}",
          "a program name is the short name" },
        { "{\"version\":1,\"rules\":[{\"action\":\"block\",\"match\":{\"program\":[]}}]}", "empty program list" },
        { "{\"version\":1,\"rules\":[{\"action\":\"reset\",\"after_bytes\":-1}]}", "after_bytes must be" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = load(bad[i].json, &d);
        if (r || !strstr(d.first_error, bad[i].msg))
            print_message("case %zu: got %s\n", i, d.first_error);
        assert_null(r);
        assert_non_null(strstr(d.first_error, bad[i].msg));
    }
}

static void test_faultspec(void **state)
{
    (void)state;
    char out[4096], err[400];
    assert_int_equal(hfs_faultspec_rule("invalid-credentials", 1, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out,
                        "{\"name\":\"--fault 1\",\"match\":{\"host\":\"@hub\"},\"preset\":\"invalid-credentials\"}");
    assert_int_equal(hfs_faultspec_rule("rate-limited:/api/models/@first=2,seed=3,program=python3", 2, out, sizeof out,
                                        err, sizeof err),
                     0);
    assert_string_equal(out,
                        "{\"name\":\"--fault 2\",\"match\":{\"host\":\"@hub\",\"path\":\"/api/models/\","
                        "\"program\":\"python3\"},\"preset\":\"rate-limited\",\"window\":{\"first\":2,\"seed\":3}}");
    assert_int_equal(hfs_faultspec_rule("reset=10:https://x\\.example/.*", 3, out, sizeof out, err, sizeof err), 0);
    assert_non_null(
        strstr(out, "\"match\":{\"url\":\"https://x\\\\.example/.*\"},\"action\":\"reset\",\"after_bytes\":10"));
    assert_int_equal(hfs_faultspec_rule("hang=connect:cdn.example.com", 4, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "\"host\":\"cdn.example.com\"},\"action\":\"hang\",\"stage\":\"connect\""));
    assert_int_equal(hfs_faultspec_rule("503@p=0.25", 5, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "\"status\":503"));
    assert_non_null(strstr(out, "\"window\":{\"probability\":0.25}"));
    /* "@hub" as the match is not a window */
    assert_int_equal(hfs_faultspec_rule("refuse:@hub", 6, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "\"match\":{\"host\":\"@hub\"},\"action\":\"refuse\""));
    static const struct {
        const char *spec, *msg;
    } bad[] = {
        { "", "col 1: empty fault" },
        { "nope", "col 1: unknown fault \"nope\"" },
        { "reset=x", "col 7: reset=N" },
        { "throttle", "col 9: throttle=BPS" },
        { "delay=99999999", "col 7: delay=MS" },
        { "hang=soon", "col 6: hang takes connect or request" },
        { "refuse:/api/", "col 8: refuse acts on the connection" },
        { "503@every=0", "every must be a whole number from 1" },
        { "503@p=x", "p must be a number from 0 to 1" },
        { "503@size=3", "unknown window key \"size\"" },
        { "invalid-credentials=3", "preset invalid-credentials takes no value" },
        { "503@first", "col 4: a window is written @KEY=VALUE" },
        { "503@first=2,every", "expected KEY=VALUE" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = hfs_faultspec_rule(bad[i].spec, 1, out, sizeof out, err, sizeof err);
        if (rc == 0 || !strstr(err, bad[i].msg))
            print_message("case %s: got %s\n", bad[i].spec, err);
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, bad[i].msg));
    }
}

static void test_faults_apply(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from("{\"version\":1,\"rules\":[{\"name\":\"mine\",\"action\":\"allow\"}]}");
    struct hfs_diag d;
    memset(&d, 0, sizeof d);
    assert_int_equal(hfs_faults_apply(r, "hub-outage\nrefuse:cdn.example.com\n", &d), 0);
    assert_int_equal(r->nrules, 3);
    assert_string_equal(r->rules[0].name, "--fault 1");
    assert_string_equal(r->rules[2].name, "mine"); /* the file's rules after the shortcuts */
    memset(&d, 0, sizeof d);
    assert_int_equal(hfs_faults_apply(r, "hub-outage\n503:/(x\n", &d), -1);
    assert_int_equal(r->nrules, 3); /* unchanged */
    assert_non_null(strstr(d.first_error, "--fault 503:/(x: match.path: invalid regex"));
    hfs_rules_free(r);
}

/* The counting callback: how many times the core asked, per rule. */
struct counter {
    long n[8];
};

static long count(void *ctx, const struct hfs_rule *rule, size_t i)
{
    (void)rule;
    struct counter *c = ctx;
    return ++c->n[i];
}

static struct hfs_request http_req(enum hfs_layer l, const char *path)
{
    struct hfs_request q;
    memset(&q, 0, sizeof q);
    q.layer = l;
    q.host = "huggingface.co";
    q.port = 443;
    q.method = "GET";
    q.path = path;
    q.scheme = "https";
    q.http_known = 1;
    return q;
}

static void test_decide_windows(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from("{\"version\":1,\"rules\":[{\"name\":\"rl\",\"match\":{\"host\":\"@hub\"},"
                                     "\"preset\":\"rate-limited\",\"window\":{\"first\":2}}]}");
    struct counter c = { { 0 } };
    struct hfs_fire fire = { count, &c };
    struct hfs_verdict v;
    /* the connection: decided at the HTTP layer, not counted */
    struct hfs_request q = http_req(HFS_LAYER_RESOLVE, NULL);
    q.http_known = 0;
    q.method = q.path = NULL;
    q.fire = &fire;
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_DEFER);
    assert_int_equal(c.n[0], 0);
    q.layer = HFS_LAYER_CONNECT;
    hfs_decide(r, &q, &v);
    assert_int_equal(v.fate, HFS_CONN_REAL); /* some requests need the network */
    assert_true(v.http_rules);
    assert_int_equal(c.n[0], 0);
    /* requests: the first two answered, then allowed */
    for (int i = 1; i <= 4; i++) {
        q = http_req(HFS_LAYER_CURL, "/api/models/a/b");
        q.fire = &fire;
        hfs_decide(r, &q, &v);
        assert_int_equal(v.kind, i <= 2 ? HFS_V_RESPOND : HFS_V_ALLOW);
        assert_int_equal(c.n[0], i);
    }
    hfs_rules_free(r);
}

static void test_decide_layers(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from(
        "{\"version\":1,\"rules\":["
        "{\"name\":\"dns\",\"match\":{\"host\":\"dns.example\"},\"action\":\"dns-fail\"},"
        "{\"name\":\"dnsl\",\"match\":{\"host\":\"localhost\"},\"action\":\"dns-fail\"},"
        "{\"name\":\"ref\",\"match\":{\"host\":\"ref.example\"},\"action\":\"refuse\"},"
        "{\"name\":\"fw\",\"match\":{\"host\":\"fw.example\"},\"action\":\"hang\",\"stage\":\"connect\"},"
        "{\"name\":\"cut\",\"match\":{\"host\":\"@hub\",\"path\":\"^/big\"},\"action\":\"reset\",\"after_bytes\":7},"
        "{\"name\":\"slow\",\"match\":{\"host\":\"@hub\"},\"action\":\"throttle\",\"bytes_per_second\":100},"
        "{\"name\":\"h\",\"match\":{\"host\":\"@hub\",\"path\":\"^/hang\"},\"action\":\"hang\"}]}");
    struct hfs_verdict v;
    struct hfs_request q;
    memset(&q, 0, sizeof q);
    q.layer = HFS_LAYER_RESOLVE;
    q.host = "dns.example";
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_string_equal(v.rule, "dns");
    assert_int_equal(v.action, HFS_ACT_DNS_FAIL); /* the verdict says what decided: no layer reads the rules */
    assert_true(v.lookup_fail);
    q.layer = HFS_LAYER_CURL; /* libcurl looks dns.example up itself (getaddrinfo): decided there */
    q.http_known = 1;
    q.method = "GET";
    q.path = "/";
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_ALLOW);
    q.host = "localhost"; /* ... but answers localhost itself: decided at the libcurl layer */
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_string_equal(v.rule, "dnsl");
    assert_true(v.lookup_fail); /* libcurl fails it as a lookup (CURLE_COULDNT_RESOLVE_HOST) */
    q.host = "dns.example";
    q.http_known = 0;
    q.method = q.path = NULL;
    q.layer = HFS_LAYER_CONNECT; /* once resolved, dns-fail has nothing to do */
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_ALLOW);
    q.host = "ref.example";
    q.layer = HFS_LAYER_RESOLVE; /* refuse acts at connect only */
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_ALLOW);
    q.layer = HFS_LAYER_CONNECT;
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_int_equal(v.fate, HFS_CONN_REFUSE);
    assert_int_equal(v.action, HFS_ACT_REFUSE);
    assert_false(v.lookup_fail);
    q.host = "fw.example";
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_HANG);
    assert_int_equal(v.fate, HFS_CONN_HANG);
    /* HTTP: reset and throttle are modifiers; hang answers nothing */
    q = http_req(HFS_LAYER_HTTP, "/big/file");
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_ALLOW);
    assert_int_equal(v.reset_after, 7);
    assert_int_equal(v.throttle_bps, 100);
    assert_string_equal(v.fault_rule, "cut");
    q = http_req(HFS_LAYER_TLS, "/hang");
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_HANG);
    assert_int_equal(v.reset_after, -1);
    /* a connection to the Hub: watched (its requests may be cut or hang) */
    memset(&q, 0, sizeof q);
    q.layer = HFS_LAYER_CONNECT;
    q.host = "huggingface.co";
    q.port = 443;
    hfs_decide(r, &q, &v);
    assert_int_equal(v.fate, HFS_CONN_REAL);
    assert_true(v.http_rules && v.http_strict);
    hfs_rules_free(r);
}

static void test_decide_program_and_offline(void **state)
{
    (void)state;
    struct hfs_rules *r =
        rules_from("{\"version\":1,\"offline\":true,\"rules\":["
                   "{\"name\":\"py\",\"match\":{\"program\":[\"python3\"]},\"preset\":\"hub-outage\"},"
                   "{\"name\":\"h\",\"match\":{\"path\":\"^/hang\"},\"action\":\"hang\"}]}");
    struct hfs_verdict v;
    struct hfs_request q = http_req(HFS_LAYER_HTTP, "/api/models/x");
    q.program = "curl";
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK); /* offline */
    q.program = "python3";
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_RESPOND); /* a preset answers offline too */
    assert_string_equal(v.rule, "py");
    q.program = "curl";
    q.path = "/hang";
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_HANG);
    hfs_rules_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_counts),
        cmocka_unit_test(test_window_probability),
        cmocka_unit_test(test_preset_answers),
        cmocka_unit_test(test_preset_rules),
        cmocka_unit_test(test_faultspec),
        cmocka_unit_test(test_faults_apply),
        cmocka_unit_test(test_decide_windows),
        cmocka_unit_test(test_decide_layers),
        cmocka_unit_test(test_decide_program_and_offline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
