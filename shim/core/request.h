/* request: the one description of "what the program is about to do" that
 * every interception layer builds (resolver, sockets, HTTP on sockets,
 * OpenSSL plaintext, libcurl) and the decision core judges. A field a
 * layer cannot see is left unknown (NULL / 0); the core then says whether
 * the answer depends on it. */
#ifndef HFS_REQUEST_H
#define HFS_REQUEST_H
#include <stddef.h>

enum hfs_layer {
    HFS_LAYER_RESOLVE,  /* getaddrinfo, gethostbyname*: host (and maybe port) */
    HFS_LAYER_CONNECT,  /* connect on a stream socket: address, port, host if known */
    HFS_LAYER_DATAGRAM, /* connect/sendto/sendmsg on a datagram socket */
    HFS_LAYER_HTTP,     /* an HTTP/1.x request head seen on a socket */
    HFS_LAYER_TLS,      /* an HTTP/1.x request head seen in OpenSSL plaintext */
    HFS_LAYER_CURL,     /* a libcurl transfer */
    HFS_LAYER_EXPLAIN,  /* hfshim explain: a URL given on the command line */
};

const char *hfs_layer_name(enum hfs_layer l);

/* An IPv4 or IPv6 address; family 0 means unknown. */
struct hfs_addr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char a[16];
};

struct hfs_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

struct hfs_request {
    enum hfs_layer layer;
    const char *program;  /* short program name, for logs and matching */
    const char *host;     /* host name as the program named it, or NULL */
    struct hfs_addr addr; /* destination address, when known */
    char ip[48];          /* text form of addr ("" when unknown) */
    int port;             /* 0 when unknown */
    /* HTTP-level fields: NULL when the layer cannot see them. */
    const char *method;
    const char *scheme;
    const char *path;  /* without the query string */
    const char *query; /* after '?', or NULL */
    const char *url;
    const struct hfs_header *headers;
    size_t nheaders;
    int http_known; /* method/path/url/headers are known */
    /* The URL was longer than hfshim keeps, so path/query/url were cut:
     * a regex on them that misses counts as an engine error does (a
     * block or strip rule matches: decide.c). */
    int cut;
    /* Resolver layer: the name can be answered without any network
     * (numeric, localhost, listed in /etc/hosts). */
    int name_is_local;
    /* HTTP layers: the connection the request is on cannot reach the
     * network (HFS_NONET_VIRTUAL: it was made virtual; HFS_NONET_DOWN: its
     * server was unreachable). A request no rule answers is then blocked. */
    int no_network;
    /* HTTP layers: how the core asks whether a Hub call can be answered
     * from the local cache (cacheprobe.h); NULL: it cannot. */
    const struct hfs_cache_probe *cache;
    /* HTTP layers: what the process knows about tokens (learned from a
     * 401, validated: token.h); NULL: nothing. */
    const struct hfs_token_known *tokens;
    /* How the layer counts the matches of rules with a "window" (shared by
     * the processes of a run); NULL: every windowed rule fires. */
    const struct hfs_fire *fire;
    /* What the layer knows about the Hub's reachability (lib/reachmem.c);
     * NULL: every Hub host is taken as reachable. */
    const struct hfs_reach *reach;
};
struct hfs_token_known;

/* down: 1 when the Hub host r goes to is known to be unreachable (a
 * failed lookup, connect, handshake or a silent server, shared by the
 * run's processes, or the user's HF_HUB_OFFLINE=1); *why is then a
 * static text for the log. Asked only for Hub hosts. */
struct hfs_reach {
    int (*down)(void *ctx, const struct hfs_request *r, const char **why);
    void *ctx;
};

struct hfs_rule;
/* count: the 1-based number of this match of rule (index in the rules)
 * in the run; <= 0 when it cannot be counted (the rule then fires). */
struct hfs_fire {
    long (*count)(void *ctx, const struct hfs_rule *rule, size_t index);
    void *ctx;
};

struct hfs_rule;
/* probe: 1 when r can be answered from the cache folders of rule (its
 * cache_dirs after the Hub cache; rule NULL: the Hub cache only); the
 * answer is then kept in ctx for the layer to deliver. 0 on a miss. */
struct hfs_cache_probe {
    int (*probe)(void *ctx, const struct hfs_request *r, const struct hfs_rule *rule);
    void *ctx;
};

enum { HFS_NONET_NO = 0, HFS_NONET_VIRTUAL = 1, HFS_NONET_DOWN = 2 };

/* Where the parts of a URL live once a request points at them. */
struct hfs_url_parts {
    char host[256], scheme[16], path[4096], query[4096];
};

/* Fills q's url, host (lower-case), port (explicit or the scheme's),
 * scheme (lower-case), path ("/" when empty), query (NULL when none), and
 * addr/ip when the host is an address literal, from an absolute URL.
 * The one place every HTTP layer and `hfshim explain` turn a URL into a
 * request. Returns 0, or -1 with *why. */
int hfs_request_set_url(struct hfs_request *q, const char *url, struct hfs_url_parts *parts, const char **why);

/* Fills addr and ip from a sockaddr as the kernel reads it (an AF_INET6
 * one of 24 bytes or more: sin6_scope_id, when absent, is 0); returns 0,
 * or -1 for other families and shorter lengths. */
struct sockaddr;
int hfs_addr_from_sockaddr(struct hfs_request *r, const struct sockaddr *sa, unsigned salen);

/* What Linux does with the address given to connect (HFS_SA_CONNECT) or to
 * sendto/sendmsg (HFS_SA_SEND) on an IP socket of this domain (AF_INET or
 * AF_INET6) and type (SOCK_STREAM, SOCK_DGRAM, SOCK_RAW...), judged by the
 * kernel's rules and not by what the struct claims:
 *   HFS_SA_DEST  the data goes to the address now in r (addr, ip, port);
 *                AF_UNSPEC on an IPv4 datagram/raw socket's sendto means
 *                sin_addr, on an IPv6 raw socket sin6_addr;
 *   HFS_SA_NONE  no new destination: connect AF_UNSPEC disconnects, a
 *                stream socket's sendto ignores the address (the caller
 *                sends a MSG_FASTOPEN one as HFS_SA_CONNECT), an IPv6
 *                datagram's AF_UNSPEC means the connected peer;
 *   HFS_SA_BAD   an address hfshim does not read (unknown family, short
 *                length): the call is to be refused with *err (EINVAL or
 *                EAFNOSUPPORT, what the kernel says for most of them) and
 *                *why logged. */
enum hfs_sa_op { HFS_SA_CONNECT, HFS_SA_SEND };
enum hfs_sa_kind { HFS_SA_DEST, HFS_SA_NONE, HFS_SA_BAD };
enum hfs_sa_kind hfs_addr_kernel_dest(struct hfs_request *r, const struct sockaddr *sa, unsigned salen, int domain,
                                      int type, enum hfs_sa_op op, int *err, const char **why);
/* 1 when the address is loopback (127/8, ::1, ::ffff:127/104). */
int hfs_addr_is_loopback(const struct hfs_addr *a);
/* a as text in buf (what inet_ntop writes; "" and NULL for family 0, or
 * when cap is too small); buf, or NULL. */
const char *hfs_addr_text(const struct hfs_addr *a, char *buf, size_t cap);
/* Parses a numeric IPv4/IPv6 literal (brackets allowed); 0 or -1. */
int hfs_addr_parse(const char *text, struct hfs_addr *out);

#endif
