/* tokmem: the process's memory of bad and validated tokens (see header).
 * A growable table of SHA-256 digests (core/digestset.h) under one mutex;
 * the state file, when the rules name one, is read from where this process
 * last stopped whenever its size changed. Learning never stops: the table
 * grows up to HFS_DIGESTSET_MAX digests and then forgets the older half
 * (said once in the log); a digest already known as learned is never
 * appended again, so the file grows by one line per new verdict, not per
 * request. */
#include "tokmem.h"

#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../core/digestset.h"
#include "../core/log.h"
#include "../core/sha256.h"
#include "../core/tokstate.h"
#include "envhooks.h"
#include "state.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* fork (the learned-token table): the lock is taken before fork (atfork.c's order),
 * released after it in the parent and in the child. */
void hfs_tokmem_fork_prepare(void) { pthread_mutex_lock(&mu); }
void hfs_tokmem_fork_parent(void) { pthread_mutex_unlock(&mu); }
void hfs_tokmem_fork_child(void) { pthread_mutex_unlock(&mu); }
static struct hfs_digestset table = { NULL, 0, 0, HFS_DIGESTSET_MAX, 0 };
static char path[4096];
static int path_state; /* 0: not worked out, 1: a file, -1: none */
static long long file_off, file_size = -1;
static int said_full, said_nomem;

/* Records e (mu held); says once when the table had to forget or could not grow. */
static void put(const struct hfs_tokstate_entry *e)
{
    unsigned long long before = table.forgotten;
    if (hfs_digestset_put(&table, e) < 0 && !said_nomem) {
        said_nomem = 1;
        hfs_log_msg("error", "token memory: out of memory; a token the Hub rejects may be sent again");
    }
    if (table.forgotten != before && !said_full) {
        said_full = 1;
        hfs_log_msg("error",
                    "token memory: more than %d distinct tokens known; the older half is forgotten here "
                    "(learned again if the Hub rejects one of them again)",
                    HFS_DIGESTSET_MAX);
    }
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
            hfs_log_msg("error",
                        "tokens.state_file %s: a variable in it is not set; learned tokens stay in this "
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
    const struct hfs_tokstate_entry *s = hfs_digestset_get(&table, sha);
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

const struct hfs_token_known *hfs_tokmem(void) { return hfs_g.rules && hfs_g.rules->tokens.present ? &known : NULL; }

int hfs_tokmem_learn(const unsigned char sha[32])
{
    struct hfs_tokstate_entry e;
    int fresh;
    memcpy(e.sha, sha, 32);
    e.what = HFS_KNOWN_LEARNED;
    e.when = (long long)time(NULL);
    pthread_mutex_lock(&mu);
    refresh();
    const struct hfs_tokstate_entry *s = hfs_digestset_get(&table, sha);
    fresh = !s || s->what != HFS_KNOWN_LEARNED; /* already learned: no second line in the file */
    put(&e);
    if (fresh && path_state == 1) {
        const char *why = NULL;
        if (hfs_tokstate_append(path, &e, &why))
            hfs_log_msg("error", "token state file %s: cannot record a learned token: %s", path, why ? why : "error");
    }
    pthread_mutex_unlock(&mu);
    return fresh;
}
