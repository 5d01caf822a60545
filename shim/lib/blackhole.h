/* blackhole: where hfshim sends connections that must hang (hang rules).
 * A listening socket on 127.0.0.1 whose accept queue hfshim fills itself
 * and never accepts: the kernel then drops every SYN sent to it, so a
 * connect to it stays in progress, exactly like one to a host behind a
 * firewall that drops packets (a non-blocking connect never becomes
 * writable; a blocking one ends with ETIMEDOUT after the kernel's SYN
 * retries). A second listener with room in its queue takes connections
 * and never reads them: a request sent there is never answered.
 * Made on first use only (two or three fds kept while the process lives,
 * close-on-exec); the traffic never leaves loopback. */
#ifndef HFS_BLACKHOLE_H
#define HFS_BLACKHOLE_H

/* Connects fd (an AF_INET or AF_INET6 stream socket, as the app made it)
 * to the blackhole: returns what the real connect returned (-1 with
 * EINPROGRESS for a non-blocking socket); -1 with errno when no blackhole
 * can be made. */
int hfs_blackhole_connect(int fd, int family);

/* The host:port of the listener that takes connections and never answers
 * ("127.0.0.1:N"), for libcurl's CURLOPT_CONNECT_TO; NULL when it cannot
 * be made. */
const char *hfs_tarpit_hostport(void);

/* fork handlers (called by atfork.c in the library's lock order) */
void hfs_blackhole_fork_prepare(void);
void hfs_blackhole_fork_parent(void);
void hfs_blackhole_fork_child(void);

#endif
