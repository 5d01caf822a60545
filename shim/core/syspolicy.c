/* syspolicy: the system policy and the environment overrides (see header). */
#include "syspolicy.h"
#include "startup.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envpolicy.h"
#include "errtext.h"
#include "polcache.h"

/* Each folder on the way to path (as written) is owned by root and not
 * writable by group or others unless sticky; symlinks met on the way are
 * followed and their targets checked the same way (depth-limited). */
static int folders_trusted(const char *path, char *why, size_t whylen, int depth)
{
    char buf[PATH_MAX];
    struct stat st;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf || path[0] != '/') {
        snprintf(why, whylen, "%s is not an absolute path", path);
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0)
            continue;
        char keep = buf[i];
        buf[i] = 0;
        int last = keep == 0 || i == n;
        if (lstat(buf, &st) != 0) {
            snprintf(why, whylen, "cannot stat %s: %s", buf, hfs_errtext(errno));
            return -1;
        }
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            if (depth > 8 || !realpath(buf, target)) {
                snprintf(why, whylen, "cannot resolve %s", buf);
                return -1;
            }
            if (folders_trusted(target, why, whylen, depth + 1))
                return -1;
            if (stat(buf, &st) != 0) {
                snprintf(why, whylen, "cannot stat %s: %s", buf, hfs_errtext(errno));
                return -1;
            }
        }
        if (st.st_uid != 0) {
            snprintf(why, whylen, "%s is not owned by root", buf);
            return -1;
        }
        if (last ? (st.st_mode & (S_IWGRP | S_IWOTH)) != 0
                 : (st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
            snprintf(why, whylen, "%s is writable by group or others", buf);
            return -1;
        }
        buf[i] = keep;
    }
    return 0;
}

int hfs_file_trusted(const char *path, char *why, size_t whylen)
{
    char abs[PATH_MAX];
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(why, whylen, "cannot stat %s: %s", path, hfs_errtext(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "%s is not a regular file", path);
        return -1;
    }
    if (path[0] != '/') {
        if (!realpath(path, abs)) {
            snprintf(why, whylen, "cannot resolve %s", path);
            return -1;
        }
        path = abs;
    }
    return folders_trusted(path, why, whylen, 0);
}

HFS_STARTUP enum hfs_sys_state hfs_sys_load(const char *path, int secure, struct hfs_diag *d, struct hfs_rules **out)
{
    struct stat st;
    char why[PATH_MAX + 100];
    *out = NULL;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return HFS_SYS_ABSENT;
        hfs_diag_report(d, 1, "%s: cannot read: %s", path, hfs_errtext(errno));
        return HFS_SYS_BROKEN;
    }
    if (stat(path, &st) != 0) { /* a dangling symlink, a folder it cannot enter */
        hfs_diag_report(d, 1, "%s: cannot read: %s", path, hfs_errtext(errno));
        return HFS_SYS_BROKEN;
    }
    if (!S_ISREG(st.st_mode)) {
        hfs_diag_report(d, 1, "%s: cannot read: not a regular file", path);
        return HFS_SYS_BROKEN;
    }
    if (secure && hfs_file_trusted(path, why, sizeof why)) {
        hfs_diag_report(d, 1, "%s: not used in secure-execution mode: %s", path, why);
        return HFS_SYS_UNTRUSTED;
    }
    *out = hfs_rules_load_file(path, d);
    if (!*out)
        return HFS_SYS_BROKEN;
    /* a lock that someone else can rewrite locks nothing: the policy and
     * every file it includes must be root's alone */
    if ((*out)->locked || secure) {
        int bad = hfs_file_trusted(path, why, sizeof why);
        for (size_t i = 0; !bad && i < (*out)->nincludes; i++)
            bad = hfs_file_trusted((*out)->includes[i], why, sizeof why);
        if (bad) {
            hfs_diag_report(d, 1, "%s: %s policy cannot be trusted: %s", path, (*out)->locked ? "a locked" : "the",
                            why);
            hfs_rules_free(*out);
            *out = NULL;
            return secure ? HFS_SYS_UNTRUSTED : HFS_SYS_BROKEN;
        }
    }
    return HFS_SYS_LOADED;
}

