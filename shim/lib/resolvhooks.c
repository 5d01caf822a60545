/* resolvhooks: getaddrinfo and gethostbyname* hooks. A lookup the rules
 * block fails at once as "host not found" (EAI_NONAME / HOST_NOT_FOUND),
 * without any DNS traffic; an allowed lookup goes to libc and its answers
 * are remembered (dnsmem) so later connects are judged by name. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <netdb.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/hosts.h"
#include "../core/readfile.h"
#include "decide_apply.h"
#include "dnsmem.h"
#include "reachmem.h"
#include "real.h"
#include "state.h"

#define HOSTS_FILE_MAX (1 << 20)

/* Whether name resolves without the network. Only asked in offline mode. */
static int name_is_local(const char *name)
{
    size_t len;
    const char *why;
    if (hfs_name_is_builtin_local(name))
        return 1;
    char *text = hfs_file_read("/etc/hosts", 0, HOSTS_FILE_MAX, &len, &why);
    if (!text)
        return 0;
    int found = hfs_hosts_lists(text, len, name);
    free(text);
    return found;
}

enum { PASS = 0, BLOCKED = 1, VIRTUAL = 2 };

/* The virtual address of a name: 127.77.x.y from a hash of the name
 * (loopback, so a program that bypasses hfshim's connect hook gets a
 * refused connection at once, never a packet on the network), written as
 * text (IPv4-mapped IPv6 when only IPv6 is asked for), and remembered so
 * connects to it are judged by the name. */
static void virtual_addr(const char *name, int v6, char *out, size_t outlen)
{
    unsigned h = 2166136261u;
    for (const char *c = name; *c; c++)
        h = (h ^ (unsigned char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c)) * 16777619u;
    unsigned x = (h >> 8) & 0xff, y = h & 0xff;
    if (y == 0 || y == 255)
        y = 1;
    struct hfs_addr a = { .family = AF_INET, .a = { 127, 77, (unsigned char)x, (unsigned char)y } };
    hfs_dnsmem_put(&a, name);
    snprintf(out, outlen, "%s127.77.%u.%u", v6 ? "::ffff:" : "", x, y);
}

/* Judges a lookup of name (port from a numeric service, if any): PASS,
 * BLOCKED, or VIRTUAL (the name must not be looked up, but connections
 * to it can be answered: it gets a virtual address). *hub: the name is a
 * Hub host (one whose failed lookup is learned, reachmem.h). */
static int lookup_blocked(const char *name, const char *service, const char *shown, int *hub)
{
    struct hfs_request r = { .layer = HFS_LAYER_RESOLVE, .host = name };
    if (service) {
        char *end;
        long p = strtol(service, &end, 10);
        if (*service && !*end && p > 0 && p < 65536)
            r.port = (int)p;
    }
    if (hfs_g.rules->offline)
        r.name_is_local = name_is_local(name);
    struct hfs_verdict v;
    hfs_judge_verdict(&r, shown, &v);
    *hub = v.hub && !hfs_name_is_builtin_local(name) && hfs_addr_parse(name, &r.addr) != 0;
    if (v.kind != HFS_V_BLOCK && v.fate != HFS_CONN_VIRTUAL)
        return PASS;
    if (v.fate == HFS_CONN_VIRTUAL) /* an address literal or local name resolves as it is; connects are answered */
        return hfs_name_is_builtin_local(name) || hfs_addr_parse(name, &r.addr) == 0 ? PASS : VIRTUAL;
    return v.kind == HFS_V_BLOCK ? BLOCKED : PASS;
}

/* A lookup of a Hub host failed with code (EAI_*): when that means the
 * Hub cannot be reached, it is learned, and the name is judged again:
 * VIRTUAL when its connections are now answered as offline. An IPv6-only
 * lookup is not a sign (a name with no AAAA record fails it on a healthy
 * network), nor is "no address of that type" (EAI_NODATA). */
static int learn_failed(const char *name, const char *service, const char *shown, int code, int family)
{
    int hub;
    if (family == AF_INET6 || (code != EAI_AGAIN && code != EAI_NONAME && code != EAI_FAIL))
        return PASS;
    hfs_reach_learn(name, HFS_REACH_LOOKUP, code);
    return lookup_blocked(name, service, shown, &hub) == VIRTUAL ? VIRTUAL : PASS;
}

/* A lookup of a Hub host's name is bounded by reach.resolve_ms. glibc's
 * resolver waits _res.retrans seconds for each name server and makes
 * _res.retry rounds (5 s and 2 by default: 10 s and more when the server
 * drops queries); for this one lookup those fields of the calling
 * thread's resolver state (documented in resolver(3)) are set to
 * resolve_ms in whole seconds and one round, then put back as they were.
 * glibc uses a state the program changed as it is (it reloads
 * /etc/resolv.conf only into an unchanged one), so nothing else differs.
 * No thread, no query of our own; lookups that do not go through glibc's
 * DNS client (nss-resolve, c-ares) are not bounded. */
struct bound {
    int on, retrans, retry;
};

