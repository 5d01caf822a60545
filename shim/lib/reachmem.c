/* reachmem: the shared Hub reachability verdicts (see header). */
#include "reachmem.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include "../core/decide.h"
#include "../core/errtext.h"
#include "../core/log.h"
#include "../core/readfile.h"
#include "../core/tokstate.h"
#include "envhooks.h"
#include "state.h"

static struct hfs_reach_table *shared; /* the mapped file, or NULL */
static struct hfs_reach_table local;   /* this process only */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char path[1024];
static int path_state;        /* 0: not worked out, 1: path set, -1: none */
static long long next_try_ms; /* when to look for the file again (it may not exist yet) */
static int hub_offline;
static const char *hub_offline_why = "HF_HUB_OFFLINE=1 in the environment";

/* fork (the reachability table; the table itself is lock-free): the lock is taken before fork (atfork.c's order),
 * released after it in the parent and in the child. */
void hfs_reach_fork_prepare(void) { pthread_mutex_lock(&mu); }
void hfs_reach_fork_parent(void) { pthread_mutex_unlock(&mu); }
void hfs_reach_fork_child(void) { pthread_mutex_unlock(&mu); }

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long remember_ms(void) { return (long long)hfs_g.rules->reach.remember_s * 1000; }

/* Makes the missing folders of p (0700). */
static void make_dirs(const char *p)
{
    char d[sizeof path];
    snprintf(d, sizeof d, "%s", p);
    for (char *s = d + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(d, 0700);
            *s = '/';
        }
}

/* Maps the state file (creating it when create): 0, or -1 (try again
 * later), or -2 (not usable: not a regular file, another owner, writable
 * by others, wrong size). Opened through the one reader of outside files
 * (never blocks on a FIFO, raw system calls, not our own hooks). */
static int map_file(int create)
{
    struct stat st;
    const char *why;
    int flags = O_RDWR | O_NOFOLLOW | (create ? O_CREAT : 0);
    int fd = hfs_file_open(path, flags, 0600, &st, &why);
    if (fd < 0 && create && errno == ENOENT) {
        make_dirs(path);
        fd = hfs_file_open(path, flags, 0600, &st, &why);
    }
    if (fd < 0)
        return errno == EINVAL ? -2 : -1; /* EINVAL: not a regular file */
    if (st.st_uid != geteuid() || (st.st_mode & 0022)) {
        hfs_sys_close(fd);
        errno = EPERM;
        return -2;
    }
    if (st.st_size == 0 && ftruncate(fd, (off_t)HFS_REACH_FILE_SIZE)) {
        hfs_sys_close(fd);
        return -1;
    } else if (st.st_size != 0 && st.st_size != (off_t)HFS_REACH_FILE_SIZE) {
        hfs_sys_close(fd);
        errno = EINVAL;
        return -2;
    }
    struct hfs_reach_table *t = mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    hfs_sys_close(fd); /* the mapping stays; no fd is kept */
    if (t == MAP_FAILED)
        return -1;
    _Atomic uint64_t *magic = (_Atomic uint64_t *)&t->magic;
    uint64_t zero = 0;
    atomic_compare_exchange_strong(magic, &zero, HFS_REACH_MAGIC);
    if (atomic_load(magic) != HFS_REACH_MAGIC) {
        munmap(t, sizeof *t);
        errno = EINVAL;
        return -2;
    }
    shared = t;
    return 0;
}

/* The table to use (mu held): the shared one when there is a file. */
static struct hfs_reach_table *table(int create)
{
    if (shared)
        return shared;
    if (path_state == 0) {
        const char *sf = hfs_g.rules->reach.state_file;
        path_state = -1;
        if (sf && !hfs_g.secure && hfs_tokstate_path(sf, hfs_env_user, path, sizeof path) == 0)
            path_state = 1;
    }
    if (path_state != 1)
        return &local;
    long long now = now_ms();
    if (!create && now < next_try_ms)
        return &local;
    next_try_ms = now + 1000;
    int rc = map_file(create);
    if (rc == -2 || (rc < 0 && create)) {
        hfs_log_msg("error", "reach.state_file %s not used (%s): Hub reachability is kept in this process only", path,
                    hfs_errtext(errno));
        path_state = -1;
    }
    if (shared && local.magic) { /* what this process learned before the file existed */
        for (size_t i = 0; i < HFS_REACH_SLOTS; i++)
            if (atomic_load(&local.s[i].since_ms))
                hfs_reach_mark(shared, local.s[i].host, atomic_load(&local.s[i].since_ms), remember_ms(),
                               atomic_load(&local.s[i].reason), atomic_load(&local.s[i].err));
    }
    return shared ? shared : &local;
}

