/* tscratch: the thread's kept work area (see header). */
#include "tscratch.h"

#include <pthread.h>
#include <stdlib.h>

static __thread char *area; /* kept for the thread; NULL until first used */
static __thread size_t area_size;
static __thread int area_busy; /* a take is outstanding on this thread */

static pthread_key_t key;
static int key_ok;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

/* Thread exit: the area goes; a later use on this thread (another key's
 * destructor sending a request) starts again from nothing. */
static void area_free(void *p)
{
    free(p);
    if (p == area) {
        area = NULL;
        area_size = 0;
        area_busy = 0;
    }
}

static void make_key(void) { key_ok = pthread_key_create(&key, area_free) == 0; }

struct hfs_tscratch hfs_tscratch_take(size_t size)
{
    struct hfs_tscratch t = { NULL, 1 };
    if (area_busy) { /* nested on this thread: an area of its own */
        t.p = malloc(size);
        return t;
    }
    if (size > area_size) {
        pthread_once(&key_once, make_key);
        if (!key_ok) { /* nothing would free it at thread exit: not kept */
            t.p = malloc(size);
            return t;
        }
        char *p = malloc(size);
        if (!p)
            return t;
        free(area);
        area = p;
        area_size = size;
        pthread_setspecific(key, area);
    }
    area_busy = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* busy before any use, as a signal handler sees it */
    t.p = area;
    t.own = 0;
    return t;
}

void hfs_tscratch_give(struct hfs_tscratch t)
{
    if (t.own) {
        free(t.p);
        return;
    }
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* every use before free again */
    area_busy = 0;
}
