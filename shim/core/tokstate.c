/* tokstate: the token state file, read and appended (see header). */
#include "tokstate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errtext.h"
#include "readfile.h"
#include "sha256.h"
#include "url.h"

static const char HEADER[] = "# hfshim token state v1: SHA-256 digests of tokens, never the tokens\n";

static const struct {
    const char *word;
    enum hfs_tok_known what;
} words[] = { { "learned", HFS_KNOWN_LEARNED }, { "invalid", HFS_KNOWN_INVALID }, { "valid", HFS_KNOWN_VALID } };

int hfs_tokstate_parse_line(const char *line, size_t len, struct hfs_tokstate_entry *out)
{
    size_t i = 0;
    if (len < 64 + 2)
        return 0;
    for (i = 0; i < 64; i++) {
        int hi = hfs_hexval(line[i]);
        if (hi < 0)
            return 0;
        if (i % 2 == 0)
            out->sha[i / 2] = (unsigned char)(hi << 4);
        else
            out->sha[i / 2] |= (unsigned char)hi;
    }
    if (line[i++] != ' ')
        return 0;
    size_t k;
    for (k = 0; k < sizeof words / sizeof *words; k++) {
        size_t wl = strlen(words[k].word);
        if (len - i > wl && memcmp(line + i, words[k].word, wl) == 0 && line[i + wl] == ' ') {
            i += wl + 1;
            break;
        }
    }
    if (k == sizeof words / sizeof *words)
        return 0;
    out->what = words[k].what;
    long long t = 0;
    size_t digits = 0;
    for (; i < len && line[i] >= '0' && line[i] <= '9' && digits < 18; i++, digits++)
        t = t * 10 + (line[i] - '0');
    if (!digits || i != len)
        return 0;
    out->when = t;
    return 1;
}

size_t hfs_tokstate_format(const struct hfs_tokstate_entry *e, char *out, size_t cap)
{
    char hex[65];
    const char *w = "learned";
    for (size_t k = 0; k < sizeof words / sizeof *words; k++)
        if (words[k].what == e->what)
            w = words[k].word;
    hfs_sha256_hex(e->sha, hex);
    int n = snprintf(out, cap, "%s %s %lld\n", hex, w, e->when < 0 ? 0 : e->when);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

int hfs_tokstate_path(const char *name, const char *(*env)(const char *), char *out, size_t cap)
{
    size_t o = 0;
    const char *p = name;
    if (!name || !cap)
        return -1;
    if (p[0] == '~' && (p[1] == '/' || !p[1])) {
        const char *home = env ? env("HOME") : NULL;
        if (!home || !*home)
            return -1;
        size_t l = strlen(home);
        if (l >= cap)
            return -1;
        memcpy(out, home, l);
        o = l;
        p++;
    }
    while (*p) {
        if (*p == '$') {
            const char *s = p + 1, *e;
            int braced = *s == '{';
            if (braced)
                s++;
            for (e = s; (*e >= 'A' && *e <= 'Z') || (*e >= 'a' && *e <= 'z') || (*e >= '0' && *e <= '9') || *e == '_';
                 e++)
                ;
            if (e == s || (braced && *e != '}'))
                return -1;
            char var[128];
            if ((size_t)(e - s) >= sizeof var)
                return -1;
            memcpy(var, s, (size_t)(e - s));
            var[e - s] = 0;
            const char *v = env ? env(var) : NULL;
            if (!v || !*v)
                return -1;
            size_t l = strlen(v);
            if (o + l >= cap)
                return -1;
            memcpy(out + o, v, l);
            o += l;
            p = braced ? e + 1 : e;
            continue;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = *p++;
    }
    out[o] = 0;
    return out[0] == '/' ? 0 : -1;
}

/* The file (regular: hfs_file_open) is this user's and nobody else may write it. */
static int safe(const struct stat *st, const char **why)
{
    if (st->st_uid != geteuid()) {
        *why = "owned by another user";
        return 0;
    }
    if (st->st_mode & 022) {
        *why = "writable by group or others (chmod 600 it)";
        return 0;
    }
    return 1;
}

int hfs_tokstate_read(const char *path, long long *off, void (*each)(void *ctx, const struct hfs_tokstate_entry *e),
                      void *ctx, const char **why)
{
    struct stat st;
    *why = NULL;
    int fd = hfs_file_open(path, O_RDONLY | O_NOFOLLOW, 0, &st, why);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        if (errno != EINVAL) /* EINVAL: *why says what it is (a FIFO) */
            *why = errno == ELOOP ? "a symbolic link (refused)" : "cannot be opened";
        return -1;
    }
    if (!safe(&st, why)) {
        hfs_sys_close(fd);
        return -1;
    }
    if ((long long)st.st_size < *off) /* replaced or cut: read it again */
        *off = 0;
    char buf[8192];
    size_t have = 0;
    long long pos = *off, at = *off;
    for (;;) {
        long n = hfs_sys_pread(fd, buf + have, sizeof buf - have, (unsigned long long)at);
        if (n <= 0)
            break;
        at += n;
        have += (size_t)n;
        size_t start = 0;
        for (size_t i = 0; i < have; i++)
            if (buf[i] == '\n') {
                struct hfs_tokstate_entry e;
                if (hfs_tokstate_parse_line(buf + start, i - start, &e))
                    each(ctx, &e);
                start = i + 1;
            }
        pos += (long long)start;
        if (start == 0 && have == sizeof buf) { /* a line longer than any entry: skip it */
            pos += (long long)have;
            have = 0;
            continue;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
    }
    hfs_sys_close(fd);
    *off = pos; /* a partial last line is read again next time */
    return 0;
}

/* Makes the folders of path (0700) that are missing. */
static void make_dirs(const char *path)
{
    char d[4096];
    size_t l = strlen(path);
    if (l >= sizeof d)
        return;
    memcpy(d, path, l + 1);
    for (char *p = d + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(d, 0700);
            *p = '/';
        }
}

int hfs_tokstate_append(const char *path, const struct hfs_tokstate_entry *e, const char **why)
{
    char line[128];
    struct stat st;
    size_t n = hfs_tokstate_format(e, line, sizeof line);
    *why = NULL;
    if (!n) {
        *why = "entry too long";
        return -1;
    }
    make_dirs(path);
    int fd = hfs_file_open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0600, &st, why);
    if (fd < 0) {
        if (errno == ELOOP)
            *why = "a symbolic link (refused)";
        return -1;
    }
    if (!safe(&st, why)) {
        hfs_sys_close(fd);
        return -1;
    }
    /* a new file starts with the line that says what it is; both in one write */
    char both[sizeof HEADER + sizeof line];
    const char *out = line;
    if (st.st_size == 0) {
        memcpy(both, HEADER, sizeof HEADER - 1);
        memcpy(both + sizeof HEADER - 1, line, n);
        out = both;
        n += sizeof HEADER - 1;
    }
    ssize_t w;
    w = hfs_sys_write(fd, out, n); /* O_APPEND and one write under PIPE_BUF: never interleaved */
    hfs_sys_close(fd);
    if (w != (ssize_t)n) {
        *why = w < 0 ? hfs_errtext(errno) : "short write";
        return -1;
    }
    return 0;
}
