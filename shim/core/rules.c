/* rules: load and validate a rules file into struct hfs_rules.
 * The syntax is checked first by jsonpos (precise messages), the tree is
 * built by cJSON, and every message carries file:line:col and the path. */
#include "rules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cjson_bind.h"
#include "jsonpos.h"
#include "presets.h"
#include "readfile.h"
#include "http1.h"
#include "regex.h"
#include "ruleindex.h"
#include "token.h"

#define MAX_RULES_FILE (16 * 1024 * 1024)

const char *const hfs_default_hub_hosts[] = { "huggingface.co", "*.huggingface.co", "hf.co", "*.hf.co", NULL };

struct loader {
    const char *name;
    const char *text;
    size_t len;
    struct hfs_diag *d;
    struct hfs_jpath path;
    struct hfs_rules *r;
    int depth; /* include depth (0: the file named) */
};

void hfs_diag_report(struct hfs_diag *d, int is_error, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (is_error) {
        if (d->errors++ == 0)
            snprintf(d->first_error, sizeof d->first_error, "%s", msg);
    } else {
        d->warnings++;
    }
    if (d->emit)
        d->emit(d->ctx, is_error, msg);
}

/* Reports at the current path (at its key when at_key). */
__attribute__((format(printf, 4, 5))) static void say(struct loader *L, int is_error, int at_key, const char *fmt, ...)
{
    char msg[700], where[256];
    size_t off = 0;
    int line = 1, col = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    hfs_jpath_render(&L->path, where, sizeof where);
    if (hfs_json_locate(L->text, L->len, &L->path, at_key, &off) == 0)
        hfs_json_linecol(L->text, L->len, off, &line, &col);
    hfs_diag_report(L->d, is_error, "%s:%d:%d: %s%s: %s", L->name, line, col, is_error ? "" : "warning: ", where, msg);
}

static const char *type_name(const cJSON *j)
{
    switch (HFS_JTYPE(j)) {
    case cJSON_False:
    case cJSON_True: return "a boolean";
    case cJSON_NULL: return "null";
    case cJSON_Number: return "a number";
    case cJSON_String: return "a string";
    case cJSON_Array: return "an array";
    case cJSON_Object: return "an object";
    }
    return "an unknown value";
}

static int expect(struct loader *L, const cJSON *j, int type, const char *what)
{
    int t = HFS_JTYPE(j);
    if (t == type || (type == cJSON_True && t == cJSON_False))
        return 0;
    say(L, 1, 0, "expected %s, found %s", what, type_name(j));
    return -1;
}

/* Checks an object's keys against the known list: unknown ones warn,
 * duplicates are errors. Returns -1 on error. */
/* Unknown keys warn; with strict (inside "match", where a misspelt key
 * would silently widen the rule to every request) they are errors. */
static int check_keys(struct loader *L, const cJSON *obj, const char *const *known, const char *hint, int strict)
{
    int rc = 0;
    for (const cJSON *c = obj->child; c; c = c->next) {
        int ok = 0, nth = 0;
        for (const cJSON *p = obj->child; p != c; p = p->next)
            nth += strcmp(p->string, c->string) == 0;
        if (nth) {
            hfs_jpath_key(&L->path, c->string);
            /* point at this copy of the key, not at the first one */
            if (L->path.depth <= HFS_JPATH_MAX)
                L->path.seg[L->path.depth - 1].index = nth;
            say(L, 1, 1, "duplicate key (each key may appear once)");
            hfs_jpath_pop(&L->path);
            rc = -1;
            ok = 1;
        }
        for (const char *const *k = known; *k && !ok; k++)
            if (strcmp(*k, c->string) == 0)
                ok = 1;
        if (!ok) {
            hfs_jpath_key(&L->path, c->string);
            if (strict) {
                say(L, 1, 1, "unknown match key (known: %s); a misspelt condition would make the rule match more "
                             "than meant",
                    hint);
                rc = -1;
            } else {
                say(L, 0, 1, "unknown key (ignored; known keys here: %s)", hint);
            }
            hfs_jpath_pop(&L->path);
        }
    }
    return rc;
}

static const cJSON *get(const cJSON *obj, const char *key)
{
    for (const cJSON *c = obj->child; c; c = c->next)
        if (strcmp(c->string, key) == 0)
            return c;
    return NULL;
}

static char *dup_or_oom(struct loader *L, const char *s)
{
    char *d = strdup(s);
    if (!d)
        say(L, 1, 0, "out of memory");
    return d;
}

/* A control character (C0 or DEL) in s: 1. */
static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int load_hostpat(struct loader *L, const cJSON *j, struct hfs_hostpat *out)
{
    char err[400];
    if (expect(L, j, cJSON_String, "a host pattern (string)"))
        return -1;
    if (has_control(j->valuestring)) {
        say(L, 1, 0, "control character in a host pattern");
        return -1;
    }
    if (hfs_hostpat_compile(out, j->valuestring, err, sizeof err)) {
        say(L, 1, 0, "%s", err);
        return -1;
    }
    return 0;
}

/* An array of host patterns into *out (grown), *n counting them. */
static int load_hostpat_array(struct loader *L, const cJSON *j, struct hfs_hostpat **out, size_t *n)
{
    int i = 0, rc = 0;
    size_t count = 0;
    if (expect(L, j, cJSON_Array, "an array of host patterns"))
        return -1;
    for (const cJSON *c = j->child; c; c = c->next)
        count++;
    struct hfs_hostpat *a = realloc(*out, (*n + count + 1) * sizeof *a);
    if (!a)
        return -1;
    *out = a;
    for (const cJSON *c = j->child; c; c = c->next, i++) {
        hfs_jpath_index(&L->path, i);
        if (load_hostpat(L, c, &a[*n]) == 0)
            (*n)++;
        else
            rc = -1;
        hfs_jpath_pop(&L->path);
    }
    return rc;
}

static int load_hub_hosts(struct loader *L, const cJSON *j)
{
    return load_hostpat_array(L, j, &L->r->hub, &L->r->nhub);
}

static int valid_env_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s == '=' || (unsigned char)*s < 0x21)
            return 0;
    return 1;
}

static int add_env(struct loader *L, const char *name, const char *value)
{
    struct hfs_env_pair *e = realloc(L->r->env, (L->r->nenv + 1) * sizeof *e);
    if (!e)
        return -1;
    L->r->env = e;
    e[L->r->nenv].name = dup_or_oom(L, name);
    e[L->r->nenv].value = value ? dup_or_oom(L, value) : NULL;
    L->r->nenv++;
    return (e[L->r->nenv - 1].name && (!value || e[L->r->nenv - 1].value)) ? 0 : -1;
}

