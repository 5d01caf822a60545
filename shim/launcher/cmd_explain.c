/* cmd_explain: `hfshim explain METHOD URL`: a dry run saying, layer by
 * layer, which rule decides the request and what the program would see. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/actions.h"
#include "../core/cacheprobe.h"
#include "../core/decide.h"
#include "../core/hosts.h"
#include "../core/presets.h"
#include "launcher.h"

static const char *shown(enum hfs_layer l)
{
    switch (l) {
    case HFS_LAYER_RESOLVE: return "the lookup fails: host not found (EAI_NONAME)";
    case HFS_LAYER_CONNECT: return "the connection is refused (ECONNREFUSED)";
    default: return "the request fails";
    }
}

static void report(const char *what, const struct hfs_verdict *v, enum hfs_layer l)
{
    printf("  %-22s %s", what, hfs_verdict_name(v->kind));
    if (v->kind == HFS_V_BLOCK && v->http_form)
        printf(" by %s (%s): answered with HTTP %d and an X-Error-Message (no network)\n",
               v->rule_index >= 0 ? "rule" : "policy", v->rule, v->block_status);
    else if (v->kind == HFS_V_BLOCK)
        printf(" by %s (%s): %s\n", v->rule_index >= 0 ? "rule" : "policy", v->rule, shown(l));
    else if (v->kind == HFS_V_RESPOND && v->from_cache)
        printf(" by %s %s: answered from the local cache, without any network\n",
               v->rule_index >= 0 ? "rule" : "policy", v->rule);
    else if (v->kind == HFS_V_RESPOND && v->answer->args.preset)
        printf(" by rule %s: preset %s, %s, without any network\n", v->rule,
               hfs_preset_get(v->answer->args.preset)->name, hfs_preset_get(v->answer->args.preset)->summary);
    else if (v->kind == HFS_V_RESPOND)
        printf(" by rule %s: HTTP %d with %zu-byte body, without any network\n", v->rule, v->answer->args.status,
               v->answer->args.body_len);
    else if (v->kind == HFS_V_HANG)
        printf(" by rule %s: the request is taken and never answered; the client's own timeout ends it\n", v->rule);
    else if (v->kind == HFS_V_DEFER)
        printf(": rule %s needs the HTTP request itself; the connection goes on\n", v->rule);
    else
        printf(" (%s%s)\n", v->rule_index >= 0 ? "rule " : "", v->rule_index >= 0 ? v->rule : v->why);
}

/* The lookup and connection layers: what happens to the connection. */
static void report_conn(const char *what, const struct hfs_verdict *v, enum hfs_layer l)
{
    const char *by = v->rule_index >= 0 ? "rule" : "policy";
    printf("  %-22s ", what);
    switch (v->fate) {
    case HFS_CONN_REFUSE: printf("block by %s (%s): %s\n", by, v->rule, shown(l)); return;
    case HFS_CONN_VIRTUAL:
        printf("virtual by %s (%s): %s; its HTTP requests are answered by hfshim, nothing reaches the network\n", by,
               v->rule,
               l == HFS_LAYER_RESOLVE ? "the name gets a virtual address (127.77.x.y), no DNS query"
                                      : "the connection is virtual (its other end is hfshim's)");
        return;
    case HFS_CONN_HANG:
        printf("hang by rule %s: the connection never completes (as behind a firewall that drops packets); the "
               "client's connect timeout ends it\n",
               v->rule);
        return;
    case HFS_CONN_REAL:
        if (v->http_rules)
            printf("allow, watched: HTTP rules may act on its requests (first: %s)\n", v->rule);
        else
            printf("allow (%s%s)\n", v->rule_index >= 0 ? "rule " : "", v->rule_index >= 0 ? v->rule : v->why);
        return;
    }
}

/* What the local cache holds for a Hub call, and what would be answered. */
/* what explain_cache looks at (cache folders, a snapshot: large), on the
 * heap: no launcher frame above 16 KiB */
