/* decide_apply: the one place a verdict is recorded, for every layer:
 * judge a request with the loaded rules; the log line, the counters and
 * the names of the events (block, respond, hang, reset, throttle, delay,
 * the header edits). The lookup and connection layers use hfs_judge*;
 * the HTTP layers (sockets and OpenSSL through httpjudge.c, libcurl
 * through curlplan.c) carry out their verdict and record each outcome
 * with hfs_record_http / hfs_record_edit. The audit record is audit.h's. */
#ifndef HFS_DECIDE_APPLY_H
#define HFS_DECIDE_APPLY_H

#include "../core/decide.h"
#include "../core/edits.h"

/* Returns the verdict kind; on HFS_V_BLOCK the block is logged with the
 * error the program will see (e.g. "ECONNREFUSED"). */
enum hfs_verdict_kind hfs_judge(struct hfs_request *r, const char *error_shown);

/* The same, keeping the whole verdict (connection layers read its fate).
 * At a connection layer only a REFUSE fate is logged as a block: a
 * virtual connection's requests are logged when they are answered. */
void hfs_judge_verdict(struct hfs_request *r, const char *error_shown, struct hfs_verdict *v);

/* A connection the TLS or socket layer sees after its connect (a session,
 * a ClientHello), judged as its connect was, with nothing recorded: the
 * verdict (v->hub: a Hub host's; v->http_rules, v->http_strict: whether
 * HTTP rules act on it). host may be NULL or "", addr NULL or unset;
 * scheme NULL when unknown. The one place such a request is described. */
void hfs_judge_dest(const char *host, const struct hfs_addr *addr, int port, const char *scheme, struct hfs_verdict *v);

/* Only its hub flag, without deciding (the cheap check the socket and
 * TLS layers make on each session). */
int hfs_dest_is_hub(const char *host, const struct hfs_addr *addr, int port);

/* Where an HTTP request's outcomes are recorded: the layer's name
 * ("curl", "socket", "tls"), the method and the URL as logs show it. */
struct hfs_http_rec {
    const char *layer, *method, *url;
};

/* The process counter an outcome adds to (the exit summary's figures). */
enum hfs_count { HFS_COUNT_NONE, HFS_COUNT_BLOCKED, HFS_COUNT_ANSWERED, HFS_COUNT_FAULTED };

/* One outcome of an HTTP request: counted, and its log event (kind
 * "block", "respond", "hang", "reset", "throttle", "delay"; rule and why;
 * the status answered, the header, the delay, the error the program
 * sees, the token's mask: each 0/NULL when it does not apply). */
void hfs_record_http(const struct hfs_http_rec *rec, enum hfs_count count, const char *kind, const char *rule,
                     const char *why, int status, const char *header, int delay_ms, const char *error,
                     const char *token);

/* A header edit made to a request: its event is named after the edit
 * (strip-auth, strip-header, set-auth, set-header). bad_token_why: why a
 * strip-auth rule found the token bad; mask: the token as logs show it. */
void hfs_record_edit(const struct hfs_http_rec *rec, const struct hfs_hdr_edit *e, const char *bad_token_why,
                     const char *mask);

/* An edit left out (the skipped callback of struct hfs_value_source;
 * ctx is the request's struct hfs_http_rec). */
void hfs_record_edit_skipped(void *ctx, const struct hfs_rule *rule, const char *why);

#endif
