/* decide_apply: judge, log, count; every layer's outcomes (see header). */
#include "decide_apply.h"

#include <strings.h>

#include "../core/log.h"
#include "audit.h"
#include "faultcount.h"
#include "reachmem.h"
#include "state.h"

enum hfs_verdict_kind hfs_judge(struct hfs_request *r, const char *error_shown)
{
    struct hfs_verdict v;
    hfs_judge_verdict(r, error_shown, &v);
    return v.kind;
}

void hfs_judge_verdict(struct hfs_request *r, const char *error_shown, struct hfs_verdict *vp)
{
    struct hfs_verdict v;
    r->program = hfs_g.program;
    if (!r->fire)
        r->fire = hfs_fire();
    if (!r->reach)
        r->reach = hfs_reach();
    hfs_decide(hfs_g.rules, r, &v);
    *vp = v;
    hfs_audit_verdict(r, &v, NULL, v.kind == HFS_V_BLOCK && v.fate != HFS_CONN_VIRTUAL ? error_shown : NULL, 0);
    if (v.fate == HFS_CONN_HANG) {
        atomic_fetch_add(&hfs_g.faulted_requests, 1);
        struct hfs_log_event e = { .kind = "hang",
                                   .layer = hfs_layer_name(r->layer),
                                   .host = r->host,
                                   .ip = r->ip[0] ? r->ip : NULL,
                                   .port = r->port,
                                   .rule = v.rule,
                                   .why = v.why,
                                   .error = "the connection never completes" };
        hfs_log_event(&e);
        return;
    }
    if (v.kind != HFS_V_BLOCK || v.fate == HFS_CONN_VIRTUAL)
        return;
    switch (r->layer) {
    case HFS_LAYER_RESOLVE: atomic_fetch_add(&hfs_g.blocked_lookups, 1); break;
    case HFS_LAYER_DATAGRAM: atomic_fetch_add(&hfs_g.blocked_datagrams, 1); break;
    default: atomic_fetch_add(&hfs_g.blocked_connects, 1); break;
    }
    struct hfs_log_event e = {
        .kind = "block",
        .layer = hfs_layer_name(r->layer),
        .host = r->host,
        .ip = r->ip[0] ? r->ip : NULL,
        .port = r->port,
        .rule = v.rule,
        .why = v.why,
        .error = error_shown,
    };
    hfs_log_event(&e);
}

static void dest_request(struct hfs_request *q, const char *host, const struct hfs_addr *addr, int port)
{
    *q = (struct hfs_request){ .layer = HFS_LAYER_CONNECT, .host = host && host[0] ? host : NULL, .port = port };
    if (addr && addr->family) {
        q->addr = *addr;
        hfs_addr_text(addr, q->ip, sizeof q->ip);
    }
}

void hfs_judge_dest(const char *host, const struct hfs_addr *addr, int port, const char *scheme, struct hfs_verdict *v)
{
    struct hfs_request q;
    dest_request(&q, host, addr, port);
    q.scheme = scheme;
    q.program = hfs_g.program;
    q.reach = hfs_reach();
    hfs_decide(hfs_g.rules, &q, v);
}

int hfs_dest_is_hub(const char *host, const struct hfs_addr *addr, int port)
{
    struct hfs_request q;
    dest_request(&q, host, addr, port);
    return hfs_is_hub(hfs_g.rules, &q, NULL);
}

void hfs_record_http(const struct hfs_http_rec *rec, enum hfs_count count, const char *kind, const char *rule,
                     const char *why, int status, const char *header, int delay_ms, const char *error,
                     const char *token)
{
    switch (count) {
    case HFS_COUNT_BLOCKED: atomic_fetch_add(&hfs_g.blocked_requests, 1); break;
    case HFS_COUNT_ANSWERED: atomic_fetch_add(&hfs_g.answered_requests, 1); break;
    case HFS_COUNT_FAULTED: atomic_fetch_add(&hfs_g.faulted_requests, 1); break;
    case HFS_COUNT_NONE: break;
    }
    struct hfs_log_event e = { .kind = kind,
                               .layer = rec->layer,
                               .method = rec->method,
                               .url = rec->url,
                               .rule = rule,
                               .why = why,
                               .status = status,
                               .header = header,
                               .delay_ms = delay_ms,
                               .error = error,
                               .token = token && token[0] ? token : NULL };
    hfs_log_event(&e);
}

void hfs_record_edit(const struct hfs_http_rec *rec, const struct hfs_hdr_edit *e, const char *bad_token_why,
                     const char *mask)
{
    if (e->rule->action == HFS_ACT_STRIP_AUTH) {
        hfs_record_http(rec, HFS_COUNT_NONE, "strip-auth", e->rule->name, bad_token_why, 0, e->name, 0, NULL, mask);
        return;
    }
    const char *kind = e->remove ? "strip-header" : e->rule->action == HFS_ACT_SET_AUTH ? "set-auth" : "set-header";
    hfs_record_http(rec, HFS_COUNT_NONE, kind, e->rule->name, e->remove ? "header stripped" : "header set", 0, e->name,
                    0, NULL, e->remove && strcasecmp(e->name, "Authorization") == 0 ? mask : NULL);
}

void hfs_record_edit_skipped(void *ctx, const struct hfs_rule *rule, const char *why)
{
    const struct hfs_http_rec *l = ctx;
    hfs_log_msg("error", "set-header %s for %s %s (rule %s) left out: %s", rule->args.header, l->method, l->url,
                rule->name, why);
}
