/* test_rules: unit tests of the rules loader (shim/core/rules.h): files
 * that load and what they load into, warnings, and a table of invalid
 * files, each checked against its exact "file:line:col: path: message". */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decide.h"
#include "regex.h"
#include "rules.h"

/* ---- helpers ---------------------------------------------------------- */

#define MAXMSG 16

struct capture {
    int n, nerr, nwarn;
    char msg[MAXMSG][1100];
    int is_error[MAXMSG];
};

static void cap_emit(void *ctx, int is_error, const char *msg)
{
    struct capture *c = ctx;
    if (c->n < MAXMSG) {
        snprintf(c->msg[c->n], sizeof c->msg[c->n], "%s", msg);
        c->is_error[c->n] = is_error;
        c->n++;
    }
    if (is_error)
        c->nerr++;
    else
        c->nwarn++;
}

static struct hfs_rules *load_len(const char *text, size_t len, struct capture *c, struct hfs_diag *d)
{
    memset(c, 0, sizeof *c);
    memset(d, 0, sizeof *d);
    d->emit = cap_emit;
    d->ctx = c;
    return hfs_rules_load_buffer("r.json", text, len, d);
}

static struct hfs_rules *load(const char *text, struct capture *c, struct hfs_diag *d)
{
    return load_len(text, strlen(text), c, d);
}

/* Loads text that must load without any message. */
static struct hfs_rules *load_ok(const char *text)
{
    struct capture c;
    struct hfs_diag d;
    struct hfs_rules *r = load(text, &c, &d);
    if (c.n)
        print_message("unexpected message: %s\n", c.msg[0]);
    assert_int_equal(c.n, 0);
    assert_int_equal(d.errors, 0);
    assert_non_null(r);
    return r;
}

/* Loads text that must fail with exactly one error, want. */
static void expect_error(const char *text, size_t len, const char *want)
{
    struct capture c;
    struct hfs_diag d;
    struct hfs_rules *r = load_len(text, len, &c, &d);
    assert_null(r);
    assert_int_equal(d.errors, 1);
    assert_int_equal(c.nerr, 1);
    assert_string_equal(d.first_error, want);
    for (int i = 0; i < c.n; i++)
        if (c.is_error[i])
            assert_string_equal(c.msg[i], want);
}

static char *write_temp(const char *text)
{
    static char path[512];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/hfs_test_rules_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static const char EXAMPLE[] =
    "{\"version\":1,\"offline\":false,\"hub_hosts\":[\"huggingface.co\",\"*.huggingface.co\",\"hf.co\",\"*.hf.co\"],"
    "\"env\":{\"set\":{\"HF_HUB_DISABLE_TELEMETRY\":\"1\"},\"unset\":[\"HUGGING_FACE_HUB_TOKEN\"]},"
    "\"rules\":[{\"name\":\"no-metrics\",\"match\":{\"host\":\"*.example.com\",\"method\":\"POST\",\"path\":\"^/"
    "metrics\"},\"action\":\"block\"},{\"name\":\"rest\",\"match\":{},\"action\":\"allow\"}]}";

static struct hfs_request http_req(const char *host, int port, const char *method, const char *path)
{
    struct hfs_request q;
    memset(&q, 0, sizeof q);
    q.layer = HFS_LAYER_HTTP;
    q.host = host;
    q.port = port;
    q.method = method;
    q.path = path;
    q.http_known = 1;
    return q;
}

static int hub_matches(const struct hfs_rules *r, const char *name)
{
    for (size_t i = 0; i < r->nhub; i++)
        if (hfs_hostpat_match_name(&r->hub[i], name))
            return 1;
    return 0;
}

/* ---- files that load -------------------------------------------------- */

static void test_example_file_loads_from_disk(void **state)
{
    (void)state;
    struct capture c;
    struct hfs_diag d = { cap_emit, &c, 0, 0, { 0 } };
    memset(&c, 0, sizeof c);
    char *path = write_temp(EXAMPLE);
    struct hfs_rules *r = hfs_rules_load_file(path, &d);
    unlink(path);
    assert_non_null(r);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 0);
    assert_string_equal(r->source, path);
    assert_int_equal(r->offline, 0);
    assert_int_equal(r->children, 1);
    assert_int_equal(r->nhub, 4);
    assert_string_equal(r->hub[1].text, "*.huggingface.co");
    assert_int_equal(r->nenv, 2);
    assert_string_equal(r->env[0].name, "HF_HUB_DISABLE_TELEMETRY");
    assert_string_equal(r->env[0].value, "1");
    assert_string_equal(r->env[1].name, "HUGGING_FACE_HUB_TOKEN");
    assert_null(r->env[1].value);
    assert_int_equal(r->nrules, 2);
    assert_string_equal(r->rules[0].name, "no-metrics");
    assert_int_equal(r->rules[0].action, HFS_ACT_BLOCK);
    assert_non_null(r->rules[0].match.host);
    assert_int_equal(r->rules[0].match.host->kind, HFS_HP_SUFFIX);
    assert_int_equal(r->rules[0].match.nmethods, 1);
    assert_string_equal(r->rules[0].match.methods[0], "POST");
    assert_non_null(r->rules[0].match.path);
    assert_null(r->rules[0].match.ports);
    assert_string_equal(r->rules[1].name, "rest");
    assert_int_equal(r->rules[1].action, HFS_ACT_ALLOW);
    hfs_rules_free(r);
}

static void test_example_hub_globs(void **state)
{
    (void)state;
    struct hfs_rules *r = load_ok(EXAMPLE);
    assert_true(hub_matches(r, "cdn-lfs.huggingface.co"));
    assert_true(hub_matches(r, "huggingface.co"));
    assert_true(hub_matches(r, "HuggingFace.CO"));
    assert_true(hub_matches(r, "a.b.hf.co"));
    assert_false(hub_matches(r, "huggingface.co.evil.com"));
    assert_false(hub_matches(r, "evilhuggingface.co"));
    assert_false(hub_matches(r, "example.com"));
    hfs_rules_free(r);
}

static void test_example_rules_decide(void **state)
{
    (void)state;
    struct hfs_rules *r = load_ok(EXAMPLE);
    struct hfs_verdict v;
    struct hfs_request q = http_req("api.example.com", 443, "POST", "/metrics/upload");
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_int_equal(v.rule_index, 0);
    assert_string_equal(v.rule, "no-metrics");
    q = http_req("api.example.com", 443, "GET", "/metrics");
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_ALLOW);
    assert_string_equal(v.rule, "rest");
    q = http_req("api.example.com", 443, "POST", "/v1/metrics");
    hfs_decide(r, &q, &v);
    assert_int_equal(v.rule_index, 1);
    hfs_rules_free(r);
}

static void test_default_hub_hosts_when_absent(void **state)
{
    (void)state;
    struct hfs_rules *r = load_ok("{\"version\":1}");
    assert_int_equal(r->nhub, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(r->hub[i].text, hfs_default_hub_hosts[i]);
    assert_null(hfs_default_hub_hosts[4]);
    assert_int_equal(r->offline, 0);
    assert_int_equal(r->nrules, 0);
    assert_int_equal(r->nenv, 0);
    assert_int_equal(r->children, 1);
    assert_int_equal(r->log_format, HFS_LOG_TEXT);
    assert_int_equal(r->log_format_set, 0);
    hfs_rules_free(r);
}

static void test_empty_hub_hosts_means_none(void **state)
{
    (void)state;
    struct hfs_rules *r = load_ok("{\"version\":1,\"hub_hosts\":[]}");
    assert_int_equal(r->nhub, 0);
    assert_false(hub_matches(r, "huggingface.co"));
    hfs_rules_free(r);
}

static void test_hub_group_in_match(void **state)
{
    (void)state;
    struct hfs_rules *r =
        load_ok("{\"version\":1,\"hub_hosts\":[\"hub.internal\"],\"rules\":[{\"match\":{\"host\":\"@hub\"},"
                "\"action\":\"block\"}]}");
    assert_int_equal(r->rules[0].match.hub, 1);
    assert_null(r->rules[0].match.host);
    assert_string_equal(r->rules[0].name, "rules[0]");
    struct hfs_verdict v;
    struct hfs_request q = http_req("hub.internal", 80, "GET", "/");
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    q.host = "huggingface.co"; /* not a hub host in this file */
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_ALLOW);
    hfs_rules_free(r);
}

static void test_method_and_port_exact(void **state)
{
    (void)state;
    struct hfs_rules *r =
        load_ok("{\"version\":1,\"rules\":[{\"match\":{\"method\":[\"PUT\",\"DELETE\"],\"port\":[8080,"
                "8443]},\"action\":\"block\"},{\"match\":{\"port\":443.0},\"action\":\"allow\"}]}");
    const struct hfs_match *m = &r->rules[0].match;
    assert_int_equal(m->nmethods, 2);
    assert_string_equal(m->methods[1], "DELETE");
    assert_int_equal(m->nports, 2);
    assert_int_equal(m->ports[0], 8080);
    assert_int_equal(m->ports[1], 8443);
    assert_int_equal(r->rules[1].match.nports, 1);
    assert_int_equal(r->rules[1].match.ports[0], 443);
    struct hfs_verdict v;
    struct hfs_request q = http_req("x", 8443, "DELETE", "/");
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    q = http_req("x", 8443, "delete", "/"); /* methods are case-sensitive */
    hfs_decide(r, &q, &v);
    assert_int_equal(v.rule_index, -1);
    q = http_req("x", 8444, "PUT", "/");
    hfs_decide(r, &q, &v);
    assert_int_equal(v.rule_index, -1);
    q = http_req("x", 443, "PUT", "/");
    hfs_decide(r, &q, &v);
    assert_int_equal(v.rule_index, 1);
    hfs_rules_free(r);
}

