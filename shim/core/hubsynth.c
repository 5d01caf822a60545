/* hubsynth: Hub answers from the cache (see header). */
#include "hubsynth.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cjson_bind.h"
#include "readfile.h"
#include "url.h"

static void hdr(struct hfs_cache_answer *o, const char *name, const char *fmt, const char *v1, unsigned long long n)
{
    struct hfs_answer *a = &o->a;
    if (a->nheaders >= 10 || a->nheaders >= HFS_ANSWER_MAX_HEADERS)
        return;
    char *buf = o->hv[a->nheaders];
    if (v1)
        snprintf(buf, sizeof o->hv[0], fmt, v1);
    else
        snprintf(buf, sizeof o->hv[0], fmt, n);
    a->headers[a->nheaders++] = (struct hfs_header){ name, strlen(name), buf, strlen(buf) };
}

static int json_answer(struct hfs_cache_answer *o, cJSON *doc)
{
    const struct hfs_cjson *J = hfs_cjson();
    char *text = doc ? J->PrintUnformatted(doc) : NULL;
    if (doc)
        J->Delete(doc);
    if (!text)
        return -1;
    size_t n = strlen(text);
    o->body = malloc(n + 1);
    if (!o->body) {
        J->free_(text);
        return -1;
    }
    memcpy(o->body, text, n + 1);
    J->free_(text);
    o->a.status = 200;
    o->a.reason = hfs_reason_phrase(200);
    hdr(o, "Content-Type", "%s", "application/json; charset=utf-8", 0);
    hdr(o, "X-Repo-Commit", "%s", o->sha, 0);
    o->a.body = o->body;
    o->a.body_len = n;
    return 1;
}

static cJSON *file_item(const struct hfs_cache_file *f, int with_lfs)
{
    const struct hfs_cjson *J = hfs_cjson();
    cJSON *it = J->CreateObject();
    if (!it)
        return NULL;
    J->AddStringToObject(it, "type", "file");
    J->AddStringToObject(it, "oid", f->oid);
    J->AddNumberToObject(it, "size", (double)f->size);
    J->AddStringToObject(it, "path", f->path);
    if (f->lfs && with_lfs) {
        cJSON *l = J->CreateObject();
        if (l) {
            J->AddStringToObject(l, "oid", f->etag);
            J->AddNumberToObject(l, "size", (double)f->size);
            J->AddNumberToObject(l, "pointerSize", f->pointer_size);
            J->AddItemToObject(it, "lfs", l);
        }
    }
    return it;
}

static cJSON *dir_item(const char *path)
{
    const struct hfs_cjson *J = hfs_cjson();
    cJSON *it = J->CreateObject();
    if (!it)
        return NULL;
    J->AddStringToObject(it, "type", "directory");
    J->AddStringToObject(it, "oid", "0000000000000000000000000000000000000000");
    J->AddNumberToObject(it, "size", 0);
    J->AddStringToObject(it, "path", path);
    return it;
}

static int info(const struct hfs_hubreq *q, const struct hfs_snapshot *s, struct hfs_cache_answer *o)
{
    const struct hfs_cjson *J = hfs_cjson();
    struct hfs_cache_file *files;
    long n = hfs_cache_list(s, "", &files);
    if (n < 0)
        return -1;
    cJSON *doc = J->CreateObject(), *sib = J->CreateArray();
    if (!doc || !sib) {
        free(files);
        if (doc)
            J->Delete(doc);
        if (sib)
            J->Delete(sib);
        return -1;
    }
    J->AddStringToObject(doc, "_id", s->sha); /* the Hub's is an object id; clients only pass it on */
    J->AddStringToObject(doc, "id", q->repo);
    if (!strcmp(q->type, "model"))
        J->AddStringToObject(doc, "modelId", q->repo);
    J->AddStringToObject(doc, "sha", s->sha);
    J->AddBoolToObject(doc, "private", 0);
    J->AddBoolToObject(doc, "disabled", 0);
    J->AddBoolToObject(doc, "gated", 0);
    J->AddNumberToObject(doc, "downloads", 0);
    J->AddNumberToObject(doc, "likes", 0);
    J->AddStringToObject(doc, "lastModified", "1970-01-01T00:00:00.000Z");
    J->AddItemToObject(doc, "tags", J->CreateArray());
    for (long i = 0; i < n; i++) {
        cJSON *it = J->CreateObject();
        if (!it)
            continue;
        J->AddStringToObject(it, "rfilename", files[i].path);
        if (q->blobs) {
            J->AddStringToObject(it, "blobId", files[i].oid);
            J->AddNumberToObject(it, "size", (double)files[i].size);
            if (files[i].lfs) {
                cJSON *l = J->CreateObject();
                if (l) {
                    J->AddStringToObject(l, "sha256", files[i].etag);
                    J->AddNumberToObject(l, "size", (double)files[i].size);
                    J->AddNumberToObject(l, "pointerSize", files[i].pointer_size);
                    J->AddItemToObject(it, "lfs", l);
                }
            }
        }
        J->AddItemToArray(sib, it);
    }
    J->AddItemToObject(doc, "siblings", sib);
    free(files);
    snprintf(o->summary, sizeof o->summary, "repo info of %s@%.12s (%ld cached files)", q->repo, s->sha, n);
    return json_answer(o, doc);
}