int hfs_reach_host_down(const char *host)
{
    if (hub_offline)
        return 1;
    if (!host || !hfs_g.rules)
        return 0;
    pthread_mutex_lock(&mu);
    int down = hfs_reach_down(table(0), host, now_ms(), remember_ms(), NULL);
    pthread_mutex_unlock(&mu);
    return down;
}

static int down_cb(void *ctx, const struct hfs_request *r, const char **why)
{
    (void)ctx;
    if (hub_offline) {
        *why = hub_offline_why;
        return 1;
    }
    const char *host = r->host ? r->host : r->ip[0] ? r->ip : NULL;
    if (!hfs_reach_host_down(host))
        return 0;
    *why = "the Hub host is unreachable (learned; hfshim doctor shows why)";
    return 1;
}

static const struct hfs_reach reach_cb = { down_cb, NULL };

const struct hfs_reach *hfs_reach(void) { return &reach_cb; }

void hfs_reach_learn(const char *host, int reason, int err)
{
    if (!host || !*host || !hfs_g.rules || !hfs_g.rules->reach.learn || hfs_g.rules->offline)
        return;
    pthread_mutex_lock(&mu);
    struct hfs_reach_table *t = table(1);
    if (t == &local)
        local.magic = HFS_REACH_MAGIC;
    int fresh = hfs_reach_mark(t, host, now_ms(), remember_ms(), reason, err);
    pthread_mutex_unlock(&mu);
    if (fresh == 1) {
        char why[128];
        hfs_log_msg("reach",
                    "Hub host %s is unreachable: %s; for %d s its requests are answered from the cache or fail at once "
                    "(as offline)",
                    host, hfs_reach_reason_text(reason, err, why, sizeof why), hfs_g.rules->reach.remember_s);
    }
}

void hfs_reach_learn_req(const struct hfs_request *r, int reason, int err)
{
    if (!hfs_g.rules || !hfs_g.rules->reach.learn || hfs_g.rules->offline || !hfs_is_hub(hfs_g.rules, r, NULL))
        return;
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (reason == HFS_REACH_CONNECT && r->addr.family == AF_INET6 && (err == ENETUNREACH || err == EHOSTUNREACH) &&
        memcmp(r->addr.a, mapped, sizeof mapped) != 0)
        return;
    hfs_reach_learn(r->host ? r->host : r->ip[0] ? r->ip : NULL, reason, err);
}

void hfs_reach_ok(const char *host)
{
    if (!host || !*host || !hfs_g.rules || hub_offline)
        return;
    pthread_mutex_lock(&mu);
    int was = hfs_reach_clear(table(0), host);
    pthread_mutex_unlock(&mu);
    if (was)
        hfs_log_msg("reach", "Hub host %s is reachable again", host);
}

void hfs_reach_set_hub_offline(const char *why)
{
    hub_offline = 1;
    if (why)
        hub_offline_why = why;
}

int hfs_reach_on(void) { return hfs_g.rules && hfs_g.rules->reach.learn && !hfs_g.rules->offline; }

int hfs_reach_resolve_ms(void) { return hfs_g.rules ? hfs_g.rules->reach.resolve_ms : 1000; }
int hfs_reach_connect_ms(void) { return hfs_g.rules ? hfs_g.rules->reach.connect_ms : 1500; }
int hfs_reach_handshake_ms(void) { return hfs_g.rules ? hfs_g.rules->reach.handshake_ms : 1500; }
int hfs_reach_first_byte_ms(void) { return hfs_g.rules ? hfs_g.rules->reach.first_byte_ms : 2000; }
