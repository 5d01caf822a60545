/* sockswap: the other end of a virtual connection (sockswap.c). */
#ifndef HFS_SOCKSWAP_H
#define HFS_SOCKSWAP_H

#include <sys/socket.h>

#include "../core/request.h"

struct hfs_sock;

/* Turns fd (a socket not connected, or whose connect just failed) into a
 * virtual connection to r's destination, keeping its open file where the
 * loopback allows: 0, or -1 with errno (the caller then refuses the
 * connect). */
int hfs_sock_make_virtual(int fd, const struct hfs_request *r, const struct sockaddr *sa, socklen_t len);

/* A watched fd becomes virtual in place (s locked, its entry kept): one
 * end of a socketpair replaces the real socket. 0, or -1. */
int hfs_sock_turn_virtual(struct hfs_sock *s, int fd);

#endif
