/* http1: HTTP/1.x head parsing, stream framing, head rewriting and
 * response building (RFC 9112 framing rules; see http1.h). */
#include "http1.h"
#include "url.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#define PREFACE "PRI * HTTP/2.0\r\n"
#define PREFACE_LEN 16
#define MAX_METHOD 32

static int fail(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return -1;
}

static int is_ws(char c) { return c == ' ' || c == '\t'; }

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* One table of byte classes, built at compile time (a head is scanned
 * byte by byte on every request and response): bit 1, an RFC 9110 tchar
 * (ALPHA / DIGIT / "!#$%&'*+-.^_`|~"); bit 2, a control character other
 * than HTAB, or DEL. */
#define TCHAR_BIT(c)                                                                                                   \
    ((c) < 64    ? (0x03ff6cfa00000000ULL >> ((c)&63) & 1)                                                             \
     : (c) < 128 ? (0x57ffffffc7fffffeULL >> (((c)-64) & 63) & 1)                                                      \
                 : 0)
#define CTL_BIT(c) ((((c) < 0x20 && (c) != '\t') || (c) == 0x7f) ? 2 : 0)
#define CLS1(c) (unsigned char)(TCHAR_BIT(c) | CTL_BIT(c))
#define CLS4(c) CLS1(c), CLS1((c) + 1), CLS1((c) + 2), CLS1((c) + 3)
#define CLS16(c) CLS4(c), CLS4((c) + 4), CLS4((c) + 8), CLS4((c) + 12)
#define CLS64(c) CLS16(c), CLS16((c) + 16), CLS16((c) + 32), CLS16((c) + 48)
static const unsigned char byte_class[256] = { CLS64(0), CLS64(64), CLS64(128), CLS64(192) };

static int is_tchar(char ch) { return byte_class[(unsigned char)ch] & 1; }

/* a control character other than HTAB, or DEL */
static int is_ctl(char ch) { return byte_class[(unsigned char)ch] >> 1 & 1; }

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* s[0..n) equals the C string lit (written in lower case), ignoring the
 * case of s; inlined, lit's length is a constant compared first */
static inline int ieq(const char *s, size_t n, const char *lit)
{
    if (n != __builtin_strlen(lit))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(s[i]) != lit[i])
            return 0;
    return 1;
}

/* A header's name is the literal lit (any case): the length first, so
 * that a header is compared with none of the names it cannot be (this
 * runs for every header line of every request and response). */
#define NAME_IS(hd, lit) ((hd)->name_len == sizeof(lit) - 1 && ieq((hd)->name, (hd)->name_len, lit))

static int ieqn(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return 0;
    for (size_t i = 0; i < an; i++)
        if (lower(a[i]) != lower(b[i]))
            return 0;
    return 1;
}

static int is_token(const char *s, size_t n)
{
    if (!s || n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar(s[i]))
            return 0;
    return 1;
}

/* Walks a comma-separated list: returns 1 with the next element (trimmed,
 * possibly empty) in e and el, 0 at the end. */
static int next_elem(const char *v, size_t vl, size_t *pos, const char **e, size_t *el)
{
    size_t i = *pos, a, b;
    if (i > vl)
        return 0;
    a = i;
    while (i < vl && v[i] != ',')
        i++;
    b = i;
    while (a < b && is_ws(v[a]))
        a++;
    while (b > a && is_ws(v[b - 1]))
        b--;
    *e = v + a;
    *el = b - a;
    *pos = i + 1;
    return 1;
}

/* What the header lines say about framing, while they are read. */
struct scan {
    long long cl;
    int te_last_chunked, close, keep_alive, hosts, upgrade_hdr;
};

static int interpret(struct hfs_http1_head *h, struct scan *sc, int response, const struct hfs_header *hd,
                     const char **why)
{
    const char *v = hd->value, *e;
    size_t vl = hd->value_len, pos = 0, el;
    if (NAME_IS(hd, "content-length")) {
        while (next_elem(v, vl, &pos, &e, &el)) {
            long long n = 0;
            if (el == 0)
                return fail(why, "Content-Length is not a number");
            for (size_t i = 0; i < el; i++) {
                if (!is_digit(e[i]))
                    return fail(why, "Content-Length is not a number");
                if (n > (LLONG_MAX - 9) / 10)
                    return fail(why, "Content-Length is too large");
                n = n * 10 + (e[i] - '0');
            }
            if (sc->cl >= 0 && sc->cl != n)
                return fail(why, "conflicting Content-Length values");
            sc->cl = n;
        }
    } else if (NAME_IS(hd, "transfer-encoding")) {
        h->transfer_encoding = 1;
        while (next_elem(v, vl, &pos, &e, &el))
            if (el)
                sc->te_last_chunked = ieq(e, el, "chunked");
    } else if (NAME_IS(hd, "connection")) {
        while (next_elem(v, vl, &pos, &e, &el)) {
            if (ieq(e, el, "close"))
                sc->close = 1;
            else if (ieq(e, el, "keep-alive"))
                sc->keep_alive = 1;
        }
    } else if (!response && NAME_IS(hd, "expect")) {
        if (ieq(v, vl, "100-continue"))
            h->expect_continue = 1;
    } else if (!response && NAME_IS(hd, "upgrade")) {
        sc->upgrade_hdr = 1;
    } else if (!response && NAME_IS(hd, "host")) {
        if (++sc->hosts > 1)
            return fail(why, "more than one Host header");
    }
    return 0;
}

