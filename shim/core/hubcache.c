/* hubcache: the local Hub cache, read (see header). */
#include "hubcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hubpath.h"
#include "readfile.h"
#include "sha1.h"

#define MAX_FILES 100000 /* a snapshot listing stops there */
#define MAX_DEPTH 32

static int add_root(struct hfs_cache_roots *r, const char *dir, const char *from)
{
    if (!dir || dir[0] != '/' || r->n == HFS_CACHE_MAX_ROOTS || strlen(dir) >= sizeof r->dir[0])
        return 0;
    size_t l = strlen(dir);
    while (l > 1 && dir[l - 1] == '/')
        l--;
    for (size_t i = 0; i < r->n; i++)
        if (strlen(r->dir[i]) == l && strncmp(r->dir[i], dir, l) == 0)
            return 0;
    memcpy(r->dir[r->n], dir, l);
    r->dir[r->n][l] = 0;
    r->from[r->n++] = from;
    return 1;
}

static const char *nonempty(hfs_env_fn env, const char *name)
{
    const char *v = env(name);
    return v && *v ? v : NULL;
}

void hfs_cache_roots_default(hfs_env_fn env, struct hfs_cache_roots *r)
{
    char buf[PATH_MAX];
    const char *v;
    r->n = 0;
    if ((v = nonempty(env, "HF_HUB_CACHE")) || (v = nonempty(env, "HUGGINGFACE_HUB_CACHE"))) {
        hfs_cache_roots_add(r, v, env, nonempty(env, "HF_HUB_CACHE") ? "HF_HUB_CACHE" : "HUGGINGFACE_HUB_CACHE");
        return;
    }
    if ((v = nonempty(env, "HF_HOME"))) {
        snprintf(buf, sizeof buf, "%s/hub", v);
        hfs_cache_roots_add(r, buf, env, "HF_HOME");
    } else if ((v = nonempty(env, "XDG_CACHE_HOME"))) {
        snprintf(buf, sizeof buf, "%s/huggingface/hub", v);
        hfs_cache_roots_add(r, buf, env, "XDG_CACHE_HOME");
    } else if ((v = nonempty(env, "HOME"))) {
        snprintf(buf, sizeof buf, "%s/.cache/huggingface/hub", v);
        add_root(r, buf, "HOME");
    }
}

int hfs_cache_roots_add(struct hfs_cache_roots *r, const char *spec, hfs_env_fn env, const char *from)
{
    char out[PATH_MAX];
    size_t o = 0;
    const char *p = spec;
    if (p[0] == '~' && (p[1] == '/' || p[1] == 0)) {
        const char *home = nonempty(env, "HOME");
        if (!home)
            return 0;
        o = (size_t)snprintf(out, sizeof out, "%s", home);
        p++;
    }
    while (*p && o + 1 < sizeof out) {
        if (*p == '$') {
            char name[128];
            size_t n = 0;
            int brace = p[1] == '{';
            const char *q = p + 1 + brace;
            while ((*q == '_' || (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9')) &&
                   n + 1 < sizeof name)
                name[n++] = *q++;
            name[n] = 0;
            if (brace && *q++ != '}')
                return 0;
            const char *v = n ? nonempty(env, name) : NULL;
            if (!v)
                return 0;
            int w = snprintf(out + o, sizeof out - o, "%s", v);
            if (w < 0 || (size_t)w >= sizeof out - o)
                return 0;
            o += (size_t)w;
            p = q;
        } else {
            out[o++] = *p++;
        }
    }
    if (*p)
        return 0;
    out[o] = 0;
    return add_root(r, out, from);
}

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[n] == 0;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The repo folder in root: exact name, else the same name in any case. */
static int repo_folder(const char *root, const char *name, char *out, size_t cap)
{
    if (snprintf(out, cap, "%s/%s", root, name) >= (int)cap)
        return 0;
    if (is_dir(out))
        return 1;
    DIR *d = opendir(root);
    if (!d)
        return 0;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d)))
        if (strcasecmp(e->d_name, name) == 0 && snprintf(out, cap, "%s/%s", root, e->d_name) < (int)cap && is_dir(out))
            found = 1;
    closedir(d);
    return found;
}

