/* fuzz_edits: libFuzzer target for the header edits (shim/core/edits.h).
 * The first bytes choose up to 8 edits (strip, conditional strip, set; the
 * names from a table or from the input's own lines), the rest are header
 * lines in libcurl's syntax. hfs_edits_apply_lines must give back the
 * lines no edit removes, in order and as the same pointers, and generated
 * lines only for what the edits ask: no header an unconditional strip
 * removes survives unless a later set brings it back, the last set of a
 * header is sent once, a small output or buffer gives -1 or the same
 * answer. The first lines also feed hfs_edits_resolve as variable and
 * file values: resolved values start with the prefix, hold no control
 * character, and every set-header is either resolved or reported. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decide.h"
#include "edits.h"
#include "regex.h"
#include "rules.h"

#define MAX_LINES 32
#define MAX_EDITS 8

static const char *const names[] = { "Authorization", "authorization", "Cookie", "X-Api-Key", "Host", "A" };
static const char *const values[] = { "Bearer hf_x", "Basic dXNlcg==", "v", "", "Bearer ", "a;b: c" };
static const char *const regexes[] = { "^Bearer ", "hf_", "^$", "." };
#define N(a) (sizeof a / sizeof a[0])

static struct hfs_re *res[N(regexes)];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[200];
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < N(regexes); i++)
        if (!(res[i] = hfs_re_compile(regexes[i], 0, err, sizeof err)))
            abort();
    return 0;
}

/* The reference split of a libcurl header line (independent of edits.c). */
static void split(const char *line, size_t *nlen, const char **val, size_t *vlen)
{
    size_t i = 0;
    while (line[i] && line[i] != ':' && line[i] != ';')
        i++;
    *nlen = i;
    while (*nlen && (line[*nlen - 1] == ' ' || line[*nlen - 1] == '\t'))
        (*nlen)--;
    const char *v = line[i] ? line + i + 1 : line + i;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t l = strlen(v);
    while (l && (v[l - 1] == ' ' || v[l - 1] == '\t' || v[l - 1] == '\r' || v[l - 1] == '\n'))
        l--;
    *val = v;
    *vlen = l;
}

static int same_name(const char *a, size_t al, const char *b) { return strlen(b) == al && strncasecmp(a, b, al) == 0; }

/* Would edit e (alone) remove a line name: value? */
static int removes(const struct hfs_hdr_edit *e, const char *nm, size_t nl, const char *v, size_t vl)
{
    if (!same_name(nm, nl, e->name))
        return 0;
    return !e->remove || !e->value_re || hfs_re_match((struct hfs_re *)e->value_re, v, vl);
}

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c);
}

/* ---- resolve --------------------------------------------------------- */

struct src {
    char *const *lines;
    size_t n;
    size_t skipped;
};

static const char *src_env(void *ctx, const char *name)
{
    struct src *s = ctx;
    size_t i = (size_t)(name[1] - '0');
    return i < s->n ? s->lines[i] : NULL;
}

static long src_file(void *ctx, const char *path, char *buf, size_t cap)
{
    struct src *s = ctx;
    size_t i = (size_t)(path[1] - '0');
    if (i >= s->n || cap == 0)
        return -1;
    size_t l = strlen(s->lines[i]);
    if (l >= cap)
        l = cap - 1;
    memcpy(buf, s->lines[i], l);
    buf[l] = 0;
    return (long)l;
}

static void src_skipped(void *ctx, const struct hfs_rule *rule, const char *why)
{
    struct src *s = ctx;
    if (!rule || !why || !*why)
        abort();
    s->skipped++;
}

