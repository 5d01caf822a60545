/* rules_sections: the top-level sections of a rules file that are not
 * rules: "env" (variables set and unset), "log" (format, destination,
 * audit log), "tokens" (the token policy) and "reach" (when a Hub host
 * counts as unreachable). Each fills its part of struct hfs_rules. */
#include "rules_sections.h"

#include <stdlib.h>
#include <string.h>

#include "hostpat.h"
#include "regex.h"
#include "rules_keys.h"

static int add_env(struct hfs_rload *L, const char *name, const char *value)
{
    struct hfs_env_pair *e = realloc(L->r->env, (L->r->nenv + 1) * sizeof *e);
    if (!e)
        return -1;
    L->r->env = e;
    e[L->r->nenv].name = hfs_rj_dup(L, name);
    e[L->r->nenv].value = value ? hfs_rj_dup(L, value) : NULL;
    L->r->nenv++;
    return (e[L->r->nenv - 1].name && (!value || e[L->r->nenv - 1].value)) ? 0 : -1;
}

int hfs_section_env(struct hfs_rload *L, const cJSON *j)
{
    const cJSON *set, *unset;
    int rc = 0, i = 0;
    if (hfs_rj_expect(L, j, cJSON_Object, "an object with \"set\" and \"unset\""))
        return -1;
    rc |= hfs_rj_check_keys(L, j, hfs_keys_env, "set, unset", 0);
    if ((set = hfs_rj_get(j, "set"))) {
        hfs_jpath_key(&L->path, "set");
        if (hfs_rj_expect(L, set, cJSON_Object, "an object of NAME: \"value\" pairs") == 0) {
            for (const cJSON *c = set->child; c; c = c->next) {
                hfs_jpath_key(&L->path, c->string);
                if (!hfs_rj_env_name_ok(c->string)) {
                    hfs_rj_say(L, 1, 1, "invalid variable name \"%s\" (no '=', spaces or control characters)",
                               c->string);
                    rc = -1;
                } else if (hfs_rj_expect(L, c, cJSON_String, "a string value (write numbers in quotes: \"1\")") == 0) {
                    rc |= add_env(L, c->string, c->valuestring);
                } else {
                    rc = -1;
                }
                hfs_jpath_pop(&L->path);
            }
        } else {
            rc = -1;
        }
        hfs_jpath_pop(&L->path);
    }
    if ((unset = hfs_rj_get(j, "unset"))) {
        hfs_jpath_key(&L->path, "unset");
        if (hfs_rj_expect(L, unset, cJSON_Array, "an array of variable names") == 0) {
            for (const cJSON *c = unset->child; c; c = c->next, i++) {
                hfs_jpath_index(&L->path, i);
                if (hfs_rj_expect(L, c, cJSON_String, "a variable name (string)")) {
                    rc = -1;
                } else if (!hfs_rj_env_name_ok(c->valuestring)) {
                    hfs_rj_say(L, 1, 0, "invalid variable name \"%s\" (no '=', spaces or control characters)",
                               c->valuestring);
                    rc = -1;
                } else {
                    rc |= add_env(L, c->valuestring, NULL);
                }
                hfs_jpath_pop(&L->path);
            }
        } else {
            rc = -1;
        }
        hfs_jpath_pop(&L->path);
    }
    return rc;
}

/* "destination" and "audit": absolute paths (a policy must not depend on
 * the program's working directory); "destination" may be stderr or off. */
static int load_log_path(struct hfs_rload *L, const cJSON *j, const char *key, int allow_words, char **out)
{
    const cJSON *c = hfs_rj_get(j, key);
    int rc = 0;
    if (!c)
        return 0;
    hfs_jpath_key(&L->path, key);
    if (hfs_rj_expect(L, c, cJSON_String,
                      allow_words ? "\"stderr\", \"off\" or an absolute path" : "an absolute path")) {
        rc = -1;
    } else if (!(allow_words && (strcmp(c->valuestring, "stderr") == 0 || strcmp(c->valuestring, "off") == 0)) &&
               c->valuestring[0] != '/') {
        hfs_rj_say(L, 1, 0, "\"%s\" is not an absolute path%s", c->valuestring,
                   allow_words ? " (nor stderr or off)" : "");
        rc = -1;
    } else if (strlen(c->valuestring) >= 1024) {
        hfs_rj_say(L, 1, 0, "the path is longer than 1023 bytes");
        rc = -1;
    } else if (!(*out = strdup(c->valuestring))) {
        rc = -1;
    }
    hfs_jpath_pop(&L->path);
    return rc;
}