/* Splits a complete request target into authority / path / query. */
static int split_target(struct hfs_http1_head *h, const char **why)
{
    const char *t = h->target;
    size_t n = h->target_len, i = 0, p;
    if (h->method_len == 7 && memcmp(h->method, "CONNECT", 7) == 0) {
        h->authority = t;
        h->authority_len = n;
        return 0;
    }
    if (n == 1 && t[0] == '*') {
        h->path = t;
        h->path_len = 1;
        return 0;
    }
    if (t[0] != '/') { /* absolute-form: scheme "://" authority [path] */
        while (i < n && ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
                         (i > 0 && (is_digit(t[i]) || t[i] == '+' || t[i] == '-' || t[i] == '.'))))
            i++;
        if (i == 0 || i + 3 > n || memcmp(t + i, "://", 3) != 0)
            return fail(why, "invalid request target");
        i += 3;
        h->authority = t + i;
        while (i < n && t[i] != '/' && t[i] != '?' && t[i] != '#')
            i++;
        h->authority_len = (size_t)(t + i - h->authority);
    }
    p = i;
    while (i < n && t[i] != '?' && t[i] != '#')
        i++;
    h->path = t + p;
    h->path_len = i - p;
    if (i < n && t[i] == '?') {
        h->query = t + ++i;
        while (i < n && t[i] != '#')
            i++;
        h->query_len = (size_t)(t + i - h->query);
    }
    return 0;
}

/* "HTTP/1.<digit>" at s[*i..n): 1 matched, 0 a valid beginning (partial
 * line), -1 not it. */
static int version(const char *s, size_t n, size_t *i, int *minor)
{
    static const char v[] = "HTTP/1.";
    size_t k = 0;
    for (; k < 7 && *i + k < n; k++)
        if (s[*i + k] != v[k])
            return -1;
    if (*i + 7 >= n)
        return 0;
    if (!is_digit(s[*i + 7]))
        return -1;
    *minor = s[*i + 7] - '0';
    *i += 8;
    return 1;
}

/* The request line s[0..n) (line end removed); partial: no line end yet.
 * Returns 0 (valid, or a valid beginning when partial) or -1. */
static int request_line(const char *s, size_t n, int partial, struct hfs_http1_head *h, const char **why)
{
    size_t i = 0, t0;
    int rc;
    while (i < n && is_tchar(s[i]))
        i++;
    if (i > MAX_METHOD)
        return fail(why, "request method too long");
    if (i == n)
        return partial ? 0 : fail(why, "malformed request line");
    if (i == 0 || !is_ws(s[i]))
        return fail(why, "invalid character in the request method");
    h->method = s;
    h->method_len = i;
    while (i < n && is_ws(s[i]))
        i++;
    t0 = i;
    while (i < n && !is_ws(s[i])) {
        if (is_ctl(s[i]))
            return fail(why, "invalid character in the request target");
        i++;
    }
    if (i == n)
        return partial ? 0 : fail(why, "malformed request line");
    h->target = s + t0;
    h->target_len = i - t0;
    while (i < n && is_ws(s[i]))
        i++;
    rc = version(s, n, &i, &h->minor);
    if (rc < 0)
        return fail(why, "unsupported HTTP version");
    if (rc == 0)
        return partial ? 0 : fail(why, "malformed request line");
    while (i < n && is_ws(s[i]))
        i++;
    if (i < n)
        return fail(why, "malformed request line");
    return partial ? 0 : split_target(h, why);
}

static int status_line(const char *s, size_t n, int partial, struct hfs_http1_head *h, const char **why)
{
    size_t i = 0, r;
    int rc = version(s, n, &i, &h->minor), st = 0;
    if (rc < 0)
        return fail(why, "malformed status line");
    if (rc == 0)
        return partial ? 0 : fail(why, "malformed status line");
    if (i == n)
        return partial ? 0 : fail(why, "malformed status line");
    if (!is_ws(s[i]))
        return fail(why, "malformed status line");
    while (i < n && is_ws(s[i]))
        i++;
    for (int k = 0; k < 3; k++, i++) {
        if (i == n)
            return partial ? 0 : fail(why, "malformed status line");
        if (!is_digit(s[i]))
            return fail(why, "malformed status line");
        st = st * 10 + (s[i] - '0');
    }
    if (st < 100)
        return fail(why, "malformed status line");
    if (i < n && !is_ws(s[i]))
        return fail(why, "malformed status line");
    while (i < n && is_ws(s[i]))
        i++;
    for (r = i; r < n; r++)
        if (is_ctl(s[r]))
            return fail(why, "invalid character in the reason phrase");
    r = n;
    while (r > i && is_ws(s[r - 1]))
        r--;
    h->status = st;
    h->reason = s + i;
    h->reason_len = r - i;
    return 0;
}

/* Bytes of one line (without its line end) may hold no NUL and no CR; a
 * partial line may end in the CR of its CRLF. */
static int line_bytes_ok(const char *p, size_t n, int partial, const char **why)
{
    const char *cr;
    if (memchr(p, 0, n))
        return fail(why, "NUL byte in the head");
    cr = memchr(p, '\r', n);
    if (cr && !(partial && cr == p + n - 1))
        return fail(why, "bare CR in the head");
    return 0;
}

/* The common header line in one pass: a name of tchars, its colon, then
 * value bytes with no control character up to CRLF or LF. Sets *colon,
 * *eol (the LF) and *end (where the line's text ends); 0 for anything
 * else, which the checks one by one then judge (they accept exactly the
 * lines this accepts, with the same fields, and give the errors). */
