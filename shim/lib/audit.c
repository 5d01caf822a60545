/* audit: verdict -> audit record (see header). */
#include "audit.h"

#include <stdio.h>
#include <string.h>

#include "../core/log.h"
#include "../core/presets.h"
#include "../core/token.h"
#include "state.h"

static const char *decision_of(const struct hfs_request *q, const struct hfs_verdict *v)
{
    int conn = q->layer == HFS_LAYER_RESOLVE || q->layer == HFS_LAYER_CONNECT || q->layer == HFS_LAYER_DATAGRAM;
    if (conn) {
        switch (v->fate) {
        case HFS_CONN_REFUSE: return v->kind == HFS_V_BLOCK ? "block" : "allow";
        case HFS_CONN_VIRTUAL: return "virtual";
        case HFS_CONN_HANG: return "hang";
        case HFS_CONN_REAL: break;
        }
        return v->kind == HFS_V_BLOCK ? "block" : v->http_rules ? "watch" : "allow";
    }
    return hfs_verdict_name(v->kind);
}

static const char *action_of(const struct hfs_rules *p, const struct hfs_verdict *v)
{
    if (v->rule_index < 0 || (size_t)v->rule_index >= p->nrules)
        return v->rule_index < 0 && v->rule && strcmp(v->rule, "offline") == 0 ? "offline" : NULL;
    const struct hfs_rule *r = &p->rules[v->rule_index];
    if (r->args.preset)
        return hfs_preset_get(r->args.preset)->name;
    return hfs_action_name(r->action);
}

void hfs_audit_verdict(const struct hfs_request *q, const struct hfs_verdict *v, const char *url, const char *error,
                       int status)
{
    if (!hfs_audit_on())
        return;
    int conn = q->layer == HFS_LAYER_RESOLVE || q->layer == HFS_LAYER_CONNECT || q->layer == HFS_LAYER_DATAGRAM;
    if (conn && v->kind != HFS_V_BLOCK && v->kind != HFS_V_HANG && v->fate == HFS_CONN_REAL)
        return; /* a connection simply allowed or watched: its requests are recorded */
    char edits[400];
    size_t o = 0;
    edits[0] = 0;
    for (size_t i = 0; i < v->nedits && o < sizeof edits - 1; i++) {
        const struct hfs_rule *e = v->edits[i];
        int rm = e->action == HFS_ACT_STRIP_HEADER || e->action == HFS_ACT_STRIP_AUTH;
        o += (size_t)snprintf(edits + o, sizeof edits - o, "%s%s %s", i ? ", " : "", rm ? "strip" : "set",
                              e->args.header ? e->args.header : "?");
    }
    int present = 0;
    char mask[24] = "";
    const struct hfs_header *th = conn ? NULL : hfs_token_header(q->headers, q->nheaders);
    if (th) {
        char dec[512];
        struct hfs_token t;
        present = 1;
        if (v->auth.mask[0])
            snprintf(mask, sizeof mask, "%s", v->auth.mask);
        else if (hfs_token_parse(th->value, th->value_len, dec, sizeof dec, &t) == 0)
            snprintf(mask, sizeof mask, "%s", t.mask);
        memset(dec, 0, sizeof dec);
    }
    struct hfs_audit_rec a = {
        .layer = hfs_layer_name(q->layer),
        .decision = decision_of(q, v),
        .rule = v->rule,
        .action = action_of(hfs_g.rules, v),
        .why = v->why,
        .method = conn ? NULL : q->method,
        .url = conn ? NULL : url,
        .host = q->host,
        .ip = q->ip[0] ? q->ip : NULL,
        .port = q->port,
        .status = status,
        .error = error,
        .token_present = present,
        .token_stripped = v->auth.stripped,
        .token = mask[0] ? mask : NULL,
        .edits = o ? edits : NULL,
        .delay_ms = v->delay_ms,
        .reset_after = v->reset_after,
        .throttle_bps = v->throttle_bps,
        .fault_rule = v->fault_rule,
    };
    hfs_audit_write(&a);
}
