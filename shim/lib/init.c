/* init: one-time set-up of the library, run by the constructor or by the
 * first hook called before it (pthread_once), consistent across fork.
 * Loads the rules syspolicy.h chooses (a locked system policy, else
 * HFSHIM_RULES, else the system policy, else default.json next to the
 * installed library); if they cannot be loaded it says so once and
 * enforces the safe default (offline, loopback only). Never exits the host. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/childenv.h"
#include "../core/startup.h"
#include "../core/faultspec.h"
#include "../core/log.h"
#include "../core/polcache.h"
#include "../core/regex.h"
#include "../core/strcopy.h"
#include "../core/syspolicy.h"
#include "atfork.h"
#include "dnsmem.h"
#include "faultcount.h"
#include "envhooks.h"
#include "reachmem.h"
#include "real.h"
#include "state.h"

HFS_STARTUP_DATA struct hfs_state hfs_g;
__thread int hfs_busy __attribute__((tls_model("initial-exec")));

HFS_STARTUP_DATA static pthread_once_t once = PTHREAD_ONCE_INIT;
HFS_STARTUP_DATA static atomic_int ready;
static __thread int in_init __attribute__((tls_model("initial-exec")));

/* A rule's regex gave up on a long subject (once per pattern). */
static void regex_gave_up(const char *pattern, const char *error)
{
    hfs_log_msg("error",
                "the regex %.200s gave up (%s): a block or strip rule counts it as a match, any other "
                "rule as no match",
                pattern, error);
}

/* A relative name made absolute (its own frame: the common path keeps a
 * shallow stack, each stack page first touched being a fault). */
static __attribute__((noinline)) const char *absolute_copy(const char *name)
{
    char tmp[PATH_MAX];
    return realpath(name, tmp) ? strdup(tmp) : NULL;
}

HFS_STARTUP static void find_self(void)
{
    Dl_info info = { 0 };
    const char *self = NULL;
    /* an absolute name (what hfshim run preloads) is used as it is (the
     * loader's own copy: no allocation); the symlinks are resolved only to
     * find the default rules (below) */
    if (dladdr((void *)find_self, &info) && info.dli_fname && info.dli_fname[0] == '/')
        self = info.dli_fname;
    else if (info.dli_fname && info.dli_fname[0])
        self = absolute_copy(info.dli_fname);
    hfs_g.libpath = self ? self : "libhfshim.so";
}

/* The sanitizer runtimes then this library (a sanitizer build only). */
static __attribute__((noinline)) const char *with_sanitizers(const char *san)
{
    char both[2 * PATH_MAX];
    size_t o = 0;
    both[0] = 0;
    hfs_strappend(both, sizeof both, &o, san);
    hfs_strappend(both, sizeof both, &o, ":");
    hfs_strappend(both, sizeof both, &o, hfs_g.libpath);
    const char *s = strdup(both);
    return s ? s : hfs_g.libpath;
}

/* Children get the sanitizer runtimes this process was started with (a
 * sanitized child cannot start without them), then this library. */
HFS_STARTUP static void child_preload(void)
{
    const char *pre = hfs_env_lookup("LD_PRELOAD");
    char san[PATH_MAX];
    long n = hfs_preload_sanitizers(pre, san, sizeof san);
    hfs_g.childlib = n > 0 ? with_sanitizers(san) : hfs_g.libpath;
}

HFS_STARTUP_DATA static const char *default_path; /* worked out once (init, then the first deciding hook) */

/* default.json in ../share/hfshim/rules from the library's real folder (an
 * installed symlink points into the real tree); "" (nothing is read: the
 * safe default) without memory. Kept on the heap, not in PATH_MAX buffers
 * on the start-up stack: each stack page first touched is a fault.
 * Only a library file that is itself a symlink needs resolving: the
 * kernel reads "dir/.." from where dir really is (symlinked folders on
 * the way included), so for a plain file the name as loaded finds the
 * same file as its real path would, with one lstat instead of realpath's
 * readlink of every component. */