static int header_line_fast(const char *buf, size_t pos, size_t lim, size_t *colon, size_t *eol, size_t *end)
{
    size_t i = pos, k;
    while (i < lim && is_tchar(buf[i]))
        i++;
    if (i == pos || i >= lim || buf[i] != ':')
        return 0;
    for (k = i + 1; k + 8 <= lim; k += 8) { /* 8 value bytes at a time while none is below 0x20 or DEL */
        uint64_t x, y;
        memcpy(&x, buf + k, 8);
        y = x ^ 0x7f7f7f7f7f7f7f7fULL;
        if (((x - 0x2020202020202020ULL) & ~x & 0x8080808080808080ULL) |
            ((y - 0x0101010101010101ULL) & ~y & 0x8080808080808080ULL))
            break; /* a control byte, DEL or HTAB among them: byte by byte */
    }
    for (; k < lim && !is_ctl(buf[k]); k++)
        ;
    if (k < lim && buf[k] == '\n')
        *eol = *end = k;
    else if (k + 1 < lim && buf[k] == '\r' && buf[k + 1] == '\n')
        *end = (*eol = k + 1) - 1;
    else
        return 0;
    *colon = i;
    return 1;
}

const char hfs_http1_too_big[] = "head over 64 KiB";

static int need_more(size_t len, const char **why)
{
    return len >= HFS_HTTP1_MAX_HEAD ? fail(why, hfs_http1_too_big) : 0;
}

static int parse_head(const char *buf, size_t len, int response, struct hfs_http1_head *h, struct hfs_header *hdrs,
                      size_t maxhdrs, const char **why, int *line_done)
{
    size_t lim = len < HFS_HTTP1_MAX_HEAD ? len : HFS_HTTP1_MAX_HEAD, pos = 0, eol, end;
    const char *lf;
    struct scan sc = { .cl = -1 };
    memset(h, 0, sizeof *h);
    h->headers = hdrs;
    h->content_length = -1;
    if (line_done)
        *line_done = 0;
    if (len == 0)
        return 0;
    if (!response) {
        size_t n = lim < PREFACE_LEN ? lim : PREFACE_LEN;
        if (memcmp(buf, PREFACE, n) == 0) {
            if (n < PREFACE_LEN)
                return 0;
            if (why)
                *why = "HTTP/2 connection preface";
            return HFS_HTTP1_H2;
        }
    }
    while (pos < lim && (buf[pos] == '\n' || buf[pos] == '\r')) { /* leading empty lines */
        if (buf[pos] == '\n') {
            pos++;
            continue;
        }
        if (pos + 1 == lim)
            return need_more(len, why);
        if (buf[pos + 1] != '\n')
            return fail(why, "bare CR in the head");
        pos += 2;
    }
    h->start = pos;
    lf = memchr(buf + pos, '\n', lim - pos);
    if (!lf) {
        if (line_bytes_ok(buf + pos, lim - pos, 1, why) < 0)
            return -1;
        end = lim - pos;
        if (end && buf[pos + end - 1] == '\r')
            end--;
        if ((response ? status_line : request_line)(buf + pos, end, 1, h, why) < 0)
            return -1;
        return need_more(len, why);
    }
    eol = (size_t)(lf - buf);
    end = eol > pos && buf[eol - 1] == '\r' ? eol - 1 : eol;
    if (line_bytes_ok(buf + pos, end - pos, 0, why) < 0)
        return -1;
    if (end == pos)
        return fail(why, response ? "malformed status line" : "malformed request line");
    if ((response ? status_line : request_line)(buf + pos, end - pos, 0, h, why) < 0)
        return -1;
    if (line_done)
        *line_done = 1;
    pos = h->hdr_start = eol + 1;
    for (;;) {
        size_t i, v, ve;
        struct hfs_header hd;
        if (!header_line_fast(buf, pos, lim, &i, &eol, &end)) {
            /* anything else (the empty line, a partial or malformed line):
             * the checks one by one, in the order their errors are given */
            lf = memchr(buf + pos, '\n', lim - pos);
            if (!lf) {
                if (line_bytes_ok(buf + pos, lim - pos, 1, why) < 0)
                    return -1;
                return need_more(len, why);
            }
            eol = (size_t)(lf - buf);
            end = eol > pos && buf[eol - 1] == '\r' ? eol - 1 : eol;
            if (line_bytes_ok(buf + pos, end - pos, 0, why) < 0)
                return -1;
            if (end == pos) {
                h->hdr_end = pos;
                h->len = eol + 1;
                break;
            }
            if (is_ws(buf[pos]))
                return fail(why, "obs-fold (a header line starting with whitespace)");
            i = pos;
            while (i < end && is_tchar(buf[i]))
                i++;
            if (i == end)
                return fail(why, "header line without a colon");
            if (buf[i] != ':') {
                if (is_ws(buf[i]))
                    return fail(why, "whitespace between a header name and its colon");
                return fail(why, "invalid character in a header name");
            }
            if (i == pos)
                return fail(why, "empty header name");
            for (size_t k = i + 1; k < end; k++)
                if (is_ctl(buf[k]))
                    return fail(why, "control character in a header value");
        }
        v = i + 1;
        while (v < end && is_ws(buf[v]))
            v++;
        ve = end;
        while (ve > v && is_ws(buf[ve - 1]))
            ve--;
        if (h->nheaders >= maxhdrs)
            return fail(why, "too many header lines");
        hd.name = buf + pos;
        hd.name_len = i - pos;
        hd.value = buf + v;
        hd.value_len = ve - v;
        if (hdrs)
            hdrs[h->nheaders] = hd;
        h->nheaders++;
        if (interpret(h, &sc, response, &hd, why) < 0)
            return -1;
        pos = eol + 1;
    }
    /* framing (RFC 9112 6) */
    h->content_length = sc.cl;
    if (h->transfer_encoding) {
        if (h->minor == 0 && !response)
            return fail(why, "Transfer-Encoding in an HTTP/1.0 request");
        if (!sc.te_last_chunked && !response)
            return fail(why, "Transfer-Encoding whose last coding is not chunked");
        h->chunked = sc.te_last_chunked && h->minor > 0;
        if (h->minor == 0)
            sc.close = 1; /* faulty framing: read until close */
        if (sc.cl >= 0) {
            h->cl_overridden = 1;
            h->content_length = -1;
            h->note = "Transfer-Encoding overrides Content-Length";
        }
    }
    h->connection_close = sc.close || (h->minor == 0 && !sc.keep_alive);
    if (response)
        h->upgrade = h->status == 101;
    else
        h->upgrade = sc.upgrade_hdr || (h->method_len == 7 && memcmp(h->method, "CONNECT", 7) == 0);
    return (int)h->len;
}

