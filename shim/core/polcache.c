/* polcache: the compiled policy, a rules file's top level stored for the
 * next processes (see header).
 *
 * Layout (native byte order and sizes: the file never leaves the machine
 * and user that wrote it):
 *   header  "HFSPOLC" + version byte, u32 length of the whole file,
 *           u32 zero, u64 FNV-1a of everything after the header
 *   key     u32 n; n × (str path, u64 dev, ino, i64 size, mtime s, ns,
 *           ctime s, ns): the library, the rules file, its includes
 *   top     i32 offline, children, log_format, log_format_set, locked,
 *           tokens.present, tokens.keep_xet, reach.offline_variables;
 *           str source, log_dest, audit_path; u32 nenv, nenv × (str, str)
 *   str     u32 length (0xffffffff: NULL), the bytes, a NUL
 * Bump POLCACHE_VERSION whenever the layout or the set of fields changes. */
#include "polcache.h"
#include "startup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sysio.h"

#define POLCACHE_MAGIC "HFSPOLC"
#define POLCACHE_VERSION 1
#define HEADER_SIZE 24
#define MAX_FILE (1u << 20)
#define MAX_KEYED 64
#define MAX_ENV 4096
#define NO_STR 0xffffffffu

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* out = a + b + c (c may be NULL); -1 when it does not fit. */
HFS_STARTUP static int join3(char *out, size_t cap, const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
    if (la + lb + lc >= cap)
        return -1;
    memcpy(out, a, la);
    memcpy(out + la, b, lb);
    memcpy(out + la + lb, c ? c : "", lc);
    out[la + lb + lc] = 0;
    return 0;
}

HFS_STARTUP int hfs_polcache_name(const char *lib_path, const char *rules_path, const char *dir, char *out, size_t cap)
{
    char name[32] = "/policy-";
    uint64_t h;
    if (!rules_path || rules_path[0] != '/' || !lib_path || lib_path[0] != '/' || !dir || dir[0] != '/')
        return -1;
    /* no printf on the start-up path: its code pages would be faults */
    h = fnv1a((const unsigned char *)lib_path, strlen(lib_path) + 1);
    h ^= fnv1a((const unsigned char *)rules_path, strlen(rules_path)) * 31;
    for (int i = 0; i < 16; i++)
        name[8 + i] = "0123456789abcdef"[(h >> (60 - 4 * i)) & 15];
    name[24] = 0;
    return join3(out, cap, dir, name, NULL);
}

HFS_STARTUP int hfs_polcache_path(const char *lib_path, const char *rules_path, const char *(*env)(const char *),
                                  char *out, size_t cap)
{
    const char *xdg = env("XDG_CACHE_HOME"), *home = env("HOME");
    char dir[1024]; /* longer: no compiled policy */
    if (xdg && xdg[0] == '/') {
        if (join3(dir, sizeof dir, xdg, "/hfshim", NULL))
            return -1;
    } else if (home && home[0] == '/') {
        if (join3(dir, sizeof dir, home, "/.cache/hfshim", NULL))
            return -1;
    } else {
        return -1;
    }
    return hfs_polcache_name(lib_path, rules_path, dir, out, cap);
}

/* -- the key ------------------------------------------------------------ */

struct ident {
    uint64_t dev, ino;
    int64_t size, mtime_s, mtime_ns, ctime_s, ctime_ns;
};

HFS_STARTUP static int ident_of(const char *path, struct ident *id)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    *id = (struct ident){ (uint64_t)st.st_dev,        (uint64_t)st.st_ino,         (int64_t)st.st_size,
                          (int64_t)st.st_mtim.tv_sec, (int64_t)st.st_mtim.tv_nsec, (int64_t)st.st_ctim.tv_sec,
                          (int64_t)st.st_ctim.tv_nsec };
    return 0;
}

/* -- reading -------------------------------------------------------------- */

struct cur {
    const unsigned char *p;
    size_t left;
    int bad;
};

static void take(struct cur *c, void *dst, size_t n)
{
    if (c->bad || c->left < n) {
        c->bad = 1;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, c->p, n);
    c->p += n;
    c->left -= n;
}

