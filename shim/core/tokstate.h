/* tokstate: the token state file (rules "tokens.state_file"): what hfshim
 * learned or validated about tokens, shared by the processes that name the
 * same file. Only SHA-256 digests are written, never a token. One line per
 * verdict, appended with O_APPEND in a single write (atomic between
 * concurrent writers), the file created 0600 and refused when another user
 * owns it or others may write it:
 *     # hfshim token state v1: SHA-256 digests of tokens, never the tokens
 *     <64 hex> learned <unix time>
 *     <64 hex> valid <unix time>
 *     <64 hex> invalid <unix time>
 * The last line of a digest wins; unknown or broken lines are skipped. */
#ifndef HFS_TOKSTATE_H
#define HFS_TOKSTATE_H
#include <stddef.h>
#include <time.h>

#include "token.h"

struct hfs_tokstate_entry {
    unsigned char sha[32];
    enum hfs_tok_known what; /* HFS_KNOWN_LEARNED, _INVALID or _VALID */
    long long when;          /* unix time */
};

/* Parses one line (without its newline). 1 when it is an entry, 0 otherwise. */
int hfs_tokstate_parse_line(const char *line, size_t len, struct hfs_tokstate_entry *out);
/* Formats an entry as one line with its newline; its length. */
size_t hfs_tokstate_format(const struct hfs_tokstate_entry *e, char *out, size_t cap);

/* Expands "~/", "$VAR" and "${VAR}" in a state file name (env lookups
 * through env); 0, or -1 when a variable is unset or the result too long. */
int hfs_tokstate_path(const char *name, const char *(*env)(const char *), char *out, size_t cap);

/* Reads the file from byte offset *off on, calling each(ctx, entry) per
 * entry, and moves *off to the end of the last whole line. 0, or -1 with
 * *why (static text) when the file cannot be read or is unsafe (owned by
 * another user, writable by others). A missing file is 0 with nothing read. */
int hfs_tokstate_read(const char *path, long long *off, void (*each)(void *ctx, const struct hfs_tokstate_entry *e),
                      void *ctx, const char **why);
/* Appends one entry (creating the file 0600, and its folder 0700). 0, or -1 with *why. */
int hfs_tokstate_append(const char *path, const struct hfs_tokstate_entry *e, const char **why);

#endif
