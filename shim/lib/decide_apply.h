/* decide_apply: the glue every network hook uses: judge a request with the
 * loaded rules, and on a block count it and write the one log line. */
#ifndef HFS_DECIDE_APPLY_H
#define HFS_DECIDE_APPLY_H

#include "../core/decide.h"

/* Returns the verdict kind; on HFS_V_BLOCK the block is logged with the
 * error the program will see (e.g. "ECONNREFUSED"). */
enum hfs_verdict_kind hfs_judge(struct hfs_request *r, const char *error_shown);

#endif
