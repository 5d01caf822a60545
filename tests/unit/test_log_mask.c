/* test_log_mask: unit tests of token masking (hfs_mask_token in
 * shim/core/log.h) for empty, short, boundary and long tokens, plus the
 * text (every kind of HTTP line, a line cut at 4000 bytes) and JSON log
 * line formats written to a temporary file. */
#include "unit.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define ELLIPSIS "\xe2\x80\xa6"

static void mask(const char *tok, size_t len, const char *want)
{
    char out[64];
    memset(out, 'x', sizeof out);
    hfs_mask_token(tok, len, out, sizeof out);
    assert_string_equal(out, want);
}

static void test_mask_long_token(void **state)
{
    (void)state;
    const char *tok = "hf_abcdefghijklmnopqrstuvwxyz0123456789";
    mask(tok, strlen(tok), "hf_ab" ELLIPSIS "89");
    /* the middle never shows, whatever the length */
    for (size_t len = 20; len <= strlen(tok); len++) {
        char out[64];
        hfs_mask_token(tok, len, out, sizeof out);
        assert_int_equal(strlen(out), 5 + 3 + 2);
        assert_memory_equal(out, tok, 5);
        assert_memory_equal(out + 8, tok + len - 2, 2);
    }
}

static void test_mask_boundaries(void **state)
{
    (void)state;
    mask("hf_abcdefghijklmnopq", 20, "hf_ab" ELLIPSIS "pq");
    mask("hf_abcdefghijklmnop", 19, "hf_" ELLIPSIS);
    mask("hf_abcde", 8, "hf_" ELLIPSIS);
    mask("hf_abcd", 7, ELLIPSIS);
    mask("x", 1, ELLIPSIS);
    mask("", 0, ELLIPSIS);
    mask(NULL, 0, ELLIPSIS);
    /* only len bytes count */
    mask("hf_abcdefSECRET", 8, "hf_" ELLIPSIS);
    mask("hf_abcdefSECRET", 7, ELLIPSIS);
}

static void test_mask_small_output(void **state)
{
    (void)state;
    char out[6];
    hfs_mask_token("hf_abcdefgh", 11, out, sizeof out); /* "hf_…" needs 7 bytes */
    assert_string_equal(out, "");
    char seven[7];
    hfs_mask_token("hf_abcdefgh", 11, seven, sizeof seven);
    assert_string_equal(seven, "hf_" ELLIPSIS);
    char one[1] = { 'z' };
    hfs_mask_token("hf_abcdefgh", 11, one, 1);
    assert_int_equal(one[0], 0);
    char none[2] = "q";
    hfs_mask_token("hf_abcdefgh", 11, none, 0); /* nothing written */
    assert_string_equal(none, "q");
}

static void temp_path(char *path, size_t len)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, len, "%s/hfs_test_log_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 16384);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 16383, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void test_text_line_to_file(void **state)
{
    (void)state;
    char path[512];
    temp_path(path, sizeof path);
    hfs_log_setup(path, 0, "python3");
    assert_true(hfs_log_enabled());
    assert_false(hfs_log_is_json());
    struct hfs_log_event e = { .kind = "block",
                               .layer = "connect",
                               .host = "huggingface.co",
                               .ip = "1.2.3.4",
                               .port = 443,
                               .rule = "offline",
                               .why = "Hub host",
                               .error = "ECONNREFUSED" };
    hfs_log_event(&e);
    struct hfs_log_event e6 = { .kind = "block", .layer = "connect", .ip = "::1", .port = 8080, .rule = "r" };
    hfs_log_event(&e6);
    hfs_log_msg("info", "summary: %d blocked", 2);
    char *got = read_all(path);
    char want[512];
    long pid = (long)getpid();
    snprintf(
        want, sizeof want,
        "hfshim[%ld] python3: blocked connect huggingface.co:443 (1.2.3.4) (rule offline: Hub host) -> ECONNREFUSED\n"
        "hfshim[%ld] python3: blocked connect [::1]:8080 (rule r)\n"
        "hfshim[%ld] python3: summary: 2 blocked\n",
        pid, pid, pid);
    assert_string_equal(got, want);
    free(got);
    unlink(path);
    hfs_log_setup("off", 0, NULL);
    assert_false(hfs_log_enabled());
    hfs_log_setup(NULL, 0, NULL);
    assert_true(hfs_log_enabled());
}

