/* rules_rule: one rule of the "rules" array (its name, match, window, and
 * its action with the action's parameters, or a preset) and the checks
 * across the array (names used twice, rules a catch-all hides). */
#include "rules_rule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "presets.h"
#include "regex.h"
#include "rules_keys.h"
#include "rules_match.h"

/* 1 when "key" is a word of the ", "-separated list. */
static int in_list(const char *list, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == kl && memcmp(p, key, kl) == 0)
            return 1;
        p += l;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return 0;
}

/* "window": {"first": N, "after": N, "every": N, "probability": P, "seed": S}. */
static int load_window(struct hfs_rload *L, const cJSON *j, struct hfs_window *w)
{
    int first = 0, after = 0, every = 0, seed = 0, rc = 0;
    const cJSON *c;
    if (hfs_rj_expect(L, j, cJSON_Object, "an object such as {\"first\": 2} or {\"probability\": 0.3, \"seed\": 7}"))
        return -1;
    rc |= hfs_rj_check_keys(L, j, hfs_keys_window, "first, after, every, probability, seed", 1);
    rc |= hfs_rj_int(L, j, "first", 1, 2147483647, &first, "first");
    rc |= hfs_rj_int(L, j, "after", 1, 2147483647, &after, "after");
    rc |= hfs_rj_int(L, j, "every", 1, 2147483647, &every, "every");
    rc |= hfs_rj_int(L, j, "seed", 0, 2147483647, &seed, "seed");
    w->p = 1.0;
    if ((c = hfs_rj_get(j, "probability"))) {
        hfs_jpath_key(&L->path, "probability");
        if (HFS_JTYPE(c) != cJSON_Number || !(c->valuedouble >= 0.0 && c->valuedouble <= 1.0)) {
            hfs_rj_say(L, 1, 0, "probability must be a number from 0 to 1");
            rc = -1;
        } else {
            w->p = c->valuedouble;
        }
        hfs_jpath_pop(&L->path);
    }
    if (hfs_rj_get(j, "seed") && !hfs_rj_get(j, "probability")) {
        hfs_jpath_key(&L->path, "seed");
        hfs_rj_say(L, 0, 0, "a seed without a probability changes nothing");
        hfs_jpath_pop(&L->path);
    }
    if (rc == 0 && !first && !after && !every && !hfs_rj_get(j, "probability")) {
        hfs_rj_say(L, 1, 0,
                   "an empty window always fires (give first, after, every or probability; or leave \"window\" out)");
        rc = -1;
    }
    if (rc == 0 && first && after && first <= after) {
        hfs_rj_say(L, 1, 0, "this window never fires: first %d is not after %d", first, after);
        rc = -1;
    }
    w->first = first;
    w->after = after;
    w->every = every;
    w->seed = (unsigned long)seed;
    w->present = rc == 0;
    return rc;
}

/* "preset": NAME instead of "action": the Hub's own answer (presets.h). */
static int load_preset(struct hfs_rload *L, const cJSON *j, const cJSON *c, struct hfs_rule *rule,
                       const char *const *keys)
{
    int id = 0, rc = 0;
    hfs_jpath_key(&L->path, "preset");
    if (hfs_rj_expect(L, c, cJSON_String, "a preset name")) {
        hfs_jpath_pop(&L->path);
        return -1;
    }
    const struct hfs_preset *p = hfs_preset_find(c->valuestring, &id);
    if (!p) {
        hfs_rj_say(L, 1, 0, "unknown preset \"%s\" (known presets: %s)", c->valuestring, hfs_preset_names);
        hfs_jpath_pop(&L->path);
        return -1;
    }
    hfs_jpath_pop(&L->path);
    if (hfs_rj_get(j, "action")) {
        hfs_jpath_key(&L->path, "action");
        hfs_rj_say(L, 1, 1, "give \"preset\" or \"action\", not both (preset %s is a %s)", p->name,
                   hfs_action_name(p->action));
        hfs_jpath_pop(&L->path);
        return -1;
    }
    rule->action = p->action;
    rule->args.preset = id;
    rule->args.status = p->status;
    rule->args.retry_after = 1;
    rule->args.hang_connect = id == HFS_PRESET_FIREWALL_HANG;
    const char *takes = p->action == HFS_ACT_HANG       ? ""
                        : id == HFS_PRESET_RATE_LIMITED ? "headers, body, retry_after"
                                                        : "headers, body";
    for (const char *k; (k = *keys); keys++)
        if (hfs_rj_get(j, k) && !in_list(takes, k)) {
            hfs_jpath_key(&L->path, k);
            hfs_rj_say(L, 1, 1, "\"%s\" does not apply to preset %s (%s%s)", k, p->name,
                       *takes ? "it takes: " : "it takes no parameters", takes);
            hfs_jpath_pop(&L->path);
            rc = -1;
        }
    if (rc)
        return rc;
    int ra = 1;
    rc |= hfs_rj_int(L, j, "retry_after", 0, 86400, &ra, "retry_after");
    rule->args.retry_after = ra;
    rc |= hfs_action_resp_headers(L, j, &rule->args);
    if (hfs_rj_get(j, "body"))
        rc |= hfs_action_body(L, j, &rule->args);
    return rc;
}

