/* httpjudge: judge one request head seen in a byte stream (see header). */
#include "httpjudge.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../core/answer.h"
#include "../core/cacheprobe.h"
#include "../core/http1.h"
#include "../core/log.h"
#include "../core/readfile.h"
#include "../core/regex.h"
#include "../core/tscratch.h"
#include "audit.h"
#include "authwatch.h"
#include "decide_apply.h"
#include "faultcount.h"
#include "reachmem.h"
#include "envhooks.h"
#include "state.h"
#include "tokmem.h"

const char *hfs_value_env(void *ctx, const char *name)
{
    (void)ctx;
    return hfs_env_user(name);
}

long hfs_value_file(void *ctx, const char *path, char *buf, size_t cap)
{
    (void)ctx;
    struct stat st;
    const char *why;
    if (cap == 0)
        return -1;
    int fd = hfs_file_open(path, O_RDONLY, 0, &st, &why); /* a FIFO is refused, never waited on */
    if (fd < 0)
        return -1;
    long n = hfs_sys_read(fd, buf, cap - 1);
    hfs_sys_close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return (long)n;
}

void hfs_cache_note_unread(const struct hfs_cache_ctx *c, const char *method, const char *url)
{
    static atomic_int said;
    if (c->unread && !atomic_exchange(&said, 1))
        hfs_log_msg("error", "Hub cache: %s %s: %s; answered as a cache miss", method, url, c->unread);
}

static int watch_response(void *watch, const struct hfs_http1_head *h, int can_retry)
{
    return hfs_auth_watch_response(watch, h->status, h->headers, h->nheaders, can_retry);
}

static void watch_release(void *watch) { free(watch); }

static int value_matches(void *ctx, const char *value, size_t len)
{
    return hfs_re_match((struct hfs_re *)ctx, value, len);
}

static void copy_n(char *out, size_t cap, const char *p, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = 0;
}

/* An answer as response bytes (malloc'd); NULL when it cannot be built. */
static char *response_bytes(const struct hfs_answer *a, int head_only, int close_after, size_t *len)
{
    struct hfs_header hdrs[HFS_ANSWER_MAX_HEADERS + 1];
    size_t n = 0;
    for (size_t i = 0; i < a->nheaders; i++) {
        if (close_after && a->headers[i].name_len == 10 && strncasecmp(a->headers[i].name, "Connection", 10) == 0)
            continue;
        hdrs[n++] = a->headers[i];
    }
    if (close_after)
        hdrs[n++] = (struct hfs_header){ "Connection", 10, "close", 5 };
    size_t cap = a->body_len + 16384;
    char *out = malloc(cap);
    long l =
        out ? hfs_http1_build_response(a->status, a->reason, hdrs, n, a->body, a->body_len, head_only, out, cap) : -1;
    if (l < 0) {
        free(out);
        return NULL;
    }
    *len = (size_t)l;
    return out;
}

/* The answer as bytes, malloc'd into s->answer: the cache's (cached) or
 * the verdict's (respond, HTTP-form block). */
static int build_answer(const struct hfs_verdict *v, const struct hfs_answer *cached, const struct hfs_http1_head *h,
                        int close_after, struct hfs_conn_verdict *out, struct hfs_http_scratch *s, int *status)
{
    struct hfs_answer *a = cached ? NULL : malloc(sizeof *a);
    if (!cached && !a)
        return -1;
    if (a)
        hfs_answer_from_verdict(v, a);
    const struct hfs_answer *use = cached ? cached : a;
    int head_only = h->method_len == 4 && memcmp(h->method, "HEAD", 4) == 0;
    size_t len = 0;
    s->answer = response_bytes(use, head_only, close_after, &len);
    *status = use->status;
    free(a);
    if (!s->answer)
        return -1;
    out->act = HFS_CONN_ANSWER;
    out->answer = s->answer;
    out->answer_len = len;
    out->close_after = close_after;
    return 0;
}

