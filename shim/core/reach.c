/* reach: the shared unreachable-host table (see header). Lock-free: a slot
 * is claimed by a compare-and-swap of its key; its verdict is one 64-bit
 * time written last, so a reader sees a whole verdict or none. */
#include "reach.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "errtext.h"

static uint64_t key_of(const char *host, char *lower, size_t cap)
{
    uint64_t h = 1469598103934665603ull;
    size_t n = strlen(host), i;
    if (n && host[n - 1] == '.')
        n--; /* "huggingface.co." is huggingface.co */
    for (i = 0; i < n && i + 1 < cap; i++) {
        char c = host[i] >= 'A' && host[i] <= 'Z' ? (char)(host[i] + 32) : host[i];
        lower[i] = c;
        h = (h ^ (unsigned char)c) * 1099511628211ull;
    }
    lower[i] = 0;
    return h ? h : 1;
}

/* The slot of key, claiming a free one when claim; NULL when absent/full. */
static struct hfs_reach_slot *slot_of(struct hfs_reach_table *t, uint64_t k, int claim)
{
    for (size_t n = 0, at = (size_t)(k % HFS_REACH_SLOTS); n < HFS_REACH_SLOTS; n++, at = (at + 1) % HFS_REACH_SLOTS) {
        struct hfs_reach_slot *s = &t->s[at];
        uint64_t cur = atomic_load(&s->key);
        if (cur == 0) {
            if (!claim)
                return NULL;
            uint64_t zero = 0;
            if (atomic_compare_exchange_strong(&s->key, &zero, k))
                return s;
            cur = zero;
        }
        if (cur == k)
            return s;
    }
    return NULL;
}

static int fresh(long long since, long long now_ms, long long remember_ms)
{
    return since > 0 && now_ms - since < remember_ms && since <= now_ms + 60000; /* a clock step back: still fresh */
}

int hfs_reach_mark(struct hfs_reach_table *t, const char *host, long long now_ms, long long remember_ms, int reason,
                   int err)
{
    char lower[HFS_REACH_HOST_MAX];
    if (!host || !*host)
        return -1;
    uint64_t k = key_of(host, lower, sizeof lower);
    struct hfs_reach_slot *s = slot_of(t, k, 1);
    if (!s)
        return -1;
    int64_t was = atomic_load(&s->since_ms);
    if (fresh(was, now_ms, remember_ms))
        return 0;
    memcpy(s->host, lower, strlen(lower) + 1);
    atomic_store(&s->reason, reason);
    atomic_store(&s->err, err);
    /* the one who moves since_ms on says so in the log */
    return atomic_compare_exchange_strong(&s->since_ms, &was, (int64_t)(now_ms > 0 ? now_ms : 1)) ? 1 : 0;
}

static void copy_out(const struct hfs_reach_slot *s, long long since, struct hfs_reach_entry *out)
{
    if (!out)
        return;
    memcpy(out->host, s->host, sizeof out->host);
    out->host[sizeof out->host - 1] = 0;
    out->since_ms = since;
    out->reason = atomic_load(&((struct hfs_reach_slot *)s)->reason);
    out->err = atomic_load(&((struct hfs_reach_slot *)s)->err);
}

int hfs_reach_down(const struct hfs_reach_table *t, const char *host, long long now_ms, long long remember_ms,
                   struct hfs_reach_entry *out)
{
    char lower[HFS_REACH_HOST_MAX];
    if (!host || !*host)
        return 0;
    struct hfs_reach_slot *s = slot_of((struct hfs_reach_table *)t, key_of(host, lower, sizeof lower), 0);
    if (!s)
        return 0;
    long long since = atomic_load(&s->since_ms);
    if (!fresh(since, now_ms, remember_ms))
        return 0;
    copy_out(s, since, out);
    return 1;
}

int hfs_reach_clear(struct hfs_reach_table *t, const char *host)
{
    char lower[HFS_REACH_HOST_MAX];
    if (!host || !*host)
        return 0;
    struct hfs_reach_slot *s = slot_of(t, key_of(host, lower, sizeof lower), 0);
    if (!s)
        return 0;
    int64_t was = atomic_load(&s->since_ms);
    return was != 0 && atomic_compare_exchange_strong(&s->since_ms, &was, 0);
}

size_t hfs_reach_list(const struct hfs_reach_table *t, long long now_ms, long long remember_ms,
                      struct hfs_reach_entry *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < HFS_REACH_SLOTS && n < cap; i++) {
        const struct hfs_reach_slot *s = &t->s[i];
        long long since = atomic_load(&((struct hfs_reach_slot *)s)->since_ms);
        if (atomic_load(&((struct hfs_reach_slot *)s)->key) && fresh(since, now_ms, remember_ms))
            copy_out(s, since, &out[n++]);
    }
    return n;
}

const char *hfs_reach_reason_text(int reason, int err, char *buf, size_t cap)
{
    const char *eai = err == EAI_AGAIN    ? "EAI_AGAIN"
                      : err == EAI_NONAME ? "EAI_NONAME"
                      : err == EAI_FAIL   ? "EAI_FAIL"
                      : err == EAI_SYSTEM ? "EAI_SYSTEM"
                      : err == EAI_NODATA ? "EAI_NODATA"
                                          : "failure";
    switch (reason) {
    case HFS_REACH_LOOKUP: snprintf(buf, cap, "the name lookup failed (%s)", eai); break;
    case HFS_REACH_CONNECT:
        snprintf(buf, cap, "the connection failed (%s)", hfs_errname(err) ? hfs_errname(err) : "error");
        break;
    case HFS_REACH_CONNECT_SLOW:
        snprintf(buf, cap, "the connection did not complete in time (packets dropped?)");
        break;
    case HFS_REACH_HANDSHAKE_SLOW: snprintf(buf, cap, "the TLS handshake did not finish in time"); break;
    case HFS_REACH_SILENT: snprintf(buf, cap, "no response started in time (silent server)"); break;
    case HFS_REACH_RESET: snprintf(buf, cap, "the connection was reset before any response"); break;
    default: snprintf(buf, cap, "unreachable"); break;
    }
    return buf;
}