/* Connection faults act before any request is written: they can match
 * the host, port and program only. */
static int check_conn_match(struct hfs_rload *L, const struct hfs_rule *rule)
{
    const struct hfs_match *m = &rule->match;
    int conn = hfs_rule_stage(rule) != HFS_STAGE_ANY;
    if (!conn || !(m->methods || m->scheme || m->path || m->url || m->nheaders || m->repo || m->cached >= 0))
        return 0;
    hfs_jpath_key(&L->path, "match");
    hfs_rj_say(L, 1, 0,
               "%s acts on the connection, before any request is sent: it can match host, port and program only "
               "(for one request use respond, a preset, reset or hang)",
               rule->args.preset ? hfs_preset_get(rule->args.preset)->name : hfs_action_name(rule->action));
    hfs_jpath_pop(&L->path);
    return -1;
}

/* The keys a rule may have: its own (NRULE_KEYS of them) and then every
 * action's and preset's parameters. */
#define NRULE_KEYS HFS_NRULE_KEYS

/* known: hfs_keys_rule then hfs_param_keys (built once per array). */
static int load_rule(struct hfs_rload *L, const cJSON *j, struct hfs_rule *rule, int idx, const char *const *known)
{
    const char *const *params = known + NRULE_KEYS;
    const cJSON *c;
    int rc = 0;
    char defname[32], list[256];
    const struct hfs_action *a;
    if (hfs_rj_expect(L, j, cJSON_Object, "a rule object {\"match\": {...}, \"action\": ...}"))
        return -1;
    rc |= hfs_rj_check_keys(L, j, known,
                            "name, match, action, preset, window, comment and the action's or preset's parameters", 0);
    if ((c = hfs_rj_get(j, "name"))) {
        hfs_jpath_key(&L->path, "name");
        if (hfs_rj_expect(L, c, cJSON_String, "a string") == 0 && hfs_rj_has_control(c->valuestring))
            hfs_rj_say(L, 1, 0, "control character in a rule name"), rc = -1;
        else if (HFS_JTYPE(c) == cJSON_String && c->valuestring[0])
            rule->name = hfs_rj_dup(L, c->valuestring);
        else if (HFS_JTYPE(c) == cJSON_String)
            hfs_rj_say(L, 1, 0, "empty rule name (leave \"name\" out to use \"rules[%d]\")", idx), rc = -1;
        else
            rc = -1;
        hfs_jpath_pop(&L->path);
    }
    if (!rule->name && rc == 0) {
        snprintf(defname, sizeof defname, "rules[%d]", idx);
        rule->name = hfs_rj_dup(L, defname);
    }
    rule->match.cached = -1;
    if ((c = hfs_rj_get(j, "match"))) {
        hfs_jpath_key(&L->path, "match");
        rc |= hfs_match_load(L, c, &rule->match);
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(j, "window"))) {
        hfs_jpath_key(&L->path, "window");
        rc |= load_window(L, c, &rule->window);
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(j, "preset"))) {
        rc |= load_preset(L, j, c, rule, params);
        return rc | check_conn_match(L, rule);
    }
    if (!(c = hfs_rj_get(j, "action"))) {
        hfs_action_list(list, sizeof list);
        hfs_rj_say(L, 1, 0, "missing \"action\" (one of: %s; or a \"preset\": %s)", list, hfs_preset_names);
        return -1;
    }
    hfs_jpath_key(&L->path, "action");
    if (hfs_rj_expect(L, c, cJSON_String, "an action name such as \"allow\" or \"block\"")) {
        hfs_jpath_pop(&L->path);
        return -1;
    }
    if (!(a = hfs_action_find(c->valuestring))) {
        hfs_action_list(list, sizeof list);
        hfs_rj_say(L, 1, 0, "unknown action \"%s\" (known actions: %s)", c->valuestring, list);
        hfs_jpath_pop(&L->path);
        return -1;
    }
    rule->action = a->kind;
    hfs_jpath_pop(&L->path);
    rc |= hfs_action_load(L, j, rule, a, params); /* a preset-only key such as retry_after does not apply either */
    return rc | check_conn_match(L, rule);
}

