/* atfork: the library's one set of fork handlers, registered once at init
 * (pthread_atfork), so the locks are taken at fork in one order whatever
 * subsystem a program used first.
 *
 * Before fork the forking thread takes every process-wide lock of the
 * library, in this order (outer layers first: a layer may hold its lock
 * while it calls a layer below, never the other way round):
 *
 *   1. curlmulti   pending transfers and timers   (libcurl multi API)
 *   2. curlstate   the handle map                 (libcurl easy handles)
 *   3. sslsess     the session table              (OpenSSL layer)
 *   4. tlscert     the certificate cache          (virtual TLS)
 *   5. sockconn    the entry pool                 (socket layer)
 *   6. reachwait   the deadline table             (the app's own waits)
 *   7. reachmem    the reachability table's lock
 *   8. tokmem      the learned-token table
 *   9. blackhole   the listeners of hang faults
 *  10. dnsmem      the writers' lock of the address->name memory
 *  11. hubcache    the copied-snapshot ids        (core)
 *
 * so no other thread is inside any of them at the fork; the parent
 * releases them in the reverse order, the child too, then makes new the
 * per-connection locks (socket entries, TLS sessions) a thread that does
 * not exist in the child may have held, and resets what the child counts
 * itself and the rules-load lock (init.c: never taken before fork). A new lock goes into this list at the place of its
 * layer, with its three handlers in its own file.
 *
 * Between fork and exec (and in a vfork child) only async-signal-safe
 * work: no lock, no malloc (exechooks.c). */
#include "atfork.h"
#include "../core/startup.h"

#include <pthread.h>

#include "../core/hubcache.h"
#include "blackhole.h"
#include "curlmulti.h"
#include "curlstate.h"
#include "dnsmem.h"
#include "reachmem.h"
#include "reachwait.h"
#include "sockconn.h"
#include "sslsess.h"
#include "state.h"
#include "tlscert.h"
#include "tokmem.h"

static void prepare(void)
{
    hfs_curl_multi_fork_prepare();
    hfs_curl_fork_prepare();
    hfs_tls_fork_prepare();
    hfs_tlscert_fork_prepare();
    hfs_sock_fork_prepare();
    hfs_rw_fork_prepare();
    hfs_reach_fork_prepare();
    hfs_tokmem_fork_prepare();
    hfs_blackhole_fork_prepare();
    hfs_dnsmem_fork_prepare();
    hfs_hubcache_fork_prepare();
}

static void parent(void)
{
    hfs_hubcache_fork_parent();
    hfs_dnsmem_fork_parent();
    hfs_blackhole_fork_parent();
    hfs_tokmem_fork_parent();
    hfs_reach_fork_parent();
    hfs_rw_fork_parent();
    hfs_sock_fork_parent();
    hfs_tlscert_fork_parent();
    hfs_tls_fork_parent();
    hfs_curl_fork_parent();
    hfs_curl_multi_fork_parent();
}

static void child(void)
{
    hfs_hubcache_fork_child();
    hfs_dnsmem_fork_child();
    hfs_blackhole_fork_child();
    hfs_tokmem_fork_child();
    hfs_reach_fork_child();
    hfs_rw_fork_child();
    hfs_sock_fork_child();
    hfs_tlscert_fork_child();
    hfs_tls_fork_child();
    hfs_curl_fork_child();
    hfs_curl_multi_fork_child();
    hfs_init_fork_child();
}

/* What libc's pthread_atfork stub calls (it is linked into the library,
 * far from the start-up code: a page fault in every process). */
extern void *__dso_handle;
extern int __register_atfork(void (*)(void), void (*)(void), void (*)(void), void *);

HFS_STARTUP void hfs_atfork_install(void) { __register_atfork(prepare, parent, child, __dso_handle); }