HFS_STARTUP static const char *default_rules_path(void)
{
    static const char tail[] = "/../share/hfshim/rules/default.json";
    struct stat st;
    if (default_path)
        return default_path;
    int plain = hfs_g.libpath[0] == '/' && lstat(hfs_g.libpath, &st) == 0 && !S_ISLNK(st.st_mode);
    char *real = plain ? NULL : realpath(hfs_g.libpath, NULL);
    const char *dir = real ? real : hfs_g.libpath, *slash = strrchr(dir, '/');
    size_t n = !slash ? 0 : slash == dir ? 1 : (size_t)(slash - dir); /* as dirname: "/x" -> "/" */
    char *s = malloc(n + 1 + sizeof tail);
    if (s) {
        if (!slash) /* as dirname: "." */
            s[n++] = '.';
        else
            memcpy(s, dir, n);
        memcpy(s + n, tail, sizeof tail);
    }
    free(real);
    default_path = s;
    return s ? s : "";
}

static void emit_diag(void *ctx, int is_error, const char *msg)
{
    (void)ctx;
    (void)is_error;
    (void)msg; /* the library reports only the first error, once (below) */
}

HFS_STARTUP static void snapshot_carry(void)
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
HFS_STARTUP static void carry_endpoint(const char *ep)
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

HFS_STARTUP_DATA static struct hfs_policy policy;

HFS_STARTUP static void log_ignored(void)
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

/* Secure-execution mode: the installed default only when root's alone
 * (its own frame: the reason's buffer is not on the common path). */
static __attribute__((noinline)) int default_untrusted(const char *path, struct hfs_diag *d)
{
    char why[PATH_MAX + 100];
    if (!hfs_file_trusted(path, why, sizeof why))
        return 0;
    hfs_diag_report(d, 1, "%s: not used in secure-execution mode: %s", path, why);
    return 1;
}

/* The rules file the policy names (HFS_POLICY_ENV, HFS_POLICY_DEFAULT),
 * "" when it must not be read; what says which it is in messages. */
HFS_STARTUP static __attribute__((noinline)) const char *rules_file(struct hfs_diag *d, const char **what)
{
    if (policy.src == HFS_POLICY_ENV) {
        *what = policy.rules_path;
        return policy.rules_path;
    }
    const char *path = default_rules_path();
    *what = "the installed default rules";
    if (!*path || (policy.secure && default_untrusted(path, d)))
        return "";
    return path;
}

/* The rules the policy names; NULL (with d filled) when they cannot be used. */
static __attribute__((noinline)) struct hfs_rules *open_rules(struct hfs_rules **sys, struct hfs_diag *d,
                                                              const char **what)
{
    const char *path;
    struct hfs_rules *r;
    switch (policy.src) {
    case HFS_POLICY_SYSTEM:
        r = *sys;
        *sys = NULL;
        *what = HFS_SYSTEM_RULES;
        return r;
    case HFS_POLICY_SAFE: *what = HFS_SYSTEM_RULES; return NULL;
    case HFS_POLICY_ENV:
    case HFS_POLICY_DEFAULT:
    default: path = rules_file(d, what); return *path ? hfs_rules_load_file(path, d) : NULL;
    }
}

/* The compiled policy (core/polcache.h): only for a rules file named by an
 * absolute path, outside secure-execution mode (the cache lives in the
 * user's home). cache gets its path; 0, or -1 when none is used. */
HFS_STARTUP static __attribute__((noinline)) int policy_cache(char *cache, size_t cap, char *path, size_t pathcap)
{
    const char *what;
    if (policy.secure || hfs_g.secure || (policy.src != HFS_POLICY_ENV && policy.src != HFS_POLICY_DEFAULT) ||
        hfs_g.libpath[0] != '/')
        return -1;
    const char *p = rules_file(NULL, &what); /* not secure: no message to report */
    size_t n = strlen(p);
    if (p[0] != '/' || n + 1 >= pathcap) /* a long path: no cache */
        return -1;
    memcpy(path, p, n + 1);
    return hfs_polcache_path(hfs_g.libpath, path, hfs_env_lookup, cache, cap);
}

/* What init and the first deciding hook share about the environment's
 * settings: read once at init, applied to the full rules when they load. */
static int offline_override = -1;                                /* HFSHIM_OFFLINE applied, or -1 */
HFS_STARTUP_DATA static const char *fault_specs;                 /* HFSHIM_FAULT */
HFS_STARTUP_DATA static char *endpoint_inherited, *endpoint_own; /* HFSHIM_HUB_ENDPOINT, HF_ENDPOINT after env.set */
HFS_STARTUP_DATA static int loaded_safe_default;                 /* the rules in hfs_g.rules are the safe default */
HFS_STARTUP_DATA static int top_is_full;                         /* hfs_g.top is the full rules (parsed at init) */
HFS_STARTUP_DATA static int sys_light;                           /* the system policy came compiled: a top level only */
static pthread_mutex_t full_lock = PTHREAD_MUTEX_INITIALIZER;

