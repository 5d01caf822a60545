/* presets: the Hub's own answers for the failures tests reproduce (see
 * header). The texts are the Hub's as huggingface_hub and @huggingface/hub
 * read them (rules/README.md §12.2 lists each, with its source). */
#include "presets.h"

#include <stdio.h>
#include <string.h>

#include "answer_types.h"
#include "http1.h"
#include "jsonpos.h"

static const struct hfs_preset presets[HFS_PRESET_COUNT] = {
    [HFS_PRESET_INVALID_CREDENTIALS] = { "invalid-credentials", HFS_ACT_RESPOND, 401,
                                         "401 Invalid credentials in Authorization header (a stale or revoked token)" },
    [HFS_PRESET_GATED_REPO] = { "gated-repo", HFS_ACT_RESPOND, 401,
                                "401 GatedRepo without a token, 403 GatedRepo with one (access not granted)" },
    [HFS_PRESET_REPO_NOT_FOUND] = { "repo-not-found", HFS_ACT_RESPOND, 401,
                                    "401 RepoNotFound (missing, or private and not yours: the Hub does not say)" },
    [HFS_PRESET_ENTRY_NOT_FOUND] = { "entry-not-found", HFS_ACT_RESPOND, 404, "404 EntryNotFound (no such file)" },
    [HFS_PRESET_REVISION_NOT_FOUND] = { "revision-not-found", HFS_ACT_RESPOND, 404,
                                        "404 RevisionNotFound (Invalid rev id)" },
    [HFS_PRESET_RATE_LIMITED] = { "rate-limited", HFS_ACT_RESPOND, 429,
                                  "429 Too Many Requests with Retry-After, RateLimit and RateLimit-Policy" },
    [HFS_PRESET_ROUTER_401] = { "router-401", HFS_ACT_RESPOND, 401,
                                "401 Invalid username or password. (the Inference router's answer to a bad token)" },
    [HFS_PRESET_HUB_OUTAGE] = { "hub-outage", HFS_ACT_RESPOND, 503, "503 Service Unavailable" },
    [HFS_PRESET_FIREWALL_HANG] = { "firewall-hang", HFS_ACT_HANG, 0,
                                   "the connection never completes (a firewall dropping packets)" },
};

const char hfs_preset_names[] = "invalid-credentials, gated-repo, repo-not-found, entry-not-found, "
                                "revision-not-found, rate-limited, router-401, hub-outage, firewall-hang";

const struct hfs_preset *hfs_preset_find(const char *name, int *id)
{
    for (int i = 1; i < HFS_PRESET_COUNT; i++)
        if (strcmp(presets[i].name, name) == 0) {
            if (id)
                *id = i;
            return &presets[i];
        }
    return NULL;
}

const struct hfs_preset *hfs_preset_get(int id) { return id > 0 && id < HFS_PRESET_COUNT ? &presets[id] : NULL; }

static void add(struct hfs_answer *a, const char *name, const char *value)
{
    if (a->nheaders >= HFS_ANSWER_MAX_HEADERS)
        return;
    a->headers[a->nheaders++] = (struct hfs_header){ name, strlen(name), value, strlen(value) };
}

/* The message in the body's "error" and, with header, in X-Error-Message
 * (the Hub sends none for RepoNotFound and EntryNotFound). */
static void message_h(struct hfs_answer *a, const char *code, int header)
{
    char e[sizeof a->json - 16];
    hfs_json_escape(a->msg, strlen(a->msg), e, sizeof e); /* the repo and revision come from the request */
    snprintf(a->json, sizeof a->json, "{\"error\":\"%s\"}", e);
    add(a, "Content-Type", "application/json; charset=utf-8");
    if (code)
        add(a, "X-Error-Code", code);
    if (header)
        add(a, "X-Error-Message", a->msg);
    a->body = a->json;
    a->body_len = strlen(a->json);
}

static void message(struct hfs_answer *a, const char *code) { message_h(a, code, 1); }

/* Text that goes into a header value: printable ASCII only (the request's
 * repo and revision are checked by hubpath, but a header must never carry
 * a line break whatever they hold). */