int hfs_http1_parse_request_head(const char *buf, size_t len, struct hfs_http1_head *h, struct hfs_header *hdrs,
                                 size_t maxhdrs, const char **why)
{
    return parse_head(buf, len, 0, h, hdrs, maxhdrs, why, NULL);
}

int hfs_http1_parse_response_head(const char *buf, size_t len, struct hfs_http1_head *h, struct hfs_header *hdrs,
                                  size_t maxhdrs, const char **why)
{
    return parse_head(buf, len, 1, h, hdrs, maxhdrs, why, NULL);
}

int hfs_http1_response_has_body(const char *method, size_t method_len, int status)
{
    if (status < 200 || status == 204 || status == 304)
        return 0;
    if (method && method_len == 4 && memcmp(method, "HEAD", 4) == 0)
        return 0;
    if (method && method_len == 7 && memcmp(method, "CONNECT", 7) == 0 && status / 100 == 2)
        return 0;
    return 1;
}

/* Stream framers ------------------------------------------------------- */

enum {
    S_HEAD,
    S_CL,
    S_CSIZE,
    S_CWS,
    S_CEXT,
    S_CSIZE_LF,
    S_CDATA,
    S_CDATA_CR,
    S_CDATA_LF,
    S_TRAIL_START,
    S_TRAIL_LINE,
    S_TRAIL_LF,
    S_CLOSE_BODY,
    S_END,
    S_PASS,
};

enum { M_OTHER, M_HEAD, M_CONNECT };

void hfs_http1_stream_init(struct hfs_http1_stream *s, int response)
{
    s->response = response != 0;
    s->state = S_HEAD;
    s->pass = HFS_HTTP1_PASS_NO;
    s->pass_why = NULL;
    s->held = s->parsed_at = 0;
    s->line_ok = 0;
    s->remaining = 0;
    s->chunk_digits = 0;
    s->cur_method = M_OTHER;
    s->pend_head = s->pend_count = 0;
    s->pend_overflow = 0;
    memset(&s->head, 0, sizeof s->head);
}

static void set_pass(struct hfs_http1_stream *s, enum hfs_http1_pass p, const char *why)
{
    s->state = S_PASS;
    s->pass = p;
    s->pass_why = why;
}

static void event(struct hfs_http1_event *ev, enum hfs_http1_event_kind k, const char *data, size_t len)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = k;
    ev->data = data;
    ev->len = len;
}

static void pass_event(struct hfs_http1_stream *s, struct hfs_http1_event *ev, const char *data, size_t len)
{
    event(ev, HFS_HTTP1_PASSTHROUGH, data, len);
    ev->pass = s->pass;
    ev->why = s->pass_why;
}

static int method_class(const char *m, size_t n)
{
    if (n == 4 && memcmp(m, "HEAD", 4) == 0)
        return M_HEAD;
    if (n == 7 && memcmp(m, "CONNECT", 7) == 0)
        return M_CONNECT;
    return M_OTHER;
}

int hfs_http1_stream_expect(struct hfs_http1_stream *s, const char *method, size_t method_len)
{
    if (s->pend_count >= HFS_HTTP1_MAX_PENDING) {
        s->pend_overflow = 1;
        return -1;
    }
    s->pending[(s->pend_head + s->pend_count) % HFS_HTTP1_MAX_PENDING] =
        (unsigned char)method_class(method ? method : "", method ? method_len : 0);
    s->pend_count++;
    return 0;
}

/* A method whose request carries a body (an HTTP/1.0 one without
 * Content-Length runs until the client half-closes). */
static int body_method(const struct hfs_http1_head *h)
{
    return (h->method_len == 4 && memcmp(h->method, "POST", 4) == 0) ||
           (h->method_len == 3 && memcmp(h->method, "PUT", 3) == 0) ||
           (h->method_len == 5 && memcmp(h->method, "PATCH", 5) == 0);
}

/* The head buf[0..hlen) is complete (and parsed into s->head): report it
 * and pick how the message goes on. */
