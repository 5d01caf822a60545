/* rules: load and validate a rules file into struct hfs_rules: the files
 * (the one named and its includes) and the top level of each (version,
 * offline, locked, children, hub_hosts, then the sections and rules, read
 * by rules_sections.c and rules_rule.c). The syntax is checked first by
 * jsonpos (precise messages), the tree is built by cJSON, and every
 * message carries file:line:col and the path (rules_json.c). */
#include "rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readfile.h"
#include "regex.h"
#include "ruleindex.h"
#include "rules_keys.h"
#include "rules_sections.h"

const char *const hfs_default_hub_hosts[] = { "huggingface.co", "*.huggingface.co", "hf.co", "*.hf.co", NULL };

/* Every included file, in load order (syspolicy checks who can write them). */
static int add_include_path(struct hfs_rules *r, const char *path)
{
    char **n = realloc(r->includes, (r->nincludes + 1) * sizeof *n);
    if (!n)
        return -1;
    r->includes = n;
    if (!(n[r->nincludes] = strdup(path)))
        return -1;
    r->nincludes++;
    return 0;
}

/* "include": other rules files, loaded first (rules/README.md §2.1); top
 * reads each one's top level (load_top, passed in: it calls this). */
static int load_includes(struct hfs_rload *L, const cJSON *j, int (*top)(struct hfs_rload *, const cJSON *))
{
    int rc = 0, i = 0;
    if (hfs_rj_expect(L, j, cJSON_Array, "an array of rules file names such as [\"token-hygiene.json\"]"))
        return -1;
    for (const cJSON *c = j->child; c; c = c->next, i++) {
        char path[4096];
        const char *why = NULL;
        size_t len = 0, off;
        int line, col;
        hfs_jpath_index(&L->path, i);
        if (hfs_rj_expect(L, c, cJSON_String, "a file name")) {
            rc = -1;
            hfs_jpath_pop(&L->path);
            continue;
        }
        const char *slash = strrchr(L->name, '/');
        if (c->valuestring[0] == '/')
            snprintf(path, sizeof path, "%s", c->valuestring);
        else if (slash)
            snprintf(path, sizeof path, "%.*s/%s", (int)(slash - L->name), L->name, c->valuestring);
        else
            snprintf(path, sizeof path, "%s", c->valuestring);
        char *text = NULL;
        if (L->depth >= 4) {
            hfs_rj_say(L, 1, 0, "includes nest more than 4 deep (an include loop?)");
        } else if (!c->valuestring[0] || hfs_rj_has_crlf(c->valuestring, strlen(c->valuestring))) {
            hfs_rj_say(L, 1, 0, "empty or invalid file name");
        } else if (add_include_path(L->r, path) || !(text = hfs_file_read(path, 0, HFS_MAX_RULES_FILE, &len, &why))) {
            hfs_rj_say(L, 1, 0, "cannot read %s: %s", path, why ? why : "out of memory");
        } else if (hfs_json_validate(text, len, &off, &why)) {
            hfs_json_linecol(text, len, off, &line, &col);
            hfs_diag_report(L->d, 1, "%s:%d:%d: %s", path, line, col, why);
        } else {
            const struct hfs_cjson *J = hfs_cjson();
            cJSON *sub = J ? J->ParseWithLengthOpts(text, len, NULL, 0) : NULL;
            struct hfs_rload S = { path, text, len, L->d, { 0 }, L->r, L->depth + 1 };
            if (!sub) {
                hfs_diag_report(L->d, 1, "%s: the JSON could not be parsed", path);
                rc = -1;
            } else {
                rc |= top(&S, sub);
                J->Delete(sub);
            }
            free(text);
            hfs_jpath_pop(&L->path);
            continue;
        }
        free(text);
        rc = -1;
        hfs_jpath_pop(&L->path);
    }
    return rc;
}

