/* test_hostpat: unit tests of host[:port] patterns (shim/core/hostpat.h):
 * which kind each pattern compiles to, name and request matching, the
 * exact compile errors, and HF_ENDPOINT host:port extraction. */
#include "unit.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "hostpat.h"

static struct hfs_hostpat compile_ok(const char *text)
{
    struct hfs_hostpat p;
    char err[300] = "";
    int rc = hfs_hostpat_compile(&p, text, err, sizeof err);
    if (rc)
        print_message("%s: %s\n", text, err);
    assert_int_equal(rc, 0);
    return p;
}

static void compile_err(const char *text, const char *want)
{
    struct hfs_hostpat p;
    char err[300] = "";
    assert_int_equal(hfs_hostpat_compile(&p, text, err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_null(p.text);
    assert_null(p.host);
    assert_null(p.re);
}

static int name_matches(const char *pattern, const char *name)
{
    struct hfs_hostpat p = compile_ok(pattern);
    int m = hfs_hostpat_match_name(&p, name);
    hfs_hostpat_free(&p);
    return m;
}

static void test_kinds(void **state)
{
    (void)state;
    struct hfs_hostpat p = compile_ok("HuggingFace.CO");
    assert_int_equal(p.kind, HFS_HP_NAME);
    assert_string_equal(p.text, "HuggingFace.CO");
    assert_string_equal(p.host, "huggingface.co");
    assert_int_equal(p.hostlen, 14);
    assert_int_equal(p.port, 0);
    hfs_hostpat_free(&p);
    p = compile_ok("*.hf.co");
    assert_int_equal(p.kind, HFS_HP_SUFFIX);
    assert_string_equal(p.host, ".hf.co");
    hfs_hostpat_free(&p);
    p = compile_ok("127.0.0.1:8080");
    assert_int_equal(p.kind, HFS_HP_ADDR);
    assert_int_equal(p.addr.family, AF_INET);
    assert_int_equal(p.port, 8080);
    hfs_hostpat_free(&p);
    p = compile_ok("[::1]:5000");
    assert_int_equal(p.kind, HFS_HP_ADDR);
    assert_int_equal(p.addr.family, AF_INET6);
    assert_int_equal(p.port, 5000);
    hfs_hostpat_free(&p);
    p = compile_ok("fe80::1"); /* a bare IPv6 address has no port */
    assert_int_equal(p.kind, HFS_HP_ADDR);
    assert_int_equal(p.port, 0);
    hfs_hostpat_free(&p);
    p = compile_ok("cdn-*.hf.co:443");
    assert_int_equal(p.kind, HFS_HP_GLOB);
    assert_non_null(p.re);
    assert_int_equal(p.port, 443);
    hfs_hostpat_free(&p);
    p = compile_ok("[127.0.0.1]:80"); /* brackets around IPv4 */
    assert_int_equal(p.kind, HFS_HP_ADDR);
    assert_int_equal(p.addr.family, AF_INET);
    assert_int_equal(p.port, 80);
    hfs_hostpat_free(&p);
    p = compile_ok("[ab].hf.co:443"); /* a leading glob class is no address */
    assert_int_equal(p.kind, HFS_HP_GLOB);
    assert_int_equal(p.port, 443);
    hfs_hostpat_free(&p);
    assert_null(p.text); /* free leaves it empty: a second free is harmless */
    hfs_hostpat_free(&p);
}

static void test_name_and_suffix_matching(void **state)
{
    (void)state;
    assert_true(name_matches("huggingface.co", "huggingface.co"));
    assert_true(name_matches("huggingface.co", "HUGGINGFACE.co"));
    assert_true(name_matches("huggingface.co", "huggingface.co.")); /* fully qualified */
    assert_false(name_matches("huggingface.co", "huggingface.com"));
    assert_false(name_matches("huggingface.co", "www.huggingface.co"));
    assert_false(name_matches("huggingface.co", ""));
    assert_false(name_matches("huggingface.co", NULL));
    assert_true(name_matches("*.huggingface.co", "cdn-lfs.huggingface.co"));
    assert_true(name_matches("*.huggingface.co", "a.b.c.huggingface.co"));
    assert_false(name_matches("*.huggingface.co", "huggingface.co"));
    assert_false(name_matches("*.huggingface.co", "huggingface.co.evil.com"));
    assert_false(name_matches("*.huggingface.co", "evilhuggingface.co"));
    assert_true(name_matches("*huggingface.co", "evilhuggingface.co"));
    assert_true(name_matches("*", "anything.at.all"));
}

static void test_trailing_dot_in_pattern(void **state)
{
    (void)state;
    assert_true(name_matches("huggingface.co.", "huggingface.co"));
    assert_true(name_matches("huggingface.co.", "huggingface.co."));
    assert_true(name_matches("*.hf.co.", "x.hf.co"));
}

static void test_glob_matching(void **state)
{
    (void)state;
    assert_true(name_matches("cdn-*.hf.co", "cdn-lfs.hf.co"));
    assert_true(name_matches("cdn-*.hf.co", "cdn-.hf.co"));
    assert_true(name_matches("cdn-*.hf.co", "CDN-LFS-US-1.HF.CO"));
    assert_false(name_matches("cdn-*.hf.co", "cdn.hf.co"));
    assert_false(name_matches("cdn-*.hf.co", "xcdn-a.hf.co")); /* anchored */
    assert_false(name_matches("cdn-*.hf.co", "cdn-a.hf.co.evil"));
    assert_true(name_matches("s?.hf.co", "s3.hf.co"));
    assert_false(name_matches("s?.hf.co", "s33.hf.co"));
    assert_true(name_matches("[ab].hf.co", "b.hf.co"));
    assert_false(name_matches("[ab].hf.co", "c.hf.co"));
    assert_true(name_matches("[!ab].hf.co", "c.hf.co"));
    assert_false(name_matches("[!ab].hf.co", "a.hf.co"));
    assert_false(name_matches("a.*.co", "axb.hf.co")); /* '.' is literal */
    assert_true(name_matches("a.*.co", "a.b.c.co"));
}

static void test_address_patterns(void **state)
{
    (void)state;
    assert_true(name_matches("10.0.0.1", "10.0.0.1"));
    assert_false(name_matches("10.0.0.1", "10.0.0.10"));
    assert_true(name_matches("::1", "0:0:0:0:0:0:0:1"));
    assert_true(name_matches("[::1]", "::1"));
    assert_true(name_matches("[::1]", "[::1]"));
    assert_false(name_matches("::1", "127.0.0.1"));
    /* v4-mapped forms are the IPv4 address, as sockets report them */
    assert_true(name_matches("[::ffff:10.0.0.1]", "10.0.0.1"));
    assert_true(name_matches("10.0.0.1", "::ffff:10.0.0.1"));
}

static void test_request_matching_and_ports(void **state)
{
    (void)state;
    struct hfs_request q;
    int unknown = 0;
    struct hfs_hostpat p = compile_ok("api.example.com:8443");
    memset(&q, 0, sizeof q);
    q.host = "api.example.com";
    assert_int_equal(hfs_hostpat_match(&p, &q, &unknown), 0);
    assert_int_equal(unknown, 1); /* port needed, not known */
    assert_int_equal(hfs_hostpat_match(&p, &q, NULL), 0);
    q.port = 443;
    unknown = 0;
    assert_int_equal(hfs_hostpat_match(&p, &q, &unknown), 0);
    assert_int_equal(unknown, 0);
    q.port = 8443;
    assert_int_equal(hfs_hostpat_match(&p, &q, &unknown), 1);
    q.host = "other.example.com";
    assert_int_equal(hfs_hostpat_match(&p, &q, &unknown), 0);
    hfs_hostpat_free(&p);

    /* address pattern against the request's address, then its ip text */
    p = compile_ok("192.0.2.7");
    memset(&q, 0, sizeof q);
    q.addr.family = AF_INET;
    inet_pton(AF_INET, "192.0.2.7", q.addr.a);
    assert_int_equal(hfs_hostpat_match(&p, &q, NULL), 1);
    memset(&q, 0, sizeof q);
    snprintf(q.ip, sizeof q.ip, "192.0.2.7");
    assert_int_equal(hfs_hostpat_match(&p, &q, NULL), 1);
    memset(&q, 0, sizeof q);
    q.host = "192.0.2.7";
    assert_int_equal(hfs_hostpat_match(&p, &q, NULL), 1);
    q.host = "192.0.2.8";
    assert_int_equal(hfs_hostpat_match(&p, &q, NULL), 0);
    hfs_hostpat_free(&p);

    /* a name pattern matches the ip text too (no host known) */
    p = compile_ok("*.hf.co");
    memset(&q, 0, sizeof q);
    snprintf(q.ip, sizeof q.ip, "10.0.0.1");
    assert_int_equal(hfs_hostpat_match(&p, &q, NULL), 0);
    q.host = "x.hf.co";
    q.port = 1;
    assert_int_equal(hfs_hostpat_match(&p, &q, NULL), 1); /* no port in the pattern: any port */
    hfs_hostpat_free(&p);
}

static void test_compile_errors(void **state)
{
    (void)state;
    char longname[300];
    memset(longname, 'a', 256);
    longname[256] = 0;
    compile_err("", "empty host pattern");
    compile_err(longname, "host pattern longer than 255 characters");
    longname[255] = 0;
    struct hfs_hostpat p = compile_ok(longname);
    hfs_hostpat_free(&p);
    compile_err("https://hf.co",
                "invalid host pattern \"https://hf.co\": give a host name such as \"api.example.com\", not a URL");
    compile_err("hf.co/x", "invalid host pattern \"hf.co/x\": give a host name such as \"api.example.com\", not a URL");
    compile_err("hf co", "invalid host pattern \"hf co\": character ' ' is not allowed in a host");
    compile_err("hf.co@x", "invalid host pattern \"hf.co@x\": character '@' is not allowed in a host");
    compile_err("[::1", "invalid host pattern \"[::1\": unclosed '['");
    compile_err("[::1]8080", "invalid host pattern \"[::1]8080\": unexpected text after ']'");
    compile_err("hf.co:0", "invalid host pattern \"hf.co:0\": port must be a number from 1 to 65535");
    compile_err("hf.co:65536", "invalid host pattern \"hf.co:65536\": port must be a number from 1 to 65535");
    compile_err("hf.co:99999999999999999999", "invalid host pattern \"hf.co:99999999999999999999\": port must be a "
                                              "number from 1 to 65535");
    compile_err("hf.co:", "invalid host pattern \"hf.co:\": port must be a number from 1 to 65535");
    compile_err("hf.co:8a", "invalid host pattern \"hf.co:8a\": port must be a number from 1 to 65535");
    compile_err("[::1]:", "invalid host pattern \"[::1]:\": port must be a number from 1 to 65535");
    compile_err(":80", "invalid host pattern \":80\": no host before the port");
    compile_err("[]:80", "invalid host pattern \"[]:80\": no host before the port");
    compile_err("a[b.hf.co",
                "invalid host pattern \"a[b.hf.co\": missing terminating ] for character class at offset 9");
    /* max port */
    p = compile_ok("hf.co:65535");
    assert_int_equal(p.port, 65535);
    hfs_hostpat_free(&p);
}

static void test_error_buffer_truncation(void **state)
{
    (void)state;
    struct hfs_hostpat p;
    char err[12];
    assert_int_equal(hfs_hostpat_compile(&p, "bad host", err, sizeof err), -1);
    assert_string_equal(err, "invalid hos");
}

static void endpoint(const char *url, const char *want)
{
    char out[300];
    memset(out, 'x', sizeof out);
    int rc = hfs_endpoint_hostport(url, out, sizeof out);
    if (!want) {
        assert_int_equal(rc, -1);
        return;
    }
    assert_int_equal(rc, 0);
    assert_string_equal(out, want);
}

static void test_endpoint_hostport(void **state)
{
    (void)state;
    endpoint("https://huggingface.co", "huggingface.co:443");
    endpoint("http://Hub.Internal", "hub.internal:80");
    endpoint("HTTP://LOCALHOST:8080/", "localhost:8080");
    endpoint("https://mirror.example/api/ \n", "mirror.example:443");
    endpoint("http://[::1]:5000", "[::1]:5000");
    endpoint("https://user:pw@hf.example:8443/x?y", "hf.example:8443");
    endpoint("ftp://files.example", NULL); /* no default port */
    endpoint("ftp://files.example:21", "files.example:21");
    endpoint("huggingface.co", NULL);
    endpoint("", NULL);
    endpoint("https://", NULL);
    endpoint("https://h:0", NULL);
    char small[12];
    assert_int_equal(hfs_endpoint_hostport("https://huggingface.co", small, sizeof small), -1);
    char fits[25];
    assert_int_equal(hfs_endpoint_hostport("https://huggingface.co", fits, sizeof fits), 0);
    assert_string_equal(fits, "huggingface.co:443");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_name_and_suffix_matching),
        cmocka_unit_test(test_trailing_dot_in_pattern),
        cmocka_unit_test(test_glob_matching),
        cmocka_unit_test(test_address_patterns),
        cmocka_unit_test(test_request_matching_and_ports),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_error_buffer_truncation),
        cmocka_unit_test(test_endpoint_hostport),
    };
    return cmocka_run_group_tests_name("hostpat", tests, NULL, NULL);
}