static int blobs_is_dir(const struct hfs_snapshot *s)
{
    char p[PATH_MAX];
    struct stat st;
    return snprintf(p, sizeof p, "%s/blobs", s->repo_dir) < (int)sizeof p && lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Reads a ref file: a 40-hex commit (whitespace around it allowed). A ref
 * that is not a regular file (a FIFO) is never read: not cached, and
 * *odd (when not NULL) says what it is. */
static int read_ref(const char *path, char sha[41], const char **odd)
{
    struct stat st;
    const char *why;
    int fd = hfs_file_open(path, O_RDONLY | O_NOFOLLOW, 0, &st, &why);
    if (fd < 0) {
        if (odd && errno == EINVAL)
            *odd = why;
        return 0;
    }
    char buf[128];
    long n = hfs_sys_read(fd, buf, sizeof buf - 1);
    hfs_sys_close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *p = buf;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    size_t l = strspn(p, "0123456789abcdef");
    if (l != 40 || (p[40] && !strchr(" \n\r\t", p[40])))
        return 0;
    memcpy(sha, p, 40);
    sha[40] = 0;
    return 1;
}

/* The reason for a ref that is not a regular file (static text). */
static const char *ref_unread(const char *odd)
{
    if (strstr(odd, "FIFO"))
        return "that revision is not cached: its refs file is a FIFO, not a regular file (not read)";
    if (strstr(odd, "directory"))
        return "that revision is not cached: its refs file is a directory, not a regular file";
    if (strstr(odd, "device"))
        return "that revision is not cached: its refs file is a device, not a regular file (not read)";
    return "that revision is not cached: its refs file is not a regular file (not read)";
}

static int snapshot_exists(const struct hfs_snapshot *s, const char *sha)
{
    char p[PATH_MAX];
    return snprintf(p, sizeof p, "%s/snapshots/%s", s->repo_dir, sha) < (int)sizeof p && is_dir(p);
}

static int resolve_rev(struct hfs_snapshot *s, const char *rev, const char **why)
{
    char p[PATH_MAX], sha[41];
    if (!*rev)
        rev = "main";
    if (strlen(rev) == 40 && is_hex(rev, 40)) {
        if (snapshot_exists(s, rev)) {
            memcpy(s->sha, rev, 41);
            return 1;
        }
        *why = "no snapshot of that commit is cached";
        return 0;
    }
    if (!hfs_hub_safe_relpath(rev, HFS_HUB_REV_MAX - 1)) {
        *why = "the revision is malformed";
        return 0;
    }
    const char *names[2] = { rev, strcmp(rev, "HEAD") == 0 ? "main" : NULL };
    for (int i = 0; i < 2 && names[i]; i++) {
        if (snprintf(p, sizeof p, "%s/refs/%s", s->repo_dir, names[i]) >= (int)sizeof p)
            continue;
        const char *odd = NULL;
        if (read_ref(p, sha, &odd) && snapshot_exists(s, sha)) {
            memcpy(s->sha, sha, 41);
            return 1;
        }
        if (odd) { /* a FIFO: never read, never waited on */
            *why = s->unread = ref_unread(odd);
            return 0;
        }
    }
    *why = "that revision is not cached (no refs entry with a snapshot)";
    return 0;
}

int hfs_cache_find(const struct hfs_cache_roots *r, const char *type, const char *repo, const char *rev,
                   struct hfs_snapshot *s, const char **why)
{
    char folder[256];
    *why = "no cache folder";
    s->unread = NULL;
    if (hfs_hub_folder(type, repo, folder, sizeof folder)) {
        *why = "repo id too long";
        return 0;
    }
    for (size_t i = 0; i < r->n; i++) {
        if (!repo_folder(r->dir[i], folder, s->repo_dir, sizeof s->repo_dir)) {
            *why = "the repo is not in the cache";
            continue;
        }
        if (!realpath(s->repo_dir, s->real_dir))
            continue;
        s->root_from = r->from[i];
        s->blobs_dir = blobs_is_dir(s);
        if (resolve_rev(s, rev, why))
            return 1;
    }
    return 0;
}

/* The content of a snapshot entry, resolved; 1 when it is a regular file
 * inside the repo folder. */
static int slashes(const char *p)
{
    int n = 0;
    for (; *p; p++)
        n += *p == '/';
    return n;
}

static int is_hex_name(const char *p)
{
    size_t n = strspn(p, "0123456789abcdef");
    return (n == 40 || n == 64) && p[n] == 0;
}

/* The common case without realpath: entry (at depth slashes below the
 * snapshot folder) is a link "../../blobs/<hex>" (one more "../" per
 * depth) to a regular file in the repo's own blobs folder. 1 when it is,
 * with real and st filled. */
static int blob_link(const struct hfs_snapshot *s, const char *entry, int depth, char *real, struct stat *st)
{
    char t[256];
    ssize_t n = readlink(entry, t, sizeof t - 1);
    if (!s->blobs_dir || n <= 0)
        return 0;
    t[n] = 0;
    const char *p = t;
    for (int i = 0; i < depth + 2; i++, p += 3)
        if (strncmp(p, "../", 3) != 0)
            return 0;
    if (strncmp(p, "blobs/", 6) != 0 || !is_hex_name(p + 6))
        return 0;
    if (snprintf(real, PATH_MAX, "%s/blobs/%s", s->repo_dir, p + 6) >= PATH_MAX)
        return 0;
    return lstat(real, st) == 0 && S_ISREG(st->st_mode);
}

static int resolve_inside(const struct hfs_snapshot *s, const char *entry, int depth, char *real, struct stat *st)
{
    if (blob_link(s, entry, depth, real, st))
        return 1;

    char tmp[PATH_MAX];
    if (!realpath(entry, tmp))
        return 0;
    size_t l = strlen(s->real_dir);
    if (strncmp(tmp, s->real_dir, l) != 0 || tmp[l] != '/')
        return 0; /* a link leaving the repo folder */
    if (stat(tmp, st) || !S_ISREG(st->st_mode))
        return 0;
    memcpy(real, tmp, strlen(tmp) + 1);
    return 1;
}

/* Git blob ids of copies already hashed, by the file's identity (device,
 * inode, size, modification and change times: a write changes the change
 * time, which no one can set back), so a copied multi-GB file is not read
 * again for every answer. A small ring shared by the process's threads. */
#define COPY_IDS 64
static struct copy_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim, ctim;
    char oid[41];
} copy_ids[COPY_IDS];
static unsigned copy_ids_next;
static pthread_mutex_t copy_ids_mu = PTHREAD_MUTEX_INITIALIZER;

