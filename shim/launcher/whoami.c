/* whoami: token validation against the Hub's whoami-v2 (see header). */
#include "whoami.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "../core/sha256.h"
#include "../core/token.h"
#include "../core/tokensrc.h"
#include "../core/tokstate.h"
#include "curldl.h"
#include "launcher.h"

struct body {
    char b[4096];
    size_t n;
};

static size_t sink(char *p, size_t sz, size_t nm, void *ctx)
{
    struct body *b = ctx;
    size_t k = sz * nm;
    size_t room = sizeof b->b - 1 - b->n;
    memcpy(b->b + b->n, p, k < room ? k : room);
    b->n += k < room ? k : room;
    b->b[b->n] = 0;
    return k;
}

enum hfs_whoami hfs_whoami_check(const char *endpoint, const char *tok, size_t len, char *name, size_t cap, char *why,
                                 size_t whycap)
{
    char url[1024], auth[2048];
    struct body body = { .n = 0 };
    enum hfs_whoami v = HFS_WHOAMI_UNKNOWN;
    const char *ep = endpoint && *endpoint ? endpoint : "https://huggingface.co";
    size_t el = strlen(ep);
    while (el && ep[el - 1] == '/')
        el--;
    snprintf(url, sizeof url, "%.*s/api/whoami-v2", (int)el, ep);
    snprintf(auth, sizeof auth, "Authorization: Bearer %.*s", (int)len, tok);
    if (name && cap)
        name[0] = 0;
    snprintf(why, whycap, "no answer");
    /* never a header with CR/LF (or any control byte) in it: that would
     * inject headers; such a token is malformed anyway */
    if (len == 0 || len > 1024) {
        snprintf(why, whycap, "not sent: %s", len ? "longer than any token" : "empty");
        return v;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)tok[i] <= 0x20 || tok[i] == 0x7f) {
            snprintf(why, whycap, "not sent: whitespace or a control character inside the token");
            return v;
        }
    const struct hfs_curl *cu = hfs_curl(why, whycap);
    if (!cu)
        return v;
    CURL *c = cu->easy_init();
    if (!c)
        return v;
    struct curl_slist *h = cu->slist_append(NULL, auth);
    cu->easy_setopt(c, CURLOPT_URL, url);
    cu->easy_setopt(c, CURLOPT_HTTPHEADER, h);
    cu->easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    cu->easy_setopt(c, CURLOPT_WRITEDATA, &body);
    /* http(s) only: CURLOPT_PROTOCOLS_STR since libcurl 7.85, the bit mask before */
    if (cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK &&
        cu->easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK) {
        snprintf(why, whycap, "libcurl cannot be limited to http(s)");
        cu->slist_free_all(h);
        cu->easy_cleanup(c);
        return v;
    }
    CURLcode rc = cu->easy_perform(c);
    long status = 0;
    cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
        snprintf(why, whycap, "%s", cu->easy_strerror(rc));
    } else if (status == 200) {
        v = HFS_WHOAMI_VALID;
        const char *n = strstr(body.b, "\"name\"");
        if (n && name && cap && (n = strchr(n + 6, '"'))) {
            size_t k = strcspn(n + 1, "\"");
            snprintf(name, cap, "%.*s", (int)(k < 64 ? k : 64), n + 1);
            for (char *q = name; *q; q++) /* the endpoint's text reaches a terminal */
                if ((unsigned char)*q < 0x20 || *q == 0x7f)
                    *q = '?';
        }
    } else if (status == 401) {
        v = HFS_WHOAMI_INVALID;
    } else {
        snprintf(why, whycap, "HTTP %ld", status);
    }
    cu->slist_free_all(h);
    cu->easy_cleanup(c);
    return v;
}

struct find {
    const unsigned char *sha;
    int what;
    long long when;
};

static void each(void *ctx, const struct hfs_tokstate_entry *e)
{
    struct find *f = ctx;
    if (memcmp(e->sha, f->sha, 32) == 0) {
        f->what = e->what;
        f->when = e->when;
    }
}

