/* init: one-time set-up of the library, run by the constructor or by the
 * first hook called before it (pthread_once), consistent across fork.
 * Loads the rules syspolicy.h chooses (a locked system policy, else
 * HFSHIM_RULES, else the system policy, else default.json next to the
 * installed library); if they cannot be loaded it says so once and
 * enforces the safe default (offline, loopback only). Never exits the host. */
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "../core/childenv.h"
#include "../core/faultspec.h"
#include "../core/log.h"
#include "../core/regex.h"
#include "../core/syspolicy.h"
#include "atfork.h"
#include "dnsmem.h"
#include "faultcount.h"
#include "envhooks.h"
#include "reachmem.h"
#include "real.h"
#include "state.h"

struct hfs_state hfs_g;
__thread int hfs_busy __attribute__((tls_model("initial-exec")));

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int ready;
static __thread int in_init __attribute__((tls_model("initial-exec")));

/* A rule's regex gave up on a long subject (once per pattern). */
static void regex_gave_up(const char *pattern, const char *error)
{
    hfs_log_msg("error",
                "the regex %.200s gave up (%s): a block or strip rule counts it as a match, any other "
                "rule as no match",
                pattern, error);
}

static void find_self(void)
{
    Dl_info info = { 0 };
    char tmp[PATH_MAX];
    /* an absolute name (what hfshim run preloads) is used as it is; the
     * symlinks are resolved only to find the default rules (below) */
    if (dladdr((void *)find_self, &info) && info.dli_fname && info.dli_fname[0] == '/')
        snprintf(hfs_g.libpath, sizeof hfs_g.libpath, "%s", info.dli_fname);
    else if (info.dli_fname && info.dli_fname[0] && realpath(info.dli_fname, tmp))
        snprintf(hfs_g.libpath, sizeof hfs_g.libpath, "%s", tmp);
    else
        snprintf(hfs_g.libpath, sizeof hfs_g.libpath, "libhfshim.so");
}

/* Children get the sanitizer runtimes this process was started with (a
 * sanitized child cannot start without them), then this library. */
static void child_preload(void)
{
    const char *pre = hfs_env_lookup("LD_PRELOAD");
    char san[PATH_MAX];
    long n = hfs_preload_sanitizers(pre, san, sizeof san);
    snprintf(hfs_g.childlib, sizeof hfs_g.childlib, "%s%s%s", n > 0 ? san : "", n > 0 ? ":" : "", hfs_g.libpath);
}

static void default_rules_path(char *out, size_t outlen)
{
    char dir[PATH_MAX];
    if (!realpath(hfs_g.libpath, dir)) /* an installed symlink points into the real tree */
        snprintf(dir, sizeof dir, "%s", hfs_g.libpath);
    snprintf(out, outlen, "%s/../share/hfshim/rules/default.json", dirname(dir));
}

static void emit_diag(void *ctx, int is_error, const char *msg)
{
    (void)ctx;
    (void)is_error;
    (void)msg; /* the library reports only the first error, once (below) */
}

static void snapshot_carry(void)
{
    extern char **environ;
    size_t n = 0;
    if (hfs_g.secure) {
        /* as glibc drops LD_* here: children of a setuid program do not
         * inherit the caller's hfshim settings */
        hfs_g.carry[0] = NULL;
        for (char **e = environ; e && *e;) {
            char name[64];
            const char *eq = strchr(*e, '=');
            size_t l = eq ? (size_t)(eq - *e) : 0;
            if (strncmp(*e, "HFSHIM_", 7) == 0 && eq && l < sizeof name && REAL(unsetenv)) {
                memcpy(name, *e, l);
                name[l] = 0;
                REAL(unsetenv)(name);
                e = environ; /* unsetenv moved the entries */
            } else {
                e++;
            }
        }
        return;
    }
    for (char **e = environ; e && *e && n < HFS_MAX_CARRY; e++) {
        if (strncmp(*e, "HFSHIM_", 7) != 0)
            continue;
        if (strncmp(*e, "HFSHIM_RULES=", 13) == 0 && (*e)[13] != '/' && !hfs_g.secure) { /* relative: children may cd */
            char abs[PATH_MAX], *s;
            if (realpath(*e + 13, abs) && asprintf(&s, "HFSHIM_RULES=%s", abs) > 0) {
                hfs_g.carry[n++] = s;
                continue;
            }
        }
        if (strncmp(*e, "HFSHIM_HUB_ENDPOINT=", 20) == 0)
            continue; /* re-added by carry_endpoint() */
        char *s = strdup(*e);
        if (s)
            hfs_g.carry[n++] = s;
    }
    hfs_g.carry[n] = NULL;
}

/* The Hub endpoint this process tree started with stays a Hub host in
 * children that drop HF_ENDPOINT (HFSHIM_HUB_ENDPOINT carries it). */