/* fork (the copied-snapshot ids): the lock is taken before fork (the library's atfork.c order),
 * released after it in the parent and in the child. */
void hfs_hubcache_fork_prepare(void) { pthread_mutex_lock(&copy_ids_mu); }
void hfs_hubcache_fork_parent(void) { pthread_mutex_unlock(&copy_ids_mu); }
void hfs_hubcache_fork_child(void) { pthread_mutex_unlock(&copy_ids_mu); }

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int copy_id_known(const struct stat *st, char oid[41])
{
    int found = 0;
    pthread_mutex_lock(&copy_ids_mu);
    for (unsigned i = 0; i < COPY_IDS && !found; i++) {
        const struct copy_id *e = &copy_ids[i];
        if (e->oid[0] && e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
            e->mtim.tv_sec == st->st_mtim.tv_sec && e->mtim.tv_nsec == st->st_mtim.tv_nsec &&
            e->ctim.tv_sec == st->st_ctim.tv_sec && e->ctim.tv_nsec == st->st_ctim.tv_nsec) {
            memcpy(oid, e->oid, 41);
            found = 1;
        }
    }
    pthread_mutex_unlock(&copy_ids_mu);
    return found;
}

static void copy_id_keep(const struct stat *st, const char oid[41])
{
    pthread_mutex_lock(&copy_ids_mu);
    struct copy_id *e = &copy_ids[copy_ids_next++ % COPY_IDS];
    e->dev = st->st_dev;
    e->ino = st->st_ino;
    e->size = st->st_size;
    e->mtim = st->st_mtim;
    e->ctim = st->st_ctim;
    memcpy(e->oid, oid, 41);
    pthread_mutex_unlock(&copy_ids_mu);
}

