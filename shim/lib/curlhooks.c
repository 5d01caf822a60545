/* curlhooks: the libcurl layer's easy-interface hooks. curl_easy_setopt
 * forwards its variadic argument by the option's type class (long, object
 * pointer, function pointer, curl_off_t, blob) and records what the
 * decision needs; curl_easy_perform decides the transfer (curlplan.c)
 * and runs it, answers it, or fails it; getinfo answers for virtual
 * transfers; reset/duphandle/cleanup keep the state in step. Works with
 * any libcurl (OpenSSL, GnuTLS, …; HTTP/1.1 and HTTP/2): it acts on the
 * API, not on the wire. */
#include <stdarg.h>
#include <stdint.h>

/* On x86_64 the hook below is not variadic (see there): curl.h's
 * prototype is read under another name, so the two do not clash. */
#if defined(__x86_64__)
#define curl_easy_setopt hfs_curl_easy_setopt_as_declared
#endif
#include "curlcreds.h"
#include "curlmulti.h"
#include "curlplan.h"
#include "curlwatch.h"
#include "real.h"
#include "state.h"
#undef curl_easy_setopt
#if defined(__x86_64__)
CURLcode curl_easy_setopt(CURL *h, CURLoption opt, uintptr_t arg);
#endif

typedef CURLcode (*getinfo_fn)(CURL *, CURLINFO, ...);

/* An option the layer records (hfs_curl_noted), after the variadic
 * argument was read by its type class: l (long), p (object or function
 * pointer) or o (curl_off_t). */
static __attribute__((noinline)) CURLcode setopt_noted(CURL *h, CURLoption opt, long l, void *p, curl_off_t o)
{
    setopt_fn real = (setopt_fn)REAL(curl_easy_setopt);
    CURLcode rc;
    if (!real)
        return CURLE_FAILED_INIT;
    if (opt < CURLOPTTYPE_OBJECTPOINT) {
        rc = real(h, opt, l);
    } else if (opt < CURLOPTTYPE_FUNCTIONPOINT) {
        /* while a transfer runs with our callbacks or without its
         * credentials, the app's new value is kept for the restore */
        if (hfs_ready() && (hfs_curl_watch_setopt(h, opt, p) || hfs_curl_creds_setopt(h, opt, p)))
            return CURLE_OK;
        rc = real(h, opt, p);
    } else if (opt < CURLOPTTYPE_OFF_T) {
        if (hfs_ready() && hfs_curl_watch_setopt(h, opt, p))
            return CURLE_OK;
        rc = real(h, opt, (void (*)(void))p);
    } else if (opt < CURLOPTTYPE_BLOB) {
        rc = real(h, opt, o);
    } else {
        rc = real(h, opt, p);
    }
    if (rc != CURLE_OK || !hfs_ready())
        return rc;
    int attached = hfs_curl_note_option(h, opt, l, p, o);
    switch (opt) { /* the request itself changed while libcurl holds the handle */
    case CURLOPT_URL:
    case CURLOPT_CURLU:
    case CURLOPT_HTTPHEADER:
    case CURLOPT_CUSTOMREQUEST:
    case CURLOPT_NOBODY:
    case CURLOPT_POST:
    case CURLOPT_UPLOAD:
    case CURLOPT_HTTPGET:
    case CURLOPT_POSTFIELDS:
    case CURLOPT_COPYPOSTFIELDS:
    case CURLOPT_MIMEPOST:
        if (attached)
            hfs_curl_replan_attached(h);
        break;
    default: break;
    }
    return rc;
}

#if defined(__x86_64__)
/* Every libcurl option's value is one integer-class argument (a long, an
 * object or function pointer, a curl_off_t, a blob's pointer; none is a
 * double), and the x86_64 SysV ABI passes a variadic argument exactly as
 * a named one: in the third integer register. So the hook takes it as a
 * named integer, needs no va_list, and passes the options it does not
 * record (most of the some 80 per transfer of curl's CLI) to libcurl as a
 * tail call with that register untouched. */
static __attribute__((noinline)) CURLcode setopt_split(CURL *h, CURLoption opt, uintptr_t arg)
{
    if (opt < CURLOPTTYPE_OBJECTPOINT)
        return setopt_noted(h, opt, (long)arg, NULL, 0);
    if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB)
        return setopt_noted(h, opt, 0, NULL, (curl_off_t)arg);
    return setopt_noted(h, opt, 0, (void *)arg, 0);
}

/* The first call, before the real function is known. */
static __attribute__((noinline)) CURLcode setopt_first(CURL *h, CURLoption opt, uintptr_t arg)
{
    setopt_fn real = (setopt_fn)REAL(curl_easy_setopt);
    return real ? real(h, opt, arg) : CURLE_FAILED_INIT;
}

/* The rest of the work is in the two functions above, so that the path
 * most calls take is a few instructions and a jump, with no frame. */
HFS_EXPORT CURLcode curl_easy_setopt(CURL *h, CURLoption opt, uintptr_t arg)
{
    if (__builtin_expect(h && hfs_curl_noted(opt), 0))
        return setopt_split(h, opt, arg);
    setopt_fn real = (setopt_fn)atomic_load_explicit(&hfs_real_cache[HFS_REAL_curl_easy_setopt], memory_order_acquire);
    if (__builtin_expect(real != NULL, 1))
        return real(h, opt, arg);
    return setopt_first(h, opt, arg);
}
#else
/* Reads the argument by the option's type class (long, object pointer,
 * function pointer, curl_off_t, blob). Most options (timeouts, TLS,
 * buffers, ...) are not the layer's business: they go straight through,
 * with no look-up of the handle (this runs some 80 times per transfer of
 * curl's CLI). */
