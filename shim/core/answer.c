/* answer: synthetic responses for respond and HTTP-form blocks (see header). */
#include "answer.h"

#include "http1.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *hfs_reason_phrase(int status)
{
    const char *r = hfs_http1_reason(status); /* the one table, in http1 */
    return *r ? r : "Status";
}

static void add(struct hfs_answer *a, const char *name, const char *value, size_t vlen)
{
    if (a->nheaders >= HFS_ANSWER_MAX_HEADERS)
        return;
    struct hfs_header *h = &a->headers[a->nheaders++];
    h->name = name;
    h->name_len = strlen(name);
    h->value = value;
    h->value_len = vlen;
}

/* JSON string escaping of the few characters a rule name may hold. */
static size_t json_escape(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = 0;
    return o;
}

void hfs_answer_from_verdict(const struct hfs_verdict *v, struct hfs_answer *a)
{
    memset(a, 0, sizeof *a);
    if (v->kind == HFS_V_RESPOND && v->answer) {
        const struct hfs_action_args *r = &v->answer->args;
        a->status = r->status ? r->status : 200;
        a->reason = hfs_reason_phrase(a->status);
        for (size_t i = 0; i < r->nheaders; i++)
            add(a, r->headers[i].name, r->headers[i].value, strlen(r->headers[i].value));
        a->body = r->body ? r->body : "";
        a->body_len = r->body ? r->body_len : 0;
        return;
    }
    /* an HTTP-form block */
    char esc[200];
    a->status = v->block_status ? v->block_status : 403;
    a->reason = hfs_reason_phrase(a->status);
    json_escape(v->rule ? v->rule : "?", esc, sizeof esc);
    /* the name is JSON-escaped, so it holds no CR/LF for the header either */
    if (v->why && v->rule_index < 0) /* the offline policy: say why */
        snprintf(a->msg, sizeof a->msg, "hfshim: blocked by rule %s (%s)", esc, v->why);
    else
        snprintf(a->msg, sizeof a->msg, "hfshim: blocked by rule %s", esc);
    snprintf(a->json, sizeof a->json, "{\"error\": \"%s\"}\n", a->msg);
    add(a, "Content-Type", "application/json", 16);
    add(a, "X-Error-Message", a->msg, strlen(a->msg));
    a->body = a->json;
    a->body_len = strlen(a->json);
}

const char *hfs_answer_header(const struct hfs_answer *a, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < a->nheaders; i++)
        if (a->headers[i].name_len == nl && strncasecmp(a->headers[i].name, name, nl) == 0) {
            if (len)
                *len = a->headers[i].value_len;
            return a->headers[i].value;
        }
    return NULL;
}
