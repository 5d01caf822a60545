/* tlscert: certificate factory for virtual TLS sessions (see header). All
 * libcrypto calls go through one table resolved from a single libcrypto;
 * the subjectAltName is built with the GENERAL_NAME API, never from a
 * config string, so no host text is ever parsed by libcrypto. */
#include "tlscert.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <link.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 32
#define HOST_MAX 253
#define RENEW_SECONDS (12 * 3600) /* certificates are valid for 24 h */

#define CRYPTO_FNS(X)                                                                                                  \
    X(EVP_PKEY_CTX_new_id)                                                                                             \
    X(EVP_PKEY_CTX_free)                                                                                               \
    X(EVP_PKEY_CTX_ctrl)                                                                                               \
    X(EVP_PKEY_keygen_init)                                                                                            \
    X(EVP_PKEY_keygen)                                                                                                 \
    X(EVP_sha256)                                                                                                      \
    X(X509_new)                                                                                                        \
    X(X509_free)                                                                                                       \
    X(X509_up_ref)                                                                                                     \
    X(X509_set_version)                                                                                                \
    X(X509_get_serialNumber)                                                                                           \
    X(ASN1_INTEGER_set_uint64)                                                                                         \
    X(X509_gmtime_adj)                                                                                                 \
    X(X509_getm_notBefore)                                                                                             \
    X(X509_getm_notAfter)                                                                                              \
    X(X509_set_pubkey)                                                                                                 \
    X(X509_get_subject_name)                                                                                           \
    X(X509_NAME_add_entry_by_txt)                                                                                      \
    X(X509_set_issuer_name)                                                                                            \
    X(GENERAL_NAMES_new)                                                                                               \
    X(GENERAL_NAMES_free)                                                                                              \
    X(GENERAL_NAME_new)                                                                                                \
    X(GENERAL_NAME_free)                                                                                               \
    X(GENERAL_NAME_set0_value)                                                                                         \
    X(ASN1_IA5STRING_new)                                                                                              \
    X(ASN1_OCTET_STRING_new)                                                                                           \
    X(ASN1_STRING_set)                                                                                                 \
    X(ASN1_STRING_free)                                                                                                \
    X(OPENSSL_sk_push)                                                                                                 \
    X(X509_add1_ext_i2d)                                                                                               \
    X(X509_sign)

static struct {
#define X(n) __typeof__(n) *n;
    CRYPTO_FNS(X)
#undef X
} C;
static int resolved;

