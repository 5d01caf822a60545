/* actions: the table of actions (actions.h says what it drives), each
 * action's parameter reader and the words `hfshim check` says for it.
 * What an action does to a request is decided in decide.c. */
#include "actions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "presets.h"
#include "readfile.h"
#include "regex.h"
#include "token.h"

int hfs_action_resp_headers(struct hfs_rload *L, const cJSON *j, struct hfs_action_args *a)
{
    const cJSON *h = hfs_rj_get(j, "headers");
    int n = 0, rc = 0;
    if (!h)
        return 0;
    hfs_jpath_key(&L->path, "headers");
    if (hfs_rj_expect(L, h, cJSON_Object, "an object of \"Header-Name\": \"value\" pairs")) {
        hfs_jpath_pop(&L->path);
        return -1;
    }
    for (const cJSON *c = h->child; c; c = c->next)
        n++;
    if (n > 32) {
        hfs_rj_say(L, 1, 0, "at most 32 response headers");
        hfs_jpath_pop(&L->path);
        return -1;
    }
    a->headers = calloc((size_t)n + 1, sizeof *a->headers);
    for (const cJSON *c = h->child; c && a->headers; c = c->next) {
        hfs_jpath_key(&L->path, c->string);
        if (!hfs_rj_header_name_ok(c->string)) {
            hfs_rj_say(L, 1, 1, "invalid header name \"%s\"", c->string), rc = -1;
        } else if (hfs_rj_expect(L, c, cJSON_String, "a string")) {
            rc = -1;
        } else if (hfs_rj_has_crlf(c->valuestring, strlen(c->valuestring))) {
            hfs_rj_say(L, 1, 0, "line breaks are not allowed in a header value"), rc = -1;
        } else {
            a->headers[a->nheaders].name = hfs_rj_dup(L, c->string);
            a->headers[a->nheaders].value = hfs_rj_dup(L, c->valuestring);
            a->nheaders++;
        }
        hfs_jpath_pop(&L->path);
    }
    hfs_jpath_pop(&L->path);
    return a->headers ? rc : -1;
}

/* body (literal) or body_file (read now, relative to the rules file). */
int hfs_action_body(struct hfs_rload *L, const cJSON *j, struct hfs_action_args *a)
{
    const cJSON *b = hfs_rj_get(j, "body"), *f = hfs_rj_get(j, "body_file");
    if (b && f) {
        hfs_jpath_key(&L->path, "body_file");
        hfs_rj_say(L, 1, 1, "give \"body\" or \"body_file\", not both");
        hfs_jpath_pop(&L->path);
        return -1;
    }
    if (b) {
        char *s = NULL;
        if (hfs_rj_str(L, j, "body", &s, 0))
            return -1;
        a->body = s;
        a->body_len = strlen(s);
        return 0;
    }
    if (f) {
        char *path = NULL, full[4096];
        const char *why;
        int rc = 0;
        if (hfs_rj_str(L, j, "body_file", &path, 4))
            return -1;
        const char *slash = strrchr(L->name, '/');
        if (path[0] != '/' && slash)
            snprintf(full, sizeof full, "%.*s/%s", (int)(slash - L->name), L->name, path);
        else
            snprintf(full, sizeof full, "%s", path);
        a->body = hfs_file_read(full, 0, HFS_MAX_RULES_FILE, &a->body_len, &why);
        if (!a->body) {
            hfs_jpath_key(&L->path, "body_file");
            hfs_rj_say(L, 1, 0, "cannot read %s: %s", full, why ? why : "error");
            hfs_jpath_pop(&L->path);
            rc = -1;
        }
        free(path);
        return rc;
    }
    return 0;
}

/* ---- the parameter readers, one per action (the switch of old) ---- */

static int parse_block(struct hfs_rload *L, const cJSON *j, struct hfs_rule *rule)
{
    struct hfs_action_args *a = &rule->args;
    char *form = NULL;
    int rc = 0;
    a->status = 403;
    rc |= hfs_rj_int(L, j, "status", 100, 599, &a->status, "status");
    rc |= hfs_rj_str(L, j, "form", &form, HFS_RJ_ANY);
    if (form) {
        if (strcmp(form, "http") == 0)
            a->form = HFS_BLOCK_HTTP;
        else if (strcmp(form, "error") == 0)
            a->form = HFS_BLOCK_ERROR;
        else if (strcmp(form, "default") != 0) {
            hfs_jpath_key(&L->path, "form");
            hfs_rj_say(L, 1, 0, "unknown block form \"%s\" (known: default, http, error)", form);
            hfs_jpath_pop(&L->path);
            rc = -1;
        }
        free(form);
    }
    return rc;
}

