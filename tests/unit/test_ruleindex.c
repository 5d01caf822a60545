/* test_ruleindex: the rule index (shim/core/ruleindex.h) never changes a
 * verdict. A rules file with every kind of host pattern (names, "*.suffix",
 * globs with and without a dotted literal tail, addresses, ports, "@hub",
 * none) and of method list decides thousands of requests at every layer
 * twice, with the index and with every rule tried, and the verdicts must
 * be the same; and the index must leave rules out (or it tests nothing). */
#include "unit.h"
#include "unit_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "ruleindex.h"
#include "rules.h"
#include "rules_types.h"

static const char *const host_pats[] = {
    "api.example.com",
    "API.Example.com:8443",
    "*.example.com",
    "*.example.com:443",
    "cdn-?.[a-c]*.example.org",
    "cdn-?.[a-c]*.example.org:8080",
    "h[0-9]",
    "*x.example.net",
    "db?.example.com",
    "x*.Example.COM",
    "10.0.0.1",
    "10.0.0.1:8000",
    "[::1]:5000",
    "::1",
    "127.0.0.1",
    "127.0.0.1:20001",
    "huggingface.co",
    "*.hf.co",
    "[fd00::1]",
    "example.com.",
    "*.co",
    "@hub",
    NULL, /* no host condition */
};
#define NPATS (sizeof host_pats / sizeof host_pats[0])

static const char *const method_specs[] = {
    NULL, "\"GET\"", "[\"PUT\",\"POST\"]", "[\"PROPFIND\",\"GET\"]", "\"PROPFIND\"", "[\"HEAD\",\"OPTIONS\",\"PATCH\"]",
};
#define NMETH (sizeof method_specs / sizeof method_specs[0])

/* Mostly modifiers (they let the next rules decide, so later rules count
 * too), some terminal rules, a path condition now and then. */
static void append_rule(char *buf, size_t len, size_t i, const char *host, const char *methods)
{
    char match[256] = "", act[160];
    size_t o = 0;
    if (host)
        o += (size_t)snprintf(match + o, sizeof match - o, "\"host\":\"%s\"", host);
    if (methods)
        o += (size_t)snprintf(match + o, sizeof match - o, "%s\"method\":%s", o ? "," : "", methods);
    if (i % 9 == 4)
        snprintf(match + o, sizeof match - o, "%s\"path\":\"^/v%zu/\"", o ? "," : "", i % 3);
    if (i % 11 == 5)
        snprintf(act, sizeof act, "\"action\":\"block\"");
    else if (i % 13 == 7)
        snprintf(act, sizeof act, "\"action\":\"allow\"");
    else if (i % 2)
        snprintf(act, sizeof act, "\"action\":\"delay\",\"ms\":%zu", 1 + i);
    else
        snprintf(act, sizeof act, "\"action\":\"strip-header\",\"header\":\"X-H%zu\"", i);
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, "%s{\"name\":\"r%zu\",\"match\":{%s},%s}", i ? "," : "", i, match, act);
}

static struct hfs_rules *many_rules(void)
{
    size_t len = 64 * 1024;
    char *json = malloc(len);
    assert_non_null(json);
    snprintf(json, len, "{\"version\":1,\"rules\":[");
    size_t i = 0;
    for (size_t m = 0; m < NMETH; m++)
        for (size_t h = 0; h < NPATS; h++, i++)
            append_rule(json, len, i, host_pats[h], method_specs[m]);
    strcat(json, "]}");
    struct hfs_rules *r = rules_from(json);
    free(json);
    return r;
}

static const char *const req_hosts[] = {
    "api.example.com",
    "API.EXAMPLE.COM.",
    "x.example.com",
    "deep.x.example.com",
    "dba.example.com",
    "cdn-1.b.example.org",
    "cdn-1.z.example.org",
    "h5",
    "hx",
    "ax.example.net",
    "x.example.net",
    "10.0.0.1",
    "127.0.0.1",
    "::1",
    "fd00::1",
    "huggingface.co",
    "cdn-lfs.hf.co",
    "example.com",
    "other.co",
    "nomatch.test",
    NULL,
};
static const int req_ports[] = { 0, 80, 443, 8443, 8080, 8000, 5000, 20001 };
static const char *const req_methods[] = { "GET", "POST", "PROPFIND", "PATCH", "HEAD", NULL };
static const char *const req_ips[] = { "", "10.0.0.1", "127.0.0.1", "::1" };

