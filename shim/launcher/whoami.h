/* whoami: asks the Hub's whoami-v2 whether a token is valid (libcurl, 5 s
 * timeout), for `hfshim doctor --online` and token validation in
 * `hfshim run`; records verdicts in the token state file. The token is
 * sent to that one endpoint only and never printed. */
#ifndef HFS_WHOAMI_H
#define HFS_WHOAMI_H
#include <stddef.h>

#include "../core/rules.h"

enum hfs_whoami { HFS_WHOAMI_UNKNOWN, HFS_WHOAMI_VALID, HFS_WHOAMI_INVALID };

/* endpoint: HF_ENDPOINT or NULL (https://huggingface.co). name (cap
 * bytes) gets the account name of a valid token; why a short reason for
 * an unknown verdict. */
enum hfs_whoami hfs_whoami_check(const char *endpoint, const char *tok, size_t len, char *name, size_t cap, char *why,
                                 size_t whycap);

/* The state file's verdict on a digest within the rules' validate_ttl
 * (HFS_KNOWN_*), reading the file named by the rules; 0 when none. */
int hfs_whoami_known(const struct hfs_rules *r, const unsigned char sha[32], long long *when);

/* Records a verdict in the rules' state file; 0, or -1 with a message printed. */
int hfs_whoami_record(const struct hfs_rules *r, const unsigned char sha[32], enum hfs_whoami v);

/* hfshim run with tokens.validate: checks the token huggingface_hub would
 * send once (unless the state file has a fresh verdict) and records it. */
void hfs_validate_before_run(const struct hfs_rules *r);

#endif
