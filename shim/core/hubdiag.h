/* hubdiag: one log line saying what a Hub error answer means and what to
 * do about it (rules/README.md §5.5): GatedRepo, RepoNotFound,
 * EntryNotFound, RevisionNotFound, 401 "Invalid credentials", and the
 * Inference router's 401/403. Pure: the layer gives the response head and
 * what it knows of the token; the text never holds a token, only its mask. */
#ifndef HFS_HUBDIAG_H
#define HFS_HUBDIAG_H
#include <stddef.h>

#include "request.h"

struct hfs_hubdiag_in {
    const char *url;  /* the request URL as logs show it (hfs_log_safe_url) */
    const char *path; /* its path (no query), for the repo id */
    int router;       /* the host is the Inference router (router.huggingface.co, api-inference.huggingface.co) */
    int status;
    const struct hfs_header *headers; /* the response's */
    size_t nheaders;
    int had_token;      /* the request reached the Hub with a token */
    int stripped;       /* hfshim removed the app's token from it */
    const char *mask;   /* the token's mask ("hf_ab…yz"), or NULL */
    const char *source; /* where the token came from ("HF_TOKEN", a file), or NULL: unknown */
};

/* Writes the line into out (NUL-terminated, cut to cap); returns 1, or 0
 * when the answer is not a Hub error hfshim explains. */
int hfs_hubdiag(const struct hfs_hubdiag_in *in, char *out, size_t cap);

/* 1 when host is the Inference router. */
int hfs_hubdiag_is_router(const char *host);
/* 1 when path is one of the router's API routes (/v1/chat/completions,
 * /v1/completions, /v1/embeddings, /hf-inference/...), served on a Hub host
 * or an HF_ENDPOINT mirror. */
int hfs_hubdiag_is_router_path(const char *path);

#endif
