/* fuzz_hostpat: libFuzzer target for host patterns. The first line of the
 * input is compiled as a pattern, the other lines are matched against it
 * as names and as requests; matching must ignore ASCII case and a
 * trailing dot, and a pattern without a port never reports "unknown";
 * an address literal is read as inet_pton reads it. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "hostpat.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *z = malloc(size + 1);
    if (!z)
        return 0;
    memcpy(z, data, size);
    z[size] = 0;
    char *nl = strchr(z, '\n');
    if (nl)
        *nl = 0;
    struct hfs_hostpat p;
    char err[300];
    if (hfs_hostpat_compile(&p, z, err, sizeof err) != 0) {
        if (!err[0] || p.text || p.host || p.re)
            abort();
        free(z);
        return 0;
    }
    if (!p.text || !p.host || (p.kind == HFS_HP_GLOB) != (p.re != NULL) || p.port < 0 || p.port > 65535)
        abort();
    /* a plain name pattern matches its own host ("a.." aside: it keeps a dot) */
    if (p.kind == HFS_HP_NAME && p.host[0] && p.host[p.hostlen - 1] != '.' && !hfs_hostpat_match_name(&p, p.host))
        abort();
    for (char *name = nl ? nl + 1 : NULL; name;) {
        char *next = strchr(name, '\n');
        if (next)
            *next++ = 0;
        if (strlen(name) < 250) {
            int hit = hfs_hostpat_match_name(&p, name);
            char alt[260];
            size_t l = strlen(name);
            for (size_t i = 0; i <= l; i++)
                alt[i] = (char)toupper((unsigned char)name[i]);
            if (hfs_hostpat_match_name(&p, alt) != hit)
                abort();
            if (p.kind != HFS_HP_ADDR && l && name[l - 1] != '.') {
                memcpy(alt, name, l);
                alt[l] = '.';
                alt[l + 1] = 0;
                if (hfs_hostpat_match_name(&p, alt) != hit)
                    abort();
            }
            struct hfs_request q;
            int unknown = 0;
            memset(&q, 0, sizeof q);
            q.host = name;
            hfs_addr_parse(name, &q.addr);
            if (name[0] != '[') { /* an address literal is read exactly as inet_pton reads it
                                     (a bracketed one is taken without its brackets) */
                unsigned char a4[4], a6[16];
                int v4 = inet_pton(AF_INET, name, a4) == 1, v6 = !v4 && inet_pton(AF_INET6, name, a6) == 1;
                if (v4 != (q.addr.family == AF_INET && !strchr(name, ':')) || (v4 && memcmp(q.addr.a, a4, 4)))
                    abort();
                if (v6 && !q.addr.family)
                    abort();
            }
            int m = hfs_hostpat_match(&p, &q, &unknown);
            if (!p.port && (unknown || m != hit))
                abort();
            if (p.port && m)
                abort(); /* port unknown: never a match */
            q.port = p.port ? p.port : 443;
            unknown = 0;
            if (hfs_hostpat_match(&p, &q, &unknown) < m || unknown)
                abort();
        }
        name = next;
    }
    hfs_hostpat_free(&p);
    free(z);
    return 0;
}
