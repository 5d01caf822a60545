/* sha1: SHA-1, for the git object ids the Hub reports (a file's blob id,
 * an LFS pointer's id). Not used for anything secret. Pure. */
#ifndef HFS_SHA1_H
#define HFS_SHA1_H
#include <stddef.h>
#include <stdint.h>

struct hfs_sha1 {
    uint32_t h[5];
    uint64_t len;
    unsigned char buf[64];
    size_t nbuf;
};

void hfs_sha1_init(struct hfs_sha1 *s);
void hfs_sha1_update(struct hfs_sha1 *s, const void *data, size_t n);
/* Writes 40 lower-case hex digits and a NUL into hex. */
void hfs_sha1_hex(struct hfs_sha1 *s, char hex[41]);

/* The git blob id of content of this size, once its bytes are fed:
 * starts the hash with the "blob SIZE\0" header. */
void hfs_git_blob_init(struct hfs_sha1 *s, unsigned long long size);

#endif
