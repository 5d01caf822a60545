/* curlwatch: response heads of watched libcurl transfers (see header). */
#include "curlwatch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../core/log.h"
#include "curlcreds.h"
#include "real.h"

#define HOLD_MAX (1u << 20) /* held bytes per answer; a head that big aborts the transfer */
#define MAX_FIELDS 128      /* header fields shown to the watch */

typedef CURLcode (*getinfo_fn)(CURL *, CURLINFO, ...);

enum mode {
    HOLD,    /* the head is held until it is judged */
    STREAM,  /* judged: everything goes to the app as it comes */
    SWALLOW, /* this answer is dropped: the transfer runs again */
};

/* One held call: header (or, with CURLOPT_HEADER, its copy in the body). */
struct ev {
    int body;
    size_t off, n;
};

struct hfs_curl_watch {
    CURL *h;
    struct hfs_auth_watch w;
    int can_retry, probe, optcred;
    /* the app's own output, as libcurl would use it */
    curl_write_callback app_write, app_header;
    void *app_wdata, *app_hdata;
    enum mode mode;
    int retry; /* this answer was dropped: run the transfer again */
    char *buf;
    size_t len, cap;
    struct ev *ev;
    size_t nev, evcap;
    size_t block;  /* event of the current head's status line */
    int status;    /* of the current head; 0: none yet */
    size_t resume; /* the replay paused before event resume-1; 0: not paused */
    char *errbuf;  /* the app's CURLOPT_ERRORBUFFER, and what it held before the transfer */
    char errsave[CURL_ERROR_SIZE];
    int auth;           /* a token watch (else only a reset rule's cut) */
    long cut;           /* a reset rule: response bytes (head lines and body) the app still gets; -1: none */
    int cut_hit;        /* the cut was reached: the transfer ends as a reset */
    long rate;          /* a throttle rule: bytes/s the app gets the response at; 0: any */
    long long paced;    /* bytes given so far at that rate */
    struct timespec t0; /* when the first of them was given */
};

/* A throttle rule: n more bytes reach the app no sooner than the rate
 * allows (the callback waits; libcurl then reads the socket no faster). */
static void pace(struct hfs_curl_watch *x, size_t n)
{
    struct timespec now;
    if (x->rate <= 0 || n == 0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!x->paced)
        x->t0 = now;
    x->paced += (long long)n;
    long long due_ns = x->paced * 1000000000LL / x->rate;
    long long done_ns = (now.tv_sec - x->t0.tv_sec) * 1000000000LL + (now.tv_nsec - x->t0.tv_nsec);
    if (due_ns > done_ns) {
        long long w = due_ns - done_ns;
        struct timespec ts = { (time_t)(w / 1000000000LL), (long)(w % 1000000000LL) };
        while (nanosleep(&ts, &ts) && errno == EINTR)
            ;
    }
}

/* A reset rule: at most x->cut more bytes reach the app; at the cut the
 * callback returns short, libcurl stops the transfer and its result is
 * made the one of a reset connection (hfs_curl_watch_finish). */
static size_t cut_len(struct hfs_curl_watch *x, size_t n, int *over)
{
    *over = 0;
    if (x->cut < 0)
        return n;
    if ((size_t)x->cut < n) {
        n = (size_t)x->cut;
        *over = 1;
    }
    x->cut -= (long)n;
    if (*over)
        x->cut_hit = 1;
    return n;
}

static size_t to_body_all(struct hfs_curl_watch *x, char *p, size_t n)
{
    if (x->app_write)
        return x->app_write(p, 1, n, x->app_wdata);
    return fwrite(p, 1, n, x->app_wdata ? (FILE *)x->app_wdata : stdout);
}

static size_t to_body(struct hfs_curl_watch *x, char *p, size_t n)
{
    int over;
    size_t k = cut_len(x, n, &over);
    pace(x, k);
    size_t w = k ? to_body_all(x, p, k) : 0;
    return over ? (w == CURL_WRITEFUNC_PAUSE ? w : 0) : (k == n ? w : 0);
}

/* libcurl: the header function with the header data; without one, the
 * write function with the header data when that is set; else nowhere. */
static size_t to_header_all(struct hfs_curl_watch *x, char *p, size_t n);

