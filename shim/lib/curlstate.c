/* curlstate: per-handle state of the libcurl layer (see header). */
#include "curlstate.h"

#include "real.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 256

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

__thread CURL *hfs_curl_performing __attribute__((tls_model("initial-exec")));
__thread int hfs_in_curl __attribute__((tls_model("initial-exec")));
__thread int hfs_curl_in_callback __attribute__((tls_model("initial-exec")));

/* fork (the handle map): the lock is taken before fork (atfork.c's order),
 * released after it in the parent and in the child. */
void hfs_curl_fork_prepare(void) { pthread_mutex_lock(&lock); }
void hfs_curl_fork_parent(void) { pthread_mutex_unlock(&lock); }
void hfs_curl_fork_child(void) { pthread_mutex_unlock(&lock); }

static struct hfs_curl *table[BUCKETS];
static atomic_long virtual_count; /* entries with virtual_done set */

void hfs_curl_set_virtual(struct hfs_curl *c, int done)
{
    done = done != 0;
    if (c->virtual_done != done)
        atomic_fetch_add_explicit(&virtual_count, done ? 1 : -1, memory_order_relaxed);
    c->virtual_done = done;
}

int hfs_curl_any_virtual(void) { return atomic_load_explicit(&virtual_count, memory_order_relaxed) != 0; }

static unsigned bucket(CURL *h)
{
    uintptr_t x = (uintptr_t)h;
    x ^= x >> 17;
    x *= 0x9E3779B97F4A7C15ull;
    return (unsigned)(x >> 56) % BUCKETS;
}

/* An empty entry: every field zero (the strings empty), then the defaults. */
static void blank(struct hfs_curl *c, CURL *h, struct hfs_curl *next)
{
    memset(c, 0, offsetof(struct hfs_curl, reach_host));
    c->reach_host[0] = c->answer_ctype[0] = c->answer_url[0] = c->answer_method[0] = 0;
    c->postsize = -1;
    c->httpauth = CURLAUTH_BASIC;
    c->h = h;
    c->next = next;
}

/* The last entry this thread looked up, used without the lock while no
 * entry has left the map since (left: bumped under the lock by every
 * unlink). libcurl lets one thread at a time use a handle, and the app's
 * own synchronisation carries a handle (and this count) from one thread
 * to the next, so the thread using h is the only one touching its entry;
 * the lock guards the map's chains, and the rest of this file's entries.
 * A handle freed and another made at the same address is a different
 * epoch: never the old entry. */
static atomic_ulong epoch;
static __thread struct {
    CURL *h;
    struct hfs_curl *c;
    unsigned long epoch;
    int held; /* this thread holds the lock (hfs_curl_unlock releases it) */
} last __attribute__((tls_model("initial-exec")));

static __attribute__((noinline)) struct hfs_curl *get_locked(CURL *h, int create);

struct hfs_curl *hfs_curl_get(CURL *h, int create)
{
    if (h && last.h == h && last.epoch == atomic_load_explicit(&epoch, memory_order_acquire))
        return last.c;
    return get_locked(h, create);
}

static struct hfs_curl *get_locked(CURL *h, int create)
{
    pthread_mutex_lock(&lock);
    last.held = 1;
    struct hfs_curl **slot = &table[bucket(h)], *c;
    for (c = *slot; c; c = c->next)
        if (c->h == h)
            break;
    if (!c && create && (c = malloc(sizeof *c))) {
        blank(c, h, *slot);
        *slot = c;
    }
    if (c) {
        last.h = h;
        last.c = c;
        last.epoch = atomic_load_explicit(&epoch, memory_order_relaxed);
    }
    return c;
}

void (*hfs_curl_watch_dtor)(struct hfs_curl_watch *x);

void hfs_curl_unlock(void)
{
    if (last.held) {
        last.held = 0;
        pthread_mutex_unlock(&lock);
    }
}

static void free_fields(struct hfs_curl *c)
{
    free(c->url);
    free(c->custom);
    free(c->range);
    free(c->postcopy);
    free(c->bearer);
    free(c->user);
    free(c->passwd);
    if (c->watch && hfs_curl_watch_dtor) /* its callbacks are off the handle: reset or cleanup */
        hfs_curl_watch_dtor(c->watch);
    if (c->ours && hfs_curl_api()->slist_free_all)
        hfs_curl_api()->slist_free_all(c->ours);
}

void hfs_curl_clear(struct hfs_curl *c)
{
    hfs_curl_set_virtual(c, 0);
    CURL *h = c->h;
    struct hfs_curl *next = c->next;
    free_fields(c);
    blank(c, h, next);
}