/* HFSHIM_OFFLINE against the rules r (the top level): logged once. */
HFS_STARTUP static void apply_offline_setting(struct hfs_rules *r, int safe_default)
{
    const char *off = policy.offline;
    if (!off || !*off)
        return;
    int b = hfs_parse_offline(off);
    if (b < 0)
        hfs_log_msg("error", "HFSHIM_OFFLINE=%s is not one of 1/0/true/false/yes/no/on/off/variables; ignored", off);
    else if (safe_default && b == 0)
        hfs_log_msg("error", "HFSHIM_OFFLINE=%s ignored: the safe default stays offline until the rules load", off);
    else if (r) {
        r->offline = b;
        offline_override = b;
    }
}

static void log_unusable(const struct hfs_diag *sd, const struct hfs_diag *d)
{
    if (policy.src == HFS_POLICY_SAFE || policy.src == HFS_POLICY_SYSTEM)
        hfs_log_msg("error",
                    "cannot use the system policy: %s; enforcing the safe default (offline: Hub blocked, "
                    "loopback only)",
                    sd->first_error);
    else
        hfs_log_msg("error", "cannot use the rules: %s; enforcing the safe default (offline, loopback only)",
                    d->first_error);
}

/* The system policy loaded now (when init took it compiled); NULL with sd
 * filled when it cannot be used any more. */
static struct hfs_rules *system_rules(struct hfs_diag *sd)
{
    struct hfs_rules *r = NULL;
    if (hfs_sys_load(HFS_SYSTEM_RULES, hfs_g.secure, sd, &r) != HFS_SYS_LOADED) {
        hfs_rules_free(r);
        return NULL;
    }
    return r;
}

/* What the full rules get beyond the file (init's settings): faults, the
 * offline setting, the Hub endpoints; then the fault counters. */
static void finish_rules(struct hfs_rules *r)
{
    /* the safe default stays offline (HFSHIM_OFFLINE=0 was refused at
     * start for it; here it may be the rules that failed late) */
    if (offline_override >= 0 && !(loaded_safe_default && offline_override == 0))
        r->offline = offline_override;
    /* --fault shortcuts (HFSHIM_FAULT, one per line) go before the rules */
    if (fault_specs && !loaded_safe_default) {
        struct hfs_diag fd = { emit_diag, NULL, 0, 0, { 0 } };
        if (hfs_faults_apply(r, fault_specs, &fd))
            hfs_log_msg("error", "HFSHIM_FAULT ignored: %s", fd.first_error);
    }
    if (endpoint_inherited)
        hfs_rules_add_endpoint(r, endpoint_inherited);
    if (endpoint_own && (!endpoint_inherited || strcmp(endpoint_inherited, endpoint_own) != 0))
        hfs_rules_add_endpoint(r, endpoint_own);
    for (size_t i = 0; i < r->nrules; i++)
        if (r->rules[i].window.present) {
            hfs_faultcount_init();
            break;
        }
}

/* At init: the top level every process needs (hfs_g.top). From the
 * compiled policy when it is current: the rules proper then load on the
 * first hook that decides (load_full). Otherwise the rules file is parsed
 * here as before, as the full rules, and the compiled policy written for
 * the next processes. Bad rules: the safe default, said once. With
 * HFSHIM_FAULT (a test run) the rules are always parsed here, so a bad
 * fault is reported at start as before. */
