/* sockfd: the socket layer's fd table. An O(1) table indexed by fd holds
 * the entry of each watched or virtual socket (sockfd.h); entries come
 * from a pool and are never freed, only reused, and a slot is shared by
 * the dup()s of an fd (reference counted). Also what the other layers ask
 * of an entry (where it goes, whether its server is down) and the fork
 * handlers of its locks. */
#include "sockfd.h"

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

#include "../core/conn.h"
#include "../core/errtext.h"
#include "../core/log.h"
#include "decide_apply.h"
#include "real.h"

_Atomic(struct hfs_sock *) hfs_fdtab[HFS_FD_MAX];
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct hfs_sock *pool;
atomic_int hfs_heads_held;
static atomic_int fd_hiwater; /* the highest fd ever watched */

int hfs_sock_fd_hiwater(void) { return atomic_load(&fd_hiwater); }

void hfs_heads_note(int *flag, int holds)
{
    holds = holds != 0;
    if (*flag != holds) {
        atomic_fetch_add(&hfs_heads_held, holds ? 1 : -1);
        *flag = holds;
    }
}

/* s's head-held state after an engine call (s locked). */
void hfs_sock_note_held(struct hfs_sock *s)
{
    hfs_heads_note(&s->held, !s->virtual_ && s->conn && hfs_conn_holds_head(s->conn));
}

static struct hfs_sock *alloc_sock(void)
{
    pthread_mutex_lock(&pool_mu);
    struct hfs_sock *s = pool;
    if (s)
        pool = s->next_free;
    pthread_mutex_unlock(&pool_mu);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return NULL;
        pthread_mutex_init(&s->mu, NULL);
    }
    return s;
}

/* Entries are never freed, only reused: a thread still holding a pointer
 * to one whose fd another thread closed finds a valid (reset) entry. */
static void release_sock(struct hfs_sock *s)
{
    pthread_mutex_lock(&s->mu);
    hfs_heads_note(&s->held, 0);
    hfs_conn_free(s->conn);
    s->conn = NULL;
    if (s->peer >= 0 && s->lo) {
        /* the app's socket is being closed: end the loopback connection
         * with a reset, so that neither end stays in TIME_WAIT holding a
         * local port for a minute (a program making many virtual
         * connections would run out of ports) */
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        REAL(setsockopt)(s->peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    if (s->peer >= 0)
        REAL(close)(s->peer);
    s->peer = -1;
    free(s->pend);
    s->pend = NULL;
    s->pend_len = s->pend_off = 0;
    free(s->fb_head);
    s->fb_head = NULL;
    s->virtual_ = s->tls = s->lo = 0;
    s->off = 1; /* a stale pointer passes straight through */
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&pool_mu);
    s->next_free = pool;
    pool = s;
    pthread_mutex_unlock(&pool_mu);
}

/* One table slot less holds s. */
void hfs_sock_unref(struct hfs_sock *s)
{
    if (atomic_fetch_sub(&s->refs, 1) <= 1)
        release_sock(s);
}

void hfs_sock_forget(int fd)
{
    if ((unsigned)fd >= HFS_FD_MAX)
        return;
    struct hfs_sock *s = atomic_exchange(&hfs_fdtab[fd], NULL);
    if (s)
        hfs_sock_unref(s);
}

int hfs_sock_dup(int old, int fd)
{
    struct hfs_sock *s = hfs_sock_of(old), *prev;
    if (!s || (unsigned)fd >= HFS_FD_MAX || fd == old)
        return s ? -1 : 0;
    atomic_fetch_add(&s->refs, 1);
    if ((prev = atomic_exchange(&hfs_fdtab[fd], s)))
        hfs_sock_unref(prev);
    return 0;
}

void hfs_sock_note_identity(struct hfs_sock *s, int fd)
{
    struct stat st;
    int ok = fstat(fd, &st) == 0;
    atomic_store_explicit(&s->dev, ok ? (unsigned long long)st.st_dev : 0, memory_order_relaxed);
    atomic_store_explicit(&s->ino, ok ? (unsigned long long)st.st_ino : 0, memory_order_relaxed);
}

int hfs_sock_current(int fd, struct hfs_sock *s)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && (unsigned long long)st.st_ino == atomic_load_explicit(&s->ino, memory_order_relaxed) &&
        (unsigned long long)st.st_dev == atomic_load_explicit(&s->dev, memory_order_relaxed))
        return 1;
    /* not the socket we watched any more: forget it (unless it was just replaced) */
    struct hfs_sock *expect = s;
    if (atomic_compare_exchange_strong(&hfs_fdtab[fd], &expect, NULL))
        hfs_sock_unref(s);
    return 0;
}