/* Every kind of HTTP line, as the printf formats wrote them before the
 * lines were put together without printf, and a line cut at 4000 bytes. */
static void test_text_http_lines_to_file(void **state)
{
    (void)state;
    char path[512];
    temp_path(path, sizeof path);
    hfs_log_setup(path, 0, "curl");
    struct hfs_log_event ev[] = {
        { .kind = "block", .layer = "http", .method = "GET", .url = "http://h/a", .rule = "r1", .why = "w" },
        { .kind = "respond", .method = "HEAD", .url = "http://h/b", .status = 404, .rule = "r2" },
        { .kind = "strip-auth", .method = "GET", .url = "http://h/c", .token = "hf_ab" ELLIPSIS "yz", .rule = "r3" },
        { .kind = "strip-auth", .url = "http://h/d", .error = "e" },
        { .kind = "set-auth", .method = "POST", .url = "http://h/e", .rule = "r5", .why = "scoped" },
        { .kind = "strip-header", .method = "GET", .url = "http://h/f", .header = "X-A", .rule = "r6" },
        { .kind = "set-header", .method = "GET", .url = "http://h/g", .rule = "r7" },
        { .kind = "delay", .method = "GET", .url = "http://h/h", .delay_ms = 1500, .rule = "d" },
        { .kind = "hang", .method = "PUT", .url = "http://h/i", .rule = "h", .why = "x", .error = "y" },
    };
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++)
        hfs_log_event(&ev[i]);
    static char longurl[5000];
    memset(longurl, 'u', sizeof longurl - 1);
    struct hfs_log_event cut = { .kind = "block", .method = "GET", .url = longurl, .rule = "r" };
    hfs_log_event(&cut);
    char *got = read_all(path);
    char want[4096 * 2];
    long pid = (long)getpid();
    int n = snprintf(want, sizeof want,
                     "hfshim[%ld] curl: blocked GET http://h/a (rule r1: w)\n"
                     "hfshim[%ld] curl: answered HEAD http://h/b with 404 (rule r2)\n"
                     "hfshim[%ld] curl: stripped Authorization (hf_ab" ELLIPSIS "yz) from GET http://h/c (rule r3)\n"
                     "hfshim[%ld] curl: stripped Authorization (" ELLIPSIS ") from ? http://h/d (rule ?) -> e\n"
                     "hfshim[%ld] curl: set Authorization on POST http://h/e (rule r5: scoped)\n"
                     "hfshim[%ld] curl: stripped header X-A from GET http://h/f (rule r6)\n"
                     "hfshim[%ld] curl: set header ? on GET http://h/g (rule r7)\n"
                     "hfshim[%ld] curl: delayed GET http://h/h by 1500 ms (rule d)\n"
                     "hfshim[%ld] curl: hang PUT http://h/i (rule h: x) -> y\n",
                     pid, pid, pid, pid, pid, pid, pid, pid, pid);
    size_t head = (size_t)snprintf(want + n, sizeof want - (size_t)n, "hfshim[%ld] curl: blocked GET ", pid);
    memset(want + n + head, 'u', 4000 - head);
    memcpy(want + n + 4000, "\n", 2);
    assert_int_equal(strlen(got), strlen(want));
    assert_string_equal(got, want);
    free(got);
    unlink(path);
    hfs_log_setup(NULL, 0, NULL);
}