static void test_path_regex_and_first_match_wins(void **state)
{
    (void)state;
    struct hfs_rules *r = load_ok("{\"version\":1,\"rules\":["
                                  "{\"name\":\"a\",\"match\":{\"path\":\"^/api/\"},\"action\":\"allow\"},"
                                  "{\"name\":\"b\",\"match\":{\"path\":\"/api/models\"},\"action\":\"block\"},"
                                  "{\"name\":\"c\",\"match\":{\"path\":\"models$\"},\"action\":\"block\"}]}");
    struct hfs_verdict v;
    struct hfs_request q = http_req("h", 443, "GET", "/api/models");
    hfs_decide(r, &q, &v);
    assert_string_equal(v.rule, "a");
    assert_int_equal(v.kind, HFS_V_ALLOW);
    q.path = "/x/api/models";
    hfs_decide(r, &q, &v);
    assert_string_equal(v.rule, "b");
    q.path = "/x/models";
    hfs_decide(r, &q, &v);
    assert_string_equal(v.rule, "c");
    q.path = "/API/x"; /* regexes are case-sensitive */
    hfs_decide(r, &q, &v);
    assert_string_equal(v.rule, "(no rule)");
    hfs_rules_free(r);
}

static void test_scheme_url_header_fields(void **state)
{
    (void)state;
    struct hfs_rules *r =
        load_ok("{\"version\":1,\"log\":{\"format\":\"json\"},\"children\":false,\"rules\":[{\"match\":{\"scheme\":"
                "\"https\",\"url\":\"token=\",\"header\":{\"Authorization\":\"^Bearer \"}},\"action\":\"block\","
                "\"comment\":\"no tokens in URLs\"}]}");
    const struct hfs_match *m = &r->rules[0].match;
    assert_string_equal(m->scheme, "https");
    assert_non_null(m->url);
    assert_int_equal(m->nheaders, 1);
    assert_string_equal(m->headers[0].name, "Authorization");
    assert_int_equal(r->log_format, HFS_LOG_JSON);
    assert_int_equal(r->log_format_set, 1);
    assert_int_equal(r->children, 0);
    hfs_rules_free(r);
}

static void test_empty_regex_is_valid_and_matches_all(void **state)
{
    (void)state;
    struct hfs_rules *r = load_ok("{\"version\":1,\"rules\":[{\"match\":{\"path\":\"\"},\"action\":\"block\"}]}");
    struct hfs_verdict v;
    struct hfs_request q = http_req("h", 80, "GET", "/anything");
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    hfs_rules_free(r);
}

static void test_env_set_and_unset_in_file_order(void **state)
{
    (void)state;
    struct hfs_rules *r = load_ok("{\"version\":1,\"env\":{\"unset\":[\"HF_TOKEN\",\"HUGGING_FACE_HUB_TOKEN\"],"
                                  "\"set\":{\"B\":\"2\",\"A\":\"\",\"X.Y\":\"z\"}}}");
    /* env.set entries first, then env.unset, each in file order */
    assert_int_equal(r->nenv, 5);
    assert_string_equal(r->env[0].name, "B");
    assert_string_equal(r->env[0].value, "2");
    assert_string_equal(r->env[1].name, "A");
    assert_string_equal(r->env[1].value, "");
    assert_string_equal(r->env[2].name, "X.Y");
    assert_string_equal(r->env[3].name, "HF_TOKEN");
    assert_null(r->env[3].value);
    assert_string_equal(r->env[4].name, "HUGGING_FACE_HUB_TOKEN");
    assert_null(r->env[4].value);
    hfs_rules_free(r);
}

static void test_offline_flag(void **state)
{
    (void)state;
    struct hfs_rules *r = load_ok("{\"version\":1,\"offline\":true}");
    assert_int_equal(r->offline, 1);
    hfs_rules_free(r);
    r = load_ok("{\"version\":1,\"offline\":false}");
    assert_int_equal(r->offline, 0);
    hfs_rules_free(r);
}

static void test_add_endpoint_host(void **state)
{
    (void)state;
    struct hfs_rules *r = load_ok("{\"version\":1,\"hub_hosts\":[]}");
    assert_int_equal(hfs_rules_add_endpoint(r, "https://Hub.Internal:8443/"), 0);
    assert_int_equal(r->nhub, 1);
    assert_string_equal(r->hub[0].text, "hub.internal:8443");
    assert_int_equal(r->hub[0].port, 8443);
    assert_int_equal(hfs_rules_add_endpoint(r, "https://mirror.example"), 0);
    assert_string_equal(r->hub[1].text, "mirror.example:443");
    assert_int_equal(hfs_rules_add_endpoint(r, "not a url"), -1);
    assert_int_equal(hfs_rules_add_endpoint(r, "https://"), -1);
    assert_int_equal(r->nhub, 2);
    hfs_rules_free(r);
}

static void test_add_endpoint_localhost_adds_loopback(void **state)
{
    (void)state;
    struct hfs_rules *r = hfs_rules_safe_default();
    assert_non_null(r);
    size_t before = r->nhub;
    assert_int_equal(hfs_rules_add_endpoint(r, "http://localhost:8080"), 0);
    assert_int_equal(r->nhub, before + 3);
    assert_string_equal(r->hub[before].text, "localhost:8080");
    assert_string_equal(r->hub[before + 1].text, "127.0.0.1:8080");
    assert_string_equal(r->hub[before + 2].text, "[::1]:8080");
    assert_int_equal(r->hub[before + 2].kind, HFS_HP_ADDR);
    assert_int_equal(hfs_rules_add_hub(r, "bad host"), -1);
    assert_int_equal(r->nhub, before + 3);
    hfs_rules_free(r);
}

static void test_safe_default(void **state)
{
    (void)state;
    struct hfs_rules *r = hfs_rules_safe_default();
    assert_non_null(r);
    assert_string_equal(r->source, "(safe default)");
    assert_int_equal(r->offline, 1);
    assert_int_equal(r->children, 1);
    assert_int_equal(r->nrules, 0);
    assert_int_equal(r->nenv, 0);
    assert_int_equal(r->nhub, 4);
    assert_true(hub_matches(r, "huggingface.co"));
    assert_true(hub_matches(r, "cas-bridge.xethub.hf.co"));
    assert_false(hub_matches(r, "pypi.org"));
    struct hfs_verdict v;
    struct hfs_request q;
    memset(&q, 0, sizeof q);
    q.layer = HFS_LAYER_RESOLVE;
    q.host = "pypi.org";
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_string_equal(v.rule, "offline");
    hfs_rules_free(r);
    hfs_rules_free(NULL);
}

static void test_byte_order_mark_is_accepted(void **state)
{
    (void)state;
    struct hfs_rules *r = load_ok("\xEF\xBB\xBF{\"version\":1}");
    assert_int_equal(r->nhub, 4);
    hfs_rules_free(r);
}

static void test_unknown_keys_warn_with_path(void **state)
{
    (void)state;
    struct capture c;
    struct hfs_diag d;
    struct hfs_rules *r = load("{\"version\":1,\"colour\":\"red\",\"env\":{\"sett\":{}},\"log\":{\"fmt\":1},"
                               "\"rules\":[{\"match\":{},\"action\":\"allow\",\"why\":0}]}",
                               &c, &d);
    assert_non_null(r);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 4);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.msg[0],
                        "r.json:1:14: warning: colour: unknown key (ignored; known keys here: version, offline, "
                        "hub_hosts, env, rules, children, log, comment, tokens, include, locked, reach)");
    assert_string_equal(c.msg[1], "r.json:1:36: warning: env.sett: unknown key (ignored; known keys here: set, unset)");
    assert_string_equal(
        c.msg[2], "r.json:1:54: warning: log.fmt: unknown key (ignored; known keys here: format, destination, audit)");
    assert_string_equal(c.msg[3], "r.json:1:101: warning: rules[0].why: unknown key (ignored; known keys here: name, "
                                  "match, action, preset, window, comment and the action's or preset's parameters)");
    assert_int_equal(c.is_error[0], 0);
    hfs_rules_free(r);
}

/* Inside "match" a misspelt key is an error: ignoring it would turn a
 * narrow rule into one that matches every request. */
static void test_unknown_match_key_is_error(void **state)
{
    (void)state;
    struct capture c;
    struct hfs_diag d;
    struct hfs_rules *r = load("{\"version\":1,\"rules\":[{\"match\":{\"hots\":\"a\"},\"action\":\"block\"}]}", &c, &d);
    assert_null(r);
    assert_int_equal(d.errors, 1);
    assert_string_equal(
        c.msg[0],
        "r.json:1:33: rules[0].match.hots: unknown match key (known: host, method, port, "
        "scheme, path, url, header, repo, cached, program); a misspelt condition would make the rule match more "
        "than meant");
    assert_int_equal(c.is_error[0], 1);
}

static void test_unreachable_rule_warning(void **state)
{
    (void)state;
    struct capture c;
    struct hfs_diag d;
    struct hfs_rules *r = load("{\"version\":1,\"rules\":[{\"match\":{},\"action\":\"allow\"},"
                               "{\"name\":\"late\",\"match\":{\"port\":80},\"action\":\"block\"}]}",
                               &c, &d);
    assert_non_null(r);
    assert_int_equal(d.warnings, 1);
    assert_string_equal(c.msg[0], "r.json:1:53: warning: rules[1]: this rule can never match: rules[0] (\"rules[0]\") "
                                  "before it matches every request");
    hfs_rules_free(r);
    /* a rule without "match" matches everything as well */
    r = load(
        "{\"version\":1,\"rules\":[{\"name\":\"all\",\"action\":\"block\"},\n{\"name\":\"x\",\"action\":\"allow\"}]}",
        &c, &d);
    assert_non_null(r);
    assert_string_equal(c.msg[0], "r.json:2:1: warning: rules[1]: this rule can never match: rules[0] (\"all\") before "
                                  "it matches every request");
    hfs_rules_free(r);
}