int hfs_offline_stricter(int policy, int want)
{
    return want == policy || (want > 0 && (policy == 0 || want == HFS_OFFLINE_VARIABLES));
}

/* The value, with anything unprintable shown as '?', for a log line. */
static void note(struct hfs_policy *o, const char *name, const char *value)
{
    char *p;
    size_t n, cap = sizeof o->ignored[0];
    if (o->nignored >= HFS_POLICY_MAX_IGNORED)
        return;
    p = o->ignored[o->nignored++];
    n = (size_t)snprintf(p, cap, "%s=", name);
    size_t vlen = strlen(value), i;
    for (i = 0; i < vlen && n + 4 < cap; i++)
        p[n++] = (unsigned char)value[i] >= 0x20 && (unsigned char)value[i] < 0x7f ? value[i] : '?';
    if (i < vlen) {
        memcpy(p + n, "...", 3);
        n += 3;
    }
    p[n] = 0;
}

static const char *nonempty(hfs_policy_env_fn env, const char *name)
{
    const char *v = env ? env(name) : NULL;
    return v && *v ? v : NULL;
}

HFS_STARTUP void hfs_policy_choose(enum hfs_sys_state state, const struct hfs_rules *sys, int secure,
                                   hfs_policy_env_fn env, struct hfs_policy *o)
{
    memset(o, 0, sizeof *o);
    o->secure = secure;
    o->user_env = !secure;
    if (state != HFS_SYS_LOADED)
        sys = NULL;
    o->locked = (sys && sys->locked) || state == HFS_SYS_BROKEN || state == HFS_SYS_UNTRUSTED;
    /* secure-execution mode: the environment is not read at all */
    const char *er = secure ? NULL : nonempty(env, "HFSHIM_RULES");
    const char *eo = secure ? NULL : nonempty(env, "HFSHIM_OFFLINE");
    const char *el = secure ? NULL : nonempty(env, "HFSHIM_LOG");
    const char *ea = secure ? NULL : nonempty(env, "HFSHIM_AUDIT");
    o->log_format = secure ? NULL : nonempty(env, "HFSHIM_LOG_FORMAT");
    o->fault = secure ? NULL : nonempty(env, "HFSHIM_FAULT");

    if (state == HFS_SYS_BROKEN || state == HFS_SYS_UNTRUSTED)
        o->src = HFS_POLICY_SAFE;
    else if (o->locked)
        o->src = HFS_POLICY_SYSTEM;
    else if (er)
        o->src = HFS_POLICY_ENV;
    else if (sys)
        o->src = HFS_POLICY_SYSTEM;
    else
        o->src = HFS_POLICY_DEFAULT;
    if (o->src == HFS_POLICY_SAFE)
        o->fault = NULL; /* the safe default is not a test bench */

    if (!o->locked) {
        o->rules_path = o->src == HFS_POLICY_ENV ? er : NULL;
        o->offline = eo;
        o->log_dest = el;
        o->audit = ea;
        o->endpoints = o->user_env;
        return;
    }
    /* locked: only what adds restrictions */
    if (er)
        note(o, "HFSHIM_RULES", er);
    if (eo) {
        int policy = sys ? sys->offline : HFS_OFFLINE_ANSWER, want = hfs_parse_offline(eo);
        if (hfs_offline_stricter(policy, want))
            o->offline = eo; /* the same, or stricter */
        else
            note(o, "HFSHIM_OFFLINE", eo);
    }
    /* HF_ENDPOINT makes its host a Hub host: offline, Hub hosts get no
     * network at all (answers from the cache or blocks), so that only
     * restricts; online, a policy's "@hub" rules and token scopes would
     * reach a host the program chose */
    int offline_now = (sys ? sys->offline : HFS_OFFLINE_ANSWER) || (o->offline && hfs_parse_offline(o->offline) > 0);
    o->endpoints = o->user_env && offline_now;
    if (!o->endpoints && !secure) {
        if (nonempty(env, "HF_ENDPOINT"))
            note(o, "HF_ENDPOINT", "(a Hub host only offline)");
        if (nonempty(env, "HFSHIM_HUB_ENDPOINT"))
            note(o, "HFSHIM_HUB_ENDPOINT", "(a Hub host only offline)");
    }
    const char *dest = sys ? sys->log_dest : NULL;
    if (el && !(dest ? strcmp(el, dest) == 0 : strcmp(el, "stderr") == 0 || strcmp(el, "-") == 0))
        note(o, "HFSHIM_LOG", el); /* where the log goes is the policy's */
    if (ea && sys && sys->audit_path && strcmp(ea, sys->audit_path) != 0)
        note(o, "HFSHIM_AUDIT", ea);
    else
        o->audit = ea; /* an audit log the policy does not name only adds records */
}

