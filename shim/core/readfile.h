/* readfile: the one way hfshim opens and reads a file whose path comes
 * from outside (rules files, includes, body_file, set-header from_file,
 * token files, the token state file, the Hub cache, HFSHIM_COUNTERS,
 * /etc/hosts). The file is opened O_NONBLOCK | O_CLOEXEC | O_NOCTTY, so
 * neither a FIFO nor a device can make the open or a read wait, or become
 * the controlling terminal; it is fstat()ed, and anything that is not a
 * regular file is refused before a byte is read, with a reason that says
 * what it is ("is a FIFO, not a regular file"). Its I/O goes through
 * sysio.h (raw system calls): the library hooks read/close, and hfshim's
 * own I/O must not go through its hooks. */
#ifndef HFS_READFILE_H
#define HFS_READFILE_H
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "sysio.h"

/* Opens path with flags (O_RDONLY, O_RDWR, O_WRONLY | O_APPEND | O_CREAT,
 * O_NOFOLLOW, …) plus O_NONBLOCK | O_CLOEXEC | O_NOCTTY, mode for O_CREAT;
 * fills *st. Returns the fd, or -1 with *why (static text: strerror, or
 * "is a FIFO, not a regular file", "is a directory, …", "is a device, …",
 * "is a socket, …") and errno set: the open's, or EINVAL for a file that
 * is not regular (then always one of the "is a …" reasons). */
int hfs_file_open(const char *path, int flags, mode_t mode, struct stat *st, const char **why);

/* Reads a whole regular file of at most max bytes, NUL-terminated (*len
 * without the NUL). NULL with *why (as above, or "too large", "out of
 * memory") and errno on failure. flags adds to O_RDONLY (O_NOFOLLOW). */
char *hfs_file_read(const char *path, int flags, size_t max, size_t *len, const char **why);

/* An fd from hfs_file_open is read and closed with sysio.h's
 * hfs_sys_read, hfs_sys_pread and hfs_sys_close. */

/* "is a FIFO, not a regular file" etc. for a mode that is not a regular
 * file's; NULL for a regular file's. */
const char *hfs_file_kind(mode_t mode);

#endif
