/* hubpath: reads a Hub request (method, path, query) as one of the
 * metadata calls hfshim can answer from the local cache: repo info, tree
 * listing, paths-info, resolve (HEAD/GET) and resolve-cache. Every part
 * taken from the request (repo id, revision, file path) is percent-decoded
 * and checked so it can only name something inside a cache folder: no
 * empty, "." or ".." segments, no NUL or control bytes, no encoded slash
 * in a repo id, bounded lengths. Pure. */
#ifndef HFS_HUBPATH_H
#define HFS_HUBPATH_H

enum hfs_hub_kind {
    HFS_HUB_NONE,       /* not a call hfshim answers from the cache */
    HFS_HUB_INFO,       /* GET /api/{type}s/{repo}[/revision/{rev}] */
    HFS_HUB_TREE,       /* GET /api/{type}s/{repo}/tree/{rev}[/{path}] */
    HFS_HUB_PATHS_INFO, /* POST /api/{type}s/{repo}/paths-info/{rev} */
    HFS_HUB_RESOLVE,    /* HEAD/GET [/{type}s]/{repo}/resolve/{rev}/{path},
                           /api/resolve-cache/{type}s/{repo}/{rev}/{path} */
};

#define HFS_HUB_REPO_MAX 200
#define HFS_HUB_REV_MAX 256
#define HFS_HUB_PATH_MAX 1024

struct hfs_hubreq {
    enum hfs_hub_kind kind;
    const char *type;            /* "model", "dataset" or "space" (static) */
    char repo[HFS_HUB_REPO_MAX]; /* "org/name" or "name", as requested */
    char rev[HFS_HUB_REV_MAX];   /* decoded; "" when none was given */
    char path[HFS_HUB_PATH_MAX]; /* decoded file path (resolve) or folder (tree); "" for none */
    int recursive;               /* tree: recursive=true */
    int blobs;                   /* info: blobs=true (sizes and LFS data in siblings) */
    int head;                    /* resolve: HEAD (no body) */
};

/* Returns 1 and fills q when the request is one of the calls above, 0
 * when it is not (q->kind = HFS_HUB_NONE), -1 when it is one but a part
 * of it is malformed or unsafe (*why says which); then it must not be
 * answered from the cache. query may be NULL. */
int hfs_hub_parse(const char *method, const char *path, const char *query, struct hfs_hubreq *q, const char **why);

/* 1 when s is a valid relative path of the cache: segments separated by
 * single '/', none empty, "." or "..", no control bytes, at most max
 * bytes. Used for revisions and file paths. */
int hfs_hub_safe_relpath(const char *s, unsigned long max);

/* The cache folder name of a repo: "models--org--name". 0, or -1 when it
 * does not fit. */
int hfs_hub_folder(const char *type, const char *repo, char *out, unsigned long cap);

#endif
