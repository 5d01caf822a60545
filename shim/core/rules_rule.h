/* rules_rule: reading the "rules" array, one rule at a time (rules/README.md
 * §3), and freeing a rule. */
#ifndef HFS_RULES_RULE_H
#define HFS_RULES_RULE_H

#include "rules_json.h"
#include "rules_types.h"

/* Appends the rules of j (an array) to L->r->rules (an included file's
 * come first). 0 or -1 after the messages. */
int hfs_rules_array_load(struct hfs_rload *L, const cJSON *j);

/* Frees what one rule holds (a rule taken out of its rules). */
void hfs_rule_free(struct hfs_rule *rule);

#endif