HFS_EXPORT CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
    setopt_fn real = (setopt_fn)REAL(curl_easy_setopt);
    int noted = h && hfs_curl_noted(opt);
    va_list ap;
    va_start(ap, opt);
    if (opt < CURLOPTTYPE_OBJECTPOINT) {
        long l = va_arg(ap, long);
        va_end(ap);
        return noted ? setopt_noted(h, opt, l, NULL, 0) : real ? real(h, opt, l) : CURLE_FAILED_INIT;
    }
    if (opt >= CURLOPTTYPE_FUNCTIONPOINT && opt < CURLOPTTYPE_OFF_T) {
        void (*f)(void) = va_arg(ap, void (*)(void));
        va_end(ap);
        return noted ? setopt_noted(h, opt, 0, (void *)f, 0) : real ? real(h, opt, f) : CURLE_FAILED_INIT;
    }
    if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB) {
        curl_off_t o = va_arg(ap, curl_off_t);
        va_end(ap);
        return noted ? setopt_noted(h, opt, 0, NULL, o) : real ? real(h, opt, o) : CURLE_FAILED_INIT;
    }
    void *p = va_arg(ap, void *); /* an object pointer or a blob */
    va_end(ap);
    return noted ? setopt_noted(h, opt, 0, p, 0) : real ? real(h, opt, p) : CURLE_FAILED_INIT;
}
#endif

HFS_EXPORT CURL *curl_easy_init(void)
{
    CURL *(*real)(void) = REAL(curl_easy_init);
    CURL *h = real ? real() : NULL;
    if (h && hfs_ready()) {
        hfs_curl_get(h, 1); /* track it from now on */
        hfs_curl_unlock();
    }
    return h;
}

HFS_EXPORT CURLcode curl_easy_perform(CURL *h)
{
    CURLcode (*real)(CURL *) = REAL(curl_easy_perform);
    struct hfs_curl_plan plan;
    if (!real)
        return CURLE_FAILED_INIT;
    if (!h || h == hfs_curl_performing || !hfs_ready())
        return real(h);
    hfs_curl_plan(h, &plan);
    if (plan.next != HFS_CURL_PASS) {
        CURLcode rc = plan.next == HFS_CURL_FAIL ? plan.code : hfs_curl_deliver(h, &plan.answer);
        hfs_curl_plan_done(&plan);
        return rc;
    }
    hfs_curl_plan_done(&plan);
    CURL *outer = hfs_curl_performing; /* a perform from inside a callback nests */
    hfs_curl_performing = h;
    hfs_in_curl++;
    CURLcode rc = real(h);
    hfs_in_curl--;
    hfs_curl_performing = outer;
    /* the token watch dropped the answer (401 "Invalid credentials"):
     * once more without Authorization; the app only sees that answer */
    if (hfs_curl_watch_finish(h, &rc)) {
        if (hfs_curl_watch_rearm(h) == 0) {
            hfs_curl_performing = h;
            hfs_in_curl++;
            rc = real(h);
            hfs_in_curl--;
            hfs_curl_performing = outer;
            hfs_curl_watch_finish(h, &rc);
        } else {
            rc = CURLE_OUT_OF_MEMORY;
        }
    }
    hfs_curl_reach_done(h, rc);
    hfs_curl_restore(h);
    return rc;
}

HFS_EXPORT CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    getinfo_fn real = (getinfo_fn)REAL(curl_easy_getinfo);
    va_list ap;
    va_start(ap, info);
    void *arg = va_arg(ap, void *); /* every CURLINFO takes a pointer */
    va_end(ap);
    if (h && arg && hfs_curl_any_virtual() && hfs_ready() && hfs_curl_getinfo_virtual(h, info, arg))
        return CURLE_OK;
    return real ? real(h, info, arg) : CURLE_FAILED_INIT;
}

HFS_EXPORT void curl_easy_reset(CURL *h)
{
    void (*real)(CURL *) = REAL(curl_easy_reset);
    if (h && hfs_ready()) {
        hfs_curl_restore(h);
        struct hfs_curl *c = hfs_curl_get(h, 0);
        if (c)
            hfs_curl_clear(c);
        hfs_curl_unlock();
    }
    if (real)
        real(h);
}

HFS_EXPORT CURL *curl_easy_duphandle(CURL *h)
{
    CURL *(*real)(CURL *) = REAL(curl_easy_duphandle);
    CURL *d = real ? real(h) : NULL;
    if (d && h && hfs_ready()) {
        hfs_curl_copy(d, h);
        /* the copy has our header list if a transfer of h is running: give it the app's */
        struct hfs_curl *c = hfs_curl_get(d, 0);
        struct curl_slist *app = c ? c->headers : NULL;
        int swapped = 0;
        hfs_curl_unlock();
        c = hfs_curl_get(h, 0);
        swapped = c && c->ours;
        if (c) { /* and its callbacks and credentials, not the transfer's */
            hfs_curl_watch_fix_dup(d, c);
            hfs_curl_fix_dup_creds(d, c);
        }
        hfs_curl_unlock();
        if (swapped)
            ((setopt_fn)REAL(curl_easy_setopt))(d, CURLOPT_HTTPHEADER, app);
    }
    return d;
}

HFS_EXPORT void curl_easy_cleanup(CURL *h)
{
    void (*real)(CURL *) = REAL(curl_easy_cleanup);
    struct hfs_curl *c = NULL;
    if (h && hfs_ready()) { /* unlink first: once freed, the address may be reused at once */
        hfs_curl_multi_forget_easy(h);
        c = hfs_curl_unlink(h);
    }
    if (real)
        real(h);
    hfs_curl_free_entry(c); /* our header list: libcurl never frees app lists */
}
