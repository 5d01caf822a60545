/* curlstate: what the libcurl layer knows about each easy handle, learnt
 * from curl_easy_setopt (libcurl has no way to read options back): URL,
 * method, the app's header list, callbacks, error buffer; and what the
 * shim did to the handle (a swapped header list to restore, the answer of
 * a virtual transfer for curl_easy_getinfo). A small hash map under one
 * mutex (the thread's last handle found without it); callbacks are never
 * called with it held. */
#ifndef HFS_CURLSTATE_H
#define HFS_CURLSTATE_H

#define CURL_DISABLE_TYPECHECK
#define CURL_DISABLE_DEPRECATION
#include <curl/curl.h>
#include <pthread.h>

#include "../core/answer.h"

enum hfs_curl_req { HFS_CURL_GET, HFS_CURL_POST, HFS_CURL_PUT };

struct hfs_curl {
    CURL *h;
    struct hfs_curl *next; /* hash chain */
    char *url;             /* CURLOPT_URL (copied) */
    CURLU *curlu;          /* CURLOPT_CURLU */
    char *custom;          /* CURLOPT_CUSTOMREQUEST */
    char *range;           /* CURLOPT_RANGE ("2-6"), which libcurl sends as a Range header */
    enum hfs_curl_req req;
    int nobody, failonerror, include_header;
    struct curl_slist *headers; /* the app's CURLOPT_HTTPHEADER list */
    char *errbuf;               /* CURLOPT_ERRORBUFFER */
    curl_write_callback writefn, headerfn;
    void *writedata, *headerdata;
    int writedata_set; /* CURLOPT_WRITEDATA was set (libcurl's default is stdout) */
    /* the POST body when it is fields (paths-info answered from the cache) */
    const char *postfields; /* CURLOPT_POSTFIELDS: the app's (valid while the transfer runs) */
    char *postcopy;         /* CURLOPT_COPYPOSTFIELDS: our copy (at most HFS_CURL_POSTCOPY_MAX bytes) */
    long long postsize;     /* CURLOPT_POSTFIELDSIZE(_LARGE), -1: strlen */
    /* credentials given by option (libcurl makes the Authorization header) */
    char *bearer;        /* CURLOPT_XOAUTH2_BEARER */
    char *user, *passwd; /* CURLOPT_USERNAME / CURLOPT_PASSWORD, or CURLOPT_USERPWD split as libcurl does */
    long httpauth;       /* CURLOPT_HTTPAUTH (CURLAUTH_BASIC when never set) */
    int pipewait;        /* CURLOPT_PIPEWAIT */
    struct curl_slist *app_connect_to;   /* CURLOPT_CONNECT_TO (the app's list) */
    int app_fresh, app_forbid_reuse;     /* CURLOPT_FRESH_CONNECT, CURLOPT_FORBID_REUSE */
    curl_off_t app_max_recv;             /* CURLOPT_MAX_RECV_SPEED_LARGE */
    long app_connect_ms;                 /* CURLOPT_CONNECTTIMEOUT(_MS), in ms (0: libcurl's default) */
    int reach_bounded;                   /* a Hub transfer whose connect phase hfshim bounded (reach.connect_ms +
                                 handshake_ms): its timeout there is learned as "unreachable" */
    int reach_low_speed;                 /* ... and its start of response too (CURLOPT_LOW_SPEED_*, a metadata call) */
    int app_low_speed;                   /* the app set CURLOPT_LOW_SPEED_LIMIT/TIME itself: left alone */
    int reach_hub;                       /* a Hub transfer (reach on): a reset before any response is learned */
    struct curl_slist *fault_connect_to; /* ours while a hang rule holds the transfer */
    int fault_set;                       /* a fault rule changed the options above for this transfer */
    long fault_cut;                      /* a reset rule: body bytes the app gets before the reset (-1: none) */
    /* what the shim did */
    struct curl_slist *ours;      /* our header list while a transfer runs */
    int attached;                 /* in a real multi handle (added, not yet removed) */
    CURLM *multi;                 /* that multi handle */
    int creds_hidden;             /* the option credentials are unset on the real handle for this transfer */
    int pipewait_off;             /* CURLOPT_PIPEWAIT is off on the real handle for the anonymous retry */
    struct hfs_curl_watch *watch; /* the response watch while a watched transfer runs (curlwatch.h) */
    int url_refused;              /* the real handle's URL was replaced: put the app's back before reuse */
    int virtual_done;             /* the last transfer was answered by the shim */
    int answer_status;
    long answer_header_size;
    curl_off_t answer_size;
    /* strings last: a new or cleared entry zeroes everything above and
     * only the first byte of these (2.4 KiB less to clear per handle) */
    char reach_host[256]; /* the Hub host of a reach-bounded transfer */
    char answer_ctype[128];
    char answer_url[2048];
    char answer_method[16];
};

/* Frees a handle's response watch: set by curlwatch.c when it installs
 * its first watch (so this file needs nothing of it); a handle has a watch
 * only after that. */
extern void (*hfs_curl_watch_dtor)(struct hfs_curl_watch *x);

/* the real curl_easy_setopt, called with one argument of the option's type */
typedef CURLcode (*setopt_fn)(CURL *, CURLoption, ...);

/* The state of h, created when create is set (NULL on allocation failure
 * or when absent). Call hfs_curl_unlock after it: the map lock is held
 * unless h is the handle this thread looked up last and no entry has left
 * the map since (the common case, some 30 times per transfer: no lock).
 * Either way only the thread using h (libcurl's rule) touches its entry.
 * Entries are created only for handles the app made (curl_easy_init,
 * curl_easy_duphandle): handles libcurl makes for itself (DoH) and frees
 * internally are never tracked, so no entry can outlive its handle. */