static uint32_t take_u32(struct cur *c)
{
    uint32_t v;
    take(c, &v, sizeof v);
    return v;
}

static int32_t take_i32(struct cur *c)
{
    int32_t v;
    take(c, &v, sizeof v);
    return v;
}

/* A string inside the mapping (NUL-terminated there), or NULL. */
HFS_STARTUP static const char *take_str(struct cur *c)
{
    uint32_t n = take_u32(c);
    const char *s;
    if (c->bad || n == NO_STR)
        return NULL;
    if (n >= c->left || c->p[n] != 0 || memchr(c->p, 0, n)) {
        c->bad = 1;
        return NULL;
    }
    s = (const char *)c->p;
    c->p += (size_t)n + 1;
    c->left -= (size_t)n + 1;
    return s;
}

/* 1 when the key stored at c matches the files as they are now; the
 * included files' paths (pointers into the mapping) go to inc[0..*ninc). */
HFS_STARTUP static int key_matches(struct cur *c, const char *lib_path, const char *rules_path, const char **inc,
                                   size_t *ninc)
{
    uint32_t n = take_u32(c);
    *ninc = 0;
    if (c->bad || n < 2 || n > MAX_KEYED)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        struct ident want, now;
        const char *path = take_str(c);
        take(c, &want, sizeof want);
        if (c->bad || !path || path[0] != '/')
            return 0;
        if ((i == 0 && strcmp(path, lib_path) != 0) || (i == 1 && strcmp(path, rules_path) != 0))
            return 0;
        if (ident_of(path, &now) || memcmp(&want, &now, sizeof want) != 0)
            return 0;
        if (i >= 2)
            inc[(*ninc)++] = path;
    }
    return 1;
}

HFS_STARTUP static struct hfs_rules *top_of(struct cur *c, const char **inc, size_t ninc)
{
    struct hfs_rules *r = calloc(1, sizeof *r);
    uint32_t nenv;
    if (!r)
        return NULL;
    /* the included files, for the trust checks of a system policy */
    if (ninc && !(r->includes = malloc(ninc * sizeof *r->includes)))
        goto bad;
    for (size_t i = 0; i < ninc; i++)
        r->includes[i] = (char *)inc[i];
    r->nincludes = ninc;
    r->offline = take_i32(c);
    r->children = take_i32(c);
    r->log_format = take_i32(c) == HFS_LOG_JSON ? HFS_LOG_JSON : HFS_LOG_TEXT;
    r->log_format_set = take_i32(c);
    r->locked = take_i32(c);
    r->tokens.present = take_i32(c);
    r->tokens.keep_xet = take_i32(c);
    r->reach.offline_variables = take_i32(c);
    /* the model's strings are not const; these are never written or freed */
    r->source = (char *)take_str(c);
    r->log_dest = (char *)take_str(c);
    r->audit_path = (char *)take_str(c);
    nenv = take_u32(c);
    if (c->bad || nenv > MAX_ENV || !r->source)
        goto bad;
    if (nenv && !(r->env = calloc(nenv, sizeof *r->env)))
        goto bad;
    for (uint32_t i = 0; i < nenv; i++) {
        r->env[i].name = (char *)take_str(c);
        r->env[i].value = (char *)take_str(c);
        if (!r->env[i].name)
            c->bad = 1;
    }
    r->nenv = nenv;
    if (c->bad || c->left != 0)
        goto bad;
    return r;
bad:
    free(r->includes);
    free(r->env);
    free(r);
    return NULL;
}

HFS_STARTUP void hfs_polcache_free(struct hfs_rules *r)
{
    if (!r)
        return;
    free(r->includes);
    free(r->env);
    free(r); /* the strings are in the mapping, kept */
}

