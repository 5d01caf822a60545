/* actions: every action a rule can take, declared once, in one table
 * (actions.c): its name, whether it is a modifier, its parameters (key,
 * value, default, help), the function that reads them and the words
 * `hfshim check` says for it. That table drives the loader (which keys a
 * rule may carry, required ones, "does not apply" and "unknown action"
 * messages), `hfshim check` (its summary, and --actions, which prints the
 * table), `hfshim explain`'s header edits, and tests/test_action_docs.py
 * holds rules/README.md §3.5 to it.
 *
 * A new action: add its HFS_ACT_ kind (rules_types.h), a row and a parse
 * function here, its rows in rules/README.md §3.5, and what it does in
 * decide.c (the verdict) and where the verdict is applied. */
#ifndef HFS_ACTIONS_H
#define HFS_ACTIONS_H
#include <stddef.h>

#include "rules_json.h"
#include "rules_types.h"

/* One parameter of an action. */
struct hfs_param {
    const char *key;   /* its key in the rule */
    const char *value; /* what it takes: "100-599", "\"http\" or \"error\"", "a header name", ... */
    const char *deflt; /* its default in words, or NULL (none) */
    const char *need;  /* non-NULL: required; said after `action NAME needs "KEY"` (may be "") */
    const char *help;  /* what it does, one line */
};

/* Where an action acts: at any layer that can decide its match (allow,
 * block; one that needs the request defers to the HTTP layers), or only
 * at the connection or the lookup (connection faults). */
enum hfs_stage { HFS_STAGE_ANY, HFS_STAGE_CONNECT, HFS_STAGE_RESOLVE };

/* What a header-edit action does to its header. */
enum hfs_edit { HFS_EDIT_NONE, HFS_EDIT_STRIP, HFS_EDIT_SET };

struct hfs_action {
    const char *name;
    enum hfs_action_kind kind;
    int modifier;         /* applies, then the next rules are tried (else it ends the search) */
    enum hfs_stage stage; /* where it acts (hfs_rule_stage: a hang may act at the connection) */
    int per_request;      /* acts on each HTTP request (an answer, a hang, a modifier) when its stage is ANY */
    enum hfs_edit edit;   /* a header edit (one of the verdict's edits): strips or sets its header */
    const char *help;     /* what the program sees, one line */
    const struct hfs_param *params; /* ends at a NULL key; in the order messages list them */
    /* Reads the parameters into rule->args (keys that do not apply and
     * missing required ones were refused before); NULL: none to read. */
    int (*parse)(struct hfs_rload *L, const cJSON *j, struct hfs_rule *rule);
    /* `hfshim check`'s words for the rule, followed by its match
     * ("block", "throttle to 100 bytes/s on"). */
    void (*describe)(const struct hfs_rule *rule, char *out, size_t len);
};

/* The table, in the order messages list the actions. */
extern const struct hfs_action hfs_actions[];
extern const size_t hfs_nactions;

/* The action of that name / kind, or NULL. */
const struct hfs_action *hfs_action_find(const char *name);
const struct hfs_action *hfs_action_of(enum hfs_action_kind k);
/* Its name ("?" for an unknown kind); 1 for a modifier. */
const char *hfs_action_name(enum hfs_action_kind k);
int hfs_action_is_modifier(enum hfs_action_kind k);
/* Where the rule acts: its action's stage, or the connection for a hang
 * with "stage": "connect" (and a firewall-hang preset). */
enum hfs_stage hfs_rule_stage(const struct hfs_rule *rule);

/* "allow, block, respond, ..." into out (cut to len). */
void hfs_action_list(char *out, size_t len);
/* An action's parameter keys, "form, status" ("" for none), into out. */
void hfs_action_takes(const struct hfs_action *a, char *out, size_t len);
/* Every parameter key any action or preset takes, each once, in table
 * order (the presets' retry_after last), into keys[] with a NULL after the
 * last. Returns how many. */
#define HFS_PARAM_KEYS_MAX 47
size_t hfs_param_keys(const char *keys[HFS_PARAM_KEYS_MAX + 1]);

/* Reads rule j's parameters for action a into rule->args: refuses keys
 * that do not apply ("it takes: ..."; keys: from hfs_param_keys) and
 * missing required ones, then calls a->parse. 0 or -1. */
int hfs_action_load(struct hfs_rload *L, const cJSON *j, struct hfs_rule *rule, const struct hfs_action *a,
                    const char *const *keys);

/* respond's (and a preset's) "headers" and "body" / "body_file". */
int hfs_action_resp_headers(struct hfs_rload *L, const cJSON *j, struct hfs_action_args *a);
int hfs_action_body(struct hfs_rload *L, const cJSON *j, struct hfs_action_args *a);

/* `hfshim check`'s words for a rule's action (a->describe, or a preset's). */
void hfs_action_describe(const struct hfs_rule *rule, char *out, size_t len);

#endif
