/* rules_keys: the keys each object of a rules file may hold, in one place.
 * The loader checks every object against these lists (rules.c,
 * rules_sections.c, rules_rule.c, rules_match.c) and `hfshim check --keys`
 * prints them, so the reference (hfshim-rules(5)) is held to the code by a
 * test. Action and preset parameters live in actions.c's table. Pure data. */
#ifndef HFS_RULES_KEYS_H
#define HFS_RULES_KEYS_H

/* Each list ends at NULL. */
extern const char *const hfs_keys_top[];
extern const char *const hfs_keys_env[];
extern const char *const hfs_keys_log[];
extern const char *const hfs_keys_tokens[];
extern const char *const hfs_keys_reach[];
extern const char *const hfs_keys_match[];
extern const char *const hfs_keys_window[];
/* A rule's own keys; the loader appends every action's parameters. */
#define HFS_NRULE_KEYS 6
extern const char *const hfs_keys_rule[HFS_NRULE_KEYS + 1];

/* Every list above with the name the reference gives its object ("top",
 * "env", "log", "tokens", "reach", "rule", "match", "window"); ends at a
 * NULL name. */
struct hfs_key_section {
    const char *name;
    const char *const *keys;
};
extern const struct hfs_key_section hfs_key_sections[];

#endif
