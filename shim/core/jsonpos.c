/* jsonpos: JSON syntax check with precise messages, and path -> offset.
 * Recursive descent over the raw text, depth-limited, no allocation. */
#include "jsonpos.h"

#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 64

struct scan {
    const char *s;
    size_t n, i;
    const char *msg;
    size_t err;
};

static int fail(struct scan *sc, size_t at, const char *msg)
{
    if (!sc->msg) {
        sc->msg = msg;
        sc->err = at;
    }
    return -1;
}

static void skip_ws(struct scan *sc)
{
    while (sc->i < sc->n) {
        char c = sc->s[sc->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        sc->i++;
    }
}

static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int hex4(const struct scan *sc, size_t at, unsigned *v)
{
    *v = 0;
    for (size_t k = at; k < at + 4; k++) {
        char c = k < sc->n ? sc->s[k] : 0;
        if (!is_hex(c))
            return -1;
        *v = *v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return 0;
}

/* Feeds one decoded byte to the comparison against want (see scan_string). */
struct cmp {
    const char *want;
    size_t o;
    int eq, cut;
};

static void cmp_byte(struct cmp *m, unsigned char b)
{
    if (!m->want || m->cut)
        return;
    if (b == 0) { /* cJSON ends its copy of the string at a decoded NUL */
        m->cut = 1;
        return;
    }
    if (m->eq && (unsigned char)m->want[m->o] == b)
        m->o++;
    else
        m->eq = 0;
}

/* Length of the well-formed UTF-8 sequence at p (no overlong forms, no
 * surrogates, at most U+10FFFF), or 0. */
static size_t utf8_len(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t k;
    unsigned cp;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        k = 2, cp = p[0] & 0x1F;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF)
        k = 3, cp = p[0] & 0x0F;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4)
        k = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((k == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return k;
}

/* Scans a string starting at the opening quote. When want is not NULL,
 * *equal tells whether the decoded string (as cJSON decodes it: \u
 * escapes as UTF-8, cut at a decoded NUL) equals want. Escapes cJSON
 * rejects (unpaired UTF-16 surrogates) are rejected here too, so a text
 * that passes hfs_json_validate always parses. */
static int scan_string(struct scan *sc, const char *want, int *equal)
{
    size_t start = sc->i;
    struct cmp m = { want, 0, 1, 0 };
    sc->i++; /* opening quote */
    while (sc->i < sc->n) {
        unsigned char c = (unsigned char)sc->s[sc->i];
        char dec;
        if (c == '"') {
            sc->i++;
            if (equal)
                *equal = m.eq && want[m.o] == 0;
            return 0;
        }
        if (c < 0x20)
            return fail(sc, sc->i,
                        c == '\n' ? "unterminated string (newline inside a string)"
                                  : "control character inside a string (escape it)");
        if (c == '\\') {
            if (sc->i + 1 >= sc->n)
                break;
            char e = sc->s[sc->i + 1];
            switch (e) {
            case '"': dec = '"'; break;
            case '\\': dec = '\\'; break;
            case '/': dec = '/'; break;
            case 'b': dec = '\b'; break;
            case 'f': dec = '\f'; break;
            case 'n': dec = '\n'; break;
            case 'r': dec = '\r'; break;
            case 't': dec = '\t'; break;
            case 'u': {
                unsigned cp, lo;
                if (hex4(sc, sc->i + 2, &cp))
                    return fail(sc, sc->i, "invalid \\u escape (needs four hex digits)");
                if (cp == 0) /* cJSON would cut the string there: "evil.com\u0000.hf.co" read as "evil.com" */
                    return fail(sc, sc->i, "\\u0000 inside a string (a NUL would cut the string short)");
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return fail(sc, sc->i, "invalid \\u escape (unpaired UTF-16 surrogate)");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (sc->i + 7 >= sc->n || sc->s[sc->i + 6] != '\\' || sc->s[sc->i + 7] != 'u' ||
                        hex4(sc, sc->i + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return fail(sc, sc->i, "invalid \\u escape (unpaired UTF-16 surrogate)");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    sc->i += 6;
                }
                sc->i += 6;
                if (cp < 0x80) {
                    cmp_byte(&m, (unsigned char)cp);
                } else if (cp < 0x800) {
                    cmp_byte(&m, (unsigned char)(0xC0 | (cp >> 6)));
                    cmp_byte(&m, (unsigned char)(0x80 | (cp & 0x3F)));
                } else if (cp < 0x10000) {
                    cmp_byte(&m, (unsigned char)(0xE0 | (cp >> 12)));
                    cmp_byte(&m, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
                    cmp_byte(&m, (unsigned char)(0x80 | (cp & 0x3F)));
                } else {
                    cmp_byte(&m, (unsigned char)(0xF0 | (cp >> 18)));
                    cmp_byte(&m, (unsigned char)(0x80 | ((cp >> 12) & 0x3F)));
                    cmp_byte(&m, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
                    cmp_byte(&m, (unsigned char)(0x80 | (cp & 0x3F)));
                }
                continue;
            }
            default: return fail(sc, sc->i, "invalid escape in string");
            }
            sc->i += 2;
        } else if (c >= 0x80) { /* one UTF-8 sequence, checked (RFC 8259: JSON text is UTF-8) */
            size_t k = utf8_len(sc->s + sc->i, sc->n - sc->i);
            if (!k)
                return fail(sc, sc->i, "invalid UTF-8 inside a string");
            for (size_t b = 0; b < k; b++)
                cmp_byte(&m, (unsigned char)sc->s[sc->i + b]);
            sc->i += k;
            continue;
        } else {
            dec = (char)c;
            sc->i++;
        }
        cmp_byte(&m, (unsigned char)dec);
    }
    return fail(sc, start, "unterminated string");
}

static int scan_number(struct scan *sc)
{
    size_t st = sc->i;
    if (sc->s[sc->i] == '-')
        sc->i++;
    if (sc->i >= sc->n || sc->s[sc->i] < '0' || sc->s[sc->i] > '9')
        return fail(sc, st, "invalid number");
    if (sc->s[sc->i] == '0') {
        sc->i++;
        if (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
            return fail(sc, st, "invalid number (leading zero)");
    } else {
        while (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
            sc->i++;
    }
    if (sc->i < sc->n && sc->s[sc->i] == '.') {
        sc->i++;
        if (sc->i >= sc->n || sc->s[sc->i] < '0' || sc->s[sc->i] > '9')
            return fail(sc, st, "invalid number (digits expected after '.')");
        while (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
            sc->i++;
    }
    if (sc->i < sc->n && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
        sc->i++;
        if (sc->i < sc->n && (sc->s[sc->i] == '+' || sc->s[sc->i] == '-'))
            sc->i++;
        if (sc->i >= sc->n || sc->s[sc->i] < '0' || sc->s[sc->i] > '9')
            return fail(sc, st, "invalid number (digits expected in exponent)");
        while (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
            sc->i++;
    }
    return 0;
}

#define UNEXPECTED "unexpected character (expected a value: string, number, object, array, true, false or null)"

static int scan_literal(struct scan *sc, const char *word)
{
    size_t l = strlen(word);
    if (sc->n - sc->i < l || memcmp(sc->s + sc->i, word, l) != 0)
        return fail(sc, sc->i, UNEXPECTED);
    sc->i += l;
    return 0;
}

static int scan_value(struct scan *sc, int depth);

static int scan_object(struct scan *sc, int depth)
{
    sc->i++; /* { */
    skip_ws(sc);
    if (sc->i < sc->n && sc->s[sc->i] == '}') {
        sc->i++;
        return 0;
    }
    for (;;) {
        skip_ws(sc);
        if (sc->i >= sc->n)
            return fail(sc, sc->i, "unexpected end of file inside an object (missing '}')");
        if (sc->s[sc->i] == '}')
            return fail(sc, sc->i, "trailing comma before '}'");
        if (sc->s[sc->i] == '/')
            return fail(sc, sc->i, "comments are not allowed in JSON");
        if (sc->s[sc->i] != '"')
            return fail(sc, sc->i, "expected a member name in double quotes");
        if (scan_string(sc, NULL, NULL))
            return -1;
        skip_ws(sc);
        if (sc->i >= sc->n || sc->s[sc->i] != ':')
            return fail(sc, sc->i, "expected ':' after member name");
        sc->i++;
        if (scan_value(sc, depth + 1))
            return -1;
        skip_ws(sc);
        if (sc->i >= sc->n)
            return fail(sc, sc->i, "unexpected end of file inside an object (missing '}')");
        if (sc->s[sc->i] == '}') {
            sc->i++;
            return 0;
        }
        if (sc->s[sc->i] == '/')
            return fail(sc, sc->i, "comments are not allowed in JSON");
        if (sc->s[sc->i] != ',')
            return fail(sc, sc->i, "expected ',' or '}' after a member");
        sc->i++;
    }
}

static int scan_array(struct scan *sc, int depth)
{
    sc->i++; /* [ */
    skip_ws(sc);
    if (sc->i < sc->n && sc->s[sc->i] == ']') {
        sc->i++;
        return 0;
    }
    for (;;) {
        skip_ws(sc);
        if (sc->i < sc->n && sc->s[sc->i] == ']')
            return fail(sc, sc->i, "trailing comma before ']'");
        if (scan_value(sc, depth + 1))
            return -1;
        skip_ws(sc);
        if (sc->i >= sc->n)
            return fail(sc, sc->i, "unexpected end of file inside an array (missing ']')");
        if (sc->s[sc->i] == ']') {
            sc->i++;
            return 0;
        }
        if (sc->s[sc->i] == '/')
            return fail(sc, sc->i, "comments are not allowed in JSON");
        if (sc->s[sc->i] != ',')
            return fail(sc, sc->i, "expected ',' or ']' after an element");
        sc->i++;
    }
}

static int scan_value(struct scan *sc, int depth)
{
    if (depth > MAX_DEPTH)
        return fail(sc, sc->i, "nested too deeply");
    skip_ws(sc);
    if (sc->i >= sc->n)
        return fail(sc, sc->i, "unexpected end of file (expected a value)");
    switch (sc->s[sc->i]) {
    case '{': return scan_object(sc, depth);
    case '[': return scan_array(sc, depth);
    case '"': return scan_string(sc, NULL, NULL);
    case 't': return scan_literal(sc, "true");
    case 'f': return scan_literal(sc, "false");
    case 'n': return scan_literal(sc, "null");
    case '\'': return fail(sc, sc->i, "strings need double quotes, not single quotes");
    default:
        if (sc->s[sc->i] == '-' || (sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9'))
            return scan_number(sc);
        if (sc->s[sc->i] == '/')
            return fail(sc, sc->i, "comments are not allowed in JSON");
        return fail(sc, sc->i, UNEXPECTED);
    }
}

int hfs_json_validate(const char *s, size_t n, size_t *err_off, const char **err_msg)
{
    struct scan sc = { s, n, 0, NULL, 0 };
    /* A UTF-8 byte order mark is tolerated. */
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        sc.i = 3;
    skip_ws(&sc);
    if (sc.i >= n) {
        fail(&sc, sc.i, "empty file (expected a JSON object)");
    } else if (scan_value(&sc, 0) == 0) {
        skip_ws(&sc);
        if (sc.i < n)
            fail(&sc, sc.i, "unexpected text after the end of the JSON value");
    }
    if (!sc.msg)
        return 0;
    *err_off = sc.err;
    *err_msg = sc.msg;
    return -1;
}

/* Descends one level from the value at sc->i following seg; sc->i is left
 * at the value found (or at its key when want_key). */
static int step(struct scan *sc, const struct hfs_jseg *seg, int want_key)
{
    skip_ws(sc);
    if (sc->i >= sc->n)
        return -1;
    if (seg->key) {
        /* For a key, index > 0 picks a later occurrence of a duplicated
         * key (rules reports a duplicate at the copy, not the original). */
        int skip = seg->index > 0 ? seg->index : 0;
        if (sc->s[sc->i] != '{')
            return -1;
        sc->i++;
        for (;;) {
            size_t kpos;
            int equal = 0;
            skip_ws(sc);
            if (sc->i >= sc->n || sc->s[sc->i] != '"')
                return -1;
            kpos = sc->i;
            if (scan_string(sc, seg->key, &equal))
                return -1;
            skip_ws(sc);
            sc->i++; /* : */
            skip_ws(sc);
            if (equal && skip-- == 0) {
                if (want_key)
                    sc->i = kpos;
                return 0;
            }
            if (scan_value(sc, 0))
                return -1;
            skip_ws(sc);
            if (sc->i >= sc->n || sc->s[sc->i] != ',')
                return -1;
            sc->i++;
        }
    }
    if (sc->s[sc->i] != '[')
        return -1;
    sc->i++;
    for (int k = 0;; k++) {
        skip_ws(sc);
        if (sc->i >= sc->n || sc->s[sc->i] == ']')
            return -1;
        if (k == seg->index)
            return 0;
        if (scan_value(sc, 0))
            return -1;
        skip_ws(sc);
        if (sc->i >= sc->n || sc->s[sc->i] != ',')
            return -1;
        sc->i++;
    }
}

int hfs_json_locate(const char *s, size_t n, const struct hfs_jpath *p, int want_key, size_t *off)
{
    struct scan sc = { s, n, 0, NULL, 0 };
    if (p->depth > HFS_JPATH_MAX)
        return -1; /* deeper segments were not recorded */
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        sc.i = 3;
    for (int d = 0; d < p->depth; d++)
        if (step(&sc, &p->seg[d], want_key && d == p->depth - 1))
            return -1;
    skip_ws(&sc);
    *off = sc.i;
    return 0;
}

void hfs_json_linecol(const char *s, size_t n, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    size_t i = 0;
    if (off > n)
        off = n;
    if (off >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3; /* editors do not show a byte order mark as a column */
    for (; i < off; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n') {
            l++;
            c = 1;
        } else if ((ch & 0xC0) != 0x80) {
            c++; /* count characters, not UTF-8 continuation bytes */
        }
    }
    *line = l;
    *col = c;
}

void hfs_jpath_key(struct hfs_jpath *p, const char *key)
{
    if (p->depth < HFS_JPATH_MAX) {
        p->seg[p->depth].key = key;
        p->seg[p->depth].index = -1;
    }
    p->depth++;
}

void hfs_jpath_index(struct hfs_jpath *p, int index)
{
    if (p->depth < HFS_JPATH_MAX) {
        p->seg[p->depth].key = NULL;
        p->seg[p->depth].index = index;
    }
    p->depth++;
}

void hfs_jpath_pop(struct hfs_jpath *p)
{
    if (p->depth > 0)
        p->depth--;
}

static int is_ident(const char *k)
{
    if (!*k)
        return 0;
    for (const char *c = k; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
              *c == '-'))
            return 0;
    return 1;
}

void hfs_jpath_render(const struct hfs_jpath *p, char *out, size_t outlen)
{
    size_t o = 0;
    int depth = p->depth < HFS_JPATH_MAX ? p->depth : HFS_JPATH_MAX;
    if (outlen == 0)
        return;
    out[0] = 0;
    if (depth == 0) {
        snprintf(out, outlen, "(top level)");
        return;
    }
    for (int d = 0; d < depth && o < outlen; d++) {
        const struct hfs_jseg *g = &p->seg[d];
        int w;
        if (!g->key)
            w = snprintf(out + o, outlen - o, "[%d]", g->index);
        else if (is_ident(g->key))
            w = snprintf(out + o, outlen - o, "%s%s", d ? "." : "", g->key);
        else
            w = snprintf(out + o, outlen - o, "[\"%s\"]", g->key);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

size_t hfs_json_escape(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[8];
        size_t el;
        if (c == '"' || c == '\\') {
            e[0] = '\\';
            e[1] = (char)c;
            el = 2;
        } else if (c < 0x20 || c == 0x7f) {
            el = (size_t)snprintf(e, sizeof e, "\\u%04x", c);
        } else {
            e[0] = (char)c;
            el = 1;
        }
        if (o + el >= cap)
            break;
        memcpy(out + o, e, el);
        o += el;
    }
    out[o] = 0;
    return o;
}
