/* request: helpers for the request description (addresses, layer names). */
#include "request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "url.h"

/* The kernel takes a sockaddr_in6 without its last field (RFC 2133's
 * 24-byte form, SIN6_LEN_RFC2133): sin6_scope_id then is 0. */
#define HFS_SIN6_LEN_MIN 24

const char *hfs_layer_name(enum hfs_layer l)
{
    switch (l) {
    case HFS_LAYER_RESOLVE: return "lookup";
    case HFS_LAYER_CONNECT: return "connect";
    case HFS_LAYER_DATAGRAM: return "datagram";
    case HFS_LAYER_HTTP: return "http";
    case HFS_LAYER_TLS: return "tls";
    case HFS_LAYER_CURL: return "curl";
    case HFS_LAYER_EXPLAIN: return "explain";
    }
    return "?";
}

int hfs_addr_from_sockaddr(struct hfs_request *r, const struct sockaddr *sa, unsigned salen)
{
    if (!sa)
        return -1;
    if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        r->addr.family = AF_INET;
        memcpy(r->addr.a, &in->sin_addr, 4);
        r->port = ntohs(in->sin_port);
        inet_ntop(AF_INET, &in->sin_addr, r->ip, sizeof r->ip);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && salen >= HFS_SIN6_LEN_MIN) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        if (memcmp(&in6->sin6_addr, v4mapped, 12) == 0) { /* ::ffff:a.b.c.d is IPv4 */
            r->addr.family = AF_INET;
            memcpy(r->addr.a, (const unsigned char *)&in6->sin6_addr + 12, 4);
            r->port = ntohs(in6->sin6_port);
            inet_ntop(AF_INET, r->addr.a, r->ip, sizeof r->ip);
            return 0;
        }
        r->addr.family = AF_INET6;
        memcpy(r->addr.a, &in6->sin6_addr, 16);
        r->port = ntohs(in6->sin6_port);
        inet_ntop(AF_INET6, &in6->sin6_addr, r->ip, sizeof r->ip);
        return 0;
    }
    return -1;
}

enum hfs_sa_kind hfs_addr_kernel_dest(struct hfs_request *r, const struct sockaddr *sa, unsigned salen, int domain,
                                      int type, enum hfs_sa_op op, int *err, const char **why)
{
    *err = EINVAL;
    if (op == HFS_SA_SEND && type == SOCK_STREAM)
        return HFS_SA_NONE; /* TCP sends to its peer whatever the address says */
    if (op == HFS_SA_SEND && (!sa || salen == 0))
        return HFS_SA_NONE; /* sendmsg with msg_namelen 0: the connected peer */
    if (!sa || salen < sizeof(sa_family_t)) {
        *why = "address too short to hold a family";
        return HFS_SA_BAD;
    }
    if (salen > sizeof(struct sockaddr_storage)) {
        *why = "address longer than any the kernel takes";
        return HFS_SA_BAD;
    }
    switch (sa->sa_family) {
    case AF_INET:
        if (salen < sizeof(struct sockaddr_in)) {
            *why = "AF_INET address shorter than sockaddr_in";
            return HFS_SA_BAD;
        }
        return hfs_addr_from_sockaddr(r, sa, salen) ? HFS_SA_BAD : HFS_SA_DEST;
    case AF_INET6:
        if (salen < HFS_SIN6_LEN_MIN) {
            *why = "AF_INET6 address shorter than 24 bytes";
            return HFS_SA_BAD;
        }
        return hfs_addr_from_sockaddr(r, sa, salen) ? HFS_SA_BAD : HFS_SA_DEST;
    case AF_UNSPEC:
        if (op == HFS_SA_CONNECT)
            return HFS_SA_NONE; /* disconnects (stream and datagram alike) */
        if (domain == AF_INET6 && type != SOCK_RAW)
            return HFS_SA_NONE;   /* udpv6: as without an address */
        if (domain == AF_INET6) { /* rawv6: family 0 is taken as AF_INET6 */
            struct sockaddr_in6 in6;
            if (salen < HFS_SIN6_LEN_MIN) {
                *why = "AF_UNSPEC address shorter than 24 bytes on an IPv6 raw socket";
                return HFS_SA_BAD;
            }
            memset(&in6, 0, sizeof in6);
            memcpy(&in6, sa, HFS_SIN6_LEN_MIN);
            in6.sin6_family = AF_INET6;
            return hfs_addr_from_sockaddr(r, (const struct sockaddr *)&in6, sizeof in6) ? HFS_SA_BAD : HFS_SA_DEST;
        }
        if (domain == AF_INET) { /* udp, raw, ping: family 0 is taken as AF_INET */
            struct sockaddr_in in;
            if (salen < sizeof in) {
                *why = "AF_UNSPEC address shorter than sockaddr_in on an IPv4 datagram socket";
                return HFS_SA_BAD;
            }
            memcpy(&in, sa, sizeof in);
            in.sin_family = AF_INET;
            return hfs_addr_from_sockaddr(r, (const struct sockaddr *)&in, sizeof in) ? HFS_SA_BAD : HFS_SA_DEST;
        }
        *why = "AF_UNSPEC address on a socket of unknown family";
        return HFS_SA_BAD;
    default:
        *err = EAFNOSUPPORT;
        *why = "address family that is not IP on an IP socket";
        return HFS_SA_BAD;
    }
}

