/* dnsmem: address -> name memory (see header). Entries live in a fixed
 * array indexed by a hash of the address; a writer (under a mutex) bumps
 * the entry's sequence number to odd, writes, then to even; a reader copies
 * and retries if the sequence changed. All shared bytes are accessed with
 * relaxed atomics so the protocol is free of data races. */
#include "dnsmem.h"
#include "../core/startup.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

#define SLOTS 512
#define NAME_MAX_LEN 256

struct entry {
    atomic_uint seq;
    unsigned char key[17]; /* family byte + 16 address bytes */
    char name[NAME_MAX_LEN];
};

static struct entry table[SLOTS];
static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;

static void make_key(const struct hfs_addr *a, unsigned char key[17])
{
    memset(key, 0, 17);
    key[0] = (unsigned char)a->family;
    memcpy(key + 1, a->a, a->family == AF_INET ? 4 : 16);
}

static unsigned slot_of(const unsigned char key[17])
{
    unsigned h = 2166136261u;
    for (int i = 0; i < 17; i++)
        h = (h ^ key[i]) * 16777619u;
    return h % SLOTS;
}

static void store_bytes(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i++)
        __atomic_store_n(&d[i], s[i], __ATOMIC_RELAXED);
}

static void load_bytes(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i++)
        d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

HFS_STARTUP void hfs_dnsmem_init(void) {}

void hfs_dnsmem_put(const struct hfs_addr *a, const char *name)
{
    unsigned char key[17];
    char nm[NAME_MAX_LEN] = { 0 };
    size_t l = strlen(name);
    if (!a->family || l == 0)
        return;
    if (l >= NAME_MAX_LEN)
        l = NAME_MAX_LEN - 1;
    memcpy(nm, name, l);
    make_key(a, key);
    struct entry *e = &table[slot_of(key)];
    pthread_mutex_lock(&wlock);
    unsigned s = atomic_load_explicit(&e->seq, memory_order_relaxed);
    atomic_store_explicit(&e->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    store_bytes(e->key, key, sizeof key);
    store_bytes(e->name, nm, sizeof nm);
    atomic_store_explicit(&e->seq, s + 2, memory_order_release);
    pthread_mutex_unlock(&wlock);
}

int hfs_dnsmem_get(const struct hfs_addr *a, char *out, size_t outlen)
{
    unsigned char key[17], k2[17];
    char nm[NAME_MAX_LEN];
    if (!a->family || outlen == 0)
        return 0;
    make_key(a, key);
    struct entry *e = &table[slot_of(key)];
    for (int tries = 0; tries < 100; tries++) {
        unsigned s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
        if (s1 == 0)
            return 0;
        if (s1 & 1)
            continue;
        load_bytes(k2, e->key, sizeof k2);
        load_bytes(nm, e->name, sizeof nm);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&e->seq, memory_order_relaxed) != s1)
            continue;
        if (memcmp(k2, key, sizeof key) != 0)
            return 0;
        nm[NAME_MAX_LEN - 1] = 0;
        strncpy(out, nm, outlen - 1);
        out[outlen - 1] = 0;
        return 1;
    }
    return 0;
}

/* fork (the writers' lock; readers take none): taken before fork in
 * atfork.c's order, released in the parent and in the child. */
void hfs_dnsmem_fork_prepare(void) { pthread_mutex_lock(&wlock); }
void hfs_dnsmem_fork_parent(void) { pthread_mutex_unlock(&wlock); }
void hfs_dnsmem_fork_child(void) { pthread_mutex_unlock(&wlock); }
