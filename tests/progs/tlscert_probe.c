/* tlscert_probe: checks shim/lib/tlscert.c (compiled in here) the way a
 * process uses it. Unless the probe was linked with -lcrypto, it first
 * checks that hfs_tlscert_for answers NULL and loads nothing while no
 * libcrypto is loaded, then opens libcrypto RTLD_LOCAL (as Python's _ssl
 * does). For each host it prints the subject, the subjectAltName and the
 * PEM, checks names, signature and hostname match, and that hostile hosts
 * get NULL; then times first and cached calls and runs 4 threads over more
 * hosts than the cache holds. With a directory argument it also writes
 * DIR/<n>.pem. Exit status 0 when all checks pass. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "../../shim/lib/tlscert.c"

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>

#define FNS(X)                                                                                                         \
    X(X509_free)                                                                                                       \
    X(X509_verify)                                                                                                     \
    X(X509_get0_pubkey)                                                                                                \
    X(X509_get_subject_name)                                                                                           \
    X(X509_get_issuer_name)                                                                                            \
    X(X509_NAME_oneline)                                                                                               \
    X(X509_get_ext_by_NID)                                                                                             \
    X(X509_get_ext)                                                                                                    \
    X(X509V3_EXT_print_fp)                                                                                             \
    X(X509_check_host)                                                                                                 \
    X(X509_check_ip_asc)                                                                                               \
    X(X509_get_version)                                                                                                \
    X(X509_get0_notBefore)                                                                                             \
    X(X509_get0_notAfter)                                                                                              \
    X(X509_cmp_current_time)                                                                                           \
    X(ASN1_TIME_diff)                                                                                                  \
    X(PEM_write_X509)                                                                                                  \
    X(CRYPTO_free)

static struct {
#define X(n) __typeof__(n) *n;
    FNS(X)
#undef X
} P;

static int failures;
#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            failures++;                                                                                                \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                       \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
        }                                                                                                              \
    } while (0)

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void check_good(const char *host, int is_ip, const char *dir, int n)
{
    X509 *x = hfs_tlscert_for(host);
    CHECK(x, "no certificate for %s", host);
    if (!x)
        return;
    char want[400], *subj = P.X509_NAME_oneline(P.X509_get_subject_name(x), NULL, 0);
    char *iss = P.X509_NAME_oneline(P.X509_get_issuer_name(x), NULL, 0);
    if (strlen(host) <= 64)
        snprintf(want, sizeof want, "/CN=%s/O=hfshim virtual TLS", host);
    else
        snprintf(want, sizeof want, "/O=hfshim virtual TLS");
    printf("host %s\nsubject %s\nsubjectAltName ", host, subj ? subj : "?");
    CHECK(subj && strcmp(subj, want) == 0, "subject %s, want %s", subj ? subj : "?", want);
    CHECK(iss && subj && strcmp(iss, subj) == 0, "issuer differs from subject");
    P.CRYPTO_free(subj, __FILE__, __LINE__);
    P.CRYPTO_free(iss, __FILE__, __LINE__);
    int i = P.X509_get_ext_by_NID(x, NID_subject_alt_name, -1);
    CHECK(i >= 0 && P.X509V3_EXT_print_fp(stdout, P.X509_get_ext(x, i), 0, 0), "no subjectAltName");
    printf("\n");
    CHECK(P.X509_verify(x, P.X509_get0_pubkey(x)) == 1, "signature does not verify for %s", host);
    CHECK(P.X509_get_version(x) == X509_VERSION_3, "not a v3 certificate");
    int days = -1, secs = -1;
    const ASN1_TIME *nb = P.X509_get0_notBefore(x), *na = P.X509_get0_notAfter(x);
    CHECK(P.X509_cmp_current_time(nb) < 0 && P.X509_cmp_current_time(na) > 0, "not valid now");
    CHECK(P.ASN1_TIME_diff(&days, &secs, nb, na) && days == 1 && secs == 3600, "validity %d d %d s", days, secs);
    if (is_ip) {
        CHECK(P.X509_check_ip_asc(x, host, 0) == 1, "IP %s does not match", host);
        CHECK(P.X509_check_ip_asc(x, "10.9.9.9", 0) != 1, "foreign IP matches");
    } else {
        CHECK(P.X509_check_host(x, host, 0, 0, NULL) == 1, "host %s does not match", host);
        CHECK(P.X509_check_host(x, "evil.com", 0, 0, NULL) != 1, "evil.com matches");
    }
    P.PEM_write_X509(stdout, x);
    if (dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%d.pem", dir, n);
        FILE *f = fopen(path, "w");
        CHECK(f && P.PEM_write_X509(f, x), "cannot write %s", path);
        if (f)
            fclose(f);
    }
    hfs_tlscert_free(x);
}

static void *hammer(void *arg)
{
    unsigned t = (unsigned)(uintptr_t)arg;
    for (unsigned i = 0; i < 300; i++) {
        char host[32];
        snprintf(host, sizeof host, "h%u.example", (i * 7 + t) % 48); /* 48 hosts > 32 slots */
        X509 *x = hfs_tlscert_for(host);
        if (!x || P.X509_check_host(x, host, 0, 0, NULL) != 1)
            return (void *)1;
        hfs_tlscert_free(x);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : NULL;
    int linked = dlsym(RTLD_DEFAULT, "X509_new") != NULL;
    if (!linked) {
        CHECK(hfs_tlscert_for("huggingface.co") == NULL, "certificate without libcrypto");
        CHECK(!dlopen("libcrypto.so.3", RTLD_NOW | RTLD_NOLOAD), "libcrypto got loaded");
    }
    void *h = linked ? RTLD_DEFAULT : dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!linked && !h) {
        fprintf(stderr, "cannot open libcrypto.so.3: %s\n", dlerror());
        return 2;
    }
