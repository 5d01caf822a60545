/* conn: one HTTP/1.x connection as an interception layer sees it (a plain
 * socket, or the plaintext of an OpenSSL session), without I/O of its own.
 * What the application writes is framed into requests and each request
 * head is judged through a callback: a forwarded request goes to the real
 * peer (its head maybe rewritten, its body byte for byte), an answered one
 * is swallowed and its answer queued. What the application reads is served
 * in request order from the real peer's responses and the queued answers,
 * so a keep-alive connection can mix both. Pure: the layer gives the
 * send/recv functions; unit-tested and fuzzed (tests/fuzz/fuzz_conn.c). */
#ifndef HFS_CONN_H
#define HFS_CONN_H
#include <stddef.h>

#include "http1.h"

/* Turns that may wait at once (pipelining depth; the ring grows up to
 * it). A forwarded request beyond it, or beyond the response framer's
 * HFS_HTTP1_MAX_PENDING, goes on untracked (responses then pass as they
 * come and no answer can be placed after them); an answer beyond it fails
 * the connection. */
#define HFS_CONN_MAX_QUEUE 4096

enum hfs_conn_act {
    HFS_CONN_FORWARD, /* send the request on (with edits) */
    HFS_CONN_ANSWER,  /* swallow it; the application reads answer instead */
    HFS_CONN_FAIL,    /* the connection fails (the layer's transport error) */
};

struct hfs_conn_verdict {
    enum hfs_conn_act act;
    const struct hfs_http1_edit *edits; /* FORWARD: head edits */
    size_t nedits;
    const char *answer; /* ANSWER: a complete response (copied) */
    size_t answer_len;
    int close_after; /* ANSWER: the connection ends after it (reads: EOF) */
    /* ANSWER whose bytes depend on the request body (paths-info answered
     * from the cache): answer is NULL; the body is kept (at most
     * HFS_CONN_MAX_BODY bytes, else finish gets NULL) and at its end
     * finish(pending, body, len, &answer_len, &close_after) gives the
     * answer (malloc'd, taken by the engine; NULL fails the connection).
     * release(pending) is called once, after finish or when the
     * connection goes away first. */
    void *pending;
    char *(*finish)(void *pending, const char *body, size_t len, size_t *answer_len, int *close_after);
    void (*release)(void *pending);
    /* FORWARD: the final response head to this request is shown to
     * on_response(watch, head, can_retry) once (watch_release(watch) is
     * called when the turn ends). With retry_without_auth, the response is
     * held until its head is in and, when on_response returns 1, dropped:
     * the request head is sent again without its Authorization lines and
     * the application reads only the answer to that. can_retry is 1 only
     * when that is possible unnoticed: the request has no body, it was the
     * only one outstanding, the response keeps the connection open and
     * its end can be found. If the peer closes before the second answer
     * starts, the application reads the first one after all. */
    void *watch;
    int (*on_response)(void *watch, const struct hfs_http1_head *h, int can_retry);
    void (*watch_release)(void *watch);
    int retry_without_auth;
    /* Faults (fault rules, rules/README.md §12): */
    int hang;  /* ANSWER: no answer ever comes (answer unused); the turn never
                  ends, and nothing after it is read */
    int reset; /* the response (answer or real) is cut after cut bytes and
                  the connection reset; one that ends first is whole */
    long cut;
    long rate; /* > 0: the response is read at most rate bytes/s (hfs_conn_rate) */
};

/* Reads: the front turn hangs (nothing will ever come), or the connection
 * was reset by a fault rule (the layer fails with ECONNRESET). */
#define HFS_CONN_HUNG (-3)
#define HFS_CONN_RESET (-4)

/* hfs_conn_read_got: bytes were taken from the peer but none is for the
 * application yet (a response held or dropped for a retry): read the peer
 * again (a non-blocking layer reports "would block" if it has nothing). */
#define HFS_CONN_AGAIN (-2)

#define HFS_CONN_MAX_BODY (1u << 20)

struct hfs_conn;

struct hfs_conn_io {
    /* Sends p[0..n) to the real peer: bytes taken (> 0), 0 when it would
     * block, -1 on an error (the layer keeps errno / its error state). */
    long (*send)(void *ctx, const char *p, size_t n);
    /* Waits until the peer can take bytes again: 0, or -1 to give up.
     * Used only for a retried head sent while the application reads;
     * hfs_conn_write never waits. */
    int (*wait)(void *ctx);
    /* Receives into buf: bytes (> 0), 0 at end of stream, -1 would block
     * or error (the layer keeps errno). */
    long (*recv)(void *ctx, char *buf, size_t n);
    /* Judges one request head (h parsed from head[0..len)). */
    void (*judge)(void *ctx, struct hfs_conn *c, const struct hfs_http1_head *h, const char *head, size_t len,
                  struct hfs_conn_verdict *v);
    void *ctx;
};

