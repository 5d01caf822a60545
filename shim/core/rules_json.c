/* rules_json: position-aware JSON reading for the rules loader: every
 * message names file:line:col (found by jsonpos in the text, since cJSON
 * keeps no positions) and the JSON path, and the typed readers of one
 * value say exactly what is wrong with it. */
#include "rules_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostpat.h"
#include "http1.h"
#include "regex.h"

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
void hfs_rj_say(struct hfs_rload *L, int is_error, int at_key, const char *fmt, ...)
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

const char *hfs_rj_type_name(const cJSON *j)
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

int hfs_rj_expect(struct hfs_rload *L, const cJSON *j, int type, const char *what)
{
    int t = HFS_JTYPE(j);
    if (t == type || (type == cJSON_True && t == cJSON_False))
        return 0;
    hfs_rj_say(L, 1, 0, "expected %s, found %s", what, hfs_rj_type_name(j));
    return -1;
}

/* Duplicate keys are errors, unknown ones warnings (errors with strict). */
int hfs_rj_check_keys(struct hfs_rload *L, const cJSON *obj, const char *const *known, const char *hint, int strict)
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
            hfs_rj_say(L, 1, 1, "duplicate key (each key may appear once)");
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
                hfs_rj_say(L, 1, 1,
                           "unknown match key (known: %s); a misspelt condition would make the rule match more "
                           "than meant",
                           hint);
                rc = -1;
            } else {
                hfs_rj_say(L, 0, 1, "unknown key (ignored; known keys here: %s)", hint);
            }
            hfs_jpath_pop(&L->path);
        }
    }
    return rc;
}

const cJSON *hfs_rj_get(const cJSON *obj, const char *key)
{
    for (const cJSON *c = obj->child; c; c = c->next)
        if (strcmp(c->string, key) == 0)
            return c;
    return NULL;
}

char *hfs_rj_dup(struct hfs_rload *L, const char *s)
{
    char *d = strdup(s);
    if (!d)
        hfs_rj_say(L, 1, 0, "out of memory");
    return d;
}

/* A control character (C0 or DEL) in s: 1. */
int hfs_rj_has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

int hfs_rj_has_crlf(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\r' || s[i] == '\n' || s[i] == 0)
            return 1;
    return 0;
}

int hfs_rj_env_name_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s == '=' || (unsigned char)*s < 0x21)
            return 0;
    return 1;
}

int hfs_rj_header_name_ok(const char *s)
{
    return hfs_http1_is_token(s, strlen(s)); /* the HTTP parser's own token rule */
}

/* A string parameter; *out strdup'ed, checked as check says. */
int hfs_rj_str(struct hfs_rload *L, const cJSON *j, const char *key, char **out, enum hfs_rj_check check)
{
    const cJSON *c = hfs_rj_get(j, key);
    int rc = 0;
    if (!c)
        return 0;
    hfs_jpath_key(&L->path, key);
    if (hfs_rj_expect(L, c, cJSON_String, "a string")) {
        rc = -1;
    } else if (check == HFS_RJ_HEADER_NAME && !hfs_rj_header_name_ok(c->valuestring)) {
        hfs_rj_say(L, 1, 0, "invalid header name \"%s\"", c->valuestring), rc = -1;
    } else if (check == HFS_RJ_NO_CRLF && hfs_rj_has_crlf(c->valuestring, strlen(c->valuestring))) {
        hfs_rj_say(L, 1, 0, "line breaks are not allowed here"), rc = -1;
    } else if (check == HFS_RJ_ENV_NAME && !hfs_rj_env_name_ok(c->valuestring)) {
        hfs_rj_say(L, 1, 0, "invalid environment variable name \"%s\"", c->valuestring), rc = -1;
    } else if (check == HFS_RJ_NON_EMPTY && !c->valuestring[0]) {
        hfs_rj_say(L, 1, 0, "empty string"), rc = -1;
    } else if (!(*out = hfs_rj_dup(L, c->valuestring))) {
        rc = -1;
    }
    hfs_jpath_pop(&L->path);
    return rc;
}

int hfs_rj_int(struct hfs_rload *L, const cJSON *j, const char *key, int lo, int hi, int *out, const char *what)
{
    const cJSON *c = hfs_rj_get(j, key);
    int rc = 0;
    if (!c)
        return 0;
    hfs_jpath_key(&L->path, key);
    if (HFS_JTYPE(c) != cJSON_Number || !(c->valuedouble >= lo && c->valuedouble <= hi) ||
        c->valuedouble != (double)(int)c->valuedouble) {
        hfs_rj_say(L, 1, 0, "%s must be a whole number from %d to %d", what, lo, hi);
        rc = -1;
    } else {
        *out = (int)c->valuedouble;
    }
    hfs_jpath_pop(&L->path);
    return rc;
}

int hfs_rj_bool(struct hfs_rload *L, const cJSON *j, const char *key, int *out)
{
    const cJSON *c = hfs_rj_get(j, key);
    int rc = 0;
    if (!c)
        return 0;
    hfs_jpath_key(&L->path, key);
    if (hfs_rj_expect(L, c, cJSON_True, "true or false") == 0)
        *out = HFS_JTYPE(c) == cJSON_True;
    else
        rc = -1;
    hfs_jpath_pop(&L->path);
    return rc;
}

int hfs_rj_regex(struct hfs_rload *L, const cJSON *j, struct hfs_re **out, int caseless)
{
    char err[300];
    if (hfs_rj_expect(L, j, cJSON_String, "a regular expression (string)"))
        return -1;
    *out = hfs_re_compile(j->valuestring, caseless, err, sizeof err);
    if (!*out) {
        hfs_rj_say(L, 1, 0, "invalid regex: %s", err);
        return -1;
    }
    if (hfs_re_risky(j->valuestring))
        hfs_rj_say(L, 0, 0,
                   "this regex can backtrack badly (a repeated group that itself repeats): on a long subject "
                   "the engine may give up, and a block or strip rule then counts as a match");
    return 0;
}

int hfs_rj_hostpat(struct hfs_rload *L, const cJSON *j, struct hfs_hostpat *out)
{
    char err[400];
    if (hfs_rj_expect(L, j, cJSON_String, "a host pattern (string)"))
        return -1;
    if (hfs_rj_has_control(j->valuestring)) {
        hfs_rj_say(L, 1, 0, "control character in a host pattern");
        return -1;
    }
    if (hfs_hostpat_compile(out, j->valuestring, err, sizeof err)) {
        hfs_rj_say(L, 1, 0, "%s", err);
        return -1;
    }
    return 0;
}

/* An array of host patterns into *out (grown), *n counting them. */
int hfs_rj_hostpats(struct hfs_rload *L, const cJSON *j, struct hfs_hostpat **out, size_t *n)
{
    int i = 0, rc = 0;
    size_t count = 0;
    if (hfs_rj_expect(L, j, cJSON_Array, "an array of host patterns"))
        return -1;
    for (const cJSON *c = j->child; c; c = c->next)
        count++;
    struct hfs_hostpat *a = realloc(*out, (*n + count + 1) * sizeof *a);
    if (!a)
        return -1;
    *out = a;
    for (const cJSON *c = j->child; c; c = c->next, i++) {
        hfs_jpath_index(&L->path, i);
        if (hfs_rj_hostpat(L, c, &a[*n]) == 0)
            (*n)++;
        else
            rc = -1;
        hfs_jpath_pop(&L->path);
    }
    return rc;
}
