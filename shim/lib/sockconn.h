/* sockconn: the plain-socket HTTP layer, the one header the hooks include.
 * An O(1) table indexed by fd (sockfd.h) says whether a socket is watched
 * (a real connection to a destination some HTTP rule may act on) or
 * virtual (a connection whose other end is ours: over the loopback, or a
 * socketpair, standing in for one that must not reach the network,
 * sockswap.h); every other fd costs one branch. The data hooks
 * (iohooks.c) hand watched and virtual fds here; the bytes go through the
 * connection engine (core/conn) and httpjudge (sockconn.c); socket
 * options and names are sockopt.h's. */
#ifndef HFS_SOCKCONN_H
#define HFS_SOCKCONN_H

#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "../core/request.h"
#include "sockfd.h"
#include "sockopt.h"
#include "sockswap.h"

/* The application writes on a watched/virtual fd (flags as for send). */
ssize_t hfs_sock_write(struct hfs_sock *s, int fd, const void *buf, size_t n, int flags);
/* The application reads (flags as for recv; MSG_PEEK reads the socket). */
ssize_t hfs_sock_read(struct hfs_sock *s, int fd, void *buf, size_t n, int flags);

/* The app is about to wait for input on fd (poll, select) or on the epoll
 * set epfd: a head held back on it (or on a watched fd registered there
 * for EPOLLIN) cannot be HTTP and is released (hfs_conn_peer_awaited). */
void hfs_sock_awaited(int fd);
/* shutdown(fd, SHUT_WR or SHUT_RDWR) is about to end the app's sending
 * side: a held partial head and staged bytes leave first (the FIN follows
 * every byte the app wrote), and later writes go to the socket itself,
 * which fails them with EPIPE (and SIGPIPE) as without hfshim. */
void hfs_sock_write_end(struct hfs_sock *s, int fd);
void hfs_sock_awaited_epoll(int epfd);

/* epoll_ctl succeeded for a watched fd: remembered, so the registration
 * can be renewed when the fd is replaced by a virtual one and
 * /proc/self/fdinfo cannot say what the registrations were. */
struct epoll_event;
void hfs_sock_epoll(int fd, int epfd, int op, const struct epoll_event *ev);

#endif
