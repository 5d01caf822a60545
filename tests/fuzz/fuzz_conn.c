/* fuzz_conn: libFuzzer target for the per-connection engine (conn.h).
 * Input: byte 0 flags (virtual connection, read API, take_answer, judge
 * salt), byte 1 the application's write piece size, byte 2 the recv chunk
 * and read buffer sizes, byte 3 how the fake peer takes bytes (at most K a
 * send, would-block every Nth call), bytes 4-5 the length of the write
 * stream; the write stream follows, the rest is what the server sends
 * (revealed as the writes progress, EOF once they are done). The judge
 * picks FORWARD / FORWARD with edits / ANSWER / ANSWER+close / FAIL by a
 * hash of the path.
 * Checked (abort on violation):
 *  - the wire equals what a reference framer over the whole write stream
 *    says should be sent (heads rewritten with the same edits, answered
 *    requests and their bodies left out, passthrough bytes as they are),
 *    exactly when the connection did not fail, up to the failing head when
 *    it failed on a verdict, and as a prefix otherwise;
 *  - hfs_conn_write takes 0..n and never waits (io->wait); 0 only when
 *    nothing was judged (bytes taken by earlier calls may go out), or
 *    when the one byte it took is kept back (hfs_conn_owes); once every
 *    byte was reported taken, nothing is owed;
 *  - reads return at most what was asked; the read stream is an in-order
 *    merge of the server bytes and the queued answers (each answer whole
 *    and contiguous, the last maybe cut), so answer bytes never exceed what
 *    was queued; after a full drain without failure or close, everything
 *    has been read;
 *  - readable means read_queued serves without the peer;
 *  - no crash or leak (ASan). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

#define MAXIN 8192
#define MAXANS 1024

struct fz {
    /* peer */
    char wire[MAXIN * 2 + 1024];
    size_t wire_len;
    size_t maxsend;
    unsigned zero_every, sends;
    const char *srv;
    size_t srv_len, srv_avail, srv_off;
    size_t chunk;
    int srv_eof;
    /* judge */
    unsigned salt;
    unsigned judged;
    size_t nans;
    char *ans[MAXANS];
    size_t ans_len[MAXANS];
    size_t ans_total;
    int any_close;
};

static struct hfs_http1_stream g_ref;
static char g_expect[MAXIN * 2 + 1024];
static char g_read[MAXIN * 4 + 1024];
static char g_tmp[HFS_HTTP1_MAX_HEAD + 16384];

static const struct hfs_http1_edit EDITS[2] = {
    { HFS_HTTP1_REMOVE, "Authorization", 13, NULL, 0, NULL, NULL },
    { HFS_HTTP1_SET, "X-Fuzz", 6, "1", 1, NULL, NULL },
};

enum { V_FWD, V_EDIT, V_ANS, V_CLOSE, V_FAIL };

static int decide(unsigned salt, const struct hfs_http1_head *h)
{
    uint32_t x = 2166136261u ^ salt;
    for (size_t i = 0; i < h->path_len; i++)
        x = (x ^ (unsigned char)h->path[i]) * 16777619u;
    x ^= x >> 13;
    switch (x % 16) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 5: return V_FWD;
    case 6:
    case 7:
    case 8: return V_EDIT;
    case 9:
    case 10:
    case 11:
    case 12:
    case 13: return V_ANS;
    case 14: return V_CLOSE;
    default: return V_FAIL;
    }
}

static long f_send(void *ctx, const char *p, size_t n)
{
    struct fz *f = ctx;
    f->sends++;
    if (n == 0)
        abort();
    if (f->zero_every && f->sends % f->zero_every == 0)
        return 0;
    if (f->maxsend && n > f->maxsend)
        n = f->maxsend;
    if (f->wire_len + n > sizeof f->wire)
        abort(); /* more than the stream could ever produce */
    memcpy(f->wire + f->wire_len, p, n);
    f->wire_len += n;
    return (long)n;
}

