/* digestset: what a process knows about tokens, by SHA-256 digest (the
 * entries of the token state file, tokstate.h): an open-addressing table
 * that grows as digests are learned, so learning never stops. It keeps at
 * most `max` digests (HFS_DIGESTSET_MAX in the library); past that the
 * older half (by verdict time) is forgotten at once and one count says how
 * many were. A forgotten token is learned again the next time the Hub
 * rejects it. Pure: no locking, no I/O (tokmem.c holds the lock). */
#ifndef HFS_DIGESTSET_H
#define HFS_DIGESTSET_H
#include <stddef.h>

#include "tokstate.h"

#define HFS_DIGESTSET_MAX 16384 /* about 1.8 MiB of table at most */

struct hfs_digestset {
    struct hfs_digestset_slot *slot; /* cap slots, cap a power of two, at most half full */
    size_t cap, n, max;
    unsigned long long forgotten; /* entries dropped to stay under max */
};

/* An empty set keeping at most max digests (0: HFS_DIGESTSET_MAX). */
void hfs_digestset_init(struct hfs_digestset *s, size_t max);
void hfs_digestset_free(struct hfs_digestset *s);

/* The entry of a digest, or NULL. */
const struct hfs_tokstate_entry *hfs_digestset_get(const struct hfs_digestset *s, const unsigned char sha[32]);

/* Records a verdict; the last one wins, except that an older "valid" never
 * undoes a learned 401. 1 when the set changed, 0 when it already said so,
 * -1 out of memory (nothing changed). */
int hfs_digestset_put(struct hfs_digestset *s, const struct hfs_tokstate_entry *e);

#endif