static void meta(const char *real, const struct stat *st, struct hfs_cache_file *f)
{
    const char *base = strrchr(real, '/');
    base = base ? base + 1 : real;
    size_t bl = strlen(base);
    f->size = (unsigned long long)st->st_size;
    f->lfs = 0;
    f->pointer_size = 0;
    int in_blobs = bl + 7 <= strlen(real) && strncmp(base - 7, "/blobs/", 7) == 0;
    if (in_blobs && bl == 64 && is_hex(base, 64)) {
        /* an LFS file: the Hub's tree oid is the git id of its pointer */
        char ptr[200];
        int n = snprintf(ptr, sizeof ptr, "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %llu\n",
                         base, f->size);
        struct hfs_sha1 h;
        hfs_git_blob_init(&h, (unsigned long long)n);
        hfs_sha1_update(&h, ptr, (size_t)n);
        hfs_sha1_hex(&h, f->oid);
        memcpy(f->etag, base, 65);
        f->lfs = 1;
        f->pointer_size = (unsigned)n;
        return;
    }
    if (in_blobs && bl == 40 && is_hex(base, 40)) {
        memcpy(f->oid, base, 41);
        memcpy(f->etag, base, 41);
        return;
    }
    /* a copy (no symlinks): its git blob id from its bytes, hashed once
     * for each identity of the file (copy_id_known) */
    if (copy_id_known(st, f->oid)) {
        memcpy(f->etag, f->oid, 41);
        return;
    }
    struct hfs_sha1 h;
    hfs_git_blob_init(&h, f->size);
    struct stat now;
    const char *why;
    int fd = hfs_file_open(real, O_RDONLY, 0, &now, &why); /* swapped for a FIFO since: not read */
    char buf[8192]; /* a bounded frame on the hooks' path (a host thread's stack may be small) */
    long k;
    unsigned long long got = 0;
    while (fd >= 0 && (k = hfs_sys_read(fd, buf, sizeof buf)) > 0 && got < f->size) {
        if ((unsigned long long)k > f->size - got)
            k = (long)(f->size - got);
        hfs_sha1_update(&h, buf, (size_t)k);
        got += (unsigned long long)k;
    }
    hfs_sys_close(fd);
    int whole = fd >= 0 && got == f->size && same_file(st, &now);
    while (got < f->size) { /* the file shrank meanwhile: the id of what was promised cannot be had */
        memset(buf, 0, sizeof buf);
        size_t z = f->size - got < sizeof buf ? (size_t)(f->size - got) : sizeof buf;
        hfs_sha1_update(&h, buf, z);
        got += z;
    }
    hfs_sha1_hex(&h, f->oid);
    memcpy(f->etag, f->oid, 41);
    if (whole)
        copy_id_keep(st, f->oid);
}

int hfs_cache_file(const struct hfs_snapshot *s, const char *path, struct hfs_cache_file *f, char *blob, size_t cap)
{
    char entry[PATH_MAX], real[PATH_MAX];
    struct stat st;
    if (!hfs_hub_safe_relpath(path, sizeof f->path - 1) ||
        snprintf(entry, sizeof entry, "%s/snapshots/%s/%s", s->repo_dir, s->sha, path) >= (int)sizeof entry ||
        !resolve_inside(s, entry, slashes(path), real, &st))
        return 0;
    snprintf(f->path, sizeof f->path, "%s", path);
    meta(real, &st, f);
    if (blob && snprintf(blob, cap, "%s", real) >= (int)cap)
        return 0;
    return 1;
}

int hfs_cache_listed(const struct hfs_snapshot *s, const char *path)
{
    char p[PATH_MAX];
    struct stat st;
    return hfs_hub_safe_relpath(path, 1023) &&
           snprintf(p, sizeof p, "%s/snapshots/%s/%s", s->repo_dir, s->sha, path) < (int)sizeof p &&
           lstat(p, &st) == 0 && !S_ISDIR(st.st_mode);
}

