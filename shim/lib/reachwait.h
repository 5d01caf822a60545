/* reachwait: the reach deadlines of non-blocking sockets, kept where the
 * application waits. A hooked call on a non-blocking socket never waits
 * for the Hub (a non-blocking connect returns EINPROGRESS, a send returns
 * at once): it records a deadline here instead (a connect to a Hub host,
 * the server's first byte after a ClientHello or after a GET/HEAD), and
 * the wait hooks (waithooks.c) end their wait no later than the earliest
 * deadline, run the deadline's action (which leaves the socket ready in
 * the kernel: connected to a virtual peer holding an answer, or failed)
 * and wait again for what remains of the application's own timeout.
 * Nothing runs on a thread of ours; while no deadline is pending (nearly
 * always) each wait costs one load. The action of a deadline that passed
 * may leave an errno for the socket's next connect/getsockopt(SO_ERROR)
 * to report (ETIMEDOUT). */
#ifndef HFS_REACHWAIT_H
#define HFS_REACHWAIT_H

#include <stdatomic.h>

/* Deadlines pending (their count), and entries of any state. */
extern atomic_int hfs_rw_pending;
extern atomic_int hfs_rw_entries;

/* The action of a deadline that passed, run with hfs_busy set, on the
 * same socket as when it was recorded (checked). It returns 0 (nothing
 * more to say) or an errno the socket's next connect/SO_ERROR reports. */
typedef int (*hfs_rw_fire_fn)(int fd, void *arg);

/* The app asks getsockopt(SO_ERROR) on fd while its deadline is pending
 * (run with hfs_busy set): HFS_RW_ANSWERED (*val is the answer; the entry
 * ends), HFS_RW_KEEP (the real call answers; the deadline stays: the
 * outcome is not known yet) or HFS_RW_DONE (the real call answers; the
 * entry ends). */
enum { HFS_RW_KEEP, HFS_RW_ANSWERED, HFS_RW_DONE };
typedef int (*hfs_rw_asked_fn)(int fd, void *arg, int *val);

/* Records a deadline on fd in ms from now (arg is freed with free()
 * when the entry ends). An fd has at most one entry: a new one replaces
 * an older one. -1 when the table is full (the caller then waits itself). */
int hfs_rw_add(int fd, int ms, hfs_rw_fire_fn fire, hfs_rw_asked_fn asked, void *arg);

/* fd's entry ends (closed, its outcome seen). */
void hfs_rw_cancel(int fd);

/* Runs the actions of the deadlines that passed; the ms until the
 * earliest one still pending (rounded up, >= 1), or -1 when none. */
int hfs_rw_due(void);

/* getsockopt(SO_ERROR) on fd: 1 when answered here (*val: the errno a
 * deadline left, or the asked callback's answer), else 0. */
int hfs_rw_so_error(int fd, int *val);

/* connect() again on fd after its deadline failed it: the errno to
 * report (the entry ends), else 0. */
int hfs_rw_failed(int fd);

/* 1 when fd's last deadline passed and left an errno (not yet reported). */
int hfs_rw_has_failed(int fd);

/* 1 when fd has an entry (pending or failed) whose action is fire. */
int hfs_rw_has(int fd, hfs_rw_fire_fn fire);

/* fd's TCP state (the kernel's TCP_ESTABLISHED, TCP_SYN_SENT...) and the
 * payload bytes it received so far (*rx; 0 when the kernel does not say):
 * 0, or -1 when fd is not a TCP socket. */
int hfs_rw_tcp(int fd, int *state, unsigned long long *rx);

/* fork handlers (called by atfork.c in the library's lock order) */
void hfs_rw_fork_prepare(void);
void hfs_rw_fork_parent(void);
void hfs_rw_fork_child(void);

#endif
