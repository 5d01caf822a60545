/* test_http1: unit tests of the HTTP/1.x module (shim/core/http1.h): the
 * request and response head parsers (every tolerance, every refusal with
 * its message, heads cut at every byte), both stream framers (pipelining,
 * Content-Length, chunked bodies cut anywhere, 100-continue, HEAD/204/304,
 * read-until-close, tunnels, passthrough), the head rewriter and the
 * response builder, byte for byte. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

#define MAXH 32

static struct hfs_header g_hdrs[MAXH];

static struct hfs_http1_head req_ok(const char *s)
{
    struct hfs_http1_head h;
    const char *why = NULL;
    int rc = hfs_http1_parse_request_head(s, strlen(s), &h, g_hdrs, MAXH, &why);
    if (rc <= 0)
        print_message("%s: rc %d %s\n", s, rc, why ? why : "");
    assert_int_equal(rc, strlen(s));
    assert_int_equal(h.len, strlen(s));
    return h;
}

static void req_err(const char *s, size_t len, const char *want)
{
    struct hfs_http1_head h;
    const char *why = NULL;
    int rc = hfs_http1_parse_request_head(s, len, &h, g_hdrs, MAXH, &why);
    if (rc != -1)
        print_message("%.*s: rc %d\n", (int)len, s, rc);
    assert_int_equal(rc, -1);
    assert_non_null(why);
    assert_string_equal(why, want);
}

static struct hfs_http1_head resp_ok(const char *s)
{
    struct hfs_http1_head h;
    const char *why = NULL;
    int rc = hfs_http1_parse_response_head(s, strlen(s), &h, g_hdrs, MAXH, &why);
    if (rc <= 0)
        print_message("%s: rc %d %s\n", s, rc, why ? why : "");
    assert_int_equal(rc, strlen(s));
    return h;
}

static void resp_err(const char *s, const char *want)
{
    struct hfs_http1_head h;
    const char *why = NULL;
    assert_int_equal(hfs_http1_parse_response_head(s, strlen(s), &h, g_hdrs, MAXH, &why), -1);
    assert_non_null(why);
    assert_string_equal(why, want);
}

static void span_is(const char *p, size_t n, const char *want)
{
    if (!want) {
        assert_null(p);
        assert_int_equal(n, 0);
        return;
    }
    assert_non_null(p);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(p, want, n);
}

static void hdr_is(const struct hfs_http1_head *h, size_t i, const char *name, const char *value)
{
    assert_true(i < h->nheaders);
    span_is(h->headers[i].name, h->headers[i].name_len, name);
    span_is(h->headers[i].value, h->headers[i].value_len, value);
}

/* request heads ------------------------------------------------------------ */

/* Every byte value in a header name and in a header value is classed as
 * RFC 9110 says (http1.c reads them from one table): a name byte is taken
 * when it is a tchar (or the colon that ends the name), a value byte when
 * it is not a control character other than HTAB, nor DEL. */
static void test_every_byte_in_names_and_values(void **state)
{
    (void)state;
    static const char tspecial[] = "!#$%&'*+-.^_`|~";
    for (int b = 0; b < 256; b++) {
        char buf[64];
        struct hfs_http1_head h;
        struct hfs_header hdrs[8];
        const char *why = NULL;
        int alnum = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9');
        int tchar = alnum || (b && strchr(tspecial, b));
        size_t n = (size_t)snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: h\r\nX");
        buf[n++] = (char)b;
        memcpy(buf + n, "Y: v\r\n\r\n", 8);
        n += 8;
        int rc = hfs_http1_parse_request_head(buf, n, &h, hdrs, 8, &why);
        if ((rc > 0) != (tchar || b == ':'))
            fail_msg("name byte 0x%02x: rc=%d (%s)", b, rc, why ? why : "");
        n = (size_t)snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: h\r\nX: a");
        buf[n++] = (char)b;
        memcpy(buf + n, "b\r\n\r\n", 5);
        n += 5;
        why = NULL;
        rc = hfs_http1_parse_request_head(buf, n, &h, hdrs, 8, &why);
        int ctl = (b < 0x20 && b != '\t') || b == 0x7f;
        if ((rc > 0) != !ctl)
            fail_msg("value byte 0x%02x: rc=%d (%s)", b, rc, why ? why : "");
    }
}

/* The header lines as RFC 9112 and hfshim's messages judge them, one check
 * after another (the parser takes a one-pass road for the common line):
 * returns the head's length, 0 for "needs more", -1 with *why. */
static int ref_tchar(unsigned char b)
{
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
           (b && strchr("!#$%&'*+-.^_`|~", b));
}

static int ref_ctl(unsigned char b) { return (b < 0x20 && b != '\t') || b == 0x7f; }

static int ref_headers(const char *b, size_t n, size_t pos, struct hfs_header *hd, size_t max, size_t *nhd,
                       const char **why)
{
    *nhd = 0;
    for (;;) {
        const char *lf = memchr(b + pos, '\n', n - pos);
        size_t eol, end, i, v, ve;
        if (!lf) {
            const char *cr = memchr(b + pos, '\r', n - pos);
            if (memchr(b + pos, 0, n - pos))
                return *why = "NUL byte in the head", -1;
            if (cr && cr != b + n - 1)
                return *why = "bare CR in the head", -1;
            return 0;
        }
        eol = (size_t)(lf - b);
        end = eol > pos && b[eol - 1] == '\r' ? eol - 1 : eol;
        if (memchr(b + pos, 0, end - pos))
            return *why = "NUL byte in the head", -1;
        if (memchr(b + pos, '\r', end - pos))
            return *why = "bare CR in the head", -1;
        if (end == pos)
            return (int)eol + 1;
        if (b[pos] == ' ' || b[pos] == '\t')
            return *why = "obs-fold (a header line starting with whitespace)", -1;
        for (i = pos; i < end && ref_tchar((unsigned char)b[i]); i++)
            ;
        if (i == end)
            return *why = "header line without a colon", -1;
        if (b[i] != ':')
            return *why = b[i] == ' ' || b[i] == '\t' ? "whitespace between a header name and its colon"
                                                      : "invalid character in a header name",
                   -1;
        if (i == pos)
            return *why = "empty header name", -1;
        for (v = i + 1; v < end && (b[v] == ' ' || b[v] == '\t'); v++)
            ;
        for (ve = end; ve > v && (b[ve - 1] == ' ' || b[ve - 1] == '\t'); ve--)
            ;
        for (size_t k = v; k < ve; k++)
            if (ref_ctl((unsigned char)b[k]))
                return *why = "control character in a header value", -1;
        if (*nhd >= max)
            return *why = "too many header lines", -1;
        hd[*nhd].name = b + pos;
        hd[*nhd].name_len = i - pos;
        hd[*nhd].value = b + v;
        hd[*nhd].value_len = ve - v;
        ++*nhd;
        pos = eol + 1;
    }
}

/* 300,000 random header sections from bytes that matter (CR, LF, NUL,
 * HTAB, SP, ':', other controls, DEL, the bytes either side of 0x20 and
 * 0x7f, high bytes, runs of name bytes): the parser gives exactly the
 * reference's outcome, message and fields. */
static void test_header_lines_match_reference(void **state)
{
    (void)state;
    static const char alphabet[] = { 'X',    'a',    '-',    ':',    ' ',    '\t',   '\r',   '\n', '\0', '\x01',
                                     '\x7f', '\x80', '\xff', '\x1f', '\x7e', '\xa0', '\x9f', 'v',  'Y',  ':',
                                     '\r',   '\n',   'b',    'c',    'd',    'e',    'f',    'g',  'h',  'i' };
    uint64_t x = 0x9e3779b97f4a7c15ull;
    char buf[160];
    for (int t = 0; t < 300000; t++) {
        size_t n = (size_t)snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\n"), start = n;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t len = x % 72;
        for (size_t k = 0; k < len; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[n++] = alphabet[x % sizeof alphabet];
        }
        if (x & 0x100000) { /* most sections end, so their lines are judged whole */
            memcpy(buf + n, x & 0x200000 ? "\r\n\r\n" : "\n\n", x & 0x200000 ? 4 : 2);
            n += x & 0x200000 ? 4 : 2;
        }
        struct hfs_header got[6], want[6];
        struct hfs_http1_head h;
        const char *why_got = NULL, *why_want = NULL;
        size_t nwant;
        int rc = hfs_http1_parse_request_head(buf, n, &h, got, 6, &why_got);
        int ref = ref_headers(buf, n, start, want, 6, &nwant, &why_want);
        if (rc != ref || (rc < 0 && strcmp(why_got, why_want) != 0))
            fail_msg("case %d: parser %d (%s), reference %d (%s)", t, rc, why_got ? why_got : "", ref,
                     why_want ? why_want : "");
        if (rc > 0) {
            assert_int_equal(h.nheaders, nwant);
            for (size_t k = 0; k < nwant; k++) {
                assert_ptr_equal(got[k].name, want[k].name);
                assert_int_equal(got[k].name_len, want[k].name_len);
                assert_ptr_equal(got[k].value, want[k].value);
                assert_int_equal(got[k].value_len, want[k].value_len);
            }
        }
    }
}