struct slot {
    char host[HOST_MAX + 1];
    time_t made;
    X509 *cert;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot cache[SLOTS];
static unsigned next_slot;
static EVP_PKEY *key;
static uint64_t serial_counter;

/* fork (the certificate cache): the lock is taken before fork (atfork.c's order),
 * released after it in the parent and in the child. */
void hfs_tlscert_fork_prepare(void) { pthread_mutex_lock(&lock); }
void hfs_tlscert_fork_parent(void) { pthread_mutex_unlock(&lock); }
void hfs_tlscert_fork_child(void) { pthread_mutex_unlock(&lock); }

/* Fills C from one object (handle, or the global scope when handle is
 * NULL); all or nothing, so functions of two libcryptos never mix. */
static int resolve_from(void *handle)
{
#define X(n)                                                                                                           \
    if (!(C.n = (__typeof__(n) *)dlsym(handle ? handle : RTLD_DEFAULT, #n)))                                           \
        goto fail;
    CRYPTO_FNS(X)
#undef X
    return 1;
fail:
    memset(&C, 0, sizeof C);
    return 0;
}

/* dl_iterate_phdr callback: the first already-loaded libcrypto* with every
 * function we need (RTLD_NOLOAD never loads anything; the reference it
 * takes is kept so the library stays while we hold its objects). */
static int find_libcrypto(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    const char *base = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
    base = base ? base + 1 : info->dlpi_name;
    if (!base || strncmp(base, "libcrypto", 9) != 0)
        return 0;
    void *h = dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
    if (h && resolve_from(h)) {
        *(int *)data = 1;
        return 1;
    }
    if (h)
        dlclose(h);
    return 0;
}

static int resolve(void)
{
    if (!resolved)
        resolved = resolve_from(NULL);
    if (!resolved) /* retried next call: libcrypto may be loaded later */
        dl_iterate_phdr(find_libcrypto, &resolved);
    return resolved;
}

/* ASCII letters, digits and . - _ : only; returns the length, 0 if bad. */
static size_t valid_host(const char *h)
{
    size_t n = 0;
    for (; h[n]; n++) {
        unsigned char c = (unsigned char)h[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                 c == '_' || c == ':';
        if (!ok || n >= HOST_MAX)
            return 0;
    }
    return n;
}

static uint64_t next_serial(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t z = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    z ^= (++serial_counter << 40) ^ ((uint64_t)getpid() << 20);
    z += 0x9E3779B97F4A7C15ull; /* splitmix64 finaliser */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    z &= 0x7FFFFFFFFFFFFFFFull; /* positive, 8 bytes of DER at most */
    return z ? z : 1;
}

/* subjectAltName with one entry: IP (4 or 16 raw bytes) or DNS (IA5). */
static int add_san(X509 *x, const char *host)
{
    unsigned char ip[16];
    int iplen = inet_pton(AF_INET, host, ip) == 1 ? 4 : inet_pton(AF_INET6, host, ip) == 1 ? 16 : 0;
    if (!iplen && strchr(host, ':'))
        return 0; /* a colon only belongs in an IPv6 literal */
    ASN1_STRING *s = iplen ? C.ASN1_OCTET_STRING_new() : C.ASN1_IA5STRING_new();
    GENERAL_NAME *gn = C.GENERAL_NAME_new();
    GENERAL_NAMES *gens = C.GENERAL_NAMES_new();
    int ok = 0;
    if (!s || !gn || !gens || !C.ASN1_STRING_set(s, iplen ? (const void *)ip : host, iplen ? iplen : -1))
        goto out;
    C.GENERAL_NAME_set0_value(gn, iplen ? GEN_IPADD : GEN_DNS, s);
    s = NULL;
    if (C.OPENSSL_sk_push((OPENSSL_STACK *)gens, gn) <= 0)
        goto out;
    gn = NULL;
    ok = C.X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1;
out:
    if (s)
        C.ASN1_STRING_free(s);
    if (gn)
        C.GENERAL_NAME_free(gn);
    if (gens)
        C.GENERAL_NAMES_free(gens);
    return ok;
}

/* An EC P-256 key through EVP_PKEY_CTX, which OpenSSL 1.1 (Debian 11,
 * RHEL 8, Ubuntu 20.04: legacy containers) and 3 both have; OpenSSL 3's
 * one-call EVP_PKEY_Q_keygen is not in 1.1, and without a certificate a
 * client there that checks the peer's names itself (urllib3 1.26 on
 * Python 3.9) fails on the virtual session instead of reading the answer. */
static EVP_PKEY *make_key(void)
{
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *ctx = C.EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
    if (ctx && C.EVP_PKEY_keygen_init(ctx) > 0 &&
        C.EVP_PKEY_CTX_ctrl(ctx, EVP_PKEY_EC, EVP_PKEY_OP_PARAMGEN | EVP_PKEY_OP_KEYGEN,
                            EVP_PKEY_CTRL_EC_PARAMGEN_CURVE_NID, NID_X9_62_prime256v1, NULL) > 0 &&
        C.EVP_PKEY_keygen(ctx, &k) <= 0)
        k = NULL;
    if (ctx)
        C.EVP_PKEY_CTX_free(ctx);
    return k;
}

static X509 *make_cert(const char *host, size_t len)
{
    if (!key && !(key = make_key()))
        return NULL;
    X509 *x = C.X509_new();
    if (!x)
        return NULL;
    X509_NAME *name = C.X509_get_subject_name(x);
    /* CN is limited to 64 characters (RFC 5280 ub-common-name): longer
     * names go in the subjectAltName only, which is what clients match */
    int ok =
        C.X509_set_version(x, X509_VERSION_3) && C.ASN1_INTEGER_set_uint64(C.X509_get_serialNumber(x), next_serial()) &&
        C.X509_gmtime_adj(C.X509_getm_notBefore(x), -3600) && C.X509_gmtime_adj(C.X509_getm_notAfter(x), 86400) &&
        C.X509_set_pubkey(x, key) &&
        (len > 64 || C.X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)host, -1, -1, 0)) &&
        C.X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"hfshim virtual TLS", -1, -1, 0) &&
        C.X509_set_issuer_name(x, name) && add_san(x, host) && C.X509_sign(x, key, C.EVP_sha256()) > 0;
    if (!ok) {
        C.X509_free(x);
        return NULL;
    }
    return x;
}

void *hfs_tlscert_for(const char *host)
{
    size_t len = host ? valid_host(host) : 0;
    if (!len)
        return NULL;
    pthread_mutex_lock(&lock);
    X509 *out = NULL;
    if (!resolve())
        goto done;
    time_t now = time(NULL);
    struct slot *s = NULL;
    for (unsigned i = 0; i < SLOTS && !s; i++)
        if (cache[i].cert && strcmp(cache[i].host, host) == 0)
            s = &cache[i];
    if (s && (now - s->made > RENEW_SECONDS || now < s->made)) {
        C.X509_free(s->cert); /* stale (or the clock went back): remake */
        s->cert = NULL;
    }
    if (!s) {
        s = &cache[next_slot];
        next_slot = (next_slot + 1) % SLOTS;
        if (s->cert)
            C.X509_free(s->cert);
        s->cert = NULL;
    }
    if (!s->cert) {
        if (!(s->cert = make_cert(host, len)))
            goto done;
        memcpy(s->host, host, len + 1);
        s->made = now;
    }
    if (C.X509_up_ref(s->cert))
        out = s->cert;
done:
    pthread_mutex_unlock(&lock);
    return out;
}

void hfs_tlscert_free(void *x509)
{
    if (!x509)
        return;
    pthread_mutex_lock(&lock);
    __typeof__(X509_free) *f = C.X509_free;
    pthread_mutex_unlock(&lock);
    if (f)
        f(x509);
}
