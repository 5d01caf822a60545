/* hubcache: reads the local Hugging Face cache (the layout huggingface_hub
 * and @huggingface/hub write; ../shared/research/hf-protocol.md §6):
 * which cache folders exist, whether a revision of a repo is cached, the
 * files of a cached snapshot with the ids the Hub reports for them. What
 * a request names (repo, revision, file) has been checked by hubpath; here
 * every file is also resolved and must stay inside its repo folder, so a
 * symlink in the cache cannot make hfshim read anything else. Reads files,
 * writes nothing, keeps nothing open. */
#ifndef HFS_HUBCACHE_H
#define HFS_HUBCACHE_H
#include <limits.h>
#include <stddef.h>

#define HFS_CACHE_MAX_ROOTS 8

/* The cache folders, in the order they are searched. */
struct hfs_cache_roots {
    char dir[HFS_CACHE_MAX_ROOTS][1024];
    const char *from[HFS_CACHE_MAX_ROOTS]; /* what named it ("HF_HUB_CACHE", "rule", …) */
    size_t n;
};

typedef const char *(*hfs_env_fn)(const char *name);

/* The Hub cache as huggingface_hub finds it: HF_HUB_CACHE, else
 * HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. */
void hfs_cache_roots_default(hfs_env_fn env, struct hfs_cache_roots *r);

/* Adds a folder named in the rules: "$VAR", "${VAR}/sub", "~/x" or a
 * path. Not added when a variable is unset or empty, when the result is
 * not absolute, or when it is already listed. 1 added, 0 not. */
int hfs_cache_roots_add(struct hfs_cache_roots *r, const char *spec, hfs_env_fn env, const char *from);

/* A cached revision of a repo. */
struct hfs_snapshot {
    char repo_dir[PATH_MAX]; /* the repo folder (as found) */
    char real_dir[PATH_MAX]; /* its resolved path: every file must be under it */
    char sha[41];
    const char *root_from;
    int blobs_dir;      /* repo_dir/blobs is a folder, not a link: links into it need no realpath */
    const char *unread; /* hfs_cache_find: why a refs file was not read (a FIFO), or NULL */
};

/* Finds the repo folder in the roots (exact name first, then the same
 * name in any case, as the Hub's ids are case-insensitive) and resolves
 * rev: a 40-hex commit whose snapshots/ folder exists, else refs/{rev}
 * (a commit whose snapshot folder exists); "" means main, "HEAD" means
 * refs/HEAD, else refs/main. 1 found, 0 not (then *why says what is
 * missing). */
int hfs_cache_find(const struct hfs_cache_roots *r, const char *type, const char *repo, const char *rev,
                   struct hfs_snapshot *s, const char **why);

/* One file of a snapshot, with the ids the Hub gives it. */
struct hfs_cache_file {
    char path[1024]; /* relative to the snapshot */
    unsigned long long size;
    char etag[65]; /* the blob's name: git sha1 (regular) or sha256 (LFS) */
    char oid[41];  /* the git blob id (of the LFS pointer for LFS files) */
    int lfs;
    unsigned pointer_size; /* LFS: size of the pointer file */
};

/* Looks up one file of the snapshot. 1 found (f filled; blob, if not
 * NULL, gets the resolved path of its content), 0 not cached (missing,
 * dangling link: the blob is gone, or a link leaving the repo folder). */
int hfs_cache_file(const struct hfs_snapshot *s, const char *path, struct hfs_cache_file *f, char *blob, size_t cap);

/* 1 when the snapshot has an entry for path (a link or file, whether or
 * not its content is there). */
int hfs_cache_listed(const struct hfs_snapshot *s, const char *path);

/* 1 when .no_exist/{sha}/{path} records that the file does not exist at
 * that commit. */
int hfs_cache_no_exist(const struct hfs_snapshot *s, const char *path);

/* Lists the cached files of the snapshot under the folder prefix ("" for
 * all), sorted by path: *out is malloc'd (free it). Files as in
 * hfs_cache_file; others are left out. Returns the count, or -1. */
long hfs_cache_list(const struct hfs_snapshot *s, const char *prefix, struct hfs_cache_file **out);

/* Calls fn for every cached revision in every root (hfshim cache):
 * type, repo id (from the folder name), ref name ("" for a snapshot no ref
 * names), commit, file count, repo folder. For a ref that is not a
 * regular file (a FIFO: never read) sha is NULL, files -1 and dir says
 * why ("<ref path> is a FIFO, not a regular file"). */
typedef void (*hfs_cache_visit_fn)(void *ctx, const char *type, const char *repo, const char *ref, const char *sha,
                                   long files, const char *dir);
void hfs_cache_each(const struct hfs_cache_roots *r, hfs_cache_visit_fn fn, void *ctx);

/* fork handlers (called by the library's shim/lib/atfork.c in the library's lock order) */
void hfs_hubcache_fork_prepare(void);
void hfs_hubcache_fork_parent(void);
void hfs_hubcache_fork_child(void);

#endif