static void printable(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 1 < cap; s++)
        out[o++] = ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f) ? *s : '?';
    out[o] = 0;
}

void hfs_preset_answer(int id, const struct hfs_preset_ctx *ctx, long retry_after, struct hfs_answer *a)
{
    char repo[200], rev[256];
    const char *type = ctx->type[0] ? ctx->type : "model";
    memset(a, 0, sizeof *a);
    printable(ctx->repo[0] ? ctx->repo : "unknown", repo, sizeof repo);
    printable(ctx->rev[0] ? ctx->rev : "main", rev, sizeof rev);
    const struct hfs_preset *p = hfs_preset_get(id);
    a->status = p && p->status ? p->status : 500;
    switch (id) {
    case HFS_PRESET_INVALID_CREDENTIALS:
        snprintf(a->msg, sizeof a->msg, "Invalid credentials in Authorization header");
        message(a, NULL);
        break;
    case HFS_PRESET_GATED_REPO:
        if (ctx->token) {
            a->status = 403;
            snprintf(a->msg, sizeof a->msg,
                     "Access to %s %s is restricted and you are not in the authorized list. Visit "
                     "https://huggingface.co/%s%s to ask for access.",
                     type, repo, strcmp(type, "model") ? (strcmp(type, "dataset") ? "spaces/" : "datasets/") : "",
                     repo);
        } else {
            snprintf(a->msg, sizeof a->msg,
                     "Access to %s %s is restricted. You must have access to it and be authenticated to access it. "
                     "Please log in.",
                     type, repo);
        }
        message(a, "GatedRepo");
        break;
    case HFS_PRESET_REPO_NOT_FOUND:
        snprintf(a->msg, sizeof a->msg, "Repository not found");
        message_h(a, "RepoNotFound", 0);
        break;
    case HFS_PRESET_ENTRY_NOT_FOUND:
        snprintf(a->msg, sizeof a->msg, "Entry not found");
        message_h(a, "EntryNotFound", 0);
        break;
    case HFS_PRESET_REVISION_NOT_FOUND:
        snprintf(a->msg, sizeof a->msg, "Invalid rev id: %s", rev);
        message(a, "RevisionNotFound");
        break;
    case HFS_PRESET_RATE_LIMITED: {
        const char *bucket = ctx->resource[0] ? ctx->resource : "api";
        long quota = !strcmp(bucket, "resolvers") ? 5000 : !strcmp(bucket, "pages") ? 200 : 1000;
        snprintf(a->extra[0], sizeof a->extra[0], "%ld", retry_after);
        snprintf(a->extra[1], sizeof a->extra[1], "\"%s\";r=0;t=%ld", bucket, retry_after);
        snprintf(a->extra[2], sizeof a->extra[2], "\"fixed window\";\"%s\";q=%ld;w=300", bucket, quota);
        snprintf(a->msg, sizeof a->msg,
                 "You have been rate-limited; you can retry this action in %ld seconds. See "
                 "https://huggingface.co/docs/hub/rate-limits",
                 retry_after);
        add(a, "Retry-After", a->extra[0]);
        add(a, "RateLimit", a->extra[1]);
        add(a, "RateLimit-Policy", a->extra[2]);
        message(a, NULL);
        break;
    }
    case HFS_PRESET_ROUTER_401:
        snprintf(a->json, sizeof a->json, "{\"error\":\"Invalid username or password.\"}");
        add(a, "Content-Type", "application/json; charset=utf-8");
        a->body = a->json;
        a->body_len = strlen(a->json);
        break;
    case HFS_PRESET_HUB_OUTAGE:
        snprintf(a->msg, sizeof a->msg, "Service Unavailable");
        snprintf(a->json, sizeof a->json, "{\"error\":\"Service Unavailable\"}");
        add(a, "Content-Type", "application/json; charset=utf-8");
        a->body = a->json;
        a->body_len = strlen(a->json);
        break;
    default:
        a->status = 500;
        a->body = "";
        break;
    }
    a->reason = hfs_reason_phrase(a->status);
}