static void same_verdict(const struct hfs_verdict *a, const struct hfs_verdict *b, const char *what)
{
    int same = a->kind == b->kind && a->rule_index == b->rule_index && a->action == b->action &&
               strcmp(a->rule, b->rule) == 0 && strcmp(a->why, b->why) == 0 && a->nedits == b->nedits &&
               a->delay_ms == b->delay_ms && a->http_form == b->http_form && a->block_status == b->block_status &&
               a->fate == b->fate && a->reset_after == b->reset_after && a->throttle_bps == b->throttle_bps &&
               a->http_rules == b->http_rules && a->http_strict == b->http_strict && a->answerable == b->answerable &&
               a->hub == b->hub && a->answer == b->answer;
    for (size_t i = 0; same && i < a->nedits; i++)
        same = a->edits[i] == b->edits[i];
    if (!same)
        print_message("%s: indexed %s/%d \"%s\" (%zu edits, %d ms, fate %d) vs every rule %s/%d \"%s\" (%zu edits, "
                      "%d ms, fate %d)\n",
                      what, hfs_verdict_name(a->kind), a->rule_index, a->why, a->nedits, a->delay_ms, (int)a->fate,
                      hfs_verdict_name(b->kind), b->rule_index, b->why, b->nedits, b->delay_ms, (int)b->fate);
    assert_true(same);
}

/* How many rules the index proposes for a request (the decision core's
 * own call), to show it leaves some out. */
static size_t candidates(const struct hfs_rules *r, const char *host, int port, const char *method)
{
    uint64_t bits[HFS_RULEINDEX_MAX / 64] = { 0 };
    struct hfs_hostkey hk, ip;
    struct hfs_addr none = { 0 };
    hfs_hostkey_init(&hk, host);
    hfs_hostkey_init(&ip, NULL);
    hfs_ruleindex_candidates(r->index, &hk, &ip, &none, port, method ? hfs_method_bit(method) : 0, 0, bits);
    size_t n = 0;
    for (size_t w = 0; w < (r->nrules + 63) / 64; w++)
        n += (size_t)__builtin_popcountll(bits[w]);
    return n;
}

static void test_index_leaves_rules_out(void **state)
{
    (void)state;
    struct hfs_rules *r = many_rules();
    assert_non_null(r->index);
    size_t all = candidates(r, "nomatch.test", 443, NULL);
    assert_true(all < r->nrules / 2); /* no-host rules, "@hub"-less globs without a dot, suffixes of ".test" */
    /* a port leaves out the rules on other ports; a method those that do not name it */
    assert_true(candidates(r, "api.example.com", 8443, NULL) > candidates(r, "api.example.com", 80, NULL));
    assert_true(candidates(r, "api.example.com", 0, NULL) >= candidates(r, "api.example.com", 8443, NULL));
    assert_true(candidates(r, "api.example.com", 443, "PUT") < candidates(r, "api.example.com", 443, NULL));
    /* globs are filed under their literal tail's ".suffix" */
    assert_true(candidates(r, "cdn-1.b.example.org", 8080, NULL) > all);
    hfs_rules_free(r);
}

static void test_index_never_changes_a_verdict(void **state)
{
    (void)state;
    struct hfs_rules *r = many_rules();
    struct hfs_ruleindex *index = r->index;
    assert_non_null(index);
    static const char tok[] = "Bearer hf_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefgh";
    struct hfs_header hd[2] = { { "Authorization", 13, tok, sizeof tok - 1 }, { "X-H2", 4, "v", 1 } };
    size_t n = 0;
    for (int layer = 0; layer <= HFS_LAYER_EXPLAIN; layer++)
        for (size_t h = 0; h < sizeof req_hosts / sizeof req_hosts[0]; h++)
            for (size_t p = 0; p < sizeof req_ports / sizeof req_ports[0]; p++)
                for (size_t m = 0; m < sizeof req_methods / sizeof req_methods[0]; m++)
                    for (size_t a = 0; a < sizeof req_ips / sizeof req_ips[0]; a++) {
                        struct hfs_request q;
                        memset(&q, 0, sizeof q);
                        q.layer = (enum hfs_layer)layer;
                        q.host = req_hosts[h];
                        q.port = req_ports[p];
                        const char *ip = req_ips[a][0] ? req_ips[a] : req_hosts[h];
                        if (ip && hfs_addr_parse(ip, &q.addr) == 0)
                            snprintf(q.ip, sizeof q.ip, "%s", ip);
                        if (layer >= HFS_LAYER_HTTP && req_methods[m]) {
                            q.http_known = 1;
                            q.method = req_methods[m];
                            q.scheme = p % 2 ? "https" : "http";
                            q.path = m % 2 ? "/v1/x" : "/v2/y";
                            q.url = "http://h/v1/x";
                            q.headers = hd;
                            q.nheaders = 2;
                        }
                        struct hfs_verdict with, without;
                        r->index = index;
                        hfs_decide(r, &q, &with);
                        r->index = NULL;
                        hfs_decide(r, &q, &without);
                        char what[200];
                        snprintf(what, sizeof what, "layer %d host %s port %d method %s ip %s", layer,
                                 q.host ? q.host : "-", q.port, q.method ? q.method : "-", q.ip);
                        same_verdict(&with, &without, what);
                        n++;
                    }
    r->index = index;
    assert_true(n > 20000);
    hfs_rules_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_leaves_rules_out),
        cmocka_unit_test(test_index_never_changes_a_verdict),
    };
    return cmocka_run_group_tests_name("ruleindex", tests, NULL, NULL);
}