static int parse_respond(struct hfs_rload *L, const cJSON *j, struct hfs_rule *rule)
{
    int rc = 0;
    rule->args.status = 200;
    rc |= hfs_rj_int(L, j, "status", 100, 599, &rule->args.status, "status");
    rc |= hfs_action_resp_headers(L, j, &rule->args);
    rc |= hfs_action_body(L, j, &rule->args);
    return rc;
}

static int parse_strip_header(struct hfs_rload *L, const cJSON *j, struct hfs_rule *rule)
{
    int rc = hfs_rj_str(L, j, "header", &rule->args.header, HFS_RJ_HEADER_NAME);
    if (hfs_rj_get(j, "value")) {
        hfs_jpath_key(&L->path, "value");
        rc |= hfs_rj_regex(L, hfs_rj_get(j, "value"), &rule->args.value_re, 0);
        hfs_jpath_pop(&L->path);
    }
    return rc;
}

static int parse_set_header(struct hfs_rload *L, const cJSON *j, struct hfs_rule *rule)
{
    struct hfs_action_args *a = &rule->args;
    int rc = hfs_rj_str(L, j, "header", &a->header, HFS_RJ_HEADER_NAME);
    if (!!hfs_rj_get(j, "from_env") == !!hfs_rj_get(j, "from_file")) {
        hfs_rj_say(L, 1, 0,
                   "set-header needs exactly one of \"from_env\" or \"from_file\" (values are never written "
                   "in the rules file)");
        return -1;
    }
    rc |= hfs_rj_str(L, j, "from_env", &a->from_env, HFS_RJ_ENV_NAME);
    rc |= hfs_rj_str(L, j, "from_file", &a->from_file, HFS_RJ_NON_EMPTY);
    rc |= hfs_rj_str(L, j, "prefix", &a->prefix, HFS_RJ_NO_CRLF);
    return rc;
}

static int parse_delay(struct hfs_rload *L, const cJSON *j, struct hfs_rule *rule)
{
    return hfs_rj_int(L, j, "ms", 0, 3600000, &rule->args.ms, "ms");
}

static int parse_cache(struct hfs_rload *L, const cJSON *j, struct hfs_rule *rule)
{
    struct hfs_action_args *a = &rule->args;
    char *miss = NULL;
    const cJSON *c;
    int rc = 0;
    a->status = 403; /* a blocked miss */
    rc |= hfs_rj_int(L, j, "status", 100, 599, &a->status, "status");
    rc |= hfs_rj_str(L, j, "miss", &miss, HFS_RJ_ANY);
    if (miss) {
        if (strcmp(miss, "block") == 0)
            a->miss_block = 1;
        else if (strcmp(miss, "next") != 0) {
            hfs_jpath_key(&L->path, "miss");
            hfs_rj_say(L, 1, 0, "unknown miss \"%s\" (known: next, block)", miss);
            hfs_jpath_pop(&L->path);
            rc = -1;
        }
        free(miss);
    }
    if ((c = hfs_rj_get(j, "cache_dirs"))) {
        hfs_jpath_key(&L->path, "cache_dirs");
        if (hfs_rj_expect(L, c, cJSON_Array, "an array of folder names such as [\"$FASTEMBED_CACHE_PATH\"]")) {
            rc = -1;
        } else {
            size_t n = 0;
            for (const cJSON *d = c->child; d; d = d->next)
                n++;
            a->cache_dirs = calloc(n + 1, sizeof *a->cache_dirs);
            int i = 0;
            for (const cJSON *d = c->child; d && a->cache_dirs; d = d->next, i++) {
                hfs_jpath_index(&L->path, i);
                if (hfs_rj_expect(L, d, cJSON_String, "a folder name") == 0 && d->valuestring[0] &&
                    (d->valuestring[0] == '/' || d->valuestring[0] == '$' || d->valuestring[0] == '~'))
                    a->cache_dirs[a->ncache_dirs++] = hfs_rj_dup(L, d->valuestring);
                else if (HFS_JTYPE(d) == cJSON_String)
                    hfs_rj_say(L, 1, 0, "a cache folder must be absolute, \"$VAR...\" or \"~/...\" (got \"%s\")",
                               d->valuestring),
                        rc = -1;
                else
                    rc = -1;
                hfs_jpath_pop(&L->path);
            }
            if (n > 6) {
                hfs_rj_say(L, 1, 0, "at most 6 cache folders per rule");
                rc = -1;
            }
        }
        hfs_jpath_pop(&L->path);
    }
    return rc;
}

