/* fuzz_conn_faults: libFuzzer target for the connection engine's fault
 * paths (conn.h: hang, reset-after-N, rate) under random verdicts, write
 * pieces, recv chunks and read sizes (fuzz_conn covers the engine without
 * faults, against a reference model). Input: byte 0 flags (virtual,
 * take_answer), byte 1 write piece, byte 2 recv chunk / read size, byte 3
 * cut; then the request stream up to a 0xff byte, the rest the server's
 * bytes. Checked (abort on violation): reads return at most what was
 * asked; once a read says HFS_CONN_RESET every later read says it too;
 * a hanging front turn serves nothing but HFS_CONN_HUNG and take_answer
 * gives nothing then; a cut answer taken whole is at most the cut long;
 * no crash or leak (ASan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

struct fz {
    const unsigned char *srv;
    size_t srv_len, srv_off, chunk;
    long cut;
    unsigned salt, n;
    char ans[256];
};

static long f_send(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    (void)p;
    return (long)n;
}

static int f_wait(void *ctx)
{
    (void)ctx;
    return 0;
}

static long f_recv(void *ctx, char *buf, size_t n)
{
    struct fz *f = ctx;
    size_t left = f->srv_len - f->srv_off;
    if (left == 0)
        return 0;
    if (n > left)
        n = left;
    if (n > f->chunk)
        n = f->chunk;
    memcpy(buf, f->srv + f->srv_off, n);
    f->srv_off += n;
    return (long)n;
}

static void f_judge(void *ctx, struct hfs_conn *c, const struct hfs_http1_head *h, const char *head, size_t len,
                    struct hfs_conn_verdict *v)
{
    struct fz *f = ctx;
    (void)c;
    (void)head;
    (void)len;
    uint32_t x = (2166136261u ^ f->salt ^ f->n++) * 16777619u;
    for (size_t i = 0; i < h->path_len; i++)
        x = (x ^ (unsigned char)h->path[i]) * 16777619u;
    switch (x % 5) {
    case 0: v->act = HFS_CONN_FORWARD; break;
    case 1:
        v->act = HFS_CONN_FORWARD;
        v->reset = 1;
        v->cut = f->cut;
        v->rate = 100;
        break;
    case 2:
        v->act = HFS_CONN_ANSWER;
        v->hang = 1;
        break;
    default: {
        size_t n = (size_t)(x >> 8) % sizeof f->ans;
        memset(f->ans, 'a', n);
        v->act = HFS_CONN_ANSWER;
        v->answer = f->ans;
        v->answer_len = n;
        v->close_after = (x >> 4) & 1;
        if ((x >> 5) & 1) {
            v->reset = 1;
            v->cut = f->cut;
        }
    }
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 4)
        return 0;
    int virtual_ = data[0] & 1, take = data[0] & 2;
    size_t piece = data[1] ? data[1] : 1, rd = (data[2] & 0x3f) + 1;
    struct fz f = { .chunk = (size_t)(data[2] >> 6) * 16 + 1, .cut = data[3], .salt = data[0] };
    const unsigned char *req = data + 4, *end = memchr(req, 0xff, size - 4);
    size_t req_len = end ? (size_t)(end - req) : size - 4;
    f.srv = end ? end + 1 : data + size;
    f.srv_len = end ? size - 4 - req_len - 1 : 0;
    struct hfs_conn *c = hfs_conn_new(virtual_);
    if (!c)
        return 0;
    struct hfs_conn_io io = { f_send, f_wait, f_recv, f_judge, &f };
    for (size_t off = 0; off < req_len;) {
        size_t n = req_len - off < piece ? req_len - off : piece;
        long w = hfs_conn_write(c, (const char *)req + off, n, &io);
        if (w <= 0)
            break;
        if ((size_t)w > n)
            abort();
        off += (size_t)w;
    }
    int reset = 0;
    char buf[128];
    for (int i = 0; i < 2000; i++) {
        if (take) {
            size_t len;
            int close_after;
            int hung = hfs_conn_hung(c);
            char *d = hfs_conn_take_answer(c, &len, &close_after);
            if (d && hung)
                abort();
            if (d && close_after == 2 && len > (size_t)f.cut)
                abort();
            free(d);
        }
        int hung = hfs_conn_hung(c);
        long r = hfs_conn_read(c, buf, rd, &io);
        if (r > (long)rd)
            abort();
        if (reset && r != HFS_CONN_RESET)
            abort();
        if (r == HFS_CONN_RESET)
            reset = 1;
        if (hung && r != HFS_CONN_HUNG && r != HFS_CONN_RESET && r != 0)
            abort();
        if (r == 0 || r == HFS_CONN_HUNG || r == -1)
            break;
    }
    hfs_conn_free(c);
    return 0;
}