static int g_writing; /* inside hfs_conn_write: io->wait must not be called */

static int f_wait(void *ctx)
{
    (void)ctx;
    if (g_writing)
        abort();
    return 0;
}

static long f_recv(void *ctx, char *buf, size_t n)
{
    struct fz *f = ctx;
    size_t left = f->srv_avail - f->srv_off;
    if (n == 0)
        abort();
    if (left == 0)
        return f->srv_eof && f->srv_avail == f->srv_len ? 0 : -1;
    if (n > left)
        n = left;
    if (n > f->chunk)
        n = f->chunk;
    memcpy(buf, f->srv + f->srv_off, n);
    f->srv_off += n;
    return (long)n;
}

static void f_judge(void *ctx, struct hfs_conn *c, const struct hfs_http1_head *h, const char *head, size_t len,
                    struct hfs_conn_verdict *v)
{
    struct fz *f = ctx;
    (void)c;
    if (!h || !head || len == 0 || h->len != len)
        abort();
    f->judged++;
    switch (decide(f->salt, h)) {
    case V_FWD: v->act = HFS_CONN_FORWARD; break;
    case V_EDIT:
        v->act = HFS_CONN_FORWARD;
        v->edits = EDITS;
        v->nedits = 2;
        break;
    case V_ANS:
    case V_CLOSE: {
        if (f->nans == MAXANS) {
            v->act = HFS_CONN_FAIL; /* keeps the record complete; never reached in practice */
            break;
        }
        int cl = decide(f->salt, h) == V_CLOSE;
        char *a = malloc(128 + h->path_len);
        if (!a)
            abort();
        int n = sprintf(a, "HTTP/1.1 200 OK\r\n%sContent-Length: %zu\r\n\r\n", cl ? "Connection: close\r\n" : "",
                        h->path_len + 1);
        if (h->path_len)
            memcpy(a + n, h->path, h->path_len);
        a[n + (int)h->path_len] = (char)('A' + f->nans % 26);
        f->ans[f->nans] = a;
        f->ans_len[f->nans] = (size_t)n + h->path_len + 1;
        f->nans++;
        f->ans_total += (size_t)n + h->path_len + 1;
        f->any_close |= cl;
        v->act = HFS_CONN_ANSWER;
        v->answer = a;
        v->answer_len = (size_t)n + h->path_len + 1;
        v->close_after = cl;
        break;
    }
    default: v->act = HFS_CONN_FAIL;
    }
}

/* What the wire should be: the write stream framed in one go. Returns its
 * length; *stop is 1 when the model says the connection fails (a FAIL
 * verdict, FORWARD or non-HTTP on a virtual connection, a head that cannot
 * be rewritten), the wire then ending where the failing head began. */
