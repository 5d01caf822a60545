/* decide: offline policy first, then the rules in order, first match wins.
 * Each predicate answers yes, no, or "unknown at this layer"; a rule whose
 * known predicates all hold but some are unknown defers the decision. */
#include "decide.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "actions.h"
#include "hostpat.h"
#include "hubpath.h"
#include "regex.h"
#include "ruleindex.h"
#include "rules_match.h"
#include "token.h"
#include "window.h"

enum tri { NO = 0, YES = 1, UNKNOWN = 2 };

/* What every rule asks of the request, worked out once per decision. */
struct prep {
    struct hfs_hostkey host, ip;
    int hub, hub_unknown;
    size_t path_len, url_len;
    unsigned method_bit;
    int auth_done; /* auth below was worked out (lazily: only with a tokens section) */
    struct hfs_verdict_auth auth;
    char basic[512]; /* a Basic credential, decoded */
    int hub_parsed;  /* hubreq below was filled (lazily: only rules on repos need it) */
    int hub_rc;      /* hfs_hub_parse's answer */
    struct hfs_hubreq hubreq;
};

static int is_hub_prepared(const struct hfs_rules *p, const struct hfs_request *r, const struct prep *k, int *unknown)
{
    for (size_t i = 0; i < p->nhub; i++)
        if (hfs_hostpat_match_prepared(&p->hub[i], r, &k->host, &k->ip, unknown))
            return 1;
    return 0;
}

static void prepare(const struct hfs_rules *p, const struct hfs_request *r, struct prep *k)
{
    hfs_hostkey_init(&k->host, r->host);
    if (r->ip[0] && r->host && strcmp(r->ip, r->host) == 0)
        k->ip = k->host; /* an address literal as the host (the same key, read once) */
    else
        hfs_hostkey_init(&k->ip, r->ip[0] ? r->ip : NULL);
    k->hub_unknown = 0;
    k->hub = is_hub_prepared(p, r, k, &k->hub_unknown);
    k->method_bit = r->method ? hfs_method_bit(r->method) : 0;
    k->path_len = r->path ? strlen(r->path) : 0;
    k->url_len = r->url ? strlen(r->url) : 0;
    k->hub_parsed = 0;
    k->auth_done = 0;
}

/* 1 when the request goes to a host that may receive HF tokens: a Hub
 * host or one of tokens.hosts. */
static int token_host(const struct hfs_rules *p, const struct hfs_request *r, const struct prep *k)
{
    int unknown = 0;
    if (k->hub)
        return 1;
    for (size_t i = 0; i < p->tokens.nhosts; i++)
        if (hfs_hostpat_match_prepared(&p->tokens.hosts[i], r, &k->host, &k->ip, &unknown))
            return 1;
    return 0;
}

/* The token the request carries, judged once per decision (token.h). */
static const struct hfs_verdict_auth *auth_of(const struct hfs_rules *p, struct prep *k, const struct hfs_request *r)
{
    struct hfs_verdict_auth *a = &k->auth;
    if (k->auth_done)
        return a;
    k->auth_done = 1;
    memset(a, 0, sizeof *a);
    const struct hfs_header *h = hfs_token_header(r->headers, r->nheaders);
    struct hfs_token t;
    if (!h || hfs_token_parse(h->value, h->value_len, k->basic, sizeof k->basic, &t))
        return a;
    a->hf = hfs_token_is_hf(&p->tokens, &t);
    memcpy(a->sha, t.sha, sizeof a->sha);
    snprintf(a->mask, sizeof a->mask, "%s", t.mask);
    if (token_host(p, r, k)) {
        a->cls = hfs_token_classify(&p->tokens, &t, r->tokens, &a->why);
    } else {
        a->cls = HFS_TOK_OK; /* another service's credential: not ours to judge */
        a->foreign = a->hf;
        if (a->foreign)
            a->why = "a Hugging Face token sent to a host outside the Hub hosts";
    }
    return a;
}