static const struct {
    const char *name;
    unsigned bit;
} reasons[] = {
    { "malformed", HFS_WHEN_MALFORMED }, { "denied", HFS_WHEN_DENIED },   { "learned", HFS_WHEN_LEARNED },
    { "invalid", HFS_WHEN_INVALID },     { "foreign", HFS_WHEN_FOREIGN },
};
#define NREASONS (sizeof reasons / sizeof reasons[0])

static int parse_strip_auth(struct hfs_rload *L, const cJSON *j, struct hfs_rule *rule)
{
    struct hfs_action_args *a = &rule->args;
    const cJSON *c = hfs_rj_get(j, "when");
    int rc = 0;
    a->when = HFS_WHEN_ALL;
    if (!(a->header = hfs_rj_dup(L, "Authorization")))
        rc = -1;
    if (!c)
        return rc;
    hfs_jpath_key(&L->path, "when");
    if (hfs_rj_expect(L, c, cJSON_Array, "an array of reasons such as [\"malformed\", \"learned\"]")) {
        hfs_jpath_pop(&L->path);
        return -1;
    }
    a->when = 0;
    int i = 0;
    for (const cJSON *w = c->child; w; w = w->next, i++) {
        size_t k;
        hfs_jpath_index(&L->path, i);
        if (hfs_rj_expect(L, w, cJSON_String, "a reason (string)")) {
            rc = -1;
        } else {
            for (k = 0; k < NREASONS; k++)
                if (strcmp(w->valuestring, reasons[k].name) == 0)
                    break;
            if (k == NREASONS) {
                hfs_rj_say(L, 1, 0, "unknown reason \"%s\" (known: malformed, denied, learned, invalid, foreign)",
                           w->valuestring);
                rc = -1;
            } else {
                a->when |= reasons[k].bit;
            }
        }
        hfs_jpath_pop(&L->path);
    }
    if (!a->when && rc == 0) {
        hfs_rj_say(L, 1, 0, "an empty \"when\" never strips anything (leave it out to strip for every reason)");
        rc = -1;
    }
    hfs_jpath_pop(&L->path);
    return rc;
}

static int parse_set_auth(struct hfs_rload *L, const cJSON *j, struct hfs_rule *rule)
{
    struct hfs_action_args *a = &rule->args;
    int rc = 0;
    if (!!hfs_rj_get(j, "from_env") == !!hfs_rj_get(j, "from_file")) {
        hfs_rj_say(L, 1, 0,
                   "set-auth needs exactly one of \"from_env\" or \"from_file\" (tokens are never written "
                   "in the rules file)");
        return -1;
    }
    rc |= hfs_rj_str(L, j, "from_env", &a->from_env, HFS_RJ_ENV_NAME);
    rc |= hfs_rj_str(L, j, "from_file", &a->from_file, HFS_RJ_NON_EMPTY);
    if (hfs_rj_get(j, "prefix"))
        rc |= hfs_rj_str(L, j, "prefix", &a->prefix, HFS_RJ_NO_CRLF);
    else if (!(a->prefix = hfs_rj_dup(L, "Bearer ")))
        rc = -1;
    if (!(a->header = hfs_rj_dup(L, "Authorization")))
        rc = -1;
    return rc;
}