int hfs_addr_is_loopback(const struct hfs_addr *a)
{
    static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    static const unsigned char v6lo[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
    if (a->family == AF_INET)
        return a->a[0] == 127;
    if (a->family == AF_INET6)
        return memcmp(a->a, v6lo, 16) == 0 || (memcmp(a->a, v4mapped, 12) == 0 && a->a[12] == 127);
    return 0;
}

const char *hfs_addr_text(const struct hfs_addr *a, char *buf, size_t cap)
{
    if (cap == 0)
        return NULL;
    buf[0] = 0;
    if (a->family == AF_INET && cap >= 16) { /* by hand: inet_ntop costs ~1.7k instructions a call */
        char *p = buf;
        for (int i = 0; i < 4; i++) {
            unsigned v = a->a[i];
            if (v >= 100)
                *p++ = (char)('0' + v / 100);
            if (v >= 10)
                *p++ = (char)('0' + v / 10 % 10);
            *p++ = (char)('0' + v % 10);
            *p++ = i < 3 ? '.' : 0;
        }
        return buf;
    }
    if (a->family == AF_INET6)
        return inet_ntop(AF_INET6, a->a, buf, (socklen_t)cap);
    return NULL;
}

/* inet_pton(AF_INET) exactly (glibc's inet_pton4: four decimal parts of
 * 0-255, no leading zero, nothing else), without the library call: this
 * runs for every request's host. 1 parsed, 0 not an IPv4 literal. */
static int ipv4_literal(const char *s, unsigned char out[4])
{
    unsigned parts = 0, val = 0, digits = 0;
    for (;; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= '0' && ch <= '9') {
            if (digits && val == 0)
                return 0; /* a leading zero */
            val = val * 10 + (ch - '0');
            if (val > 255)
                return 0;
            digits++;
        } else if ((ch == '.' || ch == 0) && digits) {
            if (parts == 4)
                return 0;
            out[parts++] = (unsigned char)val;
            val = digits = 0;
            if (ch == 0)
                return parts == 4;
        } else {
            return 0;
        }
    }
}

int hfs_addr_parse(const char *text, struct hfs_addr *out)
{
    char buf[64];
    size_t l = strlen(text);
    if (l >= 2 && text[0] == '[' && text[l - 1] == ']') {
        if (l - 2 >= sizeof buf)
            return -1;
        memcpy(buf, text + 1, l - 2);
        buf[l - 2] = 0;
        text = buf;
    }
    memset(out, 0, sizeof *out);
    if (ipv4_literal(text, out->a)) {
        out->family = AF_INET;
        return 0;
    }
    memset(out->a, 0, 4);
    /* every IPv6 literal has a ':' */
    if (strchr(text, ':') && inet_pton(AF_INET6, text, out->a) == 1) {
        static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        out->family = AF_INET6;
        if (memcmp(out->a, v4mapped, 12) == 0) { /* same form as hfs_addr_from_sockaddr */
            out->family = AF_INET;
            memmove(out->a, out->a + 12, 4);
            memset(out->a + 4, 0, 12);
        }
        return 0;
    }
    return -1;
}

/* Copies s[0..n) into out (cap bytes), lower-cased when lower; cut if long. */
static void copy_part(char *out, size_t cap, const char *s, size_t n, int lower)
{
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)(lower && s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    out[n] = 0;
}

int hfs_request_set_url(struct hfs_request *q, const char *url, struct hfs_url_parts *parts, const char **why)
{
    struct hfs_url u;
    if (!url) {
        *why = "no URL";
        return -1;
    }
    if (hfs_url_parse(url, strlen(url), &u, why))
        return -1;
    copy_part(parts->scheme, sizeof parts->scheme, url + u.scheme.off, u.scheme.len, 1);
    copy_part(parts->host, sizeof parts->host, url + u.host.off, u.host.len, 1);
    if (u.path.len)
        copy_part(parts->path, sizeof parts->path, url + u.path.off, u.path.len, 0);
    else
        copy_part(parts->path, sizeof parts->path, "/", 1, 0);
    copy_part(parts->query, sizeof parts->query, url + u.query.off, u.query.len, 0);
    q->cut = u.path.len >= sizeof parts->path || u.query.len >= sizeof parts->query;
    q->url = url;
    q->host = parts->host;
    q->port = u.port;
    q->scheme = parts->scheme;
    q->path = parts->path;
    q->query = u.query.len ? parts->query : NULL;
    q->addr.family = 0;
    q->ip[0] = 0;
    if (hfs_addr_parse(parts->host, &q->addr) == 0)
        copy_part(q->ip, sizeof q->ip, parts->host, strlen(parts->host), 0);
    return 0;
}