/* 1 when a strip-auth rule's reasons cover the request's token. */
static int auth_strips(const struct hfs_verdict_auth *a, unsigned when)
{
    switch (a->cls) {
    case HFS_TOK_MALFORMED: return (when & HFS_WHEN_MALFORMED) != 0;
    case HFS_TOK_DENIED: return (when & HFS_WHEN_DENIED) != 0;
    case HFS_TOK_LEARNED: return (when & HFS_WHEN_LEARNED) != 0;
    case HFS_TOK_INVALID: return (when & HFS_WHEN_INVALID) != 0;
    default: return a->foreign && (when & HFS_WHEN_FOREIGN);
    }
}

/* The Hub call the request is (hubpath.h), parsed once per decision. */
static const struct hfs_hubreq *hubreq_of(struct prep *k, const struct hfs_request *r)
{
    if (!k->hub_parsed) {
        const char *why;
        k->hub_parsed = 1;
        k->hub_rc = hfs_hub_parse(r->method, r->path, r->query, &k->hubreq, &why);
    }
    return k->hub_rc == 1 ? &k->hubreq : NULL;
}

/* 1 when the cache can answer r for rule (its folders; NULL: the Hub cache). */
static int cache_hit(struct prep *k, const struct hfs_request *r, const struct hfs_rule *rule)
{
    return r->cache && hubreq_of(k, r) && r->cache->probe(r->cache->ctx, r, rule);
}

int hfs_is_hub(const struct hfs_rules *p, const struct hfs_request *r, int *unknown)
{
    struct prep k;
    prepare(p, r, &k);
    if (unknown && k.hub_unknown)
        *unknown = 1;
    return k.hub;
}

static enum tri and3(enum tri a, enum tri b)
{
    if (a == NO || b == NO)
        return NO;
    return (a == UNKNOWN || b == UNKNOWN) ? UNKNOWN : YES;
}

static const struct hfs_header *find_header(const struct hfs_request *r, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < r->nheaders; i++)
        if (r->headers[i].name_len == nl && strncasecmp(r->headers[i].name, name, nl) == 0)
            return &r->headers[i];
    return NULL;
}

/* A regex condition. When the engine gives up on a long subject (or the
 * subject was cut: the request's URL was longer than hfshim keeps), a rule
 * that blocks, strips or answers counts it as a match (fails closed); any
 * other (allow, set-header, set-auth, faults) as no match. */
static enum tri re3(struct hfs_re *re, const char *s, size_t n, const struct hfs_rule *rule, int cut)
{
    if (!s)
        return NO;
    int rc = hfs_re_match(re, s, n);
    if (rc > 0 || (rc == 0 && !cut)) /* a miss on a cut subject proves nothing */
        return rc ? YES : NO;
    switch (rule ? rule->action : HFS_ACT_ALLOW) {
    case HFS_ACT_BLOCK:
    case HFS_ACT_REFUSE:
    case HFS_ACT_DNS_FAIL:
    case HFS_ACT_RESPOND:
    case HFS_ACT_CACHE:
    case HFS_ACT_STRIP_HEADER:
    case HFS_ACT_STRIP_AUTH: return YES;
    default: return NO;
    }
}

/* Cheapest conditions first (integers, short strings), host patterns next,
 * regexes last: most rules are ruled out before any regex runs. */
