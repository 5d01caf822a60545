/* hubsynth: the Hub's answers to the metadata calls of hubpath, built
 * from the local cache only (hubcache): repo info JSON, tree and
 * paths-info JSON, HEAD/GET resolve with X-Repo-Commit, ETag,
 * X-Linked-Etag/X-Linked-Size, Content-Length and the blob's bytes, and
 * 404 EntryNotFound for a file .no_exist records (never for a cached
 * one). Only cached files are listed. A reference of the synthesis is
 * ../shared/research/cachesynth.py; rules/README.md §3.6 documents it. */
#ifndef HFS_HUBSYNTH_H
#define HFS_HUBSYNTH_H
#include <stddef.h>

#include "answer.h"
#include "hubcache.h"
#include "hubpath.h"

/* GET resolve answers up to this many bytes from a blob (read into
 * memory); a larger file is answered for HEAD only (a GET is a miss). */
#define HFS_CACHE_BODY_MAX (64u << 20)

struct hfs_cache_answer {
    struct hfs_answer a; /* headers and body point into this struct and body */
    char *body;          /* malloc'd (free with hfs_cache_answer_free) */
    char hv[10][96];     /* header values */
    int need_body;       /* paths-info: the snapshot is cached; call again with the request body */
    char sha[41];        /* the commit answered for */
    char summary[400];   /* what was answered, or why it was a miss (logs, explain) */
    const char *unread;  /* a miss because a refs file is not a regular file (a FIFO): why, else NULL */
};

/* Answers q from the cache roots. Returns 1 when answered (out->a ready,
 * or out->need_body for paths-info without its body), 0 on a miss
 * (out->summary says why), -1 out of memory. range: the request's Range
 * header or NULL; body: the request body (paths-info) or NULL. */
int hfs_cache_answer(const struct hfs_cache_roots *r, const struct hfs_hubreq *q, const char *range, const char *body,
                     size_t body_len, struct hfs_cache_answer *out);

void hfs_cache_answer_free(struct hfs_cache_answer *out);

#endif