static void test_duplicate_rule_name_warning(void **state)
{
    (void)state;
    struct capture c;
    struct hfs_diag d;
    struct hfs_rules *r = load("{\"version\":1,\"rules\":[{\"name\":\"x\",\"match\":{\"port\":1},\"action\":\"allow\"},"
                               "{\"name\":\"x\",\"match\":{\"port\":2},\"action\":\"block\"}]}",
                               &c, &d);
    assert_non_null(r);
    assert_int_equal(d.warnings, 1);
    assert_string_equal(c.msg[0], "r.json:1:72: warning: rules[1]: rule name \"x\" is also used by rules[0]; log lines "
                                  "will not tell them apart");
    hfs_rules_free(r);
}

static void test_all_errors_are_reported_first_is_kept(void **state)
{
    (void)state;
    struct capture c;
    struct hfs_diag d;
    struct hfs_rules *r = load("{\"version\":2,\"offline\":1,\"rules\":[{\"action\":\"x\"}]}", &c, &d);
    assert_null(r);
    assert_int_equal(d.errors, 3);
    assert_int_equal(c.n, 3);
    assert_string_equal(d.first_error, "r.json:1:12: version: unsupported version 2 (this hfshim reads version 1)");
    assert_string_equal(c.msg[1], "r.json:1:24: offline: expected true, false or \"variables\", found a number");
    assert_string_equal(
        c.msg[2],
        "r.json:1:45: rules[0].action: unknown action \"x\" (known actions: allow, block, respond, strip-header, "
        "set-header, delay, cache, strip-auth, set-auth, refuse, dns-fail, hang, reset, throttle)");
}

static void test_diag_without_emit(void **state)
{
    (void)state;
    struct hfs_diag d;
    memset(&d, 0, sizeof d);
    assert_null(hfs_rules_load_buffer("n.json", "{}", 2, &d));
    assert_int_equal(d.errors, 1);
    assert_string_equal(d.first_error, "n.json:1:1: (top level): missing \"version\" (write \"version\": 1 first)");
    hfs_diag_report(&d, 0, "w %d", 1);
    hfs_diag_report(&d, 1, "e %d", 2);
    assert_int_equal(d.warnings, 1);
    assert_int_equal(d.errors, 2);
    assert_string_equal(d.first_error, "n.json:1:1: (top level): missing \"version\" (write \"version\": 1 first)");
}

static void test_load_file_errors(void **state)
{
    (void)state;
    struct hfs_diag d;
    memset(&d, 0, sizeof d);
    assert_null(hfs_rules_load_file("/nonexistent/hfs-rules.json", &d));
    assert_string_equal(d.first_error, "/nonexistent/hfs-rules.json: cannot open: No such file or directory");
    memset(&d, 0, sizeof d);
    assert_null(hfs_rules_load_file("/tmp", &d));
    assert_string_equal(d.first_error, "/tmp: is a directory, not a regular file");
    memset(&d, 0, sizeof d);
    char *path = write_temp("{\"version\":1,\n \"offline\": \"no\"}");
    assert_null(hfs_rules_load_file(path, &d));
    char want[700];
    snprintf(want, sizeof want, "%s:2:13: offline: unknown offline mode \"no\" (use true, false or \"variables\")",
             path);
    assert_string_equal(d.first_error, want);
    unlink(path);
}

/* ---- HTTP actions: files that load ------------------------------------ */

static void test_action_names_and_modifiers(void **state)
{
    (void)state;
    assert_string_equal(hfs_action_name(HFS_ACT_ALLOW), "allow");
    assert_string_equal(hfs_action_name(HFS_ACT_BLOCK), "block");
    assert_string_equal(hfs_action_name(HFS_ACT_RESPOND), "respond");
    assert_string_equal(hfs_action_name(HFS_ACT_STRIP_HEADER), "strip-header");
    assert_string_equal(hfs_action_name(HFS_ACT_SET_HEADER), "set-header");
    assert_string_equal(hfs_action_name(HFS_ACT_DELAY), "delay");
    assert_string_equal(hfs_action_name((enum hfs_action_kind)42), "?");
    assert_int_equal(hfs_action_is_modifier(HFS_ACT_STRIP_HEADER), 1);
    assert_int_equal(hfs_action_is_modifier(HFS_ACT_SET_HEADER), 1);
    assert_int_equal(hfs_action_is_modifier(HFS_ACT_DELAY), 1);
    assert_int_equal(hfs_action_is_modifier(HFS_ACT_ALLOW), 0);
    assert_int_equal(hfs_action_is_modifier(HFS_ACT_BLOCK), 0);
    assert_int_equal(hfs_action_is_modifier(HFS_ACT_RESPOND), 0);
}

/* The table of actions (actions.c) is the one declaration: every kind has
 * exactly one row, the modifiers are the ones decide.c treats as such, the
 * parameter keys keep the order the "does not apply" messages list them
 * in, and a required parameter is said missing in the table's words. */
static void test_action_table(void **state)
{
    (void)state;
    static const char *const order[] = { "allow",    "block", "respond",    "strip-header", "set-header",
                                         "delay",    "cache", "strip-auth", "set-auth",     "refuse",
                                         "dns-fail", "hang",  "reset",      "throttle" };
    static const int modifier[] = { 0, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1 };
    static const char *const keys[] = {
        "form",     "status",      "headers",          "body",        "body_file", "header",     "value",
        "from_env", "from_file",   "prefix",           "ms",          "miss",      "cache_dirs", "when",
        "stage",    "after_bytes", "bytes_per_second", "retry_after", NULL
    };
    assert_int_equal(hfs_nactions, sizeof order / sizeof order[0]);
    for (size_t i = 0; i < hfs_nactions; i++) {
        const struct hfs_action *a = &hfs_actions[i];
        assert_string_equal(a->name, order[i]);
        assert_ptr_equal(hfs_action_find(a->name), a);
        assert_ptr_equal(hfs_action_of(a->kind), a); /* one row per kind */
        assert_int_equal(hfs_action_is_modifier(a->kind), modifier[i]);
        assert_non_null(a->describe);
        assert_true(!a->params[0].key || a->parse); /* parameters are read by its parse function */
        assert_true(a->edit == HFS_EDIT_NONE || a->modifier);
        for (const struct hfs_param *p = a->params; p->key; p++)
            assert_true(p->value && p->help && p->help[0]);
    }
    for (int k = HFS_ACT_ALLOW; k <= HFS_ACT_THROTTLE; k++)
        assert_non_null(hfs_action_of((enum hfs_action_kind)k));
    /* where each acts (decide.c skips a connection fault at other layers) */
    struct hfs_rule rule = { .action = HFS_ACT_REFUSE };
    assert_int_equal(hfs_rule_stage(&rule), HFS_STAGE_CONNECT);
    rule.action = HFS_ACT_DNS_FAIL;
    assert_int_equal(hfs_rule_stage(&rule), HFS_STAGE_RESOLVE);
    rule.action = HFS_ACT_HANG;
    assert_int_equal(hfs_rule_stage(&rule), HFS_STAGE_ANY);
    rule.args.hang_connect = 1;
    assert_int_equal(hfs_rule_stage(&rule), HFS_STAGE_CONNECT);
    rule = (struct hfs_rule){ .action = HFS_ACT_BLOCK };
    assert_int_equal(hfs_rule_stage(&rule), HFS_STAGE_ANY);
    assert_null(hfs_action_find("deny"));
    const char *got[HFS_PARAM_KEYS_MAX + 1];
    size_t n = hfs_param_keys(got);
    assert_int_equal(n, sizeof keys / sizeof keys[0] - 1);
    for (size_t i = 0; i <= n; i++)
        if (keys[i])
            assert_string_equal(got[i], keys[i]);
        else
            assert_null(got[i]);
    char list[300];
    hfs_action_list(list, sizeof list);
    assert_string_equal(list, "allow, block, respond, strip-header, set-header, delay, cache, strip-auth, set-auth, "
                              "refuse, dns-fail, hang, reset, throttle");
    hfs_action_list(list, 12); /* cut, never overrun */
    assert_string_equal(list, "allow, bloc");
    hfs_action_takes(hfs_action_find("cache"), list, sizeof list);
    assert_string_equal(list, "miss, cache_dirs, status");
    hfs_action_takes(hfs_action_find("refuse"), list, sizeof list);
    assert_string_equal(list, "");
}

/* `hfshim check`'s words come from the table: the fault actions had none
 * and read "allow", a preset "respond 429 (0 headers, 0-byte body)". */
