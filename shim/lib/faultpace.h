/* faultpace: how the byte layers (plain sockets, OpenSSL plaintext) give
 * the application a response a throttle rule paces: reads are cut to a
 * tenth of a second's worth, and each takes as long as its bytes take at
 * that rate (the read waits; the peer's bytes wait in the socket, so TCP
 * slows the sender too). libcurl transfers are paced in their callbacks
 * instead (curlwatch.c). */
#ifndef HFS_FAULTPACE_H
#define HFS_FAULTPACE_H
#include <stddef.h>

/* How many of n bytes one read may give at rate bytes/s (rate <= 0: n). */
size_t hfs_pace_chunk(long rate, size_t n);

/* Waits as long as k bytes take at rate (nothing when rate <= 0 or k <= 0). */
void hfs_pace_wait(long rate, long k);

#endif