struct hfs_curl *hfs_curl_unlink(CURL *h)
{
    struct hfs_curl *c = NULL;
    pthread_mutex_lock(&lock);
    for (struct hfs_curl **p = &table[bucket(h)]; *p; p = &(*p)->next)
        if ((*p)->h == h) {
            c = *p;
            *p = c->next;
            atomic_fetch_add_explicit(&epoch, 1, memory_order_release);
            break;
        }
    pthread_mutex_unlock(&lock);
    return c;
}

void hfs_curl_free_entry(struct hfs_curl *c)
{
    if (!c)
        return;
    hfs_curl_set_virtual(c, 0);
    free_fields(c);
    free(c);
}

void hfs_curl_copy(CURL *dst, CURL *src)
{
    struct hfs_curl *s = hfs_curl_get(src, 0), copy;
    if (!s) {
        hfs_curl_unlock();
        return;
    }
    copy = *s;
    copy.url = s->url ? strdup(s->url) : NULL;
    copy.custom = s->custom ? strdup(s->custom) : NULL;
    copy.range = s->range ? strdup(s->range) : NULL;
    copy.bearer = s->bearer ? strdup(s->bearer) : NULL;
    copy.user = s->user ? strdup(s->user) : NULL;
    copy.passwd = s->passwd ? strdup(s->passwd) : NULL;
    copy.postcopy = NULL;
    if (s->postcopy) {
        size_t n = 0;
        const char *pf = hfs_curl_postfields(s, &n);
        if (pf && (copy.postcopy = malloc(n + 1))) {
            memcpy(copy.postcopy, pf, n);
            copy.postcopy[n] = 0;
        }
    }
    copy.ours = NULL; /* curl_easy_duphandle copies the options, not our transfer */
    copy.virtual_done = 0;
    copy.watch = NULL;
    copy.creds_hidden = 0;
    copy.pipewait_off = 0;
    copy.attached = 0;
    copy.multi = NULL;
    hfs_curl_unlock();
    struct hfs_curl *d = hfs_curl_get(dst, 1);
    if (d) {
        struct hfs_curl *next = d->next;
        hfs_curl_set_virtual(d, 0);
        free_fields(d);
        *d = copy;
        d->h = dst;
        d->next = next;
    } else {
        free(copy.url);
        free(copy.custom);
        free(copy.range);
        free(copy.postcopy);
        free(copy.bearer);
        free(copy.user);
        free(copy.passwd);
    }
    hfs_curl_unlock();
}

static void set_str(char **dst, const void *p)
{
    free(*dst);
    *dst = p ? strdup(p) : NULL;
}

const char *hfs_curl_postfields(const struct hfs_curl *c, size_t *len)
{
    const char *p = c->postcopy ? c->postcopy : c->postfields;
    if (!p)
        return NULL;
    *len = c->postsize >= 0 ? (size_t)c->postsize : strlen(p);
    return p;
}

