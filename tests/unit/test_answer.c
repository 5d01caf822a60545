/* test_answer: unit tests of the synthetic responses (shim/core/answer.h):
 * a respond rule's status, headers and body byte for byte; the HTTP-form
 * block (403, X-Error-Message naming hfshim and the rule, a JSON body),
 * the offline policy's reason, rule names escaped so that no CR/LF reaches
 * a header and the body stays valid JSON, reason phrases, header lookup. */
#include "unit.h"
#include "unit_rules.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "decide.h"
#include "rules.h"

static struct hfs_verdict decide_curl(const struct hfs_rules *r, const char *host, const char *path)
{
    struct hfs_request q;
    struct hfs_verdict v;
    memset(&q, 0, sizeof q);
    q.layer = HFS_LAYER_CURL;
    q.host = host;
    q.port = 443;
    q.method = "GET";
    q.scheme = "https";
    q.path = path;
    q.http_known = 1;
    hfs_decide(r, &q, &v);
    return v;
}

static void assert_header(const struct hfs_answer *a, size_t i, const char *name, const char *value)
{
    assert_true(i < a->nheaders);
    assert_int_equal(a->headers[i].name_len, strlen(name));
    assert_memory_equal(a->headers[i].name, name, strlen(name));
    assert_int_equal(a->headers[i].value_len, strlen(value));
    assert_memory_equal(a->headers[i].value, value, strlen(value));
}

/* The body of a block answer is JSON whose "error" is the message. */
static void assert_json_error(const struct hfs_answer *a, const char *want)
{
    cJSON *j = cJSON_ParseWithLength(a->body, a->body_len);
    assert_non_null(j);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    assert_true(cJSON_IsString(e));
    assert_string_equal(e->valuestring, want);
    cJSON_Delete(j);
}

/* ---- respond ---------------------------------------------------------- */

static void test_respond_fields_byte_exact(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from("{\"version\":1,\"rules\":[{\"name\":\"gone\",\"match\":{\"path\":\"^/api/\"},"
                                     "\"action\":\"respond\",\"status\":404,\"headers\":{\"Content-Type\":"
                                     "\"application/json\",\"X-Error-Code\":\"RepoNotFound\",\"X-Empty\":\"\"},"
                                     "\"body\":\"{\\\"error\\\":\\\"Repository not found\\\"}\"}]}");
    struct hfs_verdict v = decide_curl(r, "huggingface.co", "/api/models/x");
    assert_int_equal(v.kind, HFS_V_RESPOND);
    struct hfs_answer a;
    memset(&a, 0x55, sizeof a);
    hfs_answer_from_verdict(&v, &a);
    assert_int_equal(a.status, 404);
    assert_string_equal(a.reason, "Not Found");
    assert_int_equal(a.nheaders, 3); /* the rule's headers only, in file order */
    assert_header(&a, 0, "Content-Type", "application/json");
    assert_header(&a, 1, "X-Error-Code", "RepoNotFound");
    assert_header(&a, 2, "X-Empty", "");
    assert_int_equal(a.body_len, 32);
    assert_memory_equal(a.body, "{\"error\":\"Repository not found\"}", 32);
    /* the answer points into the rules */
    assert_ptr_equal(a.body, r->rules[0].args.body);
    assert_ptr_equal(a.headers[1].value, r->rules[0].args.headers[1].value);
    size_t len = 99;
    assert_string_equal(hfs_answer_header(&a, "x-error-code", &len), "RepoNotFound");
    assert_int_equal(len, 12);
    assert_string_equal(hfs_answer_header(&a, "CONTENT-TYPE", NULL), "application/json");
    assert_null(hfs_answer_header(&a, "X-Error-Message", &len));
    assert_null(hfs_answer_header(&a, "Content", &len)); /* a prefix is not the name */
    assert_int_equal(len, 12);                           /* untouched when not found */
    hfs_rules_free(r);
}

static void test_respond_defaults(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from("{\"version\":1,\"rules\":[{\"action\":\"respond\"}]}");
    struct hfs_verdict v = decide_curl(r, "example.org", "/");
    assert_int_equal(v.kind, HFS_V_RESPOND);
    struct hfs_answer a;
    hfs_answer_from_verdict(&v, &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.reason, "OK");
    assert_int_equal(a.nheaders, 0);
    assert_non_null(a.body);
    assert_int_equal(a.body_len, 0);
    hfs_rules_free(r);
}

