/* request: helpers for the request description (addresses, layer names). */
#include "request.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

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
    if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
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
    if (inet_pton(AF_INET, text, out->a) == 1) {
        out->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, out->a) == 1) {
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