/* 1 when path was already listed as a folder. */
static int seen_dir(char **dirs, size_t n, const char *p)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(dirs[i], p))
            return 1;
    return 0;
}

static int tree(const struct hfs_hubreq *q, const struct hfs_snapshot *s, struct hfs_cache_answer *o)
{
    const struct hfs_cjson *J = hfs_cjson();
    struct hfs_cache_file *files;
    long n = hfs_cache_list(s, q->path, &files);
    if (n < 0)
        return -1;
    if (n == 0 && *q->path) { /* not a cached folder: the Hub would say 404; we do not know */
        snprintf(o->summary, sizeof o->summary, "no cached files under %.160s in %.100s@%.12s", q->path, q->repo,
                 s->sha);
        return 0;
    }
    cJSON *doc = J->CreateArray();
    char **dirs = calloc((size_t)n * 4 + 1, sizeof *dirs);
    size_t nd = 0;
    if (!doc || !dirs) {
        free(files);
        free(dirs);
        if (doc)
            J->Delete(doc);
        return -1;
    }
    size_t plen = strlen(q->path);
    for (long i = 0; i < n; i++) {
        const char *rest = files[i].path + (plen ? plen + 1 : 0);
        /* the folders on the way, once each: every level when recursive,
         * the first one only otherwise (then its files are not listed) */
        for (const char *sl = strchr(rest, '/'); sl; sl = q->recursive ? strchr(sl + 1, '/') : NULL) {
            size_t dl = (size_t)(sl - files[i].path);
            char *d = strndup(files[i].path, dl);
            if (d && !seen_dir(dirs, nd, d) && nd < (size_t)n * 4) {
                dirs[nd++] = d;
                J->AddItemToArray(doc, dir_item(d));
            } else {
                free(d);
            }
        }
        if (!q->recursive && strchr(rest, '/'))
            continue;
        J->AddItemToArray(doc, file_item(&files[i], 1));
    }
    for (size_t i = 0; i < nd; i++)
        free(dirs[i]);
    free(dirs);
    snprintf(o->summary, sizeof o->summary, "tree of %.100s@%.12s%s%.160s (%ld cached files)", q->repo, s->sha,
             *q->path ? " under " : "", q->path, n);
    free(files);
    return json_answer(o, doc);
}

/* One path a paths-info body names: the cached file, or the folder when
 * cached files are under it; nothing otherwise. */
static void add_path(const struct hfs_snapshot *s, cJSON *doc, const char *p, int *count)
{
    struct hfs_cache_file f;
    char clean[1024];
    snprintf(clean, sizeof clean, "%s", p);
    size_t l = strlen(clean);
    while (l && clean[l - 1] == '/')
        clean[--l] = 0;
    if (hfs_cache_file(s, clean, &f, NULL, 0)) {
        hfs_cjson()->AddItemToArray(doc, file_item(&f, 1));
        (*count)++;
        return;
    }
    struct hfs_cache_file *files;
    long n = hfs_cache_list(s, clean, &files);
    if (n > 0) { /* a cached folder */
        hfs_cjson()->AddItemToArray(doc, dir_item(clean));
        (*count)++;
    }
    free(files);
}

/* The paths a paths-info body names: form (paths=a&paths=b) or JSON
 * {"paths": [...]}. */
