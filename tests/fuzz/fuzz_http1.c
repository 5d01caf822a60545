/* fuzz_http1: libFuzzer target for the HTTP/1.x module. Byte 0 and 1 pick
 * the direction, the pending methods and how the rest is cut into feeds
 * (piece sizes come from the input bytes). Checked: the event data of a
 * stream concatenate back to the input, and feeding it whole or in pieces
 * gives the same heads, ends and passthrough point; every HEAD event
 * re-parses to its own length; a parsed head has every pointer inside it,
 * each proper prefix of it needs more bytes, rewriting it with no edits is
 * the identity and with edits gives a head that parses and holds exactly
 * the edited lines; built responses parse back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http1.h"

#define MAXEV 2048

struct trace {
    size_t nev;
    unsigned char kind[MAXEV];
    size_t at[MAXEV]; /* input offset after a HEAD/END, at the start of PASSTHROUGH */
    size_t pass_at;   /* where passthrough began, or SIZE_MAX */
};

static struct hfs_http1_stream g_stream;
static char g_out[HFS_HTTP1_MAX_HEAD * 2 + 1024];
static char g_cat[1 << 20];
static struct hfs_header g_hdrs[80], g_hdrs2[80];

static const char *const METHODS[4] = { "GET", "HEAD", "CONNECT", "POST" };

static void check_head_event(const struct hfs_http1_stream *s, const struct hfs_http1_event *ev)
{
    struct hfs_http1_head h;
    struct hfs_header hd[HFS_HTTP1_STREAM_MAXHDRS];
    int rc = (s->response ? hfs_http1_parse_response_head
                          : hfs_http1_parse_request_head)(ev->data, ev->len, &h, hd, HFS_HTTP1_STREAM_MAXHDRS, NULL);
    if (rc <= 0 || (size_t)rc != ev->len || ev->head->len != ev->len || ev->len > HFS_HTTP1_MAX_HEAD)
        abort();
    if (ev->head->nheaders != h.nheaders || ev->head->content_length != h.content_length ||
        ev->head->chunked != h.chunked)
        abort();
}

static void record(struct trace *t, unsigned char k, size_t at)
{
    if (t->nev < MAXEV) {
        t->kind[t->nev] = k;
        t->at[t->nev] = at;
    }
    t->nev++;
}

/* feeds in[0..n) (pieces: 0 = whole) and records the trace */
static void run(const char *in, size_t n, int response, unsigned mcode, unsigned npend, size_t maxpiece, unsigned salt,
                struct trace *t)
{
    struct hfs_http1_stream *s = &g_stream;
    struct hfs_http1_event ev;
    size_t off = 0, cat = 0;
    memset(t, 0, sizeof *t);
    t->pass_at = SIZE_MAX;
    hfs_http1_stream_init(s, response);
    for (unsigned i = 0; i < npend; i++)
        hfs_http1_stream_expect(s, METHODS[(mcode >> (2 * (i % 4))) & 3],
                                strlen(METHODS[(mcode >> (2 * (i % 4))) & 3]));
    size_t consumed = 0; /* input bytes the stream has taken */
    for (;;) {
        size_t piece = n - off;
        if (maxpiece && off < n) {
            size_t want = 1 + (((unsigned char)in[off] * 131u + salt) % maxpiece);
            if (want < piece)
                piece = want;
        }
        const char *p = in + off;
        size_t left = piece;
        for (int guard = 0;; guard++) {
            if (guard > 100000)
                abort(); /* no progress */
            size_t used = hfs_http1_stream_feed(s, p, left, &ev);
            if (used > left)
                abort();
            p += used;
            left -= used;
            consumed += used;
            if (ev.kind == HFS_HTTP1_NEED_MORE) {
                if (left)
                    abort();
                break;
            }
            if (ev.kind == HFS_HTTP1_HEAD) {
                check_head_event(s, &ev);
                record(t, 'H', consumed);
            } else if (ev.kind == HFS_HTTP1_END) {
                if (ev.data || ev.len)
                    abort();
                record(t, 'E', consumed);
            } else if (ev.kind == HFS_HTTP1_PASSTHROUGH) {
                if (!ev.why || ev.pass == HFS_HTTP1_PASS_NO || hfs_http1_stream_passing(s) == HFS_HTTP1_PASS_NO)
                    abort();
                if (t->pass_at == SIZE_MAX)
                    t->pass_at = cat;
            } else if (ev.kind == HFS_HTTP1_BODY) {
                if (ev.data < in || ev.data + ev.len > in + n || ev.len == 0)
                    abort(); /* body bytes are the caller's, never copied */
            }
            if (ev.len) {
                if (!ev.data || cat + ev.len > sizeof g_cat)
                    abort();
                memcpy(g_cat + cat, ev.data, ev.len);
                cat += ev.len;
            }
        }
        off += piece;
        if (off >= n)
            break;
    }
    for (int guard = 0;; guard++) {
        if (guard > 4)
            abort();
        hfs_http1_stream_finish(s, &ev);
        if (ev.kind == HFS_HTTP1_NEED_MORE)
            break;
        if (ev.kind == HFS_HTTP1_PASSTHROUGH && t->pass_at == SIZE_MAX)
            t->pass_at = cat;
        if (ev.kind == HFS_HTTP1_END)
            record(t, 'E', consumed);
        if (ev.len) {
            memcpy(g_cat + cat, ev.data, ev.len);
            cat += ev.len;
        }
    }
    /* nothing lost, duplicated or reordered */
    if (consumed != n || cat != n || (n && memcmp(g_cat, in, n) != 0))
        abort();
}

