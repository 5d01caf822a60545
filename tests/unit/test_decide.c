/* test_decide: unit tests of the decision core (shim/core/decide.h): the
 * offline policy at each interception layer, rules in order with first
 * match winning, DEFER when a rule needs HTTP fields the layer cannot see,
 * and addresses as the socket hooks build them (v4-mapped IPv6 included). */
#include "unit.h"
#include "unit_rules.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "decide.h"
#include "rules.h"

static struct hfs_request resolve_req(const char *host, int name_is_local)
{
    struct hfs_request q;
    memset(&q, 0, sizeof q);
    q.layer = HFS_LAYER_RESOLVE;
    q.host = host;
    q.name_is_local = name_is_local;
    return q;
}

/* A connect as the socket hook builds it: address from the sockaddr, host
 * when the program looked the name up through us (NULL otherwise). */
static struct hfs_request connect_req(const char *ip, int port, const char *host)
{
    struct hfs_request q;
    memset(&q, 0, sizeof q);
    q.layer = HFS_LAYER_CONNECT;
    q.host = host;
    if (strchr(ip, ':')) {
        struct sockaddr_in6 s6;
        memset(&s6, 0, sizeof s6);
        s6.sin6_family = AF_INET6;
        s6.sin6_port = htons((unsigned short)port);
        assert_int_equal(inet_pton(AF_INET6, ip, &s6.sin6_addr), 1);
        assert_int_equal(hfs_addr_from_sockaddr(&q, (struct sockaddr *)&s6, sizeof s6), 0);
    } else {
        struct sockaddr_in s4;
        memset(&s4, 0, sizeof s4);
        s4.sin_family = AF_INET;
        s4.sin_port = htons((unsigned short)port);
        assert_int_equal(inet_pton(AF_INET, ip, &s4.sin_addr), 1);
        assert_int_equal(hfs_addr_from_sockaddr(&q, (struct sockaddr *)&s4, sizeof s4), 0);
    }
    return q;
}

static struct hfs_request http_req(const char *host, int port, const char *method, const char *path)
{
    struct hfs_request q;
    memset(&q, 0, sizeof q);
    q.layer = HFS_LAYER_HTTP;
    q.host = host;
    q.port = port;
    q.method = method;
    q.path = path;
    q.scheme = "http";
    q.http_known = 1;
    return q;
}

static void expect(const struct hfs_rules *r, const struct hfs_request *q, enum hfs_verdict_kind kind, int idx,
                   const char *rule, const char *why)
{
    struct hfs_verdict v;
    memset(&v, 0x55, sizeof v);
    hfs_decide(r, q, &v);
    assert_string_equal(hfs_verdict_name(v.kind), hfs_verdict_name(kind));
    assert_int_equal(v.rule_index, idx);
    assert_string_equal(v.rule, rule);
    if (why)
        assert_string_equal(v.why, why);
}

#define WHY_HUB "Hugging Face Hub host, offline mode"
#define WHY_RESOLVE "offline mode: only names that resolve without the network are looked up"
#define WHY_LOOPBACK "offline mode: only loopback destinations are reachable"

/* ---- offline policy --------------------------------------------------- */

static void test_offline_blocks_hub_name_at_lookup(void **state)
{
    (void)state;
    struct hfs_rules *r = hfs_rules_safe_default();
    struct hfs_request q = resolve_req("huggingface.co", 0);
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_HUB);
    q = resolve_req("cdn-lfs.huggingface.co.", 0);
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_HUB);
    /* listed in /etc/hosts (local): a Hub name is still blocked */
    q = resolve_req("HF.CO", 1);
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_HUB);
    hfs_rules_free(r);
}

static void test_offline_blocks_hub_name_at_connect_even_on_loopback(void **state)
{
    (void)state;
    struct hfs_rules *r = hfs_rules_safe_default();
    /* the name is known (the program looked it up through us) */
    struct hfs_request q = connect_req("127.0.0.1", 443, "huggingface.co");
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_HUB);
    q = http_req("hf.co", 80, "GET", "/api/models");
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_HUB);
    hfs_rules_free(r);
}

static void test_offline_blocks_hub_by_address(void **state)
{
    (void)state;
    /* a hub host given as an address (the API has no memory of which
     * addresses a Hub name resolved to: the name decides at lookup) */
    struct hfs_rules *r = rules_from("{\"version\":1,\"offline\":true,\"hub_hosts\":[\"10.1.2.3\",\"[fd00::7]\"]}");
    struct hfs_request q = connect_req("10.1.2.3", 443, NULL);
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_HUB);
    q = connect_req("fd00::7", 443, NULL);
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_HUB);
    q = connect_req("10.1.2.4", 443, NULL);
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_LOOPBACK);
    hfs_rules_free(r);
}

static void test_offline_blocks_non_loopback_address(void **state)
{
    (void)state;
    struct hfs_rules *r = hfs_rules_safe_default();
    struct hfs_request q = connect_req("8.8.8.8", 443, NULL);
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_LOOPBACK);
    q = connect_req("2001:db8::1", 80, "example.com");
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_LOOPBACK);
    q = connect_req("192.168.1.10", 5000, NULL);
    q.layer = HFS_LAYER_DATAGRAM;
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_LOOPBACK);
    hfs_rules_free(r);
}

static void test_offline_blocks_non_local_lookup(void **state)
{
    (void)state;
    struct hfs_rules *r = hfs_rules_safe_default();
    struct hfs_request q = resolve_req("pypi.org", 0);
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_RESOLVE);
    q = resolve_req("myhost.lan", 1); /* listed in /etc/hosts */
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", "no rule matched");
    q = resolve_req("localhost", 1);
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", NULL);
    hfs_rules_free(r);
}