static size_t to_header(struct hfs_curl_watch *x, char *p, size_t n)
{
    int over;
    size_t k = cut_len(x, n, &over);
    pace(x, k);
    size_t w = k ? to_header_all(x, p, k) : 0;
    return over ? 0 : w;
}

static size_t to_header_all(struct hfs_curl_watch *x, char *p, size_t n)
{
    if (x->app_header)
        return x->app_header(p, 1, n, x->app_hdata);
    if (x->app_hdata)
        return x->app_write ? x->app_write(p, 1, n, x->app_hdata) : fwrite(p, 1, n, (FILE *)x->app_hdata);
    return n;
}

static void drop(struct hfs_curl_watch *x)
{
    x->len = x->nev = 0;
    x->block = 0;
    x->resume = 0;
}

static int hold(struct hfs_curl_watch *x, int body, const char *p, size_t n)
{
    if (x->len + n > HOLD_MAX)
        return 0;
    if (x->len + n > x->cap) {
        size_t cap = x->cap ? x->cap : 4096;
        while (cap < x->len + n)
            cap *= 2;
        char *b = realloc(x->buf, cap);
        if (!b)
            return 0;
        x->buf = b;
        x->cap = cap;
    }
    if (x->nev == x->evcap) {
        size_t cap = x->evcap ? x->evcap * 2 : 32;
        struct ev *e = realloc(x->ev, cap * sizeof *e);
        if (!e)
            return 0;
        x->ev = e;
        x->evcap = cap;
    }
    memcpy(x->buf + x->len, p, n);
    x->ev[x->nev++] = (struct ev){ body, x->len, n };
    x->len += n;
    return 1;
}

static int blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != '\r' && p[i] != '\n')
            return 0;
    return 1;
}

/* "HTTP/1.1 401 Unauthorized", "HTTP/2 401": the status, or 0. */
static int status_of(const char *p, size_t n)
{
    size_t i = 5;
    while (i < n && p[i] != ' ')
        i++;
    while (i < n && p[i] == ' ')
        i++;
    if (i + 3 > n || p[i] < '1' || p[i] > '5' || p[i + 1] < '0' || p[i + 1] > '9' || p[i + 2] < '0' || p[i + 2] > '9')
        return 0;
    return (p[i] - '0') * 100 + (p[i + 1] - '0') * 10 + (p[i + 2] - '0');
}

/* The current head's fields, pointing into the held bytes. */
static size_t fields(const struct hfs_curl_watch *x, struct hfs_header *h, size_t cap)
{
    size_t k = 0;
    for (size_t i = x->block + 1; i < x->nev && k < cap; i++) {
        const struct ev *e = &x->ev[i];
        if (e->body)
            continue;
        const char *l = x->buf + e->off;
        size_t n = e->n;
        while (n && (l[n - 1] == '\n' || l[n - 1] == '\r'))
            n--;
        if (!n)
            break;
        const char *colon = memchr(l, ':', n);
        if (!colon || colon == l)
            continue; /* a folded continuation, or not a field */
        size_t nl = (size_t)(colon - l);
        while (nl && (l[nl - 1] == ' ' || l[nl - 1] == '\t'))
            nl--;
        const char *v = colon + 1;
        size_t vl = n - (size_t)(v - l);
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        h[k++] = (struct hfs_header){ l, nl, v, vl };
    }
    return k;
}

static int has_field(const struct hfs_header *h, size_t n, const char *name)
{
    size_t l = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (h[i].name_len == l && strncasecmp(h[i].name, name, l) == 0)
            return 1;
    return 0;
}

/* Replays the held calls to the app, from where a pause stopped it. n:
 * the size of the line libcurl is delivering (the head's blank line),
 * returned when every call took its bytes. */
static size_t replay(struct hfs_curl_watch *x, size_t n)
{
    size_t i = x->resume ? x->resume - 1 : 0;
    x->resume = 0;
    x->mode = STREAM;
    for (; i < x->nev; i++) {
        const struct ev e = x->ev[i];
        size_t w = e.body ? to_body(x, x->buf + e.off, e.n) : to_header(x, x->buf + e.off, e.n);
        if (w == CURL_WRITEFUNC_PAUSE) { /* libcurl delivers this line again on unpause: go on from here */
            x->mode = HOLD;
            x->resume = i + 1;
            return CURL_WRITEFUNC_PAUSE;
        }
        if (w != e.n) { /* the app aborts the transfer, as it would have */
            drop(x);
            return n ? 0 : 1;
        }
    }
    drop(x);
    return n;
}

