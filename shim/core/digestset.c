/* digestset: the growable table of token digests (see header). */
#include "digestset.h"

#include <stdlib.h>
#include <string.h>

struct hfs_digestset_slot {
    struct hfs_tokstate_entry e;
    int used;
};

#define MIN_CAP 64

void hfs_digestset_init(struct hfs_digestset *s, size_t max)
{
    memset(s, 0, sizeof *s);
    s->max = max ? max : HFS_DIGESTSET_MAX;
}

void hfs_digestset_free(struct hfs_digestset *s)
{
    free(s->slot);
    s->slot = NULL;
    s->cap = s->n = 0;
}

static size_t home(const struct hfs_digestset *s, const unsigned char sha[32])
{
    size_t h;
    memcpy(&h, sha, sizeof h); /* a SHA-256 is already uniform */
    return h & (s->cap - 1);
}

/* The slot of sha, or the free slot where it would go (cap > n always). */
static struct hfs_digestset_slot *probe(const struct hfs_digestset *s, const unsigned char sha[32])
{
    for (size_t i = home(s, sha);; i = (i + 1) & (s->cap - 1))
        if (!s->slot[i].used || memcmp(s->slot[i].e.sha, sha, 32) == 0)
            return &s->slot[i];
}

const struct hfs_tokstate_entry *hfs_digestset_get(const struct hfs_digestset *s, const unsigned char sha[32])
{
    if (!s->cap)
        return NULL;
    struct hfs_digestset_slot *p = probe(s, sha);
    return p->used ? &p->e : NULL;
}

static int newer_first(const void *a, const void *b)
{
    long long x = ((const struct hfs_tokstate_entry *)a)->when, y = ((const struct hfs_tokstate_entry *)b)->when;
    return x > y ? -1 : x < y;
}

/* Moves the entries into a table of cap slots, keeping the newest keep of
 * them. 0, or -1 out of memory (the set is unchanged). */
static int rebuild(struct hfs_digestset *s, size_t cap, size_t keep)
{
    struct hfs_digestset_slot *fresh = calloc(cap, sizeof *fresh);
    struct hfs_tokstate_entry *all = s->n ? malloc(s->n * sizeof *all) : NULL;
    if (!fresh || (s->n && !all)) {
        free(fresh);
        free(all);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i].used)
            all[k++] = s->slot[i].e;
    if (keep < k) /* the older ones go: ties are cut anywhere */
        qsort(all, k, sizeof *all, newer_first);
    else
        keep = k;
    free(s->slot);
    s->slot = fresh;
    s->cap = cap;
    s->forgotten += k - keep;
    s->n = 0;
    for (size_t i = 0; i < keep; i++) {
        struct hfs_digestset_slot *p = probe(s, all[i].sha);
        p->e = all[i];
        p->used = 1;
        s->n++;
    }
    free(all);
    return 0;
}

int hfs_digestset_put(struct hfs_digestset *s, const struct hfs_tokstate_entry *e)
{
    struct hfs_digestset_slot *p = s->cap ? probe(s, e->sha) : NULL;
    if (p && p->used) {
        /* a learned 401 is not undone by an older "valid" verdict */
        if (p->e.what == HFS_KNOWN_LEARNED && e->what == HFS_KNOWN_VALID && e->when <= p->e.when)
            return 0;
        if (p->e.what == e->what && p->e.when == e->when)
            return 0;
        p->e.what = e->what;
        p->e.when = e->when;
        return 1;
    }
    if (s->n >= s->max) { /* full: forget the older half, then add */
        if (rebuild(s, s->cap, s->max / 2))
            return -1;
    } else if ((s->n + 1) * 2 > s->cap) { /* at most half full: probes stay short */
        if (rebuild(s, s->cap ? s->cap * 2 : MIN_CAP, (size_t)-1))
            return -1;
    }
    p = probe(s, e->sha);
    p->e = *e;
    p->used = 1;
    s->n++;
    return 1;
}