static int load_top(struct hfs_rload *L, const cJSON *root)
{
    static const char *const sub_only[] = { "offline", "hub_hosts", "children", "log", "locked", "reach", NULL };
    const cJSON *c;
    int rc = 0;
    if (HFS_JTYPE(root) != cJSON_Object) {
        hfs_rj_say(L, 1, 0, "expected an object {\"version\": 1, ...}, found %s", hfs_rj_type_name(root));
        return -1;
    }
    rc |= hfs_rj_check_keys(L, root, hfs_keys_top,
                            "version, offline, hub_hosts, env, rules, children, log, comment, tokens, include, "
                            "locked, reach",
                            0);
    for (const char *const *k = sub_only; *k && L->depth; k++)
        if (hfs_rj_get(root, *k)) { /* what a whole run is (offline, Hub hosts...) is the named file's to say */
            hfs_jpath_key(&L->path, *k);
            hfs_rj_say(L, 1, 1, "\"%s\" is not allowed in an included file (only tokens, env, rules, include)", *k);
            hfs_jpath_pop(&L->path);
            rc = -1;
        }
    if ((c = hfs_rj_get(root, "include"))) {
        hfs_jpath_key(&L->path, "include");
        rc |= load_includes(L, c, load_top);
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(root, "tokens"))) {
        hfs_jpath_key(&L->path, "tokens");
        rc |= hfs_section_tokens(L, c);
        hfs_jpath_pop(&L->path);
    }
    if (!(c = hfs_rj_get(root, "version"))) {
        hfs_rj_say(L, 1, 0, "missing \"version\" (write \"version\": 1 first)");
        rc = -1;
    } else {
        hfs_jpath_key(&L->path, "version");
        if (HFS_JTYPE(c) != cJSON_Number) {
            hfs_rj_say(L, 1, 0, "expected the number 1, found %s", hfs_rj_type_name(c));
            rc = -1;
        } else if (c->valuedouble != 1) {
            hfs_rj_say(L, 1, 0, "unsupported version %g (this hfshim reads version 1)", c->valuedouble);
            rc = -1;
        }
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(root, "offline"))) {
        hfs_jpath_key(&L->path, "offline");
        if (HFS_JTYPE(c) == cJSON_String && strcmp(c->valuestring, "variables") == 0)
            L->r->offline = HFS_OFFLINE_VARIABLES;
        else if (HFS_JTYPE(c) == cJSON_String) {
            hfs_rj_say(L, 1, 0, "unknown offline mode \"%s\" (use true, false or \"variables\")", c->valuestring);
            rc = -1;
        } else if (hfs_rj_expect(L, c, cJSON_True, "true, false or \"variables\"") == 0)
            L->r->offline = HFS_JTYPE(c) == cJSON_True ? HFS_OFFLINE_ANSWER : 0;
        else
            rc = -1;
        hfs_jpath_pop(&L->path);
    }
    rc |= hfs_rj_bool(L, root, "locked", &L->r->locked);
    if ((c = hfs_rj_get(root, "reach"))) {
        hfs_jpath_key(&L->path, "reach");
        rc |= hfs_section_reach(L, c);
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(root, "children"))) {
        hfs_jpath_key(&L->path, "children");
        if (hfs_rj_expect(L, c, cJSON_True, "true or false") == 0)
            L->r->children = HFS_JTYPE(c) == cJSON_True;
        else
            rc = -1;
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(root, "hub_hosts"))) {
        hfs_jpath_key(&L->path, "hub_hosts");
        rc |= hfs_rj_hostpats(L, c, &L->r->hub, &L->r->nhub);
        hfs_jpath_pop(&L->path);
    } else if (!L->depth) {
        for (const char *const *h = hfs_default_hub_hosts; *h; h++)
            rc |= hfs_rules_add_hub(L->r, *h);
    }
    if ((c = hfs_rj_get(root, "env"))) {
        hfs_jpath_key(&L->path, "env");
        rc |= hfs_section_env(L, c);
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(root, "log"))) {
        hfs_jpath_key(&L->path, "log");
        rc |= hfs_section_log(L, c);
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(root, "rules"))) {
        hfs_jpath_key(&L->path, "rules");
        rc |= hfs_rules_array_load(L, c);
        hfs_jpath_pop(&L->path);
    }
    return rc;
}

static struct hfs_rules *new_rules(const char *name)
{
    struct hfs_rules *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->children = 1;
    r->reach = (struct hfs_reach_policy){ .learn = 1,
                                          .resolve_ms = 1000,
                                          .connect_ms = 1500,
                                          .handshake_ms = 1500,
                                          .first_byte_ms = 2000,
                                          .remember_s = 60,
                                          .offline_variables = 1 };
    r->reach.state_file = strdup("~/.cache/hfshim/reach");
    r->source = strdup(name);
    if (!r->source) {
        free(r);
        return NULL;
    }
    return r;
}

