/* tokensrc: every place an HF token can come from (see header). Files are
 * read with a size limit and only parsed, never followed anywhere. */
#include "tokensrc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"
#include "hostpat.h"
#include "readfile.h"
#include "url.h"

#define MAX_FILE (1 << 20)

/* A token file; NULL when it is missing, too large or not a regular file
 * (a FIFO is never waited on). */
static char *slurp(const char *path, size_t *len)
{
    const char *why;
    return hfs_file_read(path, 0, MAX_FILE, len, &why);
}

static size_t add(struct hfs_tokensrc *out, size_t n, size_t cap, enum hfs_tokensrc_kind k, const char *label,
                  const char *v, size_t vlen)
{
    if (n >= cap)
        return n;
    char *val = malloc(vlen + 1);
    if (!val)
        return n;
    memcpy(val, v, vlen);
    val[vlen] = 0;
    out[n].kind = k;
    snprintf(out[n].label, sizeof out[n].label, "%s", label);
    out[n].value = val;
    out[n].used = 0;
    return n + 1;
}

/* The folder huggingface_hub keeps its token in: $HF_HOME, else
 * $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
static int hf_home(const char *(*env)(const char *), char *out, size_t cap)
{
    const char *h = env("HF_HOME"), *x = env("XDG_CACHE_HOME"), *home = env("HOME");
    int n;
    if (h && *h)
        n = snprintf(out, cap, "%s", h);
    else if (x && *x)
        n = snprintf(out, cap, "%s/huggingface", x);
    else if (home && *home)
        n = snprintf(out, cap, "%s/.cache/huggingface", home);
    else
        return -1;
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* The hosts whose credentials count: huggingface.co and the HF_ENDPOINT host. */
static int our_host(const char *(*env)(const char *), const char *h, size_t n)
{
    if (n == 14 && strncasecmp(h, "huggingface.co", 14) == 0)
        return 1;
    const char *ep = env("HF_ENDPOINT");
    char hp[300];
    if (ep && hfs_endpoint_hostport(ep, hp, sizeof hp) == 0) {
        char *colon = strrchr(hp, ':');
        size_t hl = colon && !strchr(hp, ']') ? (size_t)(colon - hp) : strlen(hp);
        if (hl == n && strncasecmp(hp, h, n) == 0)
            return 1;
    }
    return 0;
}

/* stored_tokens: INI sections "[name]" with "hf_token = value". */
static size_t stored(const char *path, struct hfs_tokensrc *out, size_t n, size_t cap)
{
    size_t len = 0;
    char *b = slurp(path, &len), name[128] = "";
    if (!b)
        return n;
    for (char *line = b, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        while (*line == ' ' || *line == '\t')
            line++;
        size_t l = strlen(line);
        while (l && isspace((unsigned char)line[l - 1]))
            line[--l] = 0;
        if (line[0] == '[' && l > 2 && line[l - 1] == ']') {
            snprintf(name, sizeof name, "%.*s", (int)(l - 2), line + 1);
            continue;
        }
        if (strncmp(line, "hf_token", 8) != 0 || !name[0])
            continue;
        char *v = line + 8;
        while (*v == ' ' || *v == '\t')
            v++;
        if (*v != '=')
            continue;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        char label[320];
        snprintf(label, sizeof label, "stored token \"%.100s\" in %.200s", name, path);
        n = add(out, n, cap, HFS_SRC_STORED, label, v, strlen(v));
    }
    free(b);
    return n;
}

/* ~/.netrc: "machine H login U password P" (and "default"), any whitespace. */
static size_t netrc(const char *(*env)(const char *), const char *path, struct hfs_tokensrc *out, size_t n, size_t cap)
{
    size_t len = 0;
    char *b = slurp(path, &len);
    if (!b)
        return n;
    char *save = NULL, *w = strtok_r(b, " \t\r\n", &save);
    int ours = 0;
    char host[256] = "";
    while (w) {
        if (!strcmp(w, "machine")) {
            char *h = strtok_r(NULL, " \t\r\n", &save);
            ours = h && our_host(env, h, strlen(h));
            snprintf(host, sizeof host, "%s", h ? h : "");
        } else if (!strcmp(w, "default")) {
            ours = 1;
            snprintf(host, sizeof host, "default");
        } else if (!strcmp(w, "password") && ours) {
            char *p = strtok_r(NULL, " \t\r\n", &save);
            char label[320];
            snprintf(label, sizeof label, "%.200s (machine %.80s)", path, host);
            if (p)
                n = add(out, n, cap, HFS_SRC_NETRC, label, p, strlen(p));
        }
        w = strtok_r(NULL, " \t\r\n", &save);
    }
    free(b);
    return n;
}