static int paths_info(const struct hfs_hubreq *q, const struct hfs_snapshot *s, const char *body, size_t len,
                      struct hfs_cache_answer *o)
{
    const struct hfs_cjson *J = hfs_cjson();
    cJSON *doc = J->CreateArray();
    int count = 0;
    if (!doc)
        return -1;
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
        i++;
    if (i < len && body[i] == '{') {
        cJSON *in = J->ParseWithLengthOpts(body, len, NULL, 0);
        cJSON *paths = NULL;
        for (cJSON *c = in ? in->child : NULL; c; c = c->next)
            if (c->string && !strcmp(c->string, "paths"))
                paths = c;
        for (cJSON *c = paths ? paths->child : NULL; c; c = c->next)
            if (HFS_JTYPE(c) == cJSON_String && c->valuestring)
                add_path(s, doc, c->valuestring, &count);
        if (paths && HFS_JTYPE(paths) == cJSON_String && paths->valuestring)
            add_path(s, doc, paths->valuestring, &count);
        if (in)
            J->Delete(in);
    } else {
        const char *p = body, *end = body + len;
        while (p < end) {
            const char *amp = memchr(p, '&', (size_t)(end - p));
            const char *e = amp ? amp : end;
            const char *eq = memchr(p, '=', (size_t)(e - p));
            char key[32], val[1024];
            if (eq && hfs_pct_decode(p, (size_t)(eq - p), key, sizeof key, 1) == 0 && !strcmp(key, "paths") &&
                hfs_pct_decode(eq + 1, (size_t)(e - eq - 1), val, sizeof val, 1) == 0)
                add_path(s, doc, val, &count);
            p = e + 1;
        }
    }
    snprintf(o->summary, sizeof o->summary, "paths-info of %s@%.12s (%d cached)", q->repo, s->sha, count);
    return json_answer(o, doc);
}

/* "bytes=A-B", "bytes=A-", "bytes=-N" against size: 1 with [*a, *b]
 * inclusive, 0 unsatisfiable, -1 not a single byte range (ignored, as
 * servers do). */
static int parse_range(const char *r, unsigned long long size, unsigned long long *a, unsigned long long *b)
{
    if (strncmp(r, "bytes=", 6))
        return -1;
    r += 6;
    if (strchr(r, ','))
        return -1;
    char *end;
    if (*r == '-') {
        unsigned long long n = strtoull(r + 1, &end, 10);
        if (end == r + 1 || *end)
            return -1;
        if (n == 0 || size == 0)
            return 0;
        *a = n >= size ? 0 : size - n;
        *b = size - 1;
        return 1;
    }
    if (*r < '0' || *r > '9')
        return -1;
    *a = strtoull(r, &end, 10);
    if (*end != '-')
        return -1;
    const char *bs = end + 1;
    if (!*bs) {
        *b = size ? size - 1 : 0;
    } else {
        *b = strtoull(bs, &end, 10);
        if (*end || *b < *a)
            return -1;
        if (*b >= size)
            *b = size ? size - 1 : 0;
    }
    return *a < size ? 1 : 0;
}

