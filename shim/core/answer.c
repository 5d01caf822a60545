/* answer: synthetic responses for respond and HTTP-form blocks (see header). */
#include "answer.h"

#include "http1.h"
#include "jsonpos.h"
#include "presets.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

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

void hfs_answer_from_verdict(const struct hfs_verdict *v, struct hfs_answer *a)
{
    memset(a, 0, sizeof *a);
    if (v->kind == HFS_V_RESPOND && v->answer && v->answer->args.preset) {
        /* the Hub's own answer; the rule's headers are added or replace its own */
        const struct hfs_action_args *r = &v->answer->args;
        hfs_preset_answer(r->preset, &v->preset_ctx, r->retry_after, a);
        for (size_t i = 0; i < r->nheaders; i++) {
            size_t nl = strlen(r->headers[i].name), k;
            for (k = 0; k < a->nheaders; k++)
                if (a->headers[k].name_len == nl && strncasecmp(a->headers[k].name, r->headers[i].name, nl) == 0)
                    break;
            if (k < a->nheaders)
                a->headers[k].value = r->headers[i].value, a->headers[k].value_len = strlen(r->headers[i].value);
            else
                add(a, r->headers[i].name, r->headers[i].value, strlen(r->headers[i].value));
        }
        if (r->body) {
            a->body = r->body;
            a->body_len = r->body_len;
        }
        return;
    }
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
    const char *rn = v->rule ? v->rule : "?";
    hfs_json_escape(rn, strlen(rn), esc, sizeof esc);
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
