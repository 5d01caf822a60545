/* hubpath: Hub metadata calls recognised in a request (see header). */
#include "hubpath.h"

#include <stdio.h>
#include <string.h>

#include "url.h"

int hfs_hub_safe_relpath(const char *s, unsigned long max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    const char *seg = s;
    for (const char *p = s;; p++) {
        if (*p == '/' || *p == 0) {
            size_t l = (size_t)(p - seg);
            if (l == 0 || l > 255 || (l == 1 && seg[0] == '.') || (l == 2 && seg[0] == '.' && seg[1] == '.'))
                return 0;
            if (*p == 0)
                return 1;
            seg = p + 1;
        } else if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\') {
            return 0;
        }
    }
}

/* A repo id segment as the Hub allows them: letters, digits, '-', '_',
 * '.'; not starting or ending with '-' or '.', no "--" or "..". */
static int repo_segment_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 96 || s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return 0;
        if (i && (c == '-' || c == '.') && s[i - 1] == c)
            return 0;
    }
    return 1;
}

int hfs_hub_folder(const char *type, const char *repo, char *out, unsigned long cap)
{
    char tmp[HFS_HUB_REPO_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s", repo);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return -1;
    for (char *p = tmp; *p; p++)
        if (*p == '/')
            *p = 0; /* segments joined by "--" below */
    const char *org = tmp, *name = strchr(repo, '/') ? tmp + strlen(tmp) + 1 : NULL;
    n = name ? snprintf(out, cap, "%ss--%s--%s", type, org, name) : snprintf(out, cap, "%ss--%s", type, org);
    return n < 0 || (unsigned long)n >= cap ? -1 : 0;
}

#define MAXSEG 64

struct segs {
    const char *p[MAXSEG];
    size_t n[MAXSEG];
    size_t count;
};

/* Splits the path into raw (still encoded) segments; -1 when empty
 * segments or too many. */
static int split(const char *path, struct segs *s)
{
    s->count = 0;
    if (path[0] != '/')
        return -1;
    const char *p = path + 1;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 0 || s->count == MAXSEG)
            return -1;
        s->p[s->count] = p;
        s->n[s->count++] = l;
        if (!e)
            break;
        p = e + 1;
        if (!*p) /* a trailing slash */
            return -1;
    }
    return 0;
}

static int seg_is(const struct segs *s, size_t i, const char *word)
{
    return i < s->count && s->n[i] == strlen(word) && memcmp(s->p[i], word, s->n[i]) == 0;
}

static const char *type_of(const struct segs *s, size_t i, int plural)
{
    static const char *const names[][2] = { { "models", "model" }, { "datasets", "dataset" }, { "spaces", "space" } };
    for (size_t k = 0; k < 3; k++)
        if (seg_is(s, i, names[k][plural ? 0 : 1]))
            return names[k][1];
    return NULL;
}

/* The repo id from segments [i, i+n) (n = 1 or 2). */
static int take_repo(const struct segs *s, size_t i, size_t n, struct hfs_hubreq *q, const char **why)
{
    char a[100], b[100];
    if (hfs_pct_decode(s->p[i], s->n[i], a, sizeof a, 0) || !repo_segment_ok(a) ||
        (n == 2 && (hfs_pct_decode(s->p[i + 1], s->n[i + 1], b, sizeof b, 0) || !repo_segment_ok(b)))) {
        *why = "the repo id is not a valid Hub repo id";
        return -1;
    }
    if (n == 2)
        snprintf(q->repo, sizeof q->repo, "%s/%s", a, b);
    else
        snprintf(q->repo, sizeof q->repo, "%s", a);
    return 0;
}

/* Segments [i, count) joined by '/' and decoded into out. */
static int take_rest(const struct segs *s, size_t i, char *out, size_t cap)
{
    if (i >= s->count)
        return -1;
    const char *start = s->p[i], *end = s->p[s->count - 1] + s->n[s->count - 1];
    return hfs_pct_decode(start, (size_t)(end - start), out, cap, 0);
}

static int take_rev(const struct segs *s, size_t i, struct hfs_hubreq *q, const char **why)
{
    if (i >= s->count || hfs_pct_decode(s->p[i], s->n[i], q->rev, sizeof q->rev, 0) ||
        !hfs_hub_safe_relpath(q->rev, HFS_HUB_REV_MAX - 1)) {
        *why = "the revision is malformed";
        return -1;
    }
    return 0;
}

static int take_path(const struct segs *s, size_t i, struct hfs_hubreq *q, const char **why)
{
    if (take_rest(s, i, q->path, sizeof q->path) || !hfs_hub_safe_relpath(q->path, HFS_HUB_PATH_MAX - 1)) {
        *why = "the file path is malformed or leaves the repository";
        return -1;
    }
    return 0;
}

