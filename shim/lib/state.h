/* state: the library's process-wide state (loaded rules, enforced
 * variables, what children inherit, counters) and its one-time init.
 * Hooks call hfs_ready() first; it initialises lazily (other libraries'
 * constructors may call hooks before ours runs) and returns 0 when the
 * hook must pass straight through (re-entry from the shim itself). */
#ifndef HFS_STATE_H
#define HFS_STATE_H

#include <limits.h>
#include <stdatomic.h>

#include "../core/envpolicy.h"
#include "../core/rules.h"

#define HFS_MAX_ENV 128
#define HFS_MAX_CARRY 16

/* Size and field order are per-exec cost: every process writes these at
 * init, and each page first written is a page fault, so the state is kept
 * to a few KiB (the two paths are pointers, not PATH_MAX buffers). */
struct hfs_state {
    struct hfs_rules *rules; /* the rules hooks decide with: NULL until hfs_ready() loaded them */
    struct hfs_rules *top;   /* the top level (env, offline, children, log): set at init, hfs_started() */
    size_t nenv;
    const char *carry[HFS_MAX_CARRY + 2]; /* "HFSHIM_X=value" for children */
    char program[64];
    int secure; /* secure-execution mode (AT_SECURE): nothing the user controls is read (syspolicy.h) */
    int locked; /* a locked system policy: the environment may only add restrictions */
    atomic_long blocked_lookups, blocked_connects, blocked_datagrams, blocked_requests, answered_requests;
    atomic_long faulted_requests;       /* hang, reset, refuse, dns-fail faults that acted */
    struct hfs_envvar env[HFS_MAX_ENV]; /* enforced variables */
    const char *libpath;                /* absolute path of this library (set at init, never freed) */
    const char *childlib;               /* what children preload: sanitizer runtimes we ran with, then libpath */
};

extern struct hfs_state hfs_g;

/* Thread-local re-entry guard: set while the shim runs its own code, so
 * a hook reached from it passes straight through (hfs_ready() is 0). */
extern __thread int hfs_busy __attribute__((tls_model("initial-exec")));

/* The one way to set and clear the guard: ENTER saves what was there and
 * sets it, LEAVE puts the saved value back, so a guard taken inside
 * another (shim code called from shim code) leaves the outer one set.
 *     int busy_outer;
 *     HFS_BUSY_ENTER(busy_outer);
 *     ... the shim's own calls ...
 *     HFS_BUSY_LEAVE(busy_outer);      (on every way out)
 * Never write hfs_busy directly (tests/test_banned_calls.py). */
#define HFS_BUSY_ENTER(saved)                                                                                          \
    do {                                                                                                               \
        (saved) = hfs_busy;                                                                                            \
        hfs_busy = 1;                                                                                                  \
    } while (0)
#define HFS_BUSY_LEAVE(saved) (hfs_busy = (saved))

/* Set once init is done and hfs_g.rules is final (loaded, or the safe
 * default): from then on hfs_ready() is a load and a compare. */
extern atomic_int hfs_rules_final;
int hfs_ready_slow(void);

static inline int hfs_ready(void)
{
    if (__builtin_expect(atomic_load_explicit(&hfs_rules_final, memory_order_acquire) && !hfs_busy, 1))
        return hfs_g.rules != NULL;
    return hfs_ready_slow();
}

/* Start-up only, for hooks that need the top level (hfs_g.top) and never
 * decide (exec: may run in a vfork child, where loading the rules is not
 * allowed). Returns 0 when the hook must pass straight through. */
int hfs_started(void);

/* fork, in the child: its counters start from 0 (called by atfork.c). */
void hfs_init_fork_child(void);

/* Adds NAME=value to what children get (replacing NAME's value). */
void hfs_carry_add(const char *name, const char *value);

#endif