int hfs_cache_no_exist(const struct hfs_snapshot *s, const char *path)
{
    char p[PATH_MAX];
    struct stat st;
    return hfs_hub_safe_relpath(path, 1023) &&
           snprintf(p, sizeof p, "%s/.no_exist/%s/%s", s->repo_dir, s->sha, path) < (int)sizeof p &&
           lstat(p, &st) == 0 && S_ISREG(st.st_mode);
}

struct lister {
    const struct hfs_snapshot *s;
    struct hfs_cache_file *v;
    size_t n, cap;
    int failed;
    char dir[PATH_MAX], rel[1024], real[PATH_MAX]; /* one set for the whole walk (no deep stack use) */
};

/* Lists L->dir (whose path in the snapshot is L->rel); both buffers are
 * extended for each entry and cut back after it. */
static void walk(struct lister *L, int depth)
{
    DIR *d = opendir(L->dir);
    if (!d)
        return;
    size_t dl = strlen(L->dir), rl = strlen(L->rel);
    struct dirent *e;
    while ((e = readdir(d)) && !L->failed && L->n < MAX_FILES) {
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        L->dir[dl] = 0;
        L->rel[rl] = 0;
        if (snprintf(L->dir + dl, sizeof L->dir - dl, "/%s", e->d_name) >= (int)(sizeof L->dir - dl) ||
            snprintf(L->rel + rl, sizeof L->rel - rl, "%s%s", rl ? "/" : "", e->d_name) >= (int)(sizeof L->rel - rl) ||
            lstat(L->dir, &st))
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < MAX_DEPTH)
                walk(L, depth + 1);
            continue;
        }
        if (!hfs_hub_safe_relpath(L->rel, sizeof L->rel - 1) ||
            !resolve_inside(L->s, L->dir, slashes(L->rel), L->real, &st))
            continue; /* a dangling link (blob missing) or one leaving the repo: not cached */
        if (L->n == L->cap) {
            size_t cap = L->cap ? L->cap * 2 : 16;
            struct hfs_cache_file *nv = realloc(L->v, cap * sizeof *nv);
            if (!nv) {
                L->failed = 1;
                break;
            }
            L->v = nv;
            L->cap = cap;
        }
        struct hfs_cache_file *f = &L->v[L->n++];
        snprintf(f->path, sizeof f->path, "%s", L->rel);
        meta(L->real, &st, f);
    }
    L->dir[dl] = 0;
    L->rel[rl] = 0;
    closedir(d);
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct hfs_cache_file *)a)->path, ((const struct hfs_cache_file *)b)->path);
}

long hfs_cache_list(const struct hfs_snapshot *s, const char *prefix, struct hfs_cache_file **out)
{
    *out = NULL;
    if (*prefix && !hfs_hub_safe_relpath(prefix, 1023))
        return 0;
    struct lister *L = calloc(1, sizeof *L);
    if (!L)
        return -1;
    L->s = s;
    if (snprintf(L->dir, sizeof L->dir, "%s/snapshots/%s%s%s", s->repo_dir, s->sha, *prefix ? "/" : "", prefix) >=
            (int)sizeof L->dir ||
        snprintf(L->rel, sizeof L->rel, "%s", prefix) >= (int)sizeof L->rel) {
        free(L);
        return 0;
    }
    walk(L, 0);
    long n = (long)L->n;
    struct hfs_cache_file *v = L->v;
    int failed = L->failed;
    free(L);
    if (failed) {
        free(v);
        return -1;
    }
    if (n)
        qsort(v, (size_t)n, sizeof *v, by_path);
    *out = v;
    return n;
}

