/* conn: the per-connection HTTP/1.x engine shared by the socket and OpenSSL
 * layers (see header). Two framers (requests written, responses read), a
 * staging buffer for heads and chunk framing (always sent in full before a
 * call returns), a queue of turns (REAL: a forwarded request's response
 * comes from the peer; ANSWER: our bytes) and a hold-back buffer for real
 * bytes that arrived before an answer's turn. */
#include "conn.h"

#include "url.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct turn {
    char *data; /* NULL: a real response */
    size_t len, off;
    int close_after;
    /* a real response someone watches (hfs_conn_verdict.watch) */
    void *watch;
    int (*on_response)(void *, const struct hfs_http1_head *, int);
    void (*watch_release)(void *);
    int seen;     /* on_response was called for the current response */
    char *replay; /* the head to send again without Authorization, or NULL */
    size_t replay_len;
    char method[16]; /* the request's method (the response framer must expect it again) */
    int hang;        /* an answer that never comes */
    int reset_after; /* an answer cut by a reset rule: the connection is reset after it */
    long cut;        /* a real response: bytes left before the reset (-1: none) */
    long rate;       /* bytes/s the response is read at (0: any) */
};

#define SAVE_MAX (256u * 1024) /* a dropped response kept in case the retry gets no answer */

struct hfs_conn {
    int virtual_;
    const char *failed;
    int swallow;    /* the request being written was answered: drop its body */
    int eof;        /* an answer that closes the connection was read */
    int resp_lost;  /* response framing lost: turns can no longer be found */
    int reset;      /* a reset rule cut the connection */
    int written;    /* the application wrote something */
    struct turn *q; /* a ring of qcap turns, grown as requests queue up */
    unsigned qcap, qhead, qcount, nreal;
    int untracked; /* forwarded requests went on without a turn (responses no longer framed) */
    char *out;     /* staged for the peer: out[out_off..out_len) still owed to the wire */
    size_t out_len, out_off, out_cap;
    size_t owed; /* bytes of the app's last write taken but not reported: its next write repeats them */
    char *held;  /* real bytes held back until an answer was read */
    size_t held_len, held_off;
    struct hfs_http1_stream req, resp;
    /* an answer waiting for its request's body (hfs_conn_verdict.finish) */
    void *pending;
    char *(*finish)(void *, const char *, size_t, size_t *, int *);
    void (*release)(void *);
    char *body; /* its bytes as written (chunk framing included) */
    size_t body_len, body_cap;
    int body_over, body_chunked;
    /* the anonymous retry of the front turn (hfs_conn_verdict.retry_without_auth) */
    char *rbuf; /* response bytes held until its head is in, then the dropped response */
    size_t rbuf_len, rbuf_cap;
    int rdrop;         /* dropping the rejected response (to its end) */
    int rsaved;        /* rbuf holds the dropped response, served if the retry gets no answer */
    int rsave_over;    /* it was too long to keep */
    unsigned heads;    /* request heads framed: the connection speaks HTTP */
    char failbuf[200]; /* failed, when it needs words of its own */
};

static void turn_free(struct turn *t)
{
    free(t->data);
    t->data = NULL;
    free(t->replay);
    t->replay = NULL;
    if (t->watch && t->watch_release)
        t->watch_release(t->watch);
    t->watch = NULL;
}

static int rbuf_add(struct hfs_conn *c, const char *p, size_t n)
{
    if (c->rbuf_len + n > c->rbuf_cap) {
        size_t cap = c->rbuf_cap ? c->rbuf_cap : 4096;
        while (cap < c->rbuf_len + n)
            cap *= 2;
        char *b = realloc(c->rbuf, cap);
        if (!b)
            return -1;
        c->rbuf = b;
        c->rbuf_cap = cap;
    }
    memcpy(c->rbuf + c->rbuf_len, p, n);
    c->rbuf_len += n;
    return 0;
}

static void rbuf_clear(struct hfs_conn *c)
{
    free(c->rbuf);
    c->rbuf = NULL;
    c->rbuf_len = c->rbuf_cap = 0;
    c->rsaved = c->rsave_over = 0;
}

static void drop_pending(struct hfs_conn *c)
{
    if (c->pending && c->release)
        c->release(c->pending);
    c->pending = NULL;
    c->finish = NULL;
    c->release = NULL;
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_cap = 0;
    c->body_over = c->body_chunked = 0;
}

/* The data of a chunked body the framer accepted, in place; its length. */
static size_t dechunk(char *b, size_t n)
{
    size_t in = 0, out = 0;
    while (in < n) {
        unsigned long long size = 0;
        int digits = 0, v;
        while (in < n && (v = hfs_hexval(b[in])) >= 0 && digits < 15) {
            size = size * 16 + (unsigned)v;
            in++;
            digits++;
        }
        while (in < n && b[in] != '\n') /* extensions, CR */
            in++;
        in++;
        if (size == 0 || size > n - (in < n ? in : n))
            break; /* the last chunk (trailers follow) */
        memmove(b + out, b + in, (size_t)size);
        out += (size_t)size;
        in += (size_t)size;
        while (in < n && b[in] != '\n') /* the CRLF after the data */
            in++;
        in++;
    }
    return out;
}