static void test_request_basic(void **state)
{
    (void)state;
    const char *s = "GET /api/models/x?full=1&y=2 HTTP/1.1\r\nHost: huggingface.co\r\nUser-Agent: t/1\r\n\r\n";
    struct hfs_http1_head h = req_ok(s);
    span_is(h.method, h.method_len, "GET");
    span_is(h.target, h.target_len, "/api/models/x?full=1&y=2");
    span_is(h.path, h.path_len, "/api/models/x");
    span_is(h.query, h.query_len, "full=1&y=2");
    span_is(h.authority, h.authority_len, NULL);
    assert_int_equal(h.minor, 1);
    assert_int_equal(h.nheaders, 2);
    assert_ptr_equal(h.headers, g_hdrs);
    hdr_is(&h, 0, "Host", "huggingface.co");
    hdr_is(&h, 1, "User-Agent", "t/1");
    assert_int_equal(h.content_length, -1);
    assert_int_equal(h.chunked, 0);
    assert_int_equal(h.transfer_encoding, 0);
    assert_int_equal(h.connection_close, 0);
    assert_int_equal(h.expect_continue, 0);
    assert_int_equal(h.upgrade, 0);
    assert_null(h.note);
    assert_int_equal(h.start, 0);
    assert_int_equal(h.hdr_start, 39);
    assert_int_equal(h.hdr_end, strlen(s) - 2);
    /* no query, empty query, fragment */
    h = req_ok("GET / HTTP/1.0\r\n\r\n");
    span_is(h.path, h.path_len, "/");
    span_is(h.query, h.query_len, NULL);
    assert_int_equal(h.minor, 0);
    assert_int_equal(h.nheaders, 0);
    h = req_ok("GET /p? HTTP/1.1\r\n\r\n");
    span_is(h.path, h.path_len, "/p");
    span_is(h.query, h.query_len, "");
    h = req_ok("GET /p?q#f HTTP/1.1\r\n\r\n");
    span_is(h.query, h.query_len, "q");
}