static enum tri match_rule(struct prep *k, const struct hfs_match *m, const struct hfs_request *r,
                           const struct hfs_rule *rule)
{
    enum tri t = YES;
    if (m->programs) {
        size_t i = 0;
        while (i < m->nprograms && !(r->program && strcmp(r->program, m->programs[i]) == 0))
            i++;
        if (i == m->nprograms)
            return NO;
    }
    if (m->hub)
        t = k->hub ? YES : k->hub_unknown ? UNKNOWN : NO;
    if (m->ports && t != NO) {
        enum tri pt = r->port ? NO : UNKNOWN;
        for (size_t i = 0; i < m->nports && pt == NO; i++)
            if (m->ports[i] == r->port)
                pt = YES;
        t = and3(t, pt);
    }
    if (m->scheme && t != NO)
        t = and3(t, !r->scheme ? UNKNOWN : strcmp(r->scheme, m->scheme) == 0 ? YES : NO);
    if (m->methods && t != NO && r->http_known) {
        enum tri mt = NO;
        if (k->method_bit != HFS_METHOD_OTHER) /* a common method: one AND */
            mt = (m->method_mask & k->method_bit) ? YES : NO;
        else
            for (size_t i = 0; i < m->nmethods && mt == NO; i++)
                if (r->method && strcmp(r->method, m->methods[i]) == 0)
                    mt = YES;
        t = and3(t, mt);
    }
    if (m->host && t != NO) {
        int unknown = 0;
        t = and3(t, hfs_hostpat_match_prepared(m->host, r, &k->host, &k->ip, &unknown) ? YES : unknown ? UNKNOWN : NO);
    }
    if (t == NO)
        return NO;
    if (!r->http_known)
        return (m->methods || m->path || m->url || m->nheaders || m->repo || m->cached >= 0) ? UNKNOWN : t;
    if (m->path)
        t = and3(t, re3(m->path, r->path, k->path_len, rule, r->cut));
    if (m->url && t != NO)
        t = and3(t, re3(m->url, r->url, k->url_len, rule, r->cut));
    for (size_t i = 0; i < m->nheaders && t != NO; i++) {
        const struct hfs_header *h = find_header(r, m->headers[i].name);
        t = and3(t, h ? re3(m->headers[i].re, h->value, h->value_len, rule, 0) : NO);
    }
    if (m->repo && t != NO) {
        const struct hfs_hubreq *q = hubreq_of(k, r);
        t = and3(t, q ? re3(m->repo, q->repo, strlen(q->repo), rule, r->cut) : NO);
    }
    if (m->cached >= 0 && t != NO) /* last: it reads the cache */
        t = and3(t, cache_hit(k, r, rule) == m->cached ? YES : NO);
    return t;
}

static void set(struct hfs_verdict *v, enum hfs_verdict_kind k, int idx, const char *rule, const char *why)
{
    v->kind = k;
    v->rule_index = idx;
    v->rule = rule;
    v->why = why;
}

static int is_http_layer(enum hfs_layer l)
{
    return l == HFS_LAYER_HTTP || l == HFS_LAYER_TLS || l == HFS_LAYER_CURL || l == HFS_LAYER_EXPLAIN;
}

/* How a block is delivered at an HTTP layer: an HTTP answer for Hub
 * hosts (huggingface_hub then uses its cache or fails at once), the
 * layer's transport error otherwise; a rule's "form" overrides. */
static void block_form(struct hfs_verdict *v, const struct hfs_rule *rule)
{
    enum hfs_block_form f = rule ? rule->args.form : HFS_BLOCK_DEFAULT;
    v->answer = rule;
    v->block_status = rule && rule->args.status ? rule->args.status : 403;
    v->http_form = f == HFS_BLOCK_HTTP || (f == HFS_BLOCK_DEFAULT && v->hub);
}

/* Offline: Hub hosts and every non-loopback destination are blocked.
 * Returns 1 when it decided. */
static int offline_policy(const struct prep *k, const struct hfs_request *r, struct hfs_verdict *v)
{
    if (k->hub) {
        set(v, HFS_V_BLOCK, -1, "offline", "Hugging Face Hub host, offline mode");
        return 1;
    }
    if (r->layer == HFS_LAYER_RESOLVE) {
        if (!r->name_is_local) {
            set(v, HFS_V_BLOCK, -1, "offline",
                "offline mode: only names that resolve without the network are looked up");
            return 1;
        }
        return 0;
    }
    if (r->addr.family && !hfs_addr_is_loopback(&r->addr)) {
        set(v, HFS_V_BLOCK, -1, "offline", "offline mode: only loopback destinations are reachable");
        return 1;
    }
    return 0;
}

