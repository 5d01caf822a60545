/* ssllib: the real libssl behind the OpenSSL hooks. Each function of the
 * HFS_SSL lines of hooks.def is found at first use in the libssl the
 * program loaded (often privately, e.g. by Python's _ssl) and cached.
 * RS(name) is the real function, or NULL when no libssl has it. */
#ifndef HFS_SSLLIB_H
#define HFS_SSLLIB_H

#include <openssl/ssl.h>
#include <stdatomic.h>

/* OpenSSL 3 maps this old name onto SSL_get1_peer_certificate with a
 * macro; libssl still exports it for older binaries, so we hook both. */
#undef SSL_get_peer_certificate
X509 *SSL_get_peer_certificate(const SSL *ssl);

#define HFS_SSL(n, how, r, a) extern _Atomic(void *) hfs_ssl_real_##n;
#include "hooks.def"

void *hfs_ssl_lookup(_Atomic(void *) *slot, const char *name);

#define RS(n) ((__typeof__(&n))hfs_ssl_lookup(&hfs_ssl_real_##n, #n))

#endif
