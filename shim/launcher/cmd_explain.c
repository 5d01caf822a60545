/* cmd_explain: `hfshim explain METHOD URL`: a dry run saying, layer by
 * layer, which rule decides the request and what the program would see. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/decide.h"
#include "../core/hosts.h"
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
    else if (v->kind == HFS_V_RESPOND)
        printf(" by rule %s: HTTP %d with %zu-byte body, without any network\n", v->rule, v->answer->args.status,
               v->answer->args.body_len);
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
    case HFS_CONN_REFUSE:
        printf("block by %s (%s): %s\n", by, v->rule, shown(l));
        return;
    case HFS_CONN_VIRTUAL:
        printf("virtual by %s (%s): %s; its HTTP requests are answered by hfshim, nothing reaches the network\n",
               by, v->rule, l == HFS_LAYER_RESOLVE ? "the name gets a virtual address (127.77.x.y), no DNS query"
                                                     : "the connection is virtual (a socketpair)");
        return;
    case HFS_CONN_REAL:
        if (v->http_rules)
            printf("allow, watched: HTTP rules may act on its requests (first: %s)\n", v->rule);
        else
            printf("allow (%s%s)\n", v->rule_index >= 0 ? "rule " : "", v->rule_index >= 0 ? v->rule : v->why);
        return;
    }
}

int hfs_cmd_explain(int argc, char **argv)
{
    const char *rules_arg = NULL, *why;
    int offline = 0, i = 0;
    char used[PATH_MAX];
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--offline") == 0)
            offline = 1;
        else if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
            rules_arg = argv[++i];
        else
            break;
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: hfshim explain [--rules FILE] [--offline] METHOD URL\n");
        return 2;
    }
    const char *method = argv[i], *urls = argv[i + 1];
    struct hfs_request full = { .layer = HFS_LAYER_EXPLAIN };
    struct hfs_url_parts parts;
    if (hfs_request_set_url(&full, urls, &parts, &why)) {
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
    q.http_known = 1;
    hfs_decide(r, &q, &v);
    report("HTTP request:", &v, HFS_LAYER_EXPLAIN);
    for (size_t k = 0; k < v.nedits; k++)
        printf("  %-22s %s %s (rule %s)\n", k ? "" : "header edits:",
               v.edits[k]->action == HFS_ACT_STRIP_HEADER ? "strip" : "set", v.edits[k]->args.header,
               v.edits[k]->name);
    if (v.delay_ms)
        printf("  %-22s %d ms before the request goes on\n", "delay:", v.delay_ms);
    hfs_rules_free(r);
    return 0;
}
