/* fuzz_url: libFuzzer target for the URL splitter. Every span of a parsed
 * URL must lie inside the input, in order, with a non-empty host and a
 * port in range; the endpoint host:port form must round-trip. */
#include <stdlib.h>
#include <string.h>

#include "hostpat.h"
#include "url.h"

static void in_bounds(struct hfs_span sp, size_t n)
{
    if (sp.off > n || sp.len > n - sp.off)
        abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *s = (const char *)data;
    struct hfs_url u;
    const char *why = NULL;
    if (hfs_url_parse(s, size, &u, &why) != 0) {
        if (!why)
            abort();
    } else {
        in_bounds(u.scheme, size);
        in_bounds(u.userinfo, size);
        in_bounds(u.host, size);
        in_bounds(u.path, size);
        in_bounds(u.query, size);
        in_bounds(u.fragment, size);
        if (u.scheme.off != 0 || u.scheme.len == 0 || u.host.len == 0)
            abort();
        if (u.port < 0 || u.port > 65535 || (u.port_given && u.port == 0))
            abort();
        if (u.host.off < u.scheme.len + 3 || u.path.off < u.host.off + u.host.len)
            abort();
        if (memchr(s + u.host.off, '/', u.host.len) || memchr(s + u.path.off, '?', u.path.len))
            abort();
    }
    /* hfs_endpoint_hostport takes a C string */
    char *z = malloc(size + 1), out[300];
    if (!z)
        return 0;
    memcpy(z, data, size);
    z[size] = 0;
    if (hfs_endpoint_hostport(z, out, sizeof out) == 0) {
        size_t l = strlen(out);
        const char *colon = strrchr(out, ':');
        if (l == 0 || l >= sizeof out || !colon || colon == out || atoi(colon + 1) < 1 || atoi(colon + 1) > 65535)
            abort();
    }
    free(z);
    return 0;
}