static int load_env(struct loader *L, const cJSON *j)
{
    static const char *const known[] = { "set", "unset", NULL };
    const cJSON *set, *unset;
    int rc = 0, i = 0;
    if (expect(L, j, cJSON_Object, "an object with \"set\" and \"unset\""))
        return -1;
    rc |= check_keys(L, j, known, "set, unset", 0);
    if ((set = get(j, "set"))) {
        hfs_jpath_key(&L->path, "set");
        if (expect(L, set, cJSON_Object, "an object of NAME: \"value\" pairs") == 0) {
            for (const cJSON *c = set->child; c; c = c->next) {
                hfs_jpath_key(&L->path, c->string);
                if (!valid_env_name(c->string)) {
                    say(L, 1, 1, "invalid variable name \"%s\" (no '=', spaces or control characters)", c->string);
                    rc = -1;
                } else if (expect(L, c, cJSON_String, "a string value (write numbers in quotes: \"1\")") == 0) {
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
    if ((unset = get(j, "unset"))) {
        hfs_jpath_key(&L->path, "unset");
        if (expect(L, unset, cJSON_Array, "an array of variable names") == 0) {
            for (const cJSON *c = unset->child; c; c = c->next, i++) {
                hfs_jpath_index(&L->path, i);
                if (expect(L, c, cJSON_String, "a variable name (string)")) {
                    rc = -1;
                } else if (!valid_env_name(c->valuestring)) {
                    say(L, 1, 0, "invalid variable name \"%s\" (no '=', spaces or control characters)",
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

static int load_regex(struct loader *L, const cJSON *j, struct hfs_re **out, int caseless)
{
    char err[300];
    if (expect(L, j, cJSON_String, "a regular expression (string)"))
        return -1;
    *out = hfs_re_compile(j->valuestring, caseless, err, sizeof err);
    if (!*out) {
        say(L, 1, 0, "invalid regex: %s", err);
        return -1;
    }
    if (hfs_re_risky(j->valuestring))
        say(L, 0, 0, "this regex can backtrack badly (a repeated group that itself repeats): on a long subject "
                     "the engine may give up, and a block or strip rule then counts as a match");
    return 0;
}

static int valid_method(const char *m)
{
    if (!*m)
        return 0;
    for (; *m; m++)
        if (!((*m >= 'A' && *m <= 'Z') || *m == '-' || *m == '_'))
            return 0;
    return 1;
}

/* A string or an array of strings, each checked by one_method. */
unsigned hfs_method_bit(const char *method)
{
    static const char *const common[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS" };
    for (unsigned i = 0; method && i < sizeof common / sizeof common[0]; i++)
        if (strcmp(method, common[i]) == 0)
            return 1u << i;
    return HFS_METHOD_OTHER;
}

static int load_methods(struct loader *L, const cJSON *j, struct hfs_match *m)
{
    const cJSON *single[1] = { j };
    int n = 0, i = 0, arr = HFS_JTYPE(j) == cJSON_Array;
    if (!arr && HFS_JTYPE(j) != cJSON_String) {
        say(L, 1, 0, "expected a method such as \"GET\" or an array of methods, found %s", type_name(j));
        return -1;
    }
    for (const cJSON *c = arr ? j->child : single[0]; c; c = arr ? c->next : NULL)
        n++;
    if (n == 0) {
        say(L, 1, 0, "empty list of methods (leave \"method\" out to match any method)");
        return -1;
    }
    m->methods = calloc((size_t)n, sizeof *m->methods);
    if (!m->methods)
        return -1;
    for (const cJSON *c = arr ? j->child : single[0]; c; c = arr ? c->next : NULL, i++) {
        if (arr)
            hfs_jpath_index(&L->path, i);
        int bad = expect(L, c, cJSON_String, "a method name (string)");
        if (!bad && !valid_method(c->valuestring)) {
            say(L, 1, 0, "invalid method \"%s\" (HTTP methods are upper-case words such as \"GET\" or \"POST\")",
                c->valuestring);
            bad = 1;
        }
        if (arr)
            hfs_jpath_pop(&L->path);
        if (bad)
            return -1;
        if (!(m->methods[m->nmethods++] = dup_or_oom(L, c->valuestring)))
            return -1;
        m->method_mask |= hfs_method_bit(c->valuestring);
    }
    return 0;
}

static int load_port_value(struct loader *L, const cJSON *c, int *out)
{
    if (HFS_JTYPE(c) != cJSON_Number) {
        say(L, 1, 0, "expected a port number, found %s", type_name(c));
        return -1;
    }
    /* range first: converting an out-of-range double to int is undefined */
    if (!(c->valuedouble >= 1 && c->valuedouble <= 65535) || c->valuedouble != (double)(int)c->valuedouble) {
        say(L, 1, 0, "port must be a whole number from 1 to 65535");
        return -1;
    }
    *out = (int)c->valuedouble;
    return 0;
}

static int load_ports(struct loader *L, const cJSON *j, struct hfs_match *m)
{
    int n = 0, i = 0;
    if (HFS_JTYPE(j) != cJSON_Array) {
        m->ports = calloc(1, sizeof *m->ports);
        if (!m->ports || load_port_value(L, j, &m->ports[0]))
            return -1;
        m->nports = 1;
        return 0;
    }
    for (const cJSON *c = j->child; c; c = c->next)
        n++;
    if (n == 0) {
        say(L, 1, 0, "empty list of ports (leave \"port\" out to match any port)");
        return -1;
    }
    m->ports = calloc((size_t)n, sizeof *m->ports);
    if (!m->ports)
        return -1;
    for (const cJSON *c = j->child; c; c = c->next, i++) {
        hfs_jpath_index(&L->path, i);
        int rc = load_port_value(L, c, &m->ports[m->nports]);
        hfs_jpath_pop(&L->path);
        if (rc)
            return -1;
        m->nports++;
    }
    return 0;
}

static int load_headers(struct loader *L, const cJSON *j, struct hfs_match *m)
{
    int n = 0, rc = 0;
    if (expect(L, j, cJSON_Object, "an object of \"Header-Name\": \"regex\" pairs"))
        return -1;
    for (const cJSON *c = j->child; c; c = c->next)
        n++;
    m->headers = calloc((size_t)n + 1, sizeof *m->headers);
    if (!m->headers)
        return -1;
    for (const cJSON *c = j->child; c; c = c->next) {
        struct hfs_header_match *h = &m->headers[m->nheaders];
        hfs_jpath_key(&L->path, c->string);
        if (!c->string[0] || strpbrk(c->string, " \t:\r\n")) {
            say(L, 1, 1, "invalid header name \"%s\"", c->string);
            rc = -1;
        } else if (load_regex(L, c, &h->re, 0) == 0) {
            h->name = dup_or_oom(L, c->string);
            m->nheaders++;
        } else {
            rc = -1;
        }
        hfs_jpath_pop(&L->path);
    }
    return rc;
}

/* "program": a name or an array of names (the process's short name,
 * as in the log lines: "python3", "curl", "node"). */
static int load_programs(struct loader *L, const cJSON *c, struct hfs_match *m)
{
    size_t n = HFS_JTYPE(c) == cJSON_String ? 1 : 0;
    if (HFS_JTYPE(c) == cJSON_Array)
        for (const cJSON *e = c->child; e; e = e->next)
            n++;
    else if (HFS_JTYPE(c) != cJSON_String)
        return expect(L, c, cJSON_Array, "a program name or an array of names such as [\"python3\", \"curl\"]");
    if (n == 0) {
        say(L, 1, 0, "an empty program list never matches (leave \"program\" out to match every program)");
        return -1;
    }
    m->programs = calloc(n, sizeof *m->programs);
    if (!m->programs)
        return -1;
    int rc = 0, i = 0;
    for (const cJSON *e = HFS_JTYPE(c) == cJSON_String ? c : c->child; e && m->nprograms < n; e = e->next, i++) {
        if (HFS_JTYPE(c) == cJSON_Array)
            hfs_jpath_index(&L->path, i);
        if (expect(L, e, cJSON_String, "a program name") == 0 && e->valuestring[0] && !strchr(e->valuestring, '/'))
            m->programs[m->nprograms++] = dup_or_oom(L, e->valuestring);
        else if (HFS_JTYPE(e) == cJSON_String)
            say(L, 1, 0, "a program name is the short name without folders (got \"%s\")", e->valuestring), rc = -1;
        else
            rc = -1;
        if (HFS_JTYPE(c) == cJSON_Array)
            hfs_jpath_pop(&L->path);
        if (HFS_JTYPE(c) == cJSON_String)
            break;
    }
    return rc;
}

static int load_match(struct loader *L, const cJSON *j, struct hfs_match *m)
{
    static const char *const known[] = { "host", "method", "port", "scheme", "path", "url", "header", "repo",
                                         "cached", "program", NULL };
    const cJSON *c;
    int rc = 0;
    m->cached = -1;
    if (expect(L, j, cJSON_Object, "an object (use {} to match everything)"))
        return -1;
    rc |= check_keys(L, j, known, "host, method, port, scheme, path, url, header, repo, cached, program", 1);
    if ((c = get(j, "host"))) {
        hfs_jpath_key(&L->path, "host");
        if (HFS_JTYPE(c) == cJSON_String && strcmp(c->valuestring, "@hub") == 0) {
            m->hub = 1;
        } else if (HFS_JTYPE(c) == cJSON_String && c->valuestring[0] == '@') {
            say(L, 1, 0, "unknown host group \"%s\" (the only group is \"@hub\")", c->valuestring);
            rc = -1;
        } else {
            m->host = calloc(1, sizeof *m->host);
            if (!m->host || load_hostpat(L, c, m->host)) {
                free(m->host);
                m->host = NULL;
                rc = -1;
            }
        }
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(j, "method"))) {
        hfs_jpath_key(&L->path, "method");
        rc |= load_methods(L, c, m);
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(j, "port"))) {
        hfs_jpath_key(&L->path, "port");
        rc |= load_ports(L, c, m);
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(j, "scheme"))) {
        hfs_jpath_key(&L->path, "scheme");
        if (expect(L, c, cJSON_String, "\"http\" or \"https\"") == 0 && strcmp(c->valuestring, "http") != 0 &&
            strcmp(c->valuestring, "https") != 0) {
            say(L, 1, 0, "unknown scheme \"%s\" (use \"http\" or \"https\")", c->valuestring);
            rc = -1;
        } else if (HFS_JTYPE(c) != cJSON_String) {
            rc = -1;
        } else {
            m->scheme = dup_or_oom(L, c->valuestring);
        }
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(j, "path"))) {
        hfs_jpath_key(&L->path, "path");
        rc |= load_regex(L, c, &m->path, 0);
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(j, "url"))) {
        hfs_jpath_key(&L->path, "url");
        rc |= load_regex(L, c, &m->url, 0);
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(j, "header"))) {
        hfs_jpath_key(&L->path, "header");
        rc |= load_headers(L, c, m);
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(j, "repo"))) {
        hfs_jpath_key(&L->path, "repo");
        rc |= load_regex(L, c, &m->repo, 0);
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(j, "program"))) {
        hfs_jpath_key(&L->path, "program");
        rc |= load_programs(L, c, m);
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(j, "cached"))) {
        hfs_jpath_key(&L->path, "cached");
        if (expect(L, c, cJSON_True, "true or false") == 0)
            m->cached = HFS_JTYPE(c) == cJSON_True;
        else
            rc = -1;
        hfs_jpath_pop(&L->path);
    }
    return rc;
}

static int match_is_empty(const struct hfs_match *m)
{
    return !m->hub && !m->host && !m->methods && !m->ports && !m->scheme && !m->path && !m->url && !m->nheaders &&
           !m->repo && m->cached < 0 && !m->programs;
}

static const struct {
    const char *name;
    enum hfs_action_kind kind;
    const char *takes; /* the parameter keys of this action */
} actions[] = {
    { "allow", HFS_ACT_ALLOW, "" },
    { "block", HFS_ACT_BLOCK, "form, status" },
    { "respond", HFS_ACT_RESPOND, "status, headers, body, body_file" },
    { "strip-header", HFS_ACT_STRIP_HEADER, "header, value" },
    { "set-header", HFS_ACT_SET_HEADER, "header, from_env, from_file, prefix" },
    { "delay", HFS_ACT_DELAY, "ms" },
    { "cache", HFS_ACT_CACHE, "miss, cache_dirs, status" },
    { "strip-auth", HFS_ACT_STRIP_AUTH, "when" },
    { "set-auth", HFS_ACT_SET_AUTH, "from_env, from_file, prefix" },
    { "refuse", HFS_ACT_REFUSE, "" },
    { "dns-fail", HFS_ACT_DNS_FAIL, "" },
    { "hang", HFS_ACT_HANG, "stage" },
    { "reset", HFS_ACT_RESET, "after_bytes" },
    { "throttle", HFS_ACT_THROTTLE, "bytes_per_second" },
};
#define ACTION_LIST                                                                                               \
    "allow, block, respond, strip-header, set-header, delay, cache, strip-auth, set-auth, refuse, dns-fail, hang, " \
    "reset, throttle"
static const char *const param_keys[] = { "form", "status", "headers", "body", "body_file", "header", "value",
                                           "from_env", "from_file", "prefix", "ms", "miss", "cache_dirs", "when",
                                           "stage", "after_bytes", "bytes_per_second", "retry_after", NULL };

const char *hfs_action_name(enum hfs_action_kind k)
{
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (actions[i].kind == k)
            return actions[i].name;
    return "?";
}

int hfs_action_is_modifier(enum hfs_action_kind k)
{
    return k == HFS_ACT_STRIP_HEADER || k == HFS_ACT_SET_HEADER || k == HFS_ACT_DELAY || k == HFS_ACT_STRIP_AUTH ||
           k == HFS_ACT_SET_AUTH || k == HFS_ACT_RESET || k == HFS_ACT_THROTTLE;
}

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

static int valid_header_name(const char *s)
{
    return hfs_http1_is_token(s, strlen(s)); /* the HTTP parser's own token rule */
}

static int has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\r' || s[i] == '\n' || s[i] == 0)
            return 1;
    return 0;
}

/* A string parameter; *out strdup'ed. check: 0 any, 1 header name, 2 no CR/LF, 3 env name, 4 non-empty. */
static int load_str(struct loader *L, const cJSON *j, const char *key, char **out, int check)
{
    const cJSON *c = get(j, key);
    int rc = 0;
    if (!c)
        return 0;
    hfs_jpath_key(&L->path, key);
    if (expect(L, c, cJSON_String, "a string")) {
        rc = -1;
    } else if (check == 1 && !valid_header_name(c->valuestring)) {
        say(L, 1, 0, "invalid header name \"%s\"", c->valuestring), rc = -1;
    } else if (check == 2 && has_ctl(c->valuestring, strlen(c->valuestring))) {
        say(L, 1, 0, "line breaks are not allowed here"), rc = -1;
    } else if (check == 3 && !valid_env_name(c->valuestring)) {
        say(L, 1, 0, "invalid environment variable name \"%s\"", c->valuestring), rc = -1;
    } else if (check == 4 && !c->valuestring[0]) {
        say(L, 1, 0, "empty string"), rc = -1;
    } else if (!(*out = dup_or_oom(L, c->valuestring))) {
        rc = -1;
    }
    hfs_jpath_pop(&L->path);
    return rc;
}

static int load_int(struct loader *L, const cJSON *j, const char *key, int lo, int hi, int *out, const char *what)
{
    const cJSON *c = get(j, key);
    int rc = 0;
    if (!c)
        return 0;
    hfs_jpath_key(&L->path, key);
    if (HFS_JTYPE(c) != cJSON_Number || !(c->valuedouble >= lo && c->valuedouble <= hi) ||
        c->valuedouble != (double)(int)c->valuedouble) {
        say(L, 1, 0, "%s must be a whole number from %d to %d", what, lo, hi);
        rc = -1;
    } else {
        *out = (int)c->valuedouble;
    }
    hfs_jpath_pop(&L->path);
    return rc;
}

static int load_resp_headers(struct loader *L, const cJSON *j, struct hfs_action_args *a)
{
    const cJSON *h = get(j, "headers");
    int n = 0, rc = 0;
    if (!h)
        return 0;
    hfs_jpath_key(&L->path, "headers");
    if (expect(L, h, cJSON_Object, "an object of \"Header-Name\": \"value\" pairs")) {
        hfs_jpath_pop(&L->path);
        return -1;
    }
    for (const cJSON *c = h->child; c; c = c->next)
        n++;
    if (n > 32) {
        say(L, 1, 0, "at most 32 response headers");
        hfs_jpath_pop(&L->path);
        return -1;
    }
    a->headers = calloc((size_t)n + 1, sizeof *a->headers);
    for (const cJSON *c = h->child; c && a->headers; c = c->next) {
        hfs_jpath_key(&L->path, c->string);
        if (!valid_header_name(c->string)) {
            say(L, 1, 1, "invalid header name \"%s\"", c->string), rc = -1;
        } else if (expect(L, c, cJSON_String, "a string")) {
            rc = -1;
        } else if (has_ctl(c->valuestring, strlen(c->valuestring))) {
            say(L, 1, 0, "line breaks are not allowed in a header value"), rc = -1;
        } else {
            a->headers[a->nheaders].name = dup_or_oom(L, c->string);
            a->headers[a->nheaders].value = dup_or_oom(L, c->valuestring);
            a->nheaders++;
        }
        hfs_jpath_pop(&L->path);
    }
    hfs_jpath_pop(&L->path);
    return a->headers ? rc : -1;
}

/* body (literal) or body_file (read now, relative to the rules file). */
static int load_body(struct loader *L, const cJSON *j, struct hfs_action_args *a)
{
    const cJSON *b = get(j, "body"), *f = get(j, "body_file");
    if (b && f) {
        hfs_jpath_key(&L->path, "body_file");
        say(L, 1, 1, "give \"body\" or \"body_file\", not both");
        hfs_jpath_pop(&L->path);
        return -1;
    }
    if (b) {
        char *s = NULL;
        if (load_str(L, j, "body", &s, 0))
            return -1;
        a->body = s;
        a->body_len = strlen(s);
        return 0;
    }
    if (f) {
        char *path = NULL, full[4096];
        const char *why;
        int rc = 0;
        if (load_str(L, j, "body_file", &path, 4))
            return -1;
        const char *slash = strrchr(L->name, '/');
        if (path[0] != '/' && slash)
            snprintf(full, sizeof full, "%.*s/%s", (int)(slash - L->name), L->name, path);
        else
            snprintf(full, sizeof full, "%s", path);
        a->body = hfs_file_read(full, 0, MAX_RULES_FILE, &a->body_len, &why);
        if (!a->body) {
            hfs_jpath_key(&L->path, "body_file");
            say(L, 1, 0, "cannot read %s: %s", full, why ? why : "error");
            hfs_jpath_pop(&L->path);
            rc = -1;
        }
        free(path);
        return rc;
    }
    return 0;
}

static int load_action_args(struct loader *L, const cJSON *j, struct hfs_rule *rule, const char *takes)
{
    struct hfs_action_args *a = &rule->args;
    int rc = 0;
    for (const char *const *k = param_keys; *k; k++)
        if (get(j, *k) && !in_list(takes, *k)) {
            hfs_jpath_key(&L->path, *k);
            say(L, 1, 1, "\"%s\" does not apply to action %s (%s%s)", *k, hfs_action_name(rule->action),
                *takes ? "it takes: " : "it takes no parameters", takes);
            hfs_jpath_pop(&L->path);
            rc = -1;
        }
    if (rc)
        return rc;
    switch (rule->action) {
    case HFS_ACT_ALLOW:
        break;
    case HFS_ACT_BLOCK: {
        char *form = NULL;
        a->status = 403;
        rc |= load_int(L, j, "status", 100, 599, &a->status, "status");
        rc |= load_str(L, j, "form", &form, 0);
        if (form) {
            if (strcmp(form, "http") == 0)
                a->form = HFS_BLOCK_HTTP;
            else if (strcmp(form, "error") == 0)
                a->form = HFS_BLOCK_ERROR;
            else if (strcmp(form, "default") != 0) {
                hfs_jpath_key(&L->path, "form");
                say(L, 1, 0, "unknown block form \"%s\" (known: default, http, error)", form);
                hfs_jpath_pop(&L->path);
                rc = -1;
            }
            free(form);
        }
        break;
    }
    case HFS_ACT_RESPOND:
        a->status = 200;
        rc |= load_int(L, j, "status", 100, 599, &a->status, "status");
        rc |= load_resp_headers(L, j, a);
        rc |= load_body(L, j, a);
        break;
    case HFS_ACT_STRIP_HEADER:
    case HFS_ACT_SET_HEADER:
        if (!get(j, "header")) {
            say(L, 1, 0, "action %s needs \"header\" (the header name)", hfs_action_name(rule->action));
            return -1;
        }
        rc |= load_str(L, j, "header", &a->header, 1);
        if (rule->action == HFS_ACT_STRIP_HEADER) {
            if (get(j, "value")) {
                hfs_jpath_key(&L->path, "value");
                rc |= load_regex(L, get(j, "value"), &a->value_re, 0);
                hfs_jpath_pop(&L->path);
            }
            break;
        }
        if (!!get(j, "from_env") == !!get(j, "from_file")) {
            say(L, 1, 0, "set-header needs exactly one of \"from_env\" or \"from_file\" (values are never written "
                         "in the rules file)");
            return -1;
        }
        rc |= load_str(L, j, "from_env", &a->from_env, 3);
        rc |= load_str(L, j, "from_file", &a->from_file, 4);
        rc |= load_str(L, j, "prefix", &a->prefix, 2);
        break;
    case HFS_ACT_SET_AUTH:
        if (!!get(j, "from_env") == !!get(j, "from_file")) {
            say(L, 1, 0, "set-auth needs exactly one of \"from_env\" or \"from_file\" (tokens are never written "
                         "in the rules file)");
            return -1;
        }
        rc |= load_str(L, j, "from_env", &a->from_env, 3);
        rc |= load_str(L, j, "from_file", &a->from_file, 4);
        if (get(j, "prefix"))
            rc |= load_str(L, j, "prefix", &a->prefix, 2);
        else if (!(a->prefix = dup_or_oom(L, "Bearer ")))
            rc = -1;
        if (!(a->header = dup_or_oom(L, "Authorization")))
            rc = -1;
        break;
    case HFS_ACT_STRIP_AUTH: {
        static const struct { const char *name; unsigned bit; } reasons[] = {
            { "malformed", HFS_WHEN_MALFORMED }, { "denied", HFS_WHEN_DENIED }, { "learned", HFS_WHEN_LEARNED },
            { "invalid", HFS_WHEN_INVALID },     { "foreign", HFS_WHEN_FOREIGN },
        };
        const cJSON *c = get(j, "when");
        a->when = HFS_WHEN_ALL;
        if (!(a->header = dup_or_oom(L, "Authorization")))
            rc = -1;
        if (!c)
            break;
        hfs_jpath_key(&L->path, "when");
        if (expect(L, c, cJSON_Array, "an array of reasons such as [\"malformed\", \"learned\"]")) {
            hfs_jpath_pop(&L->path);
            return -1;
        }
        a->when = 0;
        int i = 0;
        for (const cJSON *w = c->child; w; w = w->next, i++) {
            size_t k;
            hfs_jpath_index(&L->path, i);
            if (expect(L, w, cJSON_String, "a reason (string)")) {
                rc = -1;
            } else {
                for (k = 0; k < sizeof reasons / sizeof reasons[0]; k++)
                    if (strcmp(w->valuestring, reasons[k].name) == 0)
                        break;
                if (k == sizeof reasons / sizeof reasons[0]) {
                    say(L, 1, 0, "unknown reason \"%s\" (known: malformed, denied, learned, invalid, foreign)",
                        w->valuestring);
                    rc = -1;
                } else {
                    a->when |= reasons[k].bit;
                }
            }
            hfs_jpath_pop(&L->path);
        }
        if (!a->when && rc == 0) {
            say(L, 1, 0, "an empty \"when\" never strips anything (leave it out to strip for every reason)");
            rc = -1;
        }
        hfs_jpath_pop(&L->path);
        break;
    }
    case HFS_ACT_REFUSE:
    case HFS_ACT_DNS_FAIL:
        break;
    case HFS_ACT_HANG: {
        char *stage = NULL;
        rc |= load_str(L, j, "stage", &stage, 0);
        if (stage) {
            if (strcmp(stage, "connect") == 0)
                a->hang_connect = 1;
            else if (strcmp(stage, "request") != 0) {
                hfs_jpath_key(&L->path, "stage");
                say(L, 1, 0, "unknown hang stage \"%s\" (known: request, connect)", stage);
                hfs_jpath_pop(&L->path);
                rc = -1;
            }
            free(stage);
        }
        break;
    }
    case HFS_ACT_RESET: {
        int n = 0;
        rc |= load_int(L, j, "after_bytes", 0, 2147483647, &n, "after_bytes");
        a->after_bytes = n;
        break;
    }
    case HFS_ACT_THROTTLE: {
        int n = 0;
        if (!get(j, "bytes_per_second")) {
            say(L, 1, 0, "action throttle needs \"bytes_per_second\"");
            return -1;
        }
        rc |= load_int(L, j, "bytes_per_second", 1, 2147483647, &n, "bytes_per_second");
        a->bytes_per_second = n;
        break;
    }
    case HFS_ACT_DELAY:
        if (!get(j, "ms")) {
            say(L, 1, 0, "action delay needs \"ms\" (milliseconds)");
            return -1;
        }
        rc |= load_int(L, j, "ms", 0, 3600000, &a->ms, "ms");
        break;
    case HFS_ACT_CACHE: {
        char *miss = NULL;
        const cJSON *c;
        a->status = 403; /* a blocked miss */
        rc |= load_int(L, j, "status", 100, 599, &a->status, "status");
        rc |= load_str(L, j, "miss", &miss, 0);
        if (miss) {
            if (strcmp(miss, "block") == 0)
                a->miss_block = 1;
            else if (strcmp(miss, "next") != 0) {
                hfs_jpath_key(&L->path, "miss");
                say(L, 1, 0, "unknown miss \"%s\" (known: next, block)", miss);
                hfs_jpath_pop(&L->path);
                rc = -1;
            }
            free(miss);
        }
        if ((c = get(j, "cache_dirs"))) {
            hfs_jpath_key(&L->path, "cache_dirs");
            if (expect(L, c, cJSON_Array, "an array of folder names such as [\"$FASTEMBED_CACHE_PATH\"]")) {
                rc = -1;
            } else {
                size_t n = 0;
                for (const cJSON *d = c->child; d; d = d->next)
                    n++;
                a->cache_dirs = calloc(n + 1, sizeof *a->cache_dirs);
                int i = 0;
                for (const cJSON *d = c->child; d && a->cache_dirs; d = d->next, i++) {
                    hfs_jpath_index(&L->path, i);
                    if (expect(L, d, cJSON_String, "a folder name") == 0 && d->valuestring[0] &&
                        (d->valuestring[0] == '/' || d->valuestring[0] == '$' || d->valuestring[0] == '~'))
                        a->cache_dirs[a->ncache_dirs++] = dup_or_oom(L, d->valuestring);
                    else if (HFS_JTYPE(d) == cJSON_String)
                        say(L, 1, 0, "a cache folder must be absolute, \"$VAR...\" or \"~/...\" (got \"%s\")",
                            d->valuestring),
                            rc = -1;
                    else
                        rc = -1;
                    hfs_jpath_pop(&L->path);
                }
                if (n > 6) {
                    say(L, 1, 0, "at most 6 cache folders per rule");
                    rc = -1;
                }
            }
            hfs_jpath_pop(&L->path);
        }
        break;
    }
    }
    return rc;
}

/* "window": {"first": N, "after": N, "every": N, "probability": P, "seed": S}. */
static int load_window(struct loader *L, const cJSON *j, struct hfs_window *w)
{
    static const char *const known[] = { "first", "after", "every", "probability", "seed", NULL };
    int first = 0, after = 0, every = 0, seed = 0, rc = 0;
    const cJSON *c;
    if (expect(L, j, cJSON_Object, "an object such as {\"first\": 2} or {\"probability\": 0.3, \"seed\": 7}"))
        return -1;
    rc |= check_keys(L, j, known, "first, after, every, probability, seed", 1);
    rc |= load_int(L, j, "first", 1, 2147483647, &first, "first");
    rc |= load_int(L, j, "after", 1, 2147483647, &after, "after");
    rc |= load_int(L, j, "every", 1, 2147483647, &every, "every");
    rc |= load_int(L, j, "seed", 0, 2147483647, &seed, "seed");
    w->p = 1.0;
    if ((c = get(j, "probability"))) {
        hfs_jpath_key(&L->path, "probability");
        if (HFS_JTYPE(c) != cJSON_Number || !(c->valuedouble >= 0.0 && c->valuedouble <= 1.0)) {
            say(L, 1, 0, "probability must be a number from 0 to 1");
            rc = -1;
        } else {
            w->p = c->valuedouble;
        }
        hfs_jpath_pop(&L->path);
    }
    if (get(j, "seed") && !get(j, "probability")) {
        hfs_jpath_key(&L->path, "seed");
        say(L, 0, 0, "a seed without a probability changes nothing");
        hfs_jpath_pop(&L->path);
    }
    if (rc == 0 && !first && !after && !every && !get(j, "probability")) {
        say(L, 1, 0, "an empty window always fires (give first, after, every or probability; or leave \"window\" out)");
        rc = -1;
    }
    if (rc == 0 && first && after && first <= after) {
        say(L, 1, 0, "this window never fires: first %d is not after %d", first, after);
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
static int load_preset(struct loader *L, const cJSON *j, const cJSON *c, struct hfs_rule *rule)
{
    int id = 0, rc = 0;
    hfs_jpath_key(&L->path, "preset");
    if (expect(L, c, cJSON_String, "a preset name")) {
        hfs_jpath_pop(&L->path);
        return -1;
    }
    const struct hfs_preset *p = hfs_preset_find(c->valuestring, &id);
    if (!p) {
        say(L, 1, 0, "unknown preset \"%s\" (known presets: %s)", c->valuestring, hfs_preset_names);
        hfs_jpath_pop(&L->path);
        return -1;
    }
    hfs_jpath_pop(&L->path);
    if (get(j, "action")) {
        hfs_jpath_key(&L->path, "action");
        say(L, 1, 1, "give \"preset\" or \"action\", not both (preset %s is a %s)", p->name,
            hfs_action_name(p->action));
        hfs_jpath_pop(&L->path);
        return -1;
    }
    rule->action = p->action;
    rule->args.preset = id;
    rule->args.status = p->status;
    rule->args.retry_after = 1;
    rule->args.hang_connect = id == HFS_PRESET_FIREWALL_HANG;
    const char *takes = p->action == HFS_ACT_HANG ? "" : id == HFS_PRESET_RATE_LIMITED ? "headers, body, retry_after"
                                                                                       : "headers, body";
    for (const char *const *k = param_keys; *k; k++)
        if (get(j, *k) && !in_list(takes, *k)) {
            hfs_jpath_key(&L->path, *k);
            say(L, 1, 1, "\"%s\" does not apply to preset %s (%s%s)", *k, p->name,
                *takes ? "it takes: " : "it takes no parameters", takes);
            hfs_jpath_pop(&L->path);
            rc = -1;
        }
    if (rc)
        return rc;
    int ra = 1;
    rc |= load_int(L, j, "retry_after", 0, 86400, &ra, "retry_after");
    rule->args.retry_after = ra;
    rc |= load_resp_headers(L, j, &rule->args);
    if (get(j, "body"))
        rc |= load_body(L, j, &rule->args);
    return rc;
}

/* Connection faults act before any request is written: they can match
 * the host, port and program only. */
static int check_conn_match(struct loader *L, const struct hfs_rule *rule)
{
    const struct hfs_match *m = &rule->match;
    int conn = rule->action == HFS_ACT_REFUSE || rule->action == HFS_ACT_DNS_FAIL ||
               (rule->action == HFS_ACT_HANG && rule->args.hang_connect);
    if (!conn || !(m->methods || m->scheme || m->path || m->url || m->nheaders || m->repo || m->cached >= 0))
        return 0;
    hfs_jpath_key(&L->path, "match");
    say(L, 1, 0, "%s acts on the connection, before any request is sent: it can match host, port and program only "
                 "(for one request use respond, a preset, reset or hang)",
        rule->args.preset ? hfs_preset_get(rule->args.preset)->name : hfs_action_name(rule->action));
    hfs_jpath_pop(&L->path);
    return -1;
}

static int load_rule(struct loader *L, const cJSON *j, struct hfs_rule *rule, int idx)
{
    static const char *const known[] = { "name", "match", "action", "comment", "form", "status", "headers",
                                         "body", "body_file", "header", "value", "from_env", "from_file",
                                         "prefix", "ms", "miss", "cache_dirs", "when", "stage", "after_bytes",
                                         "bytes_per_second", "retry_after", "preset", "window", NULL };
    const cJSON *c;
    int rc = 0;
    char defname[32];
    size_t ai;
    if (expect(L, j, cJSON_Object, "a rule object {\"match\": {...}, \"action\": ...}"))
        return -1;
    rc |= check_keys(L, j, known, "name, match, action, comment and the action's parameters", 0);
    if ((c = get(j, "name"))) {
        hfs_jpath_key(&L->path, "name");
        if (expect(L, c, cJSON_String, "a string") == 0 && has_control(c->valuestring))
            say(L, 1, 0, "control character in a rule name"), rc = -1;
        else if (HFS_JTYPE(c) == cJSON_String && c->valuestring[0])
            rule->name = dup_or_oom(L, c->valuestring);
        else if (HFS_JTYPE(c) == cJSON_String)
            say(L, 1, 0, "empty rule name (leave \"name\" out to use \"rules[%d]\")", idx), rc = -1;
        else
            rc = -1;
        hfs_jpath_pop(&L->path);
    }
    if (!rule->name && rc == 0) {
        snprintf(defname, sizeof defname, "rules[%d]", idx);
        rule->name = dup_or_oom(L, defname);
    }
    rule->match.cached = -1;
    if ((c = get(j, "match"))) {
        hfs_jpath_key(&L->path, "match");
        rc |= load_match(L, c, &rule->match);
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(j, "window"))) {
        hfs_jpath_key(&L->path, "window");
        rc |= load_window(L, c, &rule->window);
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(j, "preset"))) {
        rc |= load_preset(L, j, c, rule);
        return rc | check_conn_match(L, rule);
    }
    if (!(c = get(j, "action"))) {
        say(L, 1, 0, "missing \"action\" (one of: " ACTION_LIST "; or a \"preset\": %s)", hfs_preset_names);
        return -1;
    }
    hfs_jpath_key(&L->path, "action");
    if (expect(L, c, cJSON_String, "an action name such as \"allow\" or \"block\"")) {
        hfs_jpath_pop(&L->path);
        return -1;
    }
    for (ai = 0; ai < sizeof actions / sizeof actions[0]; ai++)
        if (strcmp(c->valuestring, actions[ai].name) == 0)
            break;
    if (ai == sizeof actions / sizeof actions[0]) {
        say(L, 1, 0, "unknown action \"%s\" (known actions: " ACTION_LIST ")", c->valuestring);
        hfs_jpath_pop(&L->path);
        return -1;
    }
    rule->action = actions[ai].kind;
    hfs_jpath_pop(&L->path);
    rc |= load_action_args(L, j, rule, actions[ai].takes);
    if (get(j, "retry_after") && rc == 0) {
        hfs_jpath_key(&L->path, "retry_after");
        say(L, 1, 1, "\"retry_after\" belongs to the preset rate-limited (use a \"Retry-After\" header with respond)");
        hfs_jpath_pop(&L->path);
        rc = -1;
    }
    return rc | check_conn_match(L, rule);
}

static int load_rules_array(struct loader *L, const cJSON *j)
{
    int n = 0, i = 0, rc = 0, catchall = -1;
    if (expect(L, j, cJSON_Array, "an array of rules"))
        return -1;
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
        if (load_rule(L, c, rule, i)) {
            rc = -1;
        } else {
            for (size_t k = 0; k < base + (size_t)i; k++)
                if (L->r->rules[k].name && strcmp(L->r->rules[k].name, rule->name) == 0) {
                    if (k >= base)
                        say(L, 0, 0, "rule name \"%s\" is also used by rules[%d]; log lines will not tell them apart",
                            rule->name, (int)(k - base));
                    else
                        say(L, 0, 0, "rule name \"%s\" is also used by an included rule; log lines will not tell "
                                     "them apart",
                            rule->name);
                    break;
                }
            if (catchall >= 0)
                say(L, 0, 0, "this rule can never match: rules[%d] (\"%s\") before it matches every request",
                    catchall, L->r->rules[base + (size_t)catchall].name);
            else if (match_is_empty(&rule->match) && !hfs_action_is_modifier(rule->action) &&
                     !(rule->action == HFS_ACT_CACHE && !rule->args.miss_block) && !rule->window.present &&
                     rule->action != HFS_ACT_REFUSE && rule->action != HFS_ACT_DNS_FAIL &&
                     !(rule->action == HFS_ACT_HANG && rule->args.hang_connect))
                catchall = i; /* a modifier (or a cache rule whose misses go on) lets evaluation go on */
        }
        hfs_jpath_pop(&L->path);
    }
    return rc;
}

