/* reachwait: the reach deadlines of non-blocking sockets (see header). A
 * small table under one lock: few Hub connections are being made at any
 * moment. Entries name the open file too (device and inode), so an fd
 * closed behind our back and reused is never acted on. */
#include "reachwait.h"

#include <errno.h>
#include <linux/tcp.h>
#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "real.h"
#include "state.h"

#define RW_MAX 64

enum { FREE, PENDING, FIRING, FAILED };

struct ent {
    int fd, state, err;
    long long end_ns;
    unsigned long long dev, ino;
    hfs_rw_fire_fn fire;
    hfs_rw_asked_fn asked;
    void *arg;
};

atomic_int hfs_rw_pending;
atomic_int hfs_rw_entries;
static struct ent tab[RW_MAX];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* fork (the deadline table): the lock is taken before fork (atfork.c's order),
 * released after it in the parent and in the child. */
void hfs_rw_fork_prepare(void) { pthread_mutex_lock(&mu); }
void hfs_rw_fork_parent(void) { pthread_mutex_unlock(&mu); }
void hfs_rw_fork_child(void) { pthread_mutex_unlock(&mu); }

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int identity(int fd, unsigned long long *dev, unsigned long long *ino)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -1;
    *dev = (unsigned long long)st.st_dev;
    *ino = (unsigned long long)st.st_ino;
    return 0;
}

/* Ends entry e (mu held); its arg is returned for freeing outside. */
static void *end_entry(struct ent *e)
{
    void *arg = e->arg;
    if (e->state == PENDING)
        atomic_fetch_sub(&hfs_rw_pending, 1);
    if (e->state != FREE)
        atomic_fetch_sub(&hfs_rw_entries, 1);
    e->state = FREE;
    e->arg = NULL;
    return arg;
}

static struct ent *find(int fd)
{
    for (int i = 0; i < RW_MAX; i++)
        if (tab[i].state != FREE && tab[i].fd == fd)
            return &tab[i];
    return NULL;
}

int hfs_rw_add(int fd, int ms, hfs_rw_fire_fn fire, hfs_rw_asked_fn asked, void *arg)
{
    unsigned long long dev, ino;
    void *old = NULL;
    if (fd < 0 || identity(fd, &dev, &ino) < 0)
        return -1;
    pthread_mutex_lock(&mu);
    struct ent *e = find(fd);
    if (e && e->state == FIRING)
        e = NULL; /* its action runs now: a second entry for the same fd would not be found first */
    if (e)
        old = end_entry(e);
    for (int i = 0; !e && i < RW_MAX; i++)
        if (tab[i].state == FREE)
            e = &tab[i];
    if (!e) {
        pthread_mutex_unlock(&mu);
        return -1;
    }
    *e = (struct ent){ .fd = fd,
                       .state = PENDING,
                       .end_ns = now_ns() + (long long)ms * 1000000LL,
                       .dev = dev,
                       .ino = ino,
                       .fire = fire,
                       .asked = asked,
                       .arg = arg };
    atomic_fetch_add(&hfs_rw_entries, 1);
    atomic_fetch_add(&hfs_rw_pending, 1);
    pthread_mutex_unlock(&mu);
    free(old);
    return 0;
}

void hfs_rw_cancel(int fd)
{
    void *arg = NULL;
    pthread_mutex_lock(&mu);
    struct ent *e = find(fd);
    if (e && e->state != FIRING)
        arg = end_entry(e);
    pthread_mutex_unlock(&mu);
    free(arg);
}

