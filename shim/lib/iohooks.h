/* iohooks: read/write/send/recv and their relatives on watched and
 * virtual fds (see iohooks.c); what the other socket hooks ask of them. */
#ifndef HFS_IOHOOKS_H
#define HFS_IOHOOKS_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* sendto/sendmsg whose destination sockhooks.c has judged (or that have
 * none): on a watched fd they are writes through the engine, on any other
 * fd the real call without an address. */
ssize_t hfs_sendto_connected(int fd, const void *buf, size_t n, int flags);
ssize_t hfs_sendmsg_connected(int fd, const struct msghdr *msg, int flags);

#endif