HFS_STARTUP struct hfs_rules *hfs_polcache_read(const char *cache_path, const char *lib_path, const char *rules_path,
                                                int shared)
{
    struct stat st;
    struct hfs_rules *r = NULL;
    uint64_t sum;
    uint32_t len;
    int fd = hfs_sys_openat(AT_FDCWD, cache_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0);
    if (fd < 0)
        return NULL;
    /* the user's own file, written by hfshim (0600): nobody else's edits;
     * shared (a system policy's): root's, which only root can change */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != (shared ? 0 : geteuid()) ||
        (st.st_mode & (shared ? 022 : 077)) || st.st_size < HEADER_SIZE || st.st_size > MAX_FILE) {
        hfs_sys_close(fd);
        return NULL;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    hfs_sys_close(fd);
    if (map == MAP_FAILED)
        return NULL;
    const unsigned char *p = map;
    uint32_t zero;
    memcpy(&len, p + 8, sizeof len);
    memcpy(&zero, p + 12, sizeof zero);
    memcpy(&sum, p + 16, sizeof sum);
    if (memcmp(p, POLCACHE_MAGIC, 7) == 0 && p[7] == POLCACHE_VERSION && len == (uint64_t)st.st_size && zero == 0 &&
        sum == fnv1a(p + HEADER_SIZE, len - HEADER_SIZE)) {
        struct cur c = { p + HEADER_SIZE, len - HEADER_SIZE, 0 };
        const char *inc[MAX_KEYED];
        size_t ninc = 0;
        if (key_matches(&c, lib_path, rules_path, inc, &ninc))
            r = top_of(&c, inc, ninc);
    }
    if (!r)
        munmap(map, (size_t)st.st_size);
    return r;
}

/* -- writing -------------------------------------------------------------- */

struct buf {
    unsigned char *p;
    size_t len, cap;
    int bad;
};

static void put(struct buf *b, const void *src, size_t n)
{
    if (b->bad)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *q = cap <= MAX_FILE ? realloc(b->p, cap) : NULL;
        if (!q) {
            b->bad = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_u32(struct buf *b, uint32_t v) { put(b, &v, sizeof v); }
static void put_i32(struct buf *b, int32_t v) { put(b, &v, sizeof v); }

static void put_str(struct buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (!s) {
        put_u32(b, NO_STR);
        return;
    }
    if (n >= NO_STR) {
        b->bad = 1;
        return;
    }
    put_u32(b, (uint32_t)n);
    put(b, s, n + 1);
}

/* Adds path's identity; -1 when it cannot be taken or is too fresh. */
static int put_key(struct buf *b, const char *path, time_t now)
{
    struct ident id;
    if (!path || path[0] != '/' || ident_of(path, &id))
        return -1;
    if (now - id.mtime_s < 2 || now - id.ctime_s < 2) /* a fresh change (see header) */
        return -1;
    put_str(b, path);
    put(b, &id, sizeof id);
    return 0;
}

/* mkdir -p of cache_path's folder (0700 for the ones it makes). */
static int make_dirs(const char *cache_path)
{
    char dir[4096];
    size_t n = strlen(cache_path);
    if (n >= sizeof dir)
        return -1;
    memcpy(dir, cache_path, n + 1);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return -1;
    *slash = 0;
    for (char *s = dir + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(dir, 0700) != 0 && errno != EEXIST)
                return -1;
            *s = c;
            if (!c)
                break;
        }
    }
    return 0;
}

/* The rules path a compiled policy file was written for (its second key
 * entry) into out; 0, or -1 when the file is not one. */
static int rules_path_of(const char *file, char *out, size_t cap)
{
    unsigned char buf[4096 + 64];
    int fd = hfs_sys_openat(AT_FDCWD, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0);
    long n = fd < 0 ? -1 : hfs_sys_read(fd, buf, sizeof buf);
    hfs_sys_close(fd);
    if (n < HEADER_SIZE || memcmp(buf, POLCACHE_MAGIC, 7) != 0 || buf[7] != POLCACHE_VERSION)
        return -1;
    struct cur c = { buf + HEADER_SIZE, (size_t)n - HEADER_SIZE, 0 };
    struct ident id;
    if (take_u32(&c) < 2 || !take_str(&c))
        return -1;
    take(&c, &id, sizeof id);
    const char *rules = take_str(&c);
    if (c.bad || !rules || strlen(rules) >= cap)
        return -1;
    memcpy(out, rules, strlen(rules) + 1);
    return 0;
}