static void test_offline_allows_loopback(void **state)
{
    (void)state;
    struct hfs_rules *r = hfs_rules_safe_default();
    struct hfs_request q = connect_req("127.0.0.1", 8080, NULL);
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", "no rule matched");
    q = connect_req("127.200.3.4", 1, "localhost");
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", NULL);
    q = connect_req("::1", 9000, NULL);
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", NULL);
    /* an HTTP request head seen on a loopback socket */
    q = http_req("localhost", 8080, "POST", "/v1/completions");
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", NULL);
    hfs_rules_free(r);
}

static void test_offline_blocks_loopback_hf_endpoint(void **state)
{
    (void)state;
    struct hfs_rules *r = hfs_rules_safe_default();
    assert_int_equal(hfs_rules_add_endpoint(r, "http://localhost:8080/"), 0);
    struct hfs_request q = connect_req("127.0.0.1", 8080, NULL);
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_HUB);
    q = connect_req("::1", 8080, NULL);
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_HUB);
    q = connect_req("::ffff:127.0.0.1", 8080, NULL);
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_HUB);
    /* other loopback ports stay reachable */
    q = connect_req("127.0.0.1", 8081, NULL);
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", NULL);
    /* a lookup of "localhost" without a port cannot tell: allowed, the
     * connect decides; with the port it is the endpoint */
    q = resolve_req("localhost", 1);
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", NULL);
    q.port = 8080;
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_HUB);
    hfs_rules_free(r);
}

static void test_online_nothing_blocked_without_rules(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from("{\"version\":1}");
    struct hfs_request q = resolve_req("huggingface.co", 0);
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", "no rule matched");
    q = connect_req("8.8.8.8", 53, NULL);
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", NULL);
    hfs_rules_free(r);
}

/* ---- rules ------------------------------------------------------------ */

static const char RULES[] =
    "{\"version\":1,\"rules\":["
    "{\"name\":\"no-metrics\",\"match\":{\"host\":\"*.example.com\",\"method\":\"POST\",\"path\":"
    "\"^/metrics\"},\"action\":\"block\"},"
    "{\"name\":\"example-ok\",\"match\":{\"host\":\"*.example.com\"},\"action\":\"allow\"},"
    "{\"name\":\"hub\",\"match\":{\"host\":\"@hub\"},\"action\":\"block\"},"
    "{\"name\":\"alt-port\",\"match\":{\"port\":[8080,8443]},\"action\":\"block\"}]}";

static void test_rule_first_match_wins(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from(RULES);
    struct hfs_request q = http_req("api.example.com", 443, "POST", "/metrics/x");
    expect(r, &q, HFS_V_BLOCK, 0, "no-metrics", "blocked by rule");
    q = http_req("api.example.com", 8080, "GET", "/metrics/x"); /* rule 1 before rule 3 */
    expect(r, &q, HFS_V_ALLOW, 1, "example-ok", "allowed by rule");
    q = http_req("huggingface.co", 8080, "GET", "/");
    expect(r, &q, HFS_V_BLOCK, 2, "hub", "blocked by rule");
    q = http_req("pypi.org", 8443, "GET", "/");
    expect(r, &q, HFS_V_BLOCK, 3, "alt-port", "blocked by rule");
    q = http_req("pypi.org", 443, "GET", "/");
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", "no rule matched");
    hfs_rules_free(r);
}

static void test_defer_when_http_fields_unknown(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from(RULES);
    /* lookup and connect cannot see method/path: rule 0 might match */
    struct hfs_request q = resolve_req("api.example.com", 0);
    expect(r, &q, HFS_V_DEFER, 0, "no-metrics", "depends on the HTTP request");
    q = connect_req("93.184.216.34", 443, "api.example.com");
    expect(r, &q, HFS_V_DEFER, 0, "no-metrics", NULL);
    /* the host does not match rule 0: no need to wait */
    q = connect_req("1.1.1.1", 443, "pypi.org");
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", NULL);
    q = connect_req("1.1.1.1", 8443, "pypi.org");
    expect(r, &q, HFS_V_BLOCK, 3, "alt-port", NULL);
    /* once the request head is seen the answer is final */
    q = http_req("api.example.com", 443, "GET", "/metrics");
    expect(r, &q, HFS_V_ALLOW, 1, "example-ok", NULL);
    hfs_rules_free(r);
}

static void test_defer_when_port_unknown(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from("{\"version\":1,\"rules\":[{\"match\":{\"host\":\"api.example.com:8443\"},"
                                     "\"action\":\"block\"},{\"match\":{\"port\":22},\"action\":\"block\"}]}");
    struct hfs_request q = resolve_req("api.example.com", 0);
    expect(r, &q, HFS_V_DEFER, 0, "rules[0]", NULL);
    q.port = 443;
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", NULL);
    q.port = 8443;
    expect(r, &q, HFS_V_BLOCK, 0, "rules[0]", NULL);
    q = resolve_req("other.org", 0);
    expect(r, &q, HFS_V_DEFER, 1, "rules[1]", NULL);
    hfs_rules_free(r);
}

static void test_scheme_header_url_predicates(void **state)
{
    (void)state;
    struct hfs_rules *r =
        rules_from("{\"version\":1,\"rules\":["
                   "{\"name\":\"plain\",\"match\":{\"scheme\":\"http\",\"host\":\"*.corp\"},\"action\":"
                   "\"block\"},"
                   "{\"name\":\"bearer\",\"match\":{\"header\":{\"Authorization\":\"^Bearer hf_\"}},"
                   "\"action\":\"block\"},"
                   "{\"name\":\"tok\",\"match\":{\"url\":\"[?&]token=\"},\"action\":\"block\"}]}");
    struct hfs_request q = resolve_req("git.corp", 0); /* scheme unknown */
    expect(r, &q, HFS_V_DEFER, 0, "plain", NULL);
    q = http_req("git.corp", 80, "GET", "/");
    expect(r, &q, HFS_V_BLOCK, 0, "plain", NULL);
    q.scheme = "https";
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", NULL);
    struct hfs_header h[2] = {
        { "Accept", 6, "*/*", 3 },
        { "authorization", 13, "Bearer hf_abcdef", 16 },
    };
    q = http_req("a.b", 443, "GET", "/");
    q.headers = h;
    q.nheaders = 2;
    expect(r, &q, HFS_V_BLOCK, 1, "bearer", NULL); /* header names ignore case */
    h[1].value = "Basic xyz";
    h[1].value_len = 9;
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", NULL);
    q.url = "https://a.b/x?a=1&token=2";
    expect(r, &q, HFS_V_BLOCK, 2, "tok", NULL);
    q.url = NULL; /* a layer that knows the head but not the URL */
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", NULL);
    hfs_rules_free(r);
}