static void test_respond_binary_body_and_unknown_status(void **state)
{
    (void)state;
    static char body[] = "a\0b\r\n";
    struct hfs_kv kv = { "X-Bin", "1" };
    struct hfs_rule rule;
    memset(&rule, 0, sizeof rule);
    rule.name = "bin";
    rule.action = HFS_ACT_RESPOND;
    rule.args.status = 418;
    rule.args.headers = &kv;
    rule.args.nheaders = 1;
    rule.args.body = body;
    rule.args.body_len = 5;
    struct hfs_verdict v;
    memset(&v, 0, sizeof v);
    v.kind = HFS_V_RESPOND;
    v.rule = "bin";
    v.answer = &rule;
    struct hfs_answer a;
    hfs_answer_from_verdict(&v, &a);
    assert_int_equal(a.status, 418);
    assert_string_equal(a.reason, "Status");
    assert_int_equal(a.body_len, 5);
    assert_memory_equal(a.body, "a\0b\r\n", 5);
    assert_int_equal(a.nheaders, 1);
    assert_header(&a, 0, "X-Bin", "1");
    /* status 0 (a hand-built rule) means 200 */
    rule.args.status = 0;
    hfs_answer_from_verdict(&v, &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.reason, "OK");
}

/* ---- HTTP-form blocks ------------------------------------------------- */

static void test_block_answer_byte_exact(void **state)
{
    (void)state;
    struct hfs_rules *r = rules_from("{\"version\":1,\"rules\":[{\"name\":\"no-hub\",\"match\":{\"host\":\"@hub\"},"
                                     "\"action\":\"block\"},{\"name\":\"legal\",\"match\":{\"path\":\"^/x\"},"
                                     "\"action\":\"block\",\"form\":\"http\",\"status\":429}]}");
    struct hfs_verdict v = decide_curl(r, "huggingface.co", "/api/models");
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_int_equal(v.http_form, 1);
    struct hfs_answer a;
    memset(&a, 0x55, sizeof a);
    hfs_answer_from_verdict(&v, &a);
    assert_int_equal(a.status, 403);
    assert_string_equal(a.reason, "Forbidden");
    assert_int_equal(a.nheaders, 2);
    assert_header(&a, 0, "Content-Type", "application/json");
    assert_header(&a, 1, "X-Error-Message", "hfshim: blocked by rule no-hub");
    assert_null(hfs_answer_header(&a, "X-Error-Code", NULL)); /* Hub clients must not read it as "not found" */
    static const char want[] = "{\"error\": \"hfshim: blocked by rule no-hub\"}\n";
    assert_int_equal(a.body_len, sizeof want - 1);
    assert_memory_equal(a.body, want, sizeof want - 1);
    assert_ptr_equal(a.body, a.json);
    assert_string_equal(a.msg, "hfshim: blocked by rule no-hub");
    /* the rule's status */
    v = decide_curl(r, "pypi.org", "/x/y");
    assert_int_equal(v.rule_index, 1);
    hfs_answer_from_verdict(&v, &a);
    assert_int_equal(a.status, 429);
    assert_string_equal(a.reason, "Too Many Requests");
    assert_header(&a, 1, "X-Error-Message", "hfshim: blocked by rule legal");
    assert_string_equal(a.json, "{\"error\": \"hfshim: blocked by rule legal\"}\n");
    hfs_rules_free(r);
}

static void test_offline_block_answer_says_why(void **state)
{
    (void)state;
    struct hfs_rules *r = hfs_rules_safe_default();
    struct hfs_verdict v = decide_curl(r, "cdn-lfs.hf.co", "/repos/a/b");
    assert_int_equal(v.kind, HFS_V_BLOCK);
    assert_int_equal(v.rule_index, -1);
    assert_int_equal(v.http_form, 1);
    struct hfs_answer a;
    hfs_answer_from_verdict(&v, &a);
    assert_int_equal(a.status, 403);
    assert_string_equal(a.reason, "Forbidden");
    assert_header(&a, 1, "X-Error-Message", "hfshim: blocked by rule offline (Hugging Face Hub host, offline mode)");
    assert_string_equal(a.json,
                        "{\"error\": \"hfshim: blocked by rule offline (Hugging Face Hub host, offline mode)\"}\n");
    assert_int_equal(a.body_len, strlen(a.json));
    hfs_rules_free(r);
}

/* A rule name may hold quotes, backslashes and (through JSON escapes)
 * control characters: the header gets the JSON-escaped form, so no CR/LF
 * can end the header line, and the body stays valid JSON. */
static void test_rule_name_is_escaped(void **state)
{
    (void)state;
    /* control characters in a name are a load error (test_rules); quotes
     * and backslashes are escaped */
    struct hfs_rules *r = rules_from("{\"version\":1,\"rules\":[{\"name\":\"say \\\"hi\\\"\\\\ X-Evil: 1.\","
                                     "\"action\":\"block\",\"form\":\"http\"}]}");
    assert_string_equal(r->rules[0].name, "say \"hi\"\\ X-Evil: 1.");
    struct hfs_verdict v = decide_curl(r, "example.org", "/");
    assert_int_equal(v.kind, HFS_V_BLOCK);
    struct hfs_answer a;
    hfs_answer_from_verdict(&v, &a);
    static const char msg[] = "hfshim: blocked by rule say \\\"hi\\\"\\\\ X-Evil: 1.";
    assert_header(&a, 1, "X-Error-Message", msg);
    char want[300];
    snprintf(want, sizeof want, "{\"error\": \"%s\"}\n", msg);
    assert_string_equal(a.json, want);
    assert_json_error(&a, "hfshim: blocked by rule say \"hi\"\\ X-Evil: 1.");
    hfs_rules_free(r);
}

