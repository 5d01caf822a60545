/* log: the shim's one way to say something. Lines are
 * "hfshim[pid] prog: message" (or one JSON object per line), written with
 * raw write(2) system calls (never through the hooks), to stderr, to a
 * file opened in append mode for each line (no fd is kept), or nowhere.
 * Tokens never reach it in clear: use hfs_mask_token. */
#ifndef HFS_LOG_H
#define HFS_LOG_H
#include <stddef.h>

enum hfs_log_dest { HFS_LOGDEST_STDERR, HFS_LOGDEST_FILE, HFS_LOGDEST_OFF };

/* dest: value of HFSHIM_LOG ("stderr", "-", "off", or a file path; NULL =
 * stderr). json: one JSON object per line. */
void hfs_log_setup(const char *dest, int json, const char *program);
int hfs_log_enabled(void);
int hfs_log_is_json(void);

/* One event: kind ("block", "error", "summary", "info"), and optional
 * fields (NULL / 0 when absent). Text form:
 *   hfshim[pid] prog: blocked connect huggingface.co:443 (rule offline: why)
 *   hfshim[pid] curl: blocked GET https://h/p (rule r: why) -> 403
 *   hfshim[pid] curl: answered GET https://h/p with 404 (rule r)
 *   hfshim[pid] curl: stripped header Authorization from GET https://h/p (rule r)
 *   hfshim[pid] curl: stripped Authorization (hf_ab…yz) from GET https://h/p (rule r: why)
 */
struct hfs_log_event {
    const char *kind;
    const char *layer;
    const char *host;
    const char *ip;
    int port;
    const char *rule;
    const char *why;
    const char *error;   /* what the program was told, e.g. "ECONNREFUSED" */
    const char *message; /* free text for error/info/summary */
    /* HTTP-level events ("block", "respond", "strip-header", "set-header",
     * "delay"): the request, and what was done */
    const char *method;
    const char *url;    /* without user:password */
    int status;         /* respond / HTTP-form block: the status answered */
    const char *header; /* strip-header / set-header: the header name */
    int delay_ms;
    const char *token; /* the request's token, masked ("hf_ab…yz"), or NULL */
};
void hfs_log_event(const struct hfs_log_event *e);

/* The audit log (HFSHIM_AUDIT=FILE, rules/README.md §12.5): one JSON
 * object per decision, appended with one write(2) per record (records of
 * concurrent processes never interleave), the file opened for each. */
struct hfs_audit_rec {
    const char *layer;    /* resolve, connect, http, tls, curl */
    const char *decision; /* allow, block, respond, hang, refuse, virtual */
    const char *rule;     /* the deciding rule ("(no rule)", "offline") */
    const char *action;   /* its action (or preset name) */
    const char *why;
    const char *method, *url; /* HTTP layers; url as logs show it */
    const char *host, *ip;
    int port;
    int status;        /* the answer's status, when hfshim answered */
    const char *error; /* what the program saw, when it failed */
    int token_present, token_stripped;
    const char *token; /* masked, or NULL */
    const char *edits; /* "strip Authorization, set X-A", or NULL */
    int delay_ms;
    long reset_after;  /* -1: none */
    long throttle_bps; /* 0: none */
    const char *fault_rule;
};
void hfs_audit_setup(const char *path); /* NULL or "": off */
int hfs_audit_on(void);
void hfs_audit_write(const struct hfs_audit_rec *a);

/* Free-text line (kind "info" or "error"). */
void hfs_log_msg(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The URL as logs show it: no user:password, and anything that looks like
 * an HF token (hf_ or api_org_, then 20 or more letters/digits), written
 * plainly or percent-encoded (hf%5F…), masked. */
void hfs_log_safe_url(const char *url, char *out, size_t outlen);

/* "hf_ab…yz" for tokens of 20+ characters, "hf_…" for 8 to 19, "…" for
 * shorter ones; an empty string when out cannot hold the whole mask. */
void hfs_mask_token(const char *tok, size_t len, char *out, size_t outlen);

#endif
