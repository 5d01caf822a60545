/* paths: where the launcher's library and default rules are: always
 * relative to the executable's own directory, never the current one.
 * The library is <prefix>/lib/libhfshim.so (`make install`, the wheel),
 * else <prefix>/lib/hfshim/libhfshim.so (the .deb: a preload module, not
 * a library for the linker, in its package's own folder). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher.h"

int hfs_self_dir(char *out, size_t outlen)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = 0;
    return snprintf(out, outlen, "%s", exe) < (int)outlen ? 0 : -1;
}

static int relative(const char *rel, char *out, size_t outlen)
{
    char dir[PATH_MAX], joined[PATH_MAX + 64];
    if (hfs_self_dir(dir, sizeof dir))
        return -1;
    snprintf(joined, sizeof joined, "%s/%s", dir, rel);
    if (!realpath(joined, out))
        return snprintf(out, outlen, "%s", joined) < (int)outlen ? 1 : -1; /* 1: does not exist */
    (void)outlen;
    return 0;
}

int hfs_lib_path(char *out, size_t outlen)
{
    int r = relative("../lib/libhfshim.so", out, outlen);
    if (r != 1)
        return r;
    char packaged[PATH_MAX];
    if (relative("../lib/hfshim/libhfshim.so", packaged, sizeof packaged) != 0)
        return 1; /* neither: the message names the first */
    return snprintf(out, outlen, "%s", packaged) < (int)outlen ? 0 : -1;
}

int hfs_default_rules_path(char *out, size_t outlen)
{
    return relative("../share/hfshim/rules/default.json", out, outlen);
}
