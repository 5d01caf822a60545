/* reach: the "this Hub host cannot be reached" verdicts, kept in a small
 * table that the processes of a run share (lib/reachmem.c maps it from the
 * rules' reach.state_file, MAP_SHARED, like the fault window counters).
 * One slot per host: the host's name, since when it is unreachable and
 * why. A verdict holds for reach.remember_s seconds after it was made;
 * then the host is tried again. The functions work on any memory of the
 * table's layout (a mapped file or a process's own copy): no I/O here. */
#ifndef HFS_REACH_H
#define HFS_REACH_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define HFS_REACH_SLOTS 32
#define HFS_REACH_MAGIC 0x3148435253464848ull /* "HHFSRCH1" */
#define HFS_REACH_HOST_MAX 112

/* Why a host was found unreachable. */
enum hfs_reach_reason {
    HFS_REACH_LOOKUP = 1,     /* the name lookup failed (err: the EAI_* code) */
    HFS_REACH_CONNECT,        /* connect() failed (err: its errno) */
    HFS_REACH_CONNECT_SLOW,   /* connect() did not complete within reach.connect_ms */
    HFS_REACH_HANDSHAKE_SLOW, /* the TLS handshake did not finish within reach.handshake_ms */
    HFS_REACH_SILENT,         /* no response byte within reach.first_byte_ms */
    HFS_REACH_RESET,          /* the connection was reset before any response */
};

struct hfs_reach_slot {
    _Atomic uint64_t key;          /* hash of the lower-case host name; 0: free slot */
    _Atomic int64_t since_ms;      /* unix time (ms) it became unreachable; 0: reachable */
    _Atomic int32_t reason;        /* enum hfs_reach_reason */
    _Atomic int32_t err;           /* errno or EAI_* code, 0 when none */
    char host[HFS_REACH_HOST_MAX]; /* the name, for logs and hfshim doctor */
};

struct hfs_reach_table {
    uint64_t magic;
    uint64_t pad;
    struct hfs_reach_slot s[HFS_REACH_SLOTS];
};

#define HFS_REACH_FILE_SIZE sizeof(struct hfs_reach_table)

/* What one slot says, copied out. */
struct hfs_reach_entry {
    char host[HFS_REACH_HOST_MAX];
    long long since_ms;
    int reason, err;
};

/* Records that host is unreachable since now_ms. 1 when this turns it
 * unreachable (it was reachable, or its last verdict is older than
 * remember_ms): the caller says so once in the log; 0 when it already was;
 * -1 when the table is full (nothing recorded). */
int hfs_reach_mark(struct hfs_reach_table *t, const char *host, long long now_ms, long long remember_ms, int reason,
                   int err);

/* 1 when host is unreachable at now_ms (a verdict younger than
 * remember_ms), its entry in *out (may be NULL); else 0. */
int hfs_reach_down(const struct hfs_reach_table *t, const char *host, long long now_ms, long long remember_ms,
                   struct hfs_reach_entry *out);

/* host answered: forgets its verdict. 1 when there was one (the caller
 * says "reachable again" once), else 0. */
int hfs_reach_clear(struct hfs_reach_table *t, const char *host);

/* The verdicts younger than remember_ms, at most cap of them, in out. */
size_t hfs_reach_list(const struct hfs_reach_table *t, long long now_ms, long long remember_ms,
                      struct hfs_reach_entry *out, size_t cap);

/* "the name lookup failed (EAI_AGAIN)", ...: why, in words, into buf. */
const char *hfs_reach_reason_text(int reason, int err, char *buf, size_t cap);

#endif
