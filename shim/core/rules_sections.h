/* rules_sections: reading the "env", "log", "tokens" and "reach" sections
 * of a rules file (rules/README.md §2.1, §8, §3.7.1, §4.3) into L->r. Each
 * returns 0, or -1 after the messages. */
#ifndef HFS_RULES_SECTIONS_H
#define HFS_RULES_SECTIONS_H

#include "rules_json.h"
#include "rules_types.h"

int hfs_section_env(struct hfs_rload *L, const cJSON *j);
int hfs_section_log(struct hfs_rload *L, const cJSON *j);
int hfs_section_tokens(struct hfs_rload *L, const cJSON *j);
int hfs_section_reach(struct hfs_rload *L, const cJSON *j);

#endif