int hfs_rules_array_load(struct hfs_rload *L, const cJSON *j)
{
    int n = 0, i = 0, rc = 0, catchall = -1;
    const char *known[NRULE_KEYS + HFS_PARAM_KEYS_MAX + 1];
    if (hfs_rj_expect(L, j, cJSON_Array, "an array of rules"))
        return -1;
    memcpy(known, hfs_keys_rule, NRULE_KEYS * sizeof *known);
    hfs_param_keys(known + NRULE_KEYS);
    for (const cJSON *c = j->child; c; c = c->next)
        n++;
    /* appended: rules of included files come first (rules/README.md §2.1) */
    size_t base = L->r->nrules;
    struct hfs_rule *grown = realloc(L->r->rules, (base + (size_t)n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    memset(grown + base, 0, ((size_t)n + 1) * sizeof *grown);
    L->r->rules = grown;
    for (const cJSON *c = j->child; c; c = c->next, i++) {
        struct hfs_rule *rule = &L->r->rules[L->r->nrules++];
        hfs_jpath_index(&L->path, i);
        if (load_rule(L, c, rule, i, known)) {
            rc = -1;
        } else {
            for (size_t k = 0; k < base + (size_t)i; k++)
                if (L->r->rules[k].name && strcmp(L->r->rules[k].name, rule->name) == 0) {
                    if (k >= base)
                        hfs_rj_say(L, 0, 0,
                                   "rule name \"%s\" is also used by rules[%d]; log lines will not tell them apart",
                                   rule->name, (int)(k - base));
                    else
                        hfs_rj_say(L, 0, 0,
                                   "rule name \"%s\" is also used by an included rule; log lines will not tell "
                                   "them apart",
                                   rule->name);
                    break;
                }
            if (catchall >= 0)
                hfs_rj_say(L, 0, 0, "this rule can never match: rules[%d] (\"%s\") before it matches every request",
                           catchall, L->r->rules[base + (size_t)catchall].name);
            else if (hfs_match_is_empty(&rule->match) && !hfs_action_is_modifier(rule->action) &&
                     !(rule->action == HFS_ACT_CACHE && !rule->args.miss_block) && !rule->window.present &&
                     hfs_rule_stage(rule) == HFS_STAGE_ANY)
                catchall = i; /* a modifier (or a cache rule whose misses go on) lets evaluation go on */
        }
        hfs_jpath_pop(&L->path);
    }
    return rc;
}

void hfs_rule_free(struct hfs_rule *rule)
{
    struct hfs_action_args *a = &rule->args;
    free(rule->name);
    hfs_match_free(&rule->match);
    free(a->header);
    hfs_re_free(a->value_re);
    free(a->from_env);
    free(a->from_file);
    free(a->prefix);
    for (size_t k = 0; k < a->nheaders; k++) {
        free(a->headers[k].name);
        free(a->headers[k].value);
    }
    free(a->headers);
    free(a->body);
    for (size_t k = 0; k < a->ncache_dirs; k++)
        free(a->cache_dirs[k]);
    free(a->cache_dirs);
    memset(rule, 0, sizeof *rule);
}
