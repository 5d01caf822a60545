/* faultcount: the match counters of rules with a "window", shared by every
 * process of a run, so "the first 2 requests" means 2 in the whole process
 * tree. The counters live in a small file mapped MAP_SHARED (no fd kept):
 * HFSHIM_COUNTERS names it (`hfshim run` makes a fresh one per run and
 * removes it at the end); without it, the first process that needs one
 * creates it (0600, O_EXCL, under $XDG_RUNTIME_DIR or /tmp), passes it to
 * its children and removes it when it exits. If no file can be used, the
 * counters are per process (one log line says so). */
#ifndef HFS_FAULTCOUNT_H
#define HFS_FAULTCOUNT_H

#include "../core/request.h"

/* The counting callback the layers put in their requests. */
const struct hfs_fire *hfs_fire(void);
/* The same without counting (a dry run: what the next match would be). */
const struct hfs_fire *hfs_fire_peek(void);

/* Opens (or creates) the counters now: at start-up when the rules have
 * windows, so a parent that never counts still shares them. */
void hfs_faultcount_init(void);

/* The 1-based number of this match of rule (index i) in the run. */
long hfs_fault_count(const struct hfs_rule *rule, size_t i);

#endif