/* The head just completed is the answer to judge: not an interim 1xx,
 * not a proxy's answer to CONNECT (libcurl has no response code yet),
 * not a challenge libcurl answers itself with the option credential. */
static int final_head(struct hfs_curl_watch *x, const struct hfs_header *h, size_t nh)
{
    long code = 0;
    getinfo_fn real_getinfo = (getinfo_fn)REAL(curl_easy_getinfo);
    if (x->status < 200)
        return 0;
    if (real_getinfo && real_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 0)
        return 0;
    if (x->probe && ((x->status == 401 && has_field(h, nh, "WWW-Authenticate")) ||
                     (x->status == 407 && has_field(h, nh, "Proxy-Authenticate"))))
        return 0;
    return 1;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct hfs_curl_watch *x = ud;
    size_t n = size * nmemb;
    if (x->mode == SWALLOW)
        return n;
    if (x->mode == STREAM)
        return to_header(x, p, n);
    if (x->resume) /* the line the app paused on comes again */
        return replay(x, n);
    if (!hold(x, 0, p, n)) {
        hfs_log_msg("error", "a response head of %s %s is too large to hold; the transfer is aborted", x->w.method,
                    x->w.url);
        return n ? 0 : 1;
    }
    if (n > 5 && memcmp(p, "HTTP/", 5) == 0) {
        x->block = x->nev - 1;
        x->status = status_of(p, n);
    }
    if (!blank(p, n))
        return n;
    struct hfs_header h[MAX_FIELDS];
    size_t nh = fields(x, h, MAX_FIELDS);
    if (!final_head(x, h, nh))
        return n; /* held with the next head */
    if (hfs_auth_watch_response(&x->w, x->status, h, nh, x->can_retry)) {
        x->mode = SWALLOW;
        x->retry = 1;
        drop(x);
        /* the answer is read to its end and dropped (the connection stays
         * open for the retry), unless libcurl could send an option
         * credential again on its own first: then the transfer stops here */
        return x->optcred ? 0 : n;
    }
    return replay(x, n);
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    struct hfs_curl_watch *x = ud;
    size_t n = size * nmemb;
    if (x->mode == SWALLOW)
        return n;
    if (x->mode == STREAM)
        return to_body(x, p, n);
    if (!hold(x, 1, p, n)) /* body before any head: not HTTP as libcurl speaks it */
        return n ? 0 : 1;
    return n;
}

static struct hfs_curl_watch *watch_of(CURL *h)
{
    struct hfs_curl *c = hfs_curl_get(h, 0);
    struct hfs_curl_watch *x = c ? c->watch : NULL;
    hfs_curl_unlock();
    return x;
}

int hfs_curl_watch_active(CURL *h) { return watch_of(h) != NULL; }

void hfs_curl_watch_install(CURL *h, const struct hfs_auth_watch *w, int can_retry, int probe, int optcred)
{
    struct hfs_curl_watch *x = calloc(1, sizeof *x);
    if (!x)
        return;
    hfs_curl_watch_dtor = hfs_curl_watch_free; /* before any handle has a watch */
    x->h = h;
    if (w)
        x->w = *w;
    x->can_retry = can_retry;
    x->probe = probe;
    x->optcred = optcred;
    x->mode = w ? HOLD : STREAM;
    x->auth = w != NULL;
    x->cut = -1;
    struct hfs_curl *c = hfs_curl_get(h, 0);
    if (!c || c->watch) {
        hfs_curl_unlock();
        free(x);
        return;
    }
    x->app_write = c->writefn;
    x->app_wdata = c->writedata_set ? c->writedata : stdout;
    x->app_header = c->headerfn;
    x->app_hdata = c->headerdata;
    x->errbuf = c->errbuf;
    if (x->errbuf) /* libcurl's contract: at least CURL_ERROR_SIZE bytes */
        memcpy(x->errsave, x->errbuf, CURL_ERROR_SIZE);
    c->watch = x;
    hfs_curl_unlock();
    setopt_fn real_setopt = (setopt_fn)REAL(curl_easy_setopt);
    real_setopt(h, CURLOPT_WRITEFUNCTION, (curl_write_callback)on_write);
    real_setopt(h, CURLOPT_WRITEDATA, (void *)x);
    real_setopt(h, CURLOPT_HEADERFUNCTION, (curl_write_callback)on_header);
    real_setopt(h, CURLOPT_HEADERDATA, (void *)x);
}

