/* test_conn: unit tests of the per-connection HTTP/1.x engine
 * (shim/core/conn.h) over a fake io: send appends to a "wire" buffer
 * (at most K bytes a call, would-block every so often, wait succeeds),
 * recv serves a scripted server byte string in chunks, and the judge
 * decides by path ("/answer..." answers with a response naming the path,
 * "/close..." answers and closes, "/fail" fails, "/strip" forwards with
 * Authorization removed, anything else is forwarded). Checked: forwarded
 * requests reach the wire byte for byte, edits touch only their lines,
 * answered requests and their bodies never reach the wire, large bodies
 * survive a slow peer under hfs_conn_write's return-value contract,
 * keep-alive and pipelined sequences read back in request order, HEAD
 * framing, FAIL, virtual connections, take_answer, close_after,
 * pass-through of HTTP/2 and non-HTTP bytes, and that the wire does not
 * depend on where the application splits its writes.
 * Also the three engine bugs they found (now fixed): an interim 100
 * response ending a request's turn, answers read after a closing answer,
 * and an answered CONNECT/Upgrade swallowing the rest of the connection. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

/* fake io ------------------------------------------------------------------ */

struct fake {
    char *wire;
    size_t wire_len, wire_cap;
    size_t maxsend;      /* 0: no limit */
    unsigned zero_every; /* every Nth send call would block (0: never) */
    unsigned sends, zeros, waits;
    const char *srv; /* scripted server bytes */
    size_t srv_len, srv_off;
    size_t chunk; /* recv gives at most this many (0: no limit) */
    int srv_eof;  /* at the end of srv: 1 = EOF (0), 0 = would block (-1) */
    unsigned judged;
    char ans[512]; /* the answer of the last ANSWER verdict */
    struct hfs_http1_edit strip;
    /* "/retry...": watched, retried without Authorization on a 401 */
    unsigned shown, released;
    int shown_status[8], shown_can[8];
};

static int f_on_response(void *watch, const struct hfs_http1_head *h, int can_retry)
{
    struct fake *f = watch;
    if (f->shown < 8) {
        f->shown_status[f->shown] = h->status;
        f->shown_can[f->shown] = can_retry;
    }
    f->shown++;
    return h->status == 401;
}

static void f_release(void *watch) { ((struct fake *)watch)->released++; }

static long f_send(void *ctx, const char *p, size_t n)
{
    struct fake *f = ctx;
    f->sends++;
    if (f->zero_every && f->sends % f->zero_every == 0) {
        f->zeros++;
        return 0;
    }
    if (f->maxsend && n > f->maxsend)
        n = f->maxsend;
    if (f->wire_len + n > f->wire_cap) {
        size_t cap = f->wire_cap ? f->wire_cap : 4096;
        while (cap < f->wire_len + n)
            cap *= 2;
        f->wire = realloc(f->wire, cap);
        assert_non_null(f->wire);
        f->wire_cap = cap;
    }
    memcpy(f->wire + f->wire_len, p, n);
    f->wire_len += n;
    return (long)n;
}

static int f_wait(void *ctx)
{
    struct fake *f = ctx;
    f->waits++;
    return 0;
}

static long f_recv(void *ctx, char *buf, size_t n)
{
    struct fake *f = ctx;
    size_t left = f->srv_len - f->srv_off;
    if (left == 0)
        return f->srv_eof ? 0 : -1;
    if (n > left)
        n = left;
    if (f->chunk && n > f->chunk)
        n = f->chunk;
    memcpy(buf, f->srv + f->srv_off, n);
    f->srv_off += n;
    return (long)n;
}

static int path_is(const struct hfs_http1_head *h, const char *p)
{
    size_t l = strlen(p);
    return h->path_len >= l && memcmp(h->path, p, l) == 0;
}