static size_t model(const char *in, size_t n, int virtual_, unsigned salt, int *stop, int *soft)
{
    struct hfs_http1_stream *s = &g_ref;
    struct hfs_http1_event ev;
    size_t off = 0, out = 0;
    int swallow = 0;
    *stop = 0;
    *soft = 0;
    hfs_http1_stream_init(s, 0);
    for (;;) {
        size_t used = hfs_http1_stream_feed(s, in + off, n - off, &ev);
        off += used;
        switch (ev.kind) {
        case HFS_HTTP1_NEED_MORE: return out;
        case HFS_HTTP1_HEAD: {
            int d = decide(salt, ev.head);
            if (d == V_FAIL || (virtual_ && (d == V_FWD || d == V_EDIT))) {
                *stop = 1;
                return out;
            }
            if (d == V_ANS || d == V_CLOSE) {
                swallow = 1;
                if (ev.head->upgrade) { /* an answered CONNECT/Upgrade: no tunnel, next request */
                    hfs_http1_stream_init(s, 0);
                    swallow = 0;
                }
                break;
            }
            swallow = 0;
            if (d == V_EDIT) {
                long r = hfs_http1_rewrite_head(ev.data, ev.len, ev.head, EDITS, 2, g_tmp, sizeof g_tmp);
                if (r < 0) {
                    *stop = 1;
                    return out;
                }
                if (out + (size_t)r > sizeof g_expect)
                    abort();
                memcpy(g_expect + out, g_tmp, (size_t)r);
                out += (size_t)r;
            } else {
                if (out + ev.len > sizeof g_expect)
                    abort();
                memcpy(g_expect + out, ev.data, ev.len);
                out += ev.len;
            }
            break;
        }
        case HFS_HTTP1_END: swallow = 0; break;
        case HFS_HTTP1_PASSTHROUGH:
            /* the framer refuses a malformed head when it next reparses
             * it, which depends on how the bytes were cut (it may still
             * hold them when the writes end) */
            if (ev.pass == HFS_HTTP1_PASS_MALFORMED)
                *soft = 1;
            if (virtual_) {
                /* swallowed bytes of an answered request's tunnel or
                 * malformed body: conn may fail ("not HTTP/1.x") or keep
                 * swallowing, depending on how the writes were cut */
                *stop = swallow || *soft ? 2 : 1;
                return out;
            }
            /* fall through */
        case HFS_HTTP1_BODY:
            if (!swallow) {
                if (out + ev.len > sizeof g_expect)
                    abort();
                memcpy(g_expect + out, ev.data, ev.len);
                out += ev.len;
            }
            break;
        }
    }
}

/* the read stream is an in-order merge of srv[0..slen) (a prefix of it)
 * and the answers, each contiguous, the last one maybe cut */
static int merged(const struct fz *f, const char *r, size_t rlen, size_t slen)
{
    size_t m = f->nans, W = slen + 1;
    unsigned char *ok = calloc((m + 1) * W, 1);
    size_t *before = malloc((m + 1) * sizeof *before);
    int found = 0;
    if (!ok || !before)
        abort();
    before[0] = 0;
    for (size_t j = 0; j < m; j++)
        before[j + 1] = before[j] + f->ans_len[j];
    ok[0] = 1;
    for (size_t j = 0; j <= m && !found; j++)
        for (size_t i = 0; i <= slen && !found; i++) {
            if (!ok[j * W + i])
                continue;
            size_t pos = i + before[j];
            if (pos > rlen)
                continue;
            if (pos == rlen) {
                found = 1;
                break;
            }
            if (i < slen && r[pos] == f->srv[i])
                ok[j * W + i + 1] = 1;
            if (j < m) {
                size_t al = f->ans_len[j], k = rlen - pos < al ? rlen - pos : al;
                if (memcmp(r + pos, f->ans[j], k) == 0) {
                    if (k < al)
                        found = 1; /* the stream ends inside answer j */
                    else
                        ok[(j + 1) * W + i] = 1;
                }
            }
        }
    free(ok);
    free(before);
    return found;
}

struct reader {
    struct hfs_conn *c;
    const struct hfs_conn_io *io;
    struct fz *f;
    size_t rlen;
    size_t bufsz;
    int two_step, take;
    int ended; /* read returned 0 */
    int virtual_, drain;
};