static void head_done(struct hfs_http1_stream *s, size_t hlen, struct hfs_http1_event *ev)
{
    const struct hfs_http1_head *h = &s->head;
    s->held = s->parsed_at = 0;
    s->line_ok = 0;
    s->remaining = 0;
    s->chunk_digits = 0;
    event(ev, HFS_HTTP1_HEAD, s->buf, hlen);
    ev->head = h;
    if (!s->response) {
        if (h->upgrade)
            set_pass(s, HFS_HTTP1_PASS_TUNNEL, "CONNECT or Upgrade request: the connection becomes a tunnel");
        else if (h->chunked)
            s->state = S_CSIZE;
        else if (h->content_length > 0) {
            s->state = S_CL;
            s->remaining = (unsigned long long)h->content_length;
        } else if (h->minor == 0 && h->connection_close && h->content_length < 0 && body_method(h))
            s->state = S_CLOSE_BODY; /* an HTTP/1.0 body the half-close ends: the server answers
                                        once and closes, so nothing after it is a request */
        else
            s->state = S_END;
        return;
    }
    if (h->status < 200 && h->status != 101) { /* interim: the final response follows */
        s->state = S_END;
        return;
    }
    if (s->pend_overflow) {
        set_pass(s, HFS_HTTP1_PASS_MALFORMED, "more pipelined requests than the response framer can track");
        return;
    }
    s->cur_method = M_OTHER;
    if (s->pend_count) {
        s->cur_method = s->pending[s->pend_head];
        s->pend_head = (s->pend_head + 1) % HFS_HTTP1_MAX_PENDING;
        s->pend_count--;
    }
    if (h->status == 101 || (s->cur_method == M_CONNECT && h->status / 100 == 2))
        set_pass(s, HFS_HTTP1_PASS_TUNNEL, "101 or 2xx to CONNECT: the connection becomes a tunnel");
    else if (s->cur_method == M_HEAD || h->status == 204 || h->status == 304)
        s->state = S_END;
    else if (h->chunked)
        s->state = S_CSIZE;
    else if (h->transfer_encoding || h->content_length < 0)
        s->state = S_CLOSE_BODY;
    else if (h->content_length > 0) {
        s->state = S_CL;
        s->remaining = (unsigned long long)h->content_length;
    } else
        s->state = S_END;
}

static void head_failed(struct hfs_http1_stream *s, int rc, const char *why)
{
    if (rc == HFS_HTTP1_H2)
        set_pass(s, HFS_HTTP1_PASS_HTTP2, "HTTP/2 connection preface");
    else
        set_pass(s, HFS_HTTP1_PASS_MALFORMED, why ? why : "malformed head");
}

/* an LF at buf[i] that ends an empty line */
static int ends_empty_line(const char *b, size_t i)
{
    return i == 0 || b[i - 1] == '\n' || (b[i - 1] == '\r' && (i == 1 || b[i - 2] == '\n'));
}

/* The head parsed at from[0..len) was copied to to: its pointers follow
 * (what a second parse of the copy would give, without the parse). */
static void rebase(struct hfs_http1_head *h, struct hfs_header *hdrs, const char *from, size_t len, char *to)
{
#define HFS_REBASE(p)                                                                                                  \
    do {                                                                                                               \
        if ((p) && (p) >= from && (p) <= from + len)                                                                   \
            (p) = to + ((p)-from);                                                                                     \
    } while (0)
    HFS_REBASE(h->method);
    HFS_REBASE(h->target);
    HFS_REBASE(h->authority);
    HFS_REBASE(h->path);
    HFS_REBASE(h->query);
    HFS_REBASE(h->reason);
    for (size_t i = 0; i < h->nheaders; i++) {
        HFS_REBASE(hdrs[i].name);
        HFS_REBASE(hdrs[i].value);
    }
#undef HFS_REBASE
}

static size_t feed_head(struct hfs_http1_stream *s, const char *data, size_t len, struct hfs_http1_event *ev)
{
    const char *why = NULL;
    int rc, ld = 0, trigger;
    size_t old = s->held, n;
    if (len == 0) {
        event(ev, HFS_HTTP1_NEED_MORE, NULL, 0);
        return 0;
    }
    if (old == 0) { /* parse in place first: no copy for a head that is all there */
        rc = parse_head(data, len, s->response, &s->head, s->hdrs, HFS_HTTP1_STREAM_MAXHDRS, &why, &ld);
        if (rc > 0) {
            memcpy(s->buf, data, (size_t)rc);
            rebase(&s->head, s->hdrs, data, (size_t)rc, s->buf);
            head_done(s, (size_t)rc, ev);
            return (size_t)rc;
        }
        if (rc < 0) {
            head_failed(s, rc, why);
            pass_event(s, ev, data, len);
            return len;
        }
        memcpy(s->buf, data, len); /* len < HFS_HTTP1_MAX_HEAD, or rc would be -1 */
        s->held = s->parsed_at = len;
        s->line_ok = ld;
        event(ev, HFS_HTTP1_NEED_MORE, NULL, 0);
        return len;
    }
    n = len < HFS_HTTP1_MAX_HEAD - old ? len : HFS_HTTP1_MAX_HEAD - old;
    memcpy(s->buf + old, data, n);
    s->held = old + n;
    /* parse again only when it can tell something new: a line that may
     * end the head, the end of the start line, a NUL, the limit, or the
     * buffer doubled since the last parse (keeps 1-byte feeds linear) */
    trigger = s->held == HFS_HTTP1_MAX_HEAD || s->held >= 2 * s->parsed_at || memchr(s->buf + old, 0, n);
    for (size_t i = old; !trigger && i < s->held; i++)
        if (s->buf[i] == '\n' && (!s->line_ok || ends_empty_line(s->buf, i)))
            trigger = 1;
    if (!trigger) {
        event(ev, HFS_HTTP1_NEED_MORE, NULL, 0);
        return n;
    }
    rc = parse_head(s->buf, s->held, s->response, &s->head, s->hdrs, HFS_HTTP1_STREAM_MAXHDRS, &why, &ld);
    s->parsed_at = s->held;
    s->line_ok |= ld;
    if (rc > 0 && (size_t)rc > old) {
        head_done(s, (size_t)rc, ev);
        return (size_t)rc - old;
    }
    if (rc != 0) {
        size_t held = s->held;
        if (rc > 0) /* cannot happen: the head's end was in earlier bytes */
            rc = -1, why = "head end missed";
        head_failed(s, rc, why);
        s->held = 0;
        pass_event(s, ev, s->buf, held);
        return n;
    }
    event(ev, HFS_HTTP1_NEED_MORE, NULL, 0);
    return n;
}

