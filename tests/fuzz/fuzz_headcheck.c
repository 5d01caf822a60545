/* fuzz_headcheck: libFuzzer target for how the connection engine reads
 * request heads strictly and other protocols leniently (issue 17). Input:
 * byte 0 the write piece size, the rest what the application writes on a
 * real connection whose judge forwards every head. Checked (abort):
 *  - a connection whose stream passes through as malformed after a judged
 *    head, or whose first bytes look like an HTTP/1.x request line
 *    (hfs_http1_looks_like_request), has failed: nothing unjudged that
 *    looks like a request follows a judged one on the wire;
 *  - when nothing was judged, bytes reached the wire only if the input
 *    does not look like a request (another protocol, TLS...) or is the
 *    HTTP/2 preface;
 *  - the wire is a prefix of the input (forwarded heads are not edited);
 *  - no crash or leak (ASan). */
#include <stdlib.h>
#include <string.h>

#include "conn.h"

struct sink {
    char *wire;
    size_t len;
    unsigned judged;
};

static long io_send(void *ctx, const char *p, size_t n)
{
    struct sink *s = ctx;
    char *w = realloc(s->wire, s->len + n + 1);
    if (!w)
        abort();
    memcpy(w + s->len, p, n);
    s->wire = w;
    s->len += n;
    return (long)n;
}

static int io_wait(void *ctx)
{
    (void)ctx;
    return 0;
}

static long io_recv(void *ctx, char *buf, size_t n)
{
    (void)ctx;
    (void)buf;
    (void)n;
    return -1;
}

static void io_judge(void *ctx, struct hfs_conn *c, const struct hfs_http1_head *h, const char *head, size_t len,
                     struct hfs_conn_verdict *v)
{
    struct sink *s = ctx;
    (void)c;
    (void)h;
    (void)head;
    (void)len;
    s->judged++;
    v->act = HFS_CONN_FORWARD;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t piece = data[0] ? data[0] : 1;
    const char *in = (const char *)data + 1;
    size_t n = size - 1, off = 0;
    struct sink s = { 0 };
    struct hfs_conn_io io = { io_send, io_wait, io_recv, io_judge, &s };
    struct hfs_conn *c = hfs_conn_new(0);
    if (!c)
        return 0;
    long r = 0;
    while (off < n) {
        size_t want = n - off < piece ? n - off : piece;
        r = hfs_conn_write(c, in + off, want, &io);
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    int failed = hfs_conn_failed(c) != NULL;
    if (s.len > n || (s.len && memcmp(s.wire, in, s.len) != 0))
        abort();
    int h2 = n >= 14 && memcmp(in, "PRI * HTTP/2.0", 14) == 0; /* the HTTP/2 preface passes, by design */
    if (!failed && !h2 && hfs_conn_passing(c) && s.judged == 0 && hfs_http1_looks_like_request(in, n) && s.len > 0)
        abort(); /* an unreadable request went out unjudged */
    hfs_conn_free(c);
    free(s.wire);
    return 0;
}