int hfs_curl_note_option(CURL *h, CURLoption opt, long l, void *p, curl_off_t o)
{
    if (!hfs_curl_noted(opt))
        return 0;
    struct hfs_curl *c = hfs_curl_get(h, 0); /* only handles the app made */
    if (!c) {
        hfs_curl_unlock();
        return 0;
    }
    int attached = c->attached && h != hfs_curl_performing;
    switch (opt) {
    case CURLOPT_URL: set_str(&c->url, p); break; /* libcurl uses CURLOPT_CURLU over it when both are set */
    case CURLOPT_CURLU: c->curlu = p; break;
    case CURLOPT_CUSTOMREQUEST: set_str(&c->custom, p); break;
    case CURLOPT_RANGE: set_str(&c->range, p); break;
    /* the same state changes as libcurl's setopt.c (7.88) */
    case CURLOPT_NOBODY: c->nobody = l != 0; break;
    /* what a fault rule changes for one transfer and gives back (curlplan.c) */
    case CURLOPT_CONNECT_TO: c->app_connect_to = p; break;
    case CURLOPT_FRESH_CONNECT: c->app_fresh = l != 0; break;
    case CURLOPT_FORBID_REUSE: c->app_forbid_reuse = l != 0; break;
    case CURLOPT_MAX_RECV_SPEED_LARGE: c->app_max_recv = o; break;
    case CURLOPT_CONNECTTIMEOUT: c->app_connect_ms = l > 0 && l < 86400 ? l * 1000 : 0; break;
    case CURLOPT_CONNECTTIMEOUT_MS: c->app_connect_ms = l > 0 ? l : 0; break;
    case CURLOPT_LOW_SPEED_LIMIT:
    case CURLOPT_LOW_SPEED_TIME: c->app_low_speed = l > 0; break;
    case CURLOPT_POST:
        c->req = l ? HFS_CURL_POST : HFS_CURL_GET;
        if (l)
            c->nobody = 0;
        break;
    case CURLOPT_HTTPGET:
        if (l) {
            c->req = HFS_CURL_GET;
            c->nobody = 0;
        }
        break;
    case CURLOPT_UPLOAD:
    case CURLOPT_PUT:
        c->req = l ? HFS_CURL_PUT : HFS_CURL_GET;
        if (l)
            c->nobody = 0;
        break;
    case CURLOPT_POSTFIELDS:
        c->req = HFS_CURL_POST;
        c->postfields = p;
        free(c->postcopy);
        c->postcopy = NULL;
        break;
    case CURLOPT_COPYPOSTFIELDS: {
        c->req = HFS_CURL_POST;
        size_t n = !p ? 0 : c->postsize >= 0 ? (size_t)c->postsize : strlen(p);
        free(c->postcopy);
        c->postcopy = NULL;
        c->postfields = NULL;
        if (p && n <= HFS_CURL_POSTCOPY_MAX && (c->postcopy = malloc(n + 1))) {
            memcpy(c->postcopy, p, n);
            c->postcopy[n] = 0;
            c->postsize = (long long)n;
        }
        break;
    }
    case CURLOPT_POSTFIELDSIZE: c->postsize = l; break;
    case CURLOPT_POSTFIELDSIZE_LARGE: c->postsize = (long long)o; break;
    case CURLOPT_MIMEPOST:
    case CURLOPT_HTTPPOST:
        if (p)
            c->req = HFS_CURL_POST;
        break;
    case CURLOPT_HTTPHEADER: c->headers = p; break;
    case CURLOPT_ERRORBUFFER: c->errbuf = p; break;
    case CURLOPT_WRITEFUNCTION: c->writefn = (curl_write_callback)p; break;
    case CURLOPT_WRITEDATA:
        c->writedata = p;
        c->writedata_set = 1;
        break;
    case CURLOPT_HEADERFUNCTION: c->headerfn = (curl_write_callback)p; break;
    case CURLOPT_HEADERDATA: c->headerdata = p; break;
    case CURLOPT_FAILONERROR: c->failonerror = l != 0; break;
    case CURLOPT_HEADER: c->include_header = l != 0; break;
    case CURLOPT_XOAUTH2_BEARER: set_str(&c->bearer, p); break;
    case CURLOPT_USERNAME: set_str(&c->user, p); break;
    case CURLOPT_PASSWORD: set_str(&c->passwd, p); break;
    case CURLOPT_USERPWD: { /* libcurl: the user up to the first ':', the password after it (none without one) */
        const char *up = p, *colon = up ? strchr(up, ':') : NULL;
        free(c->user);
        free(c->passwd);
        c->user = up ? (colon ? strndup(up, (size_t)(colon - up)) : strdup(up)) : NULL;
        c->passwd = colon ? strdup(colon + 1) : NULL;
        break;
    }
    case CURLOPT_HTTPAUTH: c->httpauth = l; break;
    case CURLOPT_PIPEWAIT: c->pipewait = l != 0; break;
    default: break;
    }
    hfs_curl_unlock();
    return attached;
}

void hfs_curl_method(const struct hfs_curl *c, char *out, size_t outlen)
{
    static const char *const names[] = { "GET", "POST", "PUT" };
    const char *m = c->custom ? c->custom : c->nobody ? "HEAD" : names[c->req];
    size_t n = strlen(m);
    if (!outlen)
        return;
    if (n >= outlen) /* cut as snprintf would */
        n = outlen - 1;
    memcpy(out, m, n);
    out[n] = 0;
}

static struct hfs_curl_api api;
static pthread_once_t api_once = PTHREAD_ONCE_INIT;

static void load_api(void)
{
    /* the app's libcurl is already loaded: it is calling it */
    *(void **)&api.slist_append = hfs_real_curl("curl_slist_append");
    *(void **)&api.slist_free_all = hfs_real_curl("curl_slist_free_all");
    *(void **)&api.url_get = hfs_real_curl("curl_url_get");
    *(void **)&api.free_ = hfs_real_curl("curl_free");
}

const struct hfs_curl_api *hfs_curl_api(void)
{
    pthread_once(&api_once, load_api);
    return &api;
}
