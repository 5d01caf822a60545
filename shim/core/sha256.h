/* sha256: SHA-256, for the token hashes hfshim keeps and compares (a
 * denylist entry, a learned or validated token in the state file): tokens
 * themselves are never kept. Pure. */
#ifndef HFS_SHA256_H
#define HFS_SHA256_H
#include <stddef.h>
#include <stdint.h>

struct hfs_sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t nbuf;
};

void hfs_sha256_init(struct hfs_sha256 *s);
void hfs_sha256_update(struct hfs_sha256 *s, const void *data, size_t n);
void hfs_sha256_final(struct hfs_sha256 *s, unsigned char out[32]);
/* One call: the digest of data[0..n). */
void hfs_sha256(const void *data, size_t n, unsigned char out[32]);
/* 64 lower-case hex digits and a NUL. */
void hfs_sha256_hex(const unsigned char d[32], char hex[65]);

#endif
