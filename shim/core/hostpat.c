/* hostpat: compile and match host[:port] patterns. */
#include "hostpat.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "regex.h"
#include "url.h"

static int valid_host_char(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '*' || c == '?' || c == '[' || c == ']' || c == '!' ||
           c == ':';
}

static int parse_port(const char *s, int *port)
{
    long v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v > 65535)
            return -1;
    }
    if (v == 0)
        return -1;
    *port = (int)v;
    return 0;
}

int hfs_hostpat_compile(struct hfs_hostpat *p, const char *text, char *err, size_t errlen)
{
    char host[256];
    const char *portstr = NULL;
    size_t tl = strlen(text);
    memset(p, 0, sizeof *p);
    if (tl == 0) {
        snprintf(err, errlen, "empty host pattern");
        return -1;
    }
    if (tl >= sizeof host) {
        snprintf(err, errlen, "host pattern longer than 255 characters");
        return -1;
    }
    if (strstr(text, "://") || strchr(text, '/')) {
        snprintf(err, errlen, "invalid host pattern \"%s\": give a host name such as \"api.example.com\", not a URL",
                 text);
        return -1;
    }
    for (const char *c = text; *c; c++)
        if (!valid_host_char((unsigned char)*c)) {
            snprintf(err, errlen, "invalid host pattern \"%s\": character '%c' is not allowed in a host", text, *c);
            return -1;
        }
    /* Split off a port: "[v6]:port", "name:port"; a bare IPv6 has no port.
     * A '[' that starts a glob class ("[ab].hf.co") is not an address. */
    const char *close = text[0] == '[' ? strchr(text, ']') : NULL;
    int bracketed = text[0] == '[';
    if (close && !memchr(text, ':', (size_t)(close - text))) {
        struct hfs_addr a;
        memcpy(host, text, (size_t)(close - text + 1));
        host[close - text + 1] = 0;
        bracketed = hfs_addr_parse(host, &a) == 0 || close == text + 1;
    }
    if (bracketed) {
        if (!close) {
            snprintf(err, errlen, "invalid host pattern \"%s\": unclosed '['", text);
            return -1;
        }
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = 0;
        if (close[1] == ':')
            portstr = close + 2;
        else if (close[1]) {
            snprintf(err, errlen, "invalid host pattern \"%s\": unexpected text after ']'", text);
            return -1;
        }
    } else {
        const char *colon = strchr(text, ':');
        if (colon && !strchr(colon + 1, ':')) {
            memcpy(host, text, (size_t)(colon - text));
            host[colon - text] = 0;
            portstr = colon + 1;
        } else {
            memcpy(host, text, tl + 1);
        }
    }
    if (portstr && parse_port(portstr, &p->port)) {
        snprintf(err, errlen, "invalid host pattern \"%s\": port must be a number from 1 to 65535", text);
        return -1;
    }
    if (!host[0]) {
        snprintf(err, errlen, "invalid host pattern \"%s\": no host before the port", text);
        return -1;
    }
    for (char *c = host; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    /* "huggingface.co." (fully qualified) is the same host as
     * "huggingface.co"; names are matched without their trailing dot. */
    if (strlen(host) > 1 && host[strlen(host) - 1] == '.')
        host[strlen(host) - 1] = 0;
    p->text = strdup(text);
    if (!p->text)
        goto oom;
    if (hfs_addr_parse(host, &p->addr) == 0) {
        p->kind = HFS_HP_ADDR;
    } else if (!strpbrk(host, "*?[")) {
        p->kind = HFS_HP_NAME;
    } else if (host[0] == '*' && !strpbrk(host + 1, "*?[\\")) {
        p->kind = HFS_HP_SUFFIX;
        memmove(host, host + 1, strlen(host));
    } else {
        p->kind = HFS_HP_GLOB;
        /* the tail after the last wildcard is literal: a name that does not
         * end with it cannot match, which a memcmp says before the regex */
        size_t hl = strlen(host), i = hl;
        while (i > 0 && !strchr("*?[]\\", host[i - 1]))
            i--;
        p->litlen = strchr(host, '\\') ? 0 : hl - i;
        p->re = hfs_re_compile_glob(host, err, errlen);
        if (!p->re) {
            char why[200];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, errlen, "invalid host pattern \"%s\": %s", text, why);
            hfs_hostpat_free(p);
            return -1;
        }
    }
    p->host = strdup(host);
    if (!p->host)
        goto oom;
    p->hostlen = strlen(host);
    return 0;
oom:
    hfs_hostpat_free(p);
    snprintf(err, errlen, "out of memory");
    return -1;
}

