/* rules_match: a rule's "match" object (host, method, port, scheme, path,
 * url, header, repo, cached, program): read, checked (an unknown key is an
 * error here, since a misspelt condition would widen the rule) and freed.
 * What a match means for a request is decide.c's. */
#include "rules_match.h"

#include <stdlib.h>
#include <string.h>

#include "hostpat.h"
#include "regex.h"
#include "rules_keys.h"

static int valid_method(const char *m)
{
    if (!*m)
        return 0;
    for (; *m; m++)
        if (!((*m >= 'A' && *m <= 'Z') || *m == '-' || *m == '_'))
            return 0;
    return 1;
}

unsigned hfs_method_bit(const char *method)
{
    static const char *const common[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS" };
    for (unsigned i = 0; method && i < sizeof common / sizeof common[0]; i++)
        if (strcmp(method, common[i]) == 0)
            return 1u << i;
    return HFS_METHOD_OTHER;
}

static int load_methods(struct hfs_rload *L, const cJSON *j, struct hfs_match *m)
{
    const cJSON *single[1] = { j };
    int n = 0, i = 0, arr = HFS_JTYPE(j) == cJSON_Array;
    if (!arr && HFS_JTYPE(j) != cJSON_String) {
        hfs_rj_say(L, 1, 0, "expected a method such as \"GET\" or an array of methods, found %s", hfs_rj_type_name(j));
        return -1;
    }
    for (const cJSON *c = arr ? j->child : single[0]; c; c = arr ? c->next : NULL)
        n++;
    if (n == 0) {
        hfs_rj_say(L, 1, 0, "empty list of methods (leave \"method\" out to match any method)");
        return -1;
    }
    m->methods = calloc((size_t)n, sizeof *m->methods);
    if (!m->methods)
        return -1;
    for (const cJSON *c = arr ? j->child : single[0]; c; c = arr ? c->next : NULL, i++) {
        if (arr)
            hfs_jpath_index(&L->path, i);
        int bad = hfs_rj_expect(L, c, cJSON_String, "a method name (string)");
        if (!bad && !valid_method(c->valuestring)) {
            hfs_rj_say(L, 1, 0, "invalid method \"%s\" (HTTP methods are upper-case words such as \"GET\" or \"POST\")",
                       c->valuestring);
            bad = 1;
        }
        if (arr)
            hfs_jpath_pop(&L->path);
        if (bad)
            return -1;
        if (!(m->methods[m->nmethods++] = hfs_rj_dup(L, c->valuestring)))
            return -1;
        m->method_mask |= hfs_method_bit(c->valuestring);
    }
    return 0;
}

static int load_port_value(struct hfs_rload *L, const cJSON *c, int *out)
{
    if (HFS_JTYPE(c) != cJSON_Number) {
        hfs_rj_say(L, 1, 0, "expected a port number, found %s", hfs_rj_type_name(c));
        return -1;
    }
    /* range first: converting an out-of-range double to int is undefined */
    if (!(c->valuedouble >= 1 && c->valuedouble <= 65535) || c->valuedouble != (double)(int)c->valuedouble) {
        hfs_rj_say(L, 1, 0, "port must be a whole number from 1 to 65535");
        return -1;
    }
    *out = (int)c->valuedouble;
    return 0;
}

static int load_ports(struct hfs_rload *L, const cJSON *j, struct hfs_match *m)
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
        hfs_rj_say(L, 1, 0, "empty list of ports (leave \"port\" out to match any port)");
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

static int load_headers(struct hfs_rload *L, const cJSON *j, struct hfs_match *m)
{
    int n = 0, rc = 0;
    if (hfs_rj_expect(L, j, cJSON_Object, "an object of \"Header-Name\": \"regex\" pairs"))
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
            hfs_rj_say(L, 1, 1, "invalid header name \"%s\"", c->string);
            rc = -1;
        } else if (hfs_rj_regex(L, c, &h->re, 0) == 0) {
            h->name = hfs_rj_dup(L, c->string);
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
static int load_programs(struct hfs_rload *L, const cJSON *c, struct hfs_match *m)
{
    size_t n = HFS_JTYPE(c) == cJSON_String ? 1 : 0;
    if (HFS_JTYPE(c) == cJSON_Array)
        for (const cJSON *e = c->child; e; e = e->next)
            n++;
    else if (HFS_JTYPE(c) != cJSON_String)
        return hfs_rj_expect(L, c, cJSON_Array, "a program name or an array of names such as [\"python3\", \"curl\"]");
    if (n == 0) {
        hfs_rj_say(L, 1, 0, "an empty program list never matches (leave \"program\" out to match every program)");
        return -1;
    }
    m->programs = calloc(n, sizeof *m->programs);
    if (!m->programs)
        return -1;
    int rc = 0, i = 0;
    for (const cJSON *e = HFS_JTYPE(c) == cJSON_String ? c : c->child; e && m->nprograms < n; e = e->next, i++) {
        if (HFS_JTYPE(c) == cJSON_Array)
            hfs_jpath_index(&L->path, i);
        if (hfs_rj_expect(L, e, cJSON_String, "a program name") == 0 && e->valuestring[0] &&
            !strchr(e->valuestring, '/'))
            m->programs[m->nprograms++] = hfs_rj_dup(L, e->valuestring);
        else if (HFS_JTYPE(e) == cJSON_String)
            hfs_rj_say(L, 1, 0, "a program name is the short name without folders (got \"%s\")", e->valuestring),
                rc = -1;
        else
            rc = -1;
        if (HFS_JTYPE(c) == cJSON_Array)
            hfs_jpath_pop(&L->path);
        if (HFS_JTYPE(c) == cJSON_String)
            break;
    }
    return rc;
}

int hfs_match_load(struct hfs_rload *L, const cJSON *j, struct hfs_match *m)
{
    const cJSON *c;
    int rc = 0;
    m->cached = -1;
    if (hfs_rj_expect(L, j, cJSON_Object, "an object (use {} to match everything)"))
        return -1;
    rc |= hfs_rj_check_keys(L, j, hfs_keys_match,
                            "host, method, port, scheme, path, url, header, repo, cached, program", 1);
    if ((c = hfs_rj_get(j, "host"))) {
        hfs_jpath_key(&L->path, "host");
        if (HFS_JTYPE(c) == cJSON_String && strcmp(c->valuestring, "@hub") == 0) {
            m->hub = 1;
        } else if (HFS_JTYPE(c) == cJSON_String && c->valuestring[0] == '@') {
            hfs_rj_say(L, 1, 0, "unknown host group \"%s\" (the only group is \"@hub\")", c->valuestring);
            rc = -1;
        } else {
            m->host = calloc(1, sizeof *m->host);
            if (!m->host || hfs_rj_hostpat(L, c, m->host)) {
                free(m->host);
                m->host = NULL;
                rc = -1;
            }
        }
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(j, "method"))) {
        hfs_jpath_key(&L->path, "method");
        rc |= load_methods(L, c, m);
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(j, "port"))) {
        hfs_jpath_key(&L->path, "port");
        rc |= load_ports(L, c, m);
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(j, "scheme"))) {
        hfs_jpath_key(&L->path, "scheme");
        if (hfs_rj_expect(L, c, cJSON_String, "\"http\" or \"https\"") == 0 && strcmp(c->valuestring, "http") != 0 &&
            strcmp(c->valuestring, "https") != 0) {
            hfs_rj_say(L, 1, 0, "unknown scheme \"%s\" (use \"http\" or \"https\")", c->valuestring);
            rc = -1;
        } else if (HFS_JTYPE(c) != cJSON_String) {
            rc = -1;
        } else {
            m->scheme = hfs_rj_dup(L, c->valuestring);
        }
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(j, "path"))) {
        hfs_jpath_key(&L->path, "path");
        rc |= hfs_rj_regex(L, c, &m->path, 0);
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(j, "url"))) {
        hfs_jpath_key(&L->path, "url");
        rc |= hfs_rj_regex(L, c, &m->url, 0);
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(j, "header"))) {
        hfs_jpath_key(&L->path, "header");
        rc |= load_headers(L, c, m);
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(j, "repo"))) {
        hfs_jpath_key(&L->path, "repo");
        rc |= hfs_rj_regex(L, c, &m->repo, 0);
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(j, "program"))) {
        hfs_jpath_key(&L->path, "program");
        rc |= load_programs(L, c, m);
        hfs_jpath_pop(&L->path);
    }
    if ((c = hfs_rj_get(j, "cached"))) {
        hfs_jpath_key(&L->path, "cached");
        if (hfs_rj_expect(L, c, cJSON_True, "true or false") == 0)
            m->cached = HFS_JTYPE(c) == cJSON_True;
        else
            rc = -1;
        hfs_jpath_pop(&L->path);
    }
    return rc;
}

int hfs_match_is_empty(const struct hfs_match *m)
{
    return !m->hub && !m->host && !m->methods && !m->ports && !m->scheme && !m->path && !m->url && !m->nheaders &&
           !m->repo && m->cached < 0 && !m->programs;
}

void hfs_match_free(struct hfs_match *m)
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