struct hfs_rules *hfs_rules_load_buffer(const char *name, const char *text, size_t len, struct hfs_diag *d)
{
    struct hfs_rload L = { name, text, len, d, { 0 }, NULL, 0 };
    const struct hfs_cjson *J = hfs_cjson();
    size_t off;
    const char *why;
    int line, col, errors_before = d->errors;
    cJSON *root;
    if (hfs_json_validate(text, len, &off, &why)) {
        hfs_json_linecol(text, len, off, &line, &col);
        hfs_diag_report(d, 1, "%s:%d:%d: %s", name, line, col, why);
        return NULL;
    }
    if (memchr(text, 0, len)) {
        hfs_diag_report(d, 1, "%s: the file contains a NUL byte", name);
        return NULL;
    }
    if (!J) {
        hfs_diag_report(d, 1, "%s: cannot read rules: no JSON parser", name);
        return NULL;
    }
    /* cJSON skips a byte order mark only in texts of 5 bytes or more */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        root = J->ParseWithLengthOpts(text + 3, len - 3, NULL, 0);
    else
        root = J->ParseWithLengthOpts(text, len, NULL, 0);
    if (!root) {
        hfs_diag_report(d, 1, "%s: the JSON could not be parsed (out of memory or nested too deeply)", name);
        return NULL;
    }
    L.r = new_rules(name);
    if (!L.r || load_top(&L, root) || d->errors > errors_before) {
        if (L.r && d->errors == errors_before)
            hfs_diag_report(d, 1, "%s: out of memory", name);
        hfs_rules_free(L.r);
        L.r = NULL;
    }
    J->Delete(root);
    if (L.r)
        L.r->index = hfs_ruleindex_build(L.r);
    return L.r;
}

struct hfs_rules *hfs_rules_load_file(const char *path, struct hfs_diag *d)
{
    const char *why;
    size_t got = 0;
    struct hfs_rules *r;
    char *buf = hfs_file_read(path, 0, HFS_MAX_RULES_FILE, &got, &why);
    if (!buf) {
        int e = errno;
        if (e == EFBIG)
            hfs_diag_report(d, 1, "%s: larger than 16 MiB; is this a rules file?", path);
        else if (e == EINVAL) /* not a regular file: said what it is, never waited on (a FIFO) */
            hfs_diag_report(d, 1, "%s: %s", path, why);
        else
            hfs_diag_report(d, 1, "%s: cannot open: %s", path, why ? why : "error");
        return NULL;
    }
    r = hfs_rules_load_buffer(path, buf, got, d);
    free(buf);
    return r;
}

int hfs_rules_add_hub(struct hfs_rules *r, const char *pattern)
{
    char err[300];
    struct hfs_hostpat *h = realloc(r->hub, (r->nhub + 1) * sizeof *h);
    if (!h)
        return -1;
    r->hub = h;
    if (hfs_hostpat_compile(&h[r->nhub], pattern, err, sizeof err))
        return -1;
    r->nhub++;
    return 0;
}

int hfs_rules_add_endpoint(struct hfs_rules *r, const char *url)
{
    char hp[300], alt[320];
    if (hfs_endpoint_hostport(url, hp, sizeof hp))
        return -1;
    if (hfs_rules_add_hub(r, hp))
        return -1;
    if (strncmp(hp, "localhost:", 10) == 0) {
        snprintf(alt, sizeof alt, "127.0.0.1:%s", hp + 10);
        hfs_rules_add_hub(r, alt);
        snprintf(alt, sizeof alt, "[::1]:%s", hp + 10);
        hfs_rules_add_hub(r, alt);
    }
    return 0;
}

struct hfs_rules *hfs_rules_safe_default(void)
{
    struct hfs_rules *r = new_rules("(safe default)");
    if (!r)
        return NULL;
    r->offline = HFS_OFFLINE_ANSWER;
    for (const char *const *h = hfs_default_hub_hosts; *h; h++)
        hfs_rules_add_hub(r, *h);
    return r;
}

void hfs_rules_free(struct hfs_rules *r)
{
    if (!r)
        return;
    hfs_ruleindex_free(r->index);
    for (size_t i = 0; i < r->nhub; i++)
        hfs_hostpat_free(&r->hub[i]);
    free(r->hub);
    for (size_t i = 0; i < r->nenv; i++) {
        free(r->env[i].name);
        free(r->env[i].value);
    }
    free(r->env);
    free(r->log_dest);
    free(r->audit_path);
    for (size_t i = 0; i < r->nincludes; i++)
        free(r->includes[i]);
    free(r->includes);
    for (size_t i = 0; i < r->nrules; i++)
        hfs_rule_free(&r->rules[i]);
    free(r->rules);
    hfs_re_free(r->tokens.format);
    for (size_t i = 0; i < r->tokens.ndeny; i++)
        free(r->tokens.deny[i]);
    free(r->tokens.deny);
    free(r->tokens.state_file);
    free(r->reach.state_file);
    for (size_t i = 0; i < r->tokens.nhosts; i++)
        hfs_hostpat_free(&r->tokens.hosts[i]);
    free(r->tokens.hosts);
    free(r->source);
    free(r);
}