static void test_rules_apply_after_offline_policy(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from("{\"version\":1,\"offline\":true,\"rules\":[{\"name\":\"no-local-db\",\"match\":{"
                                     "\"port\":5432},\"action\":\"block\"}]}");
    struct hfs_request q = connect_req("127.0.0.1", 5432, NULL);
    expect(r, &q, HFS_V_BLOCK, 0, "no-local-db", "blocked by rule");
    q = connect_req("10.0.0.1", 5432, NULL); /* offline decides first */
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_LOOPBACK);
    hfs_rules_free(r);
}

static void test_path_with_invalid_utf8_still_matches(void **state)
{
    (void)state;
    /* a block rule must not be skipped because the path is not UTF-8 */
    struct hfs_rules *r =
        rules_from("{\"version\":1,\"rules\":[{\"match\":{\"path\":\"^/secret\"},\"action\":\"block\"}]}");
    struct hfs_request q = http_req("h", 80, "GET", "/secret/\xff\xfe");
    expect(r, &q, HFS_V_BLOCK, 0, "rules[0]", NULL);
    q.path = "/\xc3public";
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", NULL);
    hfs_rules_free(r);
}

/* ---- HTTP actions ----------------------------------------------------- */

static struct hfs_verdict decide(const struct hfs_rules *r, const struct hfs_request *q)
{
    struct hfs_verdict v;
    memset(&v, 0x55, sizeof v); /* hfs_decide must set every field */
    hfs_decide(r, q, &v);
    return v;
}

static const char MODS[] =
    "{\"version\":1,\"rules\":["
    "{\"name\":\"strip-auth\",\"match\":{\"host\":\"*.example.com\"},\"action\":\"strip-header\",\"header\":"
    "\"Authorization\"},"
    "{\"name\":\"slow\",\"match\":{\"method\":\"POST\"},\"action\":\"delay\",\"ms\":100},"
    "{\"name\":\"strip-cookie\",\"match\":{\"host\":\"other.org\"},\"action\":\"strip-header\",\"header\":\"Cookie\"},"
    "{\"name\":\"set-key\",\"match\":{\"path\":\"^/v1/\"},\"action\":\"set-header\",\"header\":\"X-Api-Key\","
    "\"from_env\":\"KEY\"},"
    "{\"name\":\"slower\",\"match\":{},\"action\":\"delay\",\"ms\":250},"
    "{\"name\":\"no-admin\",\"match\":{\"path\":\"^/v1/admin\"},\"action\":\"block\"},"
    "{\"name\":\"ok\",\"match\":{\"host\":\"*.example.com\"},\"action\":\"allow\"},"
    "{\"name\":\"after\",\"match\":{},\"action\":\"strip-header\",\"header\":\"Accept\"}]}";

static void test_modifiers_accumulate_until_terminal_rule(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from(MODS);
    struct hfs_request q = http_req("api.example.com", 443, "POST", "/v1/models");
    struct hfs_verdict v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_ALLOW);
    assert_int_equal(v.rule_index, 6);
    assert_string_equal(v.rule, "ok");
    assert_string_equal(v.why, "allowed by rule");
    /* strip-auth and set-key, in rule order; strip-cookie did not match,
     * "after" comes after the terminal rule */
    assert_int_equal(v.nedits, 2);
    assert_ptr_equal(v.edits[0], &r->rules[0]);
    assert_ptr_equal(v.edits[1], &r->rules[3]);
    assert_int_equal(v.delay_ms, 350); /* slow + slower */
    assert_null(v.answer);
    assert_int_equal(v.hub, 0);
    assert_int_equal(v.http_form, 0);
    /* GET: no "slow"; another path: no set-key */
    q = http_req("api.example.com", 443, "GET", "/v2/models");
    v = decide(r, &q);
    assert_int_equal(v.rule_index, 6);
    assert_int_equal(v.nedits, 1);
    assert_ptr_equal(v.edits[0], &r->rules[0]);
    assert_int_equal(v.delay_ms, 250);
    /* a host no terminal rule matches: every matching modifier, "after" too */
    q = http_req("other.org", 80, "GET", "/v1/x");
    v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_ALLOW);
    assert_int_equal(v.rule_index, -1);
    assert_string_equal(v.rule, "(no rule)");
    assert_int_equal(v.nedits, 3);
    assert_ptr_equal(v.edits[0], &r->rules[2]);
    assert_ptr_equal(v.edits[1], &r->rules[3]);
    assert_ptr_equal(v.edits[2], &r->rules[7]);
    assert_int_equal(v.delay_ms, 250);
    /* a block keeps what was collected before it */
    q = http_req("api.example.com", 443, "POST", "/v1/admin/users");
    v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_int_equal(v.rule_index, 5);
    assert_string_equal(v.rule, "no-admin");
    assert_int_equal(v.nedits, 2);
    assert_int_equal(v.delay_ms, 350);
    assert_ptr_equal(v.answer, &r->rules[5]);
    hfs_rules_free(r);
}