/* "destination" and "audit": absolute paths (a policy must not depend on
 * the program's working directory); "destination" may be stderr or off. */
static int load_log_path(struct loader *L, const cJSON *j, const char *key, int allow_words, char **out)
{
    const cJSON *c = get(j, key);
    int rc = 0;
    if (!c)
        return 0;
    hfs_jpath_key(&L->path, key);
    if (expect(L, c, cJSON_String, allow_words ? "\"stderr\", \"off\" or an absolute path" : "an absolute path")) {
        rc = -1;
    } else if (!(allow_words && (strcmp(c->valuestring, "stderr") == 0 || strcmp(c->valuestring, "off") == 0)) &&
               c->valuestring[0] != '/') {
        say(L, 1, 0, "\"%s\" is not an absolute path%s", c->valuestring, allow_words ? " (nor stderr or off)" : "");
        rc = -1;
    } else if (strlen(c->valuestring) >= 1024) {
        say(L, 1, 0, "the path is longer than 1023 bytes");
        rc = -1;
    } else if (!(*out = strdup(c->valuestring))) {
        rc = -1;
    }
    hfs_jpath_pop(&L->path);
    return rc;
}

static int load_log(struct loader *L, const cJSON *j)
{
    static const char *const known[] = { "format", "destination", "audit", NULL };
    const cJSON *c;
    int rc = 0;
    if (expect(L, j, cJSON_Object, "an object such as {\"format\": \"json\"}"))
        return -1;
    rc |= check_keys(L, j, known, "format, destination, audit", 0);
    if ((c = get(j, "format"))) {
        hfs_jpath_key(&L->path, "format");
        if (expect(L, c, cJSON_String, "\"text\" or \"json\"")) {
            rc = -1;
        } else if (strcmp(c->valuestring, "text") == 0 || strcmp(c->valuestring, "json") == 0) {
            L->r->log_format = c->valuestring[0] == 'j' ? HFS_LOG_JSON : HFS_LOG_TEXT;
            L->r->log_format_set = 1;
        } else {
            say(L, 1, 0, "unknown log format \"%s\" (use \"text\" or \"json\")", c->valuestring);
            rc = -1;
        }
        hfs_jpath_pop(&L->path);
    }
    rc |= load_log_path(L, j, "destination", 1, &L->r->log_dest);
    rc |= load_log_path(L, j, "audit", 0, &L->r->audit_path);
    return rc;
}

