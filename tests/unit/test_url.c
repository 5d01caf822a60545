/* test_url: unit tests of the URL splitter (shim/core/url.h): every part
 * as an offset span, default ports, IPv6 hosts, and each error message. */
#include "unit.h"

#include <string.h>

#include "request.h"
#include "url.h"

static struct hfs_url parse_ok(const char *s)
{
    struct hfs_url u;
    const char *why = NULL;
    int rc = hfs_url_parse(s, strlen(s), &u, &why);
    if (rc)
        print_message("%s: %s\n", s, why);
    assert_int_equal(rc, 0);
    return u;
}

static void span_is(const char *s, struct hfs_span sp, const char *want)
{
    assert_int_equal(sp.len, strlen(want));
    assert_memory_equal(s + sp.off, want, sp.len);
}

static void parse_err(const char *s, const char *want)
{
    struct hfs_url u;
    const char *why = NULL;
    assert_int_equal(hfs_url_parse(s, strlen(s), &u, &why), -1);
    assert_non_null(why);
    assert_string_equal(why, want);
}

static void test_all_parts(void **state)
{
    (void)state;
    const char *s = "https://user:pw@Host.Example:8443/a/b;c?x=1&y=%20#frag/x?y";
    struct hfs_url u = parse_ok(s);
    span_is(s, u.scheme, "https");
    span_is(s, u.userinfo, "user:pw");
    span_is(s, u.host, "Host.Example");
    span_is(s, u.path, "/a/b;c");
    span_is(s, u.query, "x=1&y=%20");
    span_is(s, u.fragment, "frag/x?y");
    assert_int_equal(u.port, 8443);
    assert_int_equal(u.port_given, 1);
    assert_int_equal(u.ipv6, 0);
}

static void test_default_ports(void **state)
{
    (void)state;
    struct hfs_url u = parse_ok("https://huggingface.co");
    assert_int_equal(u.port, 443);
    assert_int_equal(u.port_given, 0);
    assert_int_equal(u.path.len, 0);
    assert_int_equal(u.query.len, 0);
    assert_int_equal(u.fragment.len, 0);
    u = parse_ok("HTTP://h/");
    assert_int_equal(u.port, 80);
    u = parse_ok("HtTpS://h/");
    assert_int_equal(u.port, 443);
    u = parse_ok("ws://h/");
    assert_int_equal(u.port, 0);
    u = parse_ok("https+unix://h/");
    assert_int_equal(u.port, 0);
    u = parse_ok("http://h:1");
    assert_int_equal(u.port, 1);
    u = parse_ok("http://h:65535");
    assert_int_equal(u.port, 65535);
    u = parse_ok("http://h:00080/");
    assert_int_equal(u.port, 80);
}

static void test_query_and_fragment_without_path(void **state)
{
    (void)state;
    const char *s = "https://h?q=1";
    struct hfs_url u = parse_ok(s);
    span_is(s, u.host, "h");
    assert_int_equal(u.path.len, 0);
    assert_int_equal(u.path.off, 9);
    span_is(s, u.query, "q=1");
    s = "https://h#top";
    u = parse_ok(s);
    span_is(s, u.fragment, "top");
    assert_int_equal(u.query.len, 0);
    s = "https://h/p?";
    u = parse_ok(s);
    span_is(s, u.path, "/p");
    assert_int_equal(u.query.len, 0);
    assert_int_equal(u.query.off, strlen(s));
}

static void test_ipv6_host(void **state)
{
    (void)state;
    const char *s = "http://[::1]:8080/x";
    struct hfs_url u = parse_ok(s);
    span_is(s, u.host, "::1");
    assert_int_equal(u.ipv6, 1);
    assert_int_equal(u.port, 8080);
    span_is(s, u.path, "/x");
    s = "https://[2001:db8::5]";
    u = parse_ok(s);
    span_is(s, u.host, "2001:db8::5");
    assert_int_equal(u.port, 443);
}

static void test_userinfo_last_at_wins(void **state)
{
    (void)state;
    const char *s = "http://a@b@evil.example/x@y";
    struct hfs_url u = parse_ok(s);
    span_is(s, u.userinfo, "a@b");
    span_is(s, u.host, "evil.example");
    span_is(s, u.path, "/x@y");
}

