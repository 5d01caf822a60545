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

/* Fills out with the enforced variables, one entry per name: the rules'
 * env entries in file order, then (offline) the offline variables, which
 * win over a rule that says otherwise (a warning goes to d, if given).
 * Returns the number of entries, at most cap. */
size_t hfs_env_plan(const struct hfs_rules *r, struct hfs_envvar *out, size_t cap, struct hfs_diag *d);

/* "1/true/yes/on" -> 1, "0/false/no/off" -> 0 (any case), else -1. */
int hfs_parse_bool(const char *v);

#endif
