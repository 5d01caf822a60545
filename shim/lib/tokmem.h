/* tokmem: the process's memory of tokens (token.h): the ones the Hub
 * answered 401 "Invalid credentials" to, and the verdicts of whoami-v2
 * validations, kept as SHA-256 digests only. When the rules name a state
 * file (tokens.state_file, tokstate.h) it is read at first use and again
 * whenever it grew, and what this process learns is appended to it, so the
 * processes sharing it never send a token another one learned. */
#ifndef HFS_TOKMEM_H
#define HFS_TOKMEM_H

#include "../core/token.h"

/* The lookup the core uses for requests (struct hfs_request.tokens), or
 * NULL when the rules have no "tokens" section. */
const struct hfs_token_known *hfs_tokmem(void);

/* Remembers that the Hub answered 401 "Invalid credentials" to this token
 * (and appends it to the state file). Returns 1 when it was new. */
int hfs_tokmem_learn(const unsigned char sha[32]);

/* fork handlers (called by atfork.c in the library's lock order) */
void hfs_tokmem_fork_prepare(void);
void hfs_tokmem_fork_parent(void);
void hfs_tokmem_fork_child(void);

#endif
