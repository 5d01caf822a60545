/* hubdiag: what a Hub error answer means, in one line (see header). The
 * texts are documented in rules/README.md §5.5; tests match them. */
#include "hubdiag.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hubpath.h"

int hfs_hubdiag_is_router(const char *host)
{
    return host &&
           (strcasecmp(host, "router.huggingface.co") == 0 || strcasecmp(host, "api-inference.huggingface.co") == 0);
}

int hfs_hubdiag_is_router_path(const char *path)
{
    static const char *const routes[] = { "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/hf-inference/",
                                          NULL };
    for (int i = 0; path && routes[i]; i++)
        if (strncmp(path, routes[i], strlen(routes[i])) == 0)
            return 1;
    return 0;
}

static const struct hfs_header *find(const struct hfs_hubdiag_in *in, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < in->nheaders; i++)
        if (in->headers[i].name_len == n && strncasecmp(in->headers[i].name, name, n) == 0)
            return &in->headers[i];
    return NULL;
}

static int is(const struct hfs_header *h, const char *v)
{
    size_t n = strlen(v);
    return h && h->value_len == n && strncasecmp(h->value, v, n) == 0;
}

/* Who sent what: "the token hf_ab…yz (from HF_TOKEN)", "no token". */
static void token_words(const struct hfs_hubdiag_in *in, char *out, size_t cap)
{
    if (in->stripped)
        snprintf(out, cap, "no token (hfshim removed %s%s%s%s, judged bad)", in->mask ? in->mask : "the app's token",
                 in->source ? " from " : "", in->source ? in->source : "", "");
    else if (in->had_token)
        snprintf(out, cap, "the token %s%s%s%s", in->mask && in->mask[0] ? in->mask : "(masked)",
                 in->source ? " (from " : "", in->source ? in->source : "", in->source ? ")" : "");
    else
        snprintf(out, cap, "no token");
}

/* The repo a path names, or "" (the Hub's own error names it otherwise). */
static void repo_of(const char *path, char *out, size_t cap)
{
    struct hfs_hubreq q;
    const char *why;
    out[0] = 0;
    if (path && hfs_hub_parse("GET", path, NULL, &q, &why) == 1)
        snprintf(out, cap, "%s%s", strcmp(q.type, "model") ? q.type : "", q.repo);
    if (out[0] && strcmp(q.type, "model")) { /* "dataset" → "datasets/org/name" as the Hub's URLs spell it */
        char tmp[HFS_HUB_REPO_MAX + 16];
        snprintf(tmp, sizeof tmp, "%ss/%s", q.type, q.repo);
        snprintf(out, cap, "%s", tmp);
    }
}

int hfs_hubdiag(const struct hfs_hubdiag_in *in, char *out, size_t cap)
{
    const struct hfs_header *code = find(in, "X-Error-Code"), *msg = find(in, "X-Error-Message");
    char tok[400], repo[HFS_HUB_REPO_MAX + 16];
    if (!cap)
        return 0;
    out[0] = 0;
    if (in->status < 400)
        return 0;
    token_words(in, tok, sizeof tok);
    repo_of(in->path, repo, sizeof repo);
    const char *r = repo[0] ? repo : "the repo";
    if (in->router && (in->status == 401 || in->status == 403)) {
        if (!in->had_token || in->stripped)
            snprintf(out, cap,
                     "Inference router answered %d to %s: it needs a token; set one with the \"Make calls to "
                     "Inference Providers\" permission (fine-grained token at https://huggingface.co/settings/tokens)",
                     in->status, in->url);
        else
            snprintf(out, cap,
                     "Inference router answered %d to %s with %s: the token is invalid or lacks the \"Make calls to "
                     "Inference Providers\" permission; create a fine-grained token with it at "
                     "https://huggingface.co/settings/tokens",
                     in->status, in->url, tok);
        return 1;
    }
    if (is(code, "GatedRepo")) {
        if (in->status == 401)
            snprintf(out, cap,
                     "gated repo %s (%s): the request had %s; log in with a token of an account that was granted "
                     "access (accept the conditions at https://huggingface.co/%s)",
                     r, in->url, tok, repo[0] ? repo : "<repo>");
        else
            snprintf(out, cap,
                     "gated repo %s (%s): %s belongs to an account without access; accept the conditions at "
                     "https://huggingface.co/%s and wait for the grant, or use a token of an account that has it",
                     r, in->url, tok, repo[0] ? repo : "<repo>");
        return 1;
    }
    if (is(code, "RepoNotFound")) {
        snprintf(out, cap,
                 "repo %s not found (%s, HTTP %d): it does not exist, or it is private or gated and the request had "
                 "%s; check the name, and for a private repo use a token with read access to it",
                 r, in->url, in->status, tok);
        return 1;
    }
    if (is(code, "EntryNotFound")) {
        snprintf(out, cap, "file not found in %s (%s, HTTP %d): the repo exists but has no such file at that revision",
                 r, in->url, in->status);
        return 1;
    }
    if (is(code, "RevisionNotFound")) {
        snprintf(out, cap,
                 "revision not found in %s (%s, HTTP %d): no such branch, tag or commit; check the revision name", r,
                 in->url, in->status);
        return 1;
    }
    if (in->status == 401 && msg && is(msg, "Invalid credentials in Authorization header")) {
        snprintf(out, cap,
                 "the Hub rejected %s for %s (401 Invalid credentials): it is invalid, expired or revoked; replace "
                 "or remove it%s%s (hfshim doctor lists every token source)",
                 tok, in->url, in->source ? " in " : "", in->source ? in->source : "");
        return 1;
    }
    if (is(msg, "Access to this resource is disabled.")) {
        snprintf(out, cap, "repo %s is disabled on the Hub (%s, HTTP %d)", r, in->url, in->status);
        return 1;
    }
    return 0;
}
