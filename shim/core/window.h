/* window: whether a rule with a "window" fires for its n-th matching
 * request (counted from 1 across the run): first N, after N, every Nth and
 * a seeded probability, all of those given must hold. The probability is
 * a hash of (seed, rule name, n), so a run with the same seed fires on the
 * same requests again. Pure. */
#ifndef HFS_WINDOW_H
#define HFS_WINDOW_H

#include "rules_types.h"

int hfs_window_fires(const struct hfs_window *w, const char *rule, long n);

/* A uniform number in [0, 1) from (seed, rule, n). */
double hfs_window_draw(unsigned long seed, const char *rule, long n);

#endif
