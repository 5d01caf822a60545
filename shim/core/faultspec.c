/* faultspec: --fault shortcuts to rules (see header). */
#include "faultspec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpos.h"
#include "presets.h"
#include "ruleindex.h"

struct out {
    char *p;
    size_t cap, n;
    int over;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = o->n < o->cap ? vsnprintf(o->p + o->n, o->cap - o->n, fmt, ap) : -1;
    va_end(ap);
    if (w < 0 || (size_t)w >= o->cap - o->n)
        o->over = 1;
    else
        o->n += (size_t)w;
}

/* A JSON string of s[0..n). */
static void put_str(struct out *o, const char *s, size_t n)
{
    char e[6 * 1100 + 1];
    if (n > 1100)
        n = 1100, o->over = 1;
    hfs_json_escape(s, n, e, sizeof e);
    put(o, "\"%s\"", e);
}

static int fail(char *err, size_t cap, size_t col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t cap, size_t col, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, cap, "col %zu: %s", col + 1, msg);
    return -1;
}

/* A whole number in s[0..n) from lo to hi; -1 when it is not one. */
static long number(const char *s, size_t n, long lo, long hi)
{
    long v = 0;
    if (n == 0 || n > 10)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v >= lo && v <= hi ? v : -1;
}

static int is_window_key(const char *s)
{
    size_t n = 0;
    while ((s[n] >= 'a' && s[n] <= 'z') || s[n] == '_')
        n++;
    if (n && s[n] == '=')
        return 1; /* "@KEY=": a window (an unknown key is named as such) */
    static const char *const keys[] = { "first=", "after=", "every=", "p=", "probability=", "seed=", "program=", NULL };
    for (const char *const *k = keys; *k; k++)
        if (strncmp(s, *k, strlen(*k)) == 0)
            return 1;
    return 0;
}

/* The window part "first=2,p=0.5" at spec[w..end) as JSON members. */
static int window(const char *spec, size_t w, size_t end, struct out *o, char *err, size_t errcap, int *has_window,
                  char *program, size_t progcap)
{
    size_t i = w;
    int n = 0;
    *has_window = 0;
    while (i < end) {
        size_t e = i;
        while (e < end && spec[e] != ',')
            e++;
        const char *eq = memchr(spec + i, '=', e - i);
        if (!eq)
            return fail(err, errcap, i, "expected KEY=VALUE (keys: first, after, every, p, seed, program)");
        size_t kl = (size_t)(eq - (spec + i)), vs = (size_t)(eq - spec) + 1, vl = e - vs;
        const char *k = spec + i;
        if ((kl == 5 && !strncmp(k, "first", 5)) || (kl == 5 && !strncmp(k, "after", 5)) ||
            (kl == 5 && !strncmp(k, "every", 5)) || (kl == 4 && !strncmp(k, "seed", 4))) {
            long v = number(spec + vs, vl, kl == 4 ? 0 : 1, 2147483647);
            if (v < 0)
                return fail(err, errcap, vs, "%.*s must be a whole number%s", (int)kl, k, kl == 4 ? "" : " from 1");
            put(o, "%s\"%.*s\":%ld", n++ ? "," : "", (int)kl, k, v);
        } else if ((kl == 1 && k[0] == 'p') || (kl == 11 && !strncmp(k, "probability", 11))) {
            char num[32], *stop;
            if (vl == 0 || vl >= sizeof num)
                return fail(err, errcap, vs, "p must be a number from 0 to 1");
            memcpy(num, spec + vs, vl);
            num[vl] = 0;
            double p = strtod(num, &stop);
            if (*stop || !(p >= 0.0 && p <= 1.0))
                return fail(err, errcap, vs, "p must be a number from 0 to 1");
            put(o, "%s\"probability\":%.17g", n++ ? "," : "", p);
        } else if (kl == 7 && !strncmp(k, "program", 7)) {
            if (vl == 0 || vl >= progcap || memchr(spec + vs, '/', vl))
                return fail(err, errcap, vs, "program must be a short program name such as python3");
            memcpy(program, spec + vs, vl);
            program[vl] = 0;
        } else {
            return fail(err, errcap, i, "unknown window key \"%.*s\" (known: first, after, every, p, seed, program)",
                        (int)kl, k);
        }
        i = e + (e < end);
    }
    *has_window = n > 0;
    return 0;
}