static void carry_endpoint(const char *ep)
{
    size_t n = 0;
    char *s;
    while (hfs_g.carry[n])
        n++;
    if (n <= HFS_MAX_CARRY && asprintf(&s, "HFSHIM_HUB_ENDPOINT=%s", ep) > 0) {
        hfs_g.carry[n] = s;
        hfs_g.carry[n + 1] = NULL;
    }
}

static struct hfs_policy policy;

static void log_ignored(void)
{
    char list[HFS_POLICY_MAX_IGNORED * 162] = "";
    size_t o = 0;
    for (size_t i = 0; i < policy.nignored && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", policy.ignored[i]);
    if (policy.nignored)
        hfs_log_msg("error", "the %s applies: ignored %s (the environment may only add restrictions)",
                    policy.src == HFS_POLICY_SYSTEM ? "locked policy " HFS_SYSTEM_RULES
                                                    : "safe default (the system policy cannot be used)",
                    list);
}

/* The rules the policy names; NULL (with d filled) when they cannot be used. */
static struct hfs_rules *open_rules(struct hfs_rules **sys, struct hfs_diag *d, const char **what)
{
    char defpath[PATH_MAX], why[PATH_MAX + 100];
    struct hfs_rules *r;
    switch (policy.src) {
    case HFS_POLICY_SYSTEM:
        r = *sys;
        *sys = NULL;
        *what = HFS_SYSTEM_RULES;
        return r;
    case HFS_POLICY_SAFE: *what = HFS_SYSTEM_RULES; return NULL;
    case HFS_POLICY_ENV: *what = policy.rules_path; return hfs_rules_load_file(policy.rules_path, d);
    case HFS_POLICY_DEFAULT:
    default:
        default_rules_path(defpath, sizeof defpath);
        *what = "the installed default rules";
        if (policy.secure && hfs_file_trusted(defpath, why, sizeof why)) {
            hfs_diag_report(d, 1, "%s: not used in secure-execution mode: %s", defpath, why);
            return NULL;
        }
        return hfs_rules_load_file(defpath, d);
    }
}

static void load_rules(struct hfs_rules *sys, struct hfs_diag *sd)
{
    struct hfs_diag d = { emit_diag, NULL, 0, 0, { 0 } };
    const char *what = "";
    const char *off = policy.offline;
    hfs_g.rules = open_rules(&sys, &d, &what);
    hfs_rules_free(sys);
    int safe_default = 0;
    if (!hfs_g.rules) {
        hfs_g.rules = hfs_rules_safe_default();
        safe_default = 1;
        if (policy.src == HFS_POLICY_SAFE)
            hfs_log_msg("error",
                        "cannot use the system policy: %s; enforcing the safe default (offline: Hub blocked, "
                        "loopback only)",
                        sd->first_error);
        else
            hfs_log_msg("error", "cannot use the rules: %s; enforcing the safe default (offline, loopback only)",
                        d.first_error);
    }
    if (off && *off) {
        int b = hfs_parse_offline(off);
        if (b < 0)
            hfs_log_msg("error", "HFSHIM_OFFLINE=%s is not one of 1/0/true/false/yes/no/on/off/variables; ignored",
                        off);
        else if (safe_default && b == 0)
            hfs_log_msg("error", "HFSHIM_OFFLINE=%s ignored: the safe default stays offline until the rules load", off);
        else if (hfs_g.rules)
            hfs_g.rules->offline = b;
    }
    /* --fault shortcuts (HFSHIM_FAULT, one per line) go before the rules */
    const char *faults = policy.fault;
    if (faults && *faults && !safe_default) {
        struct hfs_diag fd = { emit_diag, NULL, 0, 0, { 0 } };
        if (hfs_faults_apply(hfs_g.rules, faults, &fd))
            hfs_log_msg("error", "HFSHIM_FAULT ignored: %s", fd.first_error);
    }
    for (size_t i = 0; hfs_g.rules && i < hfs_g.rules->nrules; i++)
        if (hfs_g.rules->rules[i].window.present) {
            hfs_faultcount_init();
            break;
        }
}

void hfs_carry_add(const char *name, const char *value)
{
    size_t nl = strlen(name), n = 0;
    char *s;
    if (asprintf(&s, "%s=%s", name, value) < 0)
        return;
    while (hfs_g.carry[n] && !(strncmp(hfs_g.carry[n], name, nl) == 0 && hfs_g.carry[n][nl] == '='))
        n++;
    if (hfs_g.carry[n]) { /* replaced (the old string is left: a child may be reading it) */
        hfs_g.carry[n] = s;
        return;
    }
    if (n <= HFS_MAX_CARRY) {
        hfs_g.carry[n + 1] = NULL;
        hfs_g.carry[n] = s;
    } else {
        free(s);
    }
}

/* After env.set/unset ran (a rules file may set HF_ENDPOINT itself). */
static void add_endpoints(void)
{
    const char *ep = policy.endpoints ? hfs_env_lookup("HF_ENDPOINT") : NULL;
    const char *inherited = policy.endpoints ? hfs_env_lookup("HFSHIM_HUB_ENDPOINT") : NULL;
    if (!hfs_g.rules)
        return;
    if (inherited && *inherited)
        hfs_rules_add_endpoint(hfs_g.rules, inherited);
    if (ep && *ep) {
        if (!inherited || strcmp(inherited, ep) != 0)
            hfs_rules_add_endpoint(hfs_g.rules, ep);
        carry_endpoint(ep);
    } else if (inherited && *inherited) {
        carry_endpoint(inherited);
    }
}

static void at_exit_summary(void)
{
    long counts[4] = { atomic_load(&hfs_g.blocked_lookups), atomic_load(&hfs_g.blocked_connects),
                       atomic_load(&hfs_g.blocked_datagrams), atomic_load(&hfs_g.blocked_requests) };
    static const char *const what[4] = { "lookup", "connection", "datagram", "HTTP request" };
    char parts[200];
    size_t o = 0;
    for (int i = 0; i < 4; i++)
        if (counts[i] && o < sizeof parts)
            o += (size_t)snprintf(parts + o, sizeof parts - o, "%s%ld %s%s", o ? ", " : "", counts[i], what[i],
                                  counts[i] == 1 ? "" : "s");
    if (o)
        hfs_log_msg("summary", "summary: blocked %s (details in the lines above)", parts);
}

/* fork: the child counts its own blocks (atfork.c calls this last). */
void hfs_init_fork_child(void)
{
    atomic_store(&hfs_g.blocked_lookups, 0);
    atomic_store(&hfs_g.blocked_connects, 0);
    atomic_store(&hfs_g.blocked_datagrams, 0);
    atomic_store(&hfs_g.blocked_requests, 0);
    atomic_store(&hfs_g.answered_requests, 0);
}

static void do_init(void)
{
    struct hfs_diag sd = { emit_diag, NULL, 0, 0, { 0 } };
    struct hfs_rules *sys = NULL;
    in_init = 1;
    hfs_g.secure = getauxval(AT_SECURE) != 0;
    snprintf(hfs_g.program, sizeof hfs_g.program, "%s", program_invocation_short_name);
    enum hfs_sys_state st = hfs_sys_load(HFS_SYSTEM_RULES, hfs_g.secure, &sd, &sys);
    hfs_policy_choose(st, sys, hfs_g.secure, hfs_env_lookup, &policy);
    hfs_g.locked = policy.locked;
    const char *logdest = policy.log_dest                          ? policy.log_dest
                          : sys && policy.src == HFS_POLICY_SYSTEM ? sys->log_dest
                                                                   : NULL;
    const char *logfmt = policy.log_format;
    int sysjson = sys && policy.src == HFS_POLICY_SYSTEM && sys->log_format_set && sys->log_format == HFS_LOG_JSON;
    hfs_log_setup(logdest, logfmt ? strcmp(logfmt, "json") == 0 : sysjson, hfs_g.program);
    hfs_re_error_hook = regex_gave_up;
    find_self();
    child_preload();
    snapshot_carry();
    load_rules(sys, &sd);
    log_ignored();
    if (hfs_g.rules && !policy.log_dest && (hfs_g.rules->log_dest || (hfs_g.rules->log_format_set && !logfmt)))
        hfs_log_setup(hfs_g.rules->log_dest ? hfs_g.rules->log_dest : logdest,
                      logfmt ? strcmp(logfmt, "json") == 0 : hfs_g.rules->log_format == HFS_LOG_JSON, hfs_g.program);
    hfs_audit_setup(policy.audit ? policy.audit : hfs_g.rules ? hfs_g.rules->audit_path : NULL);
    const char *hub_off = NULL;
    if (hfs_g.rules && hfs_env_hub_offline(hfs_g.rules, hfs_env_lookup, &hub_off)) {
        static char why[96];
        snprintf(why, sizeof why, "%s=1 in the environment: the Hub is taken as unreachable", hub_off);
        hfs_reach_set_hub_offline(why);
        hfs_carry_add("HFSHIM_HUB_OFFLINE", "1"); /* children: the switch they see is 0 */
    }
    hfs_g.nenv = hfs_g.rules ? hfs_env_plan(hfs_g.rules, hfs_env_lookup, hfs_g.env, HFS_MAX_ENV, NULL) : 0;
    hfs_env_apply();
    add_endpoints();
    hfs_dnsmem_init();
    hfs_atfork_install();
    atexit(at_exit_summary);
    in_init = 0;
    atomic_store_explicit(&ready, 1, memory_order_release);
}

int hfs_ready(void)
{
    if (hfs_busy || in_init)
        return 0;
    if (!atomic_load_explicit(&ready, memory_order_acquire))
        pthread_once(&once, do_init);
    return hfs_g.rules != NULL;
}

__attribute__((constructor)) static void hfs_constructor(void) { hfs_ready(); }
