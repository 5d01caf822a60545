/* reachmem: what this process knows about the Hub's reachability. The
 * verdicts live in the table of core/reach.h, mapped MAP_SHARED from the
 * rules' reach.state_file (default ~/.cache/hfshim/reach, 0600, refused
 * when another user owns it), so every process of a run, and the next run
 * within reach.remember_s, pays a deadline once; without a usable file
 * they stay in this process. The hooks report the signs (a failed lookup,
 * connect, handshake, a silent server) and the good news (a Hub host
 * answered); the core asks through the request's reach callback. One log
 * line when a host becomes unreachable, one when it is reachable again. */
#ifndef HFS_REACHMEM_H
#define HFS_REACHMEM_H

#include "../core/reach.h"
#include "../core/request.h"

/* The callback the layers put in their requests. */
const struct hfs_reach *hfs_reach(void);

/* host (a Hub host) showed a sign of being unreachable (reach.h's
 * reasons; err: errno or EAI_* code). No-op when reach.learn is off. */
void hfs_reach_learn(const char *host, int reason, int err);

/* The same for the destination of r (its host name, else its address),
 * when r goes to a Hub host; v6 connect failures that mean "no IPv6
 * route" are not learned (clients then try the IPv4 addresses). */
void hfs_reach_learn_req(const struct hfs_request *r, int reason, int err);

/* host (a Hub host) answered: a verdict on it is forgotten. */
void hfs_reach_ok(const char *host);

/* 1 when the Hub host is unreachable now (learned, or HF_HUB_OFFLINE=1
 * taken over). */
int hfs_reach_host_down(const char *host);

/* The user's HF_HUB_OFFLINE=1 (or TRANSFORMERS_OFFLINE/HF_DATASETS_OFFLINE)
 * was taken over: every Hub host is unreachable for this process and its
 * children (HFSHIM_HUB_OFFLINE=1 carries it). */
void hfs_reach_set_hub_offline(const char *why);

/* 1 when the Hub's reachability is watched: deadlines on connects,
 * handshakes and first bytes, and learning (reach.learn, not offline). */
int hfs_reach_on(void);

/* Milliseconds of the deadlines (from the rules). */
int hfs_reach_resolve_ms(void);
int hfs_reach_connect_ms(void);
int hfs_reach_handshake_ms(void);
int hfs_reach_first_byte_ms(void);

/* fork handlers (called by atfork.c in the library's lock order) */
void hfs_reach_fork_prepare(void);
void hfs_reach_fork_parent(void);
void hfs_reach_fork_child(void);

#endif