int hfs_faultspec_rule(const char *spec, int index, char *outbuf, size_t cap, char *err, size_t errcap)
{
    struct out o = { outbuf, cap, 0, 0 };
    size_t len = strlen(spec), wstart = len;
    char program[64] = "";
    err[0] = 0;
    while (len && (spec[len - 1] == ' ' || spec[len - 1] == '\t' || spec[len - 1] == '\r'))
        len--;
    if (len == 0)
        return fail(err, errcap, 0, "empty fault (give a preset such as invalid-credentials, or refuse, hang, ...)");
    for (size_t i = len; i-- > 0;) /* the window: the last '@' followed by KEY= */
        if (spec[i] == '@' && is_window_key(spec + i + 1)) {
            wstart = i;
            break;
        }
    size_t kend = 0;
    while (kend < wstart && spec[kend] != ':')
        kend++;
    size_t mstart = kend < wstart ? kend + 1 : wstart, mend = wstart < len ? wstart : len;
    if (kend > len)
        kend = len;
    const char *eq = memchr(spec, '=', kend);
    size_t nl = eq ? (size_t)(eq - spec) : kend, as = eq ? nl + 1 : kend, al = kend - as;
    char kind[40];
    if (nl == 0 || nl >= sizeof kind)
        return fail(err, errcap, 0,
                    "expected a fault kind (a preset, refuse, dns-fail, hang, reset, throttle, delay "
                    "or a status)");
    memcpy(kind, spec, nl);
    kind[nl] = 0;

    put(&o, "{\"name\":");
    char name[80];
    snprintf(name, sizeof name, "--fault %d", index);
    put_str(&o, name, strlen(name));
    /* the match */
    const char *m = spec + mstart;
    size_t ml = mend > mstart ? mend - mstart : 0;
    int conn = 0;
    put(&o, ",\"match\":{");
    if (ml == 0 || (ml == 4 && !strncmp(m, "@hub", 4))) {
        put(&o, "\"host\":\"@hub\"");
    } else if (m[0] == '/') {
        put(&o, "\"host\":\"@hub\",\"path\":");
        put_str(&o, m, ml);
    } else if (ml > 3 && memmem(m, ml, "://", 3)) {
        put(&o, "\"url\":");
        put_str(&o, m, ml);
    } else {
        put(&o, "\"host\":");
        put_str(&o, m, ml);
    }
    size_t mark = o.n; /* program goes in the match: written after the window is read */
    put(&o, "}");
    /* the action */
    int id = 0;
    long v;
    if (hfs_preset_find(kind, &id)) {
        if (eq)
            return fail(err, errcap, nl, "preset %s takes no value", kind);
        put(&o, ",\"preset\":\"%s\"", kind);
        conn = id == HFS_PRESET_FIREWALL_HANG;
    } else if (!strcmp(kind, "refuse") || !strcmp(kind, "dns-fail")) {
        if (eq)
            return fail(err, errcap, nl, "%s takes no value", kind);
        put(&o, ",\"action\":\"%s\"", kind);
        conn = 1;
    } else if (!strcmp(kind, "hang")) {
        if (eq && !(al == 7 && !strncmp(spec + as, "connect", 7)) && !(al == 7 && !strncmp(spec + as, "request", 7)))
            return fail(err, errcap, as,
                        "hang takes connect or request (hang=connect: the connection never completes)");
        conn = eq && spec[as] == 'c';
        put(&o, ",\"action\":\"hang\",\"stage\":\"%s\"", conn ? "connect" : "request");
    } else if (!strcmp(kind, "reset")) {
        v = eq ? number(spec + as, al, 0, 2147483647) : 0;
        if (v < 0)
            return fail(err, errcap, as, "reset=N: N is the number of response bytes before the reset");
        put(&o, ",\"action\":\"reset\",\"after_bytes\":%ld", v);
    } else if (!strcmp(kind, "throttle")) {
        v = eq ? number(spec + as, al, 1, 2147483647) : -1;
        if (v < 0)
            return fail(err, errcap, eq ? as : nl, "throttle=BPS: bytes per second, 1 or more");
        put(&o, ",\"action\":\"throttle\",\"bytes_per_second\":%ld", v);
    } else if (!strcmp(kind, "delay")) {
        v = eq ? number(spec + as, al, 0, 3600000) : -1;
        if (v < 0)
            return fail(err, errcap, eq ? as : nl, "delay=MS: milliseconds, 0 to 3600000");
        put(&o, ",\"action\":\"delay\",\"ms\":%ld", v);
    } else if ((v = number(kind, nl, 100, 599)) > 0) {
        if (eq)
            return fail(err, errcap, nl, "a status takes no value");
        put(&o,
            ",\"action\":\"respond\",\"status\":%ld,\"headers\":{\"Content-Type\":\"application/json\"},"
            "\"body\":\"{\\\"error\\\":\\\"hfshim fault: HTTP %ld\\\"}\"",
            v, v);
    } else if (strchr(kind, '@')) {
        return fail(err, errcap, (size_t)(strchr(kind, '@') - kind),
                    "a window is written @KEY=VALUE (such as @first=2)");
    } else {
        return fail(err, errcap, 0,
                    "unknown fault \"%s\" (presets: %s; or refuse, dns-fail, hang, hang=connect, "
                    "reset[=N], throttle=BPS, delay=MS, a status such as 503)",
                    kind, hfs_preset_names);
    }
    if (conn && ml && (m[0] == '/' || memmem(m, ml, "://", 3)))
        return fail(err, errcap, mstart, "%s acts on the connection: match a host (or @hub), not a path or URL", kind);
    if (wstart < len) {
        char wj[512];
        struct out wo = { wj, sizeof wj, 0, 0 };
        int has = 0;
        if (window(spec, wstart + 1, len, &wo, err, errcap, &has, program, sizeof program))
            return -1;
        if (has)
            put(&o, ",\"window\":{%.*s}", (int)wo.n, wj);
    }
    put(&o, "}");
    if (program[0] && !o.over) { /* "program" into the match object */
        char prog[96];
        int pl = snprintf(prog, sizeof prog, ",\"program\":\"%s\"", program);
        if (o.n + (size_t)pl < o.cap) {
            memmove(o.p + mark + pl, o.p + mark, o.n - mark + 1);
            memcpy(o.p + mark, prog, (size_t)pl);
            o.n += (size_t)pl;
        } else {
            o.over = 1;
        }
    }
    if (o.over)
        return fail(err, errcap, 0, "the fault is too long");
    return 0;
}

