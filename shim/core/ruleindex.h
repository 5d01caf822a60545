/* ruleindex: which rules a request can possibly match, by its host, so the
 * decision core only evaluates those (1 000 rules decide in a few
 * microseconds). Rules whose host pattern is an exact name, an address or
 * a "*.suffix" are filed under that key; rules on "@hub" only are
 * candidates for Hub requests; every other rule (no host, real globs) is
 * always a candidate. A rule left out is one whose host condition is
 * certainly "no", so the index never changes a verdict. Pure. */
#ifndef HFS_RULEINDEX_H
#define HFS_RULEINDEX_H
#include <stddef.h>
#include <stdint.h>

#include "hostpat.h"

struct hfs_rules;
struct hfs_ruleindex;

/* Builds the index of r's rules (NULL when there is nothing worth indexing
 * or no memory: the core then tries every rule). */
struct hfs_ruleindex *hfs_ruleindex_build(const struct hfs_rules *r);
void hfs_ruleindex_free(struct hfs_ruleindex *x);

/* The most rules a candidate set can describe; beyond, every rule is tried. */
#define HFS_RULEINDEX_MAX 16384

/* Sets in bits[] (nrules bits, cleared by the caller) the rules that can
 * match a request with this host, ip and address, and (when hub is set)
 * the Hub-only rules. */
void hfs_ruleindex_candidates(const struct hfs_ruleindex *x, const struct hfs_hostkey *host,
                              const struct hfs_hostkey *ip, const struct hfs_addr *addr, int hub, uint64_t *bits);

#endif
