/* sockconn: the plain-socket HTTP layer's per-fd state and logic. An O(1)
 * table indexed by fd says whether a socket is watched (a real connection
 * to a destination some HTTP rule may act on) or virtual (a connection
 * whose other end is ours: over the loopback, or a socketpair, standing in
 * for one that must not reach the network); every other fd costs one
 * branch. The data hooks (iohooks.c)
 * hand watched and virtual fds here; the bytes go through the connection
 * engine (core/conn) and httpjudge. */
#ifndef HFS_SOCKCONN_H
#define HFS_SOCKCONN_H

#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "../core/request.h"

#define HFS_FD_MAX 65536 /* fds above are never watched */

struct hfs_sock;
extern _Atomic(struct hfs_sock *) hfs_fdtab[HFS_FD_MAX];

/* The watched or virtual state of fd, or NULL (the one hot-path branch). */
static inline struct hfs_sock *hfs_sock_of(int fd)
{
    if ((unsigned)fd >= HFS_FD_MAX)
        return NULL;
    return atomic_load_explicit(&hfs_fdtab[fd], memory_order_acquire);
}

/* 1 when fd still is the socket s watches; else forgets it (it was closed
 * without our close hook and its number reused) and returns 0. */
int hfs_sock_current(int fd, struct hfs_sock *s);

/* fd no longer is what we watched (closed, replaced, reused). */
void hfs_sock_forget(int fd);

/* fd was just made a duplicate of old (dup, fcntl(F_DUPFD*), dup2,
 * dup3): when old is watched or virtual, fd shares its state (the same
 * engine judges what either writes). 0, or -1 when fd cannot be watched
 * (above HFS_FD_MAX). */
int hfs_sock_dup(int old, int fd);

/* Watches fd, a stream socket just connected (or connecting) to r's
 * destination (sa as the app gave it). */
void hfs_sock_watch(int fd, const struct hfs_request *r, const struct sockaddr *sa, socklen_t len);

/* Turns fd (a socket not connected, or whose connect just failed) into a
 * virtual connection to r's destination, keeping its open file where the
 * loopback allows: 0, or -1 with errno (the caller then refuses the
 * connect). */
int hfs_sock_make_virtual(int fd, const struct hfs_request *r, const struct sockaddr *sa, socklen_t len);

/* The application writes on a watched/virtual fd (flags as for send). */
ssize_t hfs_sock_write(struct hfs_sock *s, int fd, const void *buf, size_t n, int flags);
/* The application reads (flags as for recv; MSG_PEEK reads the socket). */
ssize_t hfs_sock_read(struct hfs_sock *s, int fd, void *buf, size_t n, int flags);

/* A connect that failed with this errno means the server is unreachable
 * (refused, no route, network down, timed out). */
int hfs_sock_unreachable(int err);
/* fd's requests may be answered without the network: if its connection
 * turns out to fail (a non-blocking connect whose SO_ERROR says the server
 * is unreachable), it becomes virtual instead. */
void hfs_sock_mark_answerable(int fd);
/* fd was made virtual because its server is down (err): requests no rule
 * answers fail as the connection would have (reset), with a log line. */
void hfs_sock_mark_server_down(int fd, int err);
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

/* For the OpenSSL layer: the name, address and port fd is connected to
 * (1 when fd is watched or virtual), whether it is virtual, and marks it
 * as carrying TLS (the socket layer then leaves its bytes alone). */
int hfs_sock_dest(int fd, char *host, size_t hostlen, struct hfs_addr *addr, int *port, int *virtual_);
void hfs_sock_set_tls(int fd);
/* The errno that made fd virtual because its server is down, else 0. */
int hfs_sock_server_down(int fd);
/* 1 when some request on fd may be answered without the network. */
int hfs_sock_answerable(int fd);

/* Connections (a watched socket, or a TLS session on one) whose engine
 * holds the beginning of a request head after the app's last write: the
 * wait hooks (waithooks.c) look no further while it is 0. hfs_heads_note
 * keeps it true: *flag says whether one connection counts now. */
extern atomic_int hfs_heads_held;
void hfs_heads_note(int *flag, int holds);
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

/* fork handlers (called by atfork.c in the library's lock order) */
void hfs_sock_fork_prepare(void);
void hfs_sock_fork_parent(void);
void hfs_sock_fork_child(void);

#endif
