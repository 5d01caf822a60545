/* syspolicy: which rules a process lives under and which of its
 * environment's hfshim settings it honours. Three sources, in order:
 * the system policy (HFS_SYSTEM_RULES, /etc/hfshim/rules.json) when it
 * declares "locked": true or cannot be used; HFSHIM_RULES; the system
 * policy when it is not locked; the installed default. A locked policy
 * (and a broken one, which fails closed to the safe default) takes only
 * the settings that add restrictions from the environment. In
 * secure-execution mode (setuid, setgid, file capabilities: AT_SECURE)
 * nothing the user controls is read: no variable, no file the user can
 * write. The choice itself (hfs_policy_choose) is a pure function. */
#ifndef HFS_SYSPOLICY_H
#define HFS_SYSPOLICY_H
#include <stddef.h>

#include "rules.h"

#ifndef HFS_SYSTEM_RULES
#define HFS_SYSTEM_RULES "/etc/hfshim/rules.json"
#endif
#ifndef HFS_LD_SO_PRELOAD
#define HFS_LD_SO_PRELOAD "/etc/ld.so.preload"
#endif

enum hfs_sys_state {
    HFS_SYS_ABSENT,    /* no file (ENOENT): behaviour as without a system policy */
    HFS_SYS_LOADED,    /* loaded (locked or not: see rules->locked) */
    HFS_SYS_BROKEN,    /* present but unreadable or invalid: fail closed */
    HFS_SYS_UNTRUSTED, /* secure-execution mode and the file is writable by someone other than root */
};

/* 0 when only root can change what path names: a regular file owned by
 * root and not writable by group or others, every folder on the way (as
 * written and after symlinks) owned by root and not writable by group or
 * others unless sticky; else -1 with the reason in why. */
int hfs_file_trusted(const char *path, char *why, size_t whylen);

/* 1 when offline mode want (hfs_parse_offline) is the policy's own or
 * stricter: on where it is off, "variables" where it answers. */
int hfs_offline_stricter(int policy, int want);

/* Loads the system policy from path. *out is the rules for
 * HFS_SYS_LOADED, NULL otherwise; d->first_error says what is wrong for
 * HFS_SYS_BROKEN and HFS_SYS_UNTRUSTED. A locked policy, and any policy
 * with secure set, must pass hfs_file_trusted with every file it includes
 * (else BROKEN, or UNTRUSTED in secure mode). */
enum hfs_sys_state hfs_sys_load(const char *path, int secure, struct hfs_diag *d, struct hfs_rules **out);

/* The compiled system policy (polcache.h) for the library lib_path:
 * beside path, its folder/policy-HASH, written by a root process under the
 * shim after a load (hfs_sys_write_compiled) and read by every process
 * (hfs_sys_load_compiled). 0 or -1. */
int hfs_sys_compiled_path(const char *path, const char *lib_path, char *out, size_t cap);

/* The system policy's top level from its compiled form, when that is
 * current (its key: the library, the policy, its includes) and every check
 * hfs_sys_load makes without the JSON still holds: the compiled file and,
 * for a locked policy or in secure mode, the policy and each include pass
 * hfs_file_trusted. HFS_SYS_ABSENT when there is no policy (ENOENT),
 * HFS_SYS_LOADED with *out (a top level only: hfs_polcache_free), or -1:
 * the caller loads it with hfs_sys_load, which says what is wrong. */
int hfs_sys_load_compiled(const char *path, const char *lib_path, int secure, struct hfs_rules **out);

/* After hfs_sys_load gave r (HFS_SYS_LOADED): writes its compiled form,
 * 0644, only as root and outside secure-execution mode. */
void hfs_sys_write_compiled(const char *path, const char *lib_path, int secure, const struct hfs_rules *r);

typedef const char *(*hfs_policy_env_fn)(const char *name);

enum hfs_policy_src {
    HFS_POLICY_SYSTEM,  /* the system policy's rules (loaded) */
    HFS_POLICY_SAFE,    /* the built-in safe default (offline, loopback only) */
    HFS_POLICY_ENV,     /* the file HFSHIM_RULES names (o->rules_path) */
    HFS_POLICY_DEFAULT, /* the installed default next to the library */
};

#define HFS_POLICY_MAX_IGNORED 8

/* What a process uses. Every pointer is either NULL or points into the
 * environment / the system rules. */
struct hfs_policy {
    enum hfs_policy_src src;
    int locked;             /* the environment may only add restrictions */
    int secure;             /* secure-execution mode */
    const char *rules_path; /* HFS_POLICY_ENV: HFSHIM_RULES */
    const char *offline;    /* an HFSHIM_OFFLINE value to apply, or NULL */
    const char *log_dest;   /* log destination: NULL = stderr */
    const char *log_format; /* HFSHIM_LOG_FORMAT, or NULL */
    const char *audit;      /* audit log path, or NULL */
    const char *fault;      /* HFSHIM_FAULT, or NULL */
    int user_env;           /* 1: cache and token variables may be read */
    int endpoints;          /* 1: HF_ENDPOINT / HFSHIM_HUB_ENDPOINT add Hub hosts */
    /* "HFSHIM_RULES=/tmp/x ignored" messages, one per setting the policy refused */
    char ignored[HFS_POLICY_MAX_IGNORED][160];
    size_t nignored;
};

/* Chooses. state/sys are what hfs_sys_load gave (sys may be NULL), env
 * reads the process environment, secure is AT_SECURE. */
void hfs_policy_choose(enum hfs_sys_state state, const struct hfs_rules *sys, int secure, hfs_policy_env_fn env,
                       struct hfs_policy *o);

#endif