static void test_delays_sum(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from("{\"version\":1,\"rules\":["
                                     "{\"action\":\"delay\",\"ms\":3600000},"
                                     "{\"match\":{\"port\":443},\"action\":\"delay\",\"ms\":0},"
                                     "{\"match\":{\"port\":443},\"action\":\"delay\",\"ms\":7},"
                                     "{\"match\":{\"port\":80},\"action\":\"delay\",\"ms\":1000},"
                                     "{\"match\":{\"method\":\"GET\"},\"action\":\"delay\",\"ms\":3600000}]}");
    struct hfs_request q = http_req("h", 443, "GET", "/");
    struct hfs_verdict v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_ALLOW);
    assert_int_equal(v.rule_index, -1);
    assert_int_equal(v.delay_ms, 7200007);
    assert_int_equal(v.nedits, 0); /* delays are not header edits */
    q = http_req("h", 80, "PUT", "/");
    v = decide(r, &q);
    assert_int_equal(v.delay_ms, 3601000);
    hfs_rules_free(r);
}

/* At lookup and connect there is no HTTP request to edit or delay: the
 * modifiers are skipped, and one that needs HTTP fields does not defer. */
static void test_modifiers_skipped_at_connection_level(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from(MODS);
    struct hfs_request q = connect_req("93.184.216.34", 443, "api.example.com");
    struct hfs_verdict v = decide(r, &q);
    /* no-admin (path) is the first rule that may match: the decision waits */
    assert_int_equal(v.kind, HFS_V_DEFER);
    assert_int_equal(v.rule_index, 5);
    assert_int_equal(v.nedits, 0);
    assert_int_equal(v.delay_ms, 0);
    hfs_rules_free(r);
    r = rules_from("{\"version\":1,\"rules\":["
                   "{\"match\":{\"path\":\"^/x\"},\"action\":\"strip-header\",\"header\":\"Cookie\"},"
                   "{\"match\":{\"method\":\"POST\"},\"action\":\"delay\",\"ms\":5},"
                   "{\"action\":\"set-header\",\"header\":\"X-A\",\"from_env\":\"A\"},"
                   "{\"name\":\"end\",\"match\":{\"host\":\"h.example\"},\"action\":\"block\"}]}");
    q = connect_req("10.0.0.1", 443, "h.example");
    v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_int_equal(v.rule_index, 3);
    assert_int_equal(v.nedits, 0);
    assert_int_equal(v.delay_ms, 0);
    assert_int_equal(v.http_form, 0); /* not an HTTP layer */
    assert_int_equal(v.block_status, 0);
    assert_null(v.answer);
    q = resolve_req("h.example", 0);
    v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_int_equal(v.nedits, 0);
    q = connect_req("10.0.0.2", 53, "dns.example");
    q.layer = HFS_LAYER_DATAGRAM;
    v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_ALLOW);
    assert_int_equal(v.rule_index, -1);
    assert_int_equal(v.nedits, 0);
    assert_int_equal(v.delay_ms, 0);
    /* the same request at the HTTP layer collects them */
    q = http_req("h.example", 443, "POST", "/x");
    v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_int_equal(v.nedits, 2);
    assert_ptr_equal(v.edits[0], &r->rules[0]);
    assert_ptr_equal(v.edits[1], &r->rules[2]);
    assert_int_equal(v.delay_ms, 5);
    /* an HTTP layer that has not seen the request head is not HTTP yet */
    q.layer = HFS_LAYER_TLS;
    q.http_known = 0;
    v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_int_equal(v.nedits, 0);
    assert_int_equal(v.delay_ms, 0);
    assert_int_equal(v.http_form, 0);
    hfs_rules_free(r);
}

static const char RESPOND[] = "{\"version\":1,\"rules\":["
                              "{\"name\":\"cached-meta\",\"match\":{\"host\":\"@hub\",\"path\":\"^/api/models/\"},"
                              "\"action\":\"respond\",\"status\":200,\"body\":\"{}\"},"
                              "{\"name\":\"teapot\",\"match\":{\"host\":\"tea.example\"},\"action\":\"respond\","
                              "\"status\":418}]}";

static void test_respond_defers_at_connection_level(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from(RESPOND);
    struct hfs_request q = resolve_req("tea.example", 0);
    struct hfs_verdict v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_DEFER);
    assert_int_equal(v.rule_index, 1);
    assert_string_equal(v.rule, "teapot");
    assert_string_equal(v.why, "answered at the HTTP layer");
    assert_null(v.answer);
    q = connect_req("192.0.2.7", 80, "tea.example");
    v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_DEFER);
    assert_string_equal(v.why, "answered at the HTTP layer");
    /* the Hub rule needs the path: it waits for the request head */
    q = connect_req("192.0.2.8", 443, "huggingface.co");
    v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_DEFER);
    assert_int_equal(v.rule_index, 0);
    assert_string_equal(v.why, "depends on the HTTP request");
    hfs_rules_free(r);
}

static void test_respond_at_http_layers(void **state)
{
    (void)state;
    static const enum hfs_layer layers[] = { HFS_LAYER_HTTP, HFS_LAYER_TLS, HFS_LAYER_CURL, HFS_LAYER_EXPLAIN };
    struct hfs_rules *r = rules_from(RESPOND);
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        struct hfs_request q = http_req("tea.example", 80, "GET", "/pot");
        q.layer = layers[i];
        struct hfs_verdict v = decide(r, &q);
        assert_int_equal(v.kind, HFS_V_RESPOND);
        assert_int_equal(v.rule_index, 1);
        assert_string_equal(v.rule, "teapot");
        assert_string_equal(v.why, "answered by rule");
        assert_ptr_equal(v.answer, &r->rules[1]);
        assert_int_equal(v.answer->args.status, 418);
        assert_int_equal(v.http_form, 0);
        q = http_req("huggingface.co", 443, "GET", "/api/models/gpt2");
        q.layer = layers[i];
        v = decide(r, &q);
        assert_int_equal(v.kind, HFS_V_RESPOND);
        assert_int_equal(v.rule_index, 0);
        assert_ptr_equal(v.answer, &r->rules[0]);
        assert_int_equal(v.hub, 1);
        q.path = "/gpt2/resolve/main/config.json";
        v = decide(r, &q);
        assert_int_equal(v.kind, HFS_V_ALLOW);
        assert_int_equal(v.rule_index, -1);
        assert_null(v.answer);
    }
    hfs_rules_free(r);
}

