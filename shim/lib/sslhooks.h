/* sslhooks: the OpenSSL layer's entry points for the rest of the library
 * (the hooks themselves are exported by name; tlspair.h is the socket
 * layer's pairing with it). */
#ifndef HFS_SSLHOOKS_H
#define HFS_SSLHOOKS_H

/* fork handlers (called by atfork.c in the library's lock order) */
void hfs_tls_fork_prepare(void);
void hfs_tls_fork_parent(void);
void hfs_tls_fork_child(void);

#endif