/* one read; returns what the read returned */
static long one_read(struct reader *rd)
{
    static char buf[4096];
    long r;
    size_t n = rd->bufsz;
    memset(buf, 0xAA, sizeof buf);
    if (rd->take) {
        size_t len = 0;
        int ca = 0;
        char *a = hfs_conn_take_answer(rd->c, &len, &ca);
        if (a) {
            if (rd->rlen + len > sizeof g_read)
                abort();
            memcpy(g_read + rd->rlen, a, len);
            rd->rlen += len;
            free(a);
            if (ca) {
                rd->ended = 1;
                return 0;
            }
            return 1;
        }
    }
    if (rd->two_step) {
        int readable = hfs_conn_readable(rd->c);
        r = hfs_conn_read_queued(rd->c, buf, n);
        if (readable && r < 0)
            abort();
        if (r < 0) {
            long k = rd->io->recv(rd->io->ctx, buf, n);
            if (k < 0)
                return k;
            r = hfs_conn_read_got(rd->c, buf, (size_t)k, n, rd->io);
        }
    } else {
        r = hfs_conn_read(rd->c, buf, n, rd->io);
    }
    if (r < -1 || (r > 0 && (size_t)r > n))
        abort();
    if (r > 0) {
        if (rd->rlen + (size_t)r > sizeof g_read)
            abort();
        memcpy(g_read + rd->rlen, buf, (size_t)r);
        rd->rlen += (size_t)r;
    }
    /* a virtual connection says 0 whenever no answer is queued, also
     * while a request is still being written: the end only when draining */
    if (r == 0 && (rd->drain || !rd->virtual_))
        rd->ended = 1;
    return r;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 6 || size > MAXIN)
        return 0;
    static struct fz F;
    struct fz *f = &F;
    f->wire_len = 0;
    f->sends = 0;
    f->srv_len = f->srv_avail = f->srv_off = 0;
    f->srv_eof = 0;
    f->judged = 0;
    f->nans = 0;
    f->ans_total = 0;
    f->any_close = 0;

    unsigned flags = data[0], wb = data[1], rb = data[2], sb = data[3];
    size_t rest = size - 6;
    size_t wlen = ((size_t)data[4] | (size_t)data[5] << 8) % (rest + 1);
    const char *win = (const char *)data + 6;
    int virtual_ = flags & 1;
    f->salt = flags >> 4;
    f->srv = win + wlen;
    f->srv_len = rest - wlen;
    f->chunk = 1 + (rb & 0x1f) * ((rb & 0x20) ? 37 : 1);
    f->maxsend = (sb & 0x0f) ? (size_t)(sb & 0x0f) * ((sb & 0x80) ? 97 : 1) : 0;
    f->zero_every = (sb >> 4) & 7; /* 0: never; 1 would block forever */
    if (f->zero_every == 1)
        f->zero_every = 2;
    size_t piece = 1 + (wb & 0x7f) * ((wb & 0x80) ? 53 : 1);

    struct hfs_conn *c = hfs_conn_new(virtual_);
    if (!c)
        return 0;
    struct hfs_conn_io io = { f_send, f_wait, f_recv, f_judge, f };
    struct reader rd = {
        c, &io, f, 0, 1 + (size_t)((rb >> 6) ? (rb >> 6) * 1300 : 7), (flags >> 1) & 1, (flags >> 2) & 1, 0, virtual_, 0
    };
    if (rd.bufsz > 4096)
        rd.bufsz = 4096;

    int stop = 0, soft = 0;
    size_t exp_len = model(win, wlen, virtual_, f->salt, &stop, &soft);

    /* write, interleaved with reads */
    size_t off = 0;
    int failed = 0;
    unsigned zeros = 0;
    while (off < wlen) {
        size_t want = wlen - off < piece ? wlen - off : piece;
        unsigned judged0 = f->judged;
        g_writing = 1;
        long r = hfs_conn_write(c, win + off, want, &io);
        g_writing = 0;
        if (r < -1 || (r > 0 && (size_t)r > want))
            abort();
        if (r < 0) {
            if (!hfs_conn_failed(c))
                abort();
            failed = 1;
            break;
        }
        if (r == 0 && !hfs_conn_owes(c)) {
            /* bytes sent now were taken before: owed, or held by the
             * framer until they turned out to be pass-through bytes */
            if (f->judged != judged0)
                abort();
            if (++zeros > 1000)
                abort();     /* no progress although the peer takes bytes */
        } else if (r == 0) { /* its byte kept back: written again */
            if (++zeros > 1000)
                abort(); /* no progress although the peer takes bytes */
        } else {
            zeros = 0;
        }
        off += (size_t)r;
        /* the server's bytes appear as the writes progress */
        f->srv_avail = wlen ? f->srv_len * off / wlen : f->srv_len;
        if (flags & 8)
            for (int i = 0; i < 4 && !rd.ended; i++)
                if (one_read(&rd) <= 0)
                    break;
    }
    if (!failed && hfs_conn_owes(c))
        abort(); /* every byte reported taken, yet some still owed */
    /* the wire */
    if (f->wire_len > exp_len || memcmp(f->wire, g_expect, f->wire_len) != 0)
        abort();
    if (!failed) {
        if (stop == 1 || hfs_conn_failed(c))
            abort();
        if (f->wire_len != exp_len && !(soft && !hfs_conn_passing(c)))
            abort();
    } else {
        const char *why = hfs_conn_failed(c);
        int verdict = why && (strcmp(why, "the request was refused") == 0 ||
                              strcmp(why, "a request on a virtual connection was not answered") == 0 ||
                              strcmp(why, "not HTTP/1.x") == 0);
        if (verdict && (!stop || f->wire_len != exp_len))
            abort();
    }
    if (hfs_conn_outstanding(c) > HFS_CONN_MAX_QUEUE)
        abort();

    /* drain */
    f->srv_avail = f->srv_len;
    f->srv_eof = 1;
    rd.drain = 1;
    for (int guard = 0; !rd.ended; guard++) {
        if (guard > 200000)
            abort();
        if (one_read(&rd) < 0 && f->srv_off == f->srv_len && !virtual_)
            abort(); /* at EOF a read may not say would-block */
    }
    if (f->srv_off > f->srv_len || rd.rlen > f->srv_off + f->ans_total)
        abort();
    if (!merged(f, g_read, rd.rlen, f->srv_off))
        abort();
    if (getenv("FZ_DEBUG"))
        fprintf(stderr,
                "failed=%d why=%s nans=%zu ans_total=%zu rlen=%zu srv_off=%zu srv_len=%zu judged=%u wire=%zu exp=%zu "
                "stop=%d soft=%d\n",
                failed, hfs_conn_failed(c) ? hfs_conn_failed(c) : "-", f->nans, f->ans_total, rd.rlen, f->srv_off,
                f->srv_len, f->judged, f->wire_len, exp_len, stop, soft);
    if (!failed && !f->any_close && (rd.rlen != f->srv_off + f->ans_total || (!virtual_ && f->srv_off != f->srv_len)))
        abort();

    hfs_conn_free(c);
    for (size_t i = 0; i < f->nans; i++)
        free(f->ans[i]);

    /* the same bytes cut short and then waited on (or half-closed): what
     * the engine holds of an unfinished head is judged before it leaves
     * (judge_readable): 0, or -1 with the connection failed and nothing
     * more sent (the judge may rewrite heads, so the wire is not compared) */
    if (!virtual_ && wlen > 1) {
        size_t cut = 1 + (size_t)wb % (wlen - 1), before;
        struct hfs_conn *h = hfs_conn_new(0);
        if (!h)
            return 0;
        f->wire_len = 0;
        f->zero_every = 0;
        f->srv_len = f->srv_avail = f->srv_off = 0;
        f->nans = 0;
        g_writing = 1;
        long r = hfs_conn_write(h, win, cut, &io);
        g_writing = 0;
        if (r > 0 && !hfs_conn_owes(h)) {
            before = f->wire_len;
            int rc = (flags & 16) ? hfs_conn_write_end(h, &io) : hfs_conn_peer_awaited(h, &io);
            if ((rc < 0) != (hfs_conn_failed(h) != NULL) || (rc < 0 && f->wire_len != before))
                abort(); /* refused: failed, and nothing of the held head sent */
        }
        hfs_conn_free(h);
        for (size_t i = 0; i < f->nans; i++)
            free(f->ans[i]);
    }
    return 0;
}
