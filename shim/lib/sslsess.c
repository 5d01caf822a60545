/* sslsess: the OpenSSL layer's sessions: one entry per client SSL object
 * hfshim acts on, in a hash table keyed by the SSL pointer. The table lock
 * is held only to find, add or remove an entry; each entry has its own
 * lock, held while a call works on the session (hfs_tls_get/put), so
 * threads on different sessions never wait on each other. Consistent
 * across fork (atfork.c). */
#include "sslsess.h"

#include <stdint.h>
#include <stdlib.h>

#include "sockconn.h"

#define NBUCKET 1024
static struct hfs_tls_sess *buckets[NBUCKET];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int nsess;    /* 0: every lookup is one load */
static atomic_int tls_held; /* sessions with held set: 0, hfs_tls_awaited looks no further */

/* e's head-held state after an engine call (e locked). A memory-BIO
 * session does not count: bytes released into its BIO would wait for the
 * app to move them, and a waiting app does not. */
void hfs_tls_note_held(struct hfs_tls_sess *e)
{
    int holds = !e->membio && !e->virtual_ && e->conn && hfs_conn_holds_head(e->conn);
    if (holds != e->held)
        atomic_fetch_add(&tls_held, holds ? 1 : -1);
    hfs_heads_note(&e->held, holds);
}

static unsigned bucket(const SSL *s) { return (unsigned)(((uintptr_t)s >> 4) * 2654435761u) % NBUCKET; }

struct hfs_tls_sess *hfs_tls_find_locked(const SSL *s)
{
    for (struct hfs_tls_sess *e = buckets[bucket(s)]; e; e = e->next)
        if (e->ssl == s)
            return e;
    return NULL;
}

/* The session's state, or NULL when it passes through. The session's
 * own lock is held on return when the result is not NULL (put releases
 * it); sessions never share a lock, so threads do not wait on each other. */
struct hfs_tls_sess *hfs_tls_get(const SSL *s)
{
    if (!atomic_load_explicit(&nsess, memory_order_relaxed))
        return NULL;
    pthread_mutex_lock(&mu);
    struct hfs_tls_sess *e = hfs_tls_find_locked(s);
    if (e && !e->skip && !e->dormant) {
        pthread_mutex_lock(&e->mu);
        pthread_mutex_unlock(&mu);
        return e;
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

void hfs_tls_put(struct hfs_tls_sess *e) { pthread_mutex_unlock(&e->mu); }

/* fork: the table lock is taken before fork (atfork.c's order); the
 * child has one thread: a session lock another thread held is made new. */
void hfs_tls_fork_prepare(void) { pthread_mutex_lock(&mu); }
void hfs_tls_fork_parent(void) { pthread_mutex_unlock(&mu); }
void hfs_tls_fork_child(void)
{
    pthread_mutex_init(&mu, NULL);
    for (unsigned b = 0; b < NBUCKET; b++)
        for (struct hfs_tls_sess *e = buckets[b]; e; e = e->next)
            pthread_mutex_init(&e->mu, NULL);
}

int hfs_tls_any(void) { return atomic_load_explicit(&nsess, memory_order_relaxed) != 0; }

int hfs_tls_any_held(void) { return atomic_load_explicit(&tls_held, memory_order_relaxed) != 0; }

void hfs_tls_table_lock(void) { pthread_mutex_lock(&mu); }

void hfs_tls_table_unlock(void) { pthread_mutex_unlock(&mu); }

int hfs_tls_known(const SSL *ssl)
{
    pthread_mutex_lock(&mu);
    int seen = hfs_tls_find_locked(ssl) != NULL;
    pthread_mutex_unlock(&mu);
    return seen;
}

int hfs_tls_insert(struct hfs_tls_sess *e)
{
    pthread_mutex_lock(&mu);
    if (hfs_tls_find_locked(e->ssl)) {
        pthread_mutex_unlock(&mu);
        return 0;
    }
    unsigned b = bucket(e->ssl);
    e->next = buckets[b];
    buckets[b] = e;
    atomic_fetch_add(&nsess, 1);
    pthread_mutex_unlock(&mu);
    return 1;
}

struct hfs_tls_sess *hfs_tls_find(int (*match)(struct hfs_tls_sess *e, void *arg), void *arg)
{
    struct hfs_tls_sess *found = NULL;
    pthread_mutex_lock(&mu);
    for (unsigned b = 0; b < NBUCKET && !found; b++)
        for (struct hfs_tls_sess *e = buckets[b]; e && !found; e = e->next)
            if (match(e, arg))
                found = e;
    pthread_mutex_unlock(&mu);
    return found;
}

void hfs_tls_forget(const SSL *ssl)
{
    if (!atomic_load_explicit(&nsess, memory_order_relaxed))
        return;
    pthread_mutex_lock(&mu);
    struct hfs_tls_sess **pp = &buckets[bucket(ssl)], *e = NULL;
    while (*pp && (*pp)->ssl != ssl)
        pp = &(*pp)->next;
    if (*pp) {
        e = *pp;
        *pp = e->next;
        atomic_fetch_sub(&nsess, 1);
    }
    pthread_mutex_unlock(&mu);
    if (e) {
        pthread_mutex_lock(&e->mu); /* a call still inside finishes first */
        if (e->held)
            atomic_fetch_sub(&tls_held, 1);
        hfs_heads_note(&e->held, 0);
        pthread_mutex_unlock(&e->mu);
        pthread_mutex_destroy(&e->mu);
        hfs_conn_free(e->conn);
        free(e->peeked);
        free(e->fb_head);
        free(e);
    }
}
