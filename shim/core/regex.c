/* regex: PCRE2 wrapper. Patterns are compiled at load (so errors surface
 * then); the JIT is built on first match, by one thread, on a private copy
 * of the compiled pattern that is published only when complete: the code
 * other threads are matching with is never written to, so there is no
 * data race, and no lock (a fork in the middle cannot leave one held). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "regex.h"
#include "startup.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hfs_re {
    pcre2_code *code;              /* interpreted; never modified after load */
    char *src;                     /* the pattern, for the one error report */
    atomic_int reported;           /* its first engine error was reported */
    _Atomic(pcre2_code *) jitcode; /* JIT-compiled copy, once published */
    atomic_int jit_claimed;        /* 1 once a thread took the job of building it */
};

static void describe(int rc, PCRE2_SIZE off, char *err, size_t errlen)
{
    PCRE2_UCHAR msg[256];
    if (pcre2_get_error_message(rc, msg, sizeof msg) < 0)
        snprintf((char *)msg, sizeof msg, "error %d", rc);
    if (err && errlen)
        snprintf(err, errlen, "%s at offset %zu", (char *)msg, (size_t)off);
}

static struct hfs_re *wrap(pcre2_code *code)
{
    struct hfs_re *re = calloc(1, sizeof *re);
    if (!re) {
        pcre2_code_free(code);
        return NULL;
    }
    re->code = code;
    return re;
}

struct hfs_re *hfs_re_compile(const char *src, int caseless, char *err, size_t errlen)
{
    int rc;
    PCRE2_SIZE off;
    /* MATCH_INVALID_UTF: a subject that is not valid UTF-8 (a raw path, a
     * header value) is still searched instead of failing to match, so a
     * block rule cannot be skipped with one stray byte. */
    uint32_t opts = (caseless ? PCRE2_CASELESS : 0) | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED, opts, &rc, &off, NULL);
    if (!code) {
        describe(rc, off, err, errlen);
        return NULL;
    }
    struct hfs_re *re = wrap(code);
    if (re && !(re->src = strdup(src))) {
        hfs_re_free(re);
        return NULL;
    }
    return re;
}

struct hfs_re *hfs_re_compile_glob(const char *glob, char *err, size_t errlen)
{
    PCRE2_UCHAR *out = NULL;
    PCRE2_SIZE outlen = 0;
    pcre2_convert_context *cc = pcre2_convert_context_create(NULL);
    if (!cc)
        return NULL;
    /* Host names have no '/', so with the default separator '*' also
     * matches dots: "*.hf.co" covers every subdomain depth. */
    int rc = pcre2_pattern_convert((PCRE2_SPTR)glob, PCRE2_ZERO_TERMINATED, PCRE2_CONVERT_GLOB_NO_WILD_SEPARATOR, &out,
                                   &outlen, cc);
    pcre2_convert_context_free(cc);
    if (rc != 0) {
        describe(rc, outlen, err, errlen);
        return NULL;
    }
    struct hfs_re *re = hfs_re_compile((char *)out, 1, err, errlen);
    pcre2_converted_pattern_free(out);
    return re;
}

static pthread_key_t md_key;
static int md_key_ok;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

/* one match block per thread, kept (a yes/no match needs one pair),
 * freed when the thread exits */
static __thread pcre2_match_data *md;

/* Thread exit: the block goes, and is forgotten, so a match from a later
 * thread-exit destructor (a request an app makes there) makes a new one
 * instead of using the freed one. */
static void free_md(void *p)
{
    pcre2_match_data_free(p);
    if (p == md)
        md = NULL;
}

static void make_md_key(void) { md_key_ok = pthread_key_create(&md_key, free_md) == 0; }

static pcre2_code *try_jit(struct hfs_re *re)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&re->jit_claimed, &expected, 1))
        return NULL; /* another thread builds it (or it failed): match without */
    pcre2_code *copy = pcre2_code_copy(re->code);
    if (!copy)
        return NULL;
    if (pcre2_jit_compile(copy, PCRE2_JIT_COMPLETE) != 0) {
        pcre2_code_free(copy); /* no JIT on this machine: interpreted forever */
        return NULL;
    }
    atomic_store_explicit(&re->jitcode, copy, memory_order_release);
    return copy;
}

int hfs_re_match(struct hfs_re *re, const char *subject, size_t len)
{
    pcre2_code *jc = atomic_load_explicit(&re->jitcode, memory_order_acquire);
    if (!jc && !atomic_load_explicit(&re->jit_claimed, memory_order_relaxed))
        jc = try_jit(re);
    if (!md) {
        pthread_once(&md_once, make_md_key);
        if (!(md = pcre2_match_data_create(1, NULL)))
            return 0;
        if (md_key_ok)
            pthread_setspecific(md_key, md);
    }
    int rc = jc ? pcre2_jit_match(jc, (PCRE2_SPTR)subject, len, 0, 0, md, NULL)
                : pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0, PCRE2_NO_JIT, md, NULL);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH && jc) /* the JIT's small stack: the interpreter uses the heap */
        rc = pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0, PCRE2_NO_JIT, md, NULL);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    int first = 0;
    if (hfs_re_error_hook && atomic_compare_exchange_strong(&re->reported, &first, 1)) {
        PCRE2_UCHAR msg[200];
        if (pcre2_get_error_message(rc, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "error %d", rc);
        hfs_re_error_hook(re->src ? re->src : "?", (const char *)msg);
    }
    return -1;
}

HFS_STARTUP_DATA void (*hfs_re_error_hook)(const char *pattern, const char *error);

/* Scans the pattern's groups: a quantifier inside a group (at any depth)
 * and one right after its closing parenthesis make it risky. Escapes and
 * character classes are skipped. */
int hfs_re_risky(const char *p)
{
    int inner[64] = { 0 }, depth = 0;
    for (; *p; p++) {
        if (*p == '\\') {
            if (p[1])
                p++;
            continue;
        }
        if (*p == '[') { /* a class: up to its closing ']' (a leading ']' is literal) */
            p++;
            if (*p == '^')
                p++;
            if (*p == ']')
                p++;
            while (*p && *p != ']') {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
            if (!*p)
                return 0;
            continue;
        }
        if (*p == '(') {
            if (depth < 63)
                inner[++depth] = 0;
            continue;
        }
        int quant = *p == '*' || *p == '+' || (*p == '{' && strchr(p, ',') && strchr(p, ',') < strchr(p, '}'));
        if (*p == ')') {
            int had = depth > 0 ? inner[depth] : 0;
            if (depth > 0)
                depth--;
            if (had && (p[1] == '*' || p[1] == '+' || p[1] == '{'))
                return 1;
            if (had && depth > 0)
                inner[depth] = 1;
            continue;
        }
        if (quant && depth > 0)
            inner[depth] = 1;
    }
    return 0;
}

void hfs_re_free(struct hfs_re *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    pcre2_code_free(atomic_load(&re->jitcode));
    free(re->src);
    free(re);
}
