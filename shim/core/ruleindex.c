/* ruleindex: host-keyed candidate sets for the decision core (see header). */
#include "ruleindex.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "rules_types.h"

struct entry {
    uint32_t rule;
    uint32_t port; /* the pattern's port, 0: any */
};

struct bucket {
    const char *key; /* NULL: empty slot */
    size_t len;
    struct entry *e;
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
    uint64_t *not_method;  /* NMETHODS bitsets: rules whose methods leave out common method m */
};

#define NMETHODS 7 /* the common methods: hfs_method_bit 1 << 0 .. 1 << 6 */

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

static int add(struct table *t, const char *key, size_t len, uint32_t rule, int port)
{
    struct bucket *b = find(t, key, len, 1);
    if (!b->key) {
        b->key = key;
        b->len = len;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4;
        struct entry *p = realloc(b->e, cap * sizeof *p);
        if (!p)
            return -1;
        b->e = p;
        b->cap = cap;
    }
    b->e[b->n].rule = rule;
    b->e[b->n].port = (uint32_t)port;
    b->n++;
    return 0;
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->size; i++)
        free(t->b[i].e);
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
    free(x->not_method);
    free(x);
}

/* A glob's literal tail from its first '.' (".example.dev" of
 * "hub-?3.[a-f]*.example.dev"): every name the glob matches ends with its
 * literal tail (hfs_hostpat_match_key checks it first), so it ends with
 * this ".suffix" too and the rule is filed like "*.example.dev". NULL: no
 * dot in the literal tail, the rule stays always a candidate. */
static const char *glob_suffix(const struct hfs_hostpat *p)
{
    if (!p->litlen || p->litlen > p->hostlen)
        return NULL;
    return memchr(p->host + p->hostlen - p->litlen, '.', p->litlen);
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
    x->not_method = calloc(words * NMETHODS, sizeof *x->not_method);
    if (!x->names.b || !x->suffixes.b || !x->always || !x->hub || !x->not_method)
        goto fail;
    for (size_t i = 0; i < r->nrules; i++) {
        const struct hfs_match *m = &r->rules[i].match;
        const struct hfs_hostpat *p = m->host;
        const char *dot;
        int rc = 0;
        if (p && p->kind == HFS_HP_NAME)
            rc = add(&x->names, p->host, p->hostlen, (uint32_t)i, p->port);
        else if (p && p->kind == HFS_HP_ADDR)
            rc = add(&x->names, (const char *)p->addr.a, p->addr.family == AF_INET ? 4 : 16, (uint32_t)i, p->port);
        else if (p && p->kind == HFS_HP_SUFFIX && p->hostlen && p->host[0] == '.')
            rc = add(&x->suffixes, p->host, p->hostlen, (uint32_t)i, p->port);
        else if (p && p->kind == HFS_HP_GLOB && (dot = glob_suffix(p)) != NULL)
            rc = add(&x->suffixes, dot, (size_t)(p->host + p->hostlen - dot), (uint32_t)i, p->port);
        else if (!p && m->hub)
            x->hub[i / 64] |= 1ull << (i % 64);
        else
            x->always[i / 64] |= 1ull << (i % 64);
        if (rc)
            goto fail;
        for (unsigned b = 0; m->methods && b < NMETHODS; b++)
            if (!(m->method_mask & (1u << b)))
                x->not_method[b * words + i / 64] |= 1ull << (i % 64);
    }
    return x;
fail:
    hfs_ruleindex_free(x);
    return NULL;
}

/* The bucket's rules, but those whose pattern names a port other than the
 * request's (known) port: their host condition is certainly "no"
 * (hfs_hostpat_match_prepared: an unknown port leaves them in). */
static void mark(const struct bucket *b, uint64_t *bits, int port)
{
    for (size_t i = 0; b && i < b->n; i++)
        if (!port || !b->e[i].port || b->e[i].port == (uint32_t)port)
            bits[b->e[i].rule / 64] |= 1ull << (b->e[i].rule % 64);
}

static void by_name(const struct hfs_ruleindex *x, const struct hfs_hostkey *k, int port, uint64_t *bits)
{
    if (!k || !k->len)
        return;
    mark(find(&x->names, k->name, k->len, 0), bits, port);
    if (k->addr.family)
        mark(find(&x->names, (const char *)k->addr.a, k->addr.family == AF_INET ? 4 : 16, 0), bits, port);
    for (size_t i = 0; i < k->len; i++) /* every ".tail" of the name */
        if (k->name[i] == '.')
            mark(find(&x->suffixes, k->name + i, k->len - i, 0), bits, port);
}

void hfs_ruleindex_candidates(const struct hfs_ruleindex *x, const struct hfs_hostkey *host,
                              const struct hfs_hostkey *ip, const struct hfs_addr *addr, int port, unsigned method_bit,
                              int hub, uint64_t *bits)
{
    size_t words = (x->nrules + 63) / 64;
    for (size_t w = 0; w < words; w++)
        bits[w] |= x->always[w] | (hub ? x->hub[w] : 0);
    by_name(x, host, port, bits);
    by_name(x, ip, port, bits);
    if (addr && addr->family)
        mark(find(&x->names, (const char *)addr->a, addr->family == AF_INET ? 4 : 16, 0), bits, port);
    if (method_bit && method_bit < (1u << NMETHODS)) { /* a common method: rules that leave it out cannot match */
        const uint64_t *no = x->not_method + (size_t)__builtin_ctz(method_bit) * words;
        for (size_t w = 0; w < words; w++)
            bits[w] &= ~no[w];
    }
}