int hfs_rw_due(void)
{
    struct ent due[8];
    int n = 0;
    long long next = -1, now = now_ns();
    pthread_mutex_lock(&mu);
    for (int i = 0; i < RW_MAX; i++) {
        struct ent *e = &tab[i];
        if (e->state != PENDING)
            continue;
        if (e->end_ns <= now && n < (int)(sizeof due / sizeof due[0])) {
            due[n++] = *e;
            e->state = FIRING;
            atomic_fetch_sub(&hfs_rw_pending, 1);
        } else if (next < 0 || e->end_ns - now < next) {
            next = e->end_ns > now ? e->end_ns - now : 1;
        }
    }
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < n; i++) {
        unsigned long long dev, ino;
        int err = 0, busy, saved = errno;
        if (identity(due[i].fd, &dev, &ino) == 0 && dev == due[i].dev && ino == due[i].ino) {
            HFS_BUSY_ENTER(busy);
            err = due[i].fire(due[i].fd, due[i].arg);
            HFS_BUSY_LEAVE(busy);
        }
        errno = saved;
        void *arg = NULL;
        pthread_mutex_lock(&mu);
        for (int k = 0; k < RW_MAX; k++) {
            struct ent *e = &tab[k];
            if (e->state == FIRING && e->fd == due[i].fd && e->arg == due[i].arg) {
                if (err) { /* kept, for the socket's next connect/SO_ERROR */
                    e->state = FAILED;
                    e->err = err;
                    arg = e->arg;
                    e->arg = NULL;
                } else {
                    arg = end_entry(e);
                }
                break;
            }
        }
        pthread_mutex_unlock(&mu);
        free(arg);
    }
    return next < 0 ? -1 : (int)((next + 999999) / 1000000);
}

int hfs_rw_so_error(int fd, int *val)
{
    hfs_rw_asked_fn asked = NULL;
    void *arg = NULL;
    int rc = 0;
    pthread_mutex_lock(&mu);
    struct ent *e = find(fd);
    if (e && e->state == FAILED) {
        int so;
        socklen_t l = sizeof so;
        REAL(getsockopt)(fd, SOL_SOCKET, SO_ERROR, &so, &l); /* the aborted connect's own error, read and dropped */
        *val = e->err;
        end_entry(e);
        rc = 1;
    } else if (e && e->state == PENDING && e->asked) {
        asked = e->asked; /* FIRING meanwhile: no deadline acts on it, nobody frees arg */
        arg = e->arg;
        e->state = FIRING;
        atomic_fetch_sub(&hfs_rw_pending, 1);
    }
    pthread_mutex_unlock(&mu);
    if (!asked)
        return rc;
    int busy, saved = errno;
    HFS_BUSY_ENTER(busy);
    int how = asked(fd, arg, val);
    HFS_BUSY_LEAVE(busy);
    errno = saved;
    void *gone = NULL;
    pthread_mutex_lock(&mu);
    for (int k = 0; k < RW_MAX; k++) {
        struct ent *x = &tab[k];
        if (x->state == FIRING && x->fd == fd && x->arg == arg) {
            if (how == HFS_RW_KEEP) {
                x->state = PENDING;
                atomic_fetch_add(&hfs_rw_pending, 1);
            } else {
                gone = end_entry(x);
            }
            break;
        }
    }
    pthread_mutex_unlock(&mu);
    free(gone);
    return how == HFS_RW_ANSWERED;
}

int hfs_rw_failed(int fd)
{
    int err = 0;
    pthread_mutex_lock(&mu);
    struct ent *e = find(fd);
    if (e && e->state == FAILED) {
        err = e->err;
        end_entry(e);
    }
    pthread_mutex_unlock(&mu);
    return err;
}

int hfs_rw_has_failed(int fd)
{
    pthread_mutex_lock(&mu);
    struct ent *e = find(fd);
    int r = e && e->state == FAILED;
    pthread_mutex_unlock(&mu);
    return r;
}

int hfs_rw_has(int fd, hfs_rw_fire_fn fire)
{
    pthread_mutex_lock(&mu);
    struct ent *e = find(fd);
    int r = e && e->fire == fire;
    pthread_mutex_unlock(&mu);
    return r;
}

int hfs_rw_tcp(int fd, int *state, unsigned long long *rx)
{
    struct tcp_info ti; /* the kernel's (linux/tcp.h): glibc's lacks tcpi_bytes_received */
    socklen_t l = sizeof ti;
    if (REAL(getsockopt)(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
        return -1;
    *state = ti.tcpi_state;
    *rx = l >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received
              ? (unsigned long long)ti.tcpi_bytes_received
              : 0;
    return 0;
}