static void bound_begin(struct bound *b)
{
    b->on = 0;
    if (!hfs_reach_on() || (!(_res.options & RES_INIT) && res_init() < 0))
        return;
    int secs = hfs_reach_resolve_ms() / 1000;
    b->retrans = _res.retrans;
    b->retry = _res.retry;
    if (secs < 1 || (secs >= b->retrans && b->retry <= 1))
        return; /* the program's own setting is as short */
    _res.retrans = secs < b->retrans ? secs : b->retrans;
    _res.retry = 1;
    b->on = 1;
}

static void bound_end(const struct bound *b)
{
    if (b->on) {
        _res.retrans = b->retrans;
        _res.retry = b->retry;
    }
}

/* The EAI_* code of a gethostbyname* failure (h_errno). */
static int eai_of(int herr)
{
    return herr == TRY_AGAIN        ? EAI_AGAIN
           : herr == NO_RECOVERY    ? EAI_FAIL
           : herr == HOST_NOT_FOUND ? EAI_NONAME
           : herr == NO_DATA        ? EAI_NODATA
                                    : 0;
}

static void remember(int family, const void *addr, const char *name)
{
    struct hfs_addr a = { .family = family };
    if (hfs_name_is_builtin_local(name))
        return;
    memcpy(a.a, addr, family == AF_INET ? 4 : 16);
    hfs_dnsmem_put(&a, name);
}

HFS_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    int busy_outer;
    int rc;
    if (!REAL(getaddrinfo))
        return EAI_SYSTEM;
    if (!node || !hfs_ready())
        return REAL(getaddrinfo)(node, service, hints, res);
    HFS_BUSY_ENTER(busy_outer);
    int hub = 0;
    int how = lookup_blocked(node, service, "EAI_NONAME", &hub);
    if (how == BLOCKED) {
        HFS_BUSY_LEAVE(busy_outer);
        return EAI_NONAME;
    }
    if (how == PASS && hub) {
        struct bound b;
        bound_begin(&b);
        rc = REAL(getaddrinfo)(node, service, hints, res);
        bound_end(&b);
        if (rc == 0 || (how = learn_failed(node, service, "EAI_NONAME", rc, hints ? hints->ai_family : 0)) != VIRTUAL)
            goto done;
    }
    if (how == VIRTUAL) {
        char va[64];
        struct addrinfo h = { 0 };
        if (hints)
            h = *hints;
        virtual_addr(node, h.ai_family == AF_INET6, va, sizeof va);
        h.ai_flags = (h.ai_flags & ~(AI_ADDRCONFIG | AI_V4MAPPED | AI_ALL)) | AI_NUMERICHOST;
        rc = REAL(getaddrinfo)(va, service, &h, res);
        HFS_BUSY_LEAVE(busy_outer);
        return rc;
    }
    rc = REAL(getaddrinfo)(node, service, hints, res);
done:
    if (rc == 0)
        for (struct addrinfo *ai = *res; ai; ai = ai->ai_next) {
            if (ai->ai_family == AF_INET)
                remember(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, node);
            else if (ai->ai_family == AF_INET6)
                remember(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, node);
        }
    HFS_BUSY_LEAVE(busy_outer);
    return rc;
}

static void remember_hostent(const struct hostent *h, const char *name)
{
    if (!h || (h->h_addrtype != AF_INET && h->h_addrtype != AF_INET6))
        return;
    for (char **a = h->h_addr_list; a && *a; a++)
        remember(h->h_addrtype, *a, name);
}

HFS_EXPORT struct hostent *gethostbyname(const char *name)
{
    int busy_outer;
    struct hostent *h;
    if (!REAL(gethostbyname))
        return NULL;
    if (!name || !hfs_ready())
        return REAL(gethostbyname)(name);
    HFS_BUSY_ENTER(busy_outer);
    char va[64];
    int hub = 0;
    int how = lookup_blocked(name, NULL, "HOST_NOT_FOUND", &hub);
    if (how == BLOCKED) {
        HFS_BUSY_LEAVE(busy_outer);
        h_errno = HOST_NOT_FOUND;
        return NULL;
    }
    if (how == PASS && hub) {
        struct bound b;
        bound_begin(&b);
        h = REAL(gethostbyname)(name);
        bound_end(&b);
        if (h || learn_failed(name, NULL, "HOST_NOT_FOUND", eai_of(h_errno), AF_INET) != VIRTUAL) {
            remember_hostent(h, name);
            HFS_BUSY_LEAVE(busy_outer);
            return h;
        }
        how = VIRTUAL;
    }
    if (how == VIRTUAL) {
        virtual_addr(name, 0, va, sizeof va);
        h = REAL(gethostbyname)(va);
        HFS_BUSY_LEAVE(busy_outer);
        return h;
    }
    h = REAL(gethostbyname)(name);
    remember_hostent(h, name);
    HFS_BUSY_LEAVE(busy_outer);
    return h;
}

