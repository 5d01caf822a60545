/* curlcreds: the credentials libcurl builds from a handle's options
 * (CURLOPT_XOAUTH2_BEARER, USERNAME, PASSWORD, the URL's user info), read
 * the way libcurl reads them, and hidden from the real handle while a
 * transfer the rules act on runs (see header). */
#include "curlcreds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/url.h"
#include "real.h"

static size_t b64(const unsigned char *in, size_t n, char *out, size_t cap)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    if (cap < (n + 2) / 3 * 4 + 1)
        return 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = 0;
    return o;
}

/* The Authorization value libcurl makes itself from the handle's options
 * when the app's header list has none (http.c output_auth_headers):
 * CURLOPT_XOAUTH2_BEARER with CURLAUTH_BEARER allowed; a user (and
 * password) from CURLOPT_USERPWD/USERNAME/PASSWORD, else from the URL,
 * with CURLAUTH_BASIC allowed (the default). Written into out; its length,
 * or 0 when libcurl sends none. *probe: several methods are allowed (or
 * CURLAUTH_ONLY), so libcurl sends it only after a challenge. */
size_t hfs_curl_option_auth(const char *bearer, const char *user, const char *passwd, long want, const char *url,
                            char *out, size_t cap, int *probe)
{
    char uu[512], pp[512], both[1100];
    unsigned long methods = (unsigned long)want & ~(unsigned long)CURLAUTH_ONLY;
    *probe = (want & (long)CURLAUTH_ONLY) != 0 || __builtin_popcountl(methods) > 1;
    if ((want & (long)CURLAUTH_BEARER) && bearer) {
        int w = snprintf(out, cap, "Bearer %s", bearer);
        return w > 0 && (size_t)w < cap ? (size_t)w : 0;
    }
    if (!(want & (long)CURLAUTH_BASIC))
        return 0;
    if ((!user || !passwd) && url) { /* libcurl: the options win, each on its own, over the URL's */
        struct hfs_url u;
        const char *why;
        if (strchr(url, '@') && hfs_url_parse(url, strlen(url), &u, &why) == 0 && u.userinfo.len) {
            const char *ui = url + u.userinfo.off, *colon = memchr(ui, ':', u.userinfo.len);
            size_t ul = colon ? (size_t)(colon - ui) : u.userinfo.len;
            if (!user && hfs_pct_decode(ui, ul, uu, sizeof uu, 0) >= 0)
                user = uu;
            if (!passwd && colon && hfs_pct_decode(colon + 1, u.userinfo.len - ul - 1, pp, sizeof pp, 0) >= 0)
                passwd = pp;
        }
    }
    if (!user)
        return 0;
    int w = snprintf(both, sizeof both, "%s:%s", user, passwd ? passwd : "");
    if (w < 0 || (size_t)w >= sizeof both || cap < 7)
        return 0;
    memcpy(out, "Basic ", 6);
    size_t n = b64((const unsigned char *)both, (size_t)w, out + 6, cap - 6);
    memset(both, 0, sizeof both);
    return n ? n + 6 : 0;
}

void hfs_curl_hide_creds(CURL *h)
{
    struct hfs_curl *c = hfs_curl_get(h, 0);
    int hide = c && !c->creds_hidden && (c->bearer || c->user || c->passwd);
    if (hide)
        c->creds_hidden = 1;
    hfs_curl_unlock();
    if (!hide)
        return;
    setopt_fn real_setopt = (setopt_fn)REAL(curl_easy_setopt);
    real_setopt(h, CURLOPT_XOAUTH2_BEARER, (char *)NULL);
    real_setopt(h, CURLOPT_USERNAME, (char *)NULL);
    real_setopt(h, CURLOPT_PASSWORD, (char *)NULL);
}

void hfs_curl_unhide_creds(CURL *h)
{
    char *bearer = NULL, *user = NULL, *passwd = NULL;
    struct hfs_curl *c = hfs_curl_get(h, 0);
    int was = c && c->creds_hidden;
    if (was) {
        c->creds_hidden = 0;
        bearer = c->bearer ? strdup(c->bearer) : NULL;
        user = c->user ? strdup(c->user) : NULL;
        passwd = c->passwd ? strdup(c->passwd) : NULL;
    }
    hfs_curl_unlock();
    if (!was)
        return;
    setopt_fn real_setopt = (setopt_fn)REAL(curl_easy_setopt);
    real_setopt(h, CURLOPT_XOAUTH2_BEARER, bearer); /* libcurl copies them */
    real_setopt(h, CURLOPT_USERNAME, user);
    real_setopt(h, CURLOPT_PASSWORD, passwd);
    free(bearer);
    free(user);
    if (passwd)
        memset(passwd, 0, strlen(passwd));
    free(passwd);
}

int hfs_curl_creds_setopt(CURL *h, CURLoption opt, void *p)
{
    if (opt != CURLOPT_XOAUTH2_BEARER && opt != CURLOPT_USERNAME && opt != CURLOPT_PASSWORD && opt != CURLOPT_USERPWD)
        return 0;
    struct hfs_curl *c = hfs_curl_get(h, 0);
    int hidden = c && c->creds_hidden;
    hfs_curl_unlock();
    if (hidden) /* the transfer runs without them: the app's new value waits for the restore */
        hfs_curl_note_option(h, opt, 0, p, 0);
    return hidden;
}

void hfs_curl_fix_dup_creds(CURL *dst, const struct hfs_curl *c)
{
    setopt_fn real_setopt = (setopt_fn)REAL(curl_easy_setopt);
    if (c->pipewait_off)
        real_setopt(dst, CURLOPT_PIPEWAIT, 1L);
    if (!c->creds_hidden)
        return;
    real_setopt(dst, CURLOPT_XOAUTH2_BEARER, c->bearer);
    real_setopt(dst, CURLOPT_USERNAME, c->user);
    real_setopt(dst, CURLOPT_PASSWORD, c->passwd);
}