static void decide_rules(const struct hfs_rules *p, struct prep *k, const struct hfs_request *r, struct hfs_verdict *v,
                         int http);

/* Where a rule acts (and, with a window, is counted): the connection
 * faults at their own layer, everything else on the HTTP request. */
enum stage { AT_NONE, AT_RESOLVE, AT_CONNECT, AT_HTTP };

static enum stage stage_of(const struct hfs_rule *rule)
{
    switch (hfs_rule_stage(rule)) { /* the table of actions says */
    case HFS_STAGE_CONNECT: return AT_CONNECT;
    case HFS_STAGE_RESOLVE: return AT_RESOLVE;
    default: return AT_HTTP;
    }
}

static enum stage layer_stage(enum hfs_layer l)
{
    switch (l) {
    case HFS_LAYER_RESOLVE: return AT_RESOLVE;
    case HFS_LAYER_CONNECT: return AT_CONNECT;
    case HFS_LAYER_DATAGRAM: return AT_NONE;
    default: return AT_HTTP;
    }
}

/* libcurl (7.78 and later) answers "localhost" and "*.localhost" itself. */
static int curl_resolves_itself(const char *host)
{
    size_t n = host ? strlen(host) : 0;
    if (n && host[n - 1] == '.')
        n--;
    return (n == 9 && strncasecmp(host, "localhost", 9) == 0) ||
           (n > 10 && strncasecmp(host + n - 10, ".localhost", 10) == 0);
}

/* 1 when v was decided by a connection fault (refuse, dns-fail, hang at
 * connect); sets its fate. */
static int conn_fault(const struct hfs_rules *p, struct hfs_verdict *v)
{
    if (v->rule_index < 0 || (v->kind != HFS_V_BLOCK && v->kind != HFS_V_HANG))
        return 0;
    enum stage st = stage_of(&p->rules[v->rule_index]);
    if (st != AT_CONNECT && st != AT_RESOLVE)
        return 0;
    v->fate = v->kind == HFS_V_HANG ? HFS_CONN_HANG : HFS_CONN_REFUSE;
    v->answerable = 0;
    v->http_form = 0;
    return 1;
}

/* An allowed request on a connection that cannot reach the network: a
 * virtual one answers with the HTTP-form block (there is nothing to
 * forward to); one whose server is down fails as the connection would
 * have. */
static void no_path(struct hfs_verdict *v, int how)
{
    v->kind = HFS_V_BLOCK;
    v->answer = NULL;
    v->nedits = 0;
    v->delay_ms = 0;
    if (v->rule_index < 0)
        v->rule = "(no rule)";
    if (how == HFS_NONET_DOWN) {
        v->why = "the server is unreachable and no rule answers it";
        v->http_form = 0;
    } else {
        v->why = "no network path (virtual connection)";
        v->http_form = 1;
        v->block_status = 403;
    }
}
static int conn_fate(const struct hfs_rules *p, struct prep *k, const struct hfs_request *r, struct hfs_verdict *v);

/* With a tokens section: what the HTTP layer must do with the response
 * to a request that goes on (watch it; learn and retry on a 401
 * "Invalid credentials"). */