static void test_json_line_to_file(void **state)
{
    (void)state;
    char path[512];
    temp_path(path, sizeof path);
    hfs_log_setup(path, 1, "curl");
    assert_true(hfs_log_is_json());
    struct hfs_log_event e = { .kind = "block",
                               .layer = "http",
                               .host = "a\"b\\c\n.example",
                               .port = 80,
                               .rule = "no-metrics",
                               .why = "blocked by rule" };
    hfs_log_event(&e);
    char *got = read_all(path);
    unlink(path);
    hfs_log_setup(NULL, 0, NULL);
    size_t n = strlen(got);
    assert_true(n > 0);
    assert_int_equal(got[n - 1], '\n');
    assert_ptr_equal(strchr(got, '\n'), got + n - 1); /* one line */
    cJSON *j = cJSON_Parse(got);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "program")->valuestring, "curl");
    assert_string_equal(cJSON_GetObjectItem(j, "event")->valuestring, "block");
    assert_string_equal(cJSON_GetObjectItem(j, "layer")->valuestring, "http");
    assert_string_equal(cJSON_GetObjectItem(j, "host")->valuestring, "a\"b\\c\n.example");
    assert_int_equal(cJSON_GetObjectItem(j, "port")->valueint, 80);
    assert_string_equal(cJSON_GetObjectItem(j, "rule")->valuestring, "no-metrics");
    assert_string_equal(cJSON_GetObjectItem(j, "reason")->valuestring, "blocked by rule");
    assert_int_equal(cJSON_GetObjectItem(j, "pid")->valueint, (int)getpid());
    assert_null(cJSON_GetObjectItem(j, "ip"));
    cJSON_Delete(j);
    free(got);
}

static void safe(const char *url, const char *want)
{
    char out[512];
    hfs_log_safe_url(url, out, sizeof out);
    assert_string_equal(out, want);
}

/* Tokens in URLs, plain or percent-encoded, HF and org tokens (issue 17). */
static void test_safe_url_masks_encoded_tokens(void **state)
{
    (void)state;
    safe("http://h/p?t=hf_abcdefghijklmnopqrstuvwxyz0123456789&x=1", "http://h/p?t=hf_ab" ELLIPSIS "89&x=1");
    safe("http://h/p?t=hf%5Fabcdefghijklmnopqrstuvwxyz0123456789", "http://h/p?t=hf_ab" ELLIPSIS "89");
    safe("http://h/p?t=hf%5fabcdefghijklmnopqrstuvwxyz0123456789", "http://h/p?t=hf_ab" ELLIPSIS "89");
    safe("http://h/p?t=%68%66%5F%61bcdefghijklmnopqrstuvwxyz0123456789", "http://h/p?t=hf_ab" ELLIPSIS "89");
    safe("http://h/p?k=api_org_abcdefghijklmnopqrstuvwxyz0123", "http://h/p?k=api_o" ELLIPSIS "23");
    safe("http://h/p?k=api%5Forg%5Fabcdefghijklmnopqrstuvwxyz0123", "http://h/p?k=api_o" ELLIPSIS "23");
    safe("http://u:hf_secretsecretsecretsecret@h/x", "http://h/x");
    /* short or not a token: left as it is */
    safe("http://h/p?t=hf%5Fshort&a=api_org_x", "http://h/p?t=hf%5Fshort&a=api_org_x");
    safe("http://h/hf_%zz/api_", "http://h/hf_%zz/api_");
    safe("http://h/p?t=hf%255Fabcdefghijklmnopqrstuvwxyz0123456789",
         "http://h/p?t=hf%255Fabcdefghijklmnopqrstuvwxyz0123456789"); /* doubly encoded: not a token */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_long_token),         cmocka_unit_test(test_safe_url_masks_encoded_tokens),
        cmocka_unit_test(test_mask_boundaries),         cmocka_unit_test(test_mask_small_output),
        cmocka_unit_test(test_text_line_to_file),       cmocka_unit_test(test_json_line_to_file),
        cmocka_unit_test(test_text_http_lines_to_file),
    };
    return cmocka_run_group_tests_name("log_mask", tests, NULL, NULL);
}
