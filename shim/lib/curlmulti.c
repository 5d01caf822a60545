/* curlmulti: the libcurl layer's multi-interface hooks. A transfer the
 * shim answers or fails is never added to the real multi handle: it is
 * kept here as pending, its callbacks run on the app's next
 * curl_multi_perform/socket_action (never inside add_handle), its
 * CURLMSG_DONE comes out of curl_multi_info_read before the real ones,
 * curl_multi_poll/wait do not sleep while one is waiting, and
 * curl_multi_remove_handle forgets it. The app's timer callback is told
 * to act at once, so event-driven apps (socket_action) run it too.
 *
 * A transfer whose response the token watch holds (curlwatch.h) is
 * followed to its end: while any is in a multi handle, the real
 * completion messages are taken out of libcurl right after each
 * curl_multi_perform/socket_action and kept, in order, for
 * curl_multi_info_read. A watched transfer whose answer was dropped for
 * the anonymous retry is removed and added again with Authorization
 * removed, its first completion never reported and the running count the
 * app was just given counting it again. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "curlmulti.h"
#include "curlplan.h"
#include "curlwatch.h"
#include "real.h"
#include "state.h"

struct pending {
    CURLM *m;
    CURL *e;
    int delivered, read;
    int busy, removed; /* callbacks running; the app removed it meanwhile */
    CURLMsg msg;
    struct pending *next;
    struct hfs_curl_plan plan; /* last: its answer points into itself */
};

/* Frees a pending transfer and what its plan holds. */
static void drop(struct pending *p)
{
    if (p)
        hfs_curl_plan_done(&p->plan);
    free(p);
}

struct timer {
    CURLM *m;
    curl_multi_timer_callback fn;
    void *data;
    struct timer *next;
};

/* A watched transfer in a multi handle. */
struct watched {
    CURLM *m;
    CURL *e;
    struct watched *next;
};

/* A completion message taken from libcurl, waiting for info_read; kept
 * until the handle is removed (the app may hold the pointer till then). */