/* Puts the app's callbacks on the real handle h. */
static void app_callbacks(CURL *h, curl_write_callback wf, void *wd, curl_write_callback hf, void *hd)
{
    setopt_fn real_setopt = (setopt_fn)REAL(curl_easy_setopt);
    real_setopt(h, CURLOPT_WRITEFUNCTION, wf); /* NULL: libcurl's fwrite */
    real_setopt(h, CURLOPT_WRITEDATA, wd);
    real_setopt(h, CURLOPT_HEADERFUNCTION, hf);
    real_setopt(h, CURLOPT_HEADERDATA, hd);
}

void hfs_curl_watch_remove(CURL *h)
{
    struct hfs_curl *c = hfs_curl_get(h, 0);
    struct hfs_curl_watch *x = c ? c->watch : NULL;
    curl_write_callback wf = NULL, hf = NULL;
    void *wd = NULL, *hd = NULL;
    if (x) {
        c->watch = NULL;
        wf = c->writefn;
        wd = c->writedata_set ? c->writedata : stdout;
        hf = c->headerfn;
        hd = c->headerdata;
    }
    hfs_curl_unlock();
    if (!x)
        return;
    app_callbacks(h, wf, wd, hf, hd);
    hfs_curl_watch_free(x);
}

void hfs_curl_watch_fault(CURL *h, long cut, long rate)
{
    if (!hfs_curl_watch_active(h))
        hfs_curl_watch_install(h, NULL, 0, 0, 0);
    struct hfs_curl *c = hfs_curl_get(h, 0);
    if (c && c->watch) {
        c->watch->cut = cut;
        c->watch->rate = rate;
    }
    hfs_curl_unlock();
}

void hfs_curl_watch_free(struct hfs_curl_watch *x)
{
    if (!x)
        return;
    free(x->buf);
    free(x->ev);
    free(x);
}

void hfs_curl_watch_fix_dup(CURL *dst, const struct hfs_curl *c)
{
    if (c->watch)
        app_callbacks(dst, c->writefn, c->writedata_set ? c->writedata : stdout, c->headerfn, c->headerdata);
}

int hfs_curl_watch_setopt(CURL *h, CURLoption opt, void *p)
{
    if (opt != CURLOPT_WRITEFUNCTION && opt != CURLOPT_WRITEDATA && opt != CURLOPT_HEADERFUNCTION &&
        opt != CURLOPT_HEADERDATA)
        return 0;
    struct hfs_curl *c = hfs_curl_get(h, 0);
    struct hfs_curl_watch *x = c ? c->watch : NULL;
    if (x) {
        switch (opt) {
        case CURLOPT_WRITEFUNCTION: x->app_write = (curl_write_callback)p; break;
        case CURLOPT_WRITEDATA: x->app_wdata = p; break;
        case CURLOPT_HEADERFUNCTION: x->app_header = (curl_write_callback)p; break;
        default: x->app_hdata = p; break;
        }
    }
    hfs_curl_unlock();
    if (x)
        hfs_curl_note_option(h, opt, 0, p, 0);
    return x != NULL;
}

