/* edits: strip-header/set-header resolution and application (see header). */
#include "edits.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "actions.h"
#include "regex.h"

static int has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
            return 1;
    return 0;
}

size_t hfs_edits_resolve(const struct hfs_verdict *v, const struct hfs_value_source *src, struct hfs_hdr_edit *out,
                         size_t cap, char *buf, size_t buflen)
{
    size_t n = 0, used = 0;
    for (size_t i = 0; i < v->nedits && n < cap; i++) {
        const struct hfs_rule *r = v->edits[i];
        struct hfs_hdr_edit *e = &out[n];
        memset(e, 0, sizeof *e);
        e->name = r->args.header;
        e->rule = r;
        const struct hfs_action *a = hfs_action_of(r->action);
        if (a && a->edit == HFS_EDIT_STRIP) { /* strip-header, strip-auth */
            e->remove = 1;
            e->value_re = r->args.value_re;
            n++;
            continue;
        }
        /* set-header: prefix + value, into buf */
        const char *why = NULL, *val = NULL;
        char *dst = buf + used;
        size_t room = buflen > used ? buflen - used : 0, plen = r->args.prefix ? strlen(r->args.prefix) : 0;
        long vlen = -1;
        if (room < plen + 2) {
            why = "no room for the value";
        } else if (r->args.from_env) {
            val = src && src->env ? src->env(src->ctx, r->args.from_env) : NULL;
            if (!val || !*val)
                why = "the variable is not set";
            else if ((vlen = (long)strlen(val)) >= (long)(room - plen))
                why = "the value is too long";
            else
                memcpy(dst + plen, val, (size_t)vlen);
        } else if (r->args.from_file) {
            vlen = src && src->file ? src->file(src->ctx, r->args.from_file, dst + plen, room - plen) : -1;
            if (vlen < 0)
                why = "the file cannot be read";
            else {
                char *nl = memchr(dst + plen, '\n', (size_t)vlen); /* first line only */
                if (nl)
                    vlen = nl - (dst + plen);
                while (vlen > 0 && strchr(" \t\r", dst[plen + (size_t)vlen - 1]))
                    vlen--;
                if (vlen == 0)
                    why = "the file is empty";
            }
        }
        if (!why && has_ctl(dst + plen, (size_t)vlen))
            why = "the value holds a control character";
        if (why) {
            if (src && src->skipped)
                src->skipped(src->ctx, r, why);
            continue;
        }
        if (plen)
            memcpy(dst, r->args.prefix, plen);
        dst[plen + (size_t)vlen] = 0;
        e->value = dst;
        used += plen + (size_t)vlen + 1;
        n++;
    }
    return n;
}

int hfs_edit_removes(const struct hfs_hdr_edit *e, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (strlen(e->name) != nlen || strncasecmp(e->name, name, nlen) != 0)
        return 0;
    if (!e->remove)
        return 1; /* set replaces every line of that name */
    return !e->value_re || hfs_re_match((struct hfs_re *)e->value_re, value, vlen);
}

/* Splits a libcurl header line into name and value (trimmed). */
static void split(const char *line, const char **name, size_t *nlen, const char **val, size_t *vlen)
{
    size_t i = strcspn(line, ":;");
    *name = line;
    *nlen = i;
    while (*nlen && (line[*nlen - 1] == ' ' || line[*nlen - 1] == '\t'))
        (*nlen)--;
    const char *v = line[i] ? line + i + 1 : line + i;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t l = strlen(v);
    while (l && (v[l - 1] == ' ' || v[l - 1] == '\t' || v[l - 1] == '\r' || v[l - 1] == '\n'))
        l--;
    *val = v;
    *vlen = l;
}

static const char *put_line(char *buf, size_t buflen, size_t *used, const char *a, const char *b, const char *c)
{
    if (*used >= buflen)
        return NULL;
    int w = snprintf(buf + *used, buflen - *used, "%s%s%s", a, b, c);
    if (w < 0 || (size_t)w >= buflen - *used)
        return NULL;
    const char *s = buf + *used;
    *used += (size_t)w + 1;
    return s;
}

long hfs_edits_apply_lines(const char *const *in, size_t n, const struct hfs_hdr_edit *e, size_t ne, const char **out,
                           size_t outcap, char *buf, size_t buflen)
{
    size_t o = 0, used = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name, *val;
        size_t nl, vl;
        int drop = 0;
        split(in[i], &name, &nl, &val, &vl);
        for (size_t k = 0; k < ne && !drop; k++)
            drop = hfs_edit_removes(&e[k], name, nl, val, vl);
        if (drop)
            continue;
        if (o >= outcap)
            return -1;
        out[o++] = in[i];
    }
    for (size_t k = 0; k < ne; k++) {
        if (e[k].remove && e[k].value_re)
            continue;  /* conditional: only explicit lines are judged */
        int later = 0; /* edits apply in order: a later one may replace or remove this value */
        for (size_t j = k + 1; j < ne && !e[k].remove && !later; j++)
            later = hfs_edit_removes(&e[j], e[k].name, strlen(e[k].name), e[k].value, strlen(e[k].value));
        if (later)
            continue;
        if (o >= outcap)
            return -1;
        const char *line = e[k].remove ? put_line(buf, buflen, &used, e[k].name, ":", "")
                                       : put_line(buf, buflen, &used, e[k].name, ": ", e[k].value);
        if (!line)
            return -1;
        out[o++] = line;
    }
    return (long)o;
}
