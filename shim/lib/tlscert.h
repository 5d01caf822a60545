/* tlscert: self-signed X.509 certificates for virtual TLS sessions (the
 * shim answers an OpenSSL client handshake without a peer, and the app
 * then asks for the peer certificate). CN=host, O=hfshim virtual TLS,
 * subjectAltName DNS:host or IP:addr, valid from 1 h ago for one day,
 * EC P-256 key generated once per process. libcrypto is never linked nor
 * loaded by us: its functions are looked up in the libcrypto the process
 * already has (global scope, else a libcrypto* object loaded RTLD_LOCAL,
 * as Python's _ssl does, reached with RTLD_NOLOAD). */
#ifndef HFS_TLSCERT_H
#define HFS_TLSCERT_H

/* A new reference to an X509 * for host (DNS name or IP literal without
 * brackets), or NULL when no libcrypto 3 is loaded, host is empty, longer
 * than 253 bytes or has characters outside [A-Za-z0-9._:-], or generation
 * failed. Thread-safe; cached per host (32 entries, round-robin, renewed
 * after 12 h). Free with X509_free of the same libcrypto or hfs_tlscert_free. */
void *hfs_tlscert_for(const char *host);
void hfs_tlscert_free(void *x509);

/* fork handlers (called by atfork.c in the library's lock order) */
void hfs_tlscert_fork_prepare(void);
void hfs_tlscert_fork_parent(void);
void hfs_tlscert_fork_child(void);

#endif