static int parse_hang(struct hfs_rload *L, const cJSON *j, struct hfs_rule *rule)
{
    char *stage = NULL;
    int rc = hfs_rj_str(L, j, "stage", &stage, HFS_RJ_ANY);
    if (stage) {
        if (strcmp(stage, "connect") == 0)
            rule->args.hang_connect = 1;
        else if (strcmp(stage, "request") != 0) {
            hfs_jpath_key(&L->path, "stage");
            hfs_rj_say(L, 1, 0, "unknown hang stage \"%s\" (known: request, connect)", stage);
            hfs_jpath_pop(&L->path);
            rc = -1;
        }
        free(stage);
    }
    return rc;
}

static int parse_reset(struct hfs_rload *L, const cJSON *j, struct hfs_rule *rule)
{
    int n = 0, rc = hfs_rj_int(L, j, "after_bytes", 0, 2147483647, &n, "after_bytes");
    rule->args.after_bytes = n;
    return rc;
}

static int parse_throttle(struct hfs_rload *L, const cJSON *j, struct hfs_rule *rule)
{
    int n = 0, rc = hfs_rj_int(L, j, "bytes_per_second", 1, 2147483647, &n, "bytes_per_second");
    rule->args.bytes_per_second = n;
    return rc;
}

/* ---- `hfshim check`'s words for each action, followed by the match ---- */

static void describe_allow(const struct hfs_rule *r, char *out, size_t len)
{
    (void)r;
    snprintf(out, len, "allow");
}

static void describe_block(const struct hfs_rule *r, char *out, size_t len)
{
    const struct hfs_action_args *a = &r->args;
    snprintf(out, len, "%s",
             a->form == HFS_BLOCK_HTTP    ? "block (HTTP answer)"
             : a->form == HFS_BLOCK_ERROR ? "block (transport error)"
                                          : "block");
}

static void describe_respond(const struct hfs_rule *r, char *out, size_t len)
{
    const struct hfs_action_args *a = &r->args;
    snprintf(out, len, "respond %d (%zu header%s, %zu-byte body) to", a->status, a->nheaders,
             a->nheaders == 1 ? "" : "s", a->body_len);
}

static void describe_strip_header(const struct hfs_rule *r, char *out, size_t len)
{
    snprintf(out, len, "strip header %s%s from", r->args.header, r->args.value_re ? " (when its value matches)" : "");
}

static void describe_set_header(const struct hfs_rule *r, char *out, size_t len)
{
    const struct hfs_action_args *a = &r->args;
    snprintf(out, len, "set header %s from %s%s%s on", a->header, a->from_env ? "$" : "file ",
             a->from_env ? a->from_env : a->from_file, a->prefix ? " (with a prefix)" : "");
}

static void describe_delay(const struct hfs_rule *r, char *out, size_t len)
{
    snprintf(out, len, "delay by %d ms on", r->args.ms);
}

static void describe_cache(const struct hfs_rule *r, char *out, size_t len)
{
    const struct hfs_action_args *a = &r->args;
    snprintf(out, len, "answer from the local cache (%s%zu extra folder%s; a miss %s) for",
             a->ncache_dirs ? "" : "Hub cache, ", a->ncache_dirs, a->ncache_dirs == 1 ? "" : "s",
             a->miss_block ? "is blocked" : "goes on to the next rules");
}

static void describe_strip_auth(const struct hfs_rule *r, char *out, size_t len)
{
    char why[96] = "";
    for (size_t i = 0; i < NREASONS; i++)
        if (r->args.when & reasons[i].bit)
            snprintf(why + strlen(why), sizeof why - strlen(why), "%s%s", why[0] ? ", " : "", reasons[i].name);
    snprintf(out, len, "strip Authorization when its token is %s, on", why);
}

static void describe_set_auth(const struct hfs_rule *r, char *out, size_t len)
{
    const struct hfs_action_args *a = &r->args;
    snprintf(out, len, "set Authorization (%s+ token from %s%s) on",
             a->prefix && !strcmp(a->prefix, "Bearer ") ? "Bearer " : "prefix ", a->from_env ? "$" : "file ",
             a->from_env ? a->from_env : a->from_file);
}

static void describe_refuse(const struct hfs_rule *r, char *out, size_t len)
{
    (void)r;
    snprintf(out, len, "refuse connections (ECONNREFUSED) to");
}

static void describe_dns_fail(const struct hfs_rule *r, char *out, size_t len)
{
    (void)r;
    snprintf(out, len, "fail the lookup (EAI_NONAME) of");
}