int hfs_section_log(struct hfs_rload *L, const cJSON *j)
{
    const cJSON *c;
    int rc = 0;
    if (hfs_rj_expect(L, j, cJSON_Object, "an object such as {\"format\": \"json\"}"))
        return -1;
    rc |= hfs_rj_check_keys(L, j, hfs_keys_log, "format, destination, audit", 0);
    if ((c = hfs_rj_get(j, "format"))) {
        hfs_jpath_key(&L->path, "format");
        if (hfs_rj_expect(L, c, cJSON_String, "\"text\" or \"json\"")) {
            rc = -1;
        } else if (strcmp(c->valuestring, "text") == 0 || strcmp(c->valuestring, "json") == 0) {
            L->r->log_format = c->valuestring[0] == 'j' ? HFS_LOG_JSON : HFS_LOG_TEXT;
            L->r->log_format_set = 1;
        } else {
            hfs_rj_say(L, 1, 0, "unknown log format \"%s\" (use \"text\" or \"json\")", c->valuestring);
            rc = -1;
        }
        hfs_jpath_pop(&L->path);
    }
    rc |= load_log_path(L, j, "destination", 1, &L->r->log_dest);
    rc |= load_log_path(L, j, "audit", 0, &L->r->audit_path);
    return rc;
}

/* "tokens": the token policy (rules/README.md §5). */
int hfs_section_tokens(struct hfs_rload *L, const cJSON *j)
{
    struct hfs_token_policy *t = &L->r->tokens;
    const cJSON *c;
    int rc = 0;
    if (hfs_rj_expect(L, j, cJSON_Object, "an object such as {\"learn\": true}"))
        return -1;
    if (t->present) {
        hfs_rj_say(L, 1, 0, "a \"tokens\" section is already set (by an included file or this one): keep one");
        return -1;
    }
    t->present = 1;
    t->learn = 1;
    t->retry = 1;
    t->validate_ttl = 86400;
    rc |= hfs_rj_check_keys(L, j, hfs_keys_tokens,
                            "format, deny, learn, retry, state_file, hosts, validate, validate_ttl, xet, comment", 0);
    if ((c = hfs_rj_get(j, "format"))) {
        hfs_jpath_key(&L->path, "format");
        rc |= hfs_rj_regex(L, c, &t->format, 0);
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(j, "deny"))) {
        hfs_jpath_key(&L->path, "deny");
        if (hfs_rj_expect(L, c, cJSON_Array, "an array of SHA-256 hex prefixes (hfshim doctor prints them)")) {
            rc = -1;
        } else {
            size_t n = 0;
            int i = 0;
            for (const cJSON *d = c->child; d; d = d->next)
                n++;
            t->deny = calloc(n + 1, sizeof *t->deny);
            for (const cJSON *d = c->child; d && t->deny; d = d->next, i++) {
                hfs_jpath_index(&L->path, i);
                if (hfs_rj_expect(L, d, cJSON_String, "a hex string")) {
                    rc = -1;
                } else {
                    const char *v = d->valuestring;
                    size_t l = strlen(v), k;
                    if (l > 7 && strncmp(v, "sha256:", 7) == 0)
                        v += 7, l -= 7;
                    for (k = 0; k < l && strchr("0123456789abcdefABCDEF", v[k]); k++)
                        ;
                    if (k != l || l < 8 || l > 64) {
                        hfs_rj_say(L, 1, 0,
                                   "a deny entry is 8 to 64 hex digits of the token's SHA-256 (never the token "
                                   "itself), got %zu characters",
                                   strlen(d->valuestring));
                        rc = -1;
                    } else if ((t->deny[t->ndeny] = hfs_rj_dup(L, v))) {
                        for (char *q = t->deny[t->ndeny]; *q; q++)
                            if (*q >= 'A' && *q <= 'F')
                                *q = (char)(*q - 'A' + 'a');
                        t->ndeny++;
                    } else {
                        rc = -1;
                    }
                }
                hfs_jpath_pop(&L->path);
            }
        }
        hfs_jpath_pop(&L->path);
    }
    rc |= hfs_rj_bool(L, j, "learn", &t->learn);
    rc |= hfs_rj_bool(L, j, "retry", &t->retry);
    rc |= hfs_rj_bool(L, j, "validate", &t->validate);
    rc |= hfs_rj_int(L, j, "validate_ttl", 60, 31 * 86400, &t->validate_ttl, "validate_ttl (seconds)");
    if ((c = hfs_rj_get(j, "state_file"))) {
        hfs_jpath_key(&L->path, "state_file");
        if (hfs_rj_expect(L, c, cJSON_String, "a file name") == 0 && c->valuestring[0] &&
            strchr("/$~", c->valuestring[0]) && !hfs_rj_has_crlf(c->valuestring, strlen(c->valuestring)))
            t->state_file = hfs_rj_dup(L, c->valuestring);
        else if (HFS_JTYPE(c) == cJSON_String)
            hfs_rj_say(L, 1, 0, "the state file must be absolute, \"$VAR/...\" or \"~/...\" (got \"%s\")",
                       c->valuestring),
                rc = -1;
        else
            rc = -1;
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(j, "hosts"))) {
        hfs_jpath_key(&L->path, "hosts");
        rc |= hfs_rj_hostpats(L, c, &t->hosts, &t->nhosts);
        hfs_jpath_pop(&L->path);
    }
    if (t->validate && !t->state_file && rc == 0) {
        hfs_jpath_key(&L->path, "validate");
        hfs_rj_say(L, 0, 1, "validate needs a state_file: the verdicts hfshim run gets are kept there for the library");
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(j, "xet"))) {
        hfs_jpath_key(&L->path, "xet");
        if (HFS_JTYPE(c) == cJSON_String && strcmp(c->valuestring, "keep") == 0)
            t->keep_xet = 1;
        else if (HFS_JTYPE(c) == cJSON_String && strcmp(c->valuestring, "disable") == 0)
            t->keep_xet = 0;
        else
            hfs_rj_say(L, 1, 0, "xet is \"disable\" (the default: HF_HUB_DISABLE_XET=1) or \"keep\""), rc = -1;
        hfs_jpath_pop(&L->path);
    }
    return rc;
}