static void test_action_describe(void **state)
{
    (void)state;
    static const struct {
        const char *rule, *words;
    } t[] = {
        { "\"action\":\"throttle\",\"bytes_per_second\":100", "throttle the response to 100 bytes/s, on" },
        { "\"action\":\"reset\",\"after_bytes\":5", "reset the response after 5 bytes, on" },
        { "\"action\":\"refuse\"", "refuse connections (ECONNREFUSED) to" },
        { "\"action\":\"dns-fail\"", "fail the lookup (EAI_NONAME) of" },
        { "\"action\":\"hang\"", "hang requests (never answered) to" },
        { "\"action\":\"hang\",\"stage\":\"connect\"", "hang connections (never completed) to" },
        { "\"action\":\"delay\",\"ms\":7", "delay by 7 ms on" },
        { "\"action\":\"block\",\"form\":\"http\"", "block (HTTP answer)" },
        { "\"action\":\"strip-auth\",\"when\":[\"learned\",\"malformed\"]",
          "strip Authorization when its token is malformed, learned, on" },
        { "\"preset\":\"hub-outage\"", "preset hub-outage: 503 Service Unavailable, on" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char text[300], words[300];
        snprintf(text, sizeof text, "{\"version\":1,\"rules\":[{\"match\":{\"host\":\"a.example\"},%s}]}", t[i].rule);
        struct hfs_rules *r = load_ok(text);
        hfs_action_describe(&r->rules[0], words, sizeof words);
        assert_string_equal(words, t[i].words);
        hfs_rules_free(r);
    }
}

static void test_respond_loads_status_headers_body(void **state)
{
    (void)state;
    struct hfs_rules *r = load_ok("{\"version\":1,\"rules\":["
                                  "{\"name\":\"meta\",\"match\":{\"path\":\"^/api/models/\"},\"action\":\"respond\","
                                  "\"status\":404,\"headers\":{\"Content-Type\":\"application/json\",\"X-Error-Code\":"
                                  "\"RepoNotFound\",\"x-empty\":\"\"},\"body\":\"{\\\"error\\\": \\\"gone\\\"}\\n\"},"
                                  "{\"name\":\"bare\",\"action\":\"respond\"}]}");
    assert_int_equal(r->nrules, 2);
    const struct hfs_rule *a = &r->rules[0];
    assert_int_equal(a->action, HFS_ACT_RESPOND);
    assert_int_equal(a->args.status, 404);
    assert_int_equal(a->args.nheaders, 3);
    assert_string_equal(a->args.headers[0].name, "Content-Type");
    assert_string_equal(a->args.headers[0].value, "application/json");
    assert_string_equal(a->args.headers[1].name, "X-Error-Code");
    assert_string_equal(a->args.headers[1].value, "RepoNotFound");
    assert_string_equal(a->args.headers[2].name, "x-empty");
    assert_string_equal(a->args.headers[2].value, "");
    assert_int_equal(a->args.body_len, 18);
    assert_memory_equal(a->args.body, "{\"error\": \"gone\"}\n", 18);
    assert_null(a->args.header);
    assert_int_equal(a->args.ms, 0);
    /* defaults: 200, no headers, no body */
    const struct hfs_rule *b = &r->rules[1];
    assert_int_equal(b->action, HFS_ACT_RESPOND);
    assert_int_equal(b->args.status, 200);
    assert_int_equal(b->args.nheaders, 0);
    assert_null(b->args.body);
    assert_int_equal(b->args.body_len, 0);
    hfs_rules_free(r);
    /* the ends of the status range */
    r = load_ok("{\"version\":1,\"rules\":[{\"match\":{\"port\":1},\"action\":\"respond\",\"status\":100},"
                "{\"match\":{\"port\":2},\"action\":\"respond\",\"status\":599,\"body\":\"\"}]}");
    assert_int_equal(r->rules[0].args.status, 100);
    assert_int_equal(r->rules[1].args.status, 599);
    assert_non_null(r->rules[1].args.body);
    assert_int_equal(r->rules[1].args.body_len, 0);
    hfs_rules_free(r);
}

static void test_respond_body_file_absolute(void **state)
{
    (void)state;
    /* binary bytes, a NUL included: the body is read as is */
    static const char bytes[] = "line1\r\n\0\xff tail";
    const size_t nbytes = sizeof bytes - 1;
    char body[512], text[1024];
    const char *dir = getenv("TMPDIR");
    snprintf(body, sizeof body, "%s/hfs_test_body_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(body);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, nbytes), (ssize_t)nbytes);
    close(fd);
    snprintf(text, sizeof text, "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"body_file\":\"%s\"}]}", body);
    struct hfs_rules *r = load_ok(text);
    unlink(body);
    assert_int_equal(r->rules[0].args.body_len, nbytes);
    assert_memory_equal(r->rules[0].args.body, bytes, nbytes);
    assert_int_equal(r->rules[0].args.status, 200);
    hfs_rules_free(r);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* A relative body_file is read from the rules file's directory, not from
 * the current directory. */
static void test_respond_body_file_relative_to_rules_file(void **state)
{
    (void)state;
    char dir[512], sub[600], rules[600], body[700], want[1400];
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/hfs_test_dir_XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/answers", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(body, sizeof body, "%s/answers/model.json", dir);
    write_file(body, "{\"id\": \"gpt2\"}\n");
    snprintf(rules, sizeof rules, "%s/rules.json", dir);
    write_file(rules, "{\"version\":1,\"rules\":[{\"match\":{\"path\":\"^/api/models/gpt2$\"},\"action\":\"respond\","
                      "\"headers\":{\"Content-Type\":\"application/json\"},\"body_file\":\"answers/model.json\"}]}");
    struct hfs_diag d;
    memset(&d, 0, sizeof d);
    struct hfs_rules *r = hfs_rules_load_file(rules, &d);
    assert_int_equal(d.errors, 0);
    assert_non_null(r);
    assert_int_equal(r->rules[0].args.body_len, 15);
    assert_memory_equal(r->rules[0].args.body, "{\"id\": \"gpt2\"}\n", 15);
    assert_string_equal(r->rules[0].args.headers[0].value, "application/json");
    hfs_rules_free(r);
    /* a missing file is named by its resolved path */
    write_file(rules, "{\"version\":1,\n\"rules\":[{\"action\":\"respond\",\"body_file\":\"missing.txt\"}]}");
    memset(&d, 0, sizeof d);
    assert_null(hfs_rules_load_file(rules, &d));
    assert_int_equal(d.errors, 1);
    snprintf(want, sizeof want, "%s:2:42: rules[0].body_file: cannot read %s/missing.txt: No such file or directory",
             rules, dir);
    assert_string_equal(d.first_error, want);
    unlink(rules);
    unlink(body);
    rmdir(sub);
    assert_int_equal(rmdir(dir), 0);
}

static void test_strip_header_loads(void **state)
{
    (void)state;
    struct hfs_rules *r =
        load_ok("{\"version\":1,\"rules\":["
                "{\"name\":\"no-auth\",\"match\":{\"host\":\"*.example.com\"},\"action\":\"strip-header\","
                "\"header\":\"Authorization\"},"
                "{\"name\":\"no-hf-bearer\",\"action\":\"strip-header\",\"header\":\"authorization\","
                "\"value\":\"^Bearer hf_\"}]}");
    const struct hfs_action_args *a = &r->rules[0].args;
    assert_int_equal(r->rules[0].action, HFS_ACT_STRIP_HEADER);
    assert_string_equal(a->header, "Authorization");
    assert_null(a->value_re);
    assert_null(a->from_env);
    assert_null(a->prefix);
    a = &r->rules[1].args;
    assert_int_equal(r->rules[1].action, HFS_ACT_STRIP_HEADER);
    assert_string_equal(a->header, "authorization");
    assert_non_null(a->value_re);
    assert_int_equal(hfs_re_match(a->value_re, "Bearer hf_abc", 13), 1);
    assert_int_equal(hfs_re_match(a->value_re, "Basic hf_abc", 12), 0);
    hfs_rules_free(r);
}

static void test_set_header_loads(void **state)
{
    (void)state;
    struct hfs_rules *r =
        load_ok("{\"version\":1,\"rules\":["
                "{\"name\":\"tok\",\"match\":{\"host\":\"@hub\"},\"action\":\"set-header\",\"header\":"
                "\"Authorization\",\"from_env\":\"MY_HF_TOKEN\",\"prefix\":\"Bearer \"},"
                "{\"name\":\"key\",\"match\":{\"host\":\"api.example.com\"},\"action\":\"set-header\","
                "\"header\":\"X-Api-Key\",\"from_file\":\"~/.config/key\"}]}");
    const struct hfs_action_args *a = &r->rules[0].args;
    assert_int_equal(r->rules[0].action, HFS_ACT_SET_HEADER);
    assert_string_equal(a->header, "Authorization");
    assert_string_equal(a->from_env, "MY_HF_TOKEN");
    assert_null(a->from_file);
    assert_string_equal(a->prefix, "Bearer ");
    a = &r->rules[1].args;
    assert_int_equal(r->rules[1].action, HFS_ACT_SET_HEADER);
    assert_string_equal(a->header, "X-Api-Key");
    assert_null(a->from_env);
    assert_string_equal(a->from_file, "~/.config/key");
    assert_null(a->prefix);
    assert_null(a->value_re);
    hfs_rules_free(r);
}

static void test_delay_loads(void **state)
{
    (void)state;
    struct hfs_rules *r = load_ok("{\"version\":1,\"rules\":[{\"match\":{\"port\":1},\"action\":\"delay\",\"ms\":0},"
                                  "{\"match\":{\"port\":2},\"action\":\"delay\",\"ms\":3600000},"
                                  "{\"match\":{\"port\":3},\"action\":\"delay\",\"ms\":250.0}]}");
    assert_int_equal(r->rules[0].action, HFS_ACT_DELAY);
    assert_int_equal(r->rules[0].args.ms, 0);
    assert_int_equal(r->rules[1].args.ms, 3600000);
    assert_int_equal(r->rules[2].args.ms, 250);
    hfs_rules_free(r);
}

static void test_block_form_and_status_load(void **state)
{
    (void)state;
    struct hfs_rules *r = load_ok("{\"version\":1,\"rules\":["
                                  "{\"match\":{\"port\":1},\"action\":\"block\"},"
                                  "{\"match\":{\"port\":2},\"action\":\"block\",\"form\":\"http\",\"status\":451},"
                                  "{\"match\":{\"port\":3},\"action\":\"block\",\"form\":\"error\"},"
                                  "{\"match\":{\"port\":4},\"action\":\"block\",\"form\":\"default\",\"status\":503},"
                                  "{\"match\":{\"port\":5},\"action\":\"allow\",\"comment\":\"no parameters\"}]}");
    assert_int_equal(r->rules[0].args.form, HFS_BLOCK_DEFAULT);
    assert_int_equal(r->rules[0].args.status, 403);
    assert_int_equal(r->rules[1].args.form, HFS_BLOCK_HTTP);
    assert_int_equal(r->rules[1].args.status, 451);
    assert_int_equal(r->rules[2].args.form, HFS_BLOCK_ERROR);
    assert_int_equal(r->rules[2].args.status, 403);
    assert_int_equal(r->rules[3].args.form, HFS_BLOCK_DEFAULT);
    assert_int_equal(r->rules[3].args.status, 503);
    assert_int_equal(r->rules[4].action, HFS_ACT_ALLOW);
    assert_int_equal(r->rules[4].args.status, 0);
    hfs_rules_free(r);
}

/* A modifier without "match" applies to every request and lets the
 * evaluation go on: the rules after it can still match. */
static void test_catchall_modifier_is_not_unreachable_warning(void **state)
{
    (void)state;
    struct capture c;
    struct hfs_diag d;
    struct hfs_rules *r = load("{\"version\":1,\"rules\":[{\"action\":\"delay\",\"ms\":1},"
                               "{\"action\":\"strip-header\",\"header\":\"Cookie\"},"
                               "{\"name\":\"all\",\"action\":\"block\"},"
                               "{\"match\":{\"port\":1},\"action\":\"allow\"}]}",
                               &c, &d);
    assert_non_null(r);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 1);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.msg[0], "r.json:1:125: warning: rules[3]: this rule can never match: rules[2] (\"all\") "
                                  "before it matches every request");
    hfs_rules_free(r);
}

/* Every parameter that does not belong to the action is reported. */
static void test_foreign_parameters_all_reported(void **state)
{
    (void)state;
    struct capture c;
    struct hfs_diag d;
    struct hfs_rules *r =
        load("{\"version\":1,\"rules\":[{\"action\":\"delay\",\"ms\":5,\"header\":\"X\",\"body\":\"b\"}]}", &c, &d);
    assert_null(r);
    assert_int_equal(d.errors, 2);
    assert_int_equal(c.n, 2);
    /* in the order of the parameter list, not of the file */
    assert_string_equal(c.msg[0], "r.json:1:61: rules[0].body: \"body\" does not apply to action delay (it takes: ms)");
    assert_string_equal(c.msg[1],
                        "r.json:1:48: rules[0].header: \"header\" does not apply to action delay (it takes: ms)");
}

/* ---- invalid files: exact messages ------------------------------------ */

struct bad {
    const char *name;
    const char *json;
    size_t len; /* 0: strlen */
    const char *want;
};

#define R "{\"version\":1,\"rules\":[{\"match\":{"
#define R_END "},\"action\":\"block\"}]}"

static const struct bad bad_files[] = {
    /* syntax */
    { "empty file", "", 0, "r.json:1:1: empty file (expected a JSON object)" },
    { "only white space", "\n\n   ", 0, "r.json:3:4: empty file (expected a JSON object)" },
    { "missing closing brace", "{\"version\":1", 0,
      "r.json:1:13: unexpected end of file inside an object (missing '}')" },
    { "missing closing bracket", "{\"version\":1,\"rules\":[", 0,
      "r.json:1:23: unexpected end of file (expected a value)" },
    { "trailing comma in object", "{\"version\":1,}", 0, "r.json:1:14: trailing comma before '}'" },
    { "trailing comma in array", "{\"version\":1,\"hub_hosts\":[\"hf.co\",]}", 0,
      "r.json:1:35: trailing comma before ']'" },
    { "bad literal", "{\"version\":1,\"offline\":tru}", 0,
      "r.json:1:24: unexpected character (expected a value: string, number, object, array, true, false or null)" },
    { "control byte as a value", "{\"version\":\x01}", 0,
      "r.json:1:12: unexpected character (expected a value: string, number, object, array, true, false or null)" },
    { "single quotes", "{\"version\":'1'}", 0, "r.json:1:12: strings need double quotes, not single quotes" },
    { "unquoted key", "{version:1}", 0, "r.json:1:2: expected a member name in double quotes" },
    { "missing colon", "{\"version\" 1}", 0, "r.json:1:12: expected ':' after member name" },
    { "missing comma", "{\"version\":1 \"offline\":true}", 0, "r.json:1:14: expected ',' or '}' after a member" },
    { "comment line", "{\n  \"version\": 1,\n  // no comments\n  \"rules\": []\n}", 0,
      "r.json:3:3: comments are not allowed in JSON" },
    { "comment after value", "{\"version\": 1 /* one */}", 0, "r.json:1:15: comments are not allowed in JSON" },
    { "number with leading zero", "{\"version\":01}", 0, "r.json:1:12: invalid number (leading zero)" },
    { "number ending in dot", "{\"version\":1.}", 0, "r.json:1:12: invalid number (digits expected after '.')" },
    { "number with empty exponent", "{\"version\":1e+}", 0,
      "r.json:1:12: invalid number (digits expected in exponent)" },
    { "lone minus", "{\"version\":-x}", 0, "r.json:1:12: invalid number" },
    { "unterminated string", "{\"version\":1,\"comment\":\"abc", 0, "r.json:1:24: unterminated string" },
    { "newline in string", "{\"version\":1,\"comment\":\"ab\ncd\"}", 0,
      "r.json:1:27: unterminated string (newline inside a string)" },
    { "tab in string", "{\"version\":1,\"comment\":\"a\tb\"}", 0,
      "r.json:1:26: control character inside a string (escape it)" },
    { "invalid escape", "{\"version\":1,\"comment\":\"\\q\"}", 0, "r.json:1:25: invalid escape in string" },
    { "short unicode escape", "{\"version\":1,\"comment\":\"\\u12G4\"}", 0,
      "r.json:1:25: invalid \\u escape (needs four hex digits)" },
    { "unpaired high surrogate", "{\"version\":1,\"comment\":\"\\ud83d\"}", 0,
      "r.json:1:25: invalid \\u escape (unpaired UTF-16 surrogate)" },
    { "lone low surrogate", "{\"version\":1,\"comment\":\"x\\udc00\"}", 0,
      "r.json:1:26: invalid \\u escape (unpaired UTF-16 surrogate)" },
    { "trailing garbage", "{\"version\":1} x", 0, "r.json:1:15: unexpected text after the end of the JSON value" },
    { "two objects", "{\"version\":1}\n{}", 0, "r.json:2:1: unexpected text after the end of the JSON value" },
    { "NUL after the object", "{\"version\":1}\0", 14, "r.json:1:14: unexpected text after the end of the JSON value" },
    { "NUL inside a string", "{\"version\":1,\"comment\":\"a\0b\"}", 29,
      "r.json:1:26: control character inside a string (escape it)" },
    /* top level and version */
    { "top level is an array", "[]", 0,
      "r.json:1:1: (top level): expected an object {\"version\": 1, ...}, found an array" },
    { "top level is a string", "  \"x\"", 0,
      "r.json:1:3: (top level): expected an object {\"version\": 1, ...}, found a string" },
    { "missing version", "{}", 0, "r.json:1:1: (top level): missing \"version\" (write \"version\": 1 first)" },
    { "version 2", "{\"version\":2}", 0, "r.json:1:12: version: unsupported version 2 (this hfshim reads version 1)" },
    { "version as string", "{\"version\":\"1\"}", 0, "r.json:1:12: version: expected the number 1, found a string" },
    { "version 1.5", "{\"version\":1.5}", 0,
      "r.json:1:12: version: unsupported version 1.5 (this hfshim reads version 1)" },
    { "huge version", "{\"version\":1e999}", 0,
      "r.json:1:12: version: unsupported version inf (this hfshim reads version 1)" },
    { "BOM and bad version", "\xEF\xBB\xBF{\"version\":2}", 0,
      "r.json:1:12: version: unsupported version 2 (this hfshim reads version 1)" },
    { "BOM and a bare number",
      "\xEF\xBB\xBF"
      "2",
      0, "r.json:1:1: (top level): expected an object {\"version\": 1, ...}, found a number" },
    { "column counts characters", "{\"comment\":\"h\xC3\xA9llo\",\"version\":2}", 0,
      "r.json:1:30: version: unsupported version 2 (this hfshim reads version 1)" },
    { "offline not a boolean", "{\"version\":1,\"offline\":\"yes\"}", 0,
      "r.json:1:24: offline: unknown offline mode \"yes\" (use true, false or \"variables\")" },
    { "children null", "{\"version\":1,\"children\":null}", 0,
      "r.json:1:25: children: expected true or false, found null" },
    { "duplicate top-level key", "{\"version\":1,\n\"offline\":true,\n\"offline\":false}", 0,
      "r.json:3:1: offline: duplicate key (each key may appear once)" },
    { "duplicate key in match", R "\"port\":80,\"port\":81" R_END, 0,
      "r.json:1:43: rules[0].match.port: duplicate key (each key may appear once)" },
    /* hub_hosts */
    { "hub_hosts not an array", "{\"version\":1,\"hub_hosts\":\"hf.co\"}", 0,
      "r.json:1:26: hub_hosts: expected an array of host patterns, found a string" },
    { "hub_hosts element number", "{\"version\":1,\"hub_hosts\":[\"hf.co\",7]}", 0,
      "r.json:1:35: hub_hosts[1]: expected a host pattern (string), found a number" },
    { "hub host is a URL", "{\"version\":1,\"hub_hosts\":[\"https://hf.co\"]}", 0,
      "r.json:1:27: hub_hosts[0]: invalid host pattern \"https://hf.co\": give a host name such as "
      "\"api.example.com\", not "
      "a URL" },
    { "hub host bad glob", "{\"version\":1,\"hub_hosts\":[\"cdn[a.hf.co\"]}", 0,
      "r.json:1:27: hub_hosts[0]: invalid host pattern \"cdn[a.hf.co\": missing terminating ] for character class at "
      "offset 11" },
    { "hub host empty", "{\"version\":1,\"hub_hosts\":[\"\"]}", 0, "r.json:1:27: hub_hosts[0]: empty host pattern" },
    { "hub host port 0", "{\"version\":1,\"hub_hosts\":[\"hf.co:0\"]}", 0,
      "r.json:1:27: hub_hosts[0]: invalid host pattern \"hf.co:0\": port must be a number from 1 to 65535" },
    { "hub host with space", "{\"version\":1,\"hub_hosts\":[\"hf co\"]}", 0,
      "r.json:1:27: hub_hosts[0]: invalid host pattern \"hf co\": character ' ' is not allowed in a host" },
    /* env */
    { "env not an object", "{\"version\":1,\"env\":[]}", 0,
      "r.json:1:20: env: expected an object with \"set\" and \"unset\", found an array" },
    { "env.set not an object", "{\"version\":1,\"env\":{\"set\":[]}}", 0,
      "r.json:1:27: env.set: expected an object of NAME: \"value\" pairs, found an array" },
    { "env.set value not a string", "{\"version\":1,\"env\":{\"set\":{\"HF_X\":1}}}", 0,
      "r.json:1:35: env.set.HF_X: expected a string value (write numbers in quotes: \"1\"), found a number" },
    { "env.set bad name", "{\"version\":1,\"env\":{\"set\":{\"A B\":\"1\"}}}", 0,
      "r.json:1:28: env.set[\"A B\"]: invalid variable name \"A B\" (no '=', spaces or control characters)" },
    { "env.set escaped name", "{\"version\":1,\"env\":{\"set\":{\"A\\u0042\":1}}}", 0,
      "r.json:1:38: env.set.AB: expected a string value (write numbers in quotes: \"1\"), found a number" },
    { "env.unset not an array", "{\"version\":1,\"env\":{\"unset\":\"HF_TOKEN\"}}", 0,
      "r.json:1:29: env.unset: expected an array of variable names, found a string" },
    { "env.unset bad name", "{\"version\":1,\"env\":{\"unset\":[\"A=B\"]}}", 0,
      "r.json:1:30: env.unset[0]: invalid variable name \"A=B\" (no '=', spaces or control characters)" },
    { "env.unset element not a string", "{\"version\":1,\"env\":{\"unset\":[\"A\",false]}}", 0,
      "r.json:1:34: env.unset[1]: expected a variable name (string), found a boolean" },
    /* rules, rule, action */
    { "rules not an array", "{\"version\":1,\"rules\":{}}", 0,
      "r.json:1:22: rules: expected an array of rules, found an object" },
    { "rule not an object", "{\"version\":1,\"rules\":[1]}", 0,
      "r.json:1:23: rules[0]: expected a rule object {\"match\": {...}, \"action\": ...}, found a number" },
    { "match not an object", "{\"version\":1,\"rules\":[{\"match\":[],\"action\":\"allow\"}]}", 0,
      "r.json:1:32: rules[0].match: expected an object (use {} to match everything), found an array" },
    { "missing action", "{\"version\":1,\"rules\":[{\"match\":{}}]}", 0,
      "r.json:1:23: rules[0]: missing \"action\" (one of: allow, block, respond, strip-header, set-header, delay, "
      "cache, strip-auth, set-auth, refuse, dns-fail, hang, reset, throttle; or a \"preset\": invalid-credentials, "
      "gated-repo, repo-not-found, entry-not-found, revision-not-found, rate-limited, router-401, hub-outage, "
      "firewall-hang)" },
    { "unknown action", "{\"version\":1,\"rules\":[{\"action\":\"deny\"}]}", 0,
      "r.json:1:33: rules[0].action: unknown action \"deny\" (known actions: allow, block, respond, strip-header, "
      "set-header, delay, cache, strip-auth, set-auth, refuse, dns-fail, hang, reset, throttle)" },
    { "action not a string", "{\"version\":1,\"rules\":[{\"action\":true}]}", 0,
      "r.json:1:33: rules[0].action: expected an action name such as \"allow\" or \"block\", found a boolean" },
    { "empty rule name", "{\"version\":1,\"rules\":[{\"name\":\"\",\"action\":\"allow\"}]}", 0,
      "r.json:1:31: rules[0].name: empty rule name (leave \"name\" out to use \"rules[0]\")" },
    { "rule name not a string", "{\"version\":1,\"rules\":[{\"name\":5,\"action\":\"allow\"}]}", 0,
      "r.json:1:31: rules[0].name: expected a string, found a number" },
    /* match.host */
    { "unknown host group", R "\"host\":\"@hubs\"" R_END, 0,
      "r.json:1:40: rules[0].match.host: unknown host group \"@hubs\" (the only group is \"@hub\")" },
    { "host not a string", R "\"host\":5" R_END, 0,
      "r.json:1:40: rules[0].match.host: expected a host pattern (string), found a number" },
    { "host with path", R "\"host\":\"hf.co/api\"" R_END, 0,
      "r.json:1:40: rules[0].match.host: invalid host pattern \"hf.co/api\": give a host name such as "
      "\"api.example.com\", not a URL" },
    { "host with port 70000", R "\"host\":\"hf.co:70000\"" R_END, 0,
      "r.json:1:40: rules[0].match.host: invalid host pattern \"hf.co:70000\": port must be a number from 1 to 65535" },
    /* match.method */
    { "lower-case method", R "\"method\":\"get\"" R_END, 0,
      "r.json:1:42: rules[0].match.method: invalid method \"get\" (HTTP methods are upper-case words such as \"GET\" "
      "or "
      "\"POST\")" },
    { "method a number", R "\"method\":1" R_END, 0,
      "r.json:1:42: rules[0].match.method: expected a method such as \"GET\" or an array of methods, found a number" },
    { "empty method list", R "\"method\":[]" R_END, 0,
      "r.json:1:42: rules[0].match.method: empty list of methods (leave \"method\" out to match any method)" },
    { "method list with a number", R "\"method\":[\"GET\",1]" R_END, 0,
      "r.json:1:49: rules[0].match.method[1]: expected a method name (string), found a number" },
    /* match.port */
    { "port 0", R "\"port\":0" R_END, 0,
      "r.json:1:40: rules[0].match.port: port must be a whole number from 1 to 65535" },
    { "port 70000", R "\"port\":70000" R_END, 0,
      "r.json:1:40: rules[0].match.port: port must be a whole number from 1 to 65535" },
    { "port as string", R "\"port\":\"443\"" R_END, 0,
      "r.json:1:40: rules[0].match.port: expected a port number, found a string" },
    { "port 1.5", R "\"port\":1.5" R_END, 0,
      "r.json:1:40: rules[0].match.port: port must be a whole number from 1 to 65535" },
    { "port -1", R "\"port\":-1" R_END, 0,
      "r.json:1:40: rules[0].match.port: port must be a whole number from 1 to 65535" },
    { "huge port", R "\"port\":1e10" R_END, 0,
      "r.json:1:40: rules[0].match.port: port must be a whole number from 1 to 65535" },
    { "port beyond double range", R "\"port\":1e400" R_END, 0,
      "r.json:1:40: rules[0].match.port: port must be a whole number from 1 to 65535" },
    { "empty port list", R "\"port\":[]" R_END, 0,
      "r.json:1:40: rules[0].match.port: empty list of ports (leave \"port\" out to match any port)" },
    { "port list with a string", R "\"port\":[80,\"x\"]" R_END, 0,
      "r.json:1:44: rules[0].match.port[1]: expected a port number, found a string" },
    /* scheme, path, url, header */
    { "unknown scheme", R "\"scheme\":\"ftp\"" R_END, 0,
      "r.json:1:42: rules[0].match.scheme: unknown scheme \"ftp\" (use \"http\" or \"https\")" },
    { "scheme not a string", R "\"scheme\":[]" R_END, 0,
      "r.json:1:42: rules[0].match.scheme: expected \"http\" or \"https\", found an array" },
    { "regex missing parenthesis", R "\"path\":\"(\"" R_END, 0,
      "r.json:1:40: rules[0].match.path: invalid regex: missing closing parenthesis at offset 1" },
    { "regex unmatched parenthesis", R "\"path\":\"^/a)\"" R_END, 0,
      "r.json:1:40: rules[0].match.path: invalid regex: unmatched closing parenthesis at offset 3" },
    { "regex nothing to repeat", R "\"path\":\"*x\"" R_END, 0,
      "r.json:1:40: rules[0].match.path: invalid regex: quantifier does not follow a repeatable item at offset 0" },
    { "path not a string", R "\"path\":5" R_END, 0,
      "r.json:1:40: rules[0].match.path: expected a regular expression (string), found a number" },
    { "url regex unclosed class", R "\"url\":\"[\"" R_END, 0,
      "r.json:1:39: rules[0].match.url: invalid regex: missing terminating ] for character class at offset 1" },
    { "header not an object", R "\"header\":[]" R_END, 0,
      "r.json:1:42: rules[0].match.header: expected an object of \"Header-Name\": \"regex\" pairs, found an array" },
    { "bad header name", R "\"header\":{\"X Y\":\"a\"}" R_END, 0,
      "r.json:1:43: rules[0].match.header[\"X Y\"]: invalid header name \"X Y\"" },
    { "bad header regex", R "\"header\":{\"Authorization\":\"(\"}" R_END, 0,
      "r.json:1:59: rules[0].match.header.Authorization: invalid regex: missing closing parenthesis at offset 1" },
    /* log */
    { "log not an object", "{\"version\":1,\"log\":\"json\"}", 0,
      "r.json:1:20: log: expected an object such as {\"format\": \"json\"}, found a string" },
    { "unknown log format", "{\"version\":1,\"log\":{\"format\":\"xml\"}}", 0,
      "r.json:1:30: log.format: unknown log format \"xml\" (use \"text\" or \"json\")" },
    /* a pretty-printed file */
    { "pretty file, error on line 6",
      "{\n  \"version\": 1,\n  \"rules\": [\n    {\n      \"name\": \"x\",\n      \"match\": { \"port\": 70000 },\n"
      "      \"action\": \"block\"\n    }\n  ]\n}\n",
      0, "r.json:6:26: rules[0].match.port: port must be a whole number from 1 to 65535" },
    { "pretty file with CRLF, error on line 3", "{\r\n  \"version\": 1,\r\n  \"offline\": 0\r\n}\r\n", 0,
      "r.json:3:14: offline: expected true, false or \"variables\", found a number" },
    /* HTTP actions and their parameters */
    { "respond status 99", "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"status\":99}]}", 0,
      "r.json:1:52: rules[0].status: status must be a whole number from 100 to 599" },
    { "respond status 600", "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"status\":600}]}", 0,
      "r.json:1:52: rules[0].status: status must be a whole number from 100 to 599" },
    { "respond status as string", "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"status\":\"200\"}]}", 0,
      "r.json:1:52: rules[0].status: status must be a whole number from 100 to 599" },
    { "respond status 200.5", "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"status\":200.5}]}", 0,
      "r.json:1:52: rules[0].status: status must be a whole number from 100 to 599" },
    { "respond headers not an object", "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"headers\":[\"X-A: 1\"]}]}",
      0, "r.json:1:53: rules[0].headers: expected an object of \"Header-Name\": \"value\" pairs, found an array" },
    { "respond header name with a space",
      "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"headers\":{\"X A\":\"1\"}}]}", 0,
      "r.json:1:54: rules[0].headers[\"X A\"]: invalid header name \"X A\"" },
    { "respond header name with a colon",
      "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"headers\":{\"X-A:\":\"1\"}}]}", 0,
      "r.json:1:54: rules[0].headers[\"X-A:\"]: invalid header name \"X-A:\"" },
    { "respond header value a number", "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"headers\":{\"X-A\":1}}]}",
      0, "r.json:1:60: rules[0].headers.X-A: expected a string, found a number" },
    { "respond header value with a line break",
      "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"headers\":{\"X-A\":\"a\\r\\nSet-Cookie: x\"}}]}", 0,
      "r.json:1:60: rules[0].headers.X-A: line breaks are not allowed in a header value" },
    { "respond header value with LF only",
      "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"headers\":{\"Location\":\"/x\\ny\"}}]}", 0,
      "r.json:1:65: rules[0].headers.Location: line breaks are not allowed in a header value" },
    { "body and body_file together",
      "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"body\":\"x\",\"body_file\":\"b.txt\"}]}", 0,
      "r.json:1:54: rules[0].body_file: give \"body\" or \"body_file\", not both" },
    { "body not a string", "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"body\":{}}]}", 0,
      "r.json:1:50: rules[0].body: expected a string, found an object" },
    { "body_file unreadable",
      "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"body_file\":\"/nonexistent/hfs-body.txt\"}]}", 0,
      "r.json:1:55: rules[0].body_file: cannot read /nonexistent/hfs-body.txt: No such file or directory" },
    { "body_file a directory", "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"body_file\":\"/\"}]}", 0,
      "r.json:1:55: rules[0].body_file: cannot read /: is a directory, not a regular file" },
    { "body_file empty", "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"body_file\":\"\"}]}", 0,
      "r.json:1:55: rules[0].body_file: empty string" },
    { "strip-header without header", "{\"version\":1,\"rules\":[{\"action\":\"strip-header\",\"value\":\"x\"}]}", 0,
      "r.json:1:23: rules[0]: action strip-header needs \"header\" (the header name)" },
    { "strip-header header with a space",
      "{\"version\":1,\"rules\":[{\"action\":\"strip-header\",\"header\":\"Auth orization\"}]}", 0,
      "r.json:1:57: rules[0].header: invalid header name \"Auth orization\"" },
    { "strip-header empty header", "{\"version\":1,\"rules\":[{\"action\":\"strip-header\",\"header\":\"\"}]}", 0,
      "r.json:1:57: rules[0].header: invalid header name \"\"" },
    { "strip-header header with a colon",
      "{\"version\":1,\"rules\":[{\"action\":\"strip-header\",\"header\":\"Authorization:\"}]}", 0,
      "r.json:1:57: rules[0].header: invalid header name \"Authorization:\"" },
    { "strip-header header not a string",
      "{\"version\":1,\"rules\":[{\"action\":\"strip-header\",\"header\":[\"Authorization\"]}]}", 0,
      "r.json:1:57: rules[0].header: expected a string, found an array" },
    { "strip-header bad value regex",
      "{\"version\":1,\"rules\":[{\"action\":\"strip-header\",\"header\":\"Cookie\",\"value\":\"(\"}]}", 0,
      "r.json:1:74: rules[0].value: invalid regex: missing closing parenthesis at offset 1" },
    { "set-header with both sources",
      "{\"version\":1,\"rules\":[{\"action\":\"set-header\",\"header\":\"Authorization\",\"from_env\":\"T\",\"from_"
      "file\":\"/t\"}]}",
      0,
      "r.json:1:23: rules[0]: set-header needs exactly one of \"from_env\" or \"from_file\" (values are never written "
      "in the rules file)" },
    { "set-header with no source",
      "{\"version\":1,\"rules\":[{\"action\":\"set-header\",\"header\":\"Authorization\",\"prefix\":\"Bearer \"}]}", 0,
      "r.json:1:23: rules[0]: set-header needs exactly one of \"from_env\" or \"from_file\" (values are never written "
      "in the rules file)" },
    { "set-header without header", "{\"version\":1,\"rules\":[{\"action\":\"set-header\",\"from_env\":\"T\"}]}", 0,
      "r.json:1:23: rules[0]: action set-header needs \"header\" (the header name)" },
    { "set-header invalid header name",
      "{\"version\":1,\"rules\":[{\"action\":\"set-header\",\"header\":\"X\\u0001Y\",\"from_env\":\"T\"}]}", 0,
      "r.json:1:55: rules[0].header: invalid header name \"X\x01"
      "Y\"" },
    { "set-header bad variable name",
      "{\"version\":1,\"rules\":[{\"action\":\"set-header\",\"header\":\"X-T\",\"from_env\":\"A=B\"}]}", 0,
      "r.json:1:72: rules[0].from_env: invalid environment variable name \"A=B\"" },
    { "set-header from_env not a string",
      "{\"version\":1,\"rules\":[{\"action\":\"set-header\",\"header\":\"X-T\",\"from_env\":1}]}", 0,
      "r.json:1:72: rules[0].from_env: expected a string, found a number" },
    { "set-header empty from_file",
      "{\"version\":1,\"rules\":[{\"action\":\"set-header\",\"header\":\"X-T\",\"from_file\":\"\"}]}", 0,
      "r.json:1:73: rules[0].from_file: empty string" },
    { "set-header prefix with a line break",
      "{\"version\":1,\"rules\":[{\"action\":\"set-header\",\"header\":\"X-T\",\"from_env\":\"T\",\"prefix\":"
      "\"Bearer\\r\\nX-Evil: 1\"}]}",
      0, "r.json:1:85: rules[0].prefix: line breaks are not allowed here" },
    { "delay without ms", "{\"version\":1,\"rules\":[{\"action\":\"delay\"}]}", 0,
      "r.json:1:23: rules[0]: action delay needs \"ms\" (milliseconds)" },
    { "delay ms -1", "{\"version\":1,\"rules\":[{\"action\":\"delay\",\"ms\":-1}]}", 0,
      "r.json:1:46: rules[0].ms: ms must be a whole number from 0 to 3600000" },
    { "delay ms 3600001", "{\"version\":1,\"rules\":[{\"action\":\"delay\",\"ms\":3600001}]}", 0,
      "r.json:1:46: rules[0].ms: ms must be a whole number from 0 to 3600000" },
    { "delay ms as string", "{\"version\":1,\"rules\":[{\"action\":\"delay\",\"ms\":\"100\"}]}", 0,
      "r.json:1:46: rules[0].ms: ms must be a whole number from 0 to 3600000" },
    { "delay ms 1.5", "{\"version\":1,\"rules\":[{\"action\":\"delay\",\"ms\":1.5}]}", 0,
      "r.json:1:46: rules[0].ms: ms must be a whole number from 0 to 3600000" },
    { "ms on a block rule", "{\"version\":1,\"rules\":[{\"action\":\"block\",\"ms\":100}]}", 0,
      "r.json:1:41: rules[0].ms: \"ms\" does not apply to action block (it takes: form, status)" },
    { "status on an allow rule", "{\"version\":1,\"rules\":[{\"action\":\"allow\",\"status\":200}]}", 0,
      "r.json:1:41: rules[0].status: \"status\" does not apply to action allow (it takes no parameters)" },
    { "header on a respond rule", "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"header\":\"X\"}]}", 0,
      "r.json:1:43: rules[0].header: \"header\" does not apply to action respond (it takes: status, headers, body, "
      "body_file)" },
    { "value on a set-header rule",
      "{\"version\":1,\"rules\":[{\"action\":\"set-header\",\"header\":\"X\",\"from_env\":\"T\",\"value\":\"v\"}]}", 0,
      "r.json:1:74: rules[0].value: \"value\" does not apply to action set-header (it takes: header, from_env, "
      "from_file, prefix)" },
    { "from_env on a strip-header rule",
      "{\"version\":1,\"rules\":[{\"action\":\"strip-header\",\"header\":\"X\",\"from_env\":\"T\"}]}", 0,
      "r.json:1:61: rules[0].from_env: \"from_env\" does not apply to action strip-header (it takes: header, value)" },
    { "body on a delay rule", "{\"version\":1,\"rules\":[{\"action\":\"delay\",\"ms\":5,\"body\":\"x\"}]}", 0,
      "r.json:1:48: rules[0].body: \"body\" does not apply to action delay (it takes: ms)" },
    { "unknown block form", "{\"version\":1,\"rules\":[{\"action\":\"block\",\"form\":\"deny\"}]}", 0,
      "r.json:1:48: rules[0].form: unknown block form \"deny\" (known: default, http, error)" },
    { "block form not a string", "{\"version\":1,\"rules\":[{\"action\":\"block\",\"form\":true}]}", 0,
      "r.json:1:48: rules[0].form: expected a string, found a boolean" },
    { "block status 700", "{\"version\":1,\"rules\":[{\"action\":\"block\",\"form\":\"http\",\"status\":700}]}", 0,
      "r.json:1:64: rules[0].status: status must be a whole number from 100 to 599" },
    { "parameter before action, pretty",
      "{\n  \"version\": 1,\n  \"rules\": [\n    {\n      \"ms\": 5,\n      \"action\": \"allow\"\n    }\n  ]\n}\n", 0,
      "r.json:5:7: rules[0].ms: \"ms\" does not apply to action allow (it takes no parameters)" },
};

static void test_bad_file(void **state)
{
    const struct bad *b = *state;
    expect_error(b->json, b->len ? b->len : strlen(b->json), b->want);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    char text[300];
    size_t n = (size_t)snprintf(text, sizeof text, "{\"version\":1,\"comment\":");
    for (int i = 0; i < 70; i++)
        text[n++] = '[';
    for (int i = 0; i < 70; i++)
        text[n++] = ']';
    text[n++] = '}';
    text[n] = 0;
    /* the comment's value is depth 1; the 65th '[' (offset 23 + 64) is too deep */
    expect_error(text, n, "r.json:1:88: nested too deeply");
    /* 64 levels are fine */
    n = (size_t)snprintf(text, sizeof text, "{\"version\":1,\"comment\":");
    for (int i = 0; i < 64; i++)
        text[n++] = '[';
    for (int i = 0; i < 64; i++)
        text[n++] = ']';
    text[n++] = '}';
    text[n] = 0;
    hfs_rules_free(load_ok(text));
}

static void test_long_key_is_located(void **state)
{
    (void)state;
    char text[600], want[1100];
    size_t n = (size_t)snprintf(text, sizeof text, "{\"version\":1,\"env\":{\"set\":{\"");
    for (int i = 0; i < 300; i++)
        text[n++] = 'A';
    n += (size_t)snprintf(text + n, sizeof text - n, "\":1}}}");
    /* the key starts at offset 28, its value at 330 (col 331); the path is
     * rendered into 255 characters: "env.set." and 247 A's */
    int w = snprintf(want, sizeof want, "r.json:1:331: env.set.");
    for (int i = 0; i < 247; i++)
        want[w++] = 'A';
    snprintf(want + w, sizeof want - (size_t)w,
             ": expected a string value (write numbers in quotes: \"1\"), found a number");
    expect_error(text, n, want);
}

static void test_many_rules(void **state)
{
    (void)state;
    /* 200 rules: positions and names stay right deep into the file */
    size_t cap = 200 * 64 + 64, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n, "{\"version\":1,\"rules\":[\n");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s{\"match\":{\"port\":%d},\"action\":\"allow\"}\n", i ? "," : "",
                              i == 150 ? 0 : i + 1);
    n += (size_t)snprintf(text + n, cap - n, "]}");
    expect_error(text, n, "r.json:152:19: rules[150].match.port: port must be a whole number from 1 to 65535");
    free(text);
}

