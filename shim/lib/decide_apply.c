/* decide_apply: judge + log + count (see header). */
#include "decide_apply.h"

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