struct hfs_sock *hfs_sock_install(int fd, const struct hfs_request *r, const struct sockaddr *sa, socklen_t len)
{
    struct hfs_sock *s;
    if ((unsigned)fd >= HFS_FD_MAX || !(s = alloc_sock()))
        return NULL;
    for (int hi = atomic_load(&fd_hiwater); fd > hi && !atomic_compare_exchange_weak(&fd_hiwater, &hi, fd);)
        ;
    pthread_mutex_lock(&s->mu);
    s->virtual_ = s->tls = s->off = s->closing = s->failed_logged = s->pend_close = 0;
    s->lo = s->reset_eof = 0;
    s->rate = 0;
    s->nep = 0;
    s->answerable = s->server_down = 0;
    free(s->fb_head);
    s->fb_head = NULL;
    s->peer = -1;
    snprintf(s->host, sizeof s->host, "%s", r->host && r->host[0] ? r->host : "");
    s->addr = r->addr;
    s->port = r->port;
    s->hub = hfs_dest_is_hub(s->host, &s->addr, s->port);
    s->salen = len <= sizeof s->sa ? len : sizeof s->sa;
    memcpy(&s->sa, sa, s->salen);
    hfs_sock_note_identity(s, fd);
    atomic_store(&s->refs, 1);
    pthread_mutex_unlock(&s->mu);
    struct hfs_sock *old = atomic_exchange(&hfs_fdtab[fd], s);
    if (old)
        hfs_sock_unref(old);
    return s;
}

void hfs_sock_watch(int fd, const struct hfs_request *r, const struct sockaddr *sa, socklen_t len)
{
    hfs_sock_install(fd, r, sa, len);
}

/* The name connected to, else the address, for log lines. */
const char *hfs_sock_shown_host(const struct hfs_sock *s, char *buf, size_t len)
{
    if (s->host[0])
        return s->host;
    if (!inet_ntop(s->addr.family, s->addr.a, buf, (socklen_t)len))
        snprintf(buf, len, "(address)");
    return buf;
}

int hfs_sock_unreachable(int err)
{
    return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == ETIMEDOUT || err == ENETDOWN;
}

void hfs_sock_mark_answerable(int fd)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->answerable = 1;
    pthread_mutex_unlock(&s->mu);
}

void hfs_sock_mark_server_down(int fd, int err)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    char ip[64];
    s->server_down = err;
    hfs_log_msg("info",
                "%s port %d: the server is unreachable (%s); requests a rule answers get their answer, "
                "the others fail",
                hfs_sock_shown_host(s, ip, sizeof ip), s->port, hfs_errtext(err));
    pthread_mutex_unlock(&s->mu);
}

int hfs_sock_dest(int fd, char *host, size_t hostlen, struct hfs_addr *addr, int *port, int *virtual_)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    int ok = !s->off || s->virtual_;
    if (ok) {
        snprintf(host, hostlen, "%s", s->host);
        *addr = s->addr;
        *port = s->port;
        *virtual_ = s->virtual_;
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

int hfs_sock_server_down(int fd)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    int r = 0;
    if (s) {
        pthread_mutex_lock(&s->mu);
        r = s->server_down;
        pthread_mutex_unlock(&s->mu);
    }
    return r;
}

int hfs_sock_answerable(int fd)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    int r = 0;
    if (s) {
        pthread_mutex_lock(&s->mu);
        r = s->answerable && !s->virtual_;
        pthread_mutex_unlock(&s->mu);
    }
    return r;
}

void hfs_sock_set_tls(int fd)
{
    struct hfs_sock *s = hfs_sock_of(fd);
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->tls = 1;
    pthread_mutex_unlock(&s->mu);
}

/* fork: the pool lock is taken before fork (atfork.c's order); a thread
 * holding an entry's lock does not exist in the child: all are made new. */
void hfs_sock_fork_prepare(void) { pthread_mutex_lock(&pool_mu); }
void hfs_sock_fork_parent(void) { pthread_mutex_unlock(&pool_mu); }
void hfs_sock_fork_child(void)
{
    pthread_mutex_init(&pool_mu, NULL);
    for (int fd = 0; fd < HFS_FD_MAX; fd++) {
        struct hfs_sock *s = atomic_load(&hfs_fdtab[fd]);
        if (s)
            pthread_mutex_init(&s->mu, NULL);
    }
}
