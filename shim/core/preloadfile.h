/* preloadfile: edits the text of /etc/ld.so.preload (entries separated by
 * blanks, tabs, colons or newlines, '#' starting a comment to the end of
 * the line, as the dynamic loader reads them) for
 * hfshim install/uninstall --system: adding our library keeps every other
 * entry and line as it was and drops other copies of libhfshim; removing
 * drops every libhfshim entry. Pure: no file access. */
#ifndef HFS_PRELOADFILE_H
#define HFS_PRELOADFILE_H
#include <stddef.h>

/* Writes the edited text into a malloc'd *out (NUL-terminated, *outlen
 * bytes). lib: the absolute library path to add (add = 1) or NULL (add
 * = 0: remove). Returns 1 when the text changed, 0 when not, -1 when out
 * of memory or when lib is not an absolute path without separators. */
int hfs_preloadfile_edit(const char *text, size_t len, const char *lib, int add, char **out, size_t *outlen);

/* 1 when the text lists exactly lib (add) / no libhfshim at all (!add). */
int hfs_preloadfile_has(const char *text, size_t len, const char *lib);

#endif
