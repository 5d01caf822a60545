/* load: rules loading for the launcher's commands, with every message on
 * stderr, and the same environment overrides the library applies. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/envpolicy.h"
#include "launcher.h"

static void to_stderr(void *ctx, int is_error, const char *msg)
{
    (void)ctx;
    (void)is_error;
    fprintf(stderr, "%s\n", msg);
}

void hfs_cli_diag(struct hfs_diag *d)
{
    memset(d, 0, sizeof *d);
    d->emit = to_stderr;
}

struct hfs_rules *hfs_load_for_cli(const char *path, int offline_flag, char *used_path, size_t used_len)
{
    struct hfs_diag d = { to_stderr, NULL, 0, 0, { 0 } };
    char def[PATH_MAX];
    const char *env_rules = getenv("HFSHIM_RULES"), *off = getenv("HFSHIM_OFFLINE"), *ep = getenv("HF_ENDPOINT");
    struct hfs_rules *r;
    if (!path && env_rules && *env_rules)
        path = env_rules;
    if (!path) {
        if (hfs_default_rules_path(def, sizeof def) != 0) {
            fprintf(stderr, "hfshim: the default rules are missing (%s); give --rules FILE\n", def);
            return NULL;
        }
        path = def;
    }
    snprintf(used_path, used_len, "%s", path);
    r = hfs_rules_load_file(path, &d);
    if (!r)
        return NULL;
    if (off && *off) {
        int b = hfs_parse_offline(off);
        if (b < 0)
            fprintf(stderr, "hfshim: warning: HFSHIM_OFFLINE=%s is not one of 1/0/true/false/yes/no/on/off/variables; ignored\n",
                    off);
        else
            r->offline = b;
    }
    if (offline_flag)
        r->offline = offline_flag;
    if (ep && *ep) {
        if (hfs_rules_add_endpoint(r, ep))
            /* the value is not echoed: it may carry credentials (user:pass@) */
            fprintf(stderr, "hfshim: warning: HF_ENDPOINT (%zu characters) is not a URL such as "
                            "https://host[:port]; ignored\n", strlen(ep));
    }
    return r;
}

const char *hfs_cli_env(const char *name)
{
    return getenv(name);
}

int hfs_cli_offline_arg(const char *arg)
{
    if (strcmp(arg, "--offline") == 0)
        return HFS_OFFLINE_ANSWER;
    if (strncmp(arg, "--offline=", 10) != 0)
        return 0;
    int m = hfs_parse_offline(arg + 10);
    if (m <= 0) {
        fprintf(stderr, "hfshim: unknown offline mode \"%s\" (use --offline or --offline=variables)\n", arg + 10);
        return -1;
    }
    return m;
}