static size_t feed_chunked(struct hfs_http1_stream *s, const char *data, size_t len, struct hfs_http1_event *ev)
{
    size_t i = 0;
    const char *err = NULL;
    int done = 0;
    if (len == 0) {
        event(ev, HFS_HTTP1_NEED_MORE, NULL, 0);
        return 0;
    }
    while (i < len && !done && !err) {
        char c = data[i];
        int size_line_done = 0;
        switch (s->state) {
        case S_CDATA: {
            size_t take = len - i;
            if ((unsigned long long)take > s->remaining)
                take = (size_t)s->remaining;
            i += take;
            s->remaining -= take;
            if (s->remaining == 0)
                s->state = S_CDATA_CR;
            continue;
        }
        case S_CSIZE:
            if (hfs_hexval(c) >= 0) {
                if (s->chunk_digits >= 15) {
                    err = "chunk size too large";
                    break;
                }
                s->remaining = s->remaining * 16 + (unsigned)hfs_hexval(c);
                s->chunk_digits++;
            } else if (s->chunk_digits == 0)
                err = "invalid chunk size";
            else if (is_ws(c))
                s->state = S_CWS;
            else if (c == ';')
                s->state = S_CEXT;
            else if (c == '\r')
                s->state = S_CSIZE_LF;
            else if (c == '\n')
                size_line_done = 1;
            else
                err = "invalid chunk size";
            break;
        case S_CWS:
            if (c == ';')
                s->state = S_CEXT;
            else if (c == '\r')
                s->state = S_CSIZE_LF;
            else if (c == '\n')
                size_line_done = 1;
            else if (!is_ws(c))
                err = "invalid chunk size";
            break;
        case S_CEXT:
            if (c == '\r')
                s->state = S_CSIZE_LF;
            else if (c == '\n')
                size_line_done = 1;
            else if (is_ctl(c))
                err = "invalid character in a chunk extension";
            break;
        case S_CSIZE_LF:
            if (c == '\n')
                size_line_done = 1;
            else
                err = "bare CR in a chunk size line";
            break;
        case S_CDATA_CR:
            if (c == '\r')
                s->state = S_CDATA_LF;
            else if (c == '\n')
                s->state = S_CSIZE;
            else
                err = "chunk data not followed by CRLF";
            break;
        case S_CDATA_LF:
            if (c == '\n')
                s->state = S_CSIZE;
            else
                err = "chunk data not followed by CRLF";
            break;
        case S_TRAIL_START:
            if (c == '\r')
                s->state = S_TRAIL_LF;
            else if (c == '\n')
                done = 1;
            else if (c == 0)
                err = "NUL byte in the trailer section";
            else
                s->state = S_TRAIL_LINE;
            break;
        case S_TRAIL_LINE: {
            size_t k = i;
            while (k < len && data[k] != '\n' && data[k] != 0)
                k++;
            if (k == len) {
                i = len;
                continue;
            }
            if (data[k] == 0) {
                i = k;
                err = "NUL byte in the trailer section";
                break;
            }
            i = k;
            s->state = S_TRAIL_START;
            break;
        }
        case S_TRAIL_LF:
            if (c == '\n')
                done = 1;
            else
                err = "bare CR in the trailer section";
            break;
        default: err = "framer state"; break;
        }
        if (err)
            break;
        if (size_line_done) {
            s->chunk_digits = 0;
            s->state = s->remaining ? S_CDATA : S_TRAIL_START;
        }
        i++;
    }
    if (err) {
        set_pass(s, HFS_HTTP1_PASS_MALFORMED, err);
        if (i == 0) {
            pass_event(s, ev, data, len);
            return len;
        }
    }
    if (done)
        s->state = S_END;
    event(ev, HFS_HTTP1_BODY, data, i);
    return i;
}

size_t hfs_http1_stream_feed(struct hfs_http1_stream *s, const char *data, size_t len, struct hfs_http1_event *ev)
{
    size_t n;
    switch (s->state) {
    case S_HEAD: return feed_head(s, data, len, ev);
    case S_END:
        event(ev, HFS_HTTP1_END, NULL, 0);
        ev->head = &s->head;
        s->state = S_HEAD;
        return 0;
    case S_PASS:
        if (s->held) {
            n = s->held;
            s->held = 0;
            pass_event(s, ev, s->buf, n);
            return 0;
        }
        if (len == 0) {
            event(ev, HFS_HTTP1_NEED_MORE, NULL, 0);
            return 0;
        }
        pass_event(s, ev, data, len);
        return len;
    case S_CL:
        if (len == 0) {
            event(ev, HFS_HTTP1_NEED_MORE, NULL, 0);
            return 0;
        }
        n = (unsigned long long)len < s->remaining ? len : (size_t)s->remaining;
        s->remaining -= n;
        if (s->remaining == 0)
            s->state = S_END;
        event(ev, HFS_HTTP1_BODY, data, n);
        return n;
    case S_CLOSE_BODY:
        if (len == 0) {
            event(ev, HFS_HTTP1_NEED_MORE, NULL, 0);
            return 0;
        }
        event(ev, HFS_HTTP1_BODY, data, len);
        return len;
    default: return feed_chunked(s, data, len, ev);
    }
}