/* "models--org--name" -> type "model", repo "org/name". */
static int parse_folder(const char *name, char *type, size_t tcap, char *repo, size_t rcap)
{
    const char *d = strstr(name, "--");
    if (!d || (size_t)(d - name) < 2 || (size_t)(d - name) >= tcap)
        return 0;
    size_t tl = (size_t)(d - name) - 1; /* drop the plural 's' */
    if (name[tl] != 's')
        return 0;
    memcpy(type, name, tl);
    type[tl] = 0;
    if (strcmp(type, "model") && strcmp(type, "dataset") && strcmp(type, "space"))
        return 0;
    const char *rest = d + 2, *d2 = strstr(rest, "--");
    if (!*rest)
        return 0;
    if (d2)
        snprintf(repo, rcap, "%.*s/%s", (int)(d2 - rest), rest, d2 + 2);
    else
        snprintf(repo, rcap, "%s", rest);
    return 1;
}

static void each_ref(const struct hfs_snapshot *base, const char *refdir, const char *relname, hfs_cache_visit_fn fn,
                     void *ctx, const char *type, const char *repo, int depth, char (*named)[41], size_t *nnamed)
{
    DIR *d = opendir(refdir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char full[PATH_MAX], rel[512], sha[41];
        struct stat st;
        if (snprintf(full, sizeof full, "%s/%s", refdir, e->d_name) >= (int)sizeof full ||
            snprintf(rel, sizeof rel, "%s%s%s", relname, *relname ? "/" : "", e->d_name) >= (int)sizeof rel ||
            lstat(full, &st))
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < 4)
                each_ref(base, full, rel, fn, ctx, type, repo, depth + 1, named, nnamed);
            continue;
        }
        const char *odd = NULL;
        if (!read_ref(full, sha, &odd)) {
            if (odd) { /* said, not read: sha NULL, dir says why */
                char msg[PATH_MAX + 64];
                snprintf(msg, sizeof msg, "%s %s", full, odd);
                fn(ctx, type, repo, rel, NULL, -1, msg);
            }
            continue;
        }
        if (!snapshot_exists(base, sha))
            continue;
        struct hfs_snapshot s = *base;
        memcpy(s.sha, sha, 41);
        struct hfs_cache_file *files;
        long n = hfs_cache_list(&s, "", &files);
        free(files);
        fn(ctx, type, repo, rel, sha, n, base->repo_dir);
        if (*nnamed < 64)
            memcpy(named[(*nnamed)++], sha, 41);
    }
    if (d)
        closedir(d);
}

void hfs_cache_each(const struct hfs_cache_roots *r, hfs_cache_visit_fn fn, void *ctx)
{
    for (size_t i = 0; i < r->n; i++) {
        DIR *d = opendir(r->dir[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            char type[16], repo[256];
            struct hfs_snapshot s;
            if (!parse_folder(e->d_name, type, sizeof type, repo, sizeof repo) ||
                snprintf(s.repo_dir, sizeof s.repo_dir, "%s/%s", r->dir[i], e->d_name) >= (int)sizeof s.repo_dir ||
                !realpath(s.repo_dir, s.real_dir))
                continue;
            s.root_from = r->from[i];
            s.blobs_dir = blobs_is_dir(&s);
            char dir[PATH_MAX], named[64][41]; /* dir: refs/, then snapshots/ */
            size_t nnamed = 0;
            if (snprintf(dir, sizeof dir, "%s/refs", s.repo_dir) >= (int)sizeof dir)
                continue;
            each_ref(&s, dir, "", fn, ctx, type, repo, 0, named, &nnamed);
            /* snapshots no ref names: answerable by their commit */
            if (snprintf(dir, sizeof dir, "%s/snapshots", s.repo_dir) >= (int)sizeof dir)
                continue;
            DIR *sd = opendir(dir);
            struct dirent *se;
            while (sd && (se = readdir(sd))) {
                if (strlen(se->d_name) != 40 || !is_hex(se->d_name, 40))
                    continue;
                int seen = 0;
                for (size_t k = 0; k < nnamed && !seen; k++)
                    seen = strcmp(named[k], se->d_name) == 0;
                if (seen)
                    continue;
                memcpy(s.sha, se->d_name, 41);
                struct hfs_cache_file *files;
                long n = hfs_cache_list(&s, "", &files);
                free(files);
                fn(ctx, type, repo, "", s.sha, n, s.repo_dir);
            }
            if (sd)
                closedir(sd);
        }
        if (d)
            closedir(d);
    }
}
