/* decide: the decision core. Given the loaded rules and one request (from
 * any layer), returns one verdict. Pure: no I/O, no globals, no hooks. */
#ifndef HFS_DECIDE_H
#define HFS_DECIDE_H

#include "presets.h"
#include "request.h"
#include "rules_types.h"

enum hfs_verdict_kind {
    HFS_V_ALLOW,   /* let it go on (after the header edits and delay, if any) */
    HFS_V_BLOCK,   /* fail it the way this layer fails (see rules/README.md) */
    HFS_V_DEFER,   /* the answer depends on what this layer cannot see (HTTP
                      method, path, headers): let the connection go on and
                      decide again when the request itself is seen */
    HFS_V_RESPOND, /* answer with the rule's response; nothing is sent */
    HFS_V_HANG,    /* take the request and never answer it (hang rule); at a
                      connection layer with fate HFS_CONN_HANG: the connection
                      never completes */
};

#define HFS_MAX_EDITS 32 /* more matching one request: the request is refused */

struct hfs_verdict {
    enum hfs_verdict_kind kind;
    int rule_index;   /* index in rules, or -1 (offline policy / no rule) */
    int action;       /* the deciding rule's action (enum hfs_action_kind), or -1 with no rule */
    int lookup_fail;  /* a dns-fail rule decided: a layer that fails it fails as a name lookup would */
    const char *rule; /* rule name, "offline", or "(no rule)" */
    const char *why;  /* short reason, static text */
    /* HTTP layers only: */
    const struct hfs_rule *edits[HFS_MAX_EDITS]; /* header-edit rules that matched, in order (actions.h: edit) */
    size_t nedits;
    int delay_ms;                  /* sum of the matching delay rules */
    const struct hfs_rule *answer; /* RESPOND: the respond rule; BLOCK: the block rule (NULL for offline) */
    int hub;                       /* the request goes to a Hub host */
    int http_form;                 /* BLOCK: answer with an HTTP error response rather than a transport error */
    int block_status;              /* BLOCK with http_form: the status (403 by default) */
    /* Connection layers only (resolve, connect): what happens to the
     * connection itself, whatever its requests turn out to be. */
    enum hfs_conn_fate {
        HFS_CONN_REAL,    /* it reaches the network */
        HFS_CONN_REFUSE,  /* it fails with the layer's transport error */
        HFS_CONN_VIRTUAL, /* it must not reach the network, but its HTTP
                             requests can be answered (a respond rule, or an
                             HTTP-form block): a virtual connection */
        HFS_CONN_HANG,    /* it never completes (hang rule, stage connect) */
    } fate;
    /* Faults (HTTP layers): */
    long reset_after;                 /* >= 0: the response is cut after this many bytes, then
                           the connection is reset (reset rule); -1: no reset */
    long throttle_bps;                /* > 0: the response is delivered at most this fast */
    const char *fault_rule;           /* the reset/throttle rule (for the log), or NULL */
    struct hfs_preset_ctx preset_ctx; /* RESPOND from a preset: what its answer names */
    int http_rules;                   /* some rule that needs the HTTP request (an answer, a
                       modifier, or conditions on method/path/url/headers)
                       may act on its requests:
                       the HTTP layers must watch this connection */
    int http_strict;                  /* ... and one of them is not token hygiene (strip-auth):
                        a session whose requests cannot be read (HTTP/2 over
                        TLS) is refused rather than passed through */
    int from_cache;                   /* RESPOND: answered from the local Hub cache (the
                       answer is in the request's cache probe context) */
    int answerable;                   /* some request on it can be answered without the
                       network (respond, HTTP-form block): if a real
                       connection cannot be made (server down), a virtual
                       one still gives those answers */
    /* HTTP layers: the token the request's Authorization carries (token.h). */
    struct hfs_verdict_auth {
        int cls;               /* enum hfs_tok_class as the app sent it (HFS_TOK_NONE: no header) */
        int hf;                /* it looks like an HF token */
        int foreign;           /* an HF token to a host outside the Hub hosts and tokens.hosts */
        int stripped;          /* a strip-auth rule removes it (its edit is in edits[]) */
        const char *why;       /* why it is bad (static text), or NULL */
        const char *rule;      /* the strip-auth rule, or NULL */
        unsigned char sha[32]; /* SHA-256 of the token */
        char mask[24];         /* "hf_ab…yz" */
        int watch;             /* the layer must show the response head to hfs_auth_watch (learn,
                                   retry, diagnostics): a token goes to a Hub host, or the request
                                   goes to a Hub host at all (diagnostics) */
        int retry;             /* a 401 "Invalid credentials" to it is retried once without
                                   Authorization (tokens.retry; GET/HEAD/OPTIONS to a Hub host) */
        int learn;             /* such a 401 is learned (tokens.learn) */
    } auth;
};

/* 1 when the request goes to a Hub host: by name, by address literal, or
 * by host:port for patterns with a port. Sets *unknown when the answer
 * needs a port the request does not have. */
int hfs_is_hub(const struct hfs_rules *p, const struct hfs_request *r, int *unknown);

void hfs_decide(const struct hfs_rules *p, const struct hfs_request *r, struct hfs_verdict *v);

const char *hfs_verdict_name(enum hfs_verdict_kind k);

#endif