static const char BLOCKS[] = "{\"version\":1,\"rules\":["
                             "{\"name\":\"as-http\",\"match\":{\"path\":\"^/http\"},\"action\":\"block\",\"form\":"
                             "\"http\",\"status\":451},"
                             "{\"name\":\"as-error\",\"match\":{\"path\":\"^/error\"},\"action\":\"block\",\"form\":"
                             "\"error\"},"
                             "{\"name\":\"plain\",\"match\":{\"path\":\"^/plain\"},\"action\":\"block\"},"
                             "{\"name\":\"status-only\",\"match\":{\"path\":\"^/status\"},\"action\":\"block\","
                             "\"status\":500}]}";

static struct hfs_verdict block_at(const struct hfs_rules *r, const char *host, const char *path, int idx)
{
    struct hfs_request q = http_req(host, 443, "GET", path);
    q.layer = HFS_LAYER_CURL;
    struct hfs_verdict v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_int_equal(v.rule_index, idx);
    assert_ptr_equal(v.answer, &r->rules[idx]);
    assert_string_equal(v.why, "blocked by rule");
    return v;
}

static void test_http_form_block_hub_and_override(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from(BLOCKS);
    /* default form: an HTTP answer for Hub hosts only */
    struct hfs_verdict v = block_at(r, "huggingface.co", "/plain", 2);
    assert_int_equal(v.hub, 1);
    assert_int_equal(v.http_form, 1);
    assert_int_equal(v.block_status, 403);
    v = block_at(r, "pypi.org", "/plain", 2);
    assert_int_equal(v.hub, 0);
    assert_int_equal(v.http_form, 0);
    assert_int_equal(v.block_status, 403);
    /* form http: an HTTP answer everywhere, with the rule's status */
    v = block_at(r, "pypi.org", "/http", 0);
    assert_int_equal(v.http_form, 1);
    assert_int_equal(v.block_status, 451);
    v = block_at(r, "cdn-lfs.hf.co", "/http", 0);
    assert_int_equal(v.http_form, 1);
    assert_int_equal(v.block_status, 451);
    /* form error: a transport error even for the Hub */
    v = block_at(r, "huggingface.co", "/error", 1);
    assert_int_equal(v.hub, 1);
    assert_int_equal(v.http_form, 0);
    /* default form with a status: the status is used for the Hub */
    v = block_at(r, "hf.co", "/status", 3);
    assert_int_equal(v.http_form, 1);
    assert_int_equal(v.block_status, 500);
    v = block_at(r, "example.org", "/status", 3);
    assert_int_equal(v.http_form, 0);
    hfs_rules_free(r);
}

static void test_offline_respond_answers_hub_requests(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from("{\"version\":1,\"offline\":true,\"rules\":["
                                     "{\"name\":\"strip\",\"match\":{\"host\":\"@hub\"},\"action\":\"strip-header\","
                                     "\"header\":\"Authorization\"},"
                                     "{\"name\":\"deny-whoami\",\"match\":{\"path\":\"^/api/whoami\"},\"action\":"
                                     "\"block\",\"form\":\"error\"},"
                                     "{\"name\":\"meta\",\"match\":{\"host\":\"@hub\",\"path\":\"^/api/\"},\"action\":"
                                     "\"respond\",\"body\":\"{}\"}]}");
    struct hfs_request q = http_req("huggingface.co", 443, "GET", "/api/models/gpt2");
    struct hfs_verdict v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_RESPOND);
    assert_int_equal(v.rule_index, 2);
    assert_string_equal(v.rule, "meta");
    assert_ptr_equal(v.answer, &r->rules[2]);
    assert_int_equal(v.hub, 1);
    assert_int_equal(v.nedits, 1);
    assert_ptr_equal(v.edits[0], &r->rules[0]);
    q.layer = HFS_LAYER_TLS;
    v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_RESPOND);
    assert_int_equal(v.rule_index, 2);
    /* no respond rule for this path: the offline block, as HTTP for the Hub */
    q = http_req("huggingface.co", 443, "GET", "/gpt2/resolve/main/config.json");
    q.layer = HFS_LAYER_CURL;
    v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_int_equal(v.rule_index, -1);
    assert_string_equal(v.rule, "offline");
    assert_string_equal(v.why, WHY_HUB);
    assert_int_equal(v.http_form, 1);
    assert_int_equal(v.block_status, 403);
    assert_null(v.answer);
    assert_int_equal(v.nedits, 0);
    /* a block rule before the respond rule: still the offline block */
    q.path = "/api/whoami-v2";
    v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_string_equal(v.rule, "offline");
    assert_int_equal(v.http_form, 1);
    /* below the HTTP layer offline blocks the Hub outright */
    struct hfs_request c = connect_req("127.0.0.1", 443, "huggingface.co");
    v = decide(r, &c);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_string_equal(v.rule, "offline");
    assert_int_equal(v.http_form, 0);
    assert_int_equal(v.block_status, 0);
    c = resolve_req("huggingface.co", 0);
    v = decide(r, &c);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_string_equal(v.rule, "offline");
    hfs_rules_free(r);
}

static void test_offline_block_without_respond(void **state)
{
    (void)state;
    struct hfs_rules *r = hfs_rules_safe_default();
    struct hfs_request q = http_req("cdn-lfs.huggingface.co", 443, "GET", "/repos/x");
    q.layer = HFS_LAYER_CURL;
    struct hfs_verdict v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_int_equal(v.rule_index, -1);
    assert_string_equal(v.rule, "offline");
    assert_int_equal(v.hub, 1);
    assert_int_equal(v.http_form, 1);
    assert_int_equal(v.block_status, 403);
    assert_null(v.answer);
    /* a non-Hub destination off loopback: blocked as a transport error */
    q = connect_req("203.0.113.9", 443, "pypi.org");
    q.layer = HFS_LAYER_TLS;
    q.http_known = 1;
    q.method = "GET";
    q.path = "/simple/";
    v = decide(r, &q);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_string_equal(v.why, WHY_LOOPBACK);
    assert_int_equal(v.hub, 0);
    assert_int_equal(v.http_form, 0);
    assert_int_equal(v.block_status, 403);
    hfs_rules_free(r);
}