static void auth_verdict(const struct hfs_rules *p, struct prep *k, const struct hfs_request *r, struct hfs_verdict *v)
{
    int stripped = v->auth.stripped;
    const char *srule = v->auth.rule;
    v->auth = *auth_of(p, k, r);
    v->auth.stripped = stripped;
    v->auth.rule = srule;
    if (v->kind != HFS_V_ALLOW || !token_host(p, r, k))
        return;
    v->auth.watch = 1; /* diagnostics for Hub error answers, with or without a token */
    if (!v->auth.mask[0] || stripped)
        return;
    for (size_t i = 0; i < v->nedits; i++) /* a set-auth replaces the app's token: that one is judged by the Hub */
        if (v->edits[i]->action == HFS_ACT_SET_AUTH ||
            (v->edits[i]->action == HFS_ACT_SET_HEADER && strcasecmp(v->edits[i]->args.header, "Authorization") == 0))
            return;
    v->auth.learn = p->tokens.learn;
    v->auth.retry = p->tokens.retry && r->method &&
                    (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD") || !strcmp(r->method, "OPTIONS"));
}

static void decide_verdict(const struct hfs_rules *p, const struct hfs_request *r, struct hfs_verdict *v)
{
    int http = is_http_layer(r->layer) && r->http_known;
    struct prep k;
    memset(v, 0, sizeof *v);
    v->reset_after = -1;
    prepare(p, r, &k);
    v->hub = k.hub;
    const char *down_why = NULL;
    int down = !p->offline && k.hub && r->reach && r->reach->down(r->reach->ctx, r, &down_why);
    if (down)
        set(v, HFS_V_BLOCK, -1, "unreachable", down_why ? down_why : "the Hub host is unreachable");
    if (down || (p->offline && offline_policy(&k, r, v))) {
        /* an unreachable Hub host is handled exactly as offline mode
         * handles Hub hosts (rules/README.md §4.3) */
        /* an HTTP request that a respond rule answers needs no network:
         * offline, the answer still comes (that is how cached Hub
         * metadata is served); anything else offline blocks */
        struct hfs_verdict rv;
        if (http) {
            memset(&rv, 0, sizeof rv);
            rv.hub = v->hub;
            rv.reset_after = -1;
            decide_rules(p, &k, r, &rv, http);
            if (rv.kind == HFS_V_RESPOND || rv.kind == HFS_V_HANG) {
                *v = rv;
                return;
            }
            /* offline answers Hub calls from the Hub cache even with no
             * cache rule: hfshim, not the library, is offline */
            if (k.hub && cache_hit(&k, r, NULL)) {
                set(v, HFS_V_RESPOND, -1, down ? "unreachable" : "offline",
                    down ? "answered from the cache (the Hub is unreachable)"
                         : "answered from the cache (offline mode)");
                v->from_cache = 1;
                return;
            }
            if (rv.kind == HFS_V_BLOCK && rv.rule_index >= 0 && rv.http_form) {
                *v = rv; /* a rule's own block answer (its status) */
                return;
            }
            block_form(v, NULL);
        } else {
            /* a connection fault still acts (refuse, dns-fail, hang) */
            memset(&rv, 0, sizeof rv);
            rv.hub = v->hub;
            rv.reset_after = -1;
            decide_rules(p, &k, r, &rv, 0);
            if (conn_fault(p, &rv)) {
                *v = rv;
                return;
            }
            /* the connection never reaches the network; its requests can
             * still get an HTTP answer: the offline block for Hub hosts,
             * or a respond rule */
            int answerable = conn_fate(p, &k, r, v);
            v->answerable = answerable || k.hub;
            v->fate = (k.hub || answerable) ? HFS_CONN_VIRTUAL : HFS_CONN_REFUSE;
        }
        return;
    }
    decide_rules(p, &k, r, v, http);
    if (!http && !conn_fault(p, v))
        v->answerable = conn_fate(p, &k, r, v);
    else if (v->kind == HFS_V_ALLOW && r->no_network)
        no_path(v, r->no_network);
    if (http && p->tokens.present)
        auth_verdict(p, &k, r, v);
}

/* The verdict, with what the layers need from the deciding rule, so no
 * layer reads the rules table. */
void hfs_decide(const struct hfs_rules *p, const struct hfs_request *r, struct hfs_verdict *v)
{
    decide_verdict(p, r, v);
    v->action = v->rule_index >= 0 ? (int)p->rules[v->rule_index].action : -1;
    v->lookup_fail = v->action == HFS_ACT_DNS_FAIL;
}

/* What a preset's answer names: the Hub call's repo and revision, the
 * rate-limit bucket, whether a token reaches the Hub. */
static void preset_ctx(struct prep *k, const struct hfs_request *r, struct hfs_verdict *v)
{
    struct hfs_preset_ctx *c = &v->preset_ctx;
    const struct hfs_hubreq *q = hubreq_of(k, r);
    memset(c, 0, sizeof *c);
    if (q) {
        snprintf(c->type, sizeof c->type, "%s", q->type ? q->type : "model");
        snprintf(c->repo, sizeof c->repo, "%s", q->repo);
        snprintf(c->rev, sizeof c->rev, "%s", q->rev);
    }
    const char *path = r->path ? r->path : "/";
    snprintf(c->resource, sizeof c->resource, "%s",
             strncmp(path, "/api/", 5) == 0 ? "api"
             : strstr(path, "/resolve/")    ? "resolvers"
                                            : "pages");
    c->token = find_header(r, "Authorization") != NULL && !v->auth.stripped;
    for (size_t i = 0; i < v->nedits; i++)
        if (v->edits[i]->action == HFS_ACT_SET_AUTH ||
            (v->edits[i]->action == HFS_ACT_SET_HEADER && strcasecmp(v->edits[i]->args.header, "Authorization") == 0))
            c->token = 1;
}

/* The next rule to try from i on: every rule, or only the index's
 * candidates for this request's host. */
static size_t next_rule(const uint64_t *bits, size_t i, size_t n)
{
    if (!bits)
        return i;
    while (i < n) {
        uint64_t w = bits[i / 64] >> (i % 64);
        if (w)
            return i + (size_t)__builtin_ctzll(w);
        i = (i / 64 + 1) * 64;
    }
    return n;
}

static void decide_rules(const struct hfs_rules *p, struct prep *k, const struct hfs_request *r, struct hfs_verdict *v,
                         int http)
{
    uint64_t cand[HFS_RULEINDEX_MAX / 64], *bits = NULL;
    if (p->index) {
        memset(cand, 0, ((p->nrules + 63) / 64) * sizeof cand[0]);
        hfs_ruleindex_candidates(p->index, &k->host, &k->ip, &r->addr, r->port, r->http_known ? k->method_bit : 0,
                                 k->hub || k->hub_unknown, cand);
        bits = cand;
    }
    for (size_t i = next_rule(bits, 0, p->nrules); i < p->nrules; i = next_rule(bits, i + 1, p->nrules)) {
        const struct hfs_rule *rule = &p->rules[i];
        int modifier = hfs_action_is_modifier(rule->action);
        if (modifier && !http)
            continue; /* header edits, delays and response faults act on HTTP requests only */
        enum stage st = stage_of(rule);
        /* libcurl resolves "localhost" names itself (no getaddrinfo): a dns-fail acts on such
         * transfers at the libcurl layer; other names are counted once, at their lookup */
        int here = st == layer_stage(r->layer) ||
                   (st == AT_RESOLVE && r->layer == HFS_LAYER_CURL && curl_resolves_itself(r->host));
        if (st != AT_HTTP && !here)
            continue; /* a connection fault acts at its own layer only */
        enum tri t = match_rule(k, &rule->match, r, rule);
        if (t == NO)
            continue;
        if (t == UNKNOWN) {
            set(v, HFS_V_DEFER, (int)i, rule->name, "depends on the HTTP request");
            return;
        }
        if (rule->window.present) {
            if (!here) { /* counted where it acts: the HTTP layer decides */
                set(v, HFS_V_DEFER, (int)i, rule->name, "fires on some requests only (window)");
                return;
            }
            long n = r->fire ? r->fire->count(r->fire->ctx, rule, i) : 0;
            if (n > 0 && !hfs_window_fires(&rule->window, rule->name, n))
                continue; /* not this one: the next rules decide */
        }
        if (modifier && (rule->action == HFS_ACT_RESET || rule->action == HFS_ACT_THROTTLE)) {
            if (rule->action == HFS_ACT_RESET && v->reset_after < 0)
                v->reset_after = rule->args.after_bytes;
            if (rule->action == HFS_ACT_THROTTLE && (!v->throttle_bps || rule->args.bytes_per_second < v->throttle_bps))
                v->throttle_bps = rule->args.bytes_per_second;
            if (!v->fault_rule)
                v->fault_rule = rule->name;
            continue;
        }
        if (modifier) {
            if (rule->action == HFS_ACT_STRIP_AUTH) {
                const struct hfs_verdict_auth *a = auth_of(p, k, r);
                if (!a->mask[0] || v->auth.stripped || !auth_strips(a, rule->args.when))
                    continue; /* no token, or a good one: nothing to strip */
                v->auth.stripped = 1;
                v->auth.rule = rule->name;
            }
            if (rule->action == HFS_ACT_DELAY) {
                v->delay_ms += rule->args.ms;
            } else if (v->nedits < HFS_MAX_EDITS) {
                v->edits[v->nedits++] = rule;
            } else { /* never drop an edit (it may be a token strip): refuse the request */
                set(v, HFS_V_BLOCK, (int)i, rule->name, "more header edits match this request than hfshim applies");
                v->nedits = 0;
                block_form(v, NULL);
                v->http_form = 0;
                return;
            }
            continue;
        }
        switch (rule->action) {
        case HFS_ACT_BLOCK:
            set(v, HFS_V_BLOCK, (int)i, rule->name, "blocked by rule");
            if (http)
                block_form(v, rule);
            return;
        case HFS_ACT_RESPOND:
            if (!http) { /* the answer needs the request: decided again at the HTTP layer */
                set(v, HFS_V_DEFER, (int)i, rule->name, "answered at the HTTP layer");
                return;
            }
            set(v, HFS_V_RESPOND, (int)i, rule->name, rule->args.preset ? "answered by a preset" : "answered by rule");
            v->answer = rule;
            if (rule->args.preset)
                preset_ctx(k, r, v);
            return;
        case HFS_ACT_REFUSE: /* reached at connect only (and by explain) */
            set(v, HFS_V_BLOCK, (int)i, rule->name, "refused by a fault rule");
            v->http_form = 0;
            return;
        case HFS_ACT_DNS_FAIL: /* reached at the resolver only (and by explain) */
            set(v, HFS_V_BLOCK, (int)i, rule->name, "name lookup failed by a fault rule");
            v->http_form = 0;
            return;
        case HFS_ACT_HANG:
            if (!http && !rule->args.hang_connect) {
                set(v, HFS_V_DEFER, (int)i, rule->name, "hangs at the HTTP layer");
                return;
            }
            set(v, HFS_V_HANG, (int)i, rule->name,
                rule->args.hang_connect ? "the connection hangs (fault rule)" : "the request hangs (fault rule)");
            v->answer = rule;
            return;
        case HFS_ACT_CACHE:
            if (!http) {
                set(v, HFS_V_DEFER, (int)i, rule->name, "answered at the HTTP layer");
                return;
            }
            if (cache_hit(k, r, rule)) {
                set(v, HFS_V_RESPOND, (int)i, rule->name, "answered from the cache");
                v->answer = rule;
                v->from_cache = 1;
                return;
            }
            if (rule->args.miss_block) {
                set(v, HFS_V_BLOCK, (int)i, rule->name, "not in the cache (miss: block)");
                block_form(v, rule);
                return;
            }
            continue; /* miss: the next rules decide */
        default: set(v, HFS_V_ALLOW, (int)i, rule->name, "allowed by rule"); return;
        }
    }
    set(v, HFS_V_ALLOW, -1, "(no rule)", "no rule matched");
}

/* 1 when a block rule answers at the HTTP level for this request. */
static int http_form_of(const struct hfs_rule *rule, int hub)
{
    return rule->args.form == HFS_BLOCK_HTTP || (rule->args.form == HFS_BLOCK_DEFAULT && hub);
}

/* Connection layers: walks the rules as the HTTP layers will, with every
 * condition on the request unknown, to say whether the connection must
 * reach the network (some request on it may be allowed), must not (every
 * request is blocked or answered) and whether HTTP rules may act on its
 * requests. Sets v->fate and v->http_rules; returns 1 when some request
 * may be answered without the network (respond, HTTP-form block). */
static int conn_fate(const struct hfs_rules *p, struct prep *k, const struct hfs_request *r, struct hfs_verdict *v)
{
    uint64_t cand[HFS_RULEINDEX_MAX / 64], *bits = NULL;
    int answerable = 0;
    if (p->index) {
        memset(cand, 0, ((p->nrules + 63) / 64) * sizeof cand[0]);
        hfs_ruleindex_candidates(p->index, &k->host, &k->ip, &r->addr, r->port, 0, k->hub || k->hub_unknown, cand);
        bits = cand;
    }
    v->fate = HFS_CONN_REAL;
    for (size_t i = next_rule(bits, 0, p->nrules); i < p->nrules; i = next_rule(bits, i + 1, p->nrules)) {
        const struct hfs_rule *rule = &p->rules[i];
        if (stage_of(rule) != AT_HTTP)
            continue; /* connection faults: decide_rules acted on them (or they did not fire) */
        enum tri t = match_rule(k, &rule->match, r, rule);
        if (t == NO)
            continue;
        if (rule->window.present && t == YES)
            t = UNKNOWN; /* it fires on some requests only */
        if (hfs_action_is_modifier(rule->action)) {
            v->http_rules = 1;
            /* token hygiene is best effort where the requests cannot be
             * read (HTTP/2 over TLS): every other rule must be kept */
            v->http_strict |= rule->action != HFS_ACT_STRIP_AUTH;
            continue;
        }
        v->http_strict |= t == UNKNOWN || rule->action == HFS_ACT_CACHE || rule->action == HFS_ACT_RESPOND ||
                          rule->action == HFS_ACT_HANG;
        switch (rule->action) {
        case HFS_ACT_CACHE:
            v->http_rules = 1;
            answerable = 1;
            if (t == YES && rule->args.miss_block) { /* answered or blocked: nothing needs the network */
                v->fate = HFS_CONN_VIRTUAL;
                return 1;
            }
            continue;
        case HFS_ACT_HANG: /* every request hangs: nothing needs the network (a virtual connection) */
        case HFS_ACT_RESPOND:
            v->http_rules = 1;
            answerable = 1;
            if (t == YES) { /* answers every request: nothing needs the network */
                v->fate = HFS_CONN_VIRTUAL;
                return 1;
            }
            continue;
        case HFS_ACT_BLOCK:
            if (t == UNKNOWN) { /* blocks some requests, the rest go on */
                v->http_rules = 1;
                answerable |= http_form_of(rule, k->hub);
                continue;
            }
            answerable |= http_form_of(rule, k->hub);
            v->fate = answerable ? HFS_CONN_VIRTUAL : HFS_CONN_REFUSE;
            return answerable;
        default: /* allow: the connection is needed if any request may be allowed */
            if (t == UNKNOWN)
                v->http_rules = 1;
            return answerable;
        }
    }
    return answerable;
}

const char *hfs_verdict_name(enum hfs_verdict_kind k)
{
    switch (k) {
    case HFS_V_ALLOW: return "allow";
    case HFS_V_BLOCK: return "block";
    case HFS_V_DEFER: return "defer";
    case HFS_V_RESPOND: return "respond";
    case HFS_V_HANG: return "hang";
    }
    return "?";
}
