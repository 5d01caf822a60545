/* cacheprobe: Hub calls answered from the cache, for the core (see header). */
#include "cacheprobe.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules.h"

void hfs_cache_roots_for(const struct hfs_rule *rule, hfs_env_fn env, struct hfs_cache_roots *r)
{
    hfs_cache_roots_default(env, r);
    for (size_t i = 0; rule && i < rule->args.ncache_dirs; i++)
        hfs_cache_roots_add(r, rule->args.cache_dirs[i], env, "rule");
}

static int probe(void *ctx, const struct hfs_request *r, const struct hfs_rule *rule)
{
    struct hfs_cache_ctx *c = ctx;
    struct hfs_cache_roots roots;
    const char *why;
    char range[128];
    int has_range = 0;
    if (!c->found && !(c->found = calloc(1, sizeof *c->found)))
        return 0;
    struct hfs_cache_found *f = c->found;
    if (hfs_hub_parse(r->method, r->path, r->query, &f->q, &why) != 1)
        return 0;
    for (size_t i = 0; i < r->nheaders; i++)
        if (r->headers[i].name_len == 5 && strncasecmp(r->headers[i].name, "Range", 5) == 0) {
            size_t n = r->headers[i].value_len < sizeof range - 1 ? r->headers[i].value_len : sizeof range - 1;
            memcpy(range, r->headers[i].value, n);
            range[n] = 0;
            has_range = 1;
        }
    hfs_cache_roots_for(rule, c->env, &roots);
    hfs_cache_answer_free(&f->ans);
    c->hit = hfs_cache_answer(&roots, &f->q, has_range ? range : NULL, c->body, c->body_len, &f->ans) == 1;
    if (c->hit)
        c->rule = rule;
    else if (f->ans.unread)
        c->unread = f->ans.unread;
    return c->hit;
}

void hfs_cache_ctx_init(struct hfs_cache_ctx *c, hfs_env_fn env)
{
    memset(c, 0, sizeof *c);
    c->env = env;
    c->probe.probe = probe;
    c->probe.ctx = c;
}

void hfs_cache_ctx_done(struct hfs_cache_ctx *c)
{
    if (c->found) {
        hfs_cache_answer_free(&c->found->ans);
        free(c->found);
        c->found = NULL;
    }
    c->hit = 0;
}

int hfs_cache_ctx_finish(struct hfs_cache_ctx *c, const char *body, size_t len)
{
    struct hfs_cache_roots roots;
    if (!c->found)
        return 0;
    hfs_cache_roots_for(c->rule, c->env, &roots);
    hfs_cache_answer_free(&c->found->ans);
    c->hit = hfs_cache_answer(&roots, &c->found->q, NULL, body ? body : "", len, &c->found->ans) == 1 &&
             !c->found->ans.need_body;
    return c->hit;
}