/* the answer to a request for path P: "HTTP/1.1 200 OK...\r\n\r\nP" */
static size_t answer_for(char *out, size_t cap, const char *path, size_t plen, int close_after)
{
    int n = snprintf(out, cap, "HTTP/1.1 200 OK\r\n%sContent-Length: %zu\r\n\r\n%.*s",
                     close_after ? "Connection: close\r\n" : "", plen, (int)plen, path);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

static void f_judge(void *ctx, struct hfs_conn *c, const struct hfs_http1_head *h, const char *head, size_t len,
                    struct hfs_conn_verdict *v)
{
    struct fake *f = ctx;
    (void)c;
    (void)head;
    (void)len;
    f->judged++;
    if (path_is(h, "/answer") || path_is(h, "/close")) {
        int cl = path_is(h, "/close");
        v->act = HFS_CONN_ANSWER;
        v->answer = f->ans;
        v->answer_len = answer_for(f->ans, sizeof f->ans, h->path, h->path_len, cl);
        v->close_after = cl;
    } else if (path_is(h, "/retry")) {
        v->act = HFS_CONN_FORWARD;
        v->watch = f;
        v->on_response = f_on_response;
        v->watch_release = f_release;
        v->retry_without_auth = 1;
    } else if (path_is(h, "/hang")) { /* faults (hang, reset rules) */
        v->act = HFS_CONN_ANSWER;
        v->hang = 1;
    } else if (path_is(h, "/cutans")) {
        v->act = HFS_CONN_ANSWER;
        v->answer = f->ans;
        v->answer_len = answer_for(f->ans, sizeof f->ans, h->path, h->path_len, 0);
        v->reset = 1;
        v->cut = 20;
    } else if (path_is(h, "/cut")) {
        v->act = HFS_CONN_FORWARD;
        v->reset = 1;
        v->cut = 30;
        v->rate = 1000;
    } else if (path_is(h, "/fail")) {
        v->act = HFS_CONN_FAIL;
    } else if (path_is(h, "/strip")) {
        f->strip = (struct hfs_http1_edit){ HFS_HTTP1_REMOVE, "Authorization", 13, NULL, 0, NULL, NULL };
        v->act = HFS_CONN_FORWARD;
        v->edits = &f->strip;
        v->nedits = 1;
    } else {
        v->act = HFS_CONN_FORWARD;
    }
}

static struct hfs_conn_io io_of(struct fake *f) { return (struct hfs_conn_io){ f_send, f_wait, f_recv, f_judge, f }; }

static void fake_free(struct fake *f) { free(f->wire); }

static void wire_is(const struct fake *f, const char *want, size_t len)
{
    if (f->wire_len != len || (len && memcmp(f->wire, want, len) != 0))
        print_message("wire (%zu): [%.*s]\nwant (%zu): [%.*s]\n", f->wire_len, (int)f->wire_len, f->wire ? f->wire : "",
                      len, (int)len, want);
    assert_int_equal(f->wire_len, len);
    if (len)
        assert_memory_equal(f->wire, want, len);
}

/* writes all of buf (retrying after 0 as a poller would), checking the
 * return-value contract on every call */
static void write_all(struct hfs_conn *c, struct fake *f, const char *buf, size_t n, size_t piece)
{
    struct hfs_conn_io io = io_of(f);
    size_t off = 0;
    unsigned zeros_in_a_row = 0;
    while (off < n) {
        size_t want = piece && n - off > piece ? piece : n - off;
        size_t wire0 = f->wire_len;
        unsigned judged0 = f->judged, waits0 = f->waits;
        int owed0 = hfs_conn_owes(c);
        long r = hfs_conn_write(c, buf + off, want, &io);
        if (r < 0)
            print_message("write failed: %s\n", hfs_conn_failed(c) ? hfs_conn_failed(c) : "?");
        assert_true(r >= 0);
        assert_true((size_t)r <= want);
        assert_int_equal(f->waits, waits0); /* a write never waits for the peer */
        if (r == 0 && !hfs_conn_owes(c)) {  /* nothing taken: nothing judged; only owed bytes sent */
            if (!owed0)
                assert_int_equal(f->wire_len, wire0);
            assert_int_equal(f->judged, judged0);
            assert_true(++zeros_in_a_row < 100);
        } else if (r == 0) { /* the byte it took is kept back (owed): written again */
            assert_true(++zeros_in_a_row < 100);
        } else {
            zeros_in_a_row = 0;
        }
        off += (size_t)r;
    }
}

static void write_str(struct hfs_conn *c, struct fake *f, const char *s) { write_all(c, f, s, strlen(s), 0); }

/* reads until the engine says would-block (-1) or EOF (0); returns bytes */
static size_t read_avail(struct hfs_conn *c, struct fake *f, char *out, size_t cap, size_t bufsz, long *last)
{
    struct hfs_conn_io io = io_of(f);
    size_t got = 0;
    char buf[65536];
    if (bufsz > sizeof buf)
        bufsz = sizeof buf;
    for (int guard = 0; guard < 1000000; guard++) {
        long r = hfs_conn_read(c, buf, bufsz, &io);
        *last = r;
        if (r <= 0)
            return got;
        assert_true((size_t)r <= bufsz);
        assert_true(got + (size_t)r <= cap);
        memcpy(out + got, buf, (size_t)r);
        got += (size_t)r;
    }
    fail_msg("read does not stop");
    return got;
}

static void read_is(struct hfs_conn *c, struct fake *f, size_t bufsz, const char *want, long want_last)
{
    static char out[1 << 16];
    long last = 99;
    size_t got = read_avail(c, f, out, sizeof out, bufsz, &last);
    if (got != strlen(want) || memcmp(out, want, got) != 0)
        print_message("read (%zu): [%.*s]\nwant (%zu): [%s]\n", got, (int)got, out, strlen(want), want);
    assert_int_equal(got, strlen(want));
    assert_memory_equal(out, want, got);
    assert_int_equal(last, want_last);
}

#define GET(p) "GET " p " HTTP/1.1\r\nHost: example.com\r\n\r\n"
#define ANS(p) "HTTP/1.1 200 OK\r\nContent-Length: " #p "\r\n\r\n"

/* the answer test_conn's judge gives to path p */
static const char *ans_of(const char *p, int close_after)
{
    static char buf[4][512];
    static int i;
    char *b = buf[i++ & 3];
    answer_for(b, 512, p, strlen(p), close_after);
    return b;
}

/* tests -------------------------------------------------------------------- */

/* token hygiene: a 401 to a watched request is dropped and the request
 * sent again without Authorization; the app reads only the second answer */
#define RQ(p, extra) "GET " p " HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer hf_stale\r\n" extra "\r\n"
#define RQ_ANON(p, extra) "GET " p " HTTP/1.1\r\nHost: h\r\n" extra "\r\n"
#define R401                                                                                                           \
    "HTTP/1.1 401 Unauthorized\r\nX-Error-Message: Invalid credentials in Authorization header\r\nContent-Length: "    \
    "9\r\n\r\n{\"e\":401}"
#define R200 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

static void test_retry_without_auth(void **state)
{
    (void)state;
    static const size_t chunks[] = { 0, 1, 7, 64 };
    for (size_t ci = 0; ci < sizeof chunks / sizeof *chunks; ci++) {
        struct fake f = { .srv = R401 R200, .srv_len = strlen(R401 R200), .chunk = chunks[ci] };
        struct hfs_conn *c = hfs_conn_new(0);
        write_str(c, &f, RQ("/retry/a", ""));
        wire_is(&f, RQ("/retry/a", ""), strlen(RQ("/retry/a", "")));
        read_is(c, &f, 4096, R200, -1);
        const char *w = RQ("/retry/a", "") RQ_ANON("/retry/a", "");
        wire_is(&f, w, strlen(w));
        assert_int_equal(f.shown, 2); /* the 401 (can retry), then the retry's answer */
        assert_int_equal(f.shown_status[0], 401);
        assert_int_equal(f.shown_can[0], 1);
        assert_int_equal(f.shown_status[1], 200);
        assert_int_equal(f.shown_can[1], 0);
        assert_int_equal(hfs_conn_outstanding(c), 0);
        assert_int_equal(f.released, 1);
        /* the connection goes on as usual */
        f.srv = R401 R200 R200;
        f.srv_len = strlen(f.srv);
        write_str(c, &f, GET("/plain"));
        read_is(c, &f, 4096, R200, -1);
        hfs_conn_free(c);
        fake_free(&f);
    }
}

/* a request sent with "Connection: close" goes the first time without it
 * (else the 401 would end the connection); the retry keeps it */
static void test_retry_connection_close(void **state)
{
    (void)state;
    struct fake f = { .srv = R401 R200, .srv_len = strlen(R401 R200), .srv_eof = 1 };
    struct hfs_conn *c = hfs_conn_new(0);
    write_str(c, &f, RQ("/retry/c", "Connection: close\r\n"));
    wire_is(&f, RQ("/retry/c", ""), strlen(RQ("/retry/c", "")));
    read_is(c, &f, 4096, R200, 0);
    const char *w = RQ("/retry/c", "") RQ_ANON("/retry/c", "Connection: close\r\n");
    wire_is(&f, w, strlen(w));
    hfs_conn_free(c);
    fake_free(&f);
}

/* no retry when it cannot go unnoticed: the 401 closes the connection,
 * or another request waits behind; the app reads the 401 as it came */
static void test_retry_not_possible(void **state)
{
    (void)state;
    const char *r401c = "HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nX-Error-Message: Invalid credentials in "
                        "Authorization header\r\nContent-Length: 9\r\n\r\n{\"e\":401}";
    struct fake f = { .srv = r401c, .srv_len = strlen(r401c), .srv_eof = 1 };
    struct hfs_conn *c = hfs_conn_new(0);
    write_str(c, &f, RQ("/retry/x", ""));
    read_is(c, &f, 4096, r401c, 0);
    assert_int_equal(f.shown, 1);
    assert_int_equal(f.shown_can[0], 0);
    wire_is(&f, RQ("/retry/x", ""), strlen(RQ("/retry/x", "")));
    hfs_conn_free(c);
    fake_free(&f);

    struct fake g = { .srv = R401 R200, .srv_len = strlen(R401 R200) };
    c = hfs_conn_new(0);
    write_str(c, &g, RQ("/retry/y", ""));
    write_str(c, &g, GET("/next")); /* pipelined behind it */
    read_is(c, &g, 4096, R401 R200, -1);
    assert_int_equal(g.shown_can[0], 0);
    hfs_conn_free(c);
    fake_free(&g);
}

/* the peer closes after the 401 before answering the retry: the app reads
 * the 401 after all (nothing lost), then the end */
static void test_retry_peer_closes(void **state)
{
    (void)state;
    struct fake f = { .srv = R401, .srv_len = strlen(R401), .srv_eof = 1, .chunk = 5 };
    struct hfs_conn *c = hfs_conn_new(0);
    write_str(c, &f, RQ("/retry/z", ""));
    read_is(c, &f, 4096, R401, 0);
    hfs_conn_free(c);
    fake_free(&f);
    /* a 200 is passed on at once, head held only until it is whole */
    struct fake g = { .srv = R200, .srv_len = strlen(R200), .chunk = 3 };
    c = hfs_conn_new(0);
    write_str(c, &g, RQ("/retry/ok", ""));
    read_is(c, &g, 4096, R200, -1);
    assert_int_equal(g.shown, 1);
    hfs_conn_free(c);
    fake_free(&g);
}

static void test_forward_get(void **state)
{
    (void)state;
    struct fake f = { 0 };
    struct hfs_conn *c = hfs_conn_new(0);
    const char *req = "GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nUser-Agent: x\r\nAccept: */*\r\n\r\n";
    struct hfs_conn_io io = io_of(&f);
    assert_int_equal(hfs_conn_write(c, req, strlen(req), &io), strlen(req));
    wire_is(&f, req, strlen(req));
    assert_int_equal(f.judged, 1);
    assert_int_equal(hfs_conn_outstanding(c), 1);
    assert_null(hfs_conn_failed(c));
    assert_int_equal(hfs_conn_passing(c), 0);
    assert_int_equal(hfs_conn_readable(c), 0);
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    f.srv = resp;
    f.srv_len = strlen(resp);
    read_is(c, &f, 4096, resp, -1);
    assert_int_equal(hfs_conn_outstanding(c), 0);
    /* a head written a byte at a time */
    f.wire_len = 0;
    write_all(c, &f, req, strlen(req), 1);
    wire_is(&f, req, strlen(req));
    assert_int_equal(f.judged, 2);
    hfs_conn_free(c);
    fake_free(&f);
}

static void test_strip_authorization(void **state)
{
    (void)state;
    struct fake f = { 0 };
    struct hfs_conn *c = hfs_conn_new(0);
    const char *req = "POST /strip HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer s3cret\r\nX-Authorization: keep\r\n"
                      "authorization: Basic eA==\r\nContent-Length: 3\r\n\r\nabc";
    const char *want = "POST /strip HTTP/1.1\r\nHost: h\r\nX-Authorization: keep\r\nContent-Length: 3\r\n\r\nabc";
    write_str(c, &f, req);
    wire_is(&f, want, strlen(want));
    /* the next request on the connection is untouched */
    const char *r2 = "GET /x HTTP/1.1\r\nAuthorization: Bearer k\r\n\r\n";
    write_str(c, &f, r2);
    assert_int_equal(f.wire_len, strlen(want) + strlen(r2));
    assert_memory_equal(f.wire + strlen(want), r2, strlen(r2));
    /* LF-only line ends are kept */
    f.wire_len = 0;
    const char *lf = "GET /strip HTTP/1.1\nHost: h\nAuthorization: x\nAccept: y\n\n";
    write_str(c, &f, lf);
    wire_is(&f, "GET /strip HTTP/1.1\nHost: h\nAccept: y\n\n", strlen("GET /strip HTTP/1.1\nHost: h\nAccept: y\n\n"));
    hfs_conn_free(c);
    fake_free(&f);
}

static void test_answer_swallows_bodies(void **state)
{
    (void)state;
    const char *reqs[] = {
        "GET /answer/1 HTTP/1.1\r\nHost: h\r\n\r\n",
        "POST /answer/cl HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nGET /x HTTP",
        "POST /answer/chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nGET /\r\n3;ext=1\r\nabc\r\n0\r\nTrailer: t\r\n\r\n",
    };
    const char *next = "GET /real HTTP/1.1\r\nHost: h\r\n\r\n";
    for (size_t i = 0; i < 3; i++)
        for (size_t piece = 0; piece < 8; piece += 3) {
            struct fake f = { 0 };
            struct hfs_conn *c = hfs_conn_new(0);
            write_all(c, &f, reqs[i], strlen(reqs[i]), piece);
            assert_int_equal(f.wire_len, 0);
            assert_int_equal(f.sends, 0);
            assert_int_equal(hfs_conn_outstanding(c), 0);
            assert_int_equal(hfs_conn_readable(c), 1);
            write_all(c, &f, next, strlen(next), piece);
            wire_is(&f, next, strlen(next));
            assert_int_equal(f.judged, 2);
            hfs_conn_free(c);
            fake_free(&f);
        }
}

static char *make_big_post(size_t body, int chunked, size_t *len)
{
    char *p = malloc(body * 2 + 1024);
    assert_non_null(p);
    size_t n = 0;
    if (chunked)
        n = (size_t)sprintf(p, "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    else
        n = (size_t)sprintf(p, "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n", body);
    size_t left = body, k = 0;
    while (left) {
        size_t cl = left;
        if (chunked) {
            cl = 1 + (k * 7919) % 5000;
            if (cl > left)
                cl = left;
            n += (size_t)sprintf(p + n, "%zx%s\r\n", cl, k % 3 ? "" : ";x=y");
        }
        for (size_t i = 0; i < cl; i++)
            p[n++] = (char)('a' + (k + i) % 26);
        if (chunked)
            n += (size_t)sprintf(p + n, "\r\n");
        left -= cl;
        k++;
    }
    if (chunked)
        n += (size_t)sprintf(p + n, "0\r\n\r\n");
    n += (size_t)sprintf(p + n, GET("/after"));
    *len = n;
    return p;
}

static void test_big_post_slow_peer(void **state)
{
    (void)state;
    for (int chunked = 0; chunked < 2; chunked++) {
        size_t len;
        char *req = make_big_post(1 << 20, chunked, &len);
        size_t pieces[] = { 65536, 1000, 4093 };
        for (size_t pi = 0; pi < 3; pi++) {
            struct fake f = { .maxsend = 1000, .zero_every = 7 };
            struct hfs_conn *c = hfs_conn_new(0);
            write_all(c, &f, req, len, pieces[pi]);
            wire_is(&f, req, len);
            assert_int_equal(f.judged, 2);
            assert_int_equal(hfs_conn_outstanding(c), 2);
            assert_true(f.zeros > 0);
            assert_null(hfs_conn_failed(c));
            hfs_conn_free(c);
            fake_free(&f);
        }
        /* answered: the whole megabyte is swallowed */
        memcpy(req, "POST /answer", 12);
        struct fake f = { .maxsend = 1000, .zero_every = 7 };
        struct hfs_conn *c = hfs_conn_new(0);
        write_all(c, &f, req, len, 65536);
        wire_is(&f, GET("/after"), strlen(GET("/after")));
        hfs_conn_free(c);
        fake_free(&f);
        free(req);
    }
}

/* a body write when the peer would block at once takes nothing: 0 */
static void test_write_would_block(void **state)
{
    (void)state;
    struct fake f = { 0 };
    struct hfs_conn *c = hfs_conn_new(0);
    struct hfs_conn_io io = io_of(&f);
    const char *head = "POST /p HTTP/1.1\r\nContent-Length: 10\r\n\r\n";
    assert_int_equal(hfs_conn_write(c, head, strlen(head), &io), strlen(head));
    f.zero_every = 1; /* every send would block */
    assert_int_equal(hfs_conn_write(c, "0123456789", 10, &io), 0);
    assert_int_equal(f.wire_len, strlen(head));
    f.zero_every = 0;
    f.maxsend = 4;
    assert_int_equal(hfs_conn_write(c, "0123456789", 10, &io), 4);
    assert_int_equal(hfs_conn_write(c, "456789", 6, &io), 4);
    assert_int_equal(hfs_conn_write(c, "89", 2, &io), 2);
    assert_null(hfs_conn_failed(c));
    /* a head the peer does not take at once: never waited for; one byte
     * fewer is reported, the rest stays owed and goes first next time */
    f.zero_every = 2;
    f.maxsend = 3;
    size_t gl = strlen(GET("/g"));
    assert_int_equal(hfs_conn_write(c, GET("/g"), gl, &io), gl - 1);
    assert_int_equal(f.waits, 0);
    assert_int_equal(hfs_conn_owes(c), 1);
    while (hfs_conn_owes(c)) {
        long r = hfs_conn_write(c, GET("/g") + gl - 1, 1, &io);
        assert_true(r == 0 || r == 1);
        assert_true(r == 0 || !hfs_conn_owes(c));
    }
    assert_int_equal(f.waits, 0);
    assert_int_equal(f.judged, 2);
    char want[256];
    snprintf(want, sizeof want, "%s0123456789%s", head, GET("/g"));
    wire_is(&f, want, strlen(want));
    hfs_conn_free(c);
    fake_free(&f);
}

/* real / answer / real / answer, one at a time */
static void test_keepalive_sequential(void **state)
{
    (void)state;
    const char *resp1 = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nresp_1";
    const char *resp3 = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nresp_3\r\n0\r\n\r\n";
    char srv[512];
    snprintf(srv, sizeof srv, "%s%s", resp1, resp3);
    for (size_t chunk = 0; chunk < 9; chunk += 4) {
        struct fake f = { .srv = srv, .srv_len = strlen(srv), .chunk = chunk };
        struct hfs_conn *c = hfs_conn_new(0);
        f.srv_len = strlen(resp1); /* the server answers request 1 only once it was sent */
        write_str(c, &f, GET("/one"));
        read_is(c, &f, 100, resp1, -1);
        write_str(c, &f, GET("/answer/2"));
        assert_int_equal(hfs_conn_readable(c), 1);
        read_is(c, &f, 100, ans_of("/answer/2", 0), -1);
        f.srv_len = strlen(srv);
        write_str(c, &f, GET("/three"));
        read_is(c, &f, 100, resp3, -1);
        write_str(c, &f, GET("/answer/4"));
        read_is(c, &f, 100, ans_of("/answer/4", 0), -1);
        char want[256];
        snprintf(want, sizeof want, "%s%s", GET("/one"), GET("/three"));
        wire_is(&f, want, strlen(want));
        assert_int_equal(hfs_conn_outstanding(c), 0);
        hfs_conn_free(c);
        fake_free(&f);
    }
}

/* the same pipelined: four requests written, then everything read; the
 * server's two responses arrive in one recv (resp3 held back behind ans2) */
static void test_keepalive_pipelined(void **state)
{
    (void)state;
    const char *resp1 = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nresp_1";
    const char *resp3 = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nresp_3\r\n0\r\n\r\n";
    char srv[512], reqs[512], want[1024];
    snprintf(srv, sizeof srv, "%s%s", resp1, resp3);
    snprintf(reqs, sizeof reqs, "%s%s%s%s", GET("/one"), GET("/answer/2"), GET("/three"), GET("/answer/4"));
    snprintf(want, sizeof want, "%s%s%s%s", resp1, ans_of("/answer/2", 0), resp3, ans_of("/answer/4", 0));
    size_t chunks[] = { 0, 1, 2, 5, 40, 47, 48, 49 };
    size_t bufs[] = { 4096, 1, 3, 17, 64 };
    for (size_t ci = 0; ci < sizeof chunks / sizeof *chunks; ci++)
        for (size_t bi = 0; bi < sizeof bufs / sizeof *bufs; bi++)
            for (int eof = 0; eof < 2; eof++) {
                struct fake f = { .srv = srv, .srv_len = strlen(srv), .chunk = chunks[ci], .srv_eof = eof };
                struct hfs_conn *c = hfs_conn_new(0);
                write_str(c, &f, reqs);
                char w2[256];
                snprintf(w2, sizeof w2, "%s%s", GET("/one"), GET("/three"));
                wire_is(&f, w2, strlen(w2));
                assert_int_equal(hfs_conn_outstanding(c), 2);
                read_is(c, &f, bufs[bi], want, eof ? 0 : -1);
                assert_int_equal(hfs_conn_outstanding(c), 0);
                hfs_conn_free(c);
                fake_free(&f);
            }
}

/* the pipelined case through the two-step API a lock-dropping layer uses */
static void test_pipelined_two_step(void **state)
{
    (void)state;
    const char *resp1 = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nresp_1";
    const char *resp3 = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nresp_3";
    char srv[256], want[1024];
    snprintf(srv, sizeof srv, "%s%s", resp1, resp3);
    snprintf(want, sizeof want, "%s%s%s%s", resp1, ans_of("/answer/2", 0), resp3, ans_of("/answer/4", 0));
    struct fake f = { .srv = srv, .srv_len = strlen(srv) };
    struct hfs_conn *c = hfs_conn_new(0);
    write_str(c, &f, GET("/one"));
    write_str(c, &f, GET("/answer/2"));
    write_str(c, &f, GET("/three"));
    write_str(c, &f, GET("/answer/4"));
    char out[1024], buf[4096];
    size_t got = 0;
    struct hfs_conn_io io2 = io_of(&f);
    for (int i = 0; i < 100; i++) {
        long q = hfs_conn_read_queued(c, buf, sizeof buf);
        if (q < 0) {
            assert_int_equal(hfs_conn_readable(c), 0);
            long k = f_recv(&f, buf, sizeof buf);
            if (k < 0)
                break;
            q = hfs_conn_read_got(c, buf, (size_t)k, sizeof buf, &io2);
        }
        assert_true(q > 0);
        memcpy(out + got, buf, (size_t)q);
        got += (size_t)q;
    }
    assert_int_equal(got, strlen(want));
    assert_memory_equal(out, want, got);
    hfs_conn_free(c);
    fake_free(&f);
}

static void test_head_response_framing(void **state)
{
    (void)state;
    /* HEAD (real, Content-Length but no body), answer, GET (real) */
    const char *resp1 = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    const char *resp3 = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody";
    char srv[256], want[1024];
    snprintf(srv, sizeof srv, "%s%s", resp1, resp3);
    snprintf(want, sizeof want, "%s%s%s", resp1, ans_of("/answer/2", 0), resp3);
    struct fake f = { .srv = srv, .srv_len = strlen(srv) };
    struct hfs_conn *c = hfs_conn_new(0);
    write_str(c, &f, "HEAD /one HTTP/1.1\r\nHost: h\r\n\r\n");
    write_str(c, &f, GET("/answer/2"));
    write_str(c, &f, GET("/three"));
    read_is(c, &f, 4096, want, -1);
    assert_int_equal(hfs_conn_outstanding(c), 0);
    hfs_conn_free(c);
    fake_free(&f);
    /* 204 and 304 have no body either */
    const char *r204 = "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n";
    const char *r304 = "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n";
    snprintf(srv, sizeof srv, "%s%s", r204, r304);
    snprintf(want, sizeof want, "%s%s%s%s", r204, ans_of("/answer/a", 0), r304, ans_of("/answer/b", 0));
    struct fake g = { .srv = srv, .srv_len = strlen(srv), .chunk = 3 };
    c = hfs_conn_new(0);
    write_str(c, &g, GET("/one"));
    write_str(c, &g, GET("/answer/a"));
    write_str(c, &g, GET("/two"));
    write_str(c, &g, GET("/answer/b"));
    read_is(c, &g, 7, want, -1);
    hfs_conn_free(c);
    fake_free(&g);
}

/* hang: taken, never answered; what follows waits behind it */
static void test_hang_turn(void **state)
{
    (void)state;
    struct fake f = { 0 };
    struct hfs_conn *c = hfs_conn_new(0);
    write_str(c, &f, GET("/hang") GET("/answer"));
    assert_int_equal(f.wire_len, 0); /* nothing sent */
    assert_true(hfs_conn_readable(c));
    assert_true(hfs_conn_hung(c));
    char buf[256];
    assert_int_equal(hfs_conn_read_queued(c, buf, sizeof buf), HFS_CONN_HUNG);
    size_t len;
    int close_after;
    assert_null(hfs_conn_take_answer(c, &len, &close_after));
    assert_int_equal(hfs_conn_read_queued(c, buf, sizeof buf), HFS_CONN_HUNG); /* still, forever */
    hfs_conn_free(c);
    /* virtual: the same */
    c = hfs_conn_new(1);
    write_str(c, &f, GET("/hang"));
    assert_int_equal(hfs_conn_read_queued(c, buf, sizeof buf), HFS_CONN_HUNG);
    hfs_conn_free(c);
    fake_free(&f);
}

/* reset: an answer cut after 20 bytes, then the connection reset */
static void test_reset_answer(void **state)
{
    (void)state;
    struct fake f = { 0 };
    struct hfs_conn *c = hfs_conn_new(0);
    write_str(c, &f, GET("/cutans"));
    char out[256];
    long last = 0;
    size_t got = read_avail(c, &f, out, sizeof out, 7, &last);
    assert_int_equal(got, 20);
    assert_memory_equal(out, ans_of("/cutans", 0), 20);
    assert_int_equal(last, HFS_CONN_RESET);
    hfs_conn_free(c);
    /* take_answer says "reset after these" */
    c = hfs_conn_new(1);
    write_str(c, &f, GET("/cutans"));
    size_t len;
    int close_after;
    char *d = hfs_conn_take_answer(c, &len, &close_after);
    assert_non_null(d);
    assert_int_equal(len, 20);
    assert_int_equal(close_after, 2);
    free(d);
    hfs_conn_free(c);
    fake_free(&f);
}

/* reset on a real response: its first 30 bytes, then reset; one that ends
 * first is whole; the rate is the front turn's */
static void test_reset_real(void **state)
{
    (void)state;
    static const size_t chunks[] = { 0, 1, 7, 29, 30, 31 };
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n0123456789012345678901234567890123456789";
    for (size_t ci = 0; ci < sizeof chunks / sizeof *chunks; ci++) {
        struct fake f = { .srv = resp, .srv_len = strlen(resp), .chunk = chunks[ci] };
        struct hfs_conn *c = hfs_conn_new(0);
        write_str(c, &f, GET("/cut"));
        assert_int_equal(hfs_conn_rate(c), 1000);
        char out[256];
        long last = 0;
        size_t got = read_avail(c, &f, out, sizeof out, 4096, &last);
        assert_int_equal(got, 30);
        assert_memory_equal(out, resp, 30);
        assert_int_equal(last, HFS_CONN_RESET);
        char b[8];
        assert_int_equal(hfs_conn_read_queued(c, b, sizeof b), HFS_CONN_RESET);
        hfs_conn_free(c);
        fake_free(&f);
    }
    const char *small = "HTTP/1.1 204 No Content\r\n\r\n"; /* 27 bytes, under the cut of 30 */
    struct fake f = { .srv = small, .srv_len = strlen(small), .srv_eof = 0 };
    struct hfs_conn *c = hfs_conn_new(0);
    write_str(c, &f, GET("/cut"));
    read_is(c, &f, 4096, small, -1); /* whole, no reset */
    assert_int_equal(hfs_conn_rate(c), 0);
    hfs_conn_free(c);
    fake_free(&f);
}

static void test_fail_verdict(void **state)
{
    (void)state;
    struct fake f = { 0 };
    struct hfs_conn *c = hfs_conn_new(0);
    struct hfs_conn_io io = io_of(&f);
    write_str(c, &f, GET("/ok"));
    const char *r = "GET /fail HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_int_equal(hfs_conn_write(c, r, strlen(r), &io), -1);
    assert_non_null(hfs_conn_failed(c));
    wire_is(&f, GET("/ok"), strlen(GET("/ok")));
    /* and stays failed */
    assert_int_equal(hfs_conn_write(c, GET("/ok"), strlen(GET("/ok")), &io), -1);
    assert_int_equal(f.judged, 2);
    wire_is(&f, GET("/ok"), strlen(GET("/ok")));
    hfs_conn_free(c);
    fake_free(&f);
}

static long send_err(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    (void)p;
    (void)n;
    return -1;
}

static int wait_err(void *ctx)
{
    (void)ctx;
    return -1;
}

static void test_send_errors(void **state)
{
    (void)state;
    struct fake f = { 0 };
    struct hfs_conn_io io = { send_err, f_wait, f_recv, f_judge, &f };
    struct hfs_conn *c = hfs_conn_new(0);
    assert_int_equal(hfs_conn_write(c, GET("/x"), strlen(GET("/x")), &io), -1);
    assert_non_null(hfs_conn_failed(c));
    hfs_conn_free(c);
    /* would block: a write never waits (wait would give up); the head
     * stays owed, one byte short is reported, and it goes once the peer
     * takes bytes again; an error then fails the connection */
    f.zero_every = 1;
    io = (struct hfs_conn_io){ f_send, wait_err, f_recv, f_judge, &f };
    c = hfs_conn_new(0);
    size_t xl = strlen(GET("/x"));
    assert_int_equal(hfs_conn_write(c, GET("/x"), xl, &io), xl - 1);
    assert_null(hfs_conn_failed(c));
    assert_int_equal(hfs_conn_write(c, GET("/x") + xl - 1, 1, &io), 0);
    f.zero_every = 0;
    assert_int_equal(hfs_conn_write(c, GET("/x") + xl - 1, 1, &io), 1);
    wire_is(&f, GET("/x"), xl);
    assert_int_equal(hfs_conn_owes(c), 0);
    f.zero_every = 1;
    assert_int_equal(hfs_conn_write(c, GET("/y"), strlen(GET("/y")), &io), strlen(GET("/y")) - 1);
    io.send = send_err;
    assert_int_equal(hfs_conn_write(c, GET("/y") + strlen(GET("/y")) - 1, 1, &io), -1);
    assert_non_null(hfs_conn_failed(c));
    hfs_conn_free(c);
    fake_free(&f);
}

static void test_virtual(void **state)
{
    (void)state;
    struct fake f = { 0 };
    struct hfs_conn *c = hfs_conn_new(1);
    struct hfs_conn_io io = io_of(&f);
    char buf[4096];
    /* nothing queued: EOF */
    assert_int_equal(hfs_conn_read(c, buf, sizeof buf, &io), 0);
    write_str(c, &f, GET("/answer/v1"));
    write_str(c, &f, "POST /answer/v2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz");
    assert_int_equal(hfs_conn_readable(c), 1);
    char want[1024];
    snprintf(want, sizeof want, "%s%s", ans_of("/answer/v1", 0), ans_of("/answer/v2", 0));
    read_is(c, &f, 5, want, 0);
    assert_int_equal(hfs_conn_read(c, buf, sizeof buf, &io), 0);
    assert_int_equal(f.wire_len, 0);
    assert_int_equal(f.sends, 0);
    /* FORWARD on a virtual connection fails it */
    assert_int_equal(hfs_conn_write(c, GET("/real"), strlen(GET("/real")), &io), -1);
    assert_non_null(hfs_conn_failed(c));
    assert_int_equal(f.wire_len, 0);
    hfs_conn_free(c);
    fake_free(&f);
}

static void test_take_answer(void **state)
{
    (void)state;
    const char *resp1 = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nr1";
    struct fake f = { .srv = resp1, .srv_len = strlen(resp1) };
    struct hfs_conn *c = hfs_conn_new(0);
    size_t len = 0;
    int close_after = -1;
    assert_null(hfs_conn_take_answer(c, &len, &close_after));
    write_str(c, &f, GET("/one"));
    write_str(c, &f, GET("/answer/2"));
    write_str(c, &f, GET("/close/3"));
    /* the real response is due first */
    assert_null(hfs_conn_take_answer(c, &len, &close_after));
    assert_int_equal(hfs_conn_readable(c), 0);
    struct hfs_conn_io io = io_of(&f);
    char buf[64];
    assert_int_equal(hfs_conn_read(c, buf, 10, &io), 10);
    assert_null(hfs_conn_take_answer(c, &len, &close_after)); /* still in resp1 */
    assert_int_equal(hfs_conn_read(c, buf + 10, sizeof buf - 10, &io), strlen(resp1) - 10);
    assert_memory_equal(buf, resp1, strlen(resp1));
    assert_int_equal(hfs_conn_outstanding(c), 0);
    assert_int_equal(hfs_conn_readable(c), 1);
    char *a = hfs_conn_take_answer(c, &len, &close_after);
    assert_non_null(a);
    assert_int_equal(len, strlen(ans_of("/answer/2", 0)));
    assert_memory_equal(a, ans_of("/answer/2", 0), len);
    assert_int_equal(close_after, 0);
    free(a);
    /* partly read, then taken: the rest comes */
    assert_int_equal(hfs_conn_read(c, buf, 5, &io), 5);
    assert_memory_equal(buf, "HTTP/", 5);
    a = hfs_conn_take_answer(c, &len, &close_after);
    assert_non_null(a);
    assert_int_equal(len, strlen(ans_of("/close/3", 1)) - 5);
    assert_memory_equal(a, ans_of("/close/3", 1) + 5, len);
    assert_int_equal(close_after, 1);
    free(a);
    assert_null(hfs_conn_take_answer(c, &len, &close_after));
    assert_int_equal(hfs_conn_outstanding(c), 0);
    hfs_conn_free(c);
    fake_free(&f);
}

static void test_close_after(void **state)
{
    (void)state;
    const char *resp3 = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nr3";
    struct fake f = { .srv = resp3, .srv_len = strlen(resp3) };
    struct hfs_conn *c = hfs_conn_new(0);
    struct hfs_conn_io io = io_of(&f);
    write_str(c, &f, GET("/answer/1"));
    write_str(c, &f, GET("/close/2"));
    write_str(c, &f, GET("/three"));
    char want[1024];
    snprintf(want, sizeof want, "%s%s", ans_of("/answer/1", 0), ans_of("/close/2", 1));
    read_is(c, &f, 10, want, 0);
    char buf[64];
    assert_int_equal(hfs_conn_read(c, buf, sizeof buf, &io), 0);
    assert_int_equal(hfs_conn_read(c, buf, sizeof buf, &io), 0);
    assert_int_equal(hfs_conn_readable(c), 1); /* EOF is readable */
    assert_int_equal(f.srv_off, 0);            /* the real response is never read */
    hfs_conn_free(c);
    fake_free(&f);
}

/* Was a bug: an answer queued after a close_after answer is still served */
static void test_close_after_then_answer(void **state)
{
    (void)state;
    struct fake f = { 0 };
    struct hfs_conn *c = hfs_conn_new(1);
    write_str(c, &f, GET("/close/1"));
    write_str(c, &f, GET("/answer/2"));
    read_is(c, &f, 4096, ans_of("/close/1", 1), 0);
    hfs_conn_free(c);
    fake_free(&f);
}

/* Was a bug: a 1xx interim response ends the real turn, so the final
 * response is held back behind the next request's answer */
static void test_interim_then_answer(void **state)
{
    (void)state;
    const char *resp1 = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nr1";
    struct fake f = { .srv = resp1, .srv_len = strlen(resp1) };
    struct hfs_conn *c = hfs_conn_new(0);
    write_str(c, &f, "POST /one HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab");
    write_str(c, &f, GET("/answer/2"));
    char want[1024];
    snprintf(want, sizeof want, "%s%s", resp1, ans_of("/answer/2", 0));
    read_is(c, &f, 4096, want, -1);
    hfs_conn_free(c);
    fake_free(&f);
}

/* Was a bug: an answered CONNECT/Upgrade request leaves the
 * request framer in tunnel mode with the swallow flag set, so every later
 * byte the application writes is dropped without being judged or sent,
 * although the answer (here a 403) refused the upgrade */
static void test_answered_upgrade_then_request(void **state)
{
    (void)state;
    struct fake f = { 0 };
    struct hfs_conn *c = hfs_conn_new(0);
    write_str(c, &f, "GET /answer/ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    write_str(c, &f, GET("/next"));
    assert_int_equal(f.judged, 2);
    wire_is(&f, GET("/next"), strlen(GET("/next")));
    hfs_conn_free(c);
    fake_free(&f);
}

static void test_passthrough(void **state)
{
    (void)state;
    static const char h2[] =
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00GET / HTTP/1.1\r\n\r\n";
    static const unsigned char tls[] = { 0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03,
                                         0x03, 'G',  'E',  'T',  ' ',  '/',  'a',  'n',  's',  'w',
                                         'e',  'r',  '\r', '\n', '\r', '\n', 0,    1,    2 };
    struct {
        const char *p;
        size_t n;
    } cases[] = { { h2, sizeof h2 - 1 }, { (const char *)tls, sizeof tls } };
    for (size_t i = 0; i < 2; i++)
        for (size_t piece = 0; piece < 4; piece++) {
            struct fake f = { .maxsend = 5 };
            struct hfs_conn *c = hfs_conn_new(0);
            write_all(c, &f, cases[i].p, cases[i].n, piece);
            wire_is(&f, cases[i].p, cases[i].n);
            assert_int_equal(hfs_conn_passing(c), 1);
            assert_int_equal(f.judged, 0);
            assert_null(hfs_conn_failed(c));
            /* the peer's bytes come back untouched */
            const char *srv = "\x00\x00\x00\x04\x01\x00\x00\x00\x00 anything";
            f.srv = srv;
            f.srv_len = 18;
            char out[64];
            long last;
            assert_int_equal(read_avail(c, &f, out, sizeof out, 3, &last), 18);
            assert_memory_equal(out, srv, 18);
            hfs_conn_free(c);
            fake_free(&f);
            /* virtual: fails, nothing sent */
            struct fake g = { 0 };
            struct hfs_conn_io io = io_of(&g);
            c = hfs_conn_new(1);
            long r = hfs_conn_write(c, cases[i].p, cases[i].n, &io);
            if (r >= 0 && !hfs_conn_failed(c)) /* the refusal may come with the next bytes */
                r = hfs_conn_write(c, cases[i].p + r, cases[i].n - (size_t)r, &io);
            assert_int_equal(r, -1);
            assert_non_null(hfs_conn_failed(c));
            assert_int_equal(g.wire_len, 0);
            hfs_conn_free(c);
            fake_free(&g);
        }
}

/* A request head that starts like HTTP/1.x but that the parser refuses,
 * and anything malformed after a request on the connection (it could hide
 * a request no rule would see): refused on a real connection too, nothing
 * of it sent (issue 17). */
static void test_unreadable_request_refused(void **state)
{
    (void)state;
    const char *cases[] = {
        "GET /x HTTP/1.1\r\nBad Header: x\r\n\r\nGET /answer HTTP/1.1\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "GET /x HTTP/2.0\r\nHost: a\r\n\r\n",
        "GET /a HTTP/1.1\r\n\r\n\x16\x03\x01GET /answer HTTP/1.1\r\n\r\n", /* a request, then garbage */
    };
    size_t first[] = { 0, 0, 0, 19 };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct fake f = { 0 };
        struct hfs_conn_io io = io_of(&f);
        struct hfs_conn *c = hfs_conn_new(0);
        size_t n = strlen(cases[i]), off = 0;
        long r = 0;
        while (off < n && (r = hfs_conn_write(c, cases[i] + off, n - off, &io)) > 0)
            off += (size_t)r;
        assert_int_equal(r, -1);
        assert_non_null(strstr(hfs_conn_failed(c), "refused a request hfshim cannot read"));
        wire_is(&f, cases[i], first[i]);
        hfs_conn_free(c);
        fake_free(&f);
    }
    /* another protocol's bytes pass */
    const char *redis = "GET key\r\n";
    struct fake f = { 0 };
    struct hfs_conn *c = hfs_conn_new(0);
    write_str(c, &f, redis);
    wire_is(&f, redis, strlen(redis));
    assert_null(hfs_conn_failed(c));
    hfs_conn_free(c);
    fake_free(&f);
    assert_true(hfs_http1_looks_like_request("M-SEARCH * HTTP/1.1\r\n", 21));
    assert_false(hfs_http1_looks_like_request("EHLO example.com\r\n", 18));
    assert_false(hfs_http1_looks_like_request("get / HTTP/1.1\r\n", 16));
}

/* two requests (one with a chunked body, one with Content-Length) written
 * in two pieces, split at every offset: the same wire every time */
static void test_every_split(void **state)
{
    (void)state;
    const char *streams[] = {
        "POST /strip HTTP/1.1\r\nHost: h\r\nAuthorization: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4\r\nabcd\r\n1;e=f\r\nz\r\n0\r\nT: 1\r\n\r\n"
        "PUT /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n12345",
        "POST /answer/a HTTP/1.1\r\nContent-Length: 4\r\n\r\nGET "
        "GET /strip HTTP/1.1\nAuthorization: y\nHost: h\n\n",
    };
    const char *wants[] = {
        "POST /strip HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4\r\nabcd\r\n1;e=f\r\nz\r\n0\r\nT: 1\r\n\r\n"
        "PUT /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n12345",
        "GET /strip HTTP/1.1\nHost: h\n\n",
    };
    for (size_t s = 0; s < 2; s++) {
        size_t n = strlen(streams[s]);
        for (size_t cut = 0; cut <= n; cut++)
            for (int slow = 0; slow < 2; slow++) {
                struct fake f = { .maxsend = slow ? 3 : 0, .zero_every = slow ? 4 : 0 };
                struct hfs_conn *c = hfs_conn_new(0);
                write_all(c, &f, streams[s], cut, 0);
                write_all(c, &f, streams[s] + cut, n - cut, 0);
                wire_is(&f, wants[s], strlen(wants[s]));
                assert_int_equal(f.judged, 2);
                hfs_conn_free(c);
                fake_free(&f);
            }
    }
}

static void test_read_until_close_then_answer(void **state)
{
    (void)state;
    /* a response without length ends at EOF; the answer after it comes then */
    const char *resp1 = "HTTP/1.1 200 OK\r\n\r\nuntil close";
    struct fake f = { .srv = resp1, .srv_len = strlen(resp1), .srv_eof = 1, .chunk = 4 };
    struct hfs_conn *c = hfs_conn_new(0);
    write_str(c, &f, GET("/one"));
    write_str(c, &f, GET("/answer/2"));
    char want[1024];
    snprintf(want, sizeof want, "%s%s", resp1, ans_of("/answer/2", 0));
    read_is(c, &f, 4096, want, 0);
    hfs_conn_free(c);
    fake_free(&f);
}

static void test_queue_limit(void **state)
{
    (void)state;
    struct fake f = { 0 };
    struct hfs_conn *c = hfs_conn_new(1);
    struct hfs_conn_io io = io_of(&f);
    for (int i = 0; i < HFS_CONN_MAX_QUEUE; i++)
        write_str(c, &f, GET("/answer"));
    long qr = hfs_conn_write(c, GET("/answer"), strlen(GET("/answer")), &io);
    assert_int_equal(qr, -1);
    assert_non_null(hfs_conn_failed(c));
    hfs_conn_free(c); /* the queued answers are freed (ASan) */
    fake_free(&f);
}

/* The peer speaks before the application wrote anything: not HTTP (an
 * HTTP server never does), so nothing the application writes afterwards
 * is held back or judged, not even what looks like a request. */
static void test_peer_speaks_first(void **state)
{
    (void)state;
    struct fake f = { .srv = "hello\n", .srv_len = 6 };
    struct hfs_conn_io io = io_of(&f);
    struct hfs_conn *c = hfs_conn_new(0);
    read_is(c, &f, 64, "hello\n", -1);
    assert_int_equal(hfs_conn_write(c, "B", 1, &io), 1);
    wire_is(&f, "B", 1);
    assert_int_equal(hfs_conn_passing(c), 1);
    const char *req = "GET /answer HTTP/1.1\r\n\r\n";
    write_all(c, &f, req, strlen(req), 0);
    wire_is(&f, "BGET /answer HTTP/1.1\r\n\r\n", 1 + strlen(req));
    assert_int_equal(f.judged, 0);
    hfs_conn_free(c);
    fake_free(&f);
}

/* The beginning of a head is held until the head is complete, but not
 * once the application waits for the peer with no response due: it is
 * then sent as it came and the connection passes through. While a
 * response is due (pipelining) it stays held; a virtual connection has
 * no peer to release it to. */
/* The application shuts its sending side (shutdown SHUT_WR): a held
 * beginning of a head leaves before the FIN, even while a response is
 * still due (pipelined), and the stream passes through from then on. */
static void test_write_end_releases_held_head(void **state)
{
    (void)state;
    struct fake g = { .srv = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", .srv_len = 40 };
    struct hfs_conn_io io = io_of(&g);
    struct hfs_conn *c = hfs_conn_new(0);
    assert_int_equal(hfs_conn_write_end(c, &io), 0); /* nothing held: nothing sent */
    wire_is(&g, "", 0);
    const char *two = "GET /x HTTP/1.1\r\n\r\nGE";
    assert_int_equal(hfs_conn_write(c, two, strlen(two), &io), (long)strlen(two));
    wire_is(&g, two, strlen(two) - 2);
    assert_int_equal(hfs_conn_write_end(c, &io), 0);
    wire_is(&g, two, strlen(two)); /* "GE" left before the FIN */
    assert_int_equal(hfs_conn_passing(c), 1);
    read_is(c, &g, 64, g.srv, -1); /* the response due is still served */
    assert_null(hfs_conn_failed(c));
    hfs_conn_free(c);
    fake_free(&g);
}

/* What can be read of a held head is judged before it is released (fail
 * closed): a rule that acts on the request line or the complete header
 * lines so far fails the connection with nothing sent; one that lets it
 * pass releases it as it came; a malformed one is refused. */
static void test_partial_head_judged_before_release(void **state)
{
    (void)state;
    static const struct {
        const char *held;
        int refused;
    } cases[] = {
        { "GET /strip HTTP/1.1\r\nAuthorization: Bearer hf_x\r\nX-A", 1 },
        { "GET /strip HTTP/1.1\r\n", 1 },
        { "GET /answer HTTP/1.1\r\nHost: h\r\n", 1 },
        { "GET /fail HTTP/1.1\r\n", 1 },
        { "GET /cut HTTP/1.1\r\nHo", 1 },
        { "GET /strip", 1 }, /* the line is not over: its target so far */
        { "GET /answer", 1 },
        { "GET /slow HTTP/1.1\r\n", 0 },
        { "GET /slow HTTP/1.1\r\nHost: x\r\nX-Y: z", 0 },
        { "POST /x HT", 0 },
        { "GET /x HTTP/1.1\r\nBad Name: v\r\n", 2 }, /* malformed: refused as written */
        { "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n", 2 },
        { "GET key", 0 }, /* a line protocol's command so far */
        { "ping", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct fake f = { 0 };
        struct hfs_conn_io io = io_of(&f);
        struct hfs_conn *c = hfs_conn_new(0);
        size_t n = strlen(cases[i].held);
        if (cases[i].refused == 2) {
            assert_int_equal(hfs_conn_write(c, cases[i].held, n, &io), -1);
            wire_is(&f, "", 0);
            assert_non_null(strstr(hfs_conn_failed(c), "cannot read"));
            hfs_conn_free(c);
            fake_free(&f);
            continue;
        }
        assert_int_equal(hfs_conn_write(c, cases[i].held, n, &io), (long)n);
        wire_is(&f, "", 0);
        int rc = hfs_conn_peer_awaited(c, &io);
        if (cases[i].refused != (rc < 0))
            print_message("case %zu [%s]: rc %d (%s)\n", i, cases[i].held, rc,
                          hfs_conn_failed(c) ? hfs_conn_failed(c) : "");
        assert_int_equal(rc < 0, cases[i].refused);
        if (cases[i].refused) {
            wire_is(&f, "", 0);
            assert_non_null(strstr(hfs_conn_failed(c), "written in pieces"));
        } else {
            wire_is(&f, cases[i].held, n);
            assert_int_equal(hfs_conn_passing(c), 1);
        }
        hfs_conn_free(c);
        fake_free(&f);
    }
    /* the same at half-close */
    struct fake g = { 0 };
    struct hfs_conn_io gio = io_of(&g);
    struct hfs_conn *c = hfs_conn_new(0);
    const char *h = "GET /strip HTTP/1.1\r\nAuthorization: Bearer hf_x\r\n";
    assert_int_equal(hfs_conn_write(c, h, strlen(h), &gio), (long)strlen(h));
    assert_int_equal(hfs_conn_write_end(c, &gio), -1);
    wire_is(&g, "", 0);
    hfs_conn_free(c);
    fake_free(&g);
}

/* An HTTP/1.0 POST without Content-Length: its body runs until the
 * client half-closes (the server answers once and closes), so what follows
 * the head is body, passed as written, never a refused "next request". */
static void test_http10_body_until_close(void **state)
{
    (void)state;
    struct fake f = { 0 };
    struct hfs_conn_io io = io_of(&f);
    struct hfs_conn *c = hfs_conn_new(0);
    const char *req = "POST /x HTTP/1.0\r\nHost: x\r\n\r\nbody until FIN GET /answer HTTP/1.1\r\n\r\n";
    write_all(c, &f, req, strlen(req), 7);
    wire_is(&f, req, strlen(req));
    assert_int_equal(f.judged, 1);
    assert_null(hfs_conn_failed(c));
    assert_int_equal(hfs_conn_write_end(c, &io), 0);
    hfs_conn_free(c);
    fake_free(&f);
    /* a GET, or a kept-alive POST, has no such body: what follows is the next request */
    const char *two = "POST /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /y HTTP/1.0\r\n\r\n";
    struct fake g = { 0 };
    io = io_of(&g);
    c = hfs_conn_new(0);
    write_all(c, &g, two, strlen(two), 0);
    assert_int_equal(g.judged, 2);
    hfs_conn_free(c);
    fake_free(&g);
}

static void test_partial_head_released_when_peer_awaited(void **state)
{
    (void)state;
    struct fake f = { 0 };
    struct hfs_conn_io io = io_of(&f);
    struct hfs_conn *c = hfs_conn_new(0);
    assert_int_equal(hfs_conn_peer_awaited(c, &io), 0); /* nothing held: nothing changes */
    assert_int_equal(hfs_conn_passing(c), 0);
    assert_int_equal(hfs_conn_write(c, "B", 1, &io), 1);
    wire_is(&f, "", 0);
    assert_int_equal(hfs_conn_peer_awaited(c, &io), 0);
    wire_is(&f, "B", 1);
    assert_int_equal(hfs_conn_passing(c), 1);
    const char *rest = "YE /answer HTTP/1.1\r\n\r\n";
    write_all(c, &f, rest, strlen(rest), 0);
    wire_is(&f, "BYE /answer HTTP/1.1\r\n\r\n", 1 + strlen(rest));
    assert_int_equal(f.judged, 0);
    hfs_conn_free(c);
    fake_free(&f);

    /* pipelined: the next head's beginning waits while a response is due */
    struct fake g = { .srv = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", .srv_len = 40 };
    io = io_of(&g);
    c = hfs_conn_new(0);
    const char *two = "GET /x HTTP/1.1\r\n\r\nGE";
    assert_int_equal(hfs_conn_write(c, two, strlen(two), &io), (long)strlen(two));
    wire_is(&g, two, strlen(two) - 2);
    assert_int_equal(hfs_conn_peer_awaited(c, &io), 0);
    wire_is(&g, two, strlen(two) - 2);
    read_is(c, &g, 64, g.srv, -1);
    assert_int_equal(hfs_conn_peer_awaited(c, &io), 0); /* now nothing is due */
    wire_is(&g, two, strlen(two));
    hfs_conn_free(c);
    fake_free(&g);

    struct fake v = { 0 };
    io = io_of(&v);
    c = hfs_conn_new(1);
    assert_int_equal(hfs_conn_write(c, "GE", 2, &io), 2);
    assert_int_equal(hfs_conn_peer_awaited(c, &io), 0);
    assert_int_equal(hfs_conn_passing(c), 0);
    wire_is(&v, "", 0);
    hfs_conn_free(c);
    fake_free(&v);
}

/* issue 15: pipelining never fails a connection. 65 (and 300) forwarded
 * requests in one write reach the wire and their responses read back in
 * order (past the response framer's HFS_HTTP1_MAX_PENDING they go on
 * untracked); a virtual connection answers 300 pipelined requests in
 * order (the turn ring grows). */
static void test_deep_pipeline(void **state)
{
    (void)state;
    static const unsigned depths[] = { 64, 65, 300 };
    for (size_t di = 0; di < 3; di++) {
        unsigned n = depths[di];
        size_t rl = strlen(GET("/p")), sl = strlen(R200);
        char *reqs = malloc(rl * n + 1), *srv = malloc(sl * n + 1);
        assert_non_null(reqs);
        assert_non_null(srv);
        for (unsigned i = 0; i < n; i++) {
            memcpy(reqs + i * rl, GET("/p"), rl);
            memcpy(srv + i * sl, R200, sl);
        }
        reqs[rl * n] = srv[sl * n] = 0;
        struct fake f = { .srv = srv, .srv_len = sl * n, .chunk = 1000, .srv_eof = 1 };
        struct hfs_conn *c = hfs_conn_new(0);
        write_str(c, &f, reqs);
        assert_null(hfs_conn_failed(c));
        wire_is(&f, reqs, rl * n);
        assert_int_equal(f.judged, n);
        static char out[300 * 64];
        long last = 99;
        size_t got = read_avail(c, &f, out, sizeof out, 4096, &last);
        assert_int_equal(got, sl * n);
        assert_memory_equal(out, srv, got);
        assert_int_equal(last, 0);
        hfs_conn_free(c);
        fake_free(&f);
        free(srv);
        free(reqs);
    }
    /* answered, on a virtual connection */
    struct fake g = { 0 };
    struct hfs_conn *c = hfs_conn_new(1);
    static char reqs[300 * 64], want[300 * 128];
    size_t rn = 0, wn = 0;
    for (unsigned i = 0; i < 300; i++) {
        char p[32];
        snprintf(p, sizeof p, "/answer/%u", i);
        rn += (size_t)snprintf(reqs + rn, sizeof reqs - rn, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", p);
        wn += (size_t)snprintf(want + wn, sizeof want - wn, "%s", ans_of(p, 0));
    }
    write_all(c, &g, reqs, rn, 0);
    assert_null(hfs_conn_failed(c));
    assert_int_equal(g.wire_len, 0);
    static char out[300 * 128];
    long last = 99;
    size_t got = read_avail(c, &g, out, sizeof out, 777, &last);
    assert_int_equal(got, wn);
    assert_memory_equal(out, want, wn);
    hfs_conn_free(c);
    fake_free(&g);
    /* once forwarded requests go on untracked, an answer cannot be placed
     * after their responses: that one request fails the connection */
    struct fake h = { 0 };
    c = hfs_conn_new(0);
    for (unsigned i = 0; i < HFS_HTTP1_MAX_PENDING + 1; i++)
        write_str(c, &h, GET("/p"));
    assert_true(hfs_conn_outstanding(c) > 0);
    struct hfs_conn_io io = io_of(&h);
    assert_int_equal(hfs_conn_write(c, GET("/answer"), strlen(GET("/answer")), &io), -1);
    assert_non_null(hfs_conn_failed(c));
    hfs_conn_free(c);
    fake_free(&h);
}

/* issue 15: bytes that cannot be HTTP make the engine step aside at once:
 * a 1 MiB binary write to a peer that takes 4096 bytes and then would
 * block returns 4096 at once (as the kernel's send), never waits, and
 * the rest goes on in later writes; the same for a head held over several
 * writes that turns out malformed past HFS_HTTP1_MAX_HEAD (the held bytes
 * are owed, this write's go on as pass-through bytes). */
static void test_nonhttp_never_waits(void **state)
{
    (void)state;
    size_t len = 1 << 20;
    char *bin = malloc(len);
    assert_non_null(bin);
    for (size_t i = 0; i < len; i++)
        bin[i] = (char)(i & 0xff);
    struct fake f = { .maxsend = 4096, .zero_every = 2 };
    struct hfs_conn *c = hfs_conn_new(0);
    struct hfs_conn_io io = io_of(&f);
    assert_int_equal(hfs_conn_write(c, bin, len, &io), 4096);
    assert_int_equal(f.waits, 0);
    assert_int_equal(hfs_conn_passing(c), 1);
    assert_int_equal(hfs_conn_owes(c), 0);
    write_all(c, &f, bin + 4096, len - 4096, 0);
    wire_is(&f, bin, len);
    assert_int_equal(f.judged, 0);
    hfs_conn_free(c);
    fake_free(&f);
    /* a head over HFS_HTTP1_MAX_HEAD, written in 40000-byte pieces */
    size_t hl = HFS_HTTP1_MAX_HEAD + 50000;
    char *big = malloc(hl);
    assert_non_null(big);
    memcpy(big, "GET /x HTTP/1.1\r\nX-Big: ", 24);
    memset(big + 24, 'a', hl - 24);
    for (int slow = 0; slow < 2; slow++) {
        struct fake g = { .maxsend = slow ? 1000 : 0, .zero_every = slow ? 3 : 0 };
        c = hfs_conn_new(0);
        write_all(c, &g, big, hl, 40000);
        assert_int_equal(hfs_conn_passing(c), 1);
        if (hfs_conn_owes(c)) { /* the last write's byte kept back: the app repeats it */
            struct hfs_conn_io gio = io_of(&g);
            g.zero_every = 0;
            assert_int_equal(hfs_conn_write(c, big + hl - 1, 1, &gio), 1);
        }
        wire_is(&g, big, hl);
        assert_int_equal(g.waits, 0);
        hfs_conn_free(c);
        fake_free(&g);
    }
    /* the same head to a path a rule acts on: judged on its first 64 KiB
     * and refused, nothing of it sent, no wait */
    memcpy(big, "GET /strip HTTP/1.1\r\nX: ", 24);
    for (int slow = 0; slow < 2; slow++) {
        struct fake g = { .maxsend = slow ? 1000 : 0, .zero_every = slow ? 3 : 0 };
        struct hfs_conn_io gio = io_of(&g);
        c = hfs_conn_new(0);
        long r = 0;
        for (size_t off = 0; off < hl && r >= 0; off += (size_t)r)
            r = hfs_conn_write(c, big + off, hl - off < 40000 ? hl - off : 40000, &gio);
        assert_int_equal(r, -1);
        assert_non_null(strstr(hfs_conn_failed(c), "head over 64 KiB"));
        assert_int_equal(g.wire_len, 0);
        assert_int_equal(g.waits, 0);
        hfs_conn_free(c);
        fake_free(&g);
    }
    free(big);
    free(bin);
}

/* issue 15: a 401 on the retry path whose body cannot be framed (broken
 * chunk size): no retry is sent; the app reads the response exactly as
 * the server sent it, then the end, as it would without the engine */
static void test_retry_unframable_401(void **state)
{
    (void)state;
    const char *r = "HTTP/1.1 401 Unauthorized\r\nX-Error-Message: Invalid credentials in Authorization header\r\n"
                    "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n";
    static const size_t chunks[] = { 0, 1, 7, 64, 120 };
    for (size_t ci = 0; ci < sizeof chunks / sizeof *chunks; ci++)
        for (int eof = 0; eof < 2; eof++) {
            struct fake f = { .srv = r, .srv_len = strlen(r), .chunk = chunks[ci], .srv_eof = eof };
            struct hfs_conn *c = hfs_conn_new(0);
            write_str(c, &f, RQ("/retry/b", ""));
            read_is(c, &f, 4096, r, eof ? 0 : -1);
            wire_is(&f, RQ("/retry/b", ""), strlen(RQ("/retry/b", "")));
            assert_null(hfs_conn_failed(c));
            hfs_conn_free(c);
            fake_free(&f);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_get),
        cmocka_unit_test(test_strip_authorization),
        cmocka_unit_test(test_answer_swallows_bodies),
        cmocka_unit_test(test_big_post_slow_peer),
        cmocka_unit_test(test_write_would_block),
        cmocka_unit_test(test_keepalive_sequential),
        cmocka_unit_test(test_keepalive_pipelined),
        cmocka_unit_test(test_pipelined_two_step),
        cmocka_unit_test(test_retry_without_auth),
        cmocka_unit_test(test_retry_connection_close),
        cmocka_unit_test(test_retry_not_possible),
        cmocka_unit_test(test_retry_peer_closes),
        cmocka_unit_test(test_head_response_framing),
        cmocka_unit_test(test_fail_verdict),
        cmocka_unit_test(test_hang_turn),
        cmocka_unit_test(test_reset_answer),
        cmocka_unit_test(test_reset_real),
        cmocka_unit_test(test_send_errors),
        cmocka_unit_test(test_virtual),
        cmocka_unit_test(test_take_answer),
        cmocka_unit_test(test_close_after),
        cmocka_unit_test(test_close_after_then_answer),
        cmocka_unit_test(test_interim_then_answer),
        cmocka_unit_test(test_answered_upgrade_then_request),
        cmocka_unit_test(test_passthrough),
        cmocka_unit_test(test_unreadable_request_refused),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_read_until_close_then_answer),
        cmocka_unit_test(test_queue_limit),
        cmocka_unit_test(test_peer_speaks_first),
        cmocka_unit_test(test_partial_head_released_when_peer_awaited),
        cmocka_unit_test(test_write_end_releases_held_head),
        cmocka_unit_test(test_partial_head_judged_before_release),
        cmocka_unit_test(test_http10_body_until_close),
        cmocka_unit_test(test_deep_pipeline),
        cmocka_unit_test(test_nonhttp_never_waits),
        cmocka_unit_test(test_retry_unframable_401),
    };
    return cmocka_run_group_tests_name("conn", tests, NULL, NULL);
}