/* ---- addresses and helpers -------------------------------------------- */

static void test_v4_mapped_ipv6_is_normalised(void **state)
{
    (void)state;
    struct hfs_request q = connect_req("::ffff:8.8.4.4", 853, NULL);
    assert_int_equal(q.addr.family, AF_INET);
    assert_string_equal(q.ip, "8.8.4.4");
    assert_int_equal(q.port, 853);
    assert_memory_equal(q.addr.a, "\x08\x08\x04\x04", 4);
    struct hfs_rules *r = hfs_rules_safe_default();
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_LOOPBACK);
    q = connect_req("::ffff:127.0.0.1", 80, NULL);
    assert_string_equal(q.ip, "127.0.0.1");
    expect(r, &q, HFS_V_ALLOW, -1, "(no rule)", NULL);
    hfs_rules_free(r);
    /* a hub address written either way matches either form */
    r = rules_from("{\"version\":1,\"offline\":true,\"hub_hosts\":[\"[::ffff:10.9.8.7]:443\",\"10.1.1.1\"]}");
    q = connect_req("10.9.8.7", 443, NULL);
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_HUB);
    q = connect_req("::ffff:10.1.1.1", 80, NULL);
    expect(r, &q, HFS_V_BLOCK, -1, "offline", WHY_HUB);
    hfs_rules_free(r);
}

static void test_addr_from_sockaddr_rejects_other_families(void **state)
{
    (void)state;
    struct hfs_request q;
    memset(&q, 0, sizeof q);
    struct sockaddr_in s4;
    memset(&s4, 0, sizeof s4);
    s4.sin_family = AF_INET;
    assert_int_equal(hfs_addr_from_sockaddr(&q, (struct sockaddr *)&s4, sizeof s4 - 1), -1);
    struct sockaddr sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_family = AF_UNIX;
    assert_int_equal(hfs_addr_from_sockaddr(&q, &sa, sizeof sa), -1);
    assert_int_equal(hfs_addr_from_sockaddr(&q, NULL, 0), -1);
    assert_int_equal(q.addr.family, 0);
}

static void test_addr_is_loopback(void **state)
{
    (void)state;
    struct hfs_addr a;
    static const char *const yes[] = { "127.0.0.1", "127.255.255.254", "::1", "[::1]", "::ffff:127.0.0.2", NULL };
    static const char *const no[] = { "128.0.0.1", "0.0.0.0", "::", "::2", "10.0.0.1", "fe80::1", NULL };
    for (int i = 0; yes[i]; i++) {
        assert_int_equal(hfs_addr_parse(yes[i], &a), 0);
        assert_true(hfs_addr_is_loopback(&a));
    }
    for (int i = 0; no[i]; i++) {
        assert_int_equal(hfs_addr_parse(no[i], &a), 0);
        assert_false(hfs_addr_is_loopback(&a));
    }
    memset(&a, 0, sizeof a);
    assert_false(hfs_addr_is_loopback(&a));
    assert_int_equal(hfs_addr_parse("localhost", &a), -1);
    assert_int_equal(hfs_addr_parse("1.2.3", &a), -1);
    assert_int_equal(hfs_addr_parse("[1.2.3.4", &a), -1);
}

/* hfs_addr_parse reads an IPv4 literal exactly as inet_pton(AF_INET)
 * does (its own parser, no library call): the tricky forms, then 200,000
 * random strings over digits, dots and a few other bytes. */
static void test_addr_parse_matches_inet_pton(void **state)
{
    (void)state;
    static const char *const forms[] = { "1.2.3.4",
                                         "0.0.0.0",
                                         "255.255.255.255",
                                         "256.1.1.1",
                                         "01.2.3.4",
                                         "1.2.3.04",
                                         "1.2.3.0",
                                         "00.1.1.1",
                                         "1.2.3",
                                         "1.2.3.4.",
                                         ".1.2.3.4",
                                         "1..2.3",
                                         "1.2.3.4.5",
                                         "1.2.3.1000",
                                         "0x1.2.3.4",
                                         "1.2.3.4 ",
                                         " 1.2.3.4",
                                         "1.2.3.4a",
                                         "",
                                         ".",
                                         "...",
                                         "999",
                                         "1.2.3.255",
                                         "1.2.3.-1",
                                         "[1.2.3.4]",
                                         "::ffff:1.2.3.4",
                                         "1.2.3.4:80",
                                         NULL };
    struct hfs_addr a;
    unsigned char want[4];
    for (int i = 0; forms[i]; i++) {
        const char *t = forms[i];
        int ok = inet_pton(AF_INET, t, want) == 1;
        int got = hfs_addr_parse(t, &a) == 0 && a.family == AF_INET && !strchr(t, ':') && t[0] != '[';
        assert_int_equal(got, ok);
        if (ok)
            assert_memory_equal(a.a, want, 4);
    }
    static const char alphabet[] = "0123456789012345.....:x ";
    unsigned long x = 88172645463325252ul;
    for (int i = 0; i < 200000; i++) {
        char t[20];
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = x % 18;
        for (size_t k = 0; k < n; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            t[k] = alphabet[x % (sizeof alphabet - 1)];
        }
        t[n] = 0;
        int ok = inet_pton(AF_INET, t, want) == 1;
        int parsed = hfs_addr_parse(t, &a) == 0;
        if (strchr(t, ':'))
            continue; /* IPv6 forms: inet_pton's own reading */
        assert_int_equal(parsed && a.family == AF_INET, ok);
        if (ok)
            assert_memory_equal(a.a, want, 4);
    }
}