/* -- the compiled system policy (polcache.h) ------------------------------ */

HFS_STARTUP int hfs_sys_compiled_path(const char *path, const char *lib_path, char *out, size_t cap)
{
    char dir[1024];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (!slash || n == 0 || n >= sizeof dir)
        return -1;
    memcpy(dir, path, n);
    dir[n] = 0;
    return hfs_polcache_name(lib_path, path, dir, out, cap);
}

/* The checks of hfs_sys_load that do not need the JSON (trust); 0 when
 * they pass. */
static __attribute__((noinline)) int still_trusted(const char *path, const struct hfs_rules *r)
{
    char why[PATH_MAX + 100];
    if (hfs_file_trusted(path, why, sizeof why))
        return -1;
    for (size_t i = 0; i < r->nincludes; i++)
        if (hfs_file_trusted(r->includes[i], why, sizeof why))
            return -1;
    return 0;
}

/* hfs_sys_load_compiled once the policy file exists (its own frame: most
 * machines have no system policy, and their start-up stack stays shallow) */
static __attribute__((noinline)) int load_compiled(const char *path, const char *lib_path, int secure,
                                                   struct hfs_rules **out)
{
    char cpath[1100], why[PATH_MAX + 100];
    struct hfs_rules *r;
    /* the compiled form must be root's alone, as the policy itself: whoever
     * could rewrite it could weaken the policy */
    if (!lib_path || lib_path[0] != '/' || hfs_sys_compiled_path(path, lib_path, cpath, sizeof cpath) ||
        hfs_file_trusted(cpath, why, sizeof why) || !(r = hfs_polcache_read(cpath, lib_path, path, 1)))
        return -1;
    /* as hfs_sys_load: a locked policy, and any in secure mode, with every
     * file it includes root's alone, now (a folder may have changed) */
    if ((r->locked || secure) && still_trusted(path, r)) {
        hfs_polcache_free(r);
        return -1;
    }
    *out = r;
    return HFS_SYS_LOADED;
}

HFS_STARTUP int hfs_sys_load_compiled(const char *path, const char *lib_path, int secure, struct hfs_rules **out)
{
    struct stat st;
    *out = NULL;
    if (lstat(path, &st) != 0)
        return errno == ENOENT || errno == ENOTDIR ? HFS_SYS_ABSENT : -1;
    return load_compiled(path, lib_path, secure, out);
}

void hfs_sys_write_compiled(const char *path, const char *lib_path, int secure, const struct hfs_rules *r)
{
    char cpath[1100];
    if (secure || geteuid() != 0 || !r || !lib_path || lib_path[0] != '/' ||
        hfs_sys_compiled_path(path, lib_path, cpath, sizeof cpath))
        return;
    hfs_polcache_write(cpath, lib_path, path, r, 1);
}
