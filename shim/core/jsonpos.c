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

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Scans a string starting at the opening quote. When out is not NULL the
 * decoded bytes (escapes for ASCII only; others kept raw) are copied there,
 * truncated, and *outlen set; *exact tells whether it fit. */
static int scan_string(struct scan *sc, char *out, size_t outcap, size_t *outlen, int *exact)
{
    size_t start = sc->i, o = 0;
    int fits = 1;
    sc->i++; /* opening quote */
    while (sc->i < sc->n) {
        unsigned char c = (unsigned char)sc->s[sc->i];
        char dec;
        if (c == '"') {
            sc->i++;
            if (outlen)
                *outlen = o;
            if (exact)
                *exact = fits;
            return 0;
        }
        if (c < 0x20)
            return fail(sc, sc->i, c == '\n' ? "unterminated string (newline inside a string)"
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
            case 'u':
                for (int k = 2; k < 6; k++)
                    if (sc->i + (size_t)k >= sc->n || !is_hex(sc->s[sc->i + k]))
                        return fail(sc, sc->i, "invalid \\u escape (needs four hex digits)");
                dec = 0; /* non-ASCII escapes never match a key we look for */
                sc->i += 6;
                if (out) {
                    if (o < outcap)
                        out[o] = '\x01';
                    else
                        fits = 0;
                    o++;
                }
                continue;
            default:
                return fail(sc, sc->i, "invalid escape in string");
            }
            sc->i += 2;
        } else {
            dec = (char)c;
            sc->i++;
        }
        if (out) {
            if (o < outcap)
                out[o] = dec;
            else
                fits = 0;
            o++;
        }
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

static int scan_literal(struct scan *sc, const char *word)
{
    size_t l = strlen(word);
    if (sc->n - sc->i < l || memcmp(sc->s + sc->i, word, l) != 0)
        return fail(sc, sc->i, "unexpected character (expected a value: string, number, object, array, true, false or null)");
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
        if (sc->s[sc->i] != '"')
            return fail(sc, sc->i, "expected a member name in double quotes");
        if (scan_string(sc, NULL, 0, NULL, NULL))
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
    case '"': return scan_string(sc, NULL, 0, NULL, NULL);
    case 't': return scan_literal(sc, "true");
    case 'f': return scan_literal(sc, "false");
    case 'n': return scan_literal(sc, "null");
    case '\'': return fail(sc, sc->i, "strings need double quotes, not single quotes");
    default:
        if (sc->s[sc->i] == '-' || (sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9'))
            return scan_number(sc);
        if (sc->s[sc->i] == '/')
            return fail(sc, sc->i, "comments are not allowed in JSON");
        return scan_literal(sc, "\x01"); /* reports "unexpected character" */
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
        size_t klen = strlen(seg->key);
        if (sc->s[sc->i] != '{')
            return -1;
        sc->i++;
        for (;;) {
            char buf[256];
            size_t blen = 0, kpos;
            int exact = 0;
            skip_ws(sc);
            if (sc->i >= sc->n || sc->s[sc->i] != '"')
                return -1;
            kpos = sc->i;
            if (scan_string(sc, buf, sizeof buf, &blen, &exact))
                return -1;
            skip_ws(sc);
            sc->i++; /* : */
            skip_ws(sc);
            if (exact && blen == klen && memcmp(buf, seg->key, klen) == 0) {
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
    if (off > n)
        off = n;
    for (size_t i = 0; i < off; i++) {
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
