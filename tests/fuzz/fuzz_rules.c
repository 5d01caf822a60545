/* fuzz_rules: libFuzzer target for the rules loader. Loads the input as a
 * rules file from memory and checks that the outcome is consistent: a
 * rules set exactly when there is no error, every error positioned as
 * "fuzz.json:line:col: ..." inside the text, never cJSON's vague failure
 * for text the scanner accepted; loaded rules are then used for decisions
 * and the environment plan (with ≥ 32 rules, also without the rule index:
 * the same verdicts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "envpolicy.h"
#include "jsonpos.h"
#include "rules.h"
#include "rules_types.h"

struct check {
    const char *text;
    size_t len;
    int lines;
};

static void emit(void *ctx, int is_error, const char *msg)
{
    const struct check *c = ctx;
    int line = 0, col = 0;
    (void)is_error;
    if (strncmp(msg, "fuzz.json:", 10) != 0)
        abort();
    /* positioned messages: the line must exist, the column be >= 1 */
    if (sscanf(msg, "fuzz.json:%d:%d:", &line, &col) == 2 && (line < 1 || line > c->lines || col < 1))
        abort();
    /* the scanner let through text cJSON rejects */
    if (strcmp(msg, "fuzz.json: the JSON could not be parsed (out of memory or nested too deeply)") == 0)
        abort();
}

/* The user's environment for the offline plan: nothing set. */
static const char *no_user_env(const char *name)
{
    (void)name;
    return NULL;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct check c = { (const char *)data, size, 1 };
    for (size_t i = 0; i < size; i++)
        c.lines += data[i] == '\n';
    struct hfs_diag d;
    memset(&d, 0, sizeof d);
    d.emit = emit;
    d.ctx = &c;
    struct hfs_rules *r = hfs_rules_load_buffer("fuzz.json", (const char *)data, size, &d);
    if ((r == NULL) != (d.errors > 0))
        abort();
    if (!r) {
        if (!d.first_error[0])
            abort();
        return 0;
    }
    size_t off;
    const char *why;
    if (hfs_json_validate((const char *)data, size, &off, &why) != 0)
        abort(); /* loaded, so the syntax was valid */
    static const char *const hosts[] = {
        "huggingface.co", "cdn-lfs.hf.co", "api.example.com", "127.0.0.1", "::1", NULL
    };
    for (int layer = 0; layer <= HFS_LAYER_EXPLAIN; layer++)
        for (int h = 0; hosts[h]; h++) {
            struct hfs_request q;
            struct hfs_verdict v;
            struct hfs_header hd = { "Authorization", 13, "Bearer hf_x", 11 };
            memset(&q, 0, sizeof q);
            q.layer = (enum hfs_layer)layer;
            q.host = hosts[h];
            q.port = layer == HFS_LAYER_RESOLVE ? 0 : 443;
            hfs_addr_parse(hosts[h], &q.addr);
            if (layer >= HFS_LAYER_HTTP) {
                q.http_known = 1;
                q.method = "POST";
                q.scheme = "https";
                q.path = "/api/models";
                q.url = "https://huggingface.co/api/models?x=1";
                q.headers = &hd;
                q.nheaders = 1;
            }
            hfs_decide(r, &q, &v);
            if (v.rule_index >= (int)r->nrules || !v.rule || !v.why)
                abort();
            if (r->index) { /* the rule index never changes a verdict */
                struct hfs_verdict all;
                struct hfs_ruleindex *index = r->index;
                r->index = NULL;
                hfs_decide(r, &q, &all);
                r->index = index;
                if (all.kind != v.kind || all.rule_index != v.rule_index || all.nedits != v.nedits ||
                    all.delay_ms != v.delay_ms || all.fate != v.fate || all.http_rules != v.http_rules ||
                    all.http_strict != v.http_strict || all.answerable != v.answerable)
                    abort();
            }
            if (v.kind == HFS_V_DEFER && (v.rule_index < 0 || q.http_known))
                abort(); /* only a rule can wait for HTTP fields, and only when they are unknown */
        }
    struct hfs_envvar plan[64];
    if (hfs_env_plan(r, no_user_env, plan, 64, NULL) > 64)
        abort();
    hfs_rules_free(r);
    return 0;
}
