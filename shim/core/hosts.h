/* hosts: is a name answered locally, without any network? Numeric
 * addresses, "localhost" and *.localhost (RFC 6761), and names listed in a
 * hosts(5) file. Offline mode looks up only such names, so a lookup can
 * never wait on an unreachable DNS server. Pure code with a fuzz target. */
#ifndef HFS_HOSTS_H
#define HFS_HOSTS_H
#include <stddef.h>

/* 1 when name appears as a host name or alias in hosts-file text. */
int hfs_hosts_lists(const char *text, size_t len, const char *name);

/* 1 for numeric addresses and the localhost names. */
int hfs_name_is_builtin_local(const char *name);

#endif
