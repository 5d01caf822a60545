/* counterfile: the file holding the match counters of rules with a
 * "window" for one run (lib/faultcount.c maps it; `hfshim run` makes one
 * per run and removes it after). Layout: a 16-byte header (magic) and
 * HFS_COUNTER_SLOTS slots of {key, count}, both 64-bit. */
#ifndef HFS_COUNTERFILE_H
#define HFS_COUNTERFILE_H
#include <stddef.h>

#define HFS_COUNTER_SLOTS 1024
#define HFS_COUNTER_MAGIC 0x31544e4353464848ull /* "HHFSCNT1" */
#define HFS_COUNTER_FILE_SIZE (16 + HFS_COUNTER_SLOTS * 16)

/* Creates a fresh counters file (0600, O_EXCL, O_NOFOLLOW) under dir
 * (the caller's $XDG_RUNTIME_DIR; NULL, empty or not a writable folder:
 * /tmp); its path in out. 0, or -1 with errno. */
int hfs_counterfile_create(const char *dir, char *out, size_t cap);

/* 1 when some rule of r has a window. */
struct hfs_rules;
int hfs_rules_have_windows(const struct hfs_rules *r);

#endif
