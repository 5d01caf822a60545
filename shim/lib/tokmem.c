/* tokmem: the process's memory of bad and validated tokens (see header).
 * A small open-addressing table of SHA-256 digests under one mutex; the
 * state file, when the rules name one, is read from where this process
 * last stopped whenever its size changed. */
#include "tokmem.h"

#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../core/log.h"
#include "../core/sha256.h"
#include "../core/tokstate.h"
#include "envhooks.h"
#include "state.h"

#define SLOTS 512 /* digests kept; past that, the oldest learned stay and new ones still reach the file */

struct slot {
    unsigned char sha[32];
    enum hfs_tok_known what;
    long long when;
    int used;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct slot table[SLOTS];
static char path[4096];
static int path_state; /* 0: not worked out, 1: a file, -1: none */
static long long file_off, file_size = -1;

static struct slot *find(const unsigned char sha[32], int add)
{
    unsigned h = (unsigned)sha[0] | (unsigned)sha[1] << 8;
    for (unsigned i = 0; i < SLOTS; i++) {
        struct slot *s = &table[(h + i) % SLOTS];
        if (s->used && memcmp(s->sha, sha, 32) == 0)
            return s;
        if (!s->used) {
            if (!add)
                return NULL;
            memcpy(s->sha, sha, 32);
            s->used = 1;
            return s;
        }
    }
    return NULL;
}

static void put(const struct hfs_tokstate_entry *e)
{
    struct slot *s = find(e->sha, 1);
    if (!s)
        return;
    /* a learned 401 is not undone by an older "valid" verdict */
    if (s->what == HFS_KNOWN_LEARNED && e->what == HFS_KNOWN_VALID && e->when <= s->when)
        return;
    s->what = e->what;
    s->when = e->when;
}

static void each(void *ctx, const struct hfs_tokstate_entry *e)
{
    (void)ctx;
    put(e);
}

/* Reads what other processes appended since the last look (mu held). */
static void refresh(void)
{
    const struct hfs_token_policy *t = &hfs_g.rules->tokens;
    struct stat st;
    const char *why = NULL;
    if (path_state == 0) {
        path_state = -1;
        if (t->state_file && hfs_tokstate_path(t->state_file, hfs_env_user, path, sizeof path) == 0)
            path_state = 1;
        else if (t->state_file)
            hfs_log_msg("error", "tokens.state_file %s: a variable in it is not set; learned tokens stay in this "
                                 "process",
                        t->state_file);
    }
    if (path_state != 1 || stat(path, &st) != 0 || (long long)st.st_size == file_size)
        return;
    if (hfs_tokstate_read(path, &file_off, each, NULL, &why)) {
        hfs_log_msg("error", "token state file %s not used: %s", path, why ? why : "unreadable");
        path_state = -1;
        return;
    }
    file_size = (long long)st.st_size;
}

static enum hfs_tok_known lookup(void *ctx, const unsigned char sha[32])
{
    (void)ctx;
    enum hfs_tok_known k = HFS_KNOWN_NOTHING;
    pthread_mutex_lock(&mu);
    refresh();
    struct slot *s = find(sha, 0);
    if (s) {
        k = s->what;
        if (k == HFS_KNOWN_VALID || k == HFS_KNOWN_INVALID) { /* validations hold for validate_ttl */
            long long now = (long long)time(NULL);
            if (now - s->when > hfs_g.rules->tokens.validate_ttl)
                k = HFS_KNOWN_NOTHING;
        }
    }
    pthread_mutex_unlock(&mu);
    return k;
}

static const struct hfs_token_known known = { lookup, NULL };

const struct hfs_token_known *hfs_tokmem(void)
{
    return hfs_g.rules && hfs_g.rules->tokens.present ? &known : NULL;
}

int hfs_tokmem_learn(const unsigned char sha[32])
{
    struct hfs_tokstate_entry e;
    int fresh;
    memcpy(e.sha, sha, 32);
    e.what = HFS_KNOWN_LEARNED;
    e.when = (long long)time(NULL);
    pthread_mutex_lock(&mu);
    refresh();
    struct slot *s = find(sha, 0);
    fresh = !s || s->what != HFS_KNOWN_LEARNED;
    put(&e);
    if (fresh && path_state == 1) {
        const char *why = NULL;
        if (hfs_tokstate_append(path, &e, &why))
            hfs_log_msg("error", "token state file %s: cannot record a learned token: %s", path, why ? why : "error");
    }
    pthread_mutex_unlock(&mu);
    return fresh;
}
