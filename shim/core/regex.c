/* regex: PCRE2 wrapper. Patterns are compiled at load (so errors surface
 * then); the JIT is built on first match under a lock, and until it is
 * ready other threads match with PCRE2_NO_JIT, which never reads JIT data. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "regex.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hfs_re {
    pcre2_code *code;
    atomic_int jit; /* 0 not tried, 1 ready, -1 unavailable */
};

static pthread_mutex_t jit_lock = PTHREAD_MUTEX_INITIALIZER;

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
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED, (caseless ? PCRE2_CASELESS : 0) | PCRE2_UTF,
                                     &rc, &off, NULL);
    if (!code) {
        describe(rc, off, err, errlen);
        return NULL;
    }
    return wrap(code);
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

static void try_jit(struct hfs_re *re)
{
    if (pthread_mutex_trylock(&jit_lock) != 0)
        return;
    if (atomic_load(&re->jit) == 0) {
        int rc = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
        atomic_store(&re->jit, rc == 0 ? 1 : -1);
    }
    pthread_mutex_unlock(&jit_lock);
}

int hfs_re_match(struct hfs_re *re, const char *subject, size_t len)
{
    int state = atomic_load(&re->jit);
    if (state == 0) {
        try_jit(re);
        state = atomic_load(&re->jit);
    }
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md)
        return 0;
    int rc = pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0, state == 1 ? 0 : PCRE2_NO_JIT, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

void hfs_re_free(struct hfs_re *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    free(re);
}