static void test_request_target_forms(void **state)
{
    (void)state;
    struct hfs_http1_head h = req_ok("GET http://Example.COM:8080/a/b?c=d HTTP/1.1\r\n\r\n");
    span_is(h.authority, h.authority_len, "Example.COM:8080");
    span_is(h.path, h.path_len, "/a/b");
    span_is(h.query, h.query_len, "c=d");
    h = req_ok("GET https://h.example HTTP/1.1\r\n\r\n");
    span_is(h.authority, h.authority_len, "h.example");
    span_is(h.path, h.path_len, "");
    span_is(h.query, h.query_len, NULL);
    h = req_ok("GET http://h?x HTTP/1.1\r\n\r\n");
    span_is(h.authority, h.authority_len, "h");
    span_is(h.path, h.path_len, "");
    span_is(h.query, h.query_len, "x");
    h = req_ok("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    span_is(h.path, h.path_len, "*");
    assert_int_equal(h.upgrade, 0);
    h = req_ok("CONNECT huggingface.co:443 HTTP/1.1\r\nHost: huggingface.co:443\r\n\r\n");
    span_is(h.authority, h.authority_len, "huggingface.co:443");
    span_is(h.path, h.path_len, NULL);
    assert_int_equal(h.upgrade, 1);
    /* raw UTF-8 in a path is tolerated */
    h = req_ok("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n");
    span_is(h.path, h.path_len, "/caf\xc3\xa9");
}

static void test_request_tolerances(void **state)
{
    (void)state;
    /* odd casing, spaces and tabs around values, empty value */
    struct hfs_http1_head h = req_ok("POST /u HTTP/1.1\r\ncontent-LENGTH:   \t 5 \t \r\nX-Empty:\r\nX-E2: \t \r\n"
                                     "hOsT:h\r\n\r\n");
    assert_int_equal(h.content_length, 5);
    hdr_is(&h, 0, "content-LENGTH", "5");
    hdr_is(&h, 1, "X-Empty", "");
    hdr_is(&h, 2, "X-E2", "");
    hdr_is(&h, 3, "hOsT", "h");
    /* inner whitespace in a value is kept */
    h = req_ok("GET / HTTP/1.1\r\nUser-Agent:  a  b\tc \r\n\r\n");
    hdr_is(&h, 0, "User-Agent", "a  b\tc");
    /* bare LF line ends, and mixed */
    h = req_ok("GET /x HTTP/1.1\nHost: a\nAccept: */*\r\n\n");
    assert_int_equal(h.nheaders, 2);
    hdr_is(&h, 1, "Accept", "*/*");
    assert_int_equal(h.hdr_end, strlen("GET /x HTTP/1.1\nHost: a\nAccept: */*\r\n"));
    /* leading empty lines */
    const char *s = "\r\n\n\r\nGET /y HTTP/1.1\r\nHost: a\r\n\r\n";
    h = req_ok(s);
    assert_int_equal(h.start, 5);
    span_is(h.method, h.method_len, "GET");
    assert_int_equal(h.hdr_start, 5 + 17);
    /* runs of SP/HTAB in the request line, trailing whitespace */
    h = req_ok("GET  \t/z   HTTP/1.1 \t\r\n\r\n");
    span_is(h.target, h.target_len, "/z");
    assert_int_equal(h.minor, 1);
    /* unusual but valid token characters in names and methods */
    h = req_ok("M-SEARCH * HTTP/1.1\r\nX!#$%&'*+-.^_`|~9: v\r\n\r\n");
    span_is(h.method, h.method_len, "M-SEARCH");
    hdr_is(&h, 0, "X!#$%&'*+-.^_`|~9", "v");
    /* obs-text in a value */
    h = req_ok("GET / HTTP/1.1\r\nX: \xff\x80\r\n\r\n");
    hdr_is(&h, 0, "X", "\xff\x80");
}

static void test_request_connection(void **state)
{
    (void)state;
    assert_int_equal(req_ok("GET / HTTP/1.0\r\n\r\n").connection_close, 1);
    assert_int_equal(req_ok("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").connection_close, 0);
    assert_int_equal(req_ok("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").connection_close, 1);
    assert_int_equal(req_ok("GET / HTTP/1.1\r\n\r\n").connection_close, 0);
    assert_int_equal(req_ok("GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n").connection_close, 1);
    assert_int_equal(req_ok("GET / HTTP/1.1\r\nConnection: Upgrade ,  close \r\n\r\n").connection_close, 1);
    assert_int_equal(req_ok("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n").connection_close, 0);
    assert_int_equal(req_ok("GET / HTTP/1.1\r\nConnection: x\r\nConnection: close\r\n\r\n").connection_close, 1);
    /* minor versions other than 0 and 1 are 1.x */
    struct hfs_http1_head h = req_ok("GET / HTTP/1.2\r\n\r\n");
    assert_int_equal(h.minor, 2);
    assert_int_equal(h.connection_close, 0);
}

static void test_request_chunked(void **state)
{
    (void)state;
    struct hfs_http1_head h = req_ok("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_int_equal(h.chunked, 1);
    assert_int_equal(h.transfer_encoding, 1);
    assert_int_equal(h.content_length, -1);
    h = req_ok("POST / HTTP/1.1\r\ntransfer-encoding: gzip ,  CHUNKED \r\n\r\n");
    assert_int_equal(h.chunked, 1);
    h = req_ok("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: Chunked\r\n\r\n");
    assert_int_equal(h.chunked, 1);
    h = req_ok("POST / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n"); /* empty list element */
    assert_int_equal(h.chunked, 1);
    req_err("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 53,
            "Transfer-Encoding whose last coding is not chunked");
    const char *s = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n";
    req_err(s, strlen(s), "Transfer-Encoding whose last coding is not chunked");
    s = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked;x=1\r\n\r\n";
    req_err(s, strlen(s), "Transfer-Encoding whose last coding is not chunked");
    s = "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n";
    req_err(s, strlen(s), "Transfer-Encoding whose last coding is not chunked");
    s = "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
    req_err(s, strlen(s), "Transfer-Encoding in an HTTP/1.0 request");
}

static void test_request_cl_and_te(void **state)
{
    (void)state;
    struct hfs_http1_head h = req_ok("POST / HTTP/1.1\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_int_equal(h.chunked, 1);
    assert_int_equal(h.content_length, -1);
    assert_int_equal(h.cl_overridden, 1);
    assert_non_null(h.note);
    assert_string_equal(h.note, "Transfer-Encoding overrides Content-Length");
    h = req_ok("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n");
    assert_int_equal(h.cl_overridden, 1);
    assert_int_equal(h.chunked, 1);
}

static void test_request_content_length(void **state)
{
    (void)state;
    assert_int_equal(req_ok("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").content_length, 0);
    assert_int_equal(req_ok("POST / HTTP/1.1\r\nContent-Length: 007\r\n\r\n").content_length, 7);
    assert_int_equal(req_ok("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n").content_length, 5);
    assert_int_equal(req_ok("POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 05\r\n\r\n").content_length, 5);
    assert_int_equal(req_ok("POST / HTTP/1.1\r\nContent-Length: 999999999999999999\r\n\r\n").content_length,
                     999999999999999999LL);
    static const struct {
        const char *v, *why;
    } bad[] = {
        { "abc", "Content-Length is not a number" },
        { "", "Content-Length is not a number" },
        { "-1", "Content-Length is not a number" },
        { "+5", "Content-Length is not a number" },
        { "5 5", "Content-Length is not a number" },
        { "0x10", "Content-Length is not a number" },
        { "5,", "Content-Length is not a number" },
        { "5,,5", "Content-Length is not a number" },
        { "1.5", "Content-Length is not a number" },
        { "5, 6", "conflicting Content-Length values" },
        { "99999999999999999999", "Content-Length is too large" },
    };
    char s[200];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(s, sizeof s, "POST / HTTP/1.1\r\nContent-Length: %s\r\n\r\n", bad[i].v);
        req_err(s, strlen(s), bad[i].why);
    }
    const char *c = "POST / HTTP/1.1\r\nContent-Length: 5\r\nHost: a\r\nContent-Length: 6\r\n\r\n";
    req_err(c, strlen(c), "conflicting Content-Length values");
}

static void test_request_expect_upgrade(void **state)
{
    (void)state;
    struct hfs_http1_head h = req_ok("PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    assert_int_equal(h.expect_continue, 1);
    assert_int_equal(h.content_length, 3);
    assert_int_equal(req_ok("PUT /f HTTP/1.1\r\nexpect:  100-Continue \r\n\r\n").expect_continue, 1);
    assert_int_equal(req_ok("PUT /f HTTP/1.1\r\nExpect: 200-ok\r\n\r\n").expect_continue, 0);
    h = req_ok("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    assert_int_equal(h.upgrade, 1);
    assert_int_equal(req_ok("GET / HTTP/1.1\r\nConnection: Upgrade\r\n\r\n").upgrade, 0);
}

static void test_request_rejections(void **state)
{
    (void)state;
    static const struct {
        const char *s, *why;
    } bad[] = {
        { "GET / HTTP/1.1\r\nHost : a\r\n\r\n", "whitespace between a header name and its colon" },
        { "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", "whitespace between a header name and its colon" },
        { "GET / HTTP/1.1\r\nX: a\r\n  b\r\n\r\n", "obs-fold (a header line starting with whitespace)" },
        { "GET / HTTP/1.1\r\n\tX: a\r\n\r\n", "obs-fold (a header line starting with whitespace)" },
        { "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", "bare CR in the head" },
        { "GET / HTTP/1.1\rX: a\r\n\r\n", "bare CR in the head" },
        { "\rGET / HTTP/1.1\r\n\r\n", "bare CR in the head" },
        { "GET / HTTP/1.1\r\nX: a\r\n\r\r\n", "bare CR in the head" },
        { "GET / HTTP/1.1\r\nNo colon here\r\n\r\n", "whitespace between a header name and its colon" },
        { "GET / HTTP/1.1\r\nNoColon\r\n\r\n", "header line without a colon" },
        { "GET / HTTP/1.1\r\n: v\r\n\r\n", "empty header name" },
        { "GET / HTTP/1.1\r\nX(y): v\r\n\r\n", "invalid character in a header name" },
        { "GET / HTTP/1.1\r\nX\x80: v\r\n\r\n", "invalid character in a header name" },
        { "GET / HTTP/1.1\r\nX: a\x01"
          "b\r\n\r\n",
          "control character in a header value" },
        { "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", "control character in a header value" },
        { "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", "more than one Host header" },
        { "G(T / HTTP/1.1\r\n\r\n", "invalid character in the request method" },
        { " GET / HTTP/1.1\r\n\r\n", "invalid character in the request method" },
        { "GET/ HTTP/1.1\r\n\r\n", "invalid character in the request method" },
        { "ABCDEFGHIJABCDEFGHIJABCDEFGHIJABC / HTTP/1.1\r\n\r\n", "request method too long" },
        { "GET /a\x01 HTTP/1.1\r\n\r\n", "invalid character in the request target" },
        { "GET /\x7f HTTP/1.1\r\n\r\n", "invalid character in the request target" },
        { "GET / HTTP/2.0\r\n\r\n", "unsupported HTTP version" },
        { "GET / HTTP/1.x\r\n\r\n", "unsupported HTTP version" },
        { "GET / http/1.1\r\n\r\n", "unsupported HTTP version" },
        { "GET / HTTP/0.9\r\n\r\n", "unsupported HTTP version" },
        { "GET / HTTP/1.10\r\n\r\n", "malformed request line" },
        { "GET / HTTP/1.1 x\r\n\r\n", "malformed request line" },
        { "GET / HTTP/1.\r\n\r\n", "malformed request line" },
        { "GET /\r\n\r\n", "malformed request line" },
        { "GET\r\n\r\n", "malformed request line" },
        { "GET \r\n\r\n", "malformed request line" },
        { "GET foo HTTP/1.1\r\n\r\n", "invalid request target" },
        { "GET h:/x HTTP/1.1\r\n\r\n", "invalid request target" },
        { "GET 1http://x/ HTTP/1.1\r\n\r\n", "invalid request target" },
        { "PRI * HTTP/2.1\r\n\r\n", "unsupported HTTP version" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        req_err(bad[i].s, strlen(bad[i].s), bad[i].why);
    /* NUL anywhere in the head, even in a line not yet complete */
    req_err("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26, "NUL byte in the head");
    req_err("GET /\0 HTTP/1.1\r\n\r\n", 19, "NUL byte in the head");
    req_err("GET / HTTP/1.1\r\nX: a\0", 21, "NUL byte in the head");
    req_err("\0", 1, "NUL byte in the head");
    /* why may be NULL */
    struct hfs_http1_head h;
    assert_int_equal(hfs_http1_parse_request_head("G(", 2, &h, g_hdrs, MAXH, NULL), -1);
}

static void test_request_header_count(void **state)
{
    (void)state;
    struct hfs_http1_head h;
    struct hfs_header hd[3];
    const char *why = NULL;
    const char *s3 = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    const char *s4 = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    assert_int_equal(hfs_http1_parse_request_head(s3, strlen(s3), &h, hd, 3, &why), (int)strlen(s3));
    assert_int_equal(h.nheaders, 3);
    span_is(hd[2].name, hd[2].name_len, "C");
    assert_int_equal(hfs_http1_parse_request_head(s4, strlen(s4), &h, hd, 3, &why), -1);
    assert_string_equal(why, "too many header lines");
    assert_int_equal(hfs_http1_parse_request_head(s3, strlen(s3), &h, NULL, 0, &why), -1);
    assert_string_equal(why, "too many header lines");
    assert_int_equal(hfs_http1_parse_request_head("GET / HTTP/1.1\r\n\r\n", 18, &h, NULL, 0, &why), 18);
}

/* Every proper prefix of a valid head needs more bytes; the whole parses. */
static void test_request_every_prefix(void **state)
{
    (void)state;
    static const char *const heads[] = {
        "GET /a?b HTTP/1.1\r\nHost: h\r\nX:  y \r\n\r\n",
        "\r\n\nPOST http://h/x HTTP/1.0\nContent-Length: 4\n\n",
        "PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n",
        "PRX * HTTP/1.1\r\n\r\n",
    };
    for (size_t k = 0; k < sizeof heads / sizeof heads[0]; k++) {
        const char *s = heads[k];
        size_t n = strlen(s);
        char body[512];
        struct hfs_http1_head h;
        const char *why = NULL;
        for (size_t i = 0; i < n; i++) {
            int rc = hfs_http1_parse_request_head(s, i, &h, g_hdrs, MAXH, &why);
            if (rc != 0)
                print_message("head %zu prefix %zu: %d %s\n", k, i, rc, why);
            assert_int_equal(rc, 0);
        }
        assert_int_equal(hfs_http1_parse_request_head(s, n, &h, g_hdrs, MAXH, &why), (int)n);
        /* bytes after the head are not looked at */
        memcpy(body, s, n);
        memcpy(body + n, "\0\r\x01 garbage", 11);
        assert_int_equal(hfs_http1_parse_request_head(body, n + 11, &h, g_hdrs, MAXH, &why), (int)n);
    }
}

/* Non-HTTP bytes are refused as soon as they cannot start a request. */
static void test_request_early_reject(void **state)
{
    (void)state;
    req_err("\x16\x03\x01\x02\x00", 5, "NUL byte in the head");
    req_err("\x16\x03\x01", 3, "invalid character in the request method");
    req_err("SSH-2.0-OpenSSH_9.6\r\n", 21, "malformed request line");
    req_err("*1\r\n$4\r\nPING\r\n", 14, "malformed request line");
    req_err("GET / HTTQ", 10, "unsupported HTTP version");
    req_err("GET /x\x02", 7, "invalid character in the request target");
    req_err("GET / HTTP/1.1\r\nX: a\rb", 22, "bare CR in the head");
    /* a valid beginning waits */
    struct hfs_http1_head h;
    assert_int_equal(hfs_http1_parse_request_head("GET / HTTP/1.1\r", 15, &h, g_hdrs, MAXH, NULL), 0);
    assert_int_equal(hfs_http1_parse_request_head("GET / HT", 8, &h, g_hdrs, MAXH, NULL), 0);
    assert_int_equal(hfs_http1_parse_request_head("\r", 1, &h, g_hdrs, MAXH, NULL), 0);
    assert_int_equal(hfs_http1_parse_request_head("", 0, &h, g_hdrs, MAXH, NULL), 0);
}

static void test_request_size_limit(void **state)
{
    (void)state;
    size_t cap = HFS_HTTP1_MAX_HEAD + 100;
    char *b = malloc(cap);
    struct hfs_http1_head h;
    const char *why = NULL;
    assert_non_null(b);
    /* a head of exactly 64 KiB parses */
    size_t pre = strlen("GET / HTTP/1.1\r\nX: ");
    memcpy(b, "GET / HTTP/1.1\r\nX: ", pre);
    memset(b + pre, 'a', HFS_HTTP1_MAX_HEAD - pre - 4);
    memcpy(b + HFS_HTTP1_MAX_HEAD - 4, "\r\n\r\n", 4);
    assert_int_equal(hfs_http1_parse_request_head(b, HFS_HTTP1_MAX_HEAD, &h, g_hdrs, MAXH, &why), HFS_HTTP1_MAX_HEAD);
    assert_int_equal(h.headers[0].value_len, HFS_HTTP1_MAX_HEAD - pre - 4);
    /* one more byte does not */
    memset(b + pre, 'a', HFS_HTTP1_MAX_HEAD - pre - 3);
    memcpy(b + HFS_HTTP1_MAX_HEAD - 3, "\r\n\r\n", 4);
    assert_int_equal(hfs_http1_parse_request_head(b, HFS_HTTP1_MAX_HEAD + 1, &h, g_hdrs, MAXH, &why), -1);
    assert_string_equal(why, "head over 64 KiB");
    /* an incomplete head of 64 KiB can never become valid */
    assert_int_equal(hfs_http1_parse_request_head(b, HFS_HTTP1_MAX_HEAD, &h, g_hdrs, MAXH, &why), -1);
    assert_string_equal(why, "head over 64 KiB");
    assert_int_equal(hfs_http1_parse_request_head(b, HFS_HTTP1_MAX_HEAD - 1, &h, g_hdrs, MAXH, &why), 0);
    free(b);
}

static void test_request_h2_preface(void **state)
{
    (void)state;
    const char *p = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    struct hfs_http1_head h;
    const char *why = NULL;
    assert_int_equal(hfs_http1_parse_request_head(p, 24, &h, g_hdrs, MAXH, &why), HFS_HTTP1_H2);
    assert_string_equal(why, "HTTP/2 connection preface");
    assert_int_equal(hfs_http1_parse_request_head(p, 16, &h, g_hdrs, MAXH, &why), HFS_HTTP1_H2);
    for (size_t i = 0; i < 16; i++)
        assert_int_equal(hfs_http1_parse_request_head(p, i, &h, g_hdrs, MAXH, &why), 0);
    /* the preface only counts at the very start */
    req_err("\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 26, "unsupported HTTP version");
}

/* response heads ------------------------------------------------------------ */

static void test_response_basic(void **state)
{
    (void)state;
    struct hfs_http1_head h = resp_ok("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-Repo-Commit: abc\r\n\r\n");
    assert_int_equal(h.status, 200);
    span_is(h.reason, h.reason_len, "OK");
    assert_int_equal(h.minor, 1);
    assert_int_equal(h.content_length, 12);
    assert_int_equal(h.nheaders, 2);
    hdr_is(&h, 1, "X-Repo-Commit", "abc");
    assert_int_equal(h.connection_close, 0);
    h = resp_ok("HTTP/1.1 404 Not  Found \r\n\r\n");
    span_is(h.reason, h.reason_len, "Not  Found");
    h = resp_ok("HTTP/1.1 204\r\n\r\n");
    assert_int_equal(h.status, 204);
    span_is(h.reason, h.reason_len, "");
    h = resp_ok("HTTP/1.1 302 \n\n");
    span_is(h.reason, h.reason_len, "");
    h = resp_ok("HTTP/1.0 200 OK\r\n\r\n");
    assert_int_equal(h.connection_close, 1);
    assert_int_equal(h.content_length, -1);
    h = resp_ok("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
    assert_int_equal(h.upgrade, 1);
    h = resp_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    assert_int_equal(h.chunked, 1);
    /* responses may carry codings without chunked last: read until close */
    h = resp_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n");
    assert_int_equal(h.chunked, 0);
    assert_int_equal(h.transfer_encoding, 1);
    assert_int_equal(h.content_length, -1);
    assert_int_equal(h.cl_overridden, 1);
    h = resp_ok("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n");
    assert_int_equal(h.chunked, 0);
    assert_int_equal(h.connection_close, 1);
    /* Host and Expect mean nothing in a response */
    h = resp_ok("HTTP/1.1 200 OK\r\nHost: a\r\nHost: b\r\nExpect: 100-continue\r\n\r\n");
    assert_int_equal(h.expect_continue, 0);
}

static void test_response_rejections(void **state)
{
    (void)state;
    resp_err("HTTP/1.1 20 OK\r\n\r\n", "malformed status line");
    resp_err("HTTP/1.1 2000 OK\r\n\r\n", "malformed status line");
    resp_err("HTTP/1.1 099 Low\r\n\r\n", "malformed status line");
    resp_err("HTTP/1.1 abc\r\n\r\n", "malformed status line");
    resp_err("HTTP/2 200 OK\r\n\r\n", "malformed status line");
    resp_err("HTTP/1.1\r\n\r\n", "malformed status line");
    resp_err("HTTP/1.1200 OK\r\n\r\n", "malformed status line");
    resp_err("GET / HTTP/1.1\r\n\r\n", "malformed status line");
    resp_err("HTTP/1.1 200 O\x01K\r\n\r\n", "invalid character in the reason phrase");
    resp_err("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "conflicting Content-Length values");
    resp_err("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "Content-Length is not a number");
    resp_err("HTTP/1.1 200 OK\r\nX : y\r\n\r\n", "whitespace between a header name and its colon");
    resp_err("HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n", "obs-fold (a header line starting with whitespace)");
    struct hfs_http1_head h;
    assert_int_equal(hfs_http1_parse_response_head("HTTP/1.1 2", 10, &h, g_hdrs, MAXH, NULL), 0);
    assert_int_equal(hfs_http1_parse_response_head("HTTP/1.1 200 OK\r\n", 17, &h, g_hdrs, MAXH, NULL), 0);
    assert_int_equal(hfs_http1_parse_response_head("HTTX", 4, &h, g_hdrs, MAXH, NULL), -1);
}

static void test_response_has_body(void **state)
{
    (void)state;
    assert_int_equal(hfs_http1_response_has_body("GET", 3, 200), 1);
    assert_int_equal(hfs_http1_response_has_body("HEAD", 4, 200), 0);
    assert_int_equal(hfs_http1_response_has_body("HEAD", 4, 404), 0);
    assert_int_equal(hfs_http1_response_has_body("GET", 3, 100), 0);
    assert_int_equal(hfs_http1_response_has_body("GET", 3, 101), 0);
    assert_int_equal(hfs_http1_response_has_body("GET", 3, 199), 0);
    assert_int_equal(hfs_http1_response_has_body("POST", 4, 204), 0);
    assert_int_equal(hfs_http1_response_has_body("GET", 3, 304), 0);
    assert_int_equal(hfs_http1_response_has_body("GET", 3, 205), 1);
    assert_int_equal(hfs_http1_response_has_body("CONNECT", 7, 200), 0);
    assert_int_equal(hfs_http1_response_has_body("CONNECT", 7, 407), 1);
    assert_int_equal(hfs_http1_response_has_body("head", 4, 200), 1); /* methods are case-sensitive */
    assert_int_equal(hfs_http1_response_has_body(NULL, 0, 200), 1);
}

/* stream framers --------------------------------------------------------- */

/* Feeds in[0..len) in pieces (first piece `first` bytes, then `piece`
 * bytes; 0: all at once), checks that the event data concatenate back to
 * the input, and returns a trace of the events with consecutive BODY and
 * PASSTHROUGH merged, e.g. "H37 B5 E P10". */
struct run {
    char trace[4096];
    size_t tn;
    char last;
    size_t acc;
    char *out;
    size_t outn;
    char why[128];
};

static void tr_flush(struct run *r)
{
    if (r->last == 'B' || r->last == 'P')
        r->tn +=
            (size_t)snprintf(r->trace + r->tn, sizeof r->trace - r->tn, "%s%c%zu", r->tn ? " " : "", r->last, r->acc);
    r->last = 0;
    r->acc = 0;
}

static void tr_event(struct run *r, const struct hfs_http1_event *ev)
{
    char k = ev->kind == HFS_HTTP1_HEAD   ? 'H'
             : ev->kind == HFS_HTTP1_BODY ? 'B'
             : ev->kind == HFS_HTTP1_END  ? 'E'
                                          : 'P';
    if (ev->kind == HFS_HTTP1_NEED_MORE)
        return;
    assert_true(r->tn < sizeof r->trace - 64);
    if (ev->kind == HFS_HTTP1_BODY || ev->kind == HFS_HTTP1_PASSTHROUGH) {
        assert_true(ev->len > 0);
        assert_non_null(ev->data);
        if (r->last != k)
            tr_flush(r);
        r->last = k;
        r->acc += ev->len;
        if (ev->kind == HFS_HTTP1_PASSTHROUGH) {
            assert_non_null(ev->why);
            if (!r->why[0])
                snprintf(r->why, sizeof r->why, "%s", ev->why);
        }
    } else {
        tr_flush(r);
        if (k == 'H') {
            assert_non_null(ev->head);
            assert_int_equal(ev->head->len, ev->len);
            r->tn += (size_t)snprintf(r->trace + r->tn, sizeof r->trace - r->tn, "%sH%zu", r->tn ? " " : "", ev->len);
        } else {
            assert_null(ev->data);
            r->tn += (size_t)snprintf(r->trace + r->tn, sizeof r->trace - r->tn, "%sE", r->tn ? " " : "");
        }
    }
    if (ev->len) {
        memcpy(r->out + r->outn, ev->data, ev->len);
        r->outn += ev->len;
    }
}

static void run_stream(struct hfs_http1_stream *s, const char *in, size_t len, size_t first, size_t piece, int finish,
                       struct run *r)
{
    struct hfs_http1_event ev;
    size_t off = 0;
    memset(r, 0, sizeof *r);
    r->out = malloc(len + 1);
    assert_non_null(r->out);
    while (off < len || (off == len && len == 0)) {
        size_t n = len - off;
        if (off == 0 && first && first < n)
            n = first;
        else if (off > 0 && piece && piece < n)
            n = piece;
        const char *p = in + off;
        size_t left = n;
        for (int guard = 0;; guard++) {
            size_t used = hfs_http1_stream_feed(s, p, left, &ev);
            assert_true(used <= left);
            assert_true(guard < 100000);
            tr_event(r, &ev);
            p += used;
            left -= used;
            if (ev.kind == HFS_HTTP1_NEED_MORE) {
                assert_int_equal(left, 0);
                break;
            }
        }
        off += n;
        if (len == 0)
            break;
    }
    if (finish)
        for (int guard = 0;; guard++) {
            assert_true(guard < 10);
            hfs_http1_stream_finish(s, &ev);
            tr_event(r, &ev);
            if (ev.kind == HFS_HTTP1_NEED_MORE)
                break;
        }
    tr_flush(r);
    if (finish) {
        assert_int_equal(r->outn, len);
        assert_memory_equal(r->out, in, len);
    } else {
        assert_true(r->outn <= len);
        assert_memory_equal(r->out, in, r->outn);
    }
    free(r->out);
    r->out = NULL;
}

static struct hfs_http1_stream *new_stream(int response)
{
    struct hfs_http1_stream *s = malloc(sizeof *s);
    assert_non_null(s);
    hfs_http1_stream_init(s, response);
    return s;
}

/* the trace of in[], fed every way: whole, cut once at every offset, and in
 * pieces of 1..7 bytes; all must agree */
static void trace_is(int response, const char *const *methods, const char *in, size_t len, const char *want, int finish)
{
    struct run r;
    for (size_t mode = 0; mode < len + 8; mode++) {
        struct hfs_http1_stream *s = new_stream(response);
        for (size_t m = 0; methods && methods[m]; m++)
            assert_int_equal(hfs_http1_stream_expect(s, methods[m], strlen(methods[m])), 0);
        if (mode == 0)
            run_stream(s, in, len, 0, 0, finish, &r);
        else if (mode <= 7)
            run_stream(s, in, len, mode, mode, finish, &r);
        else
            run_stream(s, in, len, mode - 7, 0, finish, &r);
        if (strcmp(r.trace, want) != 0)
            print_message("mode %zu: got \"%s\" want \"%s\"\n", mode, r.trace, want);
        assert_string_equal(r.trace, want);
        free(s);
    }
}

static void test_stream_single_get(void **state)
{
    (void)state;
    const char *in = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    struct hfs_http1_stream *s = new_stream(0);
    struct hfs_http1_event ev;
    size_t n = hfs_http1_stream_feed(s, in, strlen(in), &ev);
    assert_int_equal(n, strlen(in));
    assert_int_equal(ev.kind, HFS_HTTP1_HEAD);
    assert_ptr_not_equal(ev.data, in); /* the stream's own copy */
    assert_memory_equal(ev.data, in, strlen(in));
    span_is(ev.head->method, ev.head->method_len, "GET");
    assert_true(ev.head->method >= ev.data && ev.head->method < ev.data + ev.len);
    hdr_is(ev.head, 0, "Host", "a");
    assert_int_equal(hfs_http1_stream_feed(s, in + n, 0, &ev), 0);
    assert_int_equal(ev.kind, HFS_HTTP1_END);
    assert_int_equal(hfs_http1_stream_feed(s, in + n, 0, &ev), 0);
    assert_int_equal(ev.kind, HFS_HTTP1_NEED_MORE);
    assert_int_equal(hfs_http1_stream_passing(s), HFS_HTTP1_PASS_NO);
    free(s);
    trace_is(0, NULL, in, strlen(in), "H27 E", 1);
}

/* One byte at a time: every byte but the last is consumed into the head. */
static void test_stream_head_bytewise(void **state)
{
    (void)state;
    const char *in = "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    size_t hl = strlen(in) - 3;
    struct hfs_http1_stream *s = new_stream(0);
    struct hfs_http1_event ev;
    for (size_t i = 0; i + 1 < hl; i++) {
        assert_int_equal(hfs_http1_stream_feed(s, in + i, 1, &ev), 1);
        assert_int_equal(ev.kind, HFS_HTTP1_NEED_MORE);
    }
    assert_int_equal(hfs_http1_stream_feed(s, in + hl - 1, 4, &ev), 1);
    assert_int_equal(ev.kind, HFS_HTTP1_HEAD);
    assert_int_equal(ev.len, hl);
    assert_int_equal(ev.head->content_length, 3);
    assert_int_equal(hfs_http1_stream_feed(s, in + hl, 3, &ev), 3);
    assert_int_equal(ev.kind, HFS_HTTP1_BODY);
    assert_ptr_equal(ev.data, in + hl);
    assert_int_equal(ev.len, 3);
    assert_int_equal(hfs_http1_stream_feed(s, NULL, 0, &ev), 0);
    assert_int_equal(ev.kind, HFS_HTTP1_END);
    free(s);
}

static void test_stream_pipelined(void **state)
{
    (void)state;
    const char *in = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"                    /* 28 */
                     "POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"    /* 39 + 5 */
                     "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" /* 47 */
                     "3\r\nabc\r\n0\r\n\r\n"                                 /* 13 */
                     "\r\nDELETE /d HTTP/1.1\nContent-Length: 0\n\n";        /* 40 */
    trace_is(0, NULL, in, strlen(in), "H28 E H39 B5 E H47 B13 E H40 E", 1);
    /* the method of each head, in order */
    struct hfs_http1_stream *s = new_stream(0);
    struct hfs_http1_event ev;
    const char *p = in;
    size_t left = strlen(in);
    char methods[64] = "";
    for (;;) {
        size_t n = hfs_http1_stream_feed(s, p, left, &ev);
        p += n;
        left -= n;
        if (ev.kind == HFS_HTTP1_HEAD)
            strncat(methods, ev.head->method, ev.head->method_len);
        if (ev.kind == HFS_HTTP1_NEED_MORE)
            break;
    }
    assert_string_equal(methods, "GETPOSTPUTDELETE");
    free(s);
}

static void test_stream_content_length(void **state)
{
    (void)state;
    const char *in = "POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789GET / HTTP/1.1\r\n\r\n";
    trace_is(0, NULL, in, strlen(in), "H40 B10 E H18 E", 1);
    /* Content-Length: 0 and no framing at all: no body */
    in = "POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\nPOST /y HTTP/1.1\r\n\r\n";
    trace_is(0, NULL, in, strlen(in), "H39 E H20 E", 1);
    /* a body cut short: no END, nothing lost */
    in = "POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n01234";
    trace_is(0, NULL, in, strlen(in), "H40 B5", 1);
}

static void test_stream_chunked(void **state)
{
    (void)state;
    const char *in = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" /* 48 */
                     "A;name=\"v\"\r\n0123456789\r\n"
                     "1 ; x\r\n!\r\n"
                     "00000010\r\n0123456789abcdef\r\n"
                     "0;last\r\nTrailer-A: 1\r\nTrailer-B: 2\r\n\r\n"
                     "GET / HTTP/1.1\r\n\r\n";
    size_t body = strlen(in) - 48 - 18;
    char want[64];
    snprintf(want, sizeof want, "H48 B%zu E H18 E", body);
    trace_is(0, NULL, in, strlen(in), want, 1);
    /* bare LF framing, hex case, no trailers */
    in = "POST /c HTTP/1.1\nTransfer-Encoding: chunked\n\nb\nhello world\nFf\n";
    char big[600];
    size_t n = strlen(in);
    memcpy(big, in, n);
    memset(big + n, 'x', 255);
    memcpy(big + n + 255, "\n0\n\n", 4);
    snprintf(want, sizeof want, "H45 B%zu E", n - 45 + 255 + 4);
    trace_is(0, NULL, big, n + 259, want, 1);
    /* the final chunk not yet complete: no END */
    in = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n";
    trace_is(0, NULL, in, strlen(in), "H48 B11", 1);
}

static void test_stream_chunked_errors(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        size_t good; /* body bytes before passthrough */
        const char *why;
    } bad[] = {
        { "x\r\n", 0, "invalid chunk size" },
        { "\r\n", 0, "invalid chunk size" },
        { "3x\r\nabc\r\n", 1, "invalid chunk size" },
        { "3 x\r\nabc\r\n", 2, "invalid chunk size" },
        { "3\rabc", 2, "bare CR in a chunk size line" },
        { "3\r\nabcX\r\n", 6, "chunk data not followed by CRLF" },
        { "3\r\nabc\rX", 7, "chunk data not followed by CRLF" },
        { "1000000000000000\r\n", 15, "chunk size too large" },
        { "3;a\x01\r\n", 3, "invalid character in a chunk extension" },
        { "0\r\nX: \0\r\n", 6, "NUL byte in the trailer section" },
        { "0\r\n\rX", 4, "bare CR in the trailer section" },
    };
    const char *head = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char in[256], want[64];
        size_t hl = strlen(head), bl = i == 9 ? 9 : strlen(bad[i].body);
        memcpy(in, head, hl);
        memcpy(in + hl, bad[i].body, bl);
        memcpy(in + hl + bl, "GET / HTTP/1.1\r\n\r\n", 18); /* never parsed again */
        if (bad[i].good)
            snprintf(want, sizeof want, "H48 B%zu P%zu", bad[i].good, bl - bad[i].good + 18);
        else
            snprintf(want, sizeof want, "H48 P%zu", bl + 18);
        trace_is(0, NULL, in, hl + bl + 18, want, 1);
        struct hfs_http1_stream *s = new_stream(0);
        struct run r;
        run_stream(s, in, hl + bl + 18, 0, 0, 1, &r);
        assert_string_equal(r.why, bad[i].why);
        assert_int_equal(hfs_http1_stream_passing(s), HFS_HTTP1_PASS_MALFORMED);
        free(s);
    }
}

static void test_stream_expect_continue(void **state)
{
    (void)state;
    const char *head = "PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
    struct hfs_http1_stream *s = new_stream(0);
    struct hfs_http1_event ev;
    size_t hl = strlen(head);
    assert_int_equal(hfs_http1_stream_feed(s, head, hl, &ev), hl);
    assert_int_equal(ev.kind, HFS_HTTP1_HEAD);
    assert_int_equal(ev.head->expect_continue, 1);
    assert_int_equal(hfs_http1_stream_feed(s, NULL, 0, &ev), 0);
    assert_int_equal(ev.kind, HFS_HTTP1_NEED_MORE); /* waiting for the body */
    assert_int_equal(hfs_http1_stream_feed(s, "da", 2, &ev), 2);
    assert_int_equal(ev.kind, HFS_HTTP1_BODY);
    assert_int_equal(hfs_http1_stream_feed(s, "taGET", 5, &ev), 2);
    assert_int_equal(ev.kind, HFS_HTTP1_BODY);
    assert_int_equal(hfs_http1_stream_feed(s, "GET", 3, &ev), 0);
    assert_int_equal(ev.kind, HFS_HTTP1_END);
    assert_int_equal(hfs_http1_stream_feed(s, "GET", 3, &ev), 3);
    assert_int_equal(ev.kind, HFS_HTTP1_NEED_MORE);
    free(s);
}

static void test_stream_malformed(void **state)
{
    (void)state;
    /* the held bytes come back first, then everything passes through */
    const char *in = "GET / HTTP/1.1\r\nBad Header: x\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    struct hfs_http1_stream *s = new_stream(0);
    struct hfs_http1_event ev;
    assert_int_equal(hfs_http1_stream_feed(s, in, 20, &ev), 20);
    assert_int_equal(ev.kind, HFS_HTTP1_NEED_MORE);
    assert_int_equal(hfs_http1_stream_feed(s, in + 20, 13, &ev), 13);
    assert_int_equal(ev.kind, HFS_HTTP1_PASSTHROUGH);
    assert_int_equal(ev.len, 33);
    assert_memory_equal(ev.data, in, 33);
    assert_int_equal(ev.pass, HFS_HTTP1_PASS_MALFORMED);
    assert_string_equal(ev.why, "whitespace between a header name and its colon");
    assert_int_equal(hfs_http1_stream_feed(s, in + 33, 18, &ev), 18);
    assert_int_equal(ev.kind, HFS_HTTP1_PASSTHROUGH);
    assert_ptr_equal(ev.data, in + 33);
    assert_int_equal(hfs_http1_stream_passing(s), HFS_HTTP1_PASS_MALFORMED);
    free(s);
    trace_is(0, NULL, in, strlen(in), "P51", 1);
    /* after a good request */
    in = "GET / HTTP/1.1\r\n\r\n\x16\x03\x01\x00\x05hello";
    trace_is(0, NULL, in, 28, "H18 E P10", 1);
    /* a binary protocol is refused at its first byte */
    s = new_stream(0);
    assert_int_equal(hfs_http1_stream_feed(s, "\x16\x03", 2, &ev), 2);
    assert_int_equal(ev.kind, HFS_HTTP1_PASSTHROUGH);
    free(s);
}

static void test_stream_h2_and_tunnels(void **state)
{
    (void)state;
    const char *h2 = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04";
    trace_is(0, NULL, h2, 28, "P28", 1);
    struct hfs_http1_stream *s = new_stream(0);
    struct run r;
    run_stream(s, h2, 28, 1, 1, 1, &r);
    assert_int_equal(hfs_http1_stream_passing(s), HFS_HTTP1_PASS_HTTP2);
    assert_string_equal(r.why, "HTTP/2 connection preface");
    free(s);
    const char *c = "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n\x16\x03\x01GET / HTTP/1.1\r\n\r\n";
    trace_is(0, NULL, c, strlen(c), "H39 P21", 1);
    s = new_stream(0);
    run_stream(s, c, strlen(c), 0, 0, 1, &r);
    assert_int_equal(hfs_http1_stream_passing(s), HFS_HTTP1_PASS_TUNNEL);
    free(s);
    const char *u = "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x85xxxxhello";
    trace_is(0, NULL, u, strlen(u), "H61 P11", 1);
}

static void test_stream_finish_and_limits(void **state)
{
    (void)state;
    /* a partial head is given back at close */
    const char *in = "GET / HTTP/1.1\r\nHost: a\r\n";
    struct hfs_http1_stream *s = new_stream(0);
    struct hfs_http1_event ev;
    assert_int_equal(hfs_http1_stream_feed(s, in, strlen(in), &ev), strlen(in));
    assert_int_equal(ev.kind, HFS_HTTP1_NEED_MORE);
    hfs_http1_stream_finish(s, &ev);
    assert_int_equal(ev.kind, HFS_HTTP1_PASSTHROUGH);
    assert_int_equal(ev.len, strlen(in));
    assert_memory_equal(ev.data, in, ev.len);
    assert_int_equal(ev.pass, HFS_HTTP1_PASS_CLOSED);
    assert_string_equal(ev.why, "connection closed inside a head");
    hfs_http1_stream_finish(s, &ev);
    assert_int_equal(ev.kind, HFS_HTTP1_NEED_MORE);
    free(s);
    trace_is(0, NULL, in, strlen(in), "P25", 1);
    /* closed inside a body: nothing to give back, but said */
    s = new_stream(0);
    in = "POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nab";
    struct run r;
    run_stream(s, in, strlen(in), 0, 0, 0, &r);
    assert_string_equal(r.trace, "H38 B2");
    hfs_http1_stream_finish(s, &ev);
    assert_int_equal(ev.kind, HFS_HTTP1_NEED_MORE);
    assert_string_equal(ev.why, "connection closed inside a body");
    free(s);
    /* a head over 64 KiB passes through, whatever the pieces */
    size_t big = HFS_HTTP1_MAX_HEAD + 50;
    char *b = malloc(big);
    assert_non_null(b);
    memcpy(b, "GET / HTTP/1.1\r\nX: ", 19);
    memset(b + 19, 'a', big - 19);
    for (size_t piece = 1; piece <= 4096; piece *= 8) {
        s = new_stream(0);
        run_stream(s, b, big, piece, piece, 1, &r);
        char want[32];
        snprintf(want, sizeof want, "P%zu", big);
        assert_string_equal(r.trace, want);
        assert_string_equal(r.why, "head over 64 KiB");
        free(s);
    }
    free(b);
    /* forced passthrough gives back held bytes */
    s = new_stream(0);
    assert_int_equal(hfs_http1_stream_feed(s, "GET /", 5, &ev), 5);
    hfs_http1_stream_passthrough(s);
    assert_int_equal(hfs_http1_stream_passing(s), HFS_HTTP1_PASS_FORCED);
    assert_int_equal(hfs_http1_stream_feed(s, " HTTP", 5, &ev), 0);
    assert_int_equal(ev.kind, HFS_HTTP1_PASSTHROUGH);
    assert_int_equal(ev.len, 5);
    assert_memory_equal(ev.data, "GET /", 5);
    assert_int_equal(hfs_http1_stream_feed(s, " HTTP", 5, &ev), 5);
    assert_int_equal(ev.kind, HFS_HTTP1_PASSTHROUGH);
    free(s);
}

/* Many small requests in one buffer: each head is parsed in place. */
static void test_stream_many_pipelined(void **state)
{
    (void)state;
    const char *one = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
    size_t ol = strlen(one), n = 3000;
    char *b = malloc(ol * n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        memcpy(b + i * ol, one, ol);
    struct hfs_http1_stream *s = new_stream(0);
    struct hfs_http1_event ev;
    size_t heads = 0, ends = 0, off = 0;
    for (;;) {
        off += hfs_http1_stream_feed(s, b + off, ol * n - off, &ev);
        heads += ev.kind == HFS_HTTP1_HEAD;
        ends += ev.kind == HFS_HTTP1_END;
        if (ev.kind == HFS_HTTP1_NEED_MORE)
            break;
    }
    assert_int_equal(off, ol * n);
    assert_int_equal(heads, n);
    assert_int_equal(ends, n);
    free(s);
    free(b);
}

static const char *const GET1[] = { "GET", NULL };

static void test_response_stream_basic(void **state)
{
    (void)state;
    const char *in = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    trace_is(1, GET1, in, strlen(in), "H38 B5 E", 1);
    /* chunked */
    in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    trace_is(1, GET1, in, strlen(in), "H47 B15 E", 1);
    /* read until close: END only at finish */
    in = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall the rest HTTP/1.1 200 OK\r\n\r\n";
    trace_is(1, GET1, in, strlen(in), "H38 B32 E", 1);
    in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz";
    trace_is(1, GET1, in, strlen(in), "H44 B3 E", 1);
    in = "HTTP/1.0 200 OK\r\n\r\nold";
    trace_is(1, GET1, in, strlen(in), "H19 B3 E", 1);
    struct hfs_http1_stream *s = new_stream(1);
    struct run r;
    run_stream(s, in, strlen(in), 0, 0, 0, &r);
    assert_string_equal(r.trace, "H19 B3");
    free(s);
    /* with no request recorded, a response is taken as answering a GET */
    in = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    trace_is(1, NULL, in, strlen(in), "H38 B2 E", 1);
}

static void test_response_stream_interim(void **state)
{
    (void)state;
    static const char *const put[] = { "PUT", "GET", NULL };
    const char *in = "HTTP/1.1 100 Continue\r\n\r\n"
                     "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                     "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
                     "HTTP/1.1 100 Continue\r\n\r\n"
                     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!";
    trace_is(1, put, in, strlen(in), "H25 E H40 E H43 B2 E H25 E H38 B1 E", 1);
    /* the interim responses did not use up a pending method: the third
     * final response finds none and is taken as a GET */
    struct hfs_http1_stream *s = new_stream(1);
    assert_int_equal(hfs_http1_stream_expect(s, "HEAD", 4), 0);
    const char *h = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
                    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!";
    struct run r;
    run_stream(s, h, strlen(h), 0, 0, 1, &r);
    assert_string_equal(r.trace, "H25 E H38 E H38 B1 E");
    free(s);
}

static void test_response_stream_no_body(void **state)
{
    (void)state;
    static const char *const methods[] = { "HEAD", "GET", "GET", "POST", "GET", NULL };
    const char *in = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"               /* HEAD: 41 */
                     "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"       /* 49 */
                     "HTTP/1.1 204 No Content\r\n\r\n"                               /* 27 */
                     "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n" /* 55 */
                     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";                 /* 38 */
    trace_is(1, methods, in, strlen(in), "H41 E H49 E H27 E H55 E H38 E", 1);
}

static void test_response_stream_tunnels(void **state)
{
    (void)state;
    static const char *const conn[] = { "CONNECT", NULL };
    const char *in = "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03\x00\x02xx";
    trace_is(1, conn, in, 46, "H39 P7", 1);
    /* a refused CONNECT has a body */
    in = "HTTP/1.1 407 Proxy Auth\r\nContent-Length: 3\r\n\r\nno!HTTP/1.1 200 OK\r\n\r\n";
    trace_is(1, conn, in, strlen(in), "H46 B3 E H19 E", 1);
}

static void test_response_stream_upgrade(void **state)
{
    (void)state;
    const char *in = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi";
    trace_is(1, GET1, in, strlen(in), "H56 P4", 1);
    struct hfs_http1_stream *s = new_stream(1);
    struct run r;
    run_stream(s, in, strlen(in), 0, 0, 1, &r);
    assert_int_equal(hfs_http1_stream_passing(s), HFS_HTTP1_PASS_TUNNEL);
    free(s);
    /* a malformed response passes through */
    in = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab";
    trace_is(1, GET1, in, strlen(in), "P59", 1);
}

static void test_response_stream_pending_fifo(void **state)
{
    (void)state;
    struct hfs_http1_stream *s = new_stream(1);
    for (int i = 0; i < HFS_HTTP1_MAX_PENDING; i++)
        assert_int_equal(hfs_http1_stream_expect(s, i % 2 ? "HEAD" : "GET", i % 2 ? 4 : 3), 0);
    assert_int_equal(hfs_http1_stream_expect(s, "GET", 3), -1);
    const char *one = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n";
    struct hfs_http1_event ev;
    size_t n = hfs_http1_stream_feed(s, one, strlen(one), &ev);
    assert_int_equal(n, strlen(one));
    assert_int_equal(ev.kind, HFS_HTTP1_HEAD);
    hfs_http1_stream_feed(s, "x", 1, &ev);
    assert_int_equal(ev.kind, HFS_HTTP1_PASSTHROUGH);
    assert_string_equal(ev.why, "more pipelined requests than the response framer can track");
    free(s);
    /* methods are used in order: GET, HEAD, GET */
    static const char *const m[] = { "GET", "HEAD", "GET", NULL };
    const char *in = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
                     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"
                     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nC";
    trace_is(1, m, in, strlen(in), "H38 B1 E H38 E H38 B1 E", 1);
}

/* rewriter ------------------------------------------------------------------ */

static char g_out[4096];

static long rewrite(const char *head, const struct hfs_http1_edit *e, size_t n)
{
    struct hfs_http1_head h;
    struct hfs_header hd[MAXH];
    size_t len = strlen(head);
    int rc = hfs_http1_parse_request_head(head, len, &h, hd, MAXH, NULL);
    if (rc <= 0)
        rc = hfs_http1_parse_response_head(head, len, &h, hd, MAXH, NULL);
    assert_true(rc > 0);
    long r = hfs_http1_rewrite_head(head, len, &h, e, n, g_out, sizeof g_out - 1);
    if (r >= 0)
        g_out[r] = 0;
    return r;
}

static void rewrite_is(const char *head, const struct hfs_http1_edit *e, size_t n, const char *want)
{
    long r = rewrite(head, e, n);
    assert_int_equal(r, strlen(want));
    assert_string_equal(g_out, want);
    /* and the result is a head */
    struct hfs_http1_head h;
    struct hfs_header hd[MAXH];
    int rc = hfs_http1_parse_request_head(g_out, (size_t)r, &h, hd, MAXH, NULL);
    if (rc <= 0)
        rc = hfs_http1_parse_response_head(g_out, (size_t)r, &h, hd, MAXH, NULL);
    assert_int_equal(rc, r);
}

#define RM(n)                                                                                                          \
    {                                                                                                                  \
        HFS_HTTP1_REMOVE, n, sizeof n - 1, NULL, 0, NULL, NULL                                                         \
    }
#define SET(n, v)                                                                                                      \
    {                                                                                                                  \
        HFS_HTTP1_SET, n, sizeof n - 1, v, sizeof v - 1, NULL, NULL                                                    \
    }

static void test_rewrite_identity(void **state)
{
    (void)state;
    static const char *const heads[] = {
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "\r\n\nGET  /x   HTTP/1.0 \nhOsT:a  \n  \t\nX:\t\tv \r\n\n",
        "POST / HTTP/1.1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: 1\nB:2\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        struct hfs_http1_head h;
        struct hfs_header hd[MAXH];
        size_t len = strlen(heads[i]);
        int rc = hfs_http1_parse_request_head(heads[i], len, &h, hd, MAXH, NULL);
        if (rc <= 0)
            rc = hfs_http1_parse_response_head(heads[i], len, &h, hd, MAXH, NULL);
        if (i == 1) { /* the odd one is malformed (whitespace-only line = obs-fold) */
            assert_int_equal(rc, -1);
            continue;
        }
        assert_int_equal(rc, len);
        char out[256];
        assert_int_equal(hfs_http1_rewrite_head(heads[i], len, &h, NULL, 0, out, sizeof out), len);
        assert_memory_equal(out, heads[i], len);
        /* an edit naming an absent header, REMOVE, changes nothing either */
        struct hfs_http1_edit e[] = { RM("X-Absent") };
        assert_int_equal(hfs_http1_rewrite_head(heads[i], len, &h, e, 1, out, sizeof out), len);
        assert_memory_equal(out, heads[i], len);
    }
    rewrite_is("\r\n\nGET  /x   HTTP/1.0 \nhOsT:a  \nX:\t\tv \r\n\n", NULL, 0,
               "\r\n\nGET  /x   HTTP/1.0 \nhOsT:a  \nX:\t\tv \r\n\n");
}

static void test_rewrite_remove(void **state)
{
    (void)state;
    const char *head = "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\nX-A: 1\r\n"
                       "authorization: Basic y\r\nAUTHORIZATION:z\r\n\r\n";
    struct hfs_http1_edit e[] = { RM("Authorization") };
    rewrite_is(head, e, 1, "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n");
    /* bare LF head, last line removed */
    struct hfs_http1_edit e2[] = { RM("x-a") };
    rewrite_is("GET / HTTP/1.1\nHost: a\nX-A: 1\n\n", e2, 1, "GET / HTTP/1.1\nHost: a\n\n");
    /* every line removed */
    struct hfs_http1_edit e3[] = { RM("host"), RM("X-A") };
    rewrite_is("GET / HTTP/1.1\nHost: a\nX-A: 1\n\n", e3, 2, "GET / HTTP/1.1\n\n");
}

static int starts_bearer(void *ctx, const char *v, size_t n)
{
    ++*(int *)ctx;
    return n >= 7 && memcmp(v, "Bearer ", 7) == 0;
}

static void test_rewrite_remove_predicate(void **state)
{
    (void)state;
    int calls = 0;
    const char *head = "GET / HTTP/1.1\r\nAuthorization:   Bearer x  \r\nauthorization: Basic y\r\n"
                       "Authorization: Bearer z\r\nX: Bearer q\r\n\r\n";
    struct hfs_http1_edit e[] = { { HFS_HTTP1_REMOVE, "authorization", 13, NULL, 0, starts_bearer, &calls } };
    rewrite_is(head, e, 1, "GET / HTTP/1.1\r\nauthorization: Basic y\r\nX: Bearer q\r\n\r\n");
    assert_int_equal(calls, 3); /* once per line named Authorization */
}

static void test_rewrite_set(void **state)
{
    (void)state;
    /* replace in place: name spelling and line end kept, later copies dropped */
    const char *head = "GET / HTTP/1.1\r\nuser-AGENT:  old/1 \r\nHost: a\r\nUser-Agent: old/2\r\nX: y\n\r\n";
    struct hfs_http1_edit e[] = { SET("User-Agent", "hfshim/1.0") };
    rewrite_is(head, e, 1, "GET / HTTP/1.1\r\nuser-AGENT: hfshim/1.0\r\nHost: a\r\nX: y\n\r\n");
    /* a bare-LF line keeps its bare LF */
    struct hfs_http1_edit e2[] = { SET("x", "z") };
    rewrite_is(head, e2, 1, "GET / HTTP/1.1\r\nuser-AGENT:  old/1 \r\nHost: a\r\nUser-Agent: old/2\r\nX: z\n\r\n");
    /* append before the blank line, with the line end of the line before it */
    struct hfs_http1_edit e3[] = { SET("X-Hfshim", "1") };
    rewrite_is("GET / HTTP/1.1\r\nHost: a\r\n\r\n", e3, 1, "GET / HTTP/1.1\r\nHost: a\r\nX-Hfshim: 1\r\n\r\n");
    rewrite_is("GET / HTTP/1.1\nHost: a\n\n", e3, 1, "GET / HTTP/1.1\nHost: a\nX-Hfshim: 1\n\n");
    rewrite_is("GET / HTTP/1.1\r\n\r\n", e3, 1, "GET / HTTP/1.1\r\nX-Hfshim: 1\r\n\r\n");
    rewrite_is("GET / HTTP/1.1\n\r\n", e3, 1, "GET / HTTP/1.1\nX-Hfshim: 1\n\r\n");
    /* empty value */
    struct hfs_http1_edit e4[] = { SET("Host", "") };
    rewrite_is("GET / HTTP/1.1\r\nHost: a\r\n\r\n", e4, 1, "GET / HTTP/1.1\r\nHost: \r\n\r\n");
    /* a response head */
    struct hfs_http1_edit e5[] = { SET("Content-Length", "0"), RM("X-Linked-Size") };
    rewrite_is("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Linked-Size: 9\r\n\r\n", e5, 2,
               "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
}

static void test_rewrite_sequential(void **state)
{
    (void)state;
    const char *head = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nA: 3\r\n\r\n";
    /* SET then REMOVE: gone */
    struct hfs_http1_edit e1[] = { SET("A", "x"), RM("a") };
    rewrite_is(head, e1, 2, "GET / HTTP/1.1\r\nB: 2\r\n\r\n");
    /* REMOVE then SET: appended */
    struct hfs_http1_edit e2[] = { RM("A"), SET("A", "x") };
    rewrite_is(head, e2, 2, "GET / HTTP/1.1\r\nB: 2\r\nA: x\r\n\r\n");
    /* SET twice: the last value, once, in the first line's place */
    struct hfs_http1_edit e3[] = { SET("A", "x"), SET("a", "y") };
    rewrite_is(head, e3, 2, "GET / HTTP/1.1\r\nA: y\r\nB: 2\r\n\r\n");
    /* appended twice: one line, last value */
    struct hfs_http1_edit e4[] = { SET("C", "x"), SET("c", "y") };
    rewrite_is(head, e4, 2, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nA: 3\r\nC: y\r\n\r\n");
    /* appended then removed */
    struct hfs_http1_edit e5[] = { SET("C", "x"), RM("C") };
    rewrite_is(head, e5, 2, head);
    /* several names */
    struct hfs_http1_edit e6[] = { SET("B", "two"), SET("D", "4"), RM("A"), SET("E", "5") };
    rewrite_is(head, e6, 4, "GET / HTTP/1.1\r\nB: two\r\nD: 4\r\nE: 5\r\n\r\n");
}

static void test_rewrite_errors(void **state)
{
    (void)state;
    const char *head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t len = strlen(head);
    struct hfs_http1_head h;
    struct hfs_header hd[MAXH];
    char out[128];
    assert_int_equal(hfs_http1_parse_request_head(head, len, &h, hd, MAXH, NULL), len);
    struct hfs_http1_edit bad[][1] = {
        { SET("X", "a\r\nEvil: 1") },
        { SET("X", "a\nb") },
        { SET("X", "a\rb") },
        { { HFS_HTTP1_SET, "X", 1, "a\0b", 3, NULL, NULL } },
        { SET("Bad Name", "v") },
        { SET("", "v") },
        { RM("X:") },
        { RM("") },
        { { HFS_HTTP1_SET, NULL, 3, "v", 1, NULL, NULL } },
        { { HFS_HTTP1_SET, "X", 1, NULL, 2, NULL, NULL } },
        { { (enum hfs_http1_edit_kind)7, "X", 1, "v", 1, NULL, NULL } },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hfs_http1_rewrite_head(head, len, &h, bad[i], 1, out, sizeof out), -1);
    /* out exactly big enough, and one byte short */
    struct hfs_http1_edit e[] = { SET("X", "1") };
    long want = (long)len + 6;
    assert_int_equal(hfs_http1_rewrite_head(head, len, &h, e, 1, out, (size_t)want), want);
    assert_int_equal(hfs_http1_rewrite_head(head, len, &h, e, 1, out, (size_t)want - 1), -1);
    assert_int_equal(hfs_http1_rewrite_head(head, len, &h, NULL, 0, out, len - 1), -1);
    /* too many edits */
    struct hfs_http1_edit many[HFS_HTTP1_MAX_EDITS + 1];
    for (size_t i = 0; i <= HFS_HTTP1_MAX_EDITS; i++)
        many[i] = (struct hfs_http1_edit)RM("X");
    assert_int_equal(hfs_http1_rewrite_head(head, len, &h, many, HFS_HTTP1_MAX_EDITS, out, sizeof out), len);
    assert_int_equal(hfs_http1_rewrite_head(head, len, &h, many, HFS_HTTP1_MAX_EDITS + 1, out, sizeof out), -1);
    /* h must describe head */
    char copy[64];
    memcpy(copy, head, len);
    assert_int_equal(hfs_http1_rewrite_head(copy, len, &h, NULL, 0, out, sizeof out), -1);
    assert_int_equal(hfs_http1_rewrite_head(head, len - 2, &h, NULL, 0, out, sizeof out), -1);
    struct hfs_http1_head zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(hfs_http1_rewrite_head(head, len, &zero, NULL, 0, out, sizeof out), -1);
}

/* responses ------------------------------------------------------------------ */

static void test_reason(void **state)
{
    (void)state;
    assert_string_equal(hfs_http1_reason(200), "OK");
    assert_string_equal(hfs_http1_reason(403), "Forbidden");
    assert_string_equal(hfs_http1_reason(404), "Not Found");
    assert_string_equal(hfs_http1_reason(451), "Unavailable For Legal Reasons");
    assert_string_equal(hfs_http1_reason(502), "Bad Gateway");
    assert_string_equal(hfs_http1_reason(100), "Continue");
    assert_string_equal(hfs_http1_reason(599), "");
    assert_string_equal(hfs_http1_reason(-1), "");
}

static void test_build_response(void **state)
{
    (void)state;
    char out[512];
    struct hfs_header hd[] = {
        { "Content-Type", 12, "text/plain", 10 },
        { "X-Hfshim", 8, "blocked", 7 },
    };
    const char *want = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nX-Hfshim: blocked\r\n"
                       "Content-Length: 8\r\n\r\nblocked\n";
    long n = hfs_http1_build_response(403, NULL, hd, 2, "blocked\n", 8, 0, out, sizeof out);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, (size_t)n);
    /* head_only: same head, no body */
    n = hfs_http1_build_response(403, NULL, hd, 2, "blocked\n", 8, 1, out, sizeof out);
    assert_int_equal(n, strlen(want) - 8);
    assert_memory_equal(out, want, (size_t)n);
    /* custom reason, empty body */
    n = hfs_http1_build_response(599, "Offline Mode", NULL, 0, NULL, 0, 0, out, sizeof out);
    want = "HTTP/1.1 599 Offline Mode\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, (size_t)n);
    /* unknown code, no reason: empty phrase */
    n = hfs_http1_build_response(599, NULL, NULL, 0, NULL, 0, 0, out, sizeof out);
    want = "HTTP/1.1 599 \r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, (size_t)n);
    /* a given Content-Length or Transfer-Encoding is not doubled */
    struct hfs_header cl[] = { { "content-length", 14, "2", 1 } };
    n = hfs_http1_build_response(200, NULL, cl, 1, "ok", 2, 0, out, sizeof out);
    want = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, (size_t)n);
    /* 204, 304 and 1xx: no Content-Length, no body allowed */
    n = hfs_http1_build_response(204, NULL, NULL, 0, NULL, 0, 0, out, sizeof out);
    want = "HTTP/1.1 204 No Content\r\n\r\n";
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, (size_t)n);
    n = hfs_http1_build_response(100, NULL, NULL, 0, NULL, 0, 0, out, sizeof out);
    assert_int_equal(n, strlen("HTTP/1.1 100 Continue\r\n\r\n"));
    assert_int_equal(hfs_http1_build_response(304, NULL, NULL, 0, "x", 1, 0, out, sizeof out), -1);
    /* exactly enough room, then one byte short */
    want = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    assert_int_equal(hfs_http1_build_response(200, NULL, NULL, 0, "ok", 2, 0, out, strlen(want)), strlen(want));
    assert_int_equal(hfs_http1_build_response(200, NULL, NULL, 0, "ok", 2, 0, out, strlen(want) - 1), -1);
    /* the result parses back */
    struct hfs_http1_head h;
    n = hfs_http1_build_response(403, NULL, hd, 2, "blocked\n", 8, 0, out, sizeof out);
    assert_int_equal(hfs_http1_parse_response_head(out, (size_t)n, &h, g_hdrs, MAXH, NULL), n - 8);
    assert_int_equal(h.status, 403);
    assert_int_equal(h.content_length, 8);
    /* refusals */
    struct hfs_header evil[] = { { "X", 1, "a\r\nSet-Cookie: x", 16 } };
    struct hfs_header badname[] = { { "X Y", 3, "a", 1 } };
    assert_int_equal(hfs_http1_build_response(200, NULL, evil, 1, NULL, 0, 0, out, sizeof out), -1);
    assert_int_equal(hfs_http1_build_response(200, NULL, badname, 1, NULL, 0, 0, out, sizeof out), -1);
    assert_int_equal(hfs_http1_build_response(200, "O\r\nK", NULL, 0, NULL, 0, 0, out, sizeof out), -1);
    assert_int_equal(hfs_http1_build_response(99, NULL, NULL, 0, NULL, 0, 0, out, sizeof out), -1);
    assert_int_equal(hfs_http1_build_response(1000, NULL, NULL, 0, NULL, 0, 0, out, sizeof out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_byte_in_names_and_values),
        cmocka_unit_test(test_header_lines_match_reference),
        cmocka_unit_test(test_request_basic),
        cmocka_unit_test(test_request_target_forms),
        cmocka_unit_test(test_request_tolerances),
        cmocka_unit_test(test_request_connection),
        cmocka_unit_test(test_request_chunked),
        cmocka_unit_test(test_request_cl_and_te),
        cmocka_unit_test(test_request_content_length),
        cmocka_unit_test(test_request_expect_upgrade),
        cmocka_unit_test(test_request_rejections),
        cmocka_unit_test(test_request_header_count),
        cmocka_unit_test(test_request_every_prefix),
        cmocka_unit_test(test_request_early_reject),
        cmocka_unit_test(test_request_size_limit),
        cmocka_unit_test(test_request_h2_preface),
        cmocka_unit_test(test_response_basic),
        cmocka_unit_test(test_response_rejections),
        cmocka_unit_test(test_response_has_body),
        cmocka_unit_test(test_stream_single_get),
        cmocka_unit_test(test_stream_head_bytewise),
        cmocka_unit_test(test_stream_pipelined),
        cmocka_unit_test(test_stream_content_length),
        cmocka_unit_test(test_stream_chunked),
        cmocka_unit_test(test_stream_chunked_errors),
        cmocka_unit_test(test_stream_expect_continue),
        cmocka_unit_test(test_stream_malformed),
        cmocka_unit_test(test_stream_h2_and_tunnels),
        cmocka_unit_test(test_stream_finish_and_limits),
        cmocka_unit_test(test_stream_many_pipelined),
        cmocka_unit_test(test_response_stream_basic),
        cmocka_unit_test(test_response_stream_interim),
        cmocka_unit_test(test_response_stream_no_body),
        cmocka_unit_test(test_response_stream_tunnels),
        cmocka_unit_test(test_response_stream_upgrade),
        cmocka_unit_test(test_response_stream_pending_fifo),
        cmocka_unit_test(test_rewrite_identity),
        cmocka_unit_test(test_rewrite_remove),
        cmocka_unit_test(test_rewrite_remove_predicate),
        cmocka_unit_test(test_rewrite_set),
        cmocka_unit_test(test_rewrite_sequential),
        cmocka_unit_test(test_rewrite_errors),
        cmocka_unit_test(test_reason),
        cmocka_unit_test(test_build_response),
    };
    return cmocka_run_group_tests_name("http1", tests, NULL, NULL);
}
