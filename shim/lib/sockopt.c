/* sockopt: socket options and names on watched and virtual sockets, as
 * the app would see them on the real connection: SO_ERROR of a connect to
 * a server that is down (the fd turns virtual when some of its requests
 * can be answered), TCP options accepted on a socketpair stand-in, and
 * getpeername/getsockname saying what the app connected to. */
#include "sockopt.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "real.h"
#include "sockfd.h"
#include "sockswap.h"

int hfs_sock_so_error(int fd, int *val)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    int err = 0, conv = 0;
    socklen_t l = sizeof err;
    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    if (s->answerable && !s->virtual_ && !s->conn && REAL(getsockopt)(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0) {
        if (hfs_sock_unreachable(err)) {
            struct hfs_request r = { .host = s->host[0] ? s->host : NULL, .addr = s->addr, .port = s->port };
            struct sockaddr_storage sa = s->sa;
            socklen_t salen = s->salen;
            char host[256];
            snprintf(host, sizeof host, "%s", s->host);
            r.host = host[0] ? host : NULL;
            pthread_mutex_unlock(&s->mu);
            /* hfs_sock_install() replaces this entry: never hold its lock across */
            if (hfs_sock_make_virtual(fd, &r, (struct sockaddr *)&sa, salen) == 0) {
                hfs_sock_mark_server_down(fd, err);
                conv = 1;
            }
            *val = conv ? 0 : err;
            return 1;
        }
        *val = err; /* SO_ERROR was read (and cleared): report it */
        pthread_mutex_unlock(&s->mu);
        return 1;
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int hfs_sock_setsockopt(struct hfs_sock *s, int fd, int level, int opt, int *rc)
{
    (void)fd;
    (void)opt;
    if (!s->virtual_ || s->lo || level == SOL_SOCKET)
        return 0; /* over the loopback, the app's TCP socket takes its options itself */
    *rc = 0;      /* TCP/IP options: a socketpair has none, and needs none */
    return 1;
}

int hfs_sock_getsockopt(struct hfs_sock *s, int level, int opt, void *val, socklen_t *len, int *rc)
{
    if (!s->virtual_ || s->lo)
        return 0;
    if (level == SOL_SOCKET && opt == SO_DOMAIN && val && len && *len >= sizeof(int)) {
        *(int *)val = s->sa.ss_family;
        *len = sizeof(int);
        *rc = 0;
        return 1;
    }
    if (level != SOL_SOCKET && val && len) {
        memset(val, 0, *len);
        *rc = 0;
        return 1;
    }
    return 0;
}

static void copy_sa(const struct sockaddr_storage *from, socklen_t flen, struct sockaddr *sa, socklen_t *len)
{
    socklen_t n = flen < *len ? flen : *len;
    memcpy(sa, from, n);
    *len = flen;
}

int hfs_sock_getpeername(struct hfs_sock *s, struct sockaddr *sa, socklen_t *len)
{
    if (!s->virtual_ || !sa || !len)
        return 0;
    copy_sa(&s->sa, s->salen, sa, len);
    return 1;
}

int hfs_sock_getsockname(struct hfs_sock *s, struct sockaddr *sa, socklen_t *len)
{
    if (!s->virtual_ || s->lo || !sa || !len)
        return 0; /* over the loopback: the socket's own loopback address */
    struct sockaddr_storage me;
    memset(&me, 0, sizeof me);
    socklen_t n;
    if (s->sa.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&me;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        n = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&me;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        n = sizeof *a;
    }
    copy_sa(&me, n, sa, len);
    return 1;
}