/* The response faults of a request that is answered or goes on (reset,
 * throttle): the engine cuts or paces its response. */
static void apply_faults(const struct hfs_http_rec *lc, const struct hfs_verdict *v, struct hfs_conn_verdict *out)
{
    if (v->reset_after >= 0) {
        char why[96];
        snprintf(why, sizeof why, "the response is cut after %ld bytes", v->reset_after);
        out->reset = 1;
        out->cut = v->reset_after;
        hfs_record_http(lc, HFS_COUNT_FAULTED, "reset", v->fault_rule, why, 0, NULL, 0, "ECONNRESET", NULL);
    }
    if (v->throttle_bps > 0) {
        char why[96];
        snprintf(why, sizeof why, "the response comes at %ld bytes/s", v->throttle_bps);
        out->rate = v->throttle_bps;
        hfs_record_http(lc, HFS_COUNT_NONE, "throttle", v->fault_rule, why, 0, NULL, 0, NULL, NULL);
    }
}

/* The status of a built answer ("HTTP/1.1 401 ..."), 0 when unreadable. */
static int answer_status(const char *a) { return strncmp(a, "HTTP/1.", 7) == 0 && a[8] == ' ' ? atoi(a + 9) : 0; }

/* A paths-info call answered from the cache once its body is in. */
struct deferred {
    struct hfs_cache_ctx cc;
    int close_after;
    char method[16], layer[8], url[1024], rule[128];
};

static char *deferred_finish(void *pending, const char *body, size_t len, size_t *alen, int *close_after)
{
    struct deferred *d = pending;
    struct hfs_http_rec lc = { d->layer, d->method, d->url };
    struct hfs_answer block;
    const struct hfs_answer *use = &block;
    *close_after = d->close_after;
    if (body && hfs_cache_ctx_finish(&d->cc, body, len)) {
        use = &d->cc.found->ans.a;
        hfs_record_http(&lc, HFS_COUNT_ANSWERED, "respond", d->rule, d->cc.found->ans.summary, use->status, NULL, 0,
                        NULL, NULL);
    } else {
        struct hfs_verdict v = {
            .kind = HFS_V_BLOCK, .rule_index = 0, .rule = d->rule, .http_form = 1, .block_status = 403
        };
        hfs_answer_from_verdict(&v, &block);
        hfs_record_http(&lc, HFS_COUNT_BLOCKED, "block", d->rule,
                        body ? "none of the paths is cached" : "the request body is too large", 403, NULL, 0,
                        "HTTP 403", NULL);
    }
    return response_bytes(use, 0, d->close_after, alen);
}

static void deferred_release(void *pending)
{
    struct deferred *d = pending;
    hfs_cache_ctx_done(&d->cc);
    free(d);
}

/* A NUL-terminated text built in a buffer of cap bytes; over once
 * something did not fit (cut there, as snprintf cuts). */
struct text {
    char *p;
    size_t cap, len;
    int over;
};

