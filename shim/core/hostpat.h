/* hostpat: host[:port] patterns ("huggingface.co", "*.hf.co", "127.0.0.1:8080",
 * "[::1]:5000") used by hub_hosts and by match.host. Globs go through
 * PCRE2's glob conversion; plain names, "*.suffix" forms and IP literals
 * take exact fast paths that give the same answers. Case-insensitive. */
#ifndef HFS_HOSTPAT_H
#define HFS_HOSTPAT_H
#include <stddef.h>

#include "request.h"

struct hfs_re;

enum hfs_hostpat_kind { HFS_HP_NAME, HFS_HP_SUFFIX, HFS_HP_ADDR, HFS_HP_GLOB };

struct hfs_hostpat {
    char *text; /* as written */
    enum hfs_hostpat_kind kind;
    char *host; /* host part, lower-case; for SUFFIX the part after '*' */
    size_t hostlen;
    struct hfs_addr addr; /* HFS_HP_ADDR */
    struct hfs_re *re;    /* HFS_HP_GLOB */
    size_t litlen;        /* HFS_HP_GLOB: the literal tail of host every match ends with */
    int port;             /* 0: any port */
};

/* Compiles text into *p. Returns 0, or -1 with a message in err. */
int hfs_hostpat_compile(struct hfs_hostpat *p, const char *text, char *err, size_t errlen);
void hfs_hostpat_free(struct hfs_hostpat *p);
/* 1 when the name matches the host part (port not considered). */
int hfs_hostpat_match_name(const struct hfs_hostpat *p, const char *name);
/* 1 when the request's host name or address, and its port, match. A port
 * pattern against a request whose port is unknown counts as no match and
 * sets *unknown. */
int hfs_hostpat_match(const struct hfs_hostpat *p, const struct hfs_request *r, int *unknown);

/* A host name prepared once per decision (lower-cased, trailing dot
 * removed, parsed as an address when it is one), so matching it against
 * many patterns costs a length check and a memcmp each. */
struct hfs_hostkey {
    char name[256];
    size_t len;           /* 0: no name */
    struct hfs_addr addr; /* family 0: not an address literal */
};
void hfs_hostkey_init(struct hfs_hostkey *k, const char *name);
int hfs_hostpat_match_key(const struct hfs_hostpat *p, const struct hfs_hostkey *k);
/* hfs_hostpat_match with the request's host and ip prepared. */
int hfs_hostpat_match_prepared(const struct hfs_hostpat *p, const struct hfs_request *r, const struct hfs_hostkey *host,
                               const struct hfs_hostkey *ip, int *unknown);

/* Extracts "host[:port]" from a URL such as an HF_ENDPOINT value into out
 * (host lower-cased, port always present: defaults 80/443 by scheme).
 * Returns 0, or -1 when the URL has no usable authority. */
int hfs_endpoint_hostport(const char *url, char *out, size_t outlen);

#endif
