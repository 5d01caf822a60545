/* tscratch: one reusable work area per thread for the per-request buffers
 * too big for a hook's stack (a URL and its parts, header edit text).
 * Allocating and freeing 8-17 KiB on every request cost ~4,000
 * instructions per request, most of it in the app's own later mallocs
 * (the freed chunk split and merged again); the area is kept for the
 * thread's life and freed when the thread exits. A nested use on the same
 * thread (a signal handler's request while one is judged) gets its own
 * malloc'd area, so two users never share one. */
#ifndef HFS_TSCRATCH_H
#define HFS_TSCRATCH_H
#include <stddef.h>

struct hfs_tscratch {
    void *p; /* the area, at least the size asked; NULL: no memory */
    int own; /* 1: malloc'd for this use alone (freed by give) */
};

/* An area of size bytes (not zeroed) for the caller until hfs_tscratch_give. */
struct hfs_tscratch hfs_tscratch_take(size_t size);
void hfs_tscratch_give(struct hfs_tscratch t);

#endif
