/* sockfd: the socket layer's fd table and its entries (sockfd.c). */
#ifndef HFS_SOCKFD_H
#define HFS_SOCKFD_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "../core/conn.h"
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

#define HFS_SOCK_MAX_EPOLL 4

/* A watched or virtual socket (its fields are the socket layer's: sockfd,
 * sockswap, sockopt, sockconn). */
struct hfs_sock {
    pthread_mutex_t mu;
    struct hfs_sock *next_free;
    int virtual_, tls, off, closing, failed_logged;
    int wr_shut; /* the app shut its sending side: its writes go to the socket, which refuses them */
    int lo;      /* virtual over loopback: fd is still the app's own TCP socket */
    char host[256];
    struct hfs_addr addr;
    int port;
    struct sockaddr_storage sa;
    socklen_t salen;
    struct hfs_conn *conn;
    int peer;
    char *pend;
    size_t pend_len, pend_off;
    int pend_close;
    /* epoll sets the fd is in: re-added after the fd is replaced (an epoll
     * registration belongs to the old socket and dies with it) */
    struct {
        int epfd;
        struct epoll_event ev;
    } ep[HFS_SOCK_MAX_EPOLL];
    int nep;
    int answerable;  /* a failed connect turns it virtual (server down) */
    int server_down; /* virtual because the server was unreachable: errno */
    int reset_eof;   /* virtual: a reset rule cut the answer; its end reads ECONNRESET */
    long rate;       /* virtual: a throttle rule's bytes/s for what the app reads */
    int held;        /* counted in hfs_heads_held */
    int hub;         /* it goes to a Hub host (decide_apply.h's hfs_dest_is_hub, once, when installed) */
    char *fb_head;   /* a GET/HEAD to a Hub host went on and no response byte came yet: its head */
    size_t fb_len;
    /* the open file fd refers to (fstat): an fd closed behind our back
     * (libuv closes with REAL(syscall)(SYS_close)) and reused for a file or a
     * pipe is recognised and forgotten, never treated as a socket */
    _Atomic unsigned long long dev, ino;
    /* fds whose table slot holds this entry (dup/REAL(fcntl)(F_DUPFD) of a
     * watched or virtual fd shares it): released when the last goes */
    atomic_int refs;
};

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
/* For the socket layer's files: the entry for fd (made, or reset when it
 * was there), one table slot less holding s, s's head-held state after an
 * engine call (s locked), the open file fd now is, the name (else the
 * address) for log lines, the highest fd ever watched. */
struct hfs_sock *hfs_sock_install(int fd, const struct hfs_request *r, const struct sockaddr *sa, socklen_t len);
void hfs_sock_unref(struct hfs_sock *s);
void hfs_sock_note_held(struct hfs_sock *s);
void hfs_sock_note_identity(struct hfs_sock *s, int fd);
const char *hfs_sock_shown_host(const struct hfs_sock *s, char *buf, size_t len);
int hfs_sock_fd_hiwater(void);

/* fork handlers (called by atfork.c in the library's lock order) */
void hfs_sock_fork_prepare(void);
void hfs_sock_fork_parent(void);
void hfs_sock_fork_child(void);

#endif