/* A long name is cut, never in the middle of an escape. */
static void test_long_rule_name_is_cut_cleanly(void **state)
{
    (void)state;
    char name[400];
    struct hfs_verdict v;
    struct hfs_answer a;
    memset(&v, 0, sizeof v);
    v.kind = HFS_V_BLOCK;
    v.http_form = 1;
    v.rule_index = 0;
    v.why = "blocked by rule";
    v.rule = name;
    memset(name, 'a', 300);
    name[300] = 0;
    hfs_answer_from_verdict(&v, &a);
    assert_int_equal(strlen(a.msg), 24 + 199);
    assert_memory_equal(a.msg, "hfshim: blocked by rule aaaa", 28);
    assert_int_equal(a.msg[strlen(a.msg) - 1], 'a');
    assert_int_equal(a.body_len, strlen(a.msg) + 14);
    assert_json_error(&a, a.msg);
    /* quotes take two bytes each: 99 fit, then a clean end */
    memset(name, '"', 150);
    name[150] = 0;
    hfs_answer_from_verdict(&v, &a);
    assert_int_equal(strlen(a.msg), 24 + 2 * 99);
    assert_memory_equal(a.msg + strlen(a.msg) - 4, "\\\"\\\"", 4);
    char want[200];
    memset(want, '"', 99);
    want[99] = 0;
    char full[300];
    snprintf(full, sizeof full, "hfshim: blocked by rule %s", want);
    assert_json_error(&a, full);
    /* an escape that just fits (192 + 6 bytes), then one more byte and the NUL */
    memset(name, 'b', 192);
    name[192] = '\x01';
    name[193] = 'c';
    name[194] = 0;
    hfs_answer_from_verdict(&v, &a);
    assert_int_equal(strlen(a.msg), 24 + 192 + 6 + 1);
    assert_string_equal(a.msg + 24 + 190, "bb\\u0001c");
    memset(full, 'b', 192);
    full[192] = '\x01';
    full[193] = 'c';
    full[194] = 0;
    char want2[400];
    snprintf(want2, sizeof want2, "hfshim: blocked by rule %s", full);
    assert_json_error(&a, want2);
}

static void test_block_verdict_without_rule_name(void **state)
{
    (void)state;
    struct hfs_verdict v;
    struct hfs_answer a;
    memset(&v, 0, sizeof v);
    v.kind = HFS_V_BLOCK;
    v.http_form = 1;
    v.rule_index = 3;
    hfs_answer_from_verdict(&v, &a);
    assert_int_equal(a.status, 403);
    assert_string_equal(a.msg, "hfshim: blocked by rule ?");
    /* a RESPOND verdict without its rule is answered as a block */
    v.kind = HFS_V_RESPOND;
    v.rule = "r";
    v.block_status = 503;
    hfs_answer_from_verdict(&v, &a);
    assert_int_equal(a.status, 503);
    assert_string_equal(a.reason, "Service Unavailable");
    assert_string_equal(a.msg, "hfshim: blocked by rule r");
}

static void test_reason_phrases(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *reason;
    } t[] = {
        { 100, "Continue" },
        { 200, "OK" },
        { 201, "Created" },
        { 204, "No Content" },
        { 206, "Partial Content" },
        { 301, "Moved Permanently" },
        { 302, "Found" },
        { 304, "Not Modified" },
        { 307, "Temporary Redirect" },
        { 308, "Permanent Redirect" },
        { 400, "Bad Request" },
        { 401, "Unauthorized" },
        { 403, "Forbidden" },
        { 404, "Not Found" },
        { 408, "Request Timeout" },
        { 409, "Conflict" },
        { 416, "Range Not Satisfiable" },
        { 429, "Too Many Requests" },
        { 500, "Internal Server Error" },
        { 502, "Bad Gateway" },
        { 503, "Service Unavailable" },
        { 504, "Gateway Timeout" },
        { 0, "Status" },
        { 299, "Status" },
        { 451, "Unavailable For Legal Reasons" },
        { 599, "Status" },
        { -1, "Status" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        assert_string_equal(hfs_reason_phrase(t[i].status), t[i].reason);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_respond_fields_byte_exact),
        cmocka_unit_test(test_respond_defaults),
        cmocka_unit_test(test_respond_binary_body_and_unknown_status),
        cmocka_unit_test(test_block_answer_byte_exact),
        cmocka_unit_test(test_offline_block_answer_says_why),
        cmocka_unit_test(test_rule_name_is_escaped),
        cmocka_unit_test(test_long_rule_name_is_cut_cleanly),
        cmocka_unit_test(test_block_verdict_without_rule_name),
        cmocka_unit_test(test_reason_phrases),
    };
    return cmocka_run_group_tests_name("answer", tests, NULL, NULL);
}
