/* faultcount: shared window counters (see header). */
#include "faultcount.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/counterfile.h"
#include "../core/errtext.h"
#include "../core/log.h"
#include "../core/readfile.h"
#include "../core/rules.h"
#include "envhooks.h"
#include "state.h"

#define SLOTS HFS_COUNTER_SLOTS
#define MAGIC HFS_COUNTER_MAGIC

struct slot {
    _Atomic uint64_t key;
    _Atomic int64_t count;
};

struct table {
    uint64_t magic;
    uint64_t pad;
    struct slot s[SLOTS];
};
_Static_assert(sizeof(struct table) == HFS_COUNTER_FILE_SIZE, "counter file layout");

static struct table *shared; /* the mapped file, or NULL */
static struct table local;   /* per-process fallback */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char created[512]; /* a file this process created (removed at exit) */

static void remove_created(void)
{
    if (created[0])
        unlink(created);
}

/* Maps path: 0, or -1 (not ours: wrong size, owner or magic). */
static int map(const char *path)
{
    struct stat st;
    const char *why;
    int fd = hfs_file_open(path, O_RDWR | O_NOFOLLOW, 0, &st, &why); /* regular files only */
    if (fd < 0)
        return -1;
    if (st.st_uid != geteuid() || st.st_size != (off_t)sizeof(struct table)) {
        hfs_sys_close(fd);
        errno = EINVAL;
        return -1;
    }
    struct table *t = mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    hfs_sys_close(fd); /* the mapping stays; no fd is kept */
    if (t == MAP_FAILED)
        return -1;
    if (t->magic != MAGIC) {
        munmap(t, sizeof *t);
        errno = EINVAL;
        return -1;
    }
    shared = t;
    return 0;
}

static void open_counters(void)
{
    const char *path = hfs_env_user("HFSHIM_COUNTERS");
    if (path && *path) {
        if (map(path) == 0)
            return;
        hfs_log_msg("error", "HFSHIM_COUNTERS=%s cannot be used (%s): fault windows count in this process only", path,
                    hfs_errtext(errno));
        return;
    }
    char p[512];
    if (hfs_g.secure)
        return; /* secure-execution mode: no file made where the user says (XDG_RUNTIME_DIR) */
    if (hfs_counterfile_create(hfs_env_lookup("XDG_RUNTIME_DIR"), p, sizeof p) == 0 && map(p) == 0) {
        snprintf(created, sizeof created, "%s", p);
        atexit(remove_created);
        hfs_carry_add("HFSHIM_COUNTERS", p); /* children count with us */
        return;
    }
    hfs_log_msg("error", "no file for the fault window counters (%s): they count in this process only",
                hfs_errtext(errno));
}

void hfs_faultcount_init(void) { pthread_once(&once, open_counters); }

static uint64_t key_of(const struct hfs_rule *rule, size_t i)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)(rule->name ? rule->name : ""); *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    h = (h ^ (uint64_t)i) * 1099511628211ull;
    return h ? h : 1;
}

static long count_or_peek(const struct hfs_rule *rule, size_t i, int peek)
{
    pthread_once(&once, open_counters);
    struct table *t = shared ? shared : &local;
    uint64_t k = key_of(rule, i);
    for (size_t n = 0, at = (size_t)(k % SLOTS); n < SLOTS; n++, at = (at + 1) % SLOTS) {
        uint64_t cur = atomic_load(&t->s[at].key);
        if (cur == 0) {
            uint64_t zero = 0;
            if (!atomic_compare_exchange_strong(&t->s[at].key, &zero, k))
                cur = zero;
            else
                cur = k;
        }
        if (cur == k)
            return peek ? (long)atomic_load(&t->s[at].count) + 1 : (long)atomic_fetch_add(&t->s[at].count, 1) + 1;
    }
    return 0; /* full: uncounted (the rule fires) */
}

long hfs_fault_count(const struct hfs_rule *rule, size_t i) { return count_or_peek(rule, i, 0); }

static long count_cb(void *ctx, const struct hfs_rule *rule, size_t index)
{
    return count_or_peek(rule, index, ctx != NULL);
}

static const struct hfs_fire fire = { count_cb, NULL }, peek = { count_cb, (void *)&peek };

const struct hfs_fire *hfs_fire(void) { return &fire; }
const struct hfs_fire *hfs_fire_peek(void) { return &peek; }