struct hfs_curl *hfs_curl_get(CURL *h, int create);

#define HFS_CURL_POSTCOPY_MAX 65536
/* Sets c->virtual_done (under the map lock), keeping the count of handles
 * whose last transfer the shim answered: while it is 0, curl_easy_getinfo
 * goes straight to libcurl, with no look-up (curl's CLI asks 5 times per
 * transfer). */
void hfs_curl_set_virtual(struct hfs_curl *c, int done);
/* 0 when no handle's last transfer was answered by the shim (a relaxed
 * read: a handle passed to another thread is passed with the app's own
 * synchronisation, which carries the count with it). */
int hfs_curl_any_virtual(void);

/* The POST fields of c, or NULL (none, or copied fields too large). */
const char *hfs_curl_postfields(const struct hfs_curl *c, size_t *len);
void hfs_curl_unlock(void);
/* Unlinks h's entry (curl_easy_cleanup, before the real one); free it with
 * hfs_curl_free_entry after the real cleanup. */
struct hfs_curl *hfs_curl_unlink(CURL *h);
void hfs_curl_free_entry(struct hfs_curl *c);
/* Clears what setopt taught (curl_easy_reset), keeping nothing. */
void hfs_curl_clear(struct hfs_curl *c);
/* Copies the state of src into a new entry for dst (curl_easy_duphandle). */
void hfs_curl_copy(CURL *dst, CURL *src);

/* 1 for the options the layer records (hfs_curl_note_option): only what
 * the decision and a virtual transfer need. Any other option goes
 * straight to libcurl, with no look-up of the handle. */
static inline int hfs_curl_noted(CURLoption opt)
{
    switch (opt) {
    case CURLOPT_URL:
    case CURLOPT_CURLU:
    case CURLOPT_CUSTOMREQUEST:
    case CURLOPT_NOBODY:
    case CURLOPT_POST:
    case CURLOPT_HTTPGET:
    case CURLOPT_UPLOAD:
    case CURLOPT_PUT:
    case CURLOPT_POSTFIELDS:
    case CURLOPT_COPYPOSTFIELDS:
    case CURLOPT_MIMEPOST:
    case CURLOPT_HTTPPOST:
    case CURLOPT_HTTPHEADER:
    case CURLOPT_ERRORBUFFER:
    case CURLOPT_WRITEFUNCTION:
    case CURLOPT_WRITEDATA:
    case CURLOPT_HEADERFUNCTION:
    case CURLOPT_HEADERDATA:
    case CURLOPT_FAILONERROR:
    case CURLOPT_HEADER:
    case CURLOPT_POSTFIELDSIZE:
    case CURLOPT_RANGE:
    case CURLOPT_POSTFIELDSIZE_LARGE:
    case CURLOPT_XOAUTH2_BEARER:
    case CURLOPT_USERPWD:
    case CURLOPT_USERNAME:
    case CURLOPT_PASSWORD:
    case CURLOPT_HTTPAUTH:
    case CURLOPT_PIPEWAIT:
    case CURLOPT_CONNECT_TO:
    case CURLOPT_FRESH_CONNECT:
    case CURLOPT_FORBID_REUSE:
    case CURLOPT_MAX_RECV_SPEED_LARGE:
    case CURLOPT_CONNECTTIMEOUT:
    case CURLOPT_CONNECTTIMEOUT_MS:
    case CURLOPT_LOW_SPEED_LIMIT:
    case CURLOPT_LOW_SPEED_TIME: return 1;
    default: return 0;
    }
}

/* Records one option; called by the setopt hook after the real call
 * succeeded. arg is the option's argument, as its type class says.
 * Returns 1 when h is in a multi handle and not being performed on this
 * thread (a change of the request then replans it). */
int hfs_curl_note_option(CURL *h, CURLoption opt, long l, void *p, curl_off_t o);

/* The method this handle's next transfer uses (into out). */
void hfs_curl_method(const struct hfs_curl *c, char *out, size_t outlen);

/* The handle whose real curl_easy_perform runs on this thread: libcurl
 * drives it through its own multi handle with the public (hooked)
 * functions, and those inner calls for that handle pass straight
 * through; any other handle (a transfer started from a callback) is
 * decided as usual. */
extern __thread CURL *hfs_curl_performing __attribute__((tls_model("initial-exec")));
/* Set while the shim runs an app callback for a virtual transfer: like
 * libcurl, add/remove/cleanup of a multi handle then answer
 * CURLM_RECURSIVE_API_CALL. */
/* Depth of libcurl calls that run transfers (perform, socket_action) on
 * this thread: sockets and TLS sessions libcurl opens meanwhile were
 * decided at the libcurl layer and are left alone by the byte layers. */
extern __thread int hfs_in_curl __attribute__((tls_model("initial-exec")));
extern __thread int hfs_curl_in_callback __attribute__((tls_model("initial-exec")));

/* libcurl functions the layer calls but does not hook, from the app's own
 * libcurl (found on first use). */
struct hfs_curl_api {
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
    void (*free_)(void *);
};
const struct hfs_curl_api *hfs_curl_api(void);

/* fork handlers (called by atfork.c in the library's lock order) */
void hfs_curl_fork_prepare(void);
void hfs_curl_fork_parent(void);
void hfs_curl_fork_child(void);

#endif
