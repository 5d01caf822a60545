/* decide_apply: the glue every network hook uses: judge a request with the
 * loaded rules, and on a block count it and write the one log line. */
#ifndef HFS_DECIDE_APPLY_H
#define HFS_DECIDE_APPLY_H

#include "../core/decide.h"

/* Returns the verdict kind; on HFS_V_BLOCK the block is logged with the
 * error the program will see (e.g. "ECONNREFUSED"). */
enum hfs_verdict_kind hfs_judge(struct hfs_request *r, const char *error_shown);

/* The same, keeping the whole verdict (connection layers read its fate).
 * At a connection layer only a REFUSE fate is logged as a block: a
 * virtual connection's requests are logged when they are answered. */
void hfs_judge_verdict(struct hfs_request *r, const char *error_shown, struct hfs_verdict *v);

#endif