HFS_STARTUP static __attribute__((noinline)) void load_top(struct hfs_rules *sys, struct hfs_diag *sd)
{
    struct hfs_diag d = { emit_diag, NULL, 0, 0, { 0 } };
    char cache[1024], path[1024]; /* longer paths: no compiled policy (a shallower stack at start) */
    const char *what = "";
    if (policy.fault && *policy.fault)
        fault_specs = policy.fault;
    if (sys_light) { /* the system policy's compiled top level */
        if (policy.src == HFS_POLICY_SYSTEM && !fault_specs) {
            apply_offline_setting(sys, 0);
            hfs_g.top = sys; /* its rules load on the first deciding hook */
            return;
        }
        hfs_polcache_free(sys);
        sys = policy.src == HFS_POLICY_SYSTEM ? system_rules(sd) : NULL;
        sys_light = 0;
    }
    int cached = !fault_specs && policy_cache(cache, sizeof cache, path, sizeof path) == 0;
    if (cached) {
        struct hfs_rules *top = hfs_polcache_read(cache, hfs_g.libpath, path, 0);
        if (top) {
            if (sys)
                hfs_rules_free(sys);
            apply_offline_setting(top, 0);
            hfs_g.top = top;
            return;
        }
    }
    struct hfs_rules *r = open_rules(&sys, &d, &what);
    hfs_rules_free(sys);
    if (r && cached)
        hfs_polcache_write(cache, hfs_g.libpath, path, r, 0);
    if (!r) {
        r = hfs_rules_safe_default();
        loaded_safe_default = 1;
        log_unusable(sd, &d);
    }
    apply_offline_setting(r, loaded_safe_default);
    hfs_g.top = r;
    top_is_full = 1;
}

/* The first hook that decides, when init took the top level from the
 * compiled policy: the rules proper, parsed now. Under full_lock: one
 * thread loads, the others wait; a fork child gets a new lock
 * (hfs_init_fork_child). */
static __attribute__((noinline)) void load_full(void)
{
    struct hfs_diag d = { emit_diag, NULL, 0, 0, { 0 } };
    struct hfs_rules *r;
    if (policy.src == HFS_POLICY_SYSTEM) {
        r = system_rules(&d);
    } else {
        const char *what, *p = rules_file(&d, &what);
        r = *p ? hfs_rules_load_file(p, &d) : NULL;
    }
    if (!r) { /* changed since init found the compiled policy current */
        r = hfs_rules_safe_default();
        loaded_safe_default = 1;
        log_unusable(&d, &d);
    }
    if (r)
        finish_rules(r);
    hfs_g.rules = r;
}

HFS_STARTUP void hfs_carry_add(const char *name, const char *value)
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

/* After env.set/unset ran (a rules file may set HF_ENDPOINT itself): the
 * endpoints as they are now, added as Hub hosts when the rules load. */
HFS_STARTUP static void add_endpoints(void)
{
    const char *ep = policy.endpoints ? hfs_env_lookup("HF_ENDPOINT") : NULL;
    const char *inherited = policy.endpoints ? hfs_env_lookup("HFSHIM_HUB_ENDPOINT") : NULL;
    if (!hfs_g.top)
        return;
    if (inherited && *inherited)
        endpoint_inherited = strdup(inherited);
    if (ep && *ep) {
        endpoint_own = strdup(ep);
        carry_endpoint(ep);
    } else if (inherited && *inherited) {
        carry_endpoint(inherited);
    }
}

HFS_STARTUP static void at_exit_summary(void)
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

/* What libc's atexit stub calls (that stub is linked into the library far
 * from the start-up code: a page fault in every process). */
extern void *__dso_handle;
extern int __cxa_atexit(void (*)(void *), void *, void *);

HFS_STARTUP static void exit_summary(void *unused)
{
    (void)unused;
    at_exit_summary();
}

/* fork: the child counts its own blocks, and gets a new rules-load lock:
 * it is never taken before fork (a load may run long, and hooks of any
 * layer wait on it), so a load another thread had under way simply does
 * not exist in the child, which loads when it needs to (atfork.c calls
 * this last). */
void hfs_init_fork_child(void)
{
    pthread_mutex_init(&full_lock, NULL);
    atomic_store(&hfs_g.blocked_lookups, 0);
    atomic_store(&hfs_g.blocked_connects, 0);
    atomic_store(&hfs_g.blocked_datagrams, 0);
    atomic_store(&hfs_g.blocked_requests, 0);
    atomic_store(&hfs_g.answered_requests, 0);
}

