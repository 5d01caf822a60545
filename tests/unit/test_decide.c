/* test_decide: unit tests of the decision core (shim/core/decide.h): the
 * offline policy at each interception layer, rules in order with first
 * match winning, DEFER when a rule needs HTTP fields the layer cannot see,
 * and addresses as the socket hooks build them (v4-mapped IPv6 included). */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "decide.h"
#include "rules.h"

static struct hfs_rules *rules_from(const char *json)
{
    struct hfs_diag d;
    memset(&d, 0, sizeof d);
    struct hfs_rules *r = hfs_rules_load_buffer("t.json", json, strlen(json), &d);
    if (!r)
        print_message("load error: %s\n", d.first_error);
    assert_non_null(r);
    return r;
}

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

static const char RULES[] = "{\"version\":1,\"rules\":["
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
    struct hfs_rules *r = rules_from("{\"version\":1,\"rules\":["
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
        cmocka_unit_test(test_v4_mapped_ipv6_is_normalised),
        cmocka_unit_test(test_addr_from_sockaddr_rejects_other_families),
        cmocka_unit_test(test_addr_is_loopback),
        cmocka_unit_test(test_is_hub_reports_unknown_port),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests_name("decide", tests, NULL, NULL);
}