static int odd_len(void *ctx, const char *v, size_t l)
{
    (void)ctx;
    (void)v;
    return l & 1;
}

static size_t count_named(const struct hfs_http1_head *h, const char *name, size_t nl, const char *value, size_t vl,
                          int *wrong)
{
    size_t c = 0;
    for (size_t i = 0; i < h->nheaders; i++)
        if (h->headers[i].name_len == nl && strncasecmp(h->headers[i].name, name, nl) == 0) {
            c++;
            if (value && (h->headers[i].value_len != vl || memcmp(h->headers[i].value, value, vl) != 0))
                *wrong = 1;
        }
    return c;
}

static void check_parse(const char *in, size_t n, int response, unsigned salt)
{
    struct hfs_http1_head h, h2;
    const char *why = NULL;
    int (*parse)(const char *, size_t, struct hfs_http1_head *, struct hfs_header *, size_t, const char **) =
        response ? hfs_http1_parse_response_head : hfs_http1_parse_request_head;
    int rc = parse(in, n, &h, g_hdrs, 64, &why);
    if (rc == -1 || rc == HFS_HTTP1_H2) {
        if (!why || (rc == HFS_HTTP1_H2 && (response || n < 16 || memcmp(in, "PRI * HTTP/2.0\r\n", 16))))
            abort();
        return;
    }
    if (rc == 0) {
        if (n >= HFS_HTTP1_MAX_HEAD)
            abort();
        return;
    }
    size_t len = (size_t)rc;
    if (rc < 0 || len > n || len > HFS_HTTP1_MAX_HEAD || h.len != len || h.hdr_end >= len || h.hdr_start > h.hdr_end ||
        h.start >= h.hdr_start || h.nheaders > 64 || h.content_length < -1 || (h.chunked && h.content_length != -1))
        abort();
    if (!response && (!h.method || h.method < in || h.method + h.method_len > in + len || !h.target ||
                      h.target + h.target_len > in + len))
        abort();
    if (response && (h.status < 100 || h.status > 999 || !h.reason))
        abort();
    for (size_t i = 0; i < h.nheaders; i++)
        if (h.headers[i].name < in + h.hdr_start || h.headers[i].value + h.headers[i].value_len > in + h.hdr_end ||
            h.headers[i].name_len == 0)
            abort();
    /* proper prefixes need more */
    size_t k1 = len - 1, k2 = (salt * 7919u) % len;
    if (parse(in, k1, &h2, g_hdrs2, 64, NULL) != 0 || parse(in, k2, &h2, g_hdrs2, 64, NULL) != 0)
        abort();
    /* identity */
    long r = hfs_http1_rewrite_head(in, len, &h, NULL, 0, g_out, sizeof g_out);
    if (r != (long)len || memcmp(g_out, in, len) != 0)
        abort();
    /* edits */
    struct hfs_http1_edit e[4];
    size_t ne = 0;
    const char *n0 = h.nheaders > 0 ? h.headers[0].name : NULL;
    size_t n0l = n0 ? h.headers[0].name_len : 0;
    if (n0)
        e[ne++] = (struct hfs_http1_edit){ HFS_HTTP1_REMOVE, n0, n0l, NULL, 0, NULL, NULL };
    e[ne++] = (struct hfs_http1_edit){ HFS_HTTP1_SET, "X-Hfs", 5, "10", 2, NULL, NULL };
    e[ne++] = (struct hfs_http1_edit){ HFS_HTTP1_SET, "User-Agent", 10, "fuzz", 4, NULL, NULL };
    if (h.nheaders > 1 &&
        !(h.headers[1].name_len == 17 && strncasecmp(h.headers[1].name, "transfer-encoding", 17) == 0))
        e[ne++] = (struct hfs_http1_edit){
            HFS_HTTP1_REMOVE, h.headers[1].name, h.headers[1].name_len, NULL, 0, odd_len, NULL
        };
    r = hfs_http1_rewrite_head(in, len, &h, e, ne, g_out, sizeof g_out);
    if (r < 0)
        abort();
    rc = parse(g_out, (size_t)r, &h2, g_hdrs2, 80, &why);
    if (rc != r) {
        if (r > HFS_HTTP1_MAX_HEAD && rc == -1)
            return;
        abort();
    }
    int wrong = 0;
    if (count_named(&h2, "X-Hfs", 5, "10", 2, &wrong) != 1 ||
        count_named(&h2, "User-Agent", 10, "fuzz", 4, &wrong) != 1 || wrong)
        abort();
    if (n0 && !(n0l == 5 && strncasecmp(n0, "x-hfs", 5) == 0) &&
        !(n0l == 10 && strncasecmp(n0, "user-agent", 10) == 0)) {
        if (count_named(&h2, n0, n0l, NULL, 0, &wrong) != 0)
            abort();
    }
    /* the start line is untouched */
    if (memcmp(g_out, in, h.hdr_start) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct trace *whole = malloc(sizeof *whole), *cut = malloc(sizeof *cut);
    if (size < 2 || size > sizeof g_cat || !whole || !cut) {
        free(whole);
        free(cut);
        return 0;
    }
    unsigned c0 = data[0], c1 = data[1];
    const char *in = (const char *)data + 2;
    size_t n = size - 2;
    int response = c0 & 1;
    unsigned npend = (c0 >> 1) & 7, mcode = c1;
    size_t maxpiece = (c0 & 0x80) ? 1 + (c1 % 4096) : 1 + (c1 % 16);
    run(in, n, response, mcode, npend, 0, c1, whole);
    run(in, n, response, mcode, npend, maxpiece, c1, cut);
    if (whole->nev != cut->nev || whole->pass_at != cut->pass_at)
        abort();
    for (size_t i = 0; i < whole->nev && i < MAXEV; i++)
        if (whole->kind[i] != cut->kind[i] || whole->at[i] != cut->at[i])
            abort();
    check_parse(in, n, response, c1);
    check_parse(in, n, !response, c1);
    /* a built response parses back */
    {
        int status = 100 + (int)((c0 * 256u + c1) % 900);
        size_t bl = n > 64 ? 64 : n;
        int nobody = status < 200 || status == 204 || status == 304;
        struct hfs_header hd = { "X-Fuzz", 6, "1", 1 };
        long r = hfs_http1_build_response(status, NULL, &hd, 1, in, nobody ? 0 : bl, c0 & 2, g_out, sizeof g_out);
        struct hfs_http1_head h;
        if (r < 0)
            abort();
        int rc = hfs_http1_parse_response_head(g_out, (size_t)r, &h, g_hdrs, 64, NULL);
        if (rc <= 0 || h.status != status || h.content_length != (nobody ? -1 : (long long)bl) ||
            (size_t)r != (size_t)rc + ((c0 & 2) || nobody ? 0 : bl))
            abort();
    }
    free(whole);
    free(cut);
    return 0;
}
