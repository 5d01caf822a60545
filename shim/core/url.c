/* url: RFC 3986-style splitting of absolute URLs into offsets. */
#include "url.h"

#include <string.h>
#include <strings.h>

static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int fail(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return -1;
}

int hfs_url_parse(const char *s, size_t n, struct hfs_url *u, const char **why)
{
    size_t i = 0, auth_end, host_start, host_end;
    memset(u, 0, sizeof *u);
    if (n == 0 || !is_alpha(s[0]))
        return fail(why, "a URL starts with a scheme such as https://");
    while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
        i++;
    if (i + 3 > n || s[i] != ':' || s[i + 1] != '/' || s[i + 2] != '/')
        return fail(why, "a URL needs '://' after its scheme");
    u->scheme.off = 0;
    u->scheme.len = i;
    i += 3;
    auth_end = i;
    while (auth_end < n && s[auth_end] != '/' && s[auth_end] != '?' && s[auth_end] != '#')
        auth_end++;
    host_start = i;
    for (size_t k = i; k < auth_end; k++)
        if (s[k] == '@') {
            u->userinfo.off = i;
            u->userinfo.len = k - i;
            host_start = k + 1;
        }
    if (host_start < auth_end && s[host_start] == '[') {
        size_t close = host_start;
        while (close < auth_end && s[close] != ']')
            close++;
        if (close >= auth_end)
            return fail(why, "unclosed '[' in the URL's host");
        u->host.off = host_start + 1;
        u->host.len = close - host_start - 1;
        u->ipv6 = 1;
        host_end = close + 1;
        if (host_end < auth_end && s[host_end] != ':')
            return fail(why, "unexpected text after ']' in the URL's host");
    } else {
        host_end = host_start;
        while (host_end < auth_end && s[host_end] != ':')
            host_end++;
        u->host.off = host_start;
        u->host.len = host_end - host_start;
    }
    if (u->host.len == 0)
        return fail(why, "the URL has no host");
    for (size_t k = u->host.off; k < u->host.off + u->host.len; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c <= ' ' || c == 0x7f || c == '\\' || c == '%' || c == '"' || c == '<' || c == '>')
            return fail(why, "invalid character in the URL's host");
    }
    if (host_end < auth_end) { /* ':' port */
        long port = 0;
        size_t k = host_end + 1;
        if (k == auth_end)
            return fail(why, "empty port after ':' in the URL");
        for (; k < auth_end; k++) {
            if (!is_digit(s[k]))
                return fail(why, "the URL's port is not a number");
            port = port * 10 + (s[k] - '0');
            if (port > 65535)
                return fail(why, "the URL's port is above 65535");
        }
        if (port == 0)
            return fail(why, "the URL's port is 0");
        u->port = (int)port;
        u->port_given = 1;
    } else if (u->scheme.len == 5 && strncasecmp(s, "https", 5) == 0) {
        u->port = 443;
    } else if (u->scheme.len == 4 && strncasecmp(s, "http", 4) == 0) {
        u->port = 80;
    }
    i = auth_end;
    u->path.off = i;
    while (i < n && s[i] != '?' && s[i] != '#')
        i++;
    u->path.len = i - u->path.off;
    if (i < n && s[i] == '?') {
        u->query.off = ++i;
        while (i < n && s[i] != '#')
            i++;
        u->query.len = i - u->query.off;
    }
    if (i < n && s[i] == '#') {
        u->fragment.off = i + 1;
        u->fragment.len = n - i - 1;
    }
    return 0;
}

int hfs_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hfs_pct_decode(const char *s, size_t n, char *out, size_t cap, int plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int a, b;
            if (i + 2 >= n || (a = hfs_hexval(s[i + 1])) < 0 || (b = hfs_hexval(s[i + 2])) < 0)
                return -1;
            c = (char)(a * 16 + b);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == 0 || o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    if (cap == 0)
        return -1;
    out[o] = 0;
    return 0;
}