struct stashed {
    CURLM *m;
    CURL *e;
    CURLMsg msg;
    int read;
    struct stashed *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* fork (the pending transfers and timers): the lock is taken before fork (atfork.c's order),
 * released after it in the parent and in the child. */
void hfs_curl_multi_fork_prepare(void) { pthread_mutex_lock(&lock); }
void hfs_curl_multi_fork_parent(void) { pthread_mutex_unlock(&lock); }
void hfs_curl_multi_fork_child(void) { pthread_mutex_unlock(&lock); }
static struct pending *pendings;
static struct timer *timers;
static struct watched *watcheds;
static struct stashed *stash, **stash_tail = &stash;
/* How many entries the four lists hold (changed under the lock). While it
 * is 0 (no transfer answered by hfshim or watched in any multi handle, no
 * timer callback known) the hooks below have nothing to look up and take
 * no lock: curl_easy_perform drives its own multi handle through them
 * some 10 times per transfer. A list entry is only ever about a multi or
 * easy handle of the thread using it, which sees its own changes. */
static atomic_long entries;

static void count(long d) { atomic_fetch_add_explicit(&entries, d, memory_order_relaxed); }
static int none(void) { return atomic_load_explicit(&entries, memory_order_relaxed) == 0; }

/* lock held */
static void stash_forget(CURLM *m, CURL *e)
{
    struct stashed **pp = &stash;
    stash_tail = &stash;
    while (*pp) {
        struct stashed *s = *pp;
        if ((!m || s->m == m) && (!e || s->e == e)) {
            *pp = s->next;
            free(s);
            count(-1);
        } else {
            pp = &s->next;
        }
    }
    for (struct stashed *s = stash; s; s = s->next)
        stash_tail = &s->next;
}

/* lock held */
static void watched_forget(CURLM *m, CURL *e)
{
    struct watched **pp = &watcheds;
    while (*pp) {
        struct watched *w = *pp;
        if ((!m || w->m == m) && (!e || w->e == e)) {
            *pp = w->next;
            free(w);
            count(-1);
        } else {
            pp = &w->next;
        }
    }
}

void hfs_curl_multi_watching(CURLM *m, CURL *e)
{
    pthread_mutex_lock(&lock);
    struct watched *w;
    for (w = watcheds; w && !(w->m == m && w->e == e); w = w->next)
        ;
    if (!w && (w = malloc(sizeof *w))) {
        w->m = m;
        w->e = e;
        w->next = watcheds;
        watcheds = w;
        count(1);
    }
    pthread_mutex_unlock(&lock);
    if (!w)
        hfs_log_msg("error", "out of memory: a transfer's response cannot be watched to its end");
}

/* 1 when completions of m must go through the stash. */
static int must_drain(CURLM *m)
{
    int any = 0;
    if (none())
        return 0;
    pthread_mutex_lock(&lock);
    for (struct watched *w = watcheds; w && !any; w = w->next)
        any = w->m == m;
    for (struct stashed *s = stash; s && !any; s = s->next)
        any = s->m == m;
    pthread_mutex_unlock(&lock);
    return any;
}

static int is_watched(CURLM *m, CURL *e)
{
    int yes = 0;
    if (none())
        return 0;
    pthread_mutex_lock(&lock);
    for (struct watched *w = watcheds; w && !yes; w = w->next)
        yes = w->m == m && w->e == e;
    pthread_mutex_unlock(&lock);
    return yes;
}

/* Takes libcurl's completion messages for m into the stash, after the
 * transfers have run; a watched transfer whose answer was dropped runs
 * again instead (no lock is held: the watch may call the app's
 * callbacks, libcurl the socket and timer callbacks). */
static void drain(CURLM *m, int *running)
{
    CURLMsg *(*real_read)(CURLM *, int *) = REAL(curl_multi_info_read);
    CURLMcode (*real_remove)(CURLM *, CURL *) = REAL(curl_multi_remove_handle);
    CURLMcode (*real_add)(CURLM *, CURL *) = REAL(curl_multi_add_handle);
    if (!real_read || !real_remove || !real_add)
        return;
    for (;;) {
        struct stashed *s = calloc(1, sizeof *s);
        int left;
        if (!s) /* what is left stays in libcurl's queue, after the stash: in order */
            return;
        CURLMsg *msg = real_read(m, &left);
        if (!msg) {
            free(s);
            return;
        }
        s->m = m;
        s->e = msg->easy_handle;
        s->msg = *msg;
        if (msg->msg == CURLMSG_DONE)
            hfs_curl_reach_done(s->e, msg->data.result);
        if (msg->msg == CURLMSG_DONE && is_watched(m, s->e)) {
            CURLcode rc = msg->data.result;
            if (hfs_curl_watch_finish(s->e, &rc)) {
                real_remove(m, s->e);
                if (hfs_curl_watch_rearm(s->e) == 0 && real_add(m, s->e) == CURLM_OK) {
                    if (running)
                        (*running)++;
                    free(s);
                    continue;
                }
                /* it cannot run again: its answer is gone */
                rc = CURLE_OUT_OF_MEMORY;
                struct hfs_curl *c = hfs_curl_get(s->e, 0);
                if (c)
                    c->attached = 0;
                hfs_curl_unlock();
            }
            s->msg.data.result = rc;
        }
        pthread_mutex_lock(&lock);
        *stash_tail = s;
        stash_tail = &s->next;
        count(1);
        pthread_mutex_unlock(&lock);
    }
}

typedef CURLMcode (*msetopt_fn)(CURLM *, CURLMoption, ...);

HFS_EXPORT CURLMcode curl_multi_setopt(CURLM *m, CURLMoption opt, ...)
{
    msetopt_fn real = (msetopt_fn)REAL(curl_multi_setopt);
    CURLMcode rc;
    va_list ap;
    if (!real)
        return CURLM_INTERNAL_ERROR;
    va_start(ap, opt);
    if (opt < CURLOPTTYPE_OBJECTPOINT) {
        long l = va_arg(ap, long);
        rc = real(m, opt, l);
    } else if (opt < CURLOPTTYPE_FUNCTIONPOINT) {
        void *p = va_arg(ap, void *);
        rc = real(m, opt, p);
        if (rc == CURLM_OK && opt == CURLMOPT_TIMERDATA) {
            pthread_mutex_lock(&lock);
            struct timer *t;
            for (t = timers; t && t->m != m; t = t->next)
                ;
            if (!t && (t = calloc(1, sizeof *t))) {
                t->m = m;
                t->next = timers;
                timers = t;
                count(1);
            }
            if (t)
                t->data = p;
            pthread_mutex_unlock(&lock);
        }
    } else if (opt < CURLOPTTYPE_OFF_T) {
        void (*f)(void) = va_arg(ap, void (*)(void));
        rc = real(m, opt, f);
        if (rc == CURLM_OK && opt == CURLMOPT_TIMERFUNCTION) {
            pthread_mutex_lock(&lock);
            struct timer *t;
            for (t = timers; t && t->m != m; t = t->next)
                ;
            if (!t && (t = calloc(1, sizeof *t))) {
                t->m = m;
                t->next = timers;
                timers = t;
                count(1);
            }
            if (t)
                t->fn = (curl_multi_timer_callback)f;
            pthread_mutex_unlock(&lock);
        }
    } else {
        curl_off_t o = va_arg(ap, curl_off_t);
        rc = real(m, opt, o);
    }
    va_end(ap);
    return rc;
}

HFS_EXPORT CURLMcode curl_multi_add_handle(CURLM *m, CURL *e)
{
    CURLMcode (*real)(CURLM *, CURL *) = REAL(curl_multi_add_handle);
    if (!real)
        return CURLM_INTERNAL_ERROR;
    if (hfs_curl_in_callback)
        return CURLM_RECURSIVE_API_CALL; /* as libcurl says from inside its callbacks */
    if (!m || !e || e == hfs_curl_performing || !hfs_ready())
        return real(m, e);
    struct hfs_curl *known = hfs_curl_get(e, 0);
    hfs_curl_unlock();
    if (!known) /* a handle libcurl made for itself (DoH): not ours to judge */
        return real(m, e);
    struct pending *p = calloc(1, sizeof *p);
    if (!p)
        return real(m, e);
    hfs_curl_plan(e, &p->plan);
    if (p->plan.next == HFS_CURL_PASS) {
        drop(p);
        CURLMcode rc = real(m, e);
        if (rc != CURLM_OK) {
            hfs_curl_restore(e);
        } else {
            struct hfs_curl *c = hfs_curl_get(e, 0);
            int watch = c && c->watch;
            if (c) {
                c->attached = 1;
                c->multi = m;
            }
            hfs_curl_unlock();
            if (watch)
                hfs_curl_multi_watching(m, e);
        }
        return rc;
    }
    p->m = m;
    p->e = e;
    curl_multi_timer_callback fn = NULL;
    void *data = NULL;
    pthread_mutex_lock(&lock);
    p->next = pendings;
    pendings = p;
    count(1);
    for (struct timer *t = timers; t; t = t->next)
        if (t->m == m) {
            fn = t->fn;
            data = t->data;
        }
    pthread_mutex_unlock(&lock);
    if (fn) { /* libcurl itself calls the timer callback from add_handle */
        hfs_curl_in_callback++;
        fn(m, 0, data);
        hfs_curl_in_callback--;
    }
    return CURLM_OK;
}

/* Runs the callbacks of m's pending transfers (outside the lock). */
static void deliver(CURLM *m)
{
    for (;;) {
        struct pending *todo = NULL;
        if (none())
            return;
        pthread_mutex_lock(&lock);
        for (struct pending *p = pendings; p; p = p->next)
            if (p->m == m && !p->delivered) {
                p->delivered = 1;
                p->busy = 1; /* remove_handle/cleanup from a callback only mark it */
                todo = p;
                break;
            }
        pthread_mutex_unlock(&lock);
        if (!todo)
            return;
        hfs_curl_in_callback++;
        CURLcode rc =
            todo->plan.next == HFS_CURL_VIRTUAL ? hfs_curl_deliver(todo->e, &todo->plan.answer) : todo->plan.code;
        hfs_curl_in_callback--;
        pthread_mutex_lock(&lock);
        todo->busy = 0;
        if (todo->removed) { /* removed by a callback: unlink and free it now */
            for (struct pending **pp = &pendings; *pp; pp = &(*pp)->next)
                if (*pp == todo) {
                    *pp = todo->next;
                    count(-1);
                    break;
                }
            pthread_mutex_unlock(&lock);
            drop(todo);
            continue;
        }
        todo->msg.msg = CURLMSG_DONE;
        todo->msg.easy_handle = todo->e;
        todo->msg.data.result = rc;
        todo->delivered = 2;
        pthread_mutex_unlock(&lock);
    }
}

static int has_pending(CURLM *m)
{
    int any = 0;
    if (none())
        return 0;
    pthread_mutex_lock(&lock);
    for (struct pending *p = pendings; p && !any; p = p->next)
        any = p->m == m && !p->delivered; /* delivered ones wait in info_read: no reason to spin */
    pthread_mutex_unlock(&lock);
    return any;
}

HFS_EXPORT CURLMcode curl_multi_perform(CURLM *m, int *running)
{
    CURLMcode (*real)(CURLM *, int *) = REAL(curl_multi_perform);
    if (m && hfs_ready())
        deliver(m);
    if (!real)
        return CURLM_INTERNAL_ERROR;
    hfs_in_curl++;
    CURLMcode rc = real(m, running);
    hfs_in_curl--;
    if (rc == CURLM_OK && m && hfs_ready() && must_drain(m))
        drain(m, running);
    return rc;
}

HFS_EXPORT CURLMcode curl_multi_socket_action(CURLM *m, curl_socket_t s, int ev, int *running)
{
    CURLMcode (*real)(CURLM *, curl_socket_t, int, int *) = REAL(curl_multi_socket_action);
    if (m && hfs_ready())
        deliver(m);
    if (!real)
        return CURLM_INTERNAL_ERROR;
    hfs_in_curl++;
    CURLMcode rc = real(m, s, ev, running);
    hfs_in_curl--;
    if (rc == CURLM_OK && m && hfs_ready() && must_drain(m))
        drain(m, running);
    return rc;
}

HFS_EXPORT CURLMsg *curl_multi_info_read(CURLM *m, int *left)
{
    CURLMsg *(*real)(CURLM *, int *) = REAL(curl_multi_info_read);
    if (m && !none() && hfs_ready()) {
        CURLMsg *msg = NULL;
        int more = 0;
        pthread_mutex_lock(&lock);
        for (struct pending *p = pendings; p; p = p->next)
            if (p->m == m && p->delivered == 2 && !p->read) {
                if (!msg) {
                    p->read = 1;
                    msg = &p->msg;
                } else {
                    more++;
                }
            }
        /* then the completions taken from libcurl, in their order */
        int stashed_more = 0;
        for (struct stashed *s = stash; s; s = s->next)
            if (s->m == m && !s->read) {
                if (!msg) {
                    s->read = 1;
                    msg = &s->msg;
                } else {
                    stashed_more++;
                }
            }
        pthread_mutex_unlock(&lock);
        if (msg) {
            /* +1: the real queue may hold messages too; a loop on *left
             * then asks once more and gets those (or NULL and 0) */
            if (left)
                *left = more + stashed_more + 1;
            return msg;
        }
    }
    return real ? real(m, left) : NULL;
}

HFS_EXPORT CURLMcode curl_multi_poll(CURLM *m, struct curl_waitfd *extra, unsigned n, int timeout_ms, int *numfds)
{
    CURLMcode (*real)(CURLM *, struct curl_waitfd *, unsigned, int, int *) = REAL(curl_multi_poll);
    if (m && hfs_ready() && has_pending(m))
        timeout_ms = 0; /* a pending answer is waiting: do not sleep */
    return real ? real(m, extra, n, timeout_ms, numfds) : CURLM_INTERNAL_ERROR;
}

HFS_EXPORT CURLMcode curl_multi_wait(CURLM *m, struct curl_waitfd *extra, unsigned n, int timeout_ms, int *numfds)
{
    CURLMcode (*real)(CURLM *, struct curl_waitfd *, unsigned, int, int *) = REAL(curl_multi_wait);
    if (m && hfs_ready() && has_pending(m))
        timeout_ms = 0;
    return real ? real(m, extra, n, timeout_ms, numfds) : CURLM_INTERNAL_ERROR;
}

/* Unlinks and returns the pending entry matching m (any if NULL) and e.
 * One whose callbacks are running is only marked (deliver frees it);
 * *found says whether any matched. */
static struct pending *take_found(CURLM *m, CURL *e, int *found)
{
    if (none())
        return NULL;
    pthread_mutex_lock(&lock);
    for (struct pending **pp = &pendings; *pp; pp = &(*pp)->next)
        if ((!m || (*pp)->m == m) && (!e || (*pp)->e == e) && !(*pp)->removed) {
            struct pending *p = *pp;
            if (found)
                *found = 1;
            if (p->busy) {
                p->removed = 1;
                continue;
            }
            *pp = p->next;
            count(-1);
            pthread_mutex_unlock(&lock);
            return p;
        }
    pthread_mutex_unlock(&lock);
    return NULL;
}

static struct pending *take(CURLM *m, CURL *e) { return take_found(m, e, NULL); }

HFS_EXPORT CURLMcode curl_multi_remove_handle(CURLM *m, CURL *e)
{
    CURLMcode (*real)(CURLM *, CURL *) = REAL(curl_multi_remove_handle);
    if (hfs_curl_in_callback)
        return CURLM_RECURSIVE_API_CALL;
    if (e && e == hfs_curl_performing)
        return real ? real(m, e) : CURLM_INTERNAL_ERROR;
    if (m && e && hfs_ready()) {
        int found = 0;
        struct pending *p = take_found(m, e, &found);
        if (found) { /* never added to the real multi */
            drop(p);
            return CURLM_OK;
        }
    }
    CURLMcode rc = real ? real(m, e) : CURLM_INTERNAL_ERROR;
    if (e && hfs_ready()) {
        if (!none()) {
            pthread_mutex_lock(&lock);
            watched_forget(m, e);
            stash_forget(m, e); /* libcurl frees its message with the removal too */
            pthread_mutex_unlock(&lock);
        }
        struct hfs_curl *c = hfs_curl_get(e, 0);
        if (c) {
            c->attached = 0;
            c->multi = NULL;
        }
        hfs_curl_unlock();
        hfs_curl_restore(e);
    }
    return rc;
}

HFS_EXPORT CURLMcode curl_multi_cleanup(CURLM *m)
{
    CURLMcode (*real)(CURLM *) = REAL(curl_multi_cleanup);
    if (hfs_curl_in_callback)
        return CURLM_RECURSIVE_API_CALL;
    if (m && hfs_ready()) {
        struct pending *p;
        while ((p = take(m, NULL)))
            drop(p);
        if (none())
            return real ? real(m) : CURLM_INTERNAL_ERROR;
        pthread_mutex_lock(&lock);
        watched_forget(m, NULL);
        stash_forget(m, NULL);
        for (struct timer **tp = &timers; *tp; tp = &(*tp)->next)
            if ((*tp)->m == m) {
                struct timer *t = *tp;
                *tp = t->next;
                free(t);
                count(-1);
                break;
            }
        pthread_mutex_unlock(&lock);
    }
    return real ? real(m) : CURLM_INTERNAL_ERROR;
}

/* curl_easy_cleanup of a handle still pending in some multi. */
void hfs_curl_replan_attached(CURL *h)
{
    struct hfs_curl_plan *plan = malloc(sizeof *plan);
    if (!plan)
        return;
    hfs_curl_plan(h, plan);
    struct hfs_curl *wc = hfs_curl_get(h, 0);
    CURLM *wm = wc && wc->attached && wc->watch ? wc->multi : NULL;
    hfs_curl_unlock();
    if (wm)
        hfs_curl_multi_watching(wm, h);
    if (plan->next != HFS_CURL_PASS) {
        CURLcode (*real_setopt)(CURL *, CURLoption, ...) = REAL(curl_easy_setopt);
        real_setopt(h, CURLOPT_URL, "hfshim-refused:"); /* libcurl: unsupported protocol */
        struct hfs_curl *c = hfs_curl_get(h, 0);
        if (c)
            c->url_refused = 1;
        hfs_curl_unlock();
        hfs_log_msg("error",
                    "a transfer changed after curl_multi_add_handle is now refused (rule %s): it can no "
                    "longer be answered by hfshim",
                    plan->rule);
    }
    hfs_curl_plan_done(plan);
    free(plan);
}

void hfs_curl_multi_forget_easy(CURL *h)
{
    struct pending *p;
    while ((p = take(NULL, h)))
        drop(p);
    if (none())
        return;
    pthread_mutex_lock(&lock);
    watched_forget(NULL, h);
    stash_forget(NULL, h);
    pthread_mutex_unlock(&lock);
}