static void test_length_is_honoured(void **state)
{
    (void)state;
    const char *s = "https://host.example:8443/path";
    struct hfs_url u;
    assert_int_equal(hfs_url_parse(s, 12, &u, NULL), 0); /* "https://host" */
    span_is(s, u.host, "host");
    assert_int_equal(u.port, 443);
    assert_int_equal(hfs_url_parse(s, 21, &u, NULL), -1); /* "...example:" */
    assert_int_equal(hfs_url_parse(s, 0, &u, NULL), -1);
    /* bytes after n are not read: a NUL-free buffer works */
    char buf[10];
    memcpy(buf, "http://abc", 10);
    assert_int_equal(hfs_url_parse(buf, sizeof buf, &u, NULL), 0);
    span_is(buf, u.host, "abc");
}

static void test_errors(void **state)
{
    (void)state;
    parse_err("", "a URL starts with a scheme such as https://");
    parse_err("1http://h", "a URL starts with a scheme such as https://");
    parse_err("//h/x", "a URL starts with a scheme such as https://");
    parse_err("huggingface.co", "a URL needs '://' after its scheme");
    parse_err("https:/h", "a URL needs '://' after its scheme");
    parse_err("https:", "a URL needs '://' after its scheme");
    parse_err("mailto:a@b", "a URL needs '://' after its scheme");
    parse_err("https://", "the URL has no host");
    parse_err("https:///path", "the URL has no host");
    parse_err("https://user@/x", "the URL has no host");
    parse_err("https://:443/", "the URL has no host");
    parse_err("http://[]:80", "the URL has no host");
    parse_err("http://[::1", "unclosed '[' in the URL's host");
    parse_err("http://[::1/x]", "unclosed '[' in the URL's host");
    parse_err("http://[::1]x/", "unexpected text after ']' in the URL's host");
    parse_err("http://a b/", "invalid character in the URL's host");
    parse_err("http://a%2eb/", "invalid character in the URL's host");
    parse_err("http://a\\b/", "invalid character in the URL's host");
    parse_err("http://a\"b/", "invalid character in the URL's host");
    parse_err("http://a<b>/", "invalid character in the URL's host");
    parse_err("http://a\x7f/", "invalid character in the URL's host");
    parse_err("http://h:/", "empty port after ':' in the URL");
    parse_err("http://h:8a/", "the URL's port is not a number");
    parse_err("http://h:-1/", "the URL's port is not a number");
    parse_err("http://h:80:80/", "the URL's port is not a number");
    parse_err("http://h:65536/", "the URL's port is above 65535");
    parse_err("http://h:99999999999999999999999/", "the URL's port is above 65535");
    parse_err("http://h:0/", "the URL's port is 0");
    parse_err("http://h:000/", "the URL's port is 0");
    struct hfs_url u;
    assert_int_equal(hfs_url_parse("x", 1, &u, NULL), -1); /* why may be NULL */
}

/* hfs_request_set_url: the URL -> request step every HTTP layer shares. */
static void test_request_from_url(void **state)
{
    (void)state;
    struct hfs_request q = { 0 };
    struct hfs_url_parts parts;
    const char *why = NULL;
    assert_int_equal(hfs_request_set_url(&q, "HTTPS://Hub.Example.COM/api/Models?x=1#f", &parts, &why), 0);
    assert_string_equal(q.scheme, "https");
    assert_string_equal(q.host, "hub.example.com");
    assert_int_equal(q.port, 443);
    assert_string_equal(q.path, "/api/Models");
    assert_string_equal(q.query, "x=1");
    assert_int_equal(q.addr.family, 0);
    assert_string_equal(q.ip, "");
    assert_int_equal(hfs_request_set_url(&q, "http://[::1]:8080", &parts, &why), 0);
    assert_string_equal(q.path, "/");
    assert_null(q.query);
    assert_int_equal(q.port, 8080);
    assert_int_not_equal(q.addr.family, 0);
    assert_string_equal(q.ip, "::1");
    assert_int_equal(hfs_request_set_url(&q, "not a url", &parts, &why), -1);
    assert_non_null(why);
    assert_int_equal(hfs_request_set_url(&q, NULL, &parts, &why), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_parts),          cmocka_unit_test(test_request_from_url),
        cmocka_unit_test(test_default_ports),      cmocka_unit_test(test_query_and_fragment_without_path),
        cmocka_unit_test(test_ipv6_host),          cmocka_unit_test(test_userinfo_last_at_wins),
        cmocka_unit_test(test_length_is_honoured), cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("url", tests, NULL, NULL);
}