static void text_put(struct text *t, const char *s, size_t n)
{
    if (t->len + n >= t->cap) {
        n = t->cap - 1 - t->len;
        t->over = 1;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = 0;
}

/* v (>= 0) in decimal into b (16 bytes at least); its length. */
static size_t fmt_int(char *b, int v)
{
    char tmp[16];
    size_t n = 0, i = 0;
    unsigned u = (unsigned)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while ((u /= 10) && n < sizeof tmp);
    while (n)
        b[i++] = tmp[--n];
    b[i] = 0;
    return i;
}

/* The request a head describes on the connection o: q (pointing into
 * method, url, parts and cc). The URL the request goes to: absolute-form
 * as sent; otherwise the connection's scheme, the name connected to (or
 * the Host header) and port, and the target. 0, or -1 with *why. */
static int describe(const struct hfs_http_origin *o, const struct hfs_http1_head *h, const char *method, char *url,
                    struct hfs_url_parts *parts, struct hfs_cache_ctx *cc, struct hfs_request *out, const char **why)
{
    char hostport[300];
    int cut = 0;
    if (h->authority) {
        cut = h->target_len >= 8192;
        snprintf(url, 8192, "%.*s", (int)h->target_len, h->target);
    } else {
        const char *hh = NULL;
        size_t hl = 0;
        for (size_t i = 0; i < h->nheaders; i++)
            if (h->headers[i].name_len == 4 && strncasecmp(h->headers[i].name, "Host", 4) == 0) {
                hh = h->headers[i].value;
                hl = h->headers[i].value_len;
            }
        char ip[64] = "";
        if (o->addr.family == AF_INET || o->addr.family == AF_INET6)
            hfs_addr_text(&o->addr, ip, sizeof ip);
        int deflt = (!strcmp(o->scheme, "https") && o->port == 443) || (!strcmp(o->scheme, "http") && o->port == 80);
        const char *name = o->host ? o->host : NULL;
        /* built by hand, as snprintf would ("%s%s%s:%d", then
         * "%s://%s%.*s"): two snprintf calls cost more than the rest here */
        struct text hp = { hostport, sizeof hostport, 0, 0 }, u = { url, 8192, 0, 0 };
        if (name || !hh || !hl || hl > 255) {
            const char *n = name ? name : ip;
            int v6 = strchr(n, ':') != NULL;
            char port[16];
            text_put(&hp, "[", v6 ? 1 : 0);
            text_put(&hp, n, strlen(n));
            text_put(&hp, "]", v6 ? 1 : 0);
            if (o->port && !deflt) {
                text_put(&hp, ":", 1);
                text_put(&hp, port, fmt_int(port, o->port));
            }
        } else {
            copy_n(hostport, sizeof hostport, hh, hl);
        }
        text_put(&u, o->scheme, strlen(o->scheme));
        text_put(&u, "://", 3);
        text_put(&u, hostport, strlen(hostport));
        if (h->path_len == 1 && h->path[0] == '*')
            text_put(&u, "/", 1);
        else
            text_put(&u, h->target, h->target_len);
        if (u.over)
            cut = 1; /* judged on what fits: path rules that block or strip fail closed */
    }
    struct hfs_request q = { .layer = o->layer,
                             .program = hfs_g.program,
                             .method = method,
                             .headers = h->headers,
                             .nheaders = h->nheaders,
                             .http_known = 1,
                             .cache = &cc->probe,
                             .tokens = hfs_tokmem(),
                             .fire = hfs_fire(),
                             .reach = hfs_reach() };
    if (!hfs_request_set_url(&q, url, parts, why)) {
        q.cut |= cut;
    } else {
        /* a target we cannot read as a URL: judge the connection with the
         * path unknown-safe "/" so rules on the host still hold */
        snprintf(url, 8192, "%s://%s/", o->scheme, o->host ? o->host : "invalid");
        if (hfs_request_set_url(&q, url, parts, why))
            return -1;
    }
    /* the destination is where the connection goes, whatever the head says */
    if (o->addr.family) {
        q.addr = o->addr;
        hfs_addr_text(&o->addr, q.ip, sizeof q.ip);
    }
    if (o->port)
        q.port = o->port;
    if (o->host)
        q.host = o->host;
    q.no_network = o->server_down ? HFS_NONET_DOWN : o->virtual_ ? HFS_NONET_VIRTUAL : HFS_NONET_NO;
    *out = q;
    return 0;
}

/* What judging a request needs beyond the stack: the thread's kept area
 * (tscratch.h), not a malloc and free per request. */
struct judge_area {
    char url[8192];
    struct hfs_url_parts parts;
};

/* hfs_http_needs_network parses the head itself: its header slots too */
struct needs_area {
    struct judge_area j;
    struct hfs_header hdrs[HFS_HTTP1_STREAM_MAXHDRS];
};

int hfs_http_needs_network(const struct hfs_http_origin *o, const char *buf, size_t len)
{
    struct hfs_http1_head h;
    char method[32];
    struct hfs_tscratch area = hfs_tscratch_take(sizeof(struct needs_area));
    struct needs_area *a = area.p;
    int n = a ? hfs_http1_parse_request_head(buf, len, &h, a->hdrs, HFS_HTTP1_STREAM_MAXHDRS, NULL) : -1;
    if (n <= 0) {
        hfs_tscratch_give(area);
        return -1;
    }
    char *url = a->j.url;
    struct hfs_url_parts *parts = &a->j.parts;
    struct hfs_cache_ctx cc;
    struct hfs_request q;
    const char *why;
    int rc = -1;
    hfs_cache_ctx_init(&cc, hfs_env_user);
    copy_n(method, sizeof method, h.method, h.method_len);
    if (url && parts && describe(o, &h, method, url, parts, &cc, &q, &why) == 0) {
        struct hfs_verdict v;
        q.fire = hfs_fire_peek(); /* a dry run: nothing is counted */
        hfs_decide(hfs_g.rules, &q, &v);
        rc = v.kind == HFS_V_ALLOW;
    }
    hfs_cache_ctx_done(&cc);
    hfs_tscratch_give(area);
    return rc;
}

void hfs_http_judge(const struct hfs_http_origin *o, const struct hfs_http1_head *h, const char *head, size_t len,
                    struct hfs_conn_verdict *out, struct hfs_http_scratch *s)
{
    (void)head;
    (void)len;
    char method[32], safe[2048];
    struct hfs_tscratch area = hfs_tscratch_take(sizeof(struct judge_area));
    struct judge_area *a = area.p;
    char *url = a ? a->url : NULL;
    struct hfs_url_parts *parts = a ? &a->parts : NULL;
    const char *why = NULL;
    struct hfs_http_rec lc = { hfs_layer_name(o->layer), method, safe };
    struct hfs_cache_ctx cc;
    hfs_cache_ctx_init(&cc, hfs_env_user);
    memset(out, 0, sizeof *out);
    s->answer = NULL;
    out->act = HFS_CONN_FORWARD;
    if (!url || !parts)
        goto fail_alloc;
    copy_n(method, sizeof method, h->method, h->method_len);

    struct hfs_request q;
    if (describe(o, h, method, url, parts, &cc, &q, &why))
        goto fail_alloc;
    q.no_network = o->server_down ? HFS_NONET_DOWN : o->virtual_ ? HFS_NONET_VIRTUAL : HFS_NONET_NO;

    struct hfs_verdict v;
    hfs_decide(hfs_g.rules, &q, &v);
    hfs_log_safe_url(url, safe, sizeof safe);
    hfs_cache_note_unread(&cc, method, safe);

    if (v.kind == HFS_V_BLOCK && !v.http_form) {
        hfs_record_http(&lc, HFS_COUNT_BLOCKED, "block", v.rule, v.why, 0, NULL, 0, "ECONNRESET", NULL);
        out->act = HFS_CONN_FAIL;
    } else if (v.kind == HFS_V_HANG) {
        /* taken, never answered: the client's own timeout ends it */
        hfs_record_http(&lc, HFS_COUNT_FAULTED, "hang", v.rule, v.why, 0, NULL, 0, "no answer", NULL);
        out->act = HFS_CONN_ANSWER;
        out->hang = 1;
    } else if (v.kind == HFS_V_RESPOND && v.from_cache && cc.hit && cc.found->ans.need_body) {
        /* paths-info: which paths it asks for is in the body */
        struct deferred *d = malloc(sizeof *d);
        if (!d)
            goto fail_alloc;
        d->cc = cc;
        d->cc.probe.ctx = &d->cc;
        cc.found = NULL; /* now d's */
        d->close_after = o->close_answers;
        copy_n(d->method, sizeof d->method, method, strlen(method));
        copy_n(d->layer, sizeof d->layer, lc.layer, strlen(lc.layer));
        copy_n(d->url, sizeof d->url, safe, strlen(safe));
        copy_n(d->rule, sizeof d->rule, v.rule, strlen(v.rule));
        out->act = HFS_CONN_ANSWER;
        out->pending = d;
        out->finish = deferred_finish;
        out->release = deferred_release;
    } else if (v.kind == HFS_V_BLOCK || v.kind == HFS_V_RESPOND) {
        int status = 0;
        const struct hfs_answer *cached = v.from_cache && cc.hit ? &cc.found->ans.a : NULL;
        if (cached)
            v.why = cc.found->ans.summary;
        if (build_answer(&v, cached, h, o->close_answers, out, s, &status))
            goto fail_alloc;
        char shown[32];
        snprintf(shown, sizeof shown, "HTTP %d", status);
        hfs_record_http(&lc, v.kind == HFS_V_BLOCK ? HFS_COUNT_BLOCKED : HFS_COUNT_ANSWERED,
                        v.kind == HFS_V_BLOCK ? "block" : "respond", v.rule, v.why, status, NULL, 0,
                        v.kind == HFS_V_BLOCK ? shown : NULL, NULL);
    } else if (v.nedits) {
        struct hfs_value_source src = { hfs_value_env, hfs_value_file, hfs_record_edit_skipped, &lc };
        size_t ne = hfs_edits_resolve(&v, &src, s->resolved, HFS_MAX_EDITS, s->values, sizeof s->values);
        for (size_t i = 0; i < ne; i++) {
            const struct hfs_hdr_edit *e = &s->resolved[i];
            s->edits[i] = (struct hfs_http1_edit){ .kind = e->remove ? HFS_HTTP1_REMOVE : HFS_HTTP1_SET,
                                                   .name = e->name,
                                                   .name_len = strlen(e->name),
                                                   .value = e->value,
                                                   .value_len = e->value ? strlen(e->value) : 0,
                                                   .pred = e->value_re ? value_matches : NULL,
                                                   .ctx = (void *)e->value_re };
            hfs_record_edit(&lc, e, v.auth.why, v.auth.mask);
        }
        out->edits = s->edits;
        out->nedits = ne;
    }
    if (v.kind == HFS_V_ALLOW && v.auth.watch) {
        struct hfs_auth_watch *w = malloc(sizeof *w);
        if (w && hfs_auth_watch_start(w, &q, &v)) {
            out->watch = w;
            out->on_response = watch_response;
            out->watch_release = watch_release;
            out->retry_without_auth = v.auth.retry;
        } else {
            free(w);
        }
    }
    if (out->act != HFS_CONN_FAIL && !out->hang)
        apply_faults(&lc, &v, out);
    hfs_audit_verdict(&q, &v, safe, out->act == HFS_CONN_FAIL ? "ECONNRESET" : NULL,
                      out->act == HFS_CONN_ANSWER && s->answer ? answer_status(s->answer) : 0);
    if (v.delay_ms > 0 && out->act != HFS_CONN_FAIL) {
        struct timespec ts = { v.delay_ms / 1000, (long)(v.delay_ms % 1000) * 1000000L };
        hfs_record_http(&lc, HFS_COUNT_NONE, "delay", "delay", "delay rules", 0, NULL, v.delay_ms, NULL, NULL);
        while (nanosleep(&ts, &ts) && errno == EINTR)
            ;
    }
    hfs_cache_ctx_done(&cc);
    hfs_tscratch_give(area);
    return;
fail_alloc:
    /* never forward what could not be judged */
    hfs_log_msg("error", "could not judge a request (%s): the connection is refused", why ? why : "out of memory");
    out->act = HFS_CONN_FAIL;
    hfs_cache_ctx_done(&cc);
    hfs_tscratch_give(area);
}

void hfs_http_judge_done(struct hfs_http_scratch *s)
{
    free(s->answer);
    s->answer = NULL;
}
