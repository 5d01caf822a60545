/* sslalpn: what ALPN lists the app offers (SSL_CTX_set_alpn_protos,
 * SSL_set_alpn_protos): a session or context offering HTTP/2 but not
 * HTTP/1.1 must not have its handshake deferred (see sslhooks.c). */
#include "sslalpn.h"

#include <stdatomic.h>
#include <string.h>

#include "real.h"
#include "ssllib.h"

/* Sessions and contexts whose ALPN list offers HTTP/2 but not HTTP/1.1: a
 * deferred handshake (which offers HTTP/1.1 only) would change what they
 * negotiate, so theirs is never deferred. A small table of pointers; an
 * entry left by a freed object only costs a later one at the same address
 * its deferral. */
#define H2ONLY_SLOTS 64
static const void *_Atomic h2only[H2ONLY_SLOTS];

static int offers_h11(const unsigned char *p, unsigned int len)
{
    if (!p || len == 0)
        return 1; /* no ALPN: HTTP/1.1 */
    for (unsigned i = 0; i < len;) {
        unsigned l = p[i];
        if (i + 1 + l > len)
            return 1; /* malformed: libssl refuses it anyway */
        if (l == 8 && memcmp(p + i + 1, "http/1.1", 8) == 0)
            return 1;
        i += 1 + l;
    }
    return 0;
}

static void note_alpn(const void *obj, const unsigned char *p, unsigned int len)
{
    int h11 = offers_h11(p, len);
    for (int i = 0; i < H2ONLY_SLOTS; i++) {
        const void *cur = atomic_load(&h2only[i]);
        if (cur == obj) {
            if (h11)
                atomic_store(&h2only[i], NULL);
            return;
        }
    }
    for (int i = 0; i < H2ONLY_SLOTS && !h11; i++) {
        const void *expect = NULL;
        if (atomic_compare_exchange_strong(&h2only[i], &expect, obj))
            return;
    }
}

int hfs_tls_is_h2only(const void *obj)
{
    for (int i = 0; obj && i < H2ONLY_SLOTS; i++)
        if (atomic_load_explicit(&h2only[i], memory_order_relaxed) == obj)
            return 1;
    return 0;
}

HFS_EXPORT int SSL_CTX_set_alpn_protos(SSL_CTX *ctx, const unsigned char *p, unsigned int len)
{
    int (*real)(SSL_CTX *, const unsigned char *, unsigned int) = RS(SSL_CTX_set_alpn_protos);
    int r = real ? real(ctx, p, len) : 1;
    if (r == 0)
        note_alpn(ctx, p, len);
    return r;
}

HFS_EXPORT int SSL_set_alpn_protos(SSL *ssl, const unsigned char *p, unsigned int len)
{
    int (*real)(SSL *, const unsigned char *, unsigned int) = RS(SSL_set_alpn_protos);
    int r = real ? real(ssl, p, len) : 1;
    if (r == 0)
        note_alpn(ssl, p, len);
    return r;
}