static void describe_hang(const struct hfs_rule *r, char *out, size_t len)
{
    snprintf(out, len, "%s",
             r->args.hang_connect ? "hang connections (never completed) to" : "hang requests (never answered) to");
}

static void describe_reset(const struct hfs_rule *r, char *out, size_t len)
{
    snprintf(out, len, "reset the response after %ld bytes, on", r->args.after_bytes);
}

static void describe_throttle(const struct hfs_rule *r, char *out, size_t len)
{
    snprintf(out, len, "throttle the response to %ld bytes/s, on", r->args.bytes_per_second);
}

/* ---- the table ---- */

static const struct hfs_param p_block[] = {
    { "form", "\"default\", \"http\" or \"error\"", "\"default\"", NULL,
      "default: an HTTP answer for Hub hosts, the layer's error otherwise; http: always an HTTP answer; error: "
      "always the error" },
    { "status", "100-599", "403", NULL, "the status of the HTTP form" },
    { NULL, NULL, NULL, NULL, NULL },
};
static const struct hfs_param p_respond[] = {
    { "status", "100-599", "200", NULL, "the response status" },
    { "headers", "an object of name: value", NULL, NULL, "response headers (Content-Length is added)" },
    { "body", "a string", "empty", NULL, "the response body" },
    { "body_file", "a path", NULL, NULL,
      "the body read from this file when the rules load (relative to the rules file; at most 16 MiB)" },
    { NULL, NULL, NULL, NULL, NULL },
};
static const struct hfs_param p_strip_header[] = {
    { "header", "a header name", NULL, " (the header name)", "the header to remove (any case)" },
    { "value", "a regex", NULL, NULL, "only lines whose value matches" },
    { NULL, NULL, NULL, NULL, NULL },
};
static const struct hfs_param p_set_header[] = {
    { "header", "a header name", NULL, " (the header name)", "the header to set (replacing any line of that name)" },
    { "from_env", "a variable name", NULL, NULL, "the value from this variable (this or from_file)" },
    { "from_file", "a path", NULL, NULL, "the value from this file's first line, read for each request" },
    { "prefix", "a string", NULL, NULL, "text put before the value (\"Bearer \")" },
    { NULL, NULL, NULL, NULL, NULL },
};
static const struct hfs_param p_delay[] = {
    { "ms", "0-3600000", NULL, " (milliseconds)", "milliseconds the request waits" },
    { NULL, NULL, NULL, NULL, NULL },
};
static const struct hfs_param p_cache[] = {
    { "miss", "\"next\" or \"block\"", "\"next\"", NULL,
      "next: the following rules decide a miss; block: an HTTP-form block" },
    { "cache_dirs", "up to 6 folders", NULL, NULL,
      "more cache folders: absolute, \"$VAR/...\", \"${VAR}...\" or \"~/...\"" },
    { "status", "100-599", "403", NULL, "the status of a blocked miss" },
    { NULL, NULL, NULL, NULL, NULL },
};
static const struct hfs_param p_strip_auth[] = {
    { "when", "an array of reasons", "all", NULL,
      "the reasons that strip: malformed, denied, learned, invalid, foreign" },
    { NULL, NULL, NULL, NULL, NULL },
};
static const struct hfs_param p_set_auth[] = {
    { "from_env", "a variable name", NULL, NULL, "the token from this variable (this or from_file)" },
    { "from_file", "a path", NULL, NULL, "the token from this file's first line" },
    { "prefix", "a string", "\"Bearer \"", NULL, "text put before the token" },
    { NULL, NULL, NULL, NULL, NULL },
};
static const struct hfs_param p_hang[] = {
    { "stage", "\"request\" or \"connect\"", "\"request\"", NULL,
      "request: the request is never answered; connect: the connection never completes" },
    { NULL, NULL, NULL, NULL, NULL },
};
static const struct hfs_param p_reset[] = {
    { "after_bytes", "0 or more", "0", NULL, "bytes of the response the client gets before the reset" },
    { NULL, NULL, NULL, NULL, NULL },
};
static const struct hfs_param p_throttle[] = {
    { "bytes_per_second", "1 or more", NULL, "", "the most bytes of the response read per second" },
    { NULL, NULL, NULL, NULL, NULL },
};
static const struct hfs_param p_none[] = { { NULL, NULL, NULL, NULL, NULL } };