static int load_bool(struct loader *L, const cJSON *j, const char *key, int *out)
{
    const cJSON *c = get(j, key);
    int rc = 0;
    if (!c)
        return 0;
    hfs_jpath_key(&L->path, key);
    if (expect(L, c, cJSON_True, "true or false") == 0)
        *out = HFS_JTYPE(c) == cJSON_True;
    else
        rc = -1;
    hfs_jpath_pop(&L->path);
    return rc;
}

/* "tokens": the token policy (rules/README.md §5). */
static int load_tokens(struct loader *L, const cJSON *j)
{
    static const char *const known[] = { "format", "deny", "learn", "retry", "state_file", "hosts", "validate",
                                         "validate_ttl", "xet", "comment", NULL };
    struct hfs_token_policy *t = &L->r->tokens;
    const cJSON *c;
    int rc = 0;
    if (expect(L, j, cJSON_Object, "an object such as {\"learn\": true}"))
        return -1;
    if (t->present) {
        say(L, 1, 0, "a \"tokens\" section is already set (by an included file or this one): keep one");
        return -1;
    }
    t->present = 1;
    t->learn = 1;
    t->retry = 1;
    t->validate_ttl = 86400;
    rc |= check_keys(L, j, known, "format, deny, learn, retry, state_file, hosts, validate, validate_ttl, xet, comment",
                     0);
    if ((c = get(j, "format"))) {
        hfs_jpath_key(&L->path, "format");
        rc |= load_regex(L, c, &t->format, 0);
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(j, "deny"))) {
        hfs_jpath_key(&L->path, "deny");
        if (expect(L, c, cJSON_Array, "an array of SHA-256 hex prefixes (hfshim doctor prints them)")) {
            rc = -1;
        } else {
            size_t n = 0;
            int i = 0;
            for (const cJSON *d = c->child; d; d = d->next)
                n++;
            t->deny = calloc(n + 1, sizeof *t->deny);
            for (const cJSON *d = c->child; d && t->deny; d = d->next, i++) {
                hfs_jpath_index(&L->path, i);
                if (expect(L, d, cJSON_String, "a hex string")) {
                    rc = -1;
                } else {
                    const char *v = d->valuestring;
                    size_t l = strlen(v), k;
                    if (l > 7 && strncmp(v, "sha256:", 7) == 0)
                        v += 7, l -= 7;
                    for (k = 0; k < l && strchr("0123456789abcdefABCDEF", v[k]); k++)
                        ;
                    if (k != l || l < 8 || l > 64) {
                        say(L, 1, 0, "a deny entry is 8 to 64 hex digits of the token's SHA-256 (never the token "
                                     "itself), got %zu characters",
                            strlen(d->valuestring));
                        rc = -1;
                    } else if ((t->deny[t->ndeny] = dup_or_oom(L, v))) {
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
    rc |= load_bool(L, j, "learn", &t->learn);
    rc |= load_bool(L, j, "retry", &t->retry);
    rc |= load_bool(L, j, "validate", &t->validate);
    rc |= load_int(L, j, "validate_ttl", 60, 31 * 86400, &t->validate_ttl, "validate_ttl (seconds)");
    if ((c = get(j, "state_file"))) {
        hfs_jpath_key(&L->path, "state_file");
        if (expect(L, c, cJSON_String, "a file name") == 0 && c->valuestring[0] &&
            strchr("/$~", c->valuestring[0]) && !has_ctl(c->valuestring, strlen(c->valuestring)))
            t->state_file = dup_or_oom(L, c->valuestring);
        else if (HFS_JTYPE(c) == cJSON_String)
            say(L, 1, 0, "the state file must be absolute, \"$VAR/...\" or \"~/...\" (got \"%s\")", c->valuestring),
                rc = -1;
        else
            rc = -1;
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(j, "hosts"))) {
        hfs_jpath_key(&L->path, "hosts");
        rc |= load_hostpat_array(L, c, &t->hosts, &t->nhosts);
        hfs_jpath_pop(&L->path);
    }
    if (t->validate && !t->state_file && rc == 0) {
        hfs_jpath_key(&L->path, "validate");
        say(L, 0, 1, "validate needs a state_file: the verdicts hfshim run gets are kept there for the library");
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(j, "xet"))) {
        hfs_jpath_key(&L->path, "xet");
        if (HFS_JTYPE(c) == cJSON_String && strcmp(c->valuestring, "keep") == 0)
            t->keep_xet = 1;
        else if (HFS_JTYPE(c) == cJSON_String && strcmp(c->valuestring, "disable") == 0)
            t->keep_xet = 0;
        else
            say(L, 1, 0, "xet is \"disable\" (the default: HF_HUB_DISABLE_XET=1) or \"keep\""), rc = -1;
        hfs_jpath_pop(&L->path);
    }
    return rc;
}

static int load_top(struct loader *L, const cJSON *root);

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

/* "include": other rules files, loaded first (rules/README.md §2.1). */
static int load_includes(struct loader *L, const cJSON *j)
{
    int rc = 0, i = 0;
    if (expect(L, j, cJSON_Array, "an array of rules file names such as [\"token-hygiene.json\"]"))
        return -1;
    for (const cJSON *c = j->child; c; c = c->next, i++) {
        char path[4096];
        const char *why = NULL;
        size_t len = 0, off;
        int line, col;
        hfs_jpath_index(&L->path, i);
        if (expect(L, c, cJSON_String, "a file name")) {
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
            say(L, 1, 0, "includes nest more than 4 deep (an include loop?)");
        } else if (!c->valuestring[0] || has_ctl(c->valuestring, strlen(c->valuestring))) {
            say(L, 1, 0, "empty or invalid file name");
        } else if (add_include_path(L->r, path) || !(text = hfs_file_read(path, 0, MAX_RULES_FILE, &len, &why))) {
            say(L, 1, 0, "cannot read %s: %s", path, why ? why : "out of memory");
        } else if (hfs_json_validate(text, len, &off, &why)) {
            hfs_json_linecol(text, len, off, &line, &col);
            hfs_diag_report(L->d, 1, "%s:%d:%d: %s", path, line, col, why);
        } else {
            const struct hfs_cjson *J = hfs_cjson();
            cJSON *sub = J ? J->ParseWithLengthOpts(text, len, NULL, 0) : NULL;
            struct loader S = { path, text, len, L->d, { 0 }, L->r, L->depth + 1 };
            if (!sub) {
                hfs_diag_report(L->d, 1, "%s: the JSON could not be parsed", path);
                rc = -1;
            } else {
                rc |= load_top(&S, sub);
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

/* "reach": when a Hub host counts as unreachable (rules/README.md §4.3). */
static int load_reach(struct loader *L, const cJSON *j)
{
    static const char *const known[] = { "learn", "resolve_ms", "connect_ms", "handshake_ms", "first_byte_ms",
                                         "remember_s", "state_file", "offline_variables", "comment", NULL };
    struct hfs_reach_policy *p = &L->r->reach;
    const cJSON *c;
    int rc = 0;
    if (expect(L, j, cJSON_Object, "an object such as {\"connect_ms\": 1500}"))
        return -1;
    rc |= check_keys(L, j, known,
                     "learn, resolve_ms, connect_ms, handshake_ms, first_byte_ms, remember_s, state_file, "
                     "offline_variables, comment",
                     0);
    rc |= load_bool(L, j, "learn", &p->learn);
    rc |= load_int(L, j, "resolve_ms", 1000, 30000, &p->resolve_ms, "resolve_ms (milliseconds, whole seconds used)");
    rc |= load_int(L, j, "connect_ms", 100, 600000, &p->connect_ms, "connect_ms (milliseconds)");
    rc |= load_int(L, j, "handshake_ms", 100, 600000, &p->handshake_ms, "handshake_ms (milliseconds)");
    rc |= load_int(L, j, "first_byte_ms", 100, 600000, &p->first_byte_ms, "first_byte_ms (milliseconds)");
    rc |= load_int(L, j, "remember_s", 1, 86400, &p->remember_s, "remember_s (seconds)");
    if ((c = get(j, "state_file"))) {
        hfs_jpath_key(&L->path, "state_file");
        if (HFS_JTYPE(c) == cJSON_NULL) {
            free(p->state_file);
            p->state_file = NULL;
        } else if (expect(L, c, cJSON_String, "a file name or null") == 0 && c->valuestring[0] &&
                   strchr("/$~", c->valuestring[0]) && !has_ctl(c->valuestring, strlen(c->valuestring))) {
            free(p->state_file);
            p->state_file = dup_or_oom(L, c->valuestring);
        } else if (HFS_JTYPE(c) == cJSON_String) {
            say(L, 1, 0, "the state file must be absolute, \"$VAR/...\" or \"~/...\" (got \"%s\")", c->valuestring);
            rc = -1;
        } else {
            rc = -1;
        }
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(j, "offline_variables"))) {
        hfs_jpath_key(&L->path, "offline_variables");
        if (HFS_JTYPE(c) == cJSON_String && strcmp(c->valuestring, "hub-unreachable") == 0)
            p->offline_variables = 1;
        else if (HFS_JTYPE(c) == cJSON_String && strcmp(c->valuestring, "library") == 0)
            p->offline_variables = 0;
        else
            say(L, 1, 0, "offline_variables is \"hub-unreachable\" (the default) or \"library\""), rc = -1;
        hfs_jpath_pop(&L->path);
    }
    return rc;
}

static int load_top(struct loader *L, const cJSON *root)
{
    static const char *const known[] = { "version", "offline", "hub_hosts", "env", "rules", "children", "log",
                                         "comment", "tokens", "include", "locked", "reach", NULL };
    static const char *const sub_only[] = { "offline", "hub_hosts", "children", "log", "locked", "reach", NULL };
    const cJSON *c;
    int rc = 0;
    if (HFS_JTYPE(root) != cJSON_Object) {
        say(L, 1, 0, "expected an object {\"version\": 1, ...}, found %s", type_name(root));
        return -1;
    }
    rc |= check_keys(L, root, known,
                     "version, offline, hub_hosts, env, rules, children, log, comment, tokens, include, locked, reach",
                     0);
    for (const char *const *k = sub_only; *k && L->depth; k++)
        if (get(root, *k)) { /* what a whole run is (offline, Hub hosts...) is the named file's to say */
            hfs_jpath_key(&L->path, *k);
            say(L, 1, 1, "\"%s\" is not allowed in an included file (only tokens, env, rules, include)", *k);
            hfs_jpath_pop(&L->path);
            rc = -1;
        }
    if ((c = get(root, "include"))) {
        hfs_jpath_key(&L->path, "include");
        rc |= load_includes(L, c);
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(root, "tokens"))) {
        hfs_jpath_key(&L->path, "tokens");
        rc |= load_tokens(L, c);
        hfs_jpath_pop(&L->path);
    }
    if (!(c = get(root, "version"))) {
        say(L, 1, 0, "missing \"version\" (write \"version\": 1 first)");
        rc = -1;
    } else {
        hfs_jpath_key(&L->path, "version");
        if (HFS_JTYPE(c) != cJSON_Number) {
            say(L, 1, 0, "expected the number 1, found %s", type_name(c));
            rc = -1;
        } else if (c->valuedouble != 1) {
            say(L, 1, 0, "unsupported version %g (this hfshim reads version 1)", c->valuedouble);
            rc = -1;
        }
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(root, "offline"))) {
        hfs_jpath_key(&L->path, "offline");
        if (HFS_JTYPE(c) == cJSON_String && strcmp(c->valuestring, "variables") == 0)
            L->r->offline = HFS_OFFLINE_VARIABLES;
        else if (HFS_JTYPE(c) == cJSON_String) {
            say(L, 1, 0, "unknown offline mode \"%s\" (use true, false or \"variables\")", c->valuestring);
            rc = -1;
        } else if (expect(L, c, cJSON_True, "true, false or \"variables\"") == 0)
            L->r->offline = HFS_JTYPE(c) == cJSON_True ? HFS_OFFLINE_ANSWER : 0;
        else
            rc = -1;
        hfs_jpath_pop(&L->path);
    }
    rc |= load_bool(L, root, "locked", &L->r->locked);
    if ((c = get(root, "reach"))) {
        hfs_jpath_key(&L->path, "reach");
        rc |= load_reach(L, c);
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(root, "children"))) {
        hfs_jpath_key(&L->path, "children");
        if (expect(L, c, cJSON_True, "true or false") == 0)
            L->r->children = HFS_JTYPE(c) == cJSON_True;
        else
            rc = -1;
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(root, "hub_hosts"))) {
        hfs_jpath_key(&L->path, "hub_hosts");
        rc |= load_hub_hosts(L, c);
        hfs_jpath_pop(&L->path);
    } else if (!L->depth) {
        for (const char *const *h = hfs_default_hub_hosts; *h; h++)
            rc |= hfs_rules_add_hub(L->r, *h);
    }
    if ((c = get(root, "env"))) {
        hfs_jpath_key(&L->path, "env");
        rc |= load_env(L, c);
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(root, "log"))) {
        hfs_jpath_key(&L->path, "log");
        rc |= load_log(L, c);
        hfs_jpath_pop(&L->path);
    }
    if ((c = get(root, "rules"))) {
        hfs_jpath_key(&L->path, "rules");
        rc |= load_rules_array(L, c);
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
    r->reach = (struct hfs_reach_policy){ .learn = 1, .resolve_ms = 1000, .connect_ms = 1500, .handshake_ms = 1500,
                                          .first_byte_ms = 2000, .remember_s = 60, .offline_variables = 1 };
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
    struct loader L = { name, text, len, d, { 0 }, NULL, 0 };
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
        hfs_diag_report(d, 1, "%s: cannot read rules: libcjson.so.1 could not be loaded", name);
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
    char *buf = hfs_file_read(path, 0, MAX_RULES_FILE, &got, &why);
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

static void free_match(struct hfs_match *m)
{
    if (m->host) {
        hfs_hostpat_free(m->host);
        free(m->host);
    }
    for (size_t i = 0; i < m->nmethods; i++)
        free(m->methods[i]);
    free(m->methods);
    free(m->ports);
    free(m->scheme);
    hfs_re_free(m->path);
    hfs_re_free(m->url);
    hfs_re_free(m->repo);
    for (size_t i = 0; i < m->nheaders; i++) {
        free(m->headers[i].name);
        hfs_re_free(m->headers[i].re);
    }
    free(m->headers);
    for (size_t i = 0; i < m->nprograms; i++)
        free(m->programs[i]);
    free(m->programs);
}

void hfs_rule_free(struct hfs_rule *rule)
{
    struct hfs_action_args *a = &rule->args;
    free(rule->name);
    free_match(&rule->match);
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