/* After writing one: the user's compiled policies whose rules file is gone
 * (a temporary rules file, a removed checkout) are removed, so the folder
 * does not keep one for every path ever used. */
static void prune(const char *cache_path)
{
    char dir[1024], file[1100], rules[4096];
    const char *slash = strrchr(cache_path, '/');
    size_t n = slash ? (size_t)(slash - cache_path) : 0;
    struct stat st;
    if (!n || n >= sizeof dir)
        return;
    memcpy(dir, cache_path, n);
    dir[n] = 0;
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, "policy-", 7) != 0 || strlen(e->d_name) != 7 + 16 ||
            strspn(e->d_name + 7, "0123456789abcdef") != 16 || join3(file, sizeof file, dir, "/", e->d_name))
            continue;
        if (lstat(file, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
            continue;
        if (rules_path_of(file, rules, sizeof rules) == 0 && stat(rules, &st) != 0 && errno == ENOENT)
            unlink(file);
    }
    closedir(d);
}

int hfs_polcache_write(const char *cache_path, const char *lib_path, const char *rules_path, const struct hfs_rules *r,
                       int shared)
{
    struct buf b = { 0 };
    struct timespec ts;
    char tmp[4200];
    uint64_t sum;
    uint32_t len;
    int rc = -1, fd;
    if (!r || r->nincludes + 2 > MAX_KEYED || r->nenv > MAX_ENV || clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return -1;
    put(&b, POLCACHE_MAGIC, 7);
    put(&b, (unsigned char[]){ POLCACHE_VERSION }, 1);
    put(&b, (unsigned char[16]){ 0 }, 16); /* length, zero, checksum: filled in below */
    put_u32(&b, (uint32_t)(r->nincludes + 2));
    if (put_key(&b, lib_path, ts.tv_sec) || put_key(&b, rules_path, ts.tv_sec))
        goto out;
    for (size_t i = 0; i < r->nincludes; i++)
        if (put_key(&b, r->includes[i], ts.tv_sec))
            goto out;
    put_i32(&b, r->offline);
    put_i32(&b, r->children);
    put_i32(&b, (int32_t)r->log_format);
    put_i32(&b, r->log_format_set);
    put_i32(&b, r->locked);
    put_i32(&b, r->tokens.present);
    put_i32(&b, r->tokens.keep_xet);
    put_i32(&b, r->reach.offline_variables);
    put_str(&b, r->source ? r->source : rules_path);
    put_str(&b, r->log_dest);
    put_str(&b, r->audit_path);
    put_u32(&b, (uint32_t)r->nenv);
    for (size_t i = 0; i < r->nenv; i++) {
        /* a value that may hold a token (an env.set of HF_TOKEN …) is never
         * copied into a second file: such rules are parsed at start */
        const char *val = r->env[i].value;
        if (!r->env[i].name || (val && (strstr(val, "hf_") || strstr(val, "api_org_"))))
            b.bad = 1;
        put_str(&b, r->env[i].name);
        put_str(&b, r->env[i].value);
    }
    if (b.bad)
        goto out;
    len = (uint32_t)b.len;
    sum = fnv1a(b.p + HEADER_SIZE, b.len - HEADER_SIZE);
    memcpy(b.p + 8, &len, sizeof len);
    memcpy(b.p + 16, &sum, sizeof sum);
    if (make_dirs(cache_path))
        goto out;
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", cache_path, hfs_sys_getpid());
    fd = hfs_sys_openat(AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                        shared ? 0644 : 0600);
    if (fd < 0)
        goto out;
    if (shared && fchmod(fd, 0644) != 0) { /* whatever the umask: every user reads it */
        hfs_sys_close(fd);
        unlink(tmp);
        goto out;
    }
    long w = hfs_sys_write(fd, b.p, b.len);
    if (hfs_sys_close(fd) == 0 && w == (long)b.len && rename(tmp, cache_path) == 0) {
        rc = 0;
        if (!shared)
            prune(cache_path);
    } else {
        unlink(tmp);
    }
out:
    free(b.p);
    return rc;
}