/* git credentials: lines "https://user:password@host[/path]", percent-encoded. */
static size_t gitcred(const char *(*env)(const char *), const char *path, struct hfs_tokensrc *out, size_t n,
                      size_t cap)
{
    size_t len = 0;
    char *b = slurp(path, &len);
    if (!b)
        return n;
    for (char *line = b, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *s = strstr(line, "://");
        if (!s)
            continue;
        s += 3;
        char *at = strchr(s, '@'), *end = s + strcspn(s, "/\r");
        if (!at || at > end)
            continue;
        char *colon = memchr(s, ':', (size_t)(at - s));
        if (!colon)
            continue;
        char *h = at + 1;
        size_t hl = strcspn(h, ":/\r");
        if (!our_host(env, h, hl))
            continue;
        char pw[1024];
        if (hfs_pct_decode(colon + 1, (size_t)(at - colon - 1), pw, sizeof pw, 0) < 0)
            continue;
        size_t pl = strlen(pw);
        char label[320];
        snprintf(label, sizeof label, "%.200s (%.*s)", path, (int)(hl < 80 ? hl : 80), h);
        n = add(out, n, cap, HFS_SRC_GIT, label, pw, pl);
    }
    free(b);
    return n;
}

static int blank(const char *v)
{
    for (; v && *v; v++)
        if (!isspace((unsigned char)*v))
            return 0;
    return 1;
}

size_t hfs_tokensrc_find(const char *(*env)(const char *), struct hfs_tokensrc *out, size_t cap)
{
    size_t n = 0;
    int used = -1;
    char dir[2048], path[2300];
    const char *v;
    if ((v = env("HF_TOKEN"))) {
        n = add(out, n, cap, HFS_SRC_ENV, "HF_TOKEN", v, strlen(v));
        if (!blank(v))
            used = (int)n - 1;
    }
    if ((v = env("HUGGING_FACE_HUB_TOKEN"))) {
        n = add(out, n, cap, HFS_SRC_ENV, "HUGGING_FACE_HUB_TOKEN", v, strlen(v));
        if (used < 0 && !blank(v))
            used = (int)n - 1;
    }
    const char *tp = env("HF_TOKEN_PATH");
    int have_home = hf_home(env, dir, sizeof dir) == 0;
    if (tp && *tp)
        snprintf(path, sizeof path, "%s", tp);
    else if (have_home)
        snprintf(path, sizeof path, "%s/token", dir);
    else
        path[0] = 0;
    size_t len = 0;
    char *b = path[0] ? slurp(path, &len) : NULL;
    if (b) {
        n = add(out, n, cap, HFS_SRC_FILE, path, b, len);
        if (used < 0 && !blank(b))
            used = (int)n - 1;
        free(b);
    }
    if (have_home) {
        snprintf(path, sizeof path, "%s/stored_tokens", dir);
        n = stored(path, out, n, cap);
    }
    const char *home = env("HOME"), *xdg = env("XDG_CONFIG_HOME");
    if (home && *home) {
        snprintf(path, sizeof path, "%s/.netrc", home);
        n = netrc(env, path, out, n, cap);
        snprintf(path, sizeof path, "%s/.git-credentials", home);
        n = gitcred(env, path, out, n, cap);
    }
    if (xdg && *xdg)
        snprintf(path, sizeof path, "%s/git/credentials", xdg);
    else if (home && *home)
        snprintf(path, sizeof path, "%s/.config/git/credentials", home);
    else
        path[0] = 0;
    if (path[0])
        n = gitcred(env, path, out, n, cap);
    if (used >= 0 && (size_t)used < n)
        out[used].used = 1;
    return n;
}

void hfs_tokensrc_free(struct hfs_tokensrc *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].value);
        s[i].value = NULL;
    }
}

const char *hfs_tokensrc_label_for(const char *(*env)(const char *), const unsigned char sha[32], char *out, size_t cap)
{
    struct hfs_tokensrc s[16];
    size_t n = hfs_tokensrc_find(env, s, 16);
    const char *found = NULL;
    for (size_t i = 0; i < n && !found; i++) {
        const char *v = s[i].value;
        size_t l = strlen(v);
        while (l && isspace((unsigned char)*v))
            v++, l--;
        while (l && isspace((unsigned char)v[l - 1]))
            l--;
        unsigned char d[32];
        hfs_sha256(v, l, d);
        if (memcmp(d, sha, 32) == 0) {
            snprintf(out, cap, "%s", s[i].label);
            found = out;
        }
    }
    hfs_tokensrc_free(s, n);
    return found;
}