/* virtual: there is no real peer; every request must be answered (a
 * FORWARD verdict fails the connection). Returns NULL when out of memory. */
struct hfs_conn *hfs_conn_new(int virtual_);
void hfs_conn_free(struct hfs_conn *c);

/* The application writes buf[0..n). Returns how many bytes were taken
 * (1..n; fewer only when the peer would block), 0 when nothing could be
 * taken because the peer would block, -1 on a send error (errno from the
 * layer) or when the connection failed (hfs_conn_failed says why). It
 * never waits: as a kernel's send on a full socket, a short count (or 0)
 * means "write the rest again later". Bytes the engine owes the wire (a
 * judged head the peer did not take yet) stay staged and go first on the
 * next call; for that, a write that leaves some owed reports one byte
 * fewer than it took, and the next call skips that byte (the application
 * repeats what was not reported, as after any short count). */
long hfs_conn_write(struct hfs_conn *c, const char *buf, size_t n, const struct hfs_conn_io *io);

/* 1 while bytes are owed to the wire (staged, or a byte kept back): the
 * next write must go through hfs_conn_write even when passing through. */
int hfs_conn_owes(const struct hfs_conn *c);

/* The application reads up to n bytes. Returns bytes (> 0), 0 at end of
 * stream, or what io->recv returned (-1). Queued answers come in their
 * request's turn; real responses are framed to find those turns. */
long hfs_conn_read(struct hfs_conn *c, char *buf, size_t n, const struct hfs_conn_io *io);

/* The same in two steps, for layers that must not hold a lock while the
 * peer is read: hfs_conn_read_queued serves an answer or held-back bytes
 * (> 0), says end of stream (0), or -1 when the peer must be read; then
 * hfs_conn_read_got takes the k bytes received into buf (k == 0: the peer
 * closed) and returns how many the application gets, or HFS_CONN_AGAIN;
 * it may send a retried request head through io (send, wait). Bytes the
 * peer sends before the application wrote any mean the connection is not
 * HTTP/1.x (the server speaks first): both directions pass through. */
long hfs_conn_read_queued(struct hfs_conn *c, char *buf, size_t n);
long hfs_conn_read_got(struct hfs_conn *c, char *buf, size_t k, size_t n, const struct hfs_conn_io *io);

/* 1 when a read would be served from the queue without the peer (an
 * answer's turn, or bytes already received and held back). A hanging
 * turn counts: it is served (never) without the peer. */
int hfs_conn_readable(const struct hfs_conn *c);

/* 1 when the front turn hangs; the rate (bytes/s, 0: none) of the front
 * turn's response. */
int hfs_conn_hung(const struct hfs_conn *c);
long hfs_conn_rate(const struct hfs_conn *c);

/* 1 when the next byte written starts a new request. */
int hfs_conn_at_request_start(const struct hfs_conn *c);

/* The application is about to wait for the peer (it reads) while no
 * response is due: when the request stream holds the beginning of a head,
 * those bytes cannot be HTTP/1.x (a client never waits for an answer to a
 * request it has not finished), so they are sent as they are and the
 * request stream passes through from here on. 0 (also when nothing was
 * held), or -1 when sending them failed (errno / error state in the
 * layer, hfs_conn_failed says why). Never on a virtual connection. */
int hfs_conn_peer_awaited(struct hfs_conn *c, const struct hfs_conn_io *io);
/* The application ends its side of the stream (shutdown SHUT_WR): what
 * the engine still holds of a head that can now never be complete, and
 * what is staged for the wire, leave first, as they came (the FIN must
 * follow every byte the application wrote); nothing after it is judged.
 * 0, or -1 when sending failed. Never on a virtual connection. */
int hfs_conn_write_end(struct hfs_conn *c, const struct hfs_conn_io *io);
/* 1 when the request stream holds the beginning of a head on a real
 * connection (what hfs_conn_peer_awaited would send once nothing is due). */
int hfs_conn_holds_head(const struct hfs_conn *c);

/* 1 once an answer that ends the connection was read to its end. */
int hfs_conn_at_eof(const struct hfs_conn *c);

/* Forwarded requests whose responses have not been read to the end. */
unsigned hfs_conn_outstanding(const struct hfs_conn *c);

/* Takes the next queued answer when it is the application's turn to read
 * it and nothing real is waiting (for layers that deliver answers
 * themselves, e.g. through a socketpair). Returns its bytes (malloc'd,
 * the caller frees) and sets *len and *close_after (2: the connection is
 * reset after them), or NULL (also for a hanging turn). */
char *hfs_conn_take_answer(struct hfs_conn *c, size_t *len, int *close_after);

/* Static text saying why the connection failed, or NULL. */
const char *hfs_conn_failed(const struct hfs_conn *c);

/* 1 once the request stream passes through untouched (HTTP/2 preface,
 * CONNECT/Upgrade tunnel, bytes that are not HTTP/1.x). */
int hfs_conn_passing(const struct hfs_conn *c);

#endif
