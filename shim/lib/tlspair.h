/* tlspair: how the socket layer and the OpenSSL layer find each other for
 * memory-BIO TLS sessions (asyncio, anyio), where the application moves
 * the TLS bytes between the session and the socket itself: the first
 * record written on a watched or virtual socket is the session's
 * ClientHello, whose 32-byte client random names the session. */
#ifndef HFS_TLSPAIR_H
#define HFS_TLSPAIR_H

#include "../core/request.h"

/* Socket layer -> OpenSSL layer: a ClientHello with this random was
 * written on fd (connected to host/addr/port; virtual_ when the fd is
 * virtual). Returns 1 when a session hfshim knows wrote it: that session
 * is now handled by hfshim (virtual sessions complete their handshake
 * without a peer). */
int hfs_tls_adopt(const unsigned char random[32], int fd, const char *host, const struct hfs_addr *addr, int port,
                  int virtual_);

/* OpenSSL layer -> socket layer: make fd readable for the event loop (one
 * byte into a virtual fd's peer end; the session ignores what its
 * memory BIO receives). */
void hfs_sock_wake(int fd);

/* Socket layer -> OpenSSL layer: the app is about to wait for input on
 * fd: a session on it that holds the beginning of a request head with no
 * response due releases it (see hfs_sock_awaited). */
void hfs_tls_awaited(int fd);

/* OpenSSL layer -> socket layer: the real TLS connection on fd ends; fd
 * becomes a virtual one (for answers on a memory-BIO session). 0 or -1. */
int hfs_sock_tls_takeover(int fd);

/* Socket layer -> OpenSSL layer: the handshake of the memory-BIO session
 * on fd (a Hub host's) did not finish in time (reach.handshake_ms): the
 * host is learned as unreachable and the session completes without a peer
 * (answered as offline), fd made readable. 0, or -1 when no such session
 * (the caller then ends the connection). */
int hfs_tls_membio_timed_out(int fd, const char *host);

#endif