static int read_blob(const char *path, unsigned long long off, size_t n, char *out)
{
    struct stat st;
    const char *why;
    int fd = hfs_file_open(path, O_RDONLY, 0, &st, &why);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < n) {
        long k = hfs_sys_pread(fd, out + got, n - got, off + got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    hfs_sys_close(fd);
    return got == n ? 0 : -1;
}

static int resolve(const struct hfs_hubreq *q, const struct hfs_snapshot *s, const char *range,
                   struct hfs_cache_answer *o)
{
    struct hfs_cache_file f;
    char blob[PATH_MAX];
    if (!hfs_cache_file(s, q->path, &f, blob, sizeof blob)) {
        if (hfs_cache_listed(s, q->path)) {
            /* in the snapshot, its content not here (blob missing or a
             * link leaving the repo): it exists at that commit, so never
             * EntryNotFound, whatever .no_exist says */
            snprintf(o->summary, sizeof o->summary, "%.160s of %.100s@%.12s is listed but its content is not cached",
                     q->path, q->repo, s->sha);
            return 0;
        }
        if (hfs_cache_no_exist(s, q->path)) {
            /* the client itself recorded that the file does not exist at this commit */
            static const char msg[] = "{\"error\":\"Entry not found\"}";
            o->a.status = 404;
            o->a.reason = hfs_reason_phrase(404);
            hdr(o, "Content-Type", "%s", "application/json; charset=utf-8", 0);
            hdr(o, "X-Repo-Commit", "%s", s->sha, 0);
            hdr(o, "X-Error-Code", "%s", "EntryNotFound", 0);
            hdr(o, "X-Error-Message", "%s", "Entry not found", 0);
            o->a.body = msg;
            o->a.body_len = sizeof msg - 1;
            snprintf(o->summary, sizeof o->summary, "%.160s of %.100s@%.12s is recorded as missing (.no_exist): 404",
                     q->path, q->repo, s->sha);
            return 1;
        }
        snprintf(o->summary, sizeof o->summary, "%.160s is not cached in %.100s@%.12s", q->path, q->repo, s->sha);
        return 0;
    }
    unsigned long long a = 0, b = f.size ? f.size - 1 : 0;
    int rr = range ? parse_range(range, f.size, &a, &b) : -1;
    if (rr == 0) {
        o->a.status = 416;
        o->a.reason = hfs_reason_phrase(416);
        hdr(o, "Content-Range", "bytes */%llu", NULL, f.size);
        hdr(o, "X-Repo-Commit", "%s", s->sha, 0);
        o->a.body = "";
        snprintf(o->summary, sizeof o->summary, "%.160s of %.100s@%.12s: range not satisfiable", q->path, q->repo,
                 s->sha);
        return 1;
    }
    unsigned long long len = rr == 1 ? b - a + 1 : f.size;
    if (!q->head && len > HFS_CACHE_BODY_MAX) {
        snprintf(o->summary, sizeof o->summary, "%.160s of %.100s@%.12s is larger than hfshim serves (%llu bytes)",
                 q->path, q->repo, s->sha, f.size);
        return 0;
    }
    o->a.status = rr == 1 ? 206 : 200;
    o->a.reason = hfs_reason_phrase(o->a.status);
    hdr(o, "Content-Type", "%s", "application/octet-stream", 0);
    hdr(o, "X-Repo-Commit", "%s", s->sha, 0);
    hdr(o, "ETag", "\"%s\"", f.oid, 0);
    if (f.lfs) {
        hdr(o, "X-Linked-Etag", "\"%s\"", f.etag, 0);
        hdr(o, "X-Linked-Size", "%llu", NULL, f.size);
    }
    hdr(o, "Accept-Ranges", "%s", "bytes", 0);
    if (rr == 1) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", a, b, f.size);
        hdr(o, "Content-Range", "%s", cr, 0);
    }
    hdr(o, "Content-Length", "%llu", NULL, len);
    o->a.body = "";
    if (!q->head && len) {
        o->body = malloc((size_t)len);
        if (!o->body)
            return -1;
        if (read_blob(blob, a, (size_t)len, o->body)) {
            free(o->body);
            o->body = NULL;
            snprintf(o->summary, sizeof o->summary, "%.160s of %.100s@%.12s could not be read", q->path, q->repo,
                     s->sha);
            return 0;
        }
        o->a.body = o->body;
        o->a.body_len = (size_t)len;
    }
    snprintf(o->summary, sizeof o->summary, "%.160s of %.100s@%.12s (%llu bytes%s)", q->path, q->repo, s->sha, f.size,
             f.lfs ? ", LFS" : "");
    return 1;
}

int hfs_cache_answer(const struct hfs_cache_roots *r, const struct hfs_hubreq *q, const char *range, const char *body,
                     size_t body_len, struct hfs_cache_answer *out)
{
    struct hfs_snapshot s;
    const char *why = "";
    memset(out, 0, sizeof *out);
    if (q->kind == HFS_HUB_NONE) {
        snprintf(out->summary, sizeof out->summary, "not a Hub call hfshim answers from the cache");
        return 0;
    }
    if (!hfs_cjson()) {
        snprintf(out->summary, sizeof out->summary, "cJSON could not be loaded");
        return 0;
    }
    if (!hfs_cache_find(r, q->type, q->repo, q->rev, &s, &why)) {
        out->unread = s.unread;
        snprintf(out->summary, sizeof out->summary, "%s %.100s@%.60s: %.100s", q->type, q->repo,
                 *q->rev ? q->rev : "main", why);
        return 0;
    }
    memcpy(out->sha, s.sha, sizeof out->sha);
    switch (q->kind) {
    case HFS_HUB_INFO: return info(q, &s, out);
    case HFS_HUB_TREE: return tree(q, &s, out);
    case HFS_HUB_PATHS_INFO:
        if (!body) {
            out->need_body = 1;
            snprintf(out->summary, sizeof out->summary, "paths-info of %s@%.12s", q->repo, s.sha);
            return 1;
        }
        return paths_info(q, &s, body, body_len, out);
    case HFS_HUB_RESOLVE: return resolve(q, &s, range, out);
    default: return 0;
    }
}

void hfs_cache_answer_free(struct hfs_cache_answer *out)
{
    free(out->body);
    out->body = NULL;
}
