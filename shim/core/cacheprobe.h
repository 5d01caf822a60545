/* cacheprobe: the decision core's window on the local Hub cache. A layer
 * (or hfshim explain) puts a context in its request; when a rule asks
 * whether a Hub call is cached, the probe reads the call (hubpath), the
 * cache folders (the Hub cache from the environment, then the rule's
 * cache_dirs) and builds the answer (hubsynth), kept here for the layer
 * to deliver. */
#ifndef HFS_CACHEPROBE_H
#define HFS_CACHEPROBE_H

#include "hubsynth.h"
#include "request.h"

/* What a probe found, allocated by the first probe of a request. */
struct hfs_cache_found {
    struct hfs_cache_answer ans;
    struct hfs_hubreq q; /* the call of the last probe */
};

struct hfs_cache_ctx {
    hfs_env_fn env;
    const char *body; /* the request body when the layer has it (paths-info), else NULL */
    size_t body_len;
    int hit; /* found->ans holds the answer of the last probe, which hit */
    struct hfs_cache_found *found;
    const struct hfs_rule *rule;  /* the rule of the last hit (its folders) */
    const char *unread;           /* a probe missed because a refs file is not a regular file (a FIFO) */
    struct hfs_cache_probe probe; /* put &probe in the request's cache */
};

void hfs_cache_ctx_init(struct hfs_cache_ctx *c, hfs_env_fn env);
/* Frees what the probes found. */
void hfs_cache_ctx_done(struct hfs_cache_ctx *c);

/* The cache folders a rule searches (rule NULL: the Hub cache only). */
void hfs_cache_roots_for(const struct hfs_rule *rule, hfs_env_fn env, struct hfs_cache_roots *r);

/* paths-info answered once its body is known: builds c->ans again with
 * it. 1 answered, 0 not. */
int hfs_cache_ctx_finish(struct hfs_cache_ctx *c, const char *body, size_t len);

#endif
