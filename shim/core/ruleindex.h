/* ruleindex: which rules a request can possibly match, so the decision
 * core only evaluates those (1 000 rules decide in a microsecond or two).
 * Rules whose host pattern is an exact name, an address or a "*.suffix"
 * are filed under that key, globs under the ".suffix" their literal tail
 * holds ("*.cdn[0-9].example.com": ".example.com"), each with the port it
 * names (a request on another known port skips it); rules on "@hub" only
 * are candidates for Hub requests; every other rule (no host, a glob with
 * no dot in its literal tail) is always a candidate. Then a rule that
 * names methods is left out for a known common method it does not name.
 * A rule left out is one whose conditions are certainly "no", so the
 * index never changes a verdict (tests/unit/test_ruleindex.c). Pure. */
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
 * match a request with this host, ip, address and port (0: unknown), and
 * (when hub is set) the Hub-only rules; with method_bit (hfs_method_bit
 * of a known HTTP method, 0: unknown) it leaves out the rules whose
 * methods do not include a common method. */
void hfs_ruleindex_candidates(const struct hfs_ruleindex *x, const struct hfs_hostkey *host,
                              const struct hfs_hostkey *ip, const struct hfs_addr *addr, int port, unsigned method_bit,
                              int hub, uint64_t *bits);

#endif