struct collect {
    struct hfs_diag *outer;
    const char *spec;
};

static void emit(void *ctx, int is_error, const char *msg)
{
    struct collect *c = ctx;
    /* the place in the generated rule says nothing to the user: drop it */
    if (strncmp(msg, "--fault:", 8) == 0) {
        const char *q = msg + 8;
        for (int i = 0; i < 2 && q; i++)
            q = strchr(q, ':') ? strchr(q, ':') + 1 : NULL;
        if (q) {
            msg = q + (*q == ' ');
            if (strncmp(msg, "rules[0].", 9) == 0)
                msg += 9;
        }
    }
    hfs_diag_report(c->outer, is_error, "--fault %s: %s", c->spec, msg);
}

int hfs_faults_apply(struct hfs_rules *r, const char *specs, struct hfs_diag *d)
{
    struct hfs_rule *add = NULL;
    size_t nadd = 0;
    int rc = 0, index = 0;
    const char *p = specs;
    while (p && *p && rc == 0) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        char spec[1024], json[4096], err[400];
        if (l == 0 || (l == 1 && p[0] == '\r')) {
            p = e ? e + 1 : NULL;
            continue;
        }
        snprintf(spec, sizeof spec, "%.*s", (int)(l < sizeof spec ? l : sizeof spec - 1), p);
        index++;
        if (hfs_faultspec_rule(spec, index, json, sizeof json, err, sizeof err)) {
            hfs_diag_report(d, 1, "--fault %s: %s", spec, err);
            rc = -1;
            break;
        }
        char doc[4200];
        int dl = snprintf(doc, sizeof doc, "{\"version\":1,\"rules\":[%s]}", json);
        struct collect c = { d, spec };
        struct hfs_diag inner = { emit, &c, 0, 0, { 0 } };
        struct hfs_rules *one = hfs_rules_load_buffer("--fault", doc, (size_t)dl, &inner);
        if (!one) { /* its messages went to d through emit */
            rc = -1;
            break;
        }
        struct hfs_rule *g = realloc(add, (nadd + 1) * sizeof *g);
        if (!g) {
            hfs_rules_free(one);
            rc = -1;
            break;
        }
        add = g;
        add[nadd++] = one->rules[0];
        one->nrules = 0; /* moved */
        hfs_rules_free(one);
        p = e ? e + 1 : NULL;
    }
    if (rc == 0 && nadd) {
        struct hfs_rule *all = malloc((nadd + r->nrules + 1) * sizeof *all);
        if (!all) {
            rc = -1;
        } else {
            memcpy(all, add, nadd * sizeof *all);
            if (r->nrules)
                memcpy(all + nadd, r->rules, r->nrules * sizeof *all);
            free(r->rules);
            r->rules = all;
            r->nrules += nadd;
            hfs_ruleindex_free(r->index);
            r->index = hfs_ruleindex_build(r);
            nadd = 0;
        }
    }
    for (size_t i = 0; i < nadd; i++) /* not taken (an error): freed */
        hfs_rule_free(&add[i]);
    free(add);
    return rc;
}