void hfs_hostpat_free(struct hfs_hostpat *p)
{
    free(p->text);
    free(p->host);
    hfs_re_free(p->re);
    memset(p, 0, sizeof *p);
}

int hfs_hostpat_match_name(const struct hfs_hostpat *p, const char *name)
{
    size_t nl;
    struct hfs_addr a;
    if (!name || !*name)
        return 0;
    nl = strlen(name);
    /* A trailing dot (fully qualified form) names the same host. */
    if (nl > 1 && name[nl - 1] == '.')
        nl--;
    switch (p->kind) {
    case HFS_HP_NAME: return nl == p->hostlen && strncasecmp(name, p->host, nl) == 0;
    case HFS_HP_SUFFIX: return nl >= p->hostlen && strncasecmp(name + nl - p->hostlen, p->host, p->hostlen) == 0;
    case HFS_HP_ADDR:
        return hfs_addr_parse(name, &a) == 0 && a.family == p->addr.family &&
               memcmp(a.a, p->addr.a, a.family == AF_INET ? 4 : 16) == 0;
    case HFS_HP_GLOB: return hfs_re_match(p->re, name, nl);
    }
    return 0;
}

void hfs_hostkey_init(struct hfs_hostkey *k, const char *name)
{
    size_t n = name ? strlen(name) : 0;
    int dotted = 0;
    k->addr.family = 0;
    if (n > 1 && name[n - 1] == '.') { /* a trailing dot (fully qualified form) names the same host */
        n--;
        dotted = 1; /* …and makes it a name, never an address literal */
    }
    if (n >= sizeof k->name)
        n = 0; /* longer than any DNS name: matches nothing */
    for (size_t i = 0; i < n; i++)
        k->name[i] = (char)tolower((unsigned char)name[i]);
    k->name[n] = 0;
    k->len = n;
    if (!n || dotted || hfs_addr_parse(k->name, &k->addr))
        k->addr.family = 0;
}

int hfs_hostpat_match_key(const struct hfs_hostpat *p, const struct hfs_hostkey *k)
{
    if (!k->len)
        return 0;
    switch (p->kind) {
    case HFS_HP_NAME: return k->len == p->hostlen && memcmp(k->name, p->host, k->len) == 0;
    case HFS_HP_SUFFIX: return k->len >= p->hostlen && memcmp(k->name + k->len - p->hostlen, p->host, p->hostlen) == 0;
    case HFS_HP_ADDR:
        return k->addr.family == p->addr.family &&
               memcmp(k->addr.a, p->addr.a, k->addr.family == AF_INET ? 4 : 16) == 0;
    case HFS_HP_GLOB:
        return k->len >= p->litlen &&
               memcmp(k->name + k->len - p->litlen, p->host + p->hostlen - p->litlen, p->litlen) == 0 &&
               hfs_re_match(p->re, k->name, k->len);
    }
    return 0;
}

int hfs_hostpat_match_prepared(const struct hfs_hostpat *p, const struct hfs_request *r, const struct hfs_hostkey *host,
                               const struct hfs_hostkey *ip, int *unknown)
{
    int hit;
    if (p->kind == HFS_HP_ADDR && r->addr.family)
        hit = r->addr.family == p->addr.family && memcmp(r->addr.a, p->addr.a, r->addr.family == AF_INET ? 4 : 16) == 0;
    else
        hit = 0;
    if (!hit)
        hit = hfs_hostpat_match_key(p, host) || hfs_hostpat_match_key(p, ip);
    if (!hit || !p->port)
        return hit;
    if (!r->port) {
        if (unknown)
            *unknown = 1;
        return 0;
    }
    return r->port == p->port;
}

int hfs_hostpat_match(const struct hfs_hostpat *p, const struct hfs_request *r, int *unknown)
{
    struct hfs_hostkey host, ip;
    hfs_hostkey_init(&host, r->host);
    hfs_hostkey_init(&ip, r->ip[0] ? r->ip : NULL);
    return hfs_hostpat_match_prepared(p, r, &host, &ip, unknown);
}

int hfs_endpoint_hostport(const char *url, char *out, size_t outlen)
{
    struct hfs_url u;
    const char *why;
    size_t l = strlen(url);
    while (l && (url[l - 1] == '/' || url[l - 1] == ' ' || url[l - 1] == '\n'))
        l--;
    if (hfs_url_parse(url, l, &u, &why) || !u.port || u.host.len + 10 > outlen)
        return -1;
    int w = snprintf(out, outlen, "%s%.*s%s:%d", u.ipv6 ? "[" : "", (int)u.host.len, url + u.host.off,
                     u.ipv6 ? "]" : "", u.port);
    if (w < 0 || (size_t)w >= outlen)
        return -1;
    for (char *c = out; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return 0;
}