void hfs_http1_stream_finish(struct hfs_http1_stream *s, struct hfs_http1_event *ev)
{
    size_t n = s->held;
    switch (s->state) {
    case S_HEAD:
        if (n) {
            set_pass(s, HFS_HTTP1_PASS_CLOSED, "connection closed inside a head");
            s->held = 0;
            pass_event(s, ev, s->buf, n);
            return;
        }
        event(ev, HFS_HTTP1_NEED_MORE, NULL, 0);
        return;
    case S_END:
    case S_CLOSE_BODY:
        event(ev, HFS_HTTP1_END, NULL, 0);
        ev->head = &s->head;
        s->state = S_HEAD;
        return;
    case S_PASS:
        if (n) {
            s->held = 0;
            pass_event(s, ev, s->buf, n);
            return;
        }
        event(ev, HFS_HTTP1_NEED_MORE, NULL, 0);
        return;
    default:
        event(ev, HFS_HTTP1_NEED_MORE, NULL, 0);
        ev->why = "connection closed inside a body";
        return;
    }
}

void hfs_http1_stream_passthrough(struct hfs_http1_stream *s)
{
    if (s->state != S_PASS)
        set_pass(s, HFS_HTTP1_PASS_FORCED, "passthrough requested");
}

size_t hfs_http1_stream_passable(const struct hfs_http1_stream *s)
{
    switch (s->state) {
    case S_CL:
    case S_CDATA: return s->remaining > (unsigned long long)SIZE_MAX ? SIZE_MAX : (size_t)s->remaining;
    case S_CLOSE_BODY: return SIZE_MAX;
    case S_PASS: return s->held ? 0 : SIZE_MAX;
    default: return 0;
    }
}

int hfs_http1_stream_at_start(const struct hfs_http1_stream *s)
{
    return (s->state == S_HEAD && s->held == 0) || s->state == S_END;
}

size_t hfs_http1_stream_head_held(const struct hfs_http1_stream *s) { return s->state == S_HEAD ? s->held : 0; }

enum hfs_http1_pass hfs_http1_stream_passing(const struct hfs_http1_stream *s)
{
    return s->state == S_PASS ? s->pass : HFS_HTTP1_PASS_NO;
}

/* Writing ------------------------------------------------------------------ */

struct out {
    char *p;
    size_t cap, n;
    int bad;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->bad || n > o->cap - o->n) {
        o->bad = 1;
        return;
    }
    if (n)
        memcpy(o->p + o->n, s, n);
    o->n += n;
}

static void puts_(struct out *o, const char *s) { put(o, s, strlen(s)); }

static void put_num(struct out *o, unsigned long long v)
{
    char b[24];
    size_t i = sizeof b;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(o, b + i, sizeof b - i);
}

static int has_crlfnul(const char *s, size_t n)
{
    return n && (memchr(s, '\r', n) || memchr(s, '\n', n) || memchr(s, 0, n));
}

/* Runs edits[from..n) over one line (name nm, current value v, vl):
 * returns 0 when an edit drops it; *set tells whether a SET changed it. */
static int apply_edits(const struct hfs_http1_edit *edits, size_t from, size_t n, const char *nm, size_t nml,
                       uint64_t *claimed, const char **v, size_t *vl, int *set)
{
    for (size_t k = from; k < n; k++) {
        const struct hfs_http1_edit *e = &edits[k];
        if (!ieqn(e->name, e->name_len, nm, nml))
            continue;
        if (e->kind == HFS_HTTP1_REMOVE) {
            if (!e->pred || e->pred(e->ctx, *v, *vl))
                return 0;
        } else {
            if (*claimed & ((uint64_t)1 << k))
                return 0;
            *claimed |= (uint64_t)1 << k;
            *v = e->value ? e->value : "";
            *vl = e->value_len;
            *set = 1;
        }
    }
    return 1;
}

