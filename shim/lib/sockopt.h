/* sockopt: socket options and names on watched and virtual sockets (sockopt.c). */
#ifndef HFS_SOCKOPT_H
#define HFS_SOCKOPT_H

#include <sys/socket.h>

struct hfs_sock;

/* getsockopt(SO_ERROR) on a watched fd: a pending connect error that
 * means "server down" on an answerable fd turns it virtual and reads 0.
 * 1 when answered (*val set). */
int hfs_sock_so_error(int fd, int *val);

/* Socket-option and name queries on a virtual fd: 1 when answered
 * (*rc holds the result), 0 to ask the real function. */
int hfs_sock_setsockopt(struct hfs_sock *s, int fd, int level, int opt, int *rc);
int hfs_sock_getsockopt(struct hfs_sock *s, int level, int opt, void *val, socklen_t *len, int *rc);
int hfs_sock_getpeername(struct hfs_sock *s, struct sockaddr *sa, socklen_t *len);
int hfs_sock_getsockname(struct hfs_sock *s, struct sockaddr *sa, socklen_t *len);

#endif
