/* token: Authorization values read and judged (see header). */
#include "token.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "regex.h"
#include "rules_types.h"
#include "sha256.h"
#include "url.h"

const char *hfs_tok_class_name(enum hfs_tok_class c)
{
    switch (c) {
    case HFS_TOK_NONE: return "none";
    case HFS_TOK_OK: return "ok";
    case HFS_TOK_MALFORMED: return "malformed";
    case HFS_TOK_DENIED: return "denied";
    case HFS_TOK_LEARNED: return "learned";
    case HFS_TOK_INVALID: return "invalid";
    }
    return "?";
}

void hfs_mask_token(const char *tok, size_t len, char *out, size_t outlen)
{
    char m[16];
    if (outlen == 0)
        return;
    /* at most 7 characters show, and only of a token long enough that they
     * say little (an HF token is "hf_" + 34): "hf_ab…yz"; shorter: "hf_…" */
    if (tok && len >= 20)
        snprintf(m, sizeof m, "%.5s\xe2\x80\xa6%.2s", tok, tok + len - 2);
    else if (tok && len >= 8)
        snprintf(m, sizeof m, "%.3s\xe2\x80\xa6", tok);
    else
        snprintf(m, sizeof m, "\xe2\x80\xa6");
    /* all or nothing: never a cut UTF-8 sequence */
    snprintf(out, outlen, "%s", strlen(m) < outlen ? m : "");
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Base64 (standard or URL alphabet, padding optional) into out; the
 * length, or -1 when s is not base64 or out too small. */
static long b64decode(const char *s, size_t n, char *out, size_t cap)
{
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    while (n && s[n - 1] == '=')
        n--;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    return (long)o;
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* The SHA-256 and mask of out->tok: the last token this thread saw is
 * kept with both, as a client sends the same token on every request
 * (hashing it again was a fifth of a libcurl request's cost). */
static __thread struct {
    size_t len; /* 0: empty */
    char tok[256];
    unsigned char sha[32];
    char mask[24];
} last_token __attribute__((tls_model("initial-exec")));

static void digest_and_mask(struct hfs_token *out)
{
    if (out->len && out->len == last_token.len && memcmp(out->tok, last_token.tok, out->len) == 0) {
        memcpy(out->sha, last_token.sha, sizeof out->sha);
        memcpy(out->mask, last_token.mask, sizeof out->mask);
        return;
    }
    hfs_sha256(out->tok, out->len, out->sha);
    hfs_mask_token(out->tok, out->len, out->mask, sizeof out->mask);
    if (out->len && out->len <= sizeof last_token.tok) {
        last_token.len = out->len;
        memcpy(last_token.tok, out->tok, out->len);
        memcpy(last_token.sha, out->sha, sizeof out->sha);
        memcpy(last_token.mask, out->mask, sizeof out->mask);
    }
}

int hfs_token_parse(const char *value, size_t len, char *buf, size_t cap, struct hfs_token *out)
{
    static const char *const schemes[] = { "Bearer", "Basic", "token", NULL };
    memset(out, 0, sizeof *out);
    while (len && is_space(*value))
        value++, len--;
    while (len && (is_space(value[len - 1]) || value[len - 1] == '\r' || value[len - 1] == '\n'))
        len--;
    out->scheme = "";
    out->tok = value;
    out->len = len;
    for (int i = 0; schemes[i]; i++) {
        size_t sl = strlen(schemes[i]);
        if (len >= sl && strncasecmp(value, schemes[i], sl) == 0 && (len == sl || is_space(value[sl]))) {
            const char *t = value + sl;
            size_t tl = len - sl;
            while (tl && is_space(*t)) /* the separating space(s) */
                t++, tl--;
            out->scheme = schemes[i];
            out->tok = t;
            out->len = tl;
            if (i == 1) { /* Basic: the password of user:password */
                long d = b64decode(t, tl, buf, cap);
                if (d < 0) {
                    if (tl > cap) /* too long to be a credential we judge */
                        return -1;
                    break; /* not base64: judged as it is */
                }
                const char *colon = memchr(buf, ':', (size_t)d);
                out->tok = colon ? colon + 1 : buf;
                out->len = colon ? (size_t)(buf + d - (colon + 1)) : (size_t)d;
            }
            break;
        }
    }
    digest_and_mask(out);
    return 0;
}

/* The default format: "hf_" followed by at least min letters or digits, nothing else. */
static int hf_shape(const char *t, size_t n, size_t min)
{
    if (n < 3 + min || memcmp(t, "hf_", 3) != 0)
        return 0;
    for (size_t i = 3; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

int hfs_token_is_hf(const struct hfs_token_policy *p, const struct hfs_token *t)
{
    if (p && p->format && hfs_re_match(p->format, t->tok, t->len))
        return 1;
    return hf_shape(t->tok, t->len, 20);
}

static int has_ctl_or_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

/* A variable name that was never expanded: "$X", "${X}", "%X%", "<X>"-free. */
static int unexpanded(const char *s, size_t n)
{
    if (n >= 2 && s[0] == '$' &&
        (s[1] == '{' || s[1] == '_' || (s[1] >= 'A' && s[1] <= 'Z') || (s[1] >= 'a' && s[1] <= 'z')))
        return 1;
    if (n >= 3 && s[0] == '%' && s[n - 1] == '%') /* Windows-style %HF_TOKEN% */
        return 1;
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '$' && s[i + 1] == '{')
            return 1;
    return 0;
}

static const char *malformed(const struct hfs_token_policy *p, const char *t, size_t n)
{
    static const char *const words[] = { "None", "null", "undefined",       "nil", "false",
                                         "true", "NaN",  "[object Object]", NULL };
    if (n == 0)
        return "the token is empty";
    for (int i = 0; words[i]; i++)
        if (strlen(words[i]) == n && strncasecmp(t, words[i], n) == 0)
            return "the token is a placeholder word (None, null, undefined...): an unset variable printed";
    if (unexpanded(t, n))
        return "the token is an unexpanded variable ($HF_TOKEN)";
    if (n >= 2 && ((t[0] == '"' && t[n - 1] == '"') || (t[0] == '\'' && t[n - 1] == '\'')))
        return "the token is quoted";
    if (has_ctl_or_space(t, n))
        return "whitespace or a control character inside the token";
    if (p && p->format) {
        if (hfs_re_match(p->format, t, n) <= 0) /* an engine error: not vouched for, stripped */
            return "the token does not have the rules' token format";
    } else if (!hf_shape(t, n, 30)) {
        return "the token does not look like a Hugging Face token (hf_ and 30 or more letters or digits)";
    }
    return NULL;
}

/* 1 when the digest starts with the hex prefix. */
static int sha_prefix(const unsigned char sha[32], const char *hex)
{
    size_t n = strlen(hex);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int v = hfs_hexval(hex[i]);
        int d = (i % 2 == 0) ? sha[i / 2] >> 4 : sha[i / 2] & 15;
        if (v < 0 || v != d)
            return 0;
    }
    return 1;
}

enum hfs_tok_class hfs_token_classify(const struct hfs_token_policy *p, const struct hfs_token *t,
                                      const struct hfs_token_known *known, const char **why)
{
    const char *w = malformed(p, t->tok, t->len);
    *why = NULL;
    if (w) {
        *why = w;
        return HFS_TOK_MALFORMED;
    }
    for (size_t i = 0; p && i < p->ndeny; i++)
        if (sha_prefix(t->sha, p->deny[i])) {
            *why = "the token is on the rules' deny list";
            return HFS_TOK_DENIED;
        }
    switch (known && known->lookup ? known->lookup(known->ctx, t->sha) : HFS_KNOWN_NOTHING) {
    case HFS_KNOWN_LEARNED:
        *why = "the Hub answered 401 \"Invalid credentials\" to this token before";
        return HFS_TOK_LEARNED;
    case HFS_KNOWN_INVALID: *why = "whoami-v2 said the token is invalid"; return HFS_TOK_INVALID;
    default: return HFS_TOK_OK;
    }
}

const struct hfs_header *hfs_token_header(const struct hfs_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].name_len == 13 && strncasecmp(h[i].name, "Authorization", 13) == 0)
            return &h[i];
    return NULL;
}

int hfs_token_response_invalid(int status, const struct hfs_header *h, size_t n)
{
    static const char msg[] = "Invalid credentials in Authorization header";
    if (status != 401)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (h[i].name_len != 15 || strncasecmp(h[i].name, "X-Error-Message", 15) != 0)
            continue;
        const char *v = h[i].value;
        size_t l = h[i].value_len;
        while (l && is_space(*v))
            v++, l--;
        while (l && is_space(v[l - 1]))
            l--;
        if (l == sizeof msg - 1 && strncasecmp(v, msg, l) == 0)
            return 1;
    }
    return 0;
}