/* "reach": when a Hub host counts as unreachable (rules/README.md §4.3). */
int hfs_section_reach(struct hfs_rload *L, const cJSON *j)
{
    struct hfs_reach_policy *p = &L->r->reach;
    const cJSON *c;
    int rc = 0;
    if (hfs_rj_expect(L, j, cJSON_Object, "an object such as {\"connect_ms\": 1500}"))
        return -1;
    rc |= hfs_rj_check_keys(L, j, hfs_keys_reach,
                            "learn, resolve_ms, connect_ms, handshake_ms, first_byte_ms, remember_s, "
                            "state_file, offline_variables, comment",
                            0);
    rc |= hfs_rj_bool(L, j, "learn", &p->learn);
    rc |= hfs_rj_int(L, j, "resolve_ms", 1000, 30000, &p->resolve_ms, "resolve_ms (milliseconds, whole seconds used)");
    rc |= hfs_rj_int(L, j, "connect_ms", 100, 600000, &p->connect_ms, "connect_ms (milliseconds)");
    rc |= hfs_rj_int(L, j, "handshake_ms", 100, 600000, &p->handshake_ms, "handshake_ms (milliseconds)");
    rc |= hfs_rj_int(L, j, "first_byte_ms", 100, 600000, &p->first_byte_ms, "first_byte_ms (milliseconds)");
    rc |= hfs_rj_int(L, j, "remember_s", 1, 86400, &p->remember_s, "remember_s (seconds)");
    if ((c = hfs_rj_get(j, "state_file"))) {
        hfs_jpath_key(&L->path, "state_file");
        if (HFS_JTYPE(c) == cJSON_NULL) {
            free(p->state_file);
            p->state_file = NULL;
        } else if (hfs_rj_expect(L, c, cJSON_String, "a file name or null") == 0 && c->valuestring[0] &&
                   strchr("/$~", c->valuestring[0]) && !hfs_rj_has_crlf(c->valuestring, strlen(c->valuestring))) {
            free(p->state_file);
            p->state_file = hfs_rj_dup(L, c->valuestring);
        } else if (HFS_JTYPE(c) == cJSON_String) {
            hfs_rj_say(L, 1, 0, "the state file must be absolute, \"$VAR/...\" or \"~/...\" (got \"%s\")",
                       c->valuestring);
            rc = -1;
        } else {
            rc = -1;
        }
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(j, "offline_variables"))) {
        hfs_jpath_key(&L->path, "offline_variables");
        if (HFS_JTYPE(c) == cJSON_String && strcmp(c->valuestring, "hub-unreachable") == 0)
            p->offline_variables = 1;
        else if (HFS_JTYPE(c) == cJSON_String && strcmp(c->valuestring, "library") == 0)
            p->offline_variables = 0;
        else
            hfs_rj_say(L, 1, 0, "offline_variables is \"hub-unreachable\" (the default) or \"library\""), rc = -1;
        hfs_jpath_pop(&L->path);
    }
    return rc;
}