HFS_STARTUP static void do_init(void)
{
    struct hfs_diag sd = { emit_diag, NULL, 0, 0, { 0 } };
    struct hfs_rules *sys = NULL;
    in_init = 1;
    hfs_g.secure = getauxval(AT_SECURE) != 0;
    hfs_strcopy(hfs_g.program, sizeof hfs_g.program, program_invocation_short_name);
    find_self();
    /* the system policy: compiled when that is current, else parsed (and
     * compiled for the next processes, by root) */
    int c = hfs_sys_load_compiled(HFS_SYSTEM_RULES, hfs_g.libpath, hfs_g.secure, &sys);
    enum hfs_sys_state st = (enum hfs_sys_state)c;
    sys_light = c == HFS_SYS_LOADED;
    if (c < 0) {
        st = hfs_sys_load(HFS_SYSTEM_RULES, hfs_g.secure, &sd, &sys);
        if (st == HFS_SYS_LOADED)
            hfs_sys_write_compiled(HFS_SYSTEM_RULES, hfs_g.libpath, hfs_g.secure, sys);
    }
    hfs_policy_choose(st, sys, hfs_g.secure, hfs_env_lookup, &policy);
    hfs_g.locked = policy.locked;
    const char *logdest = policy.log_dest                          ? policy.log_dest
                          : sys && policy.src == HFS_POLICY_SYSTEM ? sys->log_dest
                                                                   : NULL;
    const char *logfmt = policy.log_format;
    int sysjson = sys && policy.src == HFS_POLICY_SYSTEM && sys->log_format_set && sys->log_format == HFS_LOG_JSON;
    hfs_log_setup(logdest, logfmt ? strcmp(logfmt, "json") == 0 : sysjson, hfs_g.program);
    hfs_re_error_hook = regex_gave_up;
    child_preload();
    snapshot_carry();
    load_top(sys, &sd);
    log_ignored();
    struct hfs_rules *top = hfs_g.top;
    if (top && !policy.log_dest && (top->log_dest || (top->log_format_set && !logfmt)))
        hfs_log_setup(top->log_dest ? top->log_dest : logdest,
                      logfmt ? strcmp(logfmt, "json") == 0 : top->log_format == HFS_LOG_JSON, hfs_g.program);
    hfs_audit_setup(policy.audit ? policy.audit : top ? top->audit_path : NULL);
    const char *hub_off = NULL;
    if (top && hfs_env_hub_offline(top, hfs_env_lookup, &hub_off)) {
        static char why[96];
        snprintf(why, sizeof why, "%s=1 in the environment: the Hub is taken as unreachable", hub_off);
        hfs_reach_set_hub_offline(why);
        hfs_carry_add("HFSHIM_HUB_OFFLINE", "1"); /* children: the switch they see is 0 */
    }
    hfs_g.nenv = top ? hfs_env_plan(top, hfs_env_lookup, hfs_g.env, HFS_MAX_ENV, NULL) : 0;
    hfs_env_apply();
    add_endpoints();
    if (top && top_is_full) { /* parsed here, not the compiled policy */
        finish_rules(top);
        hfs_g.rules = top;
    }
    hfs_dnsmem_init();
    hfs_atfork_install();
    __cxa_atexit(exit_summary, NULL, __dso_handle); /* atexit() itself: libc's stub, a page away */
    in_init = 0;
    atomic_store_explicit(&ready, 1, memory_order_release);
    if (top_is_full || !top)
        atomic_store_explicit(&hfs_rules_final, 1, memory_order_release);
}

HFS_STARTUP static void init_once(void)
{
    if (!atomic_load_explicit(&ready, memory_order_acquire))
        pthread_once(&once, do_init);
}

HFS_STARTUP int hfs_started(void)
{
    if (hfs_busy || in_init)
        return 0;
    init_once();
    return hfs_g.top != NULL;
}

HFS_STARTUP_DATA atomic_int hfs_rules_final;

int hfs_ready_slow(void)
{
    if (hfs_busy || in_init)
        return 0;
    init_once();
    if (!atomic_load_explicit(&hfs_rules_final, memory_order_acquire) && hfs_g.top) {
        pthread_mutex_lock(&full_lock);
        if (!atomic_load_explicit(&hfs_rules_final, memory_order_relaxed)) {
            in_init = 1; /* the hooks the loader reaches pass straight through */
            load_full();
            in_init = 0;
            atomic_store_explicit(&hfs_rules_final, 1, memory_order_release);
        }
        pthread_mutex_unlock(&full_lock);
    }
    return hfs_g.rules != NULL;
}

/* Only the start-up: the top level, the environment, what children get. */
__attribute__((constructor)) static void hfs_constructor(void) { hfs_started(); }