/* Body bytes of a request whose answer waits for them. */
static int keep_body(struct hfs_conn *c, const char *p, size_t n)
{
    if (c->body_over || !n)
        return 0;
    if (c->body_len + n > HFS_CONN_MAX_BODY) {
        c->body_over = 1;
        return 0;
    }
    if (c->body_len + n > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 1024;
        while (cap < c->body_len + n)
            cap *= 2;
        char *b = realloc(c->body, cap);
        if (!b)
            return -1;
        c->body = b;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, p, n);
    c->body_len += n;
    return 0;
}

struct hfs_conn *hfs_conn_new(int virtual_)
{
    struct hfs_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->virtual_ = virtual_ != 0;
    hfs_http1_stream_init(&c->req, 0);
    hfs_http1_stream_init(&c->resp, 1);
    return c;
}

void hfs_conn_free(struct hfs_conn *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->qcount; i++)
        turn_free(&c->q[(c->qhead + i) % c->qcap]);
    free(c->q);
    free(c->out);
    free(c->held);
    free(c->rbuf);
    drop_pending(c);
    free(c);
}

const char *hfs_conn_failed(const struct hfs_conn *c) { return c->failed; }
unsigned hfs_conn_outstanding(const struct hfs_conn *c) { return c->nreal + (c->untracked ? 1u : 0u); }
int hfs_conn_owes(const struct hfs_conn *c) { return c->out_len > c->out_off || c->owed; }
int hfs_conn_at_eof(const struct hfs_conn *c) { return c->eof; }
int hfs_conn_at_request_start(const struct hfs_conn *c)
{
    return !c->failed && !c->out_len && !c->finish && hfs_http1_stream_at_start(&c->req);
}
int hfs_conn_passing(const struct hfs_conn *c) { return hfs_http1_stream_passing(&c->req) != HFS_HTTP1_PASS_NO; }

static struct turn *front(struct hfs_conn *c) { return c->qcount ? &c->q[c->qhead] : NULL; }

static void pop(struct hfs_conn *c)
{
    struct turn *t = front(c);
    if (!t)
        return;
    if (!t->data)
        c->nreal--;
    turn_free(t);
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qcount--;
}

/* The ring has room for one more turn (grown up to HFS_CONN_MAX_QUEUE): 0, or -1. */
static int room(struct hfs_conn *c)
{
    if (c->qcount < c->qcap)
        return 0;
    if (c->qcap >= HFS_CONN_MAX_QUEUE)
        return -1;
    unsigned cap = c->qcap ? c->qcap * 2 : 8;
    struct turn *q = malloc(cap * sizeof *q);
    if (!q)
        return -1;
    for (unsigned i = 0; i < c->qcount; i++)
        q[i] = c->q[(c->qhead + i) % c->qcap];
    free(c->q);
    c->q = q;
    c->qcap = cap;
    c->qhead = 0;
    return 0;
}

static int push(struct hfs_conn *c, const char *data, size_t len, int close_after)
{
    if (room(c))
        return -1;
    struct turn t = { .len = len, .close_after = close_after, .cut = -1 };
    if (data) {
        t.data = malloc(len ? len : 1);
        if (!t.data)
            return -1;
        memcpy(t.data, data, len);
    } else {
        c->nreal++;
    }
    c->q[(c->qhead + c->qcount) % c->qcap] = t;
    c->qcount++;
    return 0;
}

/* Room for n more bytes after what is staged. */
static int reserve(struct hfs_conn *c, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        char *o = realloc(c->out, cap);
        if (!o)
            return -1;
        c->out = o;
        c->out_cap = cap;
    }
    return 0;
}

