/* load: rules loading for the launcher's commands, with every message on
 * stderr, and the same choice of policy (syspolicy.h: a locked system
 * policy wins) and environment overrides the library applies. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/envpolicy.h"
#include "../core/syspolicy.h"
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

int hfs_cli_locked;

/* Messages of the system policy, printed only when it is the one used. */
struct held {
    char text[8192];
    size_t len;
};

static void hold(void *ctx, int is_error, const char *msg)
{
    struct held *h = ctx;
    (void)is_error;
    if (h->len < sizeof h->text)
        h->len += (size_t)snprintf(h->text + h->len, sizeof h->text - h->len, "%s\n", msg);
}

static void apply_offline_env(struct hfs_rules *r, const char *off)
{
    if (!off || !*off)
        return;
    int b = hfs_parse_offline(off);
    if (b < 0)
        fprintf(stderr,
                "hfshim: warning: HFSHIM_OFFLINE=%s is not one of 1/0/true/false/yes/no/on/off/variables; ignored\n",
                off);
    else
        r->offline = b;
}

static void add_endpoint_env(struct hfs_rules *r, int allowed)
{
    const char *ep = allowed ? getenv("HF_ENDPOINT") : NULL;
    if (ep && *ep && hfs_rules_add_endpoint(r, ep))
        /* the value is not echoed: it may carry credentials (user:pass@) */
        fprintf(stderr,
                "hfshim: warning: HF_ENDPOINT (%zu characters) is not a URL such as "
                "https://host[:port]; ignored\n",
                strlen(ep));
}

/* The locked system policy: what the library will use, whatever is asked. */
static struct hfs_rules *locked_policy(struct hfs_rules *sys, const struct hfs_policy *pol, const char *path,
                                       int offline_flag, char *used_path, size_t used_len)
{
    if (path)
        fprintf(stderr, "hfshim: the locked system policy %s applies: --rules %s ignored\n", HFS_SYSTEM_RULES, path);
    for (size_t i = 0; i < pol->nignored; i++)
        fprintf(stderr,
                "hfshim: the locked system policy %s applies: %s ignored (the environment may only add "
                "restrictions)\n",
                HFS_SYSTEM_RULES, pol->ignored[i]);
    snprintf(used_path, used_len, "%s", HFS_SYSTEM_RULES);
    apply_offline_env(sys, pol->offline);
    if (offline_flag && hfs_offline_stricter(sys->offline, offline_flag))
        sys->offline = offline_flag;
    else if (offline_flag)
        fprintf(stderr,
                "hfshim: the locked system policy %s applies: --offline%s ignored (it sets its own offline mode)\n",
                HFS_SYSTEM_RULES, offline_flag == HFS_OFFLINE_VARIABLES ? "=variables" : "");
    add_endpoint_env(sys, pol->endpoints || sys->offline);
    return sys;
}

struct hfs_rules *hfs_load_for_cli(const char *path, int offline_flag, char *used_path, size_t used_len)
{
    struct hfs_diag d = { to_stderr, NULL, 0, 0, { 0 } };
    struct held h = { "", 0 };
    struct hfs_diag sd = { hold, &h, 0, 0, { 0 } };
    struct hfs_rules *sys = NULL, *r;
    struct hfs_policy pol;
    char def[PATH_MAX];
    const char *env_rules = getenv("HFSHIM_RULES");
    enum hfs_sys_state st = hfs_sys_load(HFS_SYSTEM_RULES, 0, &sd, &sys);
    hfs_policy_choose(st, sys, 0, hfs_cli_env, &pol);
    hfs_cli_locked = pol.locked;
    if (st == HFS_SYS_BROKEN) {
        fputs(h.text, stderr);
        fprintf(stderr,
                "hfshim: the system policy %s cannot be used: programs under the shim run offline (Hub "
                "blocked, loopback only) until it is fixed\n",
                HFS_SYSTEM_RULES);
        return NULL;
    }
    if (pol.locked) {
        fputs(h.text, stderr);
        return locked_policy(sys, &pol, path, offline_flag, used_path, used_len);
    }
    if (!path && env_rules && *env_rules)
        path = env_rules;
    if (!path && sys) { /* the system policy is the default */
        fputs(h.text, stderr);
        snprintf(used_path, used_len, "%s", HFS_SYSTEM_RULES);
        r = sys;
    } else {
        hfs_rules_free(sys);
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
    }
    apply_offline_env(r, getenv("HFSHIM_OFFLINE"));
    if (offline_flag)
        r->offline = offline_flag;
    add_endpoint_env(r, 1);
    return r;
}

const char *hfs_cli_env(const char *name) { return getenv(name); }

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