struct cache_work {
    struct hfs_hubreq hq;
    struct hfs_cache_roots roots;
    struct hfs_snapshot snap;
};

static void explain_cache_in(const struct hfs_rules *r, const struct hfs_request *q, const struct hfs_verdict *v,
                             struct hfs_cache_ctx *cc, struct cache_work *w)
{
    const char *why;
    int rc = hfs_hub_parse(q->method, q->path, q->query, &w->hq, &why);
    if (rc == 0)
        return;
    if (rc < 0) {
        printf("  %-22s a Hub call, but never answered from the cache: %s\n", "cache:", why);
        return;
    }
    const struct hfs_rule *rule = NULL;
    for (size_t i = 0; i < r->nrules && !rule; i++)
        if (r->rules[i].action == HFS_ACT_CACHE)
            rule = &r->rules[i];
    hfs_cache_roots_for(v->from_cache && v->answer ? v->answer : rule, hfs_cli_env, &w->roots);
    if (hfs_cache_find(&w->roots, w->hq.type, w->hq.repo, w->hq.rev, &w->snap, &why)) {
        printf("  %-22s snapshot %s %s@%s = %s in %s\n", "cache:", w->hq.type, w->hq.repo,
               *w->hq.rev ? w->hq.rev : "main", w->snap.sha, w->snap.repo_dir);
        if (v->from_cache && cc->hit && cc->found->ans.a.status)
            printf("  %-22s HTTP %d: %s\n", "answer:", cc->found->ans.a.status, cc->found->ans.summary);
        else if (v->from_cache && cc->hit)
            printf("  %-22s %s\n", "answer:", cc->found->ans.summary);
        else {
            struct hfs_cache_answer *a = malloc(sizeof *a);
            if (a && hfs_cache_answer(&w->roots, &w->hq, NULL, NULL, 0, a) == 1)
                printf("  %-22s %s (the rules do not answer it from the cache)\n", "cache answer:", a->summary);
            else if (a)
                printf("  %-22s %s\n", "cache miss:", a->summary);
            if (a)
                hfs_cache_answer_free(a);
            free(a);
        }
        return;
    }
    printf("  %-22s no snapshot of %s %s@%s (%s); looked in:", "cache:", w->hq.type, w->hq.repo,
           *w->hq.rev ? w->hq.rev : "main", why);
    for (size_t i = 0; i < w->roots.n; i++)
        printf(" %s (%s)", w->roots.dir[i], w->roots.from[i]);
    printf("%s\n", w->roots.n ? "" : " no cache folder is set");
}

static void explain_cache(const struct hfs_rules *r, const struct hfs_request *q, const struct hfs_verdict *v,
                          struct hfs_cache_ctx *cc)
{
    struct cache_work *w = malloc(sizeof *w);
    if (!w) {
        printf("  %-22s out of memory\n", "cache:");
        return;
    }
    explain_cache_in(r, q, v, cc, w);
    free(w);
}