/* name, kind, modifier, stage, per_request, edit verb,
 *   help,
 *   parameters, parse, describe.
 * The order is the order of the messages' lists ("known actions: ..."). */
const struct hfs_action hfs_actions[] = {
    { "allow", HFS_ACT_ALLOW, 0, HFS_STAGE_ANY, 0, HFS_EDIT_NONE,
      "the request goes on (with the header edits and delays collected before)", p_none, NULL, describe_allow },
    { "block", HFS_ACT_BLOCK, 0, HFS_STAGE_ANY, 0, HFS_EDIT_NONE,
      "the lookup, connection or request fails, or an HTTP 403 answers it", p_block, parse_block, describe_block },
    { "respond", HFS_ACT_RESPOND, 0, HFS_STAGE_ANY, 1, HFS_EDIT_NONE,
      "an HTTP response of the rule's, without any network", p_respond, parse_respond, describe_respond },
    { "strip-header", HFS_ACT_STRIP_HEADER, 1, HFS_STAGE_ANY, 1, HFS_EDIT_STRIP,
      "the request goes out without that header", p_strip_header, parse_strip_header, describe_strip_header },
    { "set-header", HFS_ACT_SET_HEADER, 1, HFS_STAGE_ANY, 1, HFS_EDIT_SET,
      "the request carries the header with the value", p_set_header, parse_set_header, describe_set_header },
    { "delay", HFS_ACT_DELAY, 1, HFS_STAGE_ANY, 1, HFS_EDIT_NONE, "the request waits before it goes on", p_delay,
      parse_delay, describe_delay },
    { "cache", HFS_ACT_CACHE, 0, HFS_STAGE_ANY, 1, HFS_EDIT_NONE,
      "a Hub metadata call is answered from the local cache; a miss goes on", p_cache, parse_cache, describe_cache },
    { "strip-auth", HFS_ACT_STRIP_AUTH, 1, HFS_STAGE_ANY, 1, HFS_EDIT_STRIP,
      "Authorization is removed when its token is bad or misplaced", p_strip_auth, parse_strip_auth,
      describe_strip_auth },
    { "set-auth", HFS_ACT_SET_AUTH, 1, HFS_STAGE_ANY, 1, HFS_EDIT_SET,
      "Authorization: Bearer <token>, where the rule matches", p_set_auth, parse_set_auth, describe_set_auth },
    { "refuse", HFS_ACT_REFUSE, 0, HFS_STAGE_CONNECT, 0, HFS_EDIT_NONE,
      "the connection is refused (ECONNREFUSED); a fault", p_none, NULL, describe_refuse },
    { "dns-fail", HFS_ACT_DNS_FAIL, 0, HFS_STAGE_RESOLVE, 0, HFS_EDIT_NONE, "the lookup fails (EAI_NONAME); a fault",
      p_none, NULL, describe_dns_fail },
    { "hang", HFS_ACT_HANG, 0, HFS_STAGE_ANY, 1, HFS_EDIT_NONE,
      "the request is never answered, or the connection never completes; a fault", p_hang, parse_hang, describe_hang },
    { "reset", HFS_ACT_RESET, 1, HFS_STAGE_ANY, 1, HFS_EDIT_NONE,
      "the response is cut and the connection reset (ECONNRESET); a fault", p_reset, parse_reset, describe_reset },
    { "throttle", HFS_ACT_THROTTLE, 1, HFS_STAGE_ANY, 1, HFS_EDIT_NONE,
      "the response is read at most that fast; a fault", p_throttle, parse_throttle, describe_throttle },
};
const size_t hfs_nactions = sizeof hfs_actions / sizeof hfs_actions[0];

/* What a preset (rules_rule.c) takes besides its own keys: in the list of
 * every parameter key after the actions' ones. */
static const char *const preset_only_keys[] = { "retry_after", NULL };

const struct hfs_action *hfs_action_find(const char *name)
{
    for (size_t i = 0; i < hfs_nactions; i++)
        if (strcmp(hfs_actions[i].name, name) == 0)
            return &hfs_actions[i];
    return NULL;
}