int hfs_whoami_known(const struct hfs_rules *r, const unsigned char sha[32], long long *when)
{
    char path[4096];
    const char *why;
    long long off = 0;
    struct find f = { sha, 0, 0 };
    if (!r->tokens.state_file || hfs_tokstate_path(r->tokens.state_file, hfs_cli_env, path, sizeof path))
        return 0;
    if (hfs_tokstate_read(path, &off, each, &f, &why))
        return 0;
    if ((f.what == HFS_KNOWN_VALID || f.what == HFS_KNOWN_INVALID) &&
        (long long)time(NULL) - f.when > r->tokens.validate_ttl)
        return 0;
    if (when)
        *when = f.when;
    return f.what;
}

int hfs_whoami_record(const struct hfs_rules *r, const unsigned char sha[32], enum hfs_whoami v)
{
    char path[4096];
    const char *why = NULL;
    if (v == HFS_WHOAMI_UNKNOWN || !r->tokens.state_file)
        return 0;
    if (hfs_tokstate_path(r->tokens.state_file, hfs_cli_env, path, sizeof path)) {
        fprintf(stderr, "hfshim: tokens.state_file %s: a variable in it is not set\n", r->tokens.state_file);
        return -1;
    }
    struct hfs_tokstate_entry e = { .what = v == HFS_WHOAMI_VALID ? HFS_KNOWN_VALID : HFS_KNOWN_INVALID,
                                    .when = (long long)time(NULL) };
    memcpy(e.sha, sha, 32);
    if (hfs_tokstate_append(path, &e, &why)) {
        fprintf(stderr, "hfshim: token state file %s: %s\n", path, why ? why : "error");
        return -1;
    }
    return 0;
}

void hfs_validate_before_run(const struct hfs_rules *r)
{
    struct hfs_tokensrc s[16];
    unsigned char seen[16][32];
    size_t n = hfs_tokensrc_find(hfs_cli_env, s, 16), nseen = 0;
    /* the token huggingface_hub sends, and the variables' values (other
     * clients read HF_TOKEN / HUGGING_FACE_HUB_TOKEN themselves) */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            if (pass == 0 ? !s[i].used : (s[i].used || s[i].kind != HFS_SRC_ENV))
                continue;
            const char *v = s[i].value;
            size_t l = strlen(v), k;
            while (l && isspace((unsigned char)*v))
                v++, l--;
            while (l && isspace((unsigned char)v[l - 1]))
                l--;
            if (!l)
                continue;
            unsigned char sha[32];
            char mask[24], name[80], why[128];
            hfs_sha256(v, l, sha);
            for (k = 0; k < nseen && memcmp(seen[k], sha, 32); k++)
                ;
            if (k < nseen)
                continue;
            memcpy(seen[nseen++], sha, 32);
            hfs_mask_token(v, l, mask, sizeof mask);
            if (hfs_whoami_known(r, sha, NULL))
                continue; /* a fresh verdict (or a learned 401): nothing to ask */
            enum hfs_whoami w = hfs_whoami_check(hfs_cli_env("HF_ENDPOINT"), v, l, name, sizeof name, why, sizeof why);
            if (w == HFS_WHOAMI_VALID)
                fprintf(stderr, "hfshim: validated the token %s from %s: valid (account %s)\n", mask, s[i].label,
                        name[0] ? name : "?");
            else if (w == HFS_WHOAMI_INVALID)
                fprintf(stderr,
                        "hfshim: validated the token %s from %s: INVALID (whoami-v2 answered 401); it is "
                        "stripped from Hub requests\n",
                        mask, s[i].label);
            else
                fprintf(stderr, "hfshim: could not validate the token %s from %s (%s); it is sent as it is\n", mask,
                        s[i].label, why);
            hfs_whoami_record(r, sha, w);
        }
    hfs_tokensrc_free(s, n);
}
