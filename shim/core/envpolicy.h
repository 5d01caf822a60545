/* envpolicy: which environment variables the shim enforces (rules'
 * env.set/env.unset, plus the offline variables when offline), computed
 * once. The constructor writes them into environ; the getenv hook keeps
 * answering them even after the program changed them. Pure code. */
#ifndef HFS_ENVPOLICY_H
#define HFS_ENVPOLICY_H
#include <stddef.h>

#include "rules.h"

struct hfs_envvar {
    const char *name;
    const char *value; /* NULL: the variable is unset */
};

/* The variables offline mode sets, with the reason for each in README. */
extern const struct hfs_envvar hfs_offline_env[];

/* The first entries of hfs_offline_env that switch the libraries
 * themselves offline (HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE, …). */
#define HFS_OFFLINE_SWITCHES 4

/* Fills out with the enforced variables, one entry per name: the rules'
 * env entries in file order, then (offline) the offline variables, which
 * win over a rule that says otherwise (a warning goes to d, if given).
 * Offline "variables" sets them all to 1. Offline (hfshim answers) leaves
 * the libraries online-looking: the switches are not set, and one the
 * user's environment (user_env, may be NULL) turns on is set to 0, since
 * hfshim takes offline over; the others (telemetry, Xet, update check)
 * are still set. Returns the number of entries, at most cap. */
/* Under a locked policy (syspolicy.h): 1 when setting name[0..len) to
 * value (NULL: removing it; overwrite as setenv's) would change one of the
 * enforced variables env[0..n), whose index goes to *index; 0 when the
 * name is not enforced or the change leaves the enforced value. */
int hfs_env_change_refused(const struct hfs_envvar *env, size_t n, const char *name, size_t len, const char *value,
                           int overwrite, size_t *index);

size_t hfs_env_plan(const struct hfs_rules *r, const char *(*user_env)(const char *), struct hfs_envvar *out,
                    size_t cap, struct hfs_diag *d);

/* Not offline, with reach.offline_variables (the default): 1 when the
 * user's environment (user_env) turns one of the libraries' offline
 * switches on, or HFSHIM_HUB_OFFLINE=1 says a parent took them over. Such
 * a switch means "the Hub is unreachable": hfshim answers Hub calls from
 * the cache (as offline mode does, for the Hub hosts only) and
 * hfs_env_plan sets the switch to 0. *which names the variable. */
int hfs_env_hub_offline(const struct hfs_rules *r, const char *(*user_env)(const char *), const char **which);

/* HFSHIM_OFFLINE and --offline values: 1/true/yes/on -> HFS_OFFLINE_ANSWER,
 * "variables" -> HFS_OFFLINE_VARIABLES, 0/false/no/off -> 0, else -1. */
int hfs_parse_offline(const char *v);

/* "1/true/yes/on" -> 1, "0/false/no/off" -> 0 (any case), else -1. */
int hfs_parse_bool(const char *v);

#endif
