/* ruleindex: host-keyed candidate sets for the decision core (see header). */
#include "ruleindex.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "rules_types.h"

struct bucket {
    const char *key; /* NULL: empty slot */
    size_t len;
    uint32_t *idx;
    size_t n, cap;
};

struct table {
    struct bucket *b;
    size_t size; /* power of two */
};

struct hfs_ruleindex {
    size_t nrules;
    struct table names;    /* exact lower-case names, and address patterns by their bytes */
    struct table suffixes; /* ".example.com" of "*.example.com" */
    uint64_t *always;      /* bitset: rules that are always candidates */
    uint64_t *hub;         /* bitset: rules on "@hub" without a host */
};

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static struct bucket *find(const struct table *t, const char *key, size_t len, int for_insert)
{
    if (!t->size)
        return NULL;
    for (size_t i = hash(key, len) & (t->size - 1);; i = (i + 1) & (t->size - 1)) {
        struct bucket *b = &t->b[i];
        if (!b->key)
            return for_insert ? b : NULL;
        if (b->len == len && memcmp(b->key, key, len) == 0)
            return b;
    }
}

static int add(struct table *t, const char *key, size_t len, uint32_t rule)
{
    struct bucket *b = find(t, key, len, 1);
    if (!b->key) {
        b->key = key;
        b->len = len;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4;
        uint32_t *p = realloc(b->idx, cap * sizeof *p);
        if (!p)
            return -1;
        b->idx = p;
        b->cap = cap;
    }
    b->idx[b->n++] = rule;
    return 0;
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->size; i++)
        free(t->b[i].idx);
    free(t->b);
}

void hfs_ruleindex_free(struct hfs_ruleindex *x)
{
    if (!x)
        return;
    table_free(&x->names);
    table_free(&x->suffixes);
    free(x->always);
    free(x->hub);
    free(x);
}

static size_t pow2_at_least(size_t n)
{
    size_t s = 16;
    while (s < n)
        s <<= 1;
    return s;
}

struct hfs_ruleindex *hfs_ruleindex_build(const struct hfs_rules *r)
{
    size_t words = (r->nrules + 63) / 64;
    if (r->nrules < 32 || r->nrules > HFS_RULEINDEX_MAX)
        return NULL; /* a plain scan is as fast for a few rules */
    struct hfs_ruleindex *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->nrules = r->nrules;
    x->names.size = x->suffixes.size = pow2_at_least(r->nrules * 2);
    x->names.b = calloc(x->names.size, sizeof *x->names.b);
    x->suffixes.b = calloc(x->suffixes.size, sizeof *x->suffixes.b);
    x->always = calloc(words, sizeof *x->always);
    x->hub = calloc(words, sizeof *x->hub);
    if (!x->names.b || !x->suffixes.b || !x->always || !x->hub)
        goto fail;
    for (size_t i = 0; i < r->nrules; i++) {
        const struct hfs_match *m = &r->rules[i].match;
        const struct hfs_hostpat *p = m->host;
        int rc = 0;
        if (p && p->kind == HFS_HP_NAME)
            rc = add(&x->names, p->host, p->hostlen, (uint32_t)i);
        else if (p && p->kind == HFS_HP_ADDR)
            rc = add(&x->names, (const char *)p->addr.a, p->addr.family == AF_INET ? 4 : 16, (uint32_t)i);
        else if (p && p->kind == HFS_HP_SUFFIX && p->hostlen && p->host[0] == '.')
            rc = add(&x->suffixes, p->host, p->hostlen, (uint32_t)i);
        else if (!p && m->hub)
            x->hub[i / 64] |= 1ull << (i % 64);
        else
            x->always[i / 64] |= 1ull << (i % 64);
        if (rc)
            goto fail;
    }
    return x;
fail:
    hfs_ruleindex_free(x);
    return NULL;
}

static void mark(const struct bucket *b, uint64_t *bits)
{
    for (size_t i = 0; b && i < b->n; i++)
        bits[b->idx[i] / 64] |= 1ull << (b->idx[i] % 64);
}

static void by_name(const struct hfs_ruleindex *x, const struct hfs_hostkey *k, uint64_t *bits)
{
    if (!k || !k->len)
        return;
    mark(find(&x->names, k->name, k->len, 0), bits);
    if (k->addr.family)
        mark(find(&x->names, (const char *)k->addr.a, k->addr.family == AF_INET ? 4 : 16, 0), bits);
    for (size_t i = 0; i < k->len; i++) /* every ".tail" of the name */
        if (k->name[i] == '.')
            mark(find(&x->suffixes, k->name + i, k->len - i, 0), bits);
}

void hfs_ruleindex_candidates(const struct hfs_ruleindex *x, const struct hfs_hostkey *host,
                              const struct hfs_hostkey *ip, const struct hfs_addr *addr, int hub, uint64_t *bits)
{
    size_t words = (x->nrules + 63) / 64;
    for (size_t w = 0; w < words; w++)
        bits[w] |= x->always[w] | (hub ? x->hub[w] : 0);
    by_name(x, host, bits);
    by_name(x, ip, bits);
    if (addr && addr->family)
        mark(find(&x->names, (const char *)addr->a, addr->family == AF_INET ? 4 : 16, 0), bits);
}
