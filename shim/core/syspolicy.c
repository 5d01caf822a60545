/* syspolicy: the system policy and the environment overrides (see header). */
#include "syspolicy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "envpolicy.h"

static int dir_trusted(const char *file, char *why, size_t whylen)
{
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(file, real)) {
        snprintf(why, whylen, "cannot resolve %s: %s", file, strerror(errno));
        return -1;
    }
    char *slash = strrchr(real, '/');
    if (slash == real)
        slash[1] = 0;
    else if (slash)
        *slash = 0;
    if (stat(real, &st) != 0) {
        snprintf(why, whylen, "cannot stat %s: %s", real, strerror(errno));
        return -1;
    }
    if (st.st_uid != 0 || ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))) {
        snprintf(why, whylen, "its folder %s is %s", real,
                 st.st_uid != 0 ? "not owned by root" : "writable by group or others");
        return -1;
    }
    return 0;
}

int hfs_file_trusted(const char *path, char *why, size_t whylen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(why, whylen, "cannot stat %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "%s is not a regular file", path);
        return -1;
    }
    if (st.st_uid != 0) {
        snprintf(why, whylen, "%s is not owned by root", path);
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(why, whylen, "%s is writable by group or others", path);
        return -1;
    }
    return dir_trusted(path, why, whylen);
}

enum hfs_sys_state hfs_sys_load(const char *path, int secure, struct hfs_diag *d, struct hfs_rules **out)
{
    struct stat st;
    char why[PATH_MAX + 100];
    *out = NULL;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return HFS_SYS_ABSENT;
        hfs_diag_report(d, 1, "%s: cannot read: %s", path, strerror(errno));
        return HFS_SYS_BROKEN;
    }
    if (stat(path, &st) != 0) { /* a dangling symlink, a folder it cannot enter */
        hfs_diag_report(d, 1, "%s: cannot read: %s", path, strerror(errno));
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
    return *out ? HFS_SYS_LOADED : HFS_SYS_BROKEN;
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

void hfs_policy_choose(enum hfs_sys_state state, const struct hfs_rules *sys, int secure, hfs_policy_env_fn env,
                       struct hfs_policy *o)
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
        return;
    }
    /* locked: only what adds restrictions */
    if (er)
        note(o, "HFSHIM_RULES", er);
    if (eo) {
        int policy = sys ? sys->offline : HFS_OFFLINE_ANSWER, want = hfs_parse_offline(eo);
        if (want == policy || (policy == 0 && want > 0))
            o->offline = eo; /* the same, or offline where the policy is not */
        else
            note(o, "HFSHIM_OFFLINE", eo);
    }
    const char *dest = sys ? sys->log_dest : NULL;
    if (el && !(dest ? strcmp(el, dest) == 0
                     : strcmp(el, "stderr") == 0 || strcmp(el, "-") == 0))
        note(o, "HFSHIM_LOG", el); /* where the log goes is the policy's */
    if (ea && sys && sys->audit_path && strcmp(ea, sys->audit_path) != 0)
        note(o, "HFSHIM_AUDIT", ea);
    else
        o->audit = ea; /* an audit log the policy does not name only adds records */
}