/* hfs_addr_text writes what inet_ntop writes (its IPv4 fast path too). */
static void test_addr_text_matches_inet_ntop(void **state)
{
    (void)state;
    static const char *const addrs[] = {
        "0.0.0.0", "127.0.0.1", "10.20.30.40",      "255.255.255.255",           "1.22.103.9", "192.168.0.100",
        "::1",     "fe80::1",   "::ffff:127.0.0.2", "2001:db8::8:800:200c:417a", NULL
    };
    struct hfs_addr a;
    char got[48], want[48];
    for (int i = 0; addrs[i]; i++) {
        assert_int_equal(hfs_addr_parse(addrs[i], &a), 0);
        assert_non_null(inet_ntop(a.family, a.a, want, sizeof want));
        assert_ptr_equal(hfs_addr_text(&a, got, sizeof got), got);
        assert_string_equal(got, want);
    }
    for (int v = 0; v < 256; v++) {
        memset(&a, 0, sizeof a);
        a.family = AF_INET;
        a.a[0] = a.a[3] = (unsigned char)v;
        a.a[1] = (unsigned char)(255 - v);
        inet_ntop(AF_INET, a.a, want, sizeof want);
        assert_string_equal(hfs_addr_text(&a, got, sizeof got), want);
    }
    memset(&a, 0, sizeof a);
    assert_null(hfs_addr_text(&a, got, sizeof got));
    assert_string_equal(got, "");
}

static void test_is_hub_reports_unknown_port(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from("{\"version\":1,\"hub_hosts\":[\"hub.local:8080\",\"hf.co\"]}");
    struct hfs_request q = resolve_req("hub.local", 0);
    int unknown = 0;
    assert_int_equal(hfs_is_hub(r, &q, &unknown), 0);
    assert_int_equal(unknown, 1);
    unknown = 0;
    q.host = "hf.co";
    assert_int_equal(hfs_is_hub(r, &q, &unknown), 1);
    assert_int_equal(unknown, 0);
    q.host = "hub.local";
    q.port = 8080;
    assert_int_equal(hfs_is_hub(r, &q, NULL), 1);
    q.port = 8081;
    assert_int_equal(hfs_is_hub(r, &q, NULL), 0);
    hfs_rules_free(r);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(hfs_verdict_name(HFS_V_ALLOW), "allow");
    assert_string_equal(hfs_verdict_name(HFS_V_BLOCK), "block");
    assert_string_equal(hfs_verdict_name(HFS_V_DEFER), "defer");
    assert_string_equal(hfs_verdict_name(HFS_V_RESPOND), "respond");
    assert_string_equal(hfs_verdict_name((enum hfs_verdict_kind)42), "?");
    assert_string_equal(hfs_layer_name(HFS_LAYER_RESOLVE), "lookup");
    assert_string_equal(hfs_layer_name(HFS_LAYER_CONNECT), "connect");
    assert_string_equal(hfs_layer_name(HFS_LAYER_DATAGRAM), "datagram");
    assert_string_equal(hfs_layer_name(HFS_LAYER_HTTP), "http");
    assert_string_equal(hfs_layer_name(HFS_LAYER_TLS), "tls");
    assert_string_equal(hfs_layer_name(HFS_LAYER_CURL), "curl");
    assert_string_equal(hfs_layer_name(HFS_LAYER_EXPLAIN), "explain");
    assert_string_equal(hfs_layer_name((enum hfs_layer)99), "?");
}

/* The connection layers' fate: real (maybe watched), refused or virtual. */
static void fate_of(struct hfs_rules *r, struct hfs_request *q, enum hfs_conn_fate want, int http_rules)
{
    struct hfs_verdict v;
    hfs_decide(r, q, &v);
    assert_int_equal(v.fate, want);
    assert_int_equal(v.http_rules, http_rules);
}

static void test_connection_fate(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from(
        "{\"version\":1,\"rules\":["
        "{\"name\":\"ans\",\"match\":{\"host\":\"a.test\",\"path\":\"^/api/\"},\"action\":\"respond\",\"status\":200},"
        "{\"name\":\"a-down\",\"match\":{\"host\":\"a.test\"},\"action\":\"block\"},"
        "{\"name\":\"get-only\",\"match\":{\"host\":\"b.test\",\"method\":\"GET\"},\"action\":\"allow\"},"
        "{\"name\":\"b-rest\",\"match\":{\"host\":\"b.test\"},\"action\":\"block\"},"
        "{\"name\":\"strip\",\"match\":{\"host\":\"c.test\"},\"action\":\"strip-header\",\"header\":\"X\"},"
        "{\"name\":\"d-all\",\"match\":{\"host\":\"d.test\"},\"action\":\"respond\",\"status\":204},"
        "{\"name\":\"e-down\",\"match\":{\"host\":\"e.test\"},\"action\":\"block\"},"
        "{\"name\":\"f-http\",\"match\":{\"host\":\"f.test\"},\"action\":\"block\",\"form\":\"http\"}]}");
    struct hfs_request q = connect_req("10.0.0.1", 443, "a.test");
    fate_of(r, &q, HFS_CONN_VIRTUAL, 1); /* some answered, the rest blocked: no network */
    q = resolve_req("a.test", 0);
    fate_of(r, &q, HFS_CONN_VIRTUAL, 1);
    q = connect_req("10.0.0.2", 443, "b.test");
    fate_of(r, &q, HFS_CONN_REAL, 1); /* a GET may go through: real, watched */
    q = connect_req("10.0.0.3", 443, "c.test");
    fate_of(r, &q, HFS_CONN_REAL, 1); /* a modifier: watched */
    q = connect_req("10.0.0.4", 443, "d.test");
    fate_of(r, &q, HFS_CONN_VIRTUAL, 1); /* every request answered */
    q = connect_req("10.0.0.5", 443, "e.test");
    fate_of(r, &q, HFS_CONN_REFUSE, 0); /* nothing to answer with */
    q = connect_req("10.0.0.6", 443, "f.test");
    fate_of(r, &q, HFS_CONN_VIRTUAL, 0); /* the block answers in HTTP form */
    q = connect_req("10.0.0.7", 443, "z.test");
    fate_of(r, &q, HFS_CONN_REAL, 0); /* untouched */
    hfs_rules_free(r);
}