static void fuzz_resolve(char *const *lines, size_t nlines, const unsigned char *sel, size_t buflen)
{
    static const char *const prefixes[] = { NULL, "Bearer ", "" };
    static char envname[MAX_EDITS][3], path[MAX_EDITS][3], hdr[] = "X-T";
    struct hfs_rule rules[MAX_EDITS];
    struct hfs_verdict v;
    struct hfs_hdr_edit out[MAX_EDITS];
    char buf[256];
    struct src s = { lines, nlines, 0 };
    struct hfs_value_source vs = { src_env, src_file, src_skipped, &s };
    memset(rules, 0, sizeof rules);
    memset(&v, 0, sizeof v);
    for (size_t k = 0; k < 4; k++) {
        struct hfs_rule *r = &rules[k];
        r->name = "fuzz";
        r->args.header = hdr;
        if (sel[k] % 4 == 3) {
            r->action = HFS_ACT_STRIP_HEADER;
        } else {
            r->action = HFS_ACT_SET_HEADER;
            envname[k][0] = path[k][0] = '/';
            envname[k][1] = path[k][1] = (char)('0' + (sel[k] >> 4) % 8);
            envname[k][2] = path[k][2] = 0;
            if (sel[k] & 1)
                r->args.from_file = path[k];
            else
                r->args.from_env = envname[k];
            r->args.prefix = (char *)prefixes[(sel[k] >> 1) % 3];
        }
        v.edits[v.nedits++] = r;
    }
    if (buflen > sizeof buf)
        buflen = sizeof buf;
    memset(buf, 'Z', sizeof buf);
    size_t n = hfs_edits_resolve(&v, &vs, out, MAX_EDITS, buf, buflen);
    if (n + s.skipped != v.nedits)
        abort();
    const char *end = buf;
    for (size_t i = 0; i < n; i++) {
        const struct hfs_rule *r = out[i].rule;
        if (!r || out[i].name != r->args.header || out[i].remove != (r->action == HFS_ACT_STRIP_HEADER))
            abort();
        if (out[i].remove) {
            if (out[i].value)
                abort();
            continue;
        }
        const char *val = out[i].value;
        size_t pl = r->args.prefix ? strlen(r->args.prefix) : 0, l;
        /* inside buf, after the previous value, NUL-terminated */
        if (val < end || val >= buf + buflen || !memchr(val, 0, (size_t)(buf + buflen - val)))
            abort();
        l = strlen(val);
        end = val + l + 1;
        if (l <= pl || (pl && memcmp(val, r->args.prefix, pl) != 0))
            abort(); /* prefix and a non-empty value */
        for (size_t j = pl; j < l; j++)
            if ((unsigned char)val[j] < 0x20 && val[j] != '\t')
                abort();
        if (r->args.from_file && (val[l - 1] == ' ' || val[l - 1] == '\t'))
            abort(); /* trailing white space is trimmed */
        if (r->args.from_env && strcmp(val + pl, lines[r->args.from_env[1] - '0']) != 0)
            abort();
        if (r->args.from_file && strncmp(val + pl, lines[r->args.from_file[1] - '0'], l - pl) != 0)
            abort();
    }
}

/* ---- apply ----------------------------------------------------------- */