HFS_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
    int busy_outer;
    struct hostent *h;
    if (!REAL(gethostbyname2))
        return NULL;
    if (!name || !hfs_ready())
        return REAL(gethostbyname2)(name, af);
    HFS_BUSY_ENTER(busy_outer);
    char va[64];
    int hub = 0;
    int how = lookup_blocked(name, NULL, "HOST_NOT_FOUND", &hub);
    if (how == BLOCKED) {
        HFS_BUSY_LEAVE(busy_outer);
        h_errno = HOST_NOT_FOUND;
        return NULL;
    }
    if (how == PASS && hub) {
        struct bound b;
        bound_begin(&b);
        h = REAL(gethostbyname2)(name, af);
        bound_end(&b);
        if (h || learn_failed(name, NULL, "HOST_NOT_FOUND", eai_of(h_errno), af) != VIRTUAL) {
            remember_hostent(h, name);
            HFS_BUSY_LEAVE(busy_outer);
            return h;
        }
        how = VIRTUAL;
    }
    if (how == VIRTUAL) {
        virtual_addr(name, af == AF_INET6, va, sizeof va);
        h = REAL(gethostbyname2)(va, af);
        HFS_BUSY_LEAVE(busy_outer);
        return h;
    }
    h = REAL(gethostbyname2)(name, af);
    remember_hostent(h, name);
    HFS_BUSY_LEAVE(busy_outer);
    return h;
}

/* The _r forms report "not found" as glibc does: return 0, *result NULL,
 * *h_errnop HOST_NOT_FOUND. */
HFS_EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
                               int *h_errnop)
{
    int busy_outer;
    int rc;
    if (!REAL(gethostbyname_r))
        return ENOSYS;
    if (!name || !hfs_ready())
        return REAL(gethostbyname_r)(name, ret, buf, buflen, result, h_errnop);
    HFS_BUSY_ENTER(busy_outer);
    char va[64];
    int hub = 0;
    int how = lookup_blocked(name, NULL, "HOST_NOT_FOUND", &hub);
    if (how == BLOCKED) {
        HFS_BUSY_LEAVE(busy_outer);
        *result = NULL;
        *h_errnop = HOST_NOT_FOUND;
        return 0;
    }
    if (how == PASS && hub) {
        struct bound b;
        bound_begin(&b);
        rc = REAL(gethostbyname_r)(name, ret, buf, buflen, result, h_errnop);
        bound_end(&b);
        if ((rc == 0 && *result) || learn_failed(name, NULL, "HOST_NOT_FOUND", eai_of(*h_errnop), AF_INET) != VIRTUAL) {
            if (rc == 0 && *result)
                remember_hostent(*result, name);
            HFS_BUSY_LEAVE(busy_outer);
            return rc;
        }
        how = VIRTUAL;
    }
    if (how == VIRTUAL) {
        virtual_addr(name, 0, va, sizeof va);
        rc = REAL(gethostbyname_r)(va, ret, buf, buflen, result, h_errnop);
        HFS_BUSY_LEAVE(busy_outer);
        return rc;
    }
    rc = REAL(gethostbyname_r)(name, ret, buf, buflen, result, h_errnop);
    if (rc == 0 && *result)
        remember_hostent(*result, name);
    HFS_BUSY_LEAVE(busy_outer);
    return rc;
}

HFS_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
                                struct hostent **result, int *h_errnop)
{
    int busy_outer;
    int rc;
    if (!REAL(gethostbyname2_r))
        return ENOSYS;
    if (!name || !hfs_ready())
        return REAL(gethostbyname2_r)(name, af, ret, buf, buflen, result, h_errnop);
    HFS_BUSY_ENTER(busy_outer);
    char va[64];
    int hub = 0;
    int how = lookup_blocked(name, NULL, "HOST_NOT_FOUND", &hub);
    if (how == BLOCKED) {
        HFS_BUSY_LEAVE(busy_outer);
        *result = NULL;
        *h_errnop = HOST_NOT_FOUND;
        return 0;
    }
    if (how == PASS && hub) {
        struct bound b;
        bound_begin(&b);
        rc = REAL(gethostbyname2_r)(name, af, ret, buf, buflen, result, h_errnop);
        bound_end(&b);
        if ((rc == 0 && *result) || learn_failed(name, NULL, "HOST_NOT_FOUND", eai_of(*h_errnop), af) != VIRTUAL) {
            if (rc == 0 && *result)
                remember_hostent(*result, name);
            HFS_BUSY_LEAVE(busy_outer);
            return rc;
        }
        how = VIRTUAL;
    }
    if (how == VIRTUAL) {
        virtual_addr(name, af == AF_INET6, va, sizeof va);
        rc = REAL(gethostbyname2_r)(va, af, ret, buf, buflen, result, h_errnop);
        HFS_BUSY_LEAVE(busy_outer);
        return rc;
    }
    rc = REAL(gethostbyname2_r)(name, af, ret, buf, buflen, result, h_errnop);
    if (rc == 0 && *result)
        remember_hostent(*result, name);
    HFS_BUSY_LEAVE(busy_outer);
    return rc;
}
