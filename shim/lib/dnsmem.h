/* dnsmem: remembers which host name each address came from (filled by the
 * resolver hooks), so a connect to an address can be judged by the name
 * the program asked for. Fixed size, overwrites the oldest; readers take
 * no lock (seqlock), so connect stays async-signal-safe. */
#ifndef HFS_DNSMEM_H
#define HFS_DNSMEM_H
#include <stddef.h>

#include "../core/request.h"

void hfs_dnsmem_init(void);
void hfs_dnsmem_put(const struct hfs_addr *a, const char *name);
/* Copies the name for a into out; returns 1 when found. */
int hfs_dnsmem_get(const struct hfs_addr *a, char *out, size_t outlen);

/* fork handlers (called by atfork.c in the library's lock order) */
void hfs_dnsmem_fork_prepare(void);
void hfs_dnsmem_fork_parent(void);
void hfs_dnsmem_fork_child(void);

#endif
