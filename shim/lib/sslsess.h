/* sslsess: the OpenSSL layer's session table (sslsess.c): what hfshim
 * keeps about each client SSL object it acts on. */
#ifndef HFS_SSLSESS_H
#define HFS_SSLSESS_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "../core/conn.h"
#include "../core/request.h"

struct hfs_tls_sess {
    pthread_mutex_t mu;
    const SSL *ssl;
    struct hfs_tls_sess *next;
    int skip;          /* passes through */
    int virtual_;      /* no peer */
    int fd, port, err; /* err: what SSL_get_error says about our last answer (0: ask libssl) */
    char host[256];
    struct hfs_addr addr;
    struct hfs_conn *conn;
    size_t resume_off, resume_n; /* a write the app must retry: bytes of it already taken */
    /* memory-BIO sessions (asyncio, anyio): the app moves the TLS bytes
     * itself; the socket they go to is found by the ClientHello's random */
    int membio, dormant, have_random, wake_fd;
    int ended;       /* we told the app the session ended (SSL_ERROR_ZERO_RETURN) */
    int server_down; /* its socket is virtual because the server is down */
    int dead;        /* refused by hfshim (h2 where HTTP rules apply): every call fails */
    /* deferred handshake: on a real connection some of whose requests
     * hfshim may answer (cache, respond), the handshake is reported done
     * at once and made with the server only when a request needs it (the
     * first real write), so answered requests never wait for a server
     * that accepts and never answers */
    int lazy_ok;   /* may be deferred */
    int lazy;      /* deferred and not yet made: the session looks virtual */
    int conn_used; /* the app wrote or read before any handshake call: no deferring */
    char *peeked;  /* plaintext SSL_peek took from the engine, read next */
    size_t peeked_len;
    int held;      /* holds the beginning of a request head: counted in tls_held */
    int hub;       /* a real session with a Hub host: its handshake is bounded (reach.handshake_ms) */
    char *fb_head; /* a GET/HEAD to a Hub host went on and no response byte came yet: its head */
    size_t fb_len;
    unsigned char random[32];
};

/* The session's state, or NULL when it passes through (unknown, skipped
 * or dormant). Its own lock is held on return when not NULL:
 * hfs_tls_put releases it. */
struct hfs_tls_sess *hfs_tls_get(const SSL *s);
void hfs_tls_put(struct hfs_tls_sess *e);

/* 0 when there is no session at all (each lookup is then one load);
 * hfs_tls_any_held: 0 when no session holds a request head back. */
int hfs_tls_any(void);
int hfs_tls_any_held(void);

/* 1 when ssl has an entry (skipped or not). */
int hfs_tls_known(const SSL *ssl);

/* Adds e (e->ssl set, e->mu initialised): 1, or 0 when another thread
 * added one for the same SSL first (e is then the caller's to free). */
int hfs_tls_insert(struct hfs_tls_sess *e);

/* The first session for which match returns 1, NULL when none. match is
 * called with the table locked; it may lock e->mu (the order hfs_tls_get
 * takes them in) and keeps it locked when it returns 1. */
struct hfs_tls_sess *hfs_tls_find(int (*match)(struct hfs_tls_sess *e, void *arg), void *arg);

/* The table lock, for a short look at one entry by its SSL (no entry lock). */
void hfs_tls_table_lock(void);
void hfs_tls_table_unlock(void);
struct hfs_tls_sess *hfs_tls_find_locked(const SSL *s);

/* Removes and frees ssl's entry (after a call still inside finishes). */
void hfs_tls_forget(const SSL *ssl);

/* e's head-held state after an engine call (e locked). */
void hfs_tls_note_held(struct hfs_tls_sess *e);

/* fork handlers (called by atfork.c in the library's lock order) */
void hfs_tls_fork_prepare(void);
void hfs_tls_fork_parent(void);
void hfs_tls_fork_child(void);

#endif