int hfs_curl_watch_finish(CURL *h, CURLcode *rc)
{
    struct hfs_curl_watch *x = watch_of(h);
    if (!x)
        return 0;
    if (x->cut_hit && (*rc == CURLE_WRITE_ERROR || *rc == CURLE_OK)) {
        /* a reset rule cut the response: the transfer ends as libcurl ends one whose peer reset */
        *rc = CURLE_RECV_ERROR;
        if (x->errbuf)
            snprintf(x->errbuf, CURL_ERROR_SIZE, "Recv failure: Connection reset by peer");
        return 0;
    }
    if (x->retry)
        return 1;
    if (x->mode != HOLD)
        return 0;
    /* a head still held: the transfer ended inside it (or before its
     * blank line reached the callback) */
    int answered = *rc == CURLE_OK || *rc == CURLE_HTTP_RETURNED_ERROR;
    x->resume = 0;
    if (answered && x->nev && x->status >= 200) {
        struct hfs_header hd[MAX_FIELDS];
        size_t nh = fields(x, hd, MAX_FIELDS);
        if (hfs_auth_watch_response(&x->w, x->status, hd, nh, x->can_retry)) {
            x->mode = SWALLOW;
            x->retry = 1;
            drop(x);
            return 1;
        }
    } else if (answered && !x->nev) { /* a libcurl that failed before showing any header: the status alone */
        long code = 0;
        getinfo_fn real_getinfo = (getinfo_fn)REAL(curl_easy_getinfo);
        if (real_getinfo && real_getinfo(h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code >= 200 &&
            hfs_auth_watch_response(&x->w, (int)code, NULL, 0, x->can_retry)) {
            x->mode = SWALLOW;
            x->retry = 1;
            return 1;
        }
    }
    /* what the app has not seen yet, as libcurl would have shown it */
    hfs_curl_in_callback++;
    for (size_t i = 0; i < x->nev; i++) {
        const struct ev e = x->ev[i];
        size_t w = e.body ? to_body(x, x->buf + e.off, e.n) : to_header(x, x->buf + e.off, e.n);
        if (w != e.n && w != CURL_WRITEFUNC_PAUSE) {
            if (*rc == CURLE_OK) {
                *rc = CURLE_WRITE_ERROR;
                if (x->errbuf)
                    snprintf(x->errbuf, CURL_ERROR_SIZE, "Failed writing header");
            }
            break;
        }
    }
    hfs_curl_in_callback--;
    drop(x);
    x->mode = STREAM;
    return 0;
}

int hfs_curl_watch_rearm(CURL *h)
{
    const struct hfs_curl_api *api = hfs_curl_api();
    struct hfs_curl *c = hfs_curl_get(h, 0);
    struct hfs_curl_watch *x = c ? c->watch : NULL;
    struct curl_slist *cur = c ? (c->ours ? c->ours : c->headers) : NULL;
    hfs_curl_unlock();
    if (!x)
        return -1;
    x->mode = HOLD;
    x->retry = 0;
    x->status = 0;
    drop(x);
    if (x->errbuf)
        memcpy(x->errbuf, x->errsave, CURL_ERROR_SIZE);
    /* the same lines without Authorization, and "Authorization:" so that
     * libcurl makes none from options or the URL */
    struct curl_slist *anon = NULL;
    int ok = api->slist_append && api->slist_free_all;
    for (struct curl_slist *s = cur; ok && s; s = s->next) {
        size_t n = strlen("Authorization");
        const char *l = s->data;
        if (!l)
            continue;
        if (strncasecmp(l, "Authorization", n) == 0) {
            while (l[n] == ' ' || l[n] == '\t')
                n++;
            if (l[n] == ':' || l[n] == ';')
                continue;
        }
        struct curl_slist *t = api->slist_append(anon, l);
        ok = t != NULL;
        anon = t ? t : anon;
    }
    struct curl_slist *t = ok ? api->slist_append(anon, "Authorization:") : NULL;
    if (!t) {
        if (anon && api->slist_free_all)
            api->slist_free_all(anon);
        hfs_log_msg("error", "out of memory: %s %s cannot be retried without Authorization", x->w.method, x->w.url);
        return -1;
    }
    anon = t;
    ((setopt_fn)REAL(curl_easy_setopt))(h, CURLOPT_HTTPHEADER, anon);
    c = hfs_curl_get(h, 0);
    struct curl_slist *old = NULL;
    int pipewait = 0;
    if (c) {
        old = c->ours;
        c->ours = anon;
        anon = NULL;
        /* a transfer added again while others run on the host's one
         * connection would wait (PIPEWAIT) for a wake-up that came and
         * went: the retry takes any connection */
        pipewait = c->pipewait && !c->pipewait_off;
        c->pipewait_off |= pipewait;
    }
    hfs_curl_unlock();
    if (pipewait)
        ((setopt_fn)REAL(curl_easy_setopt))(h, CURLOPT_PIPEWAIT, 0L);
    if (old)
        api->slist_free_all(old);
    if (anon)
        api->slist_free_all(anon);
    hfs_curl_hide_creds(h);
    return 0;
}
