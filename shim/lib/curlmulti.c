/* curlmulti: the libcurl layer's multi-interface hooks. A transfer the
 * shim answers or fails is never added to the real multi handle: it is
 * kept here as pending, its callbacks run on the app's next
 * curl_multi_perform/socket_action (never inside add_handle), its
 * CURLMSG_DONE comes out of curl_multi_info_read before the real ones,
 * curl_multi_poll/wait do not sleep while one is waiting, and
 * curl_multi_remove_handle forgets it. The app's timer callback is told
 * to act at once, so event-driven apps (socket_action) run it too. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "curlplan.h"
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

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *pendings;
static struct timer *timers;

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
            if (c)
                c->attached = 1;
            hfs_curl_unlock();
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
        CURLcode rc = todo->plan.next == HFS_CURL_VIRTUAL ? hfs_curl_deliver(todo->e, &todo->plan.answer)
                                                          : todo->plan.code;
        hfs_curl_in_callback--;
        pthread_mutex_lock(&lock);
        todo->busy = 0;
        if (todo->removed) { /* removed by a callback: unlink and free it now */
            for (struct pending **pp = &pendings; *pp; pp = &(*pp)->next)
                if (*pp == todo) {
                    *pp = todo->next;
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
    return rc;
}

HFS_EXPORT CURLMsg *curl_multi_info_read(CURLM *m, int *left)
{
    CURLMsg *(*real)(CURLM *, int *) = REAL(curl_multi_info_read);
    if (m && hfs_ready()) {
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
        pthread_mutex_unlock(&lock);
        if (msg) {
            /* +1: the real queue may hold messages too; a loop on *left
             * then asks once more and gets those (or NULL and 0) */
            if (left)
                *left = more + 1;
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
            pthread_mutex_unlock(&lock);
            return p;
        }
    pthread_mutex_unlock(&lock);
    return NULL;
}

static struct pending *take(CURLM *m, CURL *e)
{
    return take_found(m, e, NULL);
}

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
        struct hfs_curl *c = hfs_curl_get(e, 0);
        if (c)
            c->attached = 0;
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
        pthread_mutex_lock(&lock);
        for (struct timer **tp = &timers; *tp; tp = &(*tp)->next)
            if ((*tp)->m == m) {
                struct timer *t = *tp;
                *tp = t->next;
                free(t);
                break;
            }
        pthread_mutex_unlock(&lock);
    }
    return real ? real(m) : CURLM_INTERNAL_ERROR;
}

/* curl_easy_cleanup of a handle still pending in some multi. */
void hfs_curl_multi_forget_easy(CURL *h);
void hfs_curl_multi_forget_easy(CURL *h)
{
    struct pending *p;
    while ((p = take(NULL, h)))
        drop(p);
}
