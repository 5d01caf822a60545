/* cmd_cache: `hfshim cache`: the repos and revisions hfshim can answer
 * Hub metadata calls for, from the cache folders the rules search. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/cacheprobe.h"
#include "launcher.h"

struct lister {
    long count;
};

static void one(void *ctx, const char *type, const char *repo, const char *ref, const char *sha, long files,
                const char *dir)
{
    struct lister *L = ctx;
    if (!sha) { /* a ref that is not a regular file: never read */
        fprintf(stderr, "hfshim cache: %s %s: not cached (%s)\n", type, repo, dir);
        return;
    }
    if (!L->count++)
        printf("%-8s %-40s %-14s %-40s %6s  %s\n", "TYPE", "REPO", "REV", "SHA", "FILES", "FOLDER");
    printf("%-8s %-40s %-14s %-40s %6ld  %s\n", type, repo, *ref ? ref : "(commit)", sha, files, dir);
}

int hfs_cmd_cache(int argc, char **argv)
{
    const char *rules_arg = NULL;
    char used[PATH_MAX];
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc) {
            rules_arg = argv[++i];
        } else {
            hfs_usage("cache");
            return 2;
        }
    }
    struct hfs_rules *r = hfs_load_for_cli(rules_arg, 0, used, sizeof used);
    if (!r)
        return 2;
    /* the Hub cache, then every folder a cache rule adds */
    struct hfs_cache_roots *roots = malloc(sizeof *roots);
    if (!roots) {
        hfs_rules_free(r);
        return 2;
    }
    hfs_cache_roots_default(hfs_cli_env, roots);
    for (size_t i = 0; i < r->nrules; i++)
        for (size_t k = 0; r->rules[i].action == HFS_ACT_CACHE && k < r->rules[i].args.ncache_dirs; k++)
            hfs_cache_roots_add(roots, r->rules[i].args.cache_dirs[k], hfs_cli_env, r->rules[i].name);
    printf("cache folders searched (rules: %s):\n", used);
    for (size_t i = 0; i < roots->n; i++)
        printf("  %s  (%s)\n", roots->dir[i], roots->from[i]);
    if (!roots->n)
        printf("  none: set HF_HUB_CACHE, HF_HOME or HOME\n");
    struct lister L = { 0 };
    hfs_cache_each(roots, one, &L);
    if (!L.count)
        printf("no cached snapshot: nothing can be answered from the cache\n");
    else
        printf("%ld cached revision%s\n", L.count, L.count == 1 ? "" : "s");
    free(roots);
    hfs_rules_free(r);
    return 0;
}