static long run(const char *const *in, size_t n, const struct hfs_hdr_edit *e, size_t ne, const char **out,
                size_t outcap, char *buf, size_t buflen)
{
    return hfs_edits_apply_lines(in, n, e, ne, out, outcap, buf, buflen);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 3)
        return 0;
    size_t ne = data[0] % (MAX_EDITS + 1), outsel = data[1], bufsel = data[2];
    size_t pos = 3;
    const unsigned char *sel = data + pos;
    if (size < pos + 3 * ne + 4)
        return 0;
    pos += 3 * ne;
    const unsigned char *rsel = data + pos;
    pos += 4;

    /* the lines */
    char *text = malloc(size - pos + 1);
    if (!text)
        return 0;
    memcpy(text, data + pos, size - pos);
    text[size - pos] = 0;
    char *lines[MAX_LINES];
    size_t n = 0;
    for (char *p = text; p && n < MAX_LINES;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl++ = 0;
        if (nl || *p)
            lines[n++] = p;
        p = nl;
    }

    /* the edits */
    struct hfs_hdr_edit e[MAX_EDITS];
    char dyn[MAX_EDITS][40];
    memset(e, 0, sizeof e);
    for (size_t k = 0; k < ne; k++) {
        unsigned char a = sel[3 * k], b = sel[3 * k + 1], c = sel[3 * k + 2];
        if (b < N(names) * 32 || n == 0) {
            e[k].name = names[b % N(names)];
        } else { /* the name of one of the lines, as a token */
            const char *l = lines[b % n];
            size_t i = 0;
            while (i < sizeof dyn[k] - 1 && l[i] && is_tchar((unsigned char)l[i]))
                i++;
            memcpy(dyn[k], l, i);
            dyn[k][i] = 0;
            if (!i)
                strcpy(dyn[k], "X");
            e[k].name = dyn[k];
        }
        switch (a % 3) {
        case 0: e[k].remove = 1; break;
        case 1:
            e[k].remove = 1;
            e[k].value_re = res[c % N(regexes)];
            break;
        default: e[k].value = values[c % N(values)]; break;
        }
    }

    /* with plenty of room */
    const char *out[MAX_LINES + MAX_EDITS];
    char buf[MAX_EDITS * 64];
    long rc = run((const char *const *)lines, n, e, ne, out, MAX_LINES + MAX_EDITS, buf, sizeof buf);
    if (rc < 0 || (size_t)rc > n + ne)
        abort();
    size_t uncond = 0, used = 0, kept = 0, generated = 0;
    for (size_t k = 0; k < ne; k++)
        uncond += e[k].remove && !e[k].value_re;
    if ((size_t)rc < uncond)
        abort();
    /* kept input lines first, in order, exactly those no edit removes */
    long o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nl, vl;
        const char *v;
        int gone = 0;
        split(lines[i], &nl, &v, &vl);
        for (size_t k = 0; k < ne && !gone; k++)
            gone = removes(&e[k], lines[i], nl, v, vl);
        if (gone)
            continue;
        if (o >= rc || out[o] != lines[i])
            abort();
        o++;
    }
    kept = (size_t)o;
    /* one "Name:" per unconditional strip, one line per set that no later
     * edit replaces or removes */
    for (size_t k = 0; k < ne; k++) {
        int later = 0;
        if (e[k].remove) {
            generated += !e[k].value_re;
            continue;
        }
        for (size_t j = k + 1; j < ne && !later; j++)
            later = removes(&e[j], e[k].name, strlen(e[k].name), e[k].value, strlen(e[k].value));
        generated += !later;
    }
    if ((size_t)rc != kept + generated)
        abort();
    /* then generated lines, in edit order, each "Name:" or "Name: value" */
    size_t k = 0;
    for (; o < rc; o++) {
        const char *l = out[o];
        if (l < buf || l >= buf + sizeof buf || !memchr(l, 0, (size_t)(buf + sizeof buf - l)))
            abort();
        used = (size_t)(l - buf) + strlen(l) + 1;
        int found = 0;
        for (; k < ne && !found; k++) {
            size_t nl = strlen(e[k].name);
            if (strncmp(l, e[k].name, nl) != 0)
                continue;
            if (e[k].remove && !e[k].value_re && strcmp(l + nl, ":") == 0)
                found = 1;
            else if (!e[k].remove && l[nl] == ':' && l[nl + 1] == ' ' && strcmp(l + nl + 2, e[k].value) == 0)
                found = 1;
        }
        if (!found)
            abort();
    }
    /* what the edits ask for, applied one after the other */
    for (size_t x = 0; x < ne; x++) {
        size_t xl = strlen(e[x].name);
        int last_set = -1, cleared = 0;
        for (size_t y = 0; y < ne; y++) {
            if (!same_name(e[x].name, xl, e[y].name))
                continue;
            if (!e[y].remove)
                last_set = (int)y, cleared = 0;
            else if (last_set >= 0 && removes(&e[y], e[x].name, xl, e[last_set].value, strlen(e[last_set].value)))
                last_set = -1, cleared = 1;
            else if (!e[y].value_re)
                cleared = 1;
        }
        size_t with_value = 0;
        const char *seen = NULL;
        for (long i = 0; i < rc; i++) {
            size_t nl, vl;
            const char *v;
            split(out[i], &nl, &v, &vl);
            if (same_name(out[i], nl, e[x].name) && vl) {
                with_value++;
                seen = v;
            }
        }
        if (last_set < 0 && cleared && with_value)
            abort(); /* an unconditional strip that nothing undid: the header is gone */
        if (last_set >= 0 && e[last_set].value[0] && !cleared) {
            /* the last set stands: sent once, with its value (and no other) */
            size_t lv = strlen(e[last_set].value);
            while (lv && (e[last_set].value[lv - 1] == ' ' || e[last_set].value[lv - 1] == '\t'))
                lv--;
            if (with_value != 1 || strncmp(seen, e[last_set].value, lv) != 0)
                abort();
        }
    }

    /* with little room: -1, or the same answer */
    size_t outcap = outsel % (MAX_LINES + MAX_EDITS + 1), buflen = bufsel % (sizeof buf + 1);
    const char *out2[MAX_LINES + MAX_EDITS];
    char buf2[MAX_EDITS * 64];
    long rc2 = run((const char *const *)lines, n, e, ne, out2, outcap, buf2, buflen);
    if (rc2 == -1) {
        if ((size_t)rc <= outcap && used <= buflen)
            abort(); /* it would have fitted */
    } else {
        if (rc2 != rc || (size_t)rc > outcap || used > buflen)
            abort();
        for (long i = 0; i < rc; i++) {
            int mine = out[i] >= buf && out[i] < buf + sizeof buf;
            if (mine ? strcmp(out2[i], out[i]) != 0 || out2[i] < buf2 || out2[i] >= buf2 + buflen : out2[i] != out[i])
                abort();
        }
    }

    fuzz_resolve(lines, n, rsel, (size_t)bufsel);
    free(text);
    return 0;
}