/* HTTP layers: an allowed request on a connection with no network path. */
static void test_no_network_path(void **state)
{
    (void)state;
    struct hfs_rules *r =
        rules_from("{\"version\":1,\"rules\":["
                   "{\"name\":\"ans\",\"match\":{\"path\":\"^/api/\"},\"action\":\"respond\","
                   "\"status\":200},"
                   "{\"name\":\"strip\",\"match\":{},\"action\":\"strip-header\",\"header\":\"X\"}]}");
    struct hfs_request q = http_req("h.test", 80, "GET", "/bytes");
    struct hfs_verdict v;
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_ALLOW);
    assert_int_equal(v.nedits, 1);
    q.no_network = HFS_NONET_VIRTUAL;
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_int_equal(v.http_form, 1);
    assert_int_equal(v.block_status, 403);
    assert_int_equal(v.nedits, 0);
    q.no_network = HFS_NONET_DOWN;
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_int_equal(v.http_form, 0);
    assert_string_equal(v.why, "the server is unreachable and no rule answers it");
    q = http_req("h.test", 80, "GET", "/api/x"); /* answered requests are not touched */
    q.no_network = HFS_NONET_DOWN;
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_RESPOND);
    hfs_rules_free(r);
}

static void test_connection_fate_offline(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from("{\"version\":1,\"offline\":true,\"rules\":["
                                     "{\"name\":\"ans\",\"match\":{\"host\":\"m.test\",\"path\":\"^/x\"},"
                                     "\"action\":\"respond\",\"status\":200}]}");
    struct hfs_request q = resolve_req("huggingface.co", 443);
    fate_of(r, &q, HFS_CONN_VIRTUAL, 0); /* Hub host: the HTTP-form block answers */
    q = connect_req("10.1.1.1", 443, "m.test");
    fate_of(r, &q, HFS_CONN_VIRTUAL, 1); /* a respond rule may answer */
    q = connect_req("10.1.1.2", 443, "other.test");
    fate_of(r, &q, HFS_CONN_REFUSE, 0);
    hfs_rules_free(r);
}

/* A regex the engine gives up on: a block or strip rule counts it as a
 * match (fails closed), an allow rule as no match; a path longer than
 * hfshim keeps ("cut") is treated the same way. */
static void test_regex_errors_fail_closed(void **state)
{
    (void)state;
    struct hfs_rules *r =
        rules_from("{\"version\": 1, \"rules\": ["
                   "{\"name\": \"ok\", \"match\": {\"path\": \"^/x(a+)+$\"}, \"action\": \"allow\"},"
                   "{\"name\": \"no\", \"match\": {\"path\": \"^/(a+)+$\"}, \"action\": \"block\"}]}");
    char p1[64], p2[64];
    memset(p1, 'a', sizeof p1);
    p1[0] = '/';
    p1[62] = 'b';
    p1[63] = 0;
    memcpy(p2, p1, sizeof p2);
    p2[1] = 'x';
    struct hfs_verdict v;
    struct hfs_request q = http_req("example.com", 80, "GET", p1);
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_string_equal(v.rule, "no");
    q = http_req("example.com", 80, "GET", p2); /* allow gives up: no match; block misses at once */
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_ALLOW);
    assert_int_equal(v.rule_index, -1);
    q = http_req("example.com", 80, "GET", "/aaa-public");
    q.cut = 1; /* the rest of the path was not kept */
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_BLOCK);
    hfs_rules_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offline_blocks_hub_name_at_lookup),
        cmocka_unit_test(test_offline_blocks_hub_name_at_connect_even_on_loopback),
        cmocka_unit_test(test_offline_blocks_hub_by_address),
        cmocka_unit_test(test_offline_blocks_non_loopback_address),
        cmocka_unit_test(test_offline_blocks_non_local_lookup),
        cmocka_unit_test(test_offline_allows_loopback),
        cmocka_unit_test(test_offline_blocks_loopback_hf_endpoint),
        cmocka_unit_test(test_online_nothing_blocked_without_rules),
        cmocka_unit_test(test_rule_first_match_wins),
        cmocka_unit_test(test_defer_when_http_fields_unknown),
        cmocka_unit_test(test_defer_when_port_unknown),
        cmocka_unit_test(test_scheme_header_url_predicates),
        cmocka_unit_test(test_rules_apply_after_offline_policy),
        cmocka_unit_test(test_path_with_invalid_utf8_still_matches),
        cmocka_unit_test(test_modifiers_accumulate_until_terminal_rule),
        cmocka_unit_test(test_delays_sum),
        cmocka_unit_test(test_modifiers_skipped_at_connection_level),
        cmocka_unit_test(test_respond_defers_at_connection_level),
        cmocka_unit_test(test_respond_at_http_layers),
        cmocka_unit_test(test_http_form_block_hub_and_override),
        cmocka_unit_test(test_offline_respond_answers_hub_requests),
        cmocka_unit_test(test_offline_block_without_respond),
        cmocka_unit_test(test_v4_mapped_ipv6_is_normalised),
        cmocka_unit_test(test_addr_from_sockaddr_rejects_other_families),
        cmocka_unit_test(test_addr_is_loopback),
        cmocka_unit_test(test_is_hub_reports_unknown_port),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_connection_fate),
        cmocka_unit_test(test_connection_fate_offline),
        cmocka_unit_test(test_no_network_path),
        cmocka_unit_test(test_regex_errors_fail_closed),
        cmocka_unit_test(test_addr_parse_matches_inet_pton),
        cmocka_unit_test(test_addr_text_matches_inet_ntop),
    };
    return cmocka_run_group_tests_name("decide", tests, NULL, NULL);
}