#define X(n) P.n = (__typeof__(n) *)dlsym(h, #n);
    FNS(X)
#undef X
    printf("libcrypto %s\n", linked ? "linked (global scope)" : "opened RTLD_LOCAL (private)");

    double t0 = now_us();
    X509 *first = hfs_tlscert_for("huggingface.co");
    double t1 = now_us();
    X509 *cached = hfs_tlscert_for("huggingface.co");
    double t2 = now_us();
    X509 *other = hfs_tlscert_for("cdn-lfs.huggingface.co");
    double t3 = now_us();
    CHECK(first && first == cached && other && other != first, "cache");
    printf("timing first %.0f us (resolve+key+cert), cached %.2f us, new host %.0f us (cert)\n", t1 - t0, t2 - t1,
           t3 - t2);
    hfs_tlscert_free(first);
    hfs_tlscert_free(cached);
    hfs_tlscert_free(other);

    char longest[300];
    memset(longest, 'a', sizeof longest);
    longest[253] = 0;
    check_good("huggingface.co", 0, dir, 0);
    check_good("127.0.0.1", 1, dir, 1);
    check_good("::1", 1, dir, 2);
    check_good("2001:db8::42", 1, dir, 3);
    check_good("Under_score-1.example", 0, dir, 4);
    check_good(longest, 0, dir, 5);

    longest[253] = 'a';
    longest[299] = 0;
    const char *bad[] = {
        "a,DNS:evil.com", "",      longest,   "host:443", "fe80::1%eth0", "a b",        "evil.com\n",  "x/y",
        "DNS:evil.com",   "[::1]", "a,b.com", "a;b",      "a=b",          "*.evil.com", "\xc3\xa9.com"
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        X509 *x = hfs_tlscert_for(bad[i]);
        CHECK(!x, "certificate for hostile host #%zu", i);
        hfs_tlscert_free(x);
    }
    CHECK(!hfs_tlscert_for(NULL), "certificate for NULL");

    pthread_t th[4];
    for (unsigned t = 0; t < 4; t++)
        pthread_create(&th[t], NULL, hammer, (void *)(uintptr_t)t);
    for (unsigned t = 0; t < 4; t++) {
        void *r;
        pthread_join(th[t], &r);
        CHECK(!r, "thread %u", t);
    }
    printf(failures ? "tlscert_probe: %d FAILED\n" : "tlscert_probe: all passed\n", failures);
    return failures != 0;
}