long hfs_http1_rewrite_head(const char *head, size_t len, const struct hfs_http1_head *h,
                            const struct hfs_http1_edit *edits, size_t nedits, char *out, size_t outcap)
{
    struct out o = { out, outcap, 0, 0 };
    uint64_t claimed = 0;
    const char *eol;
    size_t prev;
    if (!head || !h || (!out && outcap) || nedits > HFS_HTTP1_MAX_EDITS || (nedits && !edits))
        return -1;
    /* h must describe head */
    if (h->hdr_start < 1 || h->hdr_start > h->hdr_end || h->hdr_end >= len || (h->nheaders && !h->headers))
        return -1;
    prev = h->hdr_start;
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct hfs_header *hd = &h->headers[i];
        if (hd->name != head + prev || hd->name_len == 0 || prev + hd->name_len >= h->hdr_end)
            return -1;
        if (hd->value < hd->name + hd->name_len || hd->value > head + h->hdr_end ||
            hd->value_len > (size_t)(head + h->hdr_end - hd->value))
            return -1;
        eol = memchr(hd->value + hd->value_len, '\n', (size_t)(head + h->hdr_end - (hd->value + hd->value_len)));
        if (!eol)
            return -1;
        prev = (size_t)(eol - head) + 1;
    }
    if (prev != h->hdr_end)
        return -1;
    for (size_t k = 0; k < nedits; k++) {
        const struct hfs_http1_edit *e = &edits[k];
        if (!is_token(e->name, e->name_len) || (e->kind != HFS_HTTP1_REMOVE && e->kind != HFS_HTTP1_SET))
            return -1;
        if (e->kind == HFS_HTTP1_SET && ((!e->value && e->value_len) || has_crlfnul(e->value, e->value_len)))
            return -1;
    }
    put(&o, head, h->hdr_start);
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct hfs_header *hd = &h->headers[i];
        size_t ls = (size_t)(hd->name - head);
        size_t le = i + 1 < h->nheaders ? (size_t)(h->headers[i + 1].name - head) : h->hdr_end;
        const char *v = hd->value;
        size_t vl = hd->value_len;
        int set = 0;
        if (!apply_edits(edits, 0, nedits, hd->name, hd->name_len, &claimed, &v, &vl, &set))
            continue;
        if (!set) {
            put(&o, head + ls, le - ls);
            continue;
        }
        put(&o, hd->name, hd->name_len);
        put(&o, ": ", 2);
        put(&o, v, vl);
        if (le - ls >= 2 && head[le - 2] == '\r')
            put(&o, "\r\n", 2);
        else
            put(&o, "\n", 1);
    }
    /* lines to append take the line end of the line before the blank line */
    eol = h->hdr_end >= 2 && head[h->hdr_end - 2] == '\r' ? "\r\n" : "\n";
    for (size_t k = 0; k < nedits; k++) {
        const struct hfs_http1_edit *e = &edits[k];
        const char *v;
        size_t vl;
        int set = 0;
        if (e->kind != HFS_HTTP1_SET || (claimed & ((uint64_t)1 << k)))
            continue;
        claimed |= (uint64_t)1 << k;
        v = e->value ? e->value : "";
        vl = e->value_len;
        if (!apply_edits(edits, k + 1, nedits, e->name, e->name_len, &claimed, &v, &vl, &set))
            continue;
        put(&o, e->name, e->name_len);
        put(&o, ": ", 2);
        put(&o, v, vl);
        puts_(&o, eol);
    }
    put(&o, head + h->hdr_end, len - h->hdr_end);
    return o.bad || o.n > LONG_MAX ? -1 : (long)o.n;
}

/* Responses -------------------------------------------------------------- */

int hfs_http1_is_token(const char *s, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar(s[i]))
            return 0;
    return 1;
}

const char *hfs_http1_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 511: return "Network Authentication Required";
    }
    return "";
}

const char *hfs_reason_phrase(int status)
{
    const char *r = hfs_http1_reason(status);
    return *r ? r : "Status";
}

long hfs_http1_build_response(int status, const char *reason, const struct hfs_header *hdrs, size_t n, const char *body,
                              size_t body_len, int head_only, char *out, size_t cap)
{
    struct out o = { out, cap, 0, 0 };
    int no_body = status < 200 || status == 204 || status == 304, framed = 0;
    if (status < 100 || status > 999 || (!out && cap) || (n && !hdrs) || (body_len && !body))
        return -1;
    if (no_body && body_len)
        return -1;
    if (!reason)
        reason = hfs_http1_reason(status);
    if (strchr(reason, '\r') || strchr(reason, '\n'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!is_token(hdrs[i].name, hdrs[i].name_len) || (!hdrs[i].value && hdrs[i].value_len) ||
            has_crlfnul(hdrs[i].value, hdrs[i].value_len))
            return -1;
        if (ieq(hdrs[i].name, hdrs[i].name_len, "content-length") ||
            ieq(hdrs[i].name, hdrs[i].name_len, "transfer-encoding"))
            framed = 1;
    }
    puts_(&o, "HTTP/1.1 ");
    put_num(&o, (unsigned)status);
    put(&o, " ", 1);
    puts_(&o, reason);
    put(&o, "\r\n", 2);
    for (size_t i = 0; i < n; i++) {
        put(&o, hdrs[i].name, hdrs[i].name_len);
        put(&o, ": ", 2);
        put(&o, hdrs[i].value, hdrs[i].value_len);
        put(&o, "\r\n", 2);
    }
    if (!framed && !no_body) {
        puts_(&o, "Content-Length: ");
        put_num(&o, body_len);
        put(&o, "\r\n", 2);
    }
    put(&o, "\r\n", 2);
    if (!head_only)
        put(&o, body, body_len);
    return o.bad || o.n > LONG_MAX ? -1 : (long)o.n;
}

int hfs_http1_looks_like_request(const char *d, size_t n)
{
    size_t i = 0, eol = 0;
    while (i < n && i < 32 && ((d[i] >= 'A' && d[i] <= 'Z') || d[i] == '-' || d[i] == '_'))
        i++;
    if (i == 0 || i >= n || d[i] != ' ')
        return 0;
    while (eol < n && d[eol] != '\n' && d[eol] != '\r')
        eol++;
    if (eol == n)
        return 1; /* the line is not over (the parser stopped inside it): it may still become one */
    for (size_t k = i + 1; k + 6 <= eol; k++) /* " HTTP/" after a target */
        if (memcmp(d + k, " HTTP/", 6) == 0 && k > i + 1)
            return 1;
    return 0;
}
