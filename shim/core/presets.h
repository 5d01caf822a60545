/* presets: named faults that answer exactly as the real Hub does for one
 * failure (status, X-Error-Code, X-Error-Message, body), so a client under
 * test raises the error it raises for the real thing. A rule names one
 * with "preset" (rules/README.md §12.2); the answer is built per request
 * from the repo, revision and token it carries. Pure. */
#ifndef HFS_PRESETS_H
#define HFS_PRESETS_H
#include <stddef.h>

#include "rules_types.h"

enum hfs_preset_id {
    HFS_PRESET_NONE,
    HFS_PRESET_INVALID_CREDENTIALS, /* 401 X-Error-Message: Invalid credentials in Authorization header */
    HFS_PRESET_GATED_REPO,          /* 401 without a token, 403 with one (X-Error-Code: GatedRepo) */
    HFS_PRESET_REPO_NOT_FOUND,      /* 401 X-Error-Code: RepoNotFound (the Hub does not say "private") */
    HFS_PRESET_ENTRY_NOT_FOUND,     /* 404 X-Error-Code: EntryNotFound */
    HFS_PRESET_REVISION_NOT_FOUND,  /* 404 X-Error-Code: RevisionNotFound, "Invalid rev id: R" */
    HFS_PRESET_RATE_LIMITED,        /* 429 Retry-After, RateLimit, RateLimit-Policy */
    HFS_PRESET_ROUTER_401,          /* 401 {"error":"Invalid username or password."}, no X-Error-* */
    HFS_PRESET_HUB_OUTAGE,          /* 503 */
    HFS_PRESET_FIREWALL_HANG,       /* the connection never completes (hang at connect) */
    HFS_PRESET_COUNT
};

struct hfs_preset {
    const char *name;
    enum hfs_action_kind action; /* respond or hang */
    int status;                  /* respond: the status (gated-repo: 401/403 by token) */
    const char *summary;         /* one line for `hfshim explain` and the docs */
};

/* The preset of that name, or NULL; its id in *id. */
const struct hfs_preset *hfs_preset_find(const char *name, int *id);
const struct hfs_preset *hfs_preset_get(int id);
/* "invalid-credentials, gated-repo, ..." */
extern const char hfs_preset_names[];

/* What a preset's answer depends on (decide.c fills it from the request). */
struct hfs_preset_ctx {
    char type[8];      /* "model", "dataset", "space" */
    char repo[200];    /* "" when the request names no repo hfshim reads */
    char rev[256];     /* "" when none */
    char resource[12]; /* rate-limit bucket: "api", "resolvers" or "pages" */
    int token;         /* the request reaches the Hub with an Authorization header */
};

struct hfs_answer;
/* Fills a (its headers and body point into a and into static text) with
 * the answer of preset id for ctx; retry_after: the 429's seconds. */
void hfs_preset_answer(int id, const struct hfs_preset_ctx *ctx, long retry_after, struct hfs_answer *a);

#endif