static int query_flag(const char *query, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = query; p && *p;) {
        const char *e = strchr(p, '&');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l > kl && memcmp(p, key, kl) == 0 && p[kl] == '=') {
            const char *v = p + kl + 1;
            size_t vl = l - kl - 1;
            return (vl == 4 && (memcmp(v, "true", 4) == 0 || memcmp(v, "True", 4) == 0)) || (vl == 1 && *v == '1');
        }
        p = e ? e + 1 : NULL;
    }
    return 0;
}

/* /api/{type}s/{repo}[/revision/{rev} | /tree/{rev}[/{path}] | /paths-info/{rev}] */
static int parse_api(const char *method, const struct segs *s, const char *query, struct hfs_hubreq *q,
                     const char **why)
{
    q->type = type_of(s, 1, 1);
    if (!q->type || s->count < 3)
        return 0;
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    /* the marker decides whether the repo id has one segment or two */
    for (size_t n = 1; n <= 2; n++) {
        size_t m = 2 + n;
        if (s->count == m) { /* /api/models/{repo} */
            if (!get)
                return 0;
            q->kind = HFS_HUB_INFO;
        } else if (seg_is(s, m, "revision") && s->count == m + 2) {
            if (!get)
                return 0;
            q->kind = HFS_HUB_INFO;
            if (take_rev(s, m + 1, q, why))
                return -1;
        } else if (seg_is(s, m, "tree") && s->count >= m + 2) {
            if (!get)
                return 0;
            q->kind = HFS_HUB_TREE;
            if (take_rev(s, m + 1, q, why) || (s->count > m + 2 && take_path(s, m + 2, q, why)))
                return -1;
            q->recursive = query_flag(query, "recursive");
        } else if (seg_is(s, m, "paths-info") && s->count == m + 2) {
            if (!post)
                return 0;
            q->kind = HFS_HUB_PATHS_INFO;
            if (take_rev(s, m + 1, q, why))
                return -1;
        } else {
            continue;
        }
        if (take_repo(s, 2, n, q, why))
            return -1;
        q->blobs = query_flag(query, "blobs");
        return 1;
    }
    return 0;
}

int hfs_hub_parse(const char *method, const char *path, const char *query, struct hfs_hubreq *q, const char **why)
{
    static const char *none = "";
    struct segs s;
    memset(q, 0, sizeof *q);
    *why = none;
    if (!method || !path || split(path, &s) || s.count < 2)
        return 0;
    int rc;
    if (seg_is(&s, 0, "api") && seg_is(&s, 1, "resolve-cache")) {
        /* /api/resolve-cache/{type}s/{repo}/{rev}/{path}: the revision is
         * a commit sha, which tells where the repo id ends */
        if (strcmp(method, "GET") && strcmp(method, "HEAD"))
            return 0;
        q->type = type_of(&s, 2, 1);
        if (!q->type)
            return 0;
        size_t n = 0;
        for (size_t k = 1; k <= 2 && !n; k++)
            if (s.count > 3 + k + 1 && s.n[3 + k] == 40) {
                char sha[41];
                if (hfs_pct_decode(s.p[3 + k], 40, sha, sizeof sha, 0) == 0 && strspn(sha, "0123456789abcdef") == 40)
                    n = k;
            }
        if (!n)
            return 0;
        q->kind = HFS_HUB_RESOLVE;
        rc = take_repo(&s, 3, n, q, why) || take_rev(&s, 3 + n, q, why) || take_path(&s, 4 + n, q, why) ? -1 : 1;
    } else if (seg_is(&s, 0, "api")) {
        rc = parse_api(method, &s, query, q, why);
    } else {
        /* [/{type}s]/{repo}/resolve/{rev}/{path} */
        if (strcmp(method, "GET") && strcmp(method, "HEAD"))
            return 0;
        size_t base = 0;
        q->type = "model";
        if (type_of(&s, 0, 1) && strcmp(type_of(&s, 0, 1), "model")) {
            q->type = type_of(&s, 0, 1);
            base = 1;
        }
        size_t n = seg_is(&s, base + 1, "resolve") ? 1 : seg_is(&s, base + 2, "resolve") ? 2 : 0;
        if (!n || s.count < base + n + 3)
            return 0;
        q->kind = HFS_HUB_RESOLVE;
        rc = take_repo(&s, base, n, q, why) || take_rev(&s, base + n + 1, q, why) || take_path(&s, base + n + 2, q, why)
                 ? -1
                 : 1;
    }
    if (rc == 1)
        q->head = strcmp(method, "HEAD") == 0;
    if (rc <= 0 && rc != -1)
        q->kind = HFS_HUB_NONE;
    return rc;
}
