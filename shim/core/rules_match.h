/* rules_match: reading a rule's "match" object (rules/README.md §3.1). */
#ifndef HFS_RULES_MATCH_H
#define HFS_RULES_MATCH_H

#include "rules_json.h"
#include "rules_types.h"

/* A bit per common method (GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS),
 * HFS_METHOD_OTHER for any other name. */
unsigned hfs_method_bit(const char *method);

/* Reads j (an object) into m; 0 or -1 after the messages. */
int hfs_match_load(struct hfs_rload *L, const cJSON *j, struct hfs_match *m);
/* 1 when m matches every request (no condition). */
int hfs_match_is_empty(const struct hfs_match *m);
void hfs_match_free(struct hfs_match *m);

#endif