static int explain(int argc, char **argv, struct hfs_url_parts *parts)
{
    const char *rules_arg = NULL, *why;
    int offline = 0, i = 0;
    char used[PATH_MAX];
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (hfs_cli_offline_arg(argv[i])) {
            if ((offline = hfs_cli_offline_arg(argv[i])) < 0)
                return 2;
        } else if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
            rules_arg = argv[++i];
        else
            break;
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: hfshim explain [--rules FILE] [--offline[=variables]] METHOD URL\n");
        return 2;
    }
    const char *method = argv[i], *urls = argv[i + 1];
    struct hfs_request full = { .layer = HFS_LAYER_EXPLAIN };
    if (hfs_request_set_url(&full, urls, parts, &why)) {
        fprintf(stderr, "hfshim explain: %s: %s\n", urls, why);
        return 2;
    }
    struct hfs_rules *r = hfs_load_for_cli(rules_arg, offline, used, sizeof used);
    if (!r)
        return 2;
    const char *host = full.host;

    /* layer by layer: a lookup sees the name (and port), a connection the
     * address too, the HTTP layers everything */
    struct hfs_request q = { .layer = HFS_LAYER_RESOLVE, .program = "explain", .host = host, .port = full.port };
    int unknown = 0;
    q.name_is_local = hfs_name_is_builtin_local(host);
    printf("%s %s\n  rules: %s%s\n  host %s, port %d, %s Hub host\n", method, urls, used,
           r->offline ? " (offline)" : "", host, full.port, hfs_is_hub(r, &q, &unknown) ? "a" : "not a");
    struct hfs_verdict v;
    hfs_decide(r, &q, &v); /* clients pass the port as the lookup's service */
    report_conn("lookup:", &v, HFS_LAYER_RESOLVE);
    q.layer = HFS_LAYER_CONNECT;
    q.addr = full.addr;
    memcpy(q.ip, full.ip, sizeof q.ip);
    hfs_decide(r, &q, &v);
    if (!q.addr.family && r->offline && v.fate == HFS_CONN_REAL)
        printf("  %-22s decided by the address the name resolves to (offline: loopback only)\n", "connection:");
    else
        report_conn("connection:", &v, HFS_LAYER_CONNECT);
    q.layer = HFS_LAYER_EXPLAIN;
    q.method = method;
    q.scheme = full.scheme;
    q.path = full.path;
    q.query = full.query;
    q.url = full.url;
    q.cut = full.cut;
    q.http_known = 1;
    struct hfs_cache_ctx *cc = malloc(sizeof *cc);
    if (!cc) {
        hfs_rules_free(r);
        return 2;
    }
    hfs_cache_ctx_init(cc, hfs_cli_env);
    q.cache = &cc->probe;
    hfs_decide(r, &q, &v);
    report("HTTP request:", &v, HFS_LAYER_EXPLAIN);
    explain_cache(r, &q, &v, cc);
    hfs_cache_ctx_done(cc);
    free(cc);
    for (size_t k = 0; k < v.nedits; k++) {
        const struct hfs_action *a = hfs_action_of(v.edits[k]->action);
        printf("  %-22s %s %s (rule %s)\n", k ? "" : "header edits:", a && a->edit == HFS_EDIT_STRIP ? "strip" : "set",
               v.edits[k]->args.header, v.edits[k]->name);
    }
    if (v.delay_ms)
        printf("  %-22s %d ms before the request goes on\n", "delay:", v.delay_ms);
    if (v.reset_after >= 0)
        printf("  %-22s the response is cut after %ld bytes and the connection reset (rule %s)\n",
               "reset:", v.reset_after, v.fault_rule);
    if (v.throttle_bps > 0)
        printf("  %-22s the response comes at most %ld bytes/s (rule %s)\n", "throttle:", v.throttle_bps, v.fault_rule);
    for (size_t k = 0; k < r->nrules; k++)
        if (r->rules[k].window.present) {
            const struct hfs_window *w = &r->rules[k].window;
            printf("  %-22s rule %s fires only on some of its matches:", "window:", r->rules[k].name);
            if (w->first)
                printf(" the first %ld", w->first);
            if (w->after)
                printf(" after the first %ld", w->after);
            if (w->every)
                printf(" every %ld%s", w->every, w->every == 2 ? "nd" : w->every == 3 ? "rd" : "th");
            if (w->p < 1.0)
                printf(" with probability %g (seed %lu)", w->p, w->seed);
            printf(" (counted over the whole run; explain shows it as firing)\n");
        }
    hfs_rules_free(r);
    return 0;
}

/* the URL's parts (large) on the heap: no launcher frame above 16 KiB */
int hfs_cmd_explain(int argc, char **argv)
{
    struct hfs_url_parts *parts = malloc(sizeof *parts);
    if (!parts) {
        fprintf(stderr, "hfshim explain: out of memory\n");
        return 2;
    }
    int rc = explain(argc, argv, parts);
    free(parts);
    return rc;
}
