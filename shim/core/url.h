/* url: splits an absolute http(s) URL into parts, as offsets into the
 * caller's string (no allocation). Used for HF_ENDPOINT, `hfshim explain`
 * and, later, the libcurl layer. Pure code with a fuzz target. */
#ifndef HFS_URL_H
#define HFS_URL_H
#include <stddef.h>

struct hfs_span {
    size_t off, len;
};

struct hfs_url {
    struct hfs_span scheme, userinfo, host, path, query, fragment;
    int port;       /* explicit port, or the scheme's default (80/443), 0 if none */
    int port_given; /* the URL named a port */
    int ipv6;       /* host was written in brackets */
};

/* Returns 0, or -1 with *why set to a static message. The scheme is any
 * RFC 3986 scheme; the authority must have a non-empty host and a port in
 * 1..65535 when one is given. Path is "" when absent. */
int hfs_url_parse(const char *s, size_t n, struct hfs_url *u, const char **why);

/* The value of a hex digit, or -1. */
int hfs_hexval(char c);

/* Percent-decodes s[0..n) into out (NUL-ended); plus_is_space for form
 * bodies. -1 on a malformed escape, a decoded NUL, or when it does not
 * fit in cap. */
int hfs_pct_decode(const char *s, size_t n, char *out, size_t cap, int plus_is_space);

#endif