static int stage(struct hfs_conn *c, const char *p, size_t n)
{
    if (n == 0)
        return 0;
    if (reserve(c, n))
        return -1;
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

/* Sends what is staged. 0 when all of it went, -1 when the connection
 * failed; when the peer would block: 1 with the rest still staged (owed
 * to the wire, sent first by the next write), or, with wait (a retried
 * head sent while the app reads), io->wait and on. */
static int flush(struct hfs_conn *c, const struct hfs_conn_io *io, int wait)
{
    while (c->out_off < c->out_len) {
        long k = io->send(io->ctx, c->out + c->out_off, c->out_len - c->out_off);
        if (k < 0) {
            c->failed = "the peer refused the request";
            return -1;
        }
        if (k == 0 && !wait)
            return 1;
        if (k == 0 && io->wait(io->ctx) < 0) {
            c->failed = "the peer did not take the request";
            return -1;
        }
        c->out_off += (size_t)k;
    }
    c->out_len = c->out_off = 0;
    return 0;
}

/* The peer would block with staged bytes left after done bytes of this
 * write were taken: the app is told one byte fewer (0: "would block"), so
 * it writes again as after any short count; that write starts with the
 * byte kept back, which is skipped (c->owed), and the staged bytes go
 * first. Nothing waits, nothing is lost, duplicated or reordered. */
static long owe(struct hfs_conn *c, size_t done)
{
    if (done == 0)
        return 0;
    c->owed = 1;
    return (long)done - 1;
}

static long fail(struct hfs_conn *c, const char *why)
{
    c->failed = why;
    return -1;
}

/* The body of a request whose answer waited for it is in: queue the answer. */
static int finish_pending(struct hfs_conn *c)
{
    size_t alen = 0;
    int close_after = 0;
    if (c->body_chunked && !c->body_over && c->body)
        c->body_len = dechunk(c->body, c->body_len);
    char *a = c->finish(c->pending, c->body_over ? NULL : (c->body ? c->body : ""), c->body_len, &alen, &close_after);
    drop_pending(c);
    c->swallow = 0;
    int rc = a ? push(c, a, alen, close_after) : -1;
    free(a);
    if (rc)
        return (int)fail(c, a ? "too many requests waiting for their turn" : "the request could not be answered");
    return 0;
}

static void copy_method(struct turn *t, const struct hfs_http1_head *h)
{
    size_t n = h->method_len < sizeof t->method - 1 ? h->method_len : sizeof t->method - 1;
    memcpy(t->method, h->method, n);
    t->method[n] = 0;
}

static int is_close(void *ctx, const char *value, size_t len)
{
    (void)ctx;
    return len == 5 && strncasecmp(value, "close", 5) == 0;
}

/* The head to send again once the Hub rejected the token: the request as
 * forwarded (its edits applied) without any Authorization line. */
static void make_replay(struct hfs_conn *c, struct turn *t, const struct hfs_http1_event *ev,
                        const struct hfs_http1_head *h, const struct hfs_conn_verdict *v)
{
    struct hfs_http1_edit e[HFS_HTTP1_MAX_EDITS];
    size_t n = 0;
    (void)c;
    for (size_t i = 0; i < v->nedits && n < HFS_HTTP1_MAX_EDITS - 1; i++)
        e[n++] = v->edits[i];
    e[n++] = (struct hfs_http1_edit){ .kind = HFS_HTTP1_REMOVE, .name = "Authorization", .name_len = 13 };
    size_t cap = ev->len + 16384;
    char *out = malloc(cap);
    long l = out ? hfs_http1_rewrite_head(ev->data, ev->len, h, e, n, out, cap) : -1;
    if (l < 0) {
        free(out);
        return; /* no retry for this one: the app sees the answer as it comes */
    }
    t->replay = out;
    t->replay_len = (size_t)l;
}

/* A complete request head from the framer: judge it and act. */
static int on_head(struct hfs_conn *c, const struct hfs_http1_event *ev, const struct hfs_conn_io *io)
{
    struct hfs_conn_verdict v = { .act = HFS_CONN_FORWARD };
    const struct hfs_http1_head *h = ev->head;
    io->judge(io->ctx, c, h, ev->data, ev->len, &v);
    if (v.act == HFS_CONN_FORWARD && c->virtual_)
        return (int)fail(c, "a request on a virtual connection was not answered");
    if (v.act == HFS_CONN_ANSWER && c->resp_lost && (c->nreal || c->untracked))
        return (int)fail(c, "an answer cannot be placed after a response hfshim could not frame");
    if (v.act == HFS_CONN_FAIL)
        return (int)fail(c, "the request was refused");
    if (v.act == HFS_CONN_ANSWER && v.finish) {
        /* the answer comes once the body is in (hfs_conn_write, END) */
        drop_pending(c);
        c->pending = v.pending;
        c->finish = v.finish;
        c->release = v.release;
        c->body_chunked = h->chunked;
        c->swallow = 1;
        return 0;
    }
    if (v.act == HFS_CONN_ANSWER) {
        size_t alen = v.hang ? 0 : v.answer_len;
        int cut = !v.hang && v.reset && v.cut >= 0 && (size_t)v.cut < alen;
        if (cut)
            alen = (size_t)v.cut;
        if (push(c, v.hang ? "" : v.answer, alen, v.close_after))
            return (int)fail(c, "too many requests waiting for their turn");
        struct turn *at = &c->q[(c->qhead + c->qcount - 1) % c->qcap];
        at->hang = v.hang;
        at->reset_after = cut;
        at->rate = v.rate;
        c->swallow = 1;
        if (h->upgrade) {
            /* an answered CONNECT/Upgrade never switches protocols (the
             * answer is not a 101 or a 2xx tunnel): the next bytes are the
             * next request, not a tunnel */
            hfs_http1_stream_init(&c->req, 0);
            c->swallow = 0;
        }
        return 0;
    }
    int alone = c->qcount == 0 && !c->untracked; /* nothing before it: its response is the next bytes read */
    struct turn *t = NULL;
    if (!c->resp_lost && push(c, NULL, 0, 0) == 0) {
        t = &c->q[(c->qhead + c->qcount - 1) % c->qcap];
    } else {
        /* responses can no longer be told apart (their framing was lost,
         * or more requests wait than the engine tracks): this one goes on
         * untracked and the responses pass as they come. Never a reason
         * to fail the connection: only answers need a turn. */
        c->untracked = 1;
        c->resp_lost = 1;
        if (v.watch && v.watch_release)
            v.watch_release(v.watch);
        v.watch = NULL;
    }
    struct hfs_http1_edit ed[HFS_HTTP1_MAX_EDITS];
    const struct hfs_http1_edit *edits = v.edits;
    size_t nedits = v.nedits;
    if (t) {
        t->watch = v.watch;
        t->on_response = v.on_response;
        t->watch_release = v.watch_release;
        t->cut = v.reset && v.cut >= 0 ? v.cut : -1;
        t->rate = v.rate;
        copy_method(t, h);
    }
    if (t && v.watch && v.retry_without_auth && alone && !h->chunked && h->content_length <= 0 && !h->upgrade) {
        make_replay(c, t, ev, h, &v);
        if (t->replay && h->connection_close && h->minor >= 1 && nedits < HFS_HTTP1_MAX_EDITS) {
            /* "Connection: close" would end the connection with the 401
             * and leave no room for the retry: the first try goes without
             * it (the retry, and so the answer the app reads, keeps it) */
            if (nedits)
                memcpy(ed, v.edits, nedits * sizeof *ed);
            ed[nedits++] = (struct hfs_http1_edit){
                .kind = HFS_HTTP1_REMOVE, .name = "Connection", .name_len = 10, .pred = is_close
            };
            edits = ed;
        }
    }
    if (t && hfs_http1_stream_expect(&c->resp, h->method, h->method_len))
        c->resp_lost = 1;
    c->swallow = 0;
    if (nedits) {
        /* rewritten straight into the staging buffer, which the connection
         * keeps: no scratch per request. Room for the head plus 4 KiB of
         * edits first; a rewrite that needs more gets the most any head
         * may grow to (HFS_HTTP1_MAX_HEAD + 16 KiB) */
        long n = -1;
        size_t room1 = ev->len + 4096, room2 = HFS_HTTP1_MAX_HEAD + 16384;
        if (reserve(c, room1) == 0)
            n = hfs_http1_rewrite_head(ev->data, ev->len, h, edits, nedits, c->out + c->out_len, room1);
        if (n < 0 && room1 < room2 && reserve(c, room2) == 0)
            n = hfs_http1_rewrite_head(ev->data, ev->len, h, edits, nedits, c->out + c->out_len, room2);
        if (n < 0)
            return (int)fail(c, "the request head could not be rewritten");
        c->out_len += (size_t)n;
        return 0;
    }
    return stage(c, ev->data, ev->len) ? (int)fail(c, "out of memory") : 0;
}

/* What can be read of a head that will never be judged whole (the
 * application waits for the peer, or ends its side, in the middle of it;
 * or it is over HFS_HTTP1_MAX_HEAD): the start line (its target so far,
 * when the line is not over) and the header lines that are complete in
 * b[0..n), judged as if the head ended there. 0 when those bytes may leave
 * as they are: not the start of an HTTP request (another protocol), or no
 * rule acts on them; -1 (the connection failed, `what` says why) when a
 * rule would answer, refuse, edit or cut that request, or a complete line
 * cannot be read: they must not leave unjudged. */
static int judge_readable(struct hfs_conn *c, const struct hfs_conn_io *io, const char *b, size_t n, const char *what)
{
    size_t end, line = 0;
    if (!hfs_http1_looks_like_request(b, n))
        return 0;
    if (n > HFS_HTTP1_MAX_HEAD)
        n = HFS_HTTP1_MAX_HEAD;
    end = n;
    while (end > 0 && b[end - 1] != '\n')
        end--;
    while (line < n && b[line] != '\n')
        line++;
    char *head = malloc(n + 32);
    struct hfs_header *hdrs = malloc(HFS_HTTP1_STREAM_MAXHDRS * sizeof *hdrs);
    struct hfs_http1_head h;
    struct hfs_conn_verdict v = { .act = HFS_CONN_FORWARD };
    const char *why = NULL;
    size_t len;
    int rc = -1;
    if (!head || !hdrs) {
        free(head);
        free(hdrs);
        return (int)fail(c, "out of memory");
    }
    if (line == n) { /* the start line is not over: its target so far */
        const char *sp = memchr(b, ' ', n), *sp2 = NULL;
        while (sp && sp < b + n && *sp == ' ')
            sp++;
        if (sp)
            sp2 = memchr(sp, ' ', (size_t)(b + n - sp)); /* the version begun */
        size_t k = sp2 ? (size_t)(sp2 - b) : n;
        memcpy(head, b, k);
        len = k + (size_t)sprintf(head + k, " HTTP/1.1\r\n\r\n");
    } else {
        memcpy(head, b, end);
        len = end + (size_t)sprintf(head + end, "\r\n");
    }
    int pr = hfs_http1_parse_request_head(head, len, &h, hdrs, HFS_HTTP1_STREAM_MAXHDRS, &why);
    if (pr == HFS_HTTP1_H2 || (pr <= 0 && line == n)) {
        rc = 0; /* the HTTP/2 preface, or a line no request starts with: another protocol */
    } else if (pr <= 0) {
        snprintf(c->failbuf, sizeof c->failbuf, "refused a request %s hfshim cannot read (%s)", what,
                 why ? why : "malformed");
        fail(c, c->failbuf);
    } else {
        io->judge(io->ctx, c, &h, head, len, &v);
        if (v.act != HFS_CONN_FORWARD || v.nedits || v.reset || v.rate) {
            snprintf(c->failbuf, sizeof c->failbuf, "refused a request %s: a rule acts on what can be read of it",
                     what);
            fail(c, c->failbuf);
        } else {
            rc = 0;
        }
        if (v.pending && v.release)
            v.release(v.pending);
        if (v.watch && v.watch_release)
            v.watch_release(v.watch);
    }
    free(head);
    free(hdrs);
    return rc;
}

long hfs_conn_write(struct hfs_conn *c, const char *buf, size_t n, const struct hfs_conn_io *io)
{
    size_t done = 0;
    struct hfs_http1_event ev;
    int fr;
    if (c->failed)
        return -1;
    if (n)
        c->written = 1;
    if ((fr = flush(c, io, 0)) != 0)
        return fr < 0 ? -1 : 0; /* still owed: nothing more is taken */
    if (c->owed) {              /* the byte kept back last time (owe): taken already */
        done = c->owed < n ? c->owed : n;
        c->owed -= done;
    }
    while (done < n) {
        size_t p = hfs_http1_stream_passable(&c->req);
        if (p > 0) { /* body (or pass-through) bytes: sent as they are, fed as sent */
            size_t take = n - done < p ? n - done : p;
            size_t want = take;
            if (!c->swallow) {
                long k = io->send(io->ctx, buf + done, take);
                if (k <= 0) {
                    if (done)
                        return (long)done;
                    if (k < 0)
                        c->failed = "the peer refused the request";
                    return k;
                }
                take = (size_t)k;
            }
            if (c->finish && keep_body(c, buf + done, take))
                return fail(c, "out of memory");
            size_t used = hfs_http1_stream_feed(&c->req, buf + done, take, &ev);
            done += used;
            if (used != take)
                return fail(c, "framer disagreement");
            if (ev.kind == HFS_HTTP1_END && c->finish && finish_pending(c))
                return -1;
            if (take < want)
                return (long)done;
            continue;
        }
        size_t used = hfs_http1_stream_feed(&c->req, buf + done, n - done, &ev);
        done += used;
        switch (ev.kind) {
        case HFS_HTTP1_NEED_MORE: break;
        case HFS_HTTP1_HEAD:
            c->heads++;
            if (on_head(c, &ev, io))
                return -1;
            break;
        case HFS_HTTP1_BODY: /* chunk framing (and data it came with) */
            if (!c->swallow && stage(c, ev.data, ev.len))
                return fail(c, "out of memory");
            if (c->finish && keep_body(c, ev.data, ev.len))
                return fail(c, "out of memory");
            break;
        case HFS_HTTP1_END:
            if (c->finish && finish_pending(c))
                return -1;
            c->swallow = 0;
            break;
        case HFS_HTTP1_PASSTHROUGH:
            /* something that is not HTTP/1.x (or an HTTP/2 preface):
             * forwarded untouched on a real connection. Only bytes held
             * from earlier writes are staged; this write's own go on as
             * pass-through bytes (above), with the kernel's partial
             * counts, so the engine steps aside at once */
            if (c->virtual_)
                return fail(c, "not HTTP/1.x");
            /* a request (or the rest of an HTTP connection) that cannot be
             * read would skip every rule: refused, never sent as it is.
             * Another protocol's bytes still pass. */
            if (ev.pass == HFS_HTTP1_PASS_MALFORMED && ev.why == hfs_http1_too_big && !c->finish) {
                /* too long to hold whole (a server may take it): judged on
                 * its first 64 KiB; passed on only when no rule acts there */
                if (judge_readable(c, io, ev.data, ev.len, "with a head over 64 KiB") < 0)
                    return -1;
            } else if (ev.pass == HFS_HTTP1_PASS_MALFORMED &&
                       (c->heads || hfs_http1_looks_like_request(ev.data, ev.len))) {
                snprintf(c->failbuf, sizeof c->failbuf, "refused a request hfshim cannot read (%s)",
                         ev.why ? ev.why : "malformed");
                return fail(c, c->failbuf);
            }
            done -= used;
            if (!c->swallow && stage(c, ev.data, ev.len - used))
                return fail(c, "out of memory");
            break;
        }
        if ((fr = flush(c, io, 0)) != 0)
            return fr < 0 ? -1 : owe(c, done);
    }
    if (c->finish && hfs_http1_stream_passable(&c->req) == 0) {
        /* the framer says END only when fed again: ask it now, so an
         * answer waiting for this body is queued before the app reads */
        hfs_http1_stream_feed(&c->req, buf + done, 0, &ev);
        if (ev.kind == HFS_HTTP1_END && finish_pending(c))
            return -1;
    }
    if ((fr = flush(c, io, 0)) != 0)
        return fr < 0 ? -1 : owe(c, done);
    return (long)done;
}

int hfs_conn_holds_head(const struct hfs_conn *c)
{
    return !c->virtual_ && !c->failed && hfs_http1_stream_head_held(&c->req) > 0;
}

/* The held beginning of a head leaves as it came, once what can be read of
 * it is judged (judge_readable), then every staged byte (waiting for the peer
 * if it must: the application waits next, or its side ends); the request
 * stream passes through from here on. */
static int release_held(struct hfs_conn *c, const struct hfs_conn_io *io)
{
    struct hfs_http1_event ev;
    if (judge_readable(c, io, c->req.buf, hfs_http1_stream_head_held(&c->req), "written in pieces") < 0)
        return -1;
    hfs_http1_stream_passthrough(&c->req);
    hfs_http1_stream_feed(&c->req, "", 0, &ev); /* the held bytes, as they came */
    if (ev.kind == HFS_HTTP1_PASSTHROUGH && !c->swallow && stage(c, ev.data, ev.len))
        return (int)fail(c, "out of memory");
    return c->out_off < c->out_len ? flush(c, io, 1) : 0; /* the app waits next: nothing may stay owed */
}

int hfs_conn_peer_awaited(struct hfs_conn *c, const struct hfs_conn_io *io)
{
    if (c->virtual_ || c->failed || c->nreal || c->qcount || !hfs_http1_stream_head_held(&c->req))
        return 0;
    return release_held(c, io);
}

int hfs_conn_write_end(struct hfs_conn *c, const struct hfs_conn_io *io)
{
    if (c->virtual_ || c->failed)
        return 0;
    if (hfs_http1_stream_head_held(&c->req))
        return release_held(c, io);
    return c->out_off < c->out_len ? flush(c, io, 1) : 0;
}

/* Feeds real bytes p[0..n) to the response framer; returns how many of
 * them the application gets now: all, or up to the end of the response
 * whose turn ends when an answer's turn comes next. */
static size_t frame_real(struct hfs_conn *c, const char *p, size_t n)
{
    size_t off = 0;
    struct hfs_http1_event ev;
    for (;;) {
        /* a reset rule on the front turn: only its first cut bytes pass */
        struct turn *ft = front(c);
        int cutting = ft && !ft->data && ft->cut >= 0;
        size_t avail = n - off;
        if (cutting && (size_t)ft->cut < avail)
            avail = (size_t)ft->cut;
        if (cutting && avail == 0 && off < n) {
            c->reset = 1;
            return off;
        }
        if (c->resp_lost) {
            if (!cutting)
                return n;
            ft->cut -= (long)avail;
            off += avail;
            if (ft->cut == 0 && off < n)
                c->reset = 1;
            return off;
        }
        size_t used = hfs_http1_stream_feed(&c->resp, p + off, avail, &ev);
        off += used;
        if (cutting)
            ft->cut -= (long)used;
        if (cutting && ft->cut == 0 && ev.kind != HFS_HTTP1_END) {
            c->reset = 1; /* cut before its end */
            return off;
        }
        if (ev.kind == HFS_HTTP1_NEED_MORE)
            return n;
        if (ev.kind == HFS_HTTP1_PASSTHROUGH) {
            c->resp_lost = 1;
            return n;
        }
        if (ev.kind == HFS_HTTP1_HEAD && ev.head && (ev.head->status >= 200 || ev.head->status == 101)) {
            struct turn *t = front(c);
            if (t && !t->data && t->watch && !t->seen) { /* shown, never retried: the app already reads it */
                t->seen = 1;
                t->on_response(t->watch, ev.head, 0);
            }
        }
        if (ev.kind == HFS_HTTP1_END) {
            struct turn *t;
            if (ev.head && ev.head->status >= 100 && ev.head->status < 200 && ev.head->status != 101)
                continue; /* an interim response (100 Continue): the final one is still due */
            t = front(c);
            if (t && !t->data)
                pop(c);
            t = front(c);
            if (t && t->data)
                return off; /* an answer's turn: the rest waits */
        }
    }
}

int hfs_conn_readable(const struct hfs_conn *c)
{
    const struct turn *t = c->qcount ? &c->q[c->qhead] : NULL;
    return c->eof || c->reset || (t && t->data) || c->held_len > c->held_off;
}

int hfs_conn_hung(const struct hfs_conn *c)
{
    const struct turn *t = c->qcount ? &c->q[c->qhead] : NULL;
    return t && t->hang;
}

long hfs_conn_rate(const struct hfs_conn *c)
{
    const struct turn *t = c->qcount ? &c->q[c->qhead] : NULL;
    return t ? t->rate : 0;
}

static long copy_answer(struct hfs_conn *c, char *buf, size_t n)
{
    struct turn *t = front(c);
    size_t k = t->len - t->off < n ? t->len - t->off : n;
    memcpy(buf, t->data + t->off, k);
    t->off += k;
    if (t->off == t->len) {
        if (t->reset_after)
            c->reset = 1;
        else if (t->close_after)
            c->eof = 1;
        pop(c);
    }
    return (long)k;
}

long hfs_conn_read_queued(struct hfs_conn *c, char *buf, size_t n)
{
    struct turn *t = front(c);
    if (c->reset)
        return HFS_CONN_RESET;
    if (n == 0 || c->eof) /* nothing after an answer that ended the connection */
        return 0;
    if (t && t->hang)
        return HFS_CONN_HUNG;
    if (t && t->data)
        return copy_answer(c, buf, n);
    if (c->held_len > c->held_off) { /* real bytes held back, served in turn */
        size_t k = c->held_len - c->held_off < n ? c->held_len - c->held_off : n;
        memcpy(buf, c->held + c->held_off, k);
        size_t give = frame_real(c, buf, k);
        c->held_off += give;
        if (c->held_off == c->held_len || c->reset)
            c->held_off = c->held_len = 0;
        if (c->reset && !give)
            return HFS_CONN_RESET;
        return (long)give;
    }
    return c->virtual_ ? 0 : -1;
}

/* Gives rbuf's bytes back to the application's order of reading: they go
 * in front of whatever is held (unfed; served by hfs_conn_read_queued). */
static int rbuf_to_held(struct hfs_conn *c)
{
    size_t rest = c->held_len - c->held_off;
    char *h = malloc(c->rbuf_len + rest + 1);
    if (!h)
        return -1;
    memcpy(h, c->rbuf, c->rbuf_len);
    if (rest)
        memcpy(h + c->rbuf_len, c->held + c->held_off, rest);
    free(c->held);
    c->held = h;
    c->held_len = c->rbuf_len + rest;
    c->held_off = 0;
    rbuf_clear(c);
    return 0;
}

/* Feeds the rejected response to the framer until its end; then sends the
 * retry. Returns 0 (more to drop, or done), -1 when the connection fails. */
static int drop_rejected(struct hfs_conn *c, const char *p, size_t k, const struct hfs_conn_io *io)
{
    struct hfs_http1_event ev;
    size_t off = 0;
    struct turn *t = front(c);
    while (c->rdrop) {
        size_t used = hfs_http1_stream_feed(&c->resp, p + off, k - off, &ev);
        off += used;
        if (ev.kind == HFS_HTTP1_NEED_MORE)
            break;
        if (ev.kind == HFS_HTTP1_PASSTHROUGH) {
            /* its end cannot be found: no retry (none was sent yet); the
             * app reads the rejected response as it came (rbuf holds it
             * whole), then everything after it, unframed */
            c->rdrop = 0;
            c->resp_lost = 1;
            t->seen = 1;
            free(t->replay);
            t->replay = NULL;
            if (c->rsave_over) /* too long to keep: its first bytes are gone */
                return (int)fail(c, "a rejected response could neither be framed nor kept");
            return rbuf_to_held(c);
        }
        if (ev.kind != HFS_HTTP1_END)
            continue;
        /* the rejected answer is over: the request goes again, anonymously */
        c->rdrop = 0;
        if (hfs_http1_stream_expect(&c->resp, t->method, strlen(t->method)) || stage(c, t->replay, t->replay_len) ||
            flush(c, io, 1))
            return -1;
        free(t->replay);
        t->replay = NULL;
        t->seen = 0; /* the retry's answer is watched too (diagnostics) */
    }
    if (off < k) { /* bytes after it: the retry's answer already (they are not dropped) */
        rbuf_clear(c);
        size_t rest = k - off;
        char *h = realloc(c->held, c->held_len + rest);
        if (!h)
            return -1;
        memcpy(h + c->held_len, p + off, rest);
        c->held = h;
        c->held_len += rest;
    }
    return 0;
}

/* Real bytes while the front turn's response is held for a possible retry
 * (its head not yet complete) or dropped. HFS_CONN_AGAIN, or bytes for the
 * application. */
static long retry_bytes(struct hfs_conn *c, char *buf, size_t k, size_t n, const struct hfs_conn_io *io)
{
    struct turn *t = front(c);
    if (c->rdrop) {
        if (!c->rsave_over && c->rbuf_len + k <= SAVE_MAX) {
            if (rbuf_add(c, buf, k))
                c->rsave_over = 1;
        } else {
            c->rsave_over = 1;
        }
        if (drop_rejected(c, buf, k, io))
            return -1;
        if (!c->rdrop && c->held_len > c->held_off)
            return hfs_conn_read_queued(c, buf, n);
        return HFS_CONN_AGAIN;
    }
    if (rbuf_add(c, buf, k)) { /* cannot hold it: no retry; the bytes go on in order, unframed */
        t->seen = 1;
        c->resp_lost = 1;
        return (long)k;
    }
    struct hfs_http1_head h;
    struct hfs_header *hdrs = malloc(HFS_HTTP1_STREAM_MAXHDRS * sizeof *hdrs);
    int hl = hdrs ? hfs_http1_parse_response_head(c->rbuf, c->rbuf_len, &h, hdrs, HFS_HTTP1_STREAM_MAXHDRS, NULL) : -1;
    if (hl == 0 && c->rbuf_len < HFS_HTTP1_MAX_HEAD) {
        free(hdrs);
        return HFS_CONN_AGAIN;
    }
    int retry = 0;
    if (hl > 0 && (h.status >= 200 || h.status == 101)) {
        int can = c->qcount == 1 && !h.connection_close && h.minor >= 1 && !h.upgrade &&
                  (h.chunked || h.content_length >= 0 ||
                   !hfs_http1_response_has_body(t->method, strlen(t->method), h.status)) &&
                  !c->out_len && hfs_http1_stream_at_start(&c->req);
        t->seen = 1;
        retry = t->on_response(t->watch, &h, can) == 1 && can;
    } else if (hl > 0) {
        /* an interim 1xx: not held further (the final answer is judged as it streams) */
    } else {
        t->seen = 1; /* not a head we read: no retry */
    }
    free(hdrs);
    if (!retry) {
        free(t->replay);
        t->replay = NULL;
        if (rbuf_to_held(c))
            return -1;
        return hfs_conn_read_queued(c, buf, n);
    }
    /* drop it: the framer sees it from its first byte */
    c->rdrop = 1;
    c->rsaved = 1;
    char *all = malloc(c->rbuf_len);
    size_t len = c->rbuf_len;
    if (!all)
        return -1;
    memcpy(all, c->rbuf, len);
    int rc = drop_rejected(c, all, len, io);
    free(all);
    if (rc)
        return -1;
    if (!c->rdrop && c->held_len > c->held_off)
        return hfs_conn_read_queued(c, buf, n);
    return HFS_CONN_AGAIN;
}

/* 1 when the front turn's response must go through retry_bytes. */
static int holding(const struct hfs_conn *c)
{
    const struct turn *t = c->qcount ? &c->q[c->qhead] : NULL;
    return !c->resp_lost && t && !t->data && (c->rdrop || (t->replay && !t->seen));
}

long hfs_conn_read_got(struct hfs_conn *c, char *buf, size_t k, size_t n, const struct hfs_conn_io *io)
{
    struct turn *t;
    if (k > 0 && !c->written && !c->virtual_) {
        /* the peer spoke first: an HTTP server never does, so this is
         * another protocol, passed through untouched both ways */
        hfs_http1_stream_passthrough(&c->req);
        c->resp_lost = 1;
    }
    if (k > 0 && c->rsaved && !c->rdrop) { /* the retry is being answered: the rejected answer is gone for good */
        rbuf_clear(c);
    }
    if (k > 0 && holding(c))
        return retry_bytes(c, buf, k, n, io);
    if (k == 0 && (c->rbuf_len || c->rdrop)) {
        /* the peer closed while a response was held or dropped, or before
         * the retry was answered: the app reads what the peer said (the
         * first answer, whole when it was kept) */
        if (c->rdrop && !c->rsaved)
            rbuf_clear(c);
        hfs_http1_stream_init(&c->resp, 1);
        c->resp_lost = 1; /* its framing is gone: pass it as it is */
        c->rdrop = 0;
        if ((t = front(c)) && !t->data) {
            free(t->replay);
            t->replay = NULL;
        }
        if (c->rbuf_len && rbuf_to_held(c) == 0)
            return hfs_conn_read_queued(c, buf, n);
        rbuf_clear(c);
    }
    if (k == 0) { /* the peer closed: responses read until close end here */
        struct hfs_http1_event ev;
        if (!c->resp_lost)
            hfs_http1_stream_finish(&c->resp, &ev);
        while ((t = front(c)) && !t->data)
            pop(c);
        if (t && t->hang)
            return HFS_CONN_HUNG;
        if (t && t->data)
            return copy_answer(c, buf, n);
        return 0;
    }
    size_t give = frame_real(c, buf, k);
    if (c->reset) /* cut by a reset rule: what came after the cut is gone */
        return give ? (long)give : HFS_CONN_RESET;
    if (give < k) {
        size_t rest = k - give;
        char *h = malloc(rest);
        if (!h) { /* cannot hold them back: give them now, order kept */
            c->resp_lost = 1;
            return (long)k;
        }
        memcpy(h, buf + give, rest);
        free(c->held);
        c->held = h;
        c->held_len = rest;
        c->held_off = 0;
        if (give == 0)
            return front(c)->hang ? HFS_CONN_HUNG : copy_answer(c, buf, n);
    }
    return (long)give;
}

long hfs_conn_read(struct hfs_conn *c, char *buf, size_t n, const struct hfs_conn_io *io)
{
    long r = hfs_conn_read_queued(c, buf, n);
    if (r >= 0 || r == HFS_CONN_HUNG || r == HFS_CONN_RESET)
        return r;
    for (;;) {
        long k = io->recv(io->ctx, buf, n);
        if (k < 0)
            return k;
        long g = hfs_conn_read_got(c, buf, (size_t)k, n, io);
        if (g != HFS_CONN_AGAIN)
            return g;
    }
}

char *hfs_conn_take_answer(struct hfs_conn *c, size_t *len, int *close_after)
{
    struct turn *t = front(c);
    if (!t || !t->data || t->hang || c->held_len > c->held_off)
        return NULL;
    char *d = t->data;
    if (t->off) {
        memmove(d, d + t->off, t->len - t->off);
    }
    *len = t->len - t->off;
    *close_after = t->reset_after ? 2 : t->close_after;
    t->data = NULL;
    t->len = t->off = 0;
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qcount--;
    return d;
}
