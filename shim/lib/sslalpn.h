/* sslalpn: the ALPN lists apps offer (sslalpn.c). */
#ifndef HFS_SSLALPN_H
#define HFS_SSLALPN_H

/* 1 when the SSL or SSL_CTX obj offered HTTP/2 but not HTTP/1.1. */
int hfs_tls_is_h2only(const void *obj);

#endif