/* A string the loader would read cut short, or with control characters
 * or invalid UTF-8 in a name, host or variable: an error with
 * file:line:col, never a shorter value (issue 17). */
static void test_strings_never_cut_short(void **state)
{
    (void)state;
#define E(text, want) expect_error(text, strlen(text), want)
    E("{\"version\":1,\"hub_hosts\":[\"evil.com\\u0000.huggingface.co\"]}",
      "r.json:1:36: \\u0000 inside a string (a NUL would cut the string short)");
    E("{\"version\":1,\"env\":{\"set\":{\"A\\u0000B\":\"1\"}}}",
      "r.json:1:30: \\u0000 inside a string (a NUL would cut the string short)");
    E("{\"version\":1,\"rules\":[{\"name\":\"a\\u0001b\",\"action\":\"block\"}]}",
      "r.json:1:31: rules[0].name: control character in a rule name");
    E("{\"version\":1,\"rules\":[{\"match\":{\"host\":\"x\\u007f.com\"},\"action\":\"block\"}]}",
      "r.json:1:40: rules[0].match.host: control character in a host pattern");
    E("{\"version\":1,\"hub_hosts\":[\"evil\\u001f.com\"]}",
      "r.json:1:27: hub_hosts[0]: control character in a host pattern");
    E("{\"version\":1,\"rules\":[{\"name\":\"a\xff\",\"action\":\"block\"}]}",
      "r.json:1:33: invalid UTF-8 inside a string");
    E("{\"version\":1,\"rules\":[{\"name\":\"a\xc0\xaf\",\"action\":\"block\"}]}",
      "r.json:1:33: invalid UTF-8 inside a string");
#undef E
    struct hfs_rules *r =
        load_ok("{\"version\":1,\"rules\":[{\"name\":\"caf\xc3\xa9 \\u00e9\",\"action\":\"block\"}]}");
    assert_string_equal(r->rules[0].name, "caf\xc3\xa9 \xc3\xa9");
    hfs_rules_free(r);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_example_file_loads_from_disk),
        cmocka_unit_test(test_action_table),
        cmocka_unit_test(test_action_describe),
        cmocka_unit_test(test_strings_never_cut_short),
        cmocka_unit_test(test_example_hub_globs),
        cmocka_unit_test(test_example_rules_decide),
        cmocka_unit_test(test_default_hub_hosts_when_absent),
        cmocka_unit_test(test_empty_hub_hosts_means_none),
        cmocka_unit_test(test_hub_group_in_match),
        cmocka_unit_test(test_method_and_port_exact),
        cmocka_unit_test(test_path_regex_and_first_match_wins),
        cmocka_unit_test(test_scheme_url_header_fields),
        cmocka_unit_test(test_empty_regex_is_valid_and_matches_all),
        cmocka_unit_test(test_env_set_and_unset_in_file_order),
        cmocka_unit_test(test_offline_flag),
        cmocka_unit_test(test_add_endpoint_host),
        cmocka_unit_test(test_add_endpoint_localhost_adds_loopback),
        cmocka_unit_test(test_safe_default),
        cmocka_unit_test(test_byte_order_mark_is_accepted),
        cmocka_unit_test(test_unknown_keys_warn_with_path),
        cmocka_unit_test(test_unknown_match_key_is_error),
        cmocka_unit_test(test_unreachable_rule_warning),
        cmocka_unit_test(test_duplicate_rule_name_warning),
        cmocka_unit_test(test_all_errors_are_reported_first_is_kept),
        cmocka_unit_test(test_diag_without_emit),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_long_key_is_located),
        cmocka_unit_test(test_many_rules),
        cmocka_unit_test(test_action_names_and_modifiers),
        cmocka_unit_test(test_respond_loads_status_headers_body),
        cmocka_unit_test(test_respond_body_file_absolute),
        cmocka_unit_test(test_respond_body_file_relative_to_rules_file),
        cmocka_unit_test(test_strip_header_loads),
        cmocka_unit_test(test_set_header_loads),
        cmocka_unit_test(test_delay_loads),
        cmocka_unit_test(test_block_form_and_status_load),
        cmocka_unit_test(test_foreign_parameters_all_reported),
        cmocka_unit_test(test_catchall_modifier_is_not_unreachable_warning),
    };
    size_t nfixed = sizeof fixed / sizeof fixed[0], nbad = sizeof bad_files / sizeof bad_files[0];
    struct CMUnitTest *tests = calloc(nfixed + nbad, sizeof *tests);
    char(*names)[128] = calloc(nbad, sizeof *names);
    if (!tests || !names)
        return 1;
    memcpy(tests, fixed, sizeof fixed);
    for (size_t i = 0; i < nbad; i++) {
        snprintf(names[i], sizeof names[i], "invalid file: %s", bad_files[i].name);
        tests[nfixed + i].name = names[i];
        tests[nfixed + i].test_func = test_bad_file;
        tests[nfixed + i].initial_state = (void *)&bad_files[i];
    }
    int rc = _cmocka_run_group_tests("rules", tests, nfixed + nbad, NULL, NULL);
    free(tests);
    free(names);
    return rc;
}
