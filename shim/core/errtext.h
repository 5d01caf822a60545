/* errtext: the text of an errno value for hfshim's own messages, from a
 * fixed table. Not strerror(): inside the host, strerror goes through the
 * C library's message translation (gettext, the locale lock, getenv,
 * opening catalogues) in the middle of a hooked call; under ASan that
 * was seen to leave the locale lock held and deadlock the host at exit.
 * Pure, async-signal-safe, no allocation. */
#ifndef HFS_ERRTEXT_H
#define HFS_ERRTEXT_H

/* "No such file or directory" for ENOENT, …; "error N" for the rest. The
 * unknown values' text lives in a per-thread buffer. */
const char *hfs_errtext(int err);

/* "ENOENT" for ENOENT, …, from the same table; NULL for the rest (where
 * glibc's strerrorname_np, GLIBC_2.32, is not there to ask). */
const char *hfs_errname(int err);

#endif
