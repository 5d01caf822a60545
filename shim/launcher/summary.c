/* summary: says in words what a rules file does (hfshim check). */
#include <stdio.h>
#include <string.h>

#include "../core/actions.h"
#include "../core/envpolicy.h"
#include "../core/regex.h"
#include "launcher.h"

static int needs_http(const struct hfs_rule *r)
{
    const struct hfs_match *m = &r->match;
    const struct hfs_action *a = hfs_action_of(r->action);
    return m->methods || m->path || m->url || m->nheaders || m->scheme || m->repo || m->cached >= 0 ||
           (a && a->per_request && hfs_rule_stage(r) == HFS_STAGE_ANY);
}

static void describe_match(const struct hfs_match *m, char *out, size_t len)
{
    size_t o = 0;
#define ADD(...)                                                                                                       \
    do {                                                                                                               \
        int w_ = snprintf(out + o, len - o, __VA_ARGS__);                                                              \
        if (w_ > 0)                                                                                                    \
            o += (size_t)w_ < len - o ? (size_t)w_ : len - o - 1;                                                      \
    } while (0)
    out[0] = 0;
    if (m->methods) {
        for (size_t i = 0; i < m->nmethods; i++)
            ADD("%s%s", i ? "/" : "", m->methods[i]);
        ADD(" ");
    }
    ADD("%s", m->hub ? "Hub hosts" : m->host ? m->host->text : "any host");
    if (m->ports) {
        ADD(" port ");
        for (size_t i = 0; i < m->nports; i++)
            ADD("%s%d", i ? "," : "", m->ports[i]);
    }
    if (m->scheme)
        ADD(" (%s only)", m->scheme);
    if (m->path)
        ADD(", path matching a regex");
    if (m->url)
        ADD(", URL matching a regex");
    for (size_t i = 0; i < m->nheaders; i++)
        ADD(", header %s matching a regex", m->headers[i].name);
    if (m->repo)
        ADD(", repo id matching a regex");
    if (m->cached >= 0)
        ADD(", %s", m->cached ? "snapshot cached" : "snapshot not cached");
#undef ADD
}

void hfs_print_summary(const struct hfs_rules *r)
{
    struct hfs_envvar env[128];
    struct hfs_diag d;
    hfs_cli_diag(&d);
    fflush(stdout); /* the warnings (stderr) come right after the file's OK line */
    size_t n = hfs_env_plan(r, hfs_cli_env, env, 128, &d);
    printf("  offline: %s\n", r->offline == HFS_OFFLINE_VARIABLES
                                  ? "yes (variables): every non-loopback destination is blocked, Hub calls are "
                                    "answered from the cache or blocked, Hugging Face offline variables set"
                              : r->offline ? "yes: every non-loopback destination is blocked, Hub calls are answered "
                                             "from the cache or blocked; the libraries are not told"
                                           : "no");
    printf("  Hub hosts:");
    for (size_t i = 0; i < r->nhub; i++)
        printf("%s %s", i ? "," : "", r->hub[i].text);
    printf("%s\n", r->nhub ? "" : " (none)");
    printf("  environment:");
    for (size_t i = 0; i < n; i++)
        printf("%s %s%s%s%s", i ? "," : "", env[i].value ? "" : "unset ", env[i].name, env[i].value ? "=" : "",
               env[i].value ? env[i].value : "");
    printf("%s\n", n ? "" : " unchanged");
    if (r->tokens.present) {
        const struct hfs_token_policy *t = &r->tokens;
        printf("  tokens: format %s; %zu denied digest%s; %s; %s; state file %s; HF tokens go only to the Hub hosts%s; "
               "validate %s; Xet %s\n",
               t->format ? "from the rules" : "hf_ + 30 or more letters/digits", t->ndeny, t->ndeny == 1 ? "" : "s",
               t->learn ? "a token the Hub answers 401 \"Invalid credentials\" to is learned" : "nothing learned",
               t->retry ? "such a GET/HEAD is retried once without it" : "no retry",
               t->state_file ? t->state_file : "(none: learned tokens stay in the process)",
               t->nhosts ? " and tokens.hosts" : "", t->validate ? "on (whoami-v2 before the run)" : "off",
               t->keep_xet ? "kept" : "disabled (HF_HUB_DISABLE_XET=1)");
    }
    printf("  children: %s\n", r->children ? "stay under the shim (LD_PRELOAD and HFSHIM_* are put back on exec)"
                                           : "are started without the shim");
    printf("  rules (in order: a modifier applies and the search goes on, any other action ends it, cache on a "
           "hit only; no match: allowed):\n");
    if (r->nrules == 0)
        printf("    (none)\n");
    for (size_t i = 0; i < r->nrules; i++) {
        char what[512], act[256];
        const struct hfs_rule *ru = &r->rules[i];
        describe_match(&ru->match, what, sizeof what);
        hfs_action_describe(ru, act, sizeof act);
        printf("    %zu. %s: %s %s%s%s\n", i + 1, ru->name, act, what,
               hfs_action_is_modifier(ru->action) ? " (then the next rules are tried)" : "",
               needs_http(ru) ? "  [per HTTP request]" : "");
    }
}