const struct hfs_action *hfs_action_of(enum hfs_action_kind k)
{
    /* the table is in the enum's order (every decision asks, per rule) */
    if ((size_t)k < hfs_nactions && hfs_actions[k].kind == k)
        return &hfs_actions[k];
    for (size_t i = 0; i < hfs_nactions; i++)
        if (hfs_actions[i].kind == k)
            return &hfs_actions[i];
    return NULL;
}

const char *hfs_action_name(enum hfs_action_kind k)
{
    const struct hfs_action *a = hfs_action_of(k);
    return a ? a->name : "?";
}

int hfs_action_is_modifier(enum hfs_action_kind k)
{
    const struct hfs_action *a = hfs_action_of(k);
    return a && a->modifier;
}

enum hfs_stage hfs_rule_stage(const struct hfs_rule *rule)
{
    const struct hfs_action *a = hfs_action_of(rule->action);
    if (rule->args.hang_connect)
        return HFS_STAGE_CONNECT;
    return a ? a->stage : HFS_STAGE_ANY;
}

/* Appends "sep word" to out (cut at len). */
static void append(char *out, size_t len, const char *sep, const char *word)
{
    size_t o = strlen(out);
    if (o + 1 < len)
        snprintf(out + o, len - o, "%s%s", o ? sep : "", word);
}

void hfs_action_list(char *out, size_t len)
{
    if (!len)
        return;
    out[0] = 0;
    for (size_t i = 0; i < hfs_nactions; i++)
        append(out, len, ", ", hfs_actions[i].name);
}

void hfs_action_takes(const struct hfs_action *a, char *out, size_t len)
{
    if (!len)
        return;
    out[0] = 0;
    for (const struct hfs_param *p = a->params; p->key; p++)
        append(out, len, ", ", p->key);
}

/* Adds key to keys[0..*n) unless it is there. */
static void add_key(const char **keys, size_t *n, const char *key)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(keys[i], key) == 0)
            return;
    if (*n < HFS_PARAM_KEYS_MAX)
        keys[(*n)++] = key;
}

size_t hfs_param_keys(const char *keys[HFS_PARAM_KEYS_MAX + 1])
{
    size_t n = 0;
    for (size_t k = 0; k < hfs_nactions; k++)
        for (const struct hfs_param *p = hfs_actions[k].params; p->key; p++)
            add_key(keys, &n, p->key);
    for (const char *const *k = preset_only_keys; *k; k++)
        add_key(keys, &n, *k);
    keys[n] = NULL;
    return n;
}

static int takes(const struct hfs_action *a, const char *key)
{
    for (const struct hfs_param *p = a->params; p->key; p++)
        if (strcmp(p->key, key) == 0)
            return 1;
    return 0;
}

int hfs_action_load(struct hfs_rload *L, const cJSON *j, struct hfs_rule *rule, const struct hfs_action *a,
                    const char *const *keys)
{
    char list[256];
    int rc = 0;
    for (const char *k; (k = *keys); keys++)
        if (hfs_rj_get(j, k) && !takes(a, k)) {
            hfs_action_takes(a, list, sizeof list);
            hfs_jpath_key(&L->path, k);
            hfs_rj_say(L, 1, 1, "\"%s\" does not apply to action %s (%s%s)", k, a->name,
                       list[0] ? "it takes: " : "it takes no parameters", list);
            hfs_jpath_pop(&L->path);
            rc = -1;
        }
    if (rc)
        return rc;
    for (const struct hfs_param *p = a->params; p->key; p++)
        if (p->need && !hfs_rj_get(j, p->key)) {
            hfs_rj_say(L, 1, 0, "action %s needs \"%s\"%s", a->name, p->key, p->need);
            return -1;
        }
    return a->parse ? a->parse(L, j, rule) : 0;
}

void hfs_action_describe(const struct hfs_rule *rule, char *out, size_t len)
{
    const struct hfs_action *a = hfs_action_of(rule->action);
    if (rule->args.preset) {
        const struct hfs_preset *p = hfs_preset_get(rule->args.preset);
        snprintf(out, len, "preset %s: %s, on", p->name, p->summary);
    } else if (a) {
        a->describe(rule, out, len);
    } else {
        snprintf(out, len, "?");
    }
}
