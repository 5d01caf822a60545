/* blackhole: connections that hang (see header). */
#include "blackhole.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "real.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* fork (the listeners): the lock is taken before fork (atfork.c's order),
 * released after it in the parent and in the child. */
void hfs_blackhole_fork_prepare(void) { pthread_mutex_lock(&mu); }
void hfs_blackhole_fork_parent(void) { pthread_mutex_unlock(&mu); }
void hfs_blackhole_fork_child(void) { pthread_mutex_unlock(&mu); }
static int hole_port, hole_err; /* the full-queue listener */
static int pit_port, pit_err;   /* the never-reading listener */
static char pit_hostport[32];

static int listener(int backlog, int *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof a;
    int s = REAL(socket)(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, backlog) ||
        REAL(getsockname)(s, (struct sockaddr *)&a, &l)) {
        int e = errno;
        REAL(close)(s);
        errno = e;
        return -1;
    }
    *port = ntohs(a.sin_port);
    return s;
}

/* The listener with a full queue: one connection of ours waits in it. */
static int make_hole(void)
{
    int port, s = listener(0, &port);
    if (s < 0)
        return -1;
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int filler = REAL(socket)(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (filler < 0 || REAL(connect)(filler, (struct sockaddr *)&a, sizeof a)) {
        int e = errno;
        if (filler >= 0)
            REAL(close)(filler);
        REAL(close)(s);
        errno = e;
        return -1;
    }
    hole_port = port; /* s and filler stay open while the process lives */
    return 0;
}

int hfs_blackhole_connect(int fd, int family)
{
    pthread_mutex_lock(&mu);
    if (!hole_port && !hole_err && make_hole())
        hole_err = errno ? errno : EADDRNOTAVAIL;
    int port = hole_port, err = hole_err;
    pthread_mutex_unlock(&mu);
    if (!port) {
        errno = err;
        return -1;
    }
    if (family == AF_INET6) {
        struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
        inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
        return REAL(connect)(fd, (struct sockaddr *)&a6, sizeof a6);
    }
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    return REAL(connect)(fd, (struct sockaddr *)&a, sizeof a);
}

const char *hfs_tarpit_hostport(void)
{
    pthread_mutex_lock(&mu);
    if (!pit_port && !pit_err) {
        int port;
        if (listener(SOMAXCONN, &port) < 0)
            pit_err = errno ? errno : EADDRNOTAVAIL;
        else {
            pit_port = port;
            snprintf(pit_hostport, sizeof pit_hostport, "127.0.0.1:%d", port);
        }
    }
    const char *r = pit_port ? pit_hostport : NULL;
    pthread_mutex_unlock(&mu);
    return r;
}
