/* polcache: the compiled policy. The top level of a rules file (what
 * every process needs at start: offline, env, children, log, audit and
 * the tokens/reach switches the environment plan reads) is written once,
 * after a successful load, into a small file keyed by the identity (dev,
 * inode, size, mtime, ctime) of the library, the rules file and every file
 * it includes; later processes read it back instead of parsing the JSON,
 * and parse the rules proper only when a hook first decides (init.c).
 * Any doubt (no file, wrong owner or mode, bad magic, version, length or
 * checksum, a keyed file changed) means "no cache": the caller parses the
 * JSON as before. Never used in secure-execution mode. */
#ifndef HFS_POLCACHE_H
#define HFS_POLCACHE_H
#include <stddef.h>

#include "rules_types.h"

/* The cache file for the library lib_path reading rules_path:
 * $XDG_CACHE_HOME/hfshim/policy-HASH, else $HOME/.cache/hfshim/policy-HASH
 * (env reads the environment; HASH of both paths, so two builds of the
 * library never take turns rewriting one file). 0, or -1 when there is no
 * usable folder or a path is not absolute. */
/* dir/policy-HASH, the name for lib_path reading rules_path. 0 or -1. */
int hfs_polcache_name(const char *lib_path, const char *rules_path, const char *dir, char *out, size_t cap);

int hfs_polcache_path(const char *lib_path, const char *rules_path, const char *(*env)(const char *), char *out,
                      size_t cap);

/* The top level stored in cache_path, valid only when lib_path, rules_path
 * and the included files are the ones it was written from: a rules model
 * with no rules and no Hub hosts (never for hfs_decide), its strings
 * pointing into a read-only mapping kept for the process's life; includes
 * lists the included files. Only the user's own file, mode 0600; shared:
 * root's, not writable by group or others (a system policy's, which the
 * caller also checks with hfs_file_trusted). NULL on any doubt. Free it
 * with hfs_polcache_free, never hfs_rules_free. */
struct hfs_rules *hfs_polcache_read(const char *cache_path, const char *lib_path, const char *rules_path, int shared);
void hfs_polcache_free(struct hfs_rules *r);

/* Writes r's top level (r was loaded from rules_path) to cache_path (mode
 * 0600, shared: 0644, through a temporary file and rename). Not written
 * when a keyed file changed in the last 2 seconds (a change within its
 * timestamps' tick could not be told apart). A user's (not shared): the
 * other compiled policies in that folder whose rules file is gone are
 * removed. 0, or -1. */
int hfs_polcache_write(const char *cache_path, const char *lib_path, const char *rules_path, const struct hfs_rules *r,
                       int shared);

#endif
