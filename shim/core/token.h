/* token: what an Authorization header carries and whether it is a bad
 * Hugging Face token (rules/README.md §5). Pure: the learned and validated
 * verdicts come through a lookup the layer supplies (tokmem in the
 * library), the rules' token policy through struct hfs_token_policy.
 *
 * Classes, in the order they are checked:
 *   malformed  empty, "None"/"null"/"undefined"/…, an unexpanded variable
 *              ("$HF_TOKEN", "${HF_TOKEN}"), quoted, whitespace or a control
 *              character inside, or not of the policy's format (default:
 *              "hf_" and 30 or more letters and digits);
 *   denied     its SHA-256 starts with one of the policy's deny prefixes;
 *   learned    the Hub answered 401 "Invalid credentials in Authorization
 *              header" to a request carrying it (this process, or another
 *              one sharing the state file);
 *   invalid    the Hub's whoami-v2 said so when it was validated;
 *   ok         anything else. */
#ifndef HFS_TOKEN_H
#define HFS_TOKEN_H
#include <stddef.h>

#include "request.h"

enum hfs_tok_class {
    HFS_TOK_NONE = 0, /* no Authorization header */
    HFS_TOK_OK,       /* well-formed and not known bad */
    HFS_TOK_MALFORMED,
    HFS_TOK_DENIED,
    HFS_TOK_LEARNED,
    HFS_TOK_INVALID,
};
/* "none", "ok", "malformed", "denied", "learned", "invalid". */
const char *hfs_tok_class_name(enum hfs_tok_class c);

/* Bits of a strip-auth rule's "when" (which reasons strip). */
enum {
    HFS_WHEN_MALFORMED = 1 << 0,
    HFS_WHEN_DENIED = 1 << 1,
    HFS_WHEN_LEARNED = 1 << 2,
    HFS_WHEN_INVALID = 1 << 3,
    HFS_WHEN_FOREIGN = 1 << 4, /* an HF token to a host outside the Hub hosts and tokens.hosts */
    HFS_WHEN_ALL = 0x1f,
};

/* What the layers' verdict lookups answer for a token hash. */
enum hfs_tok_known {
    HFS_KNOWN_NOTHING = 0,
    HFS_KNOWN_LEARNED = 1, /* answered 401 Invalid credentials */
    HFS_KNOWN_INVALID = 2, /* whoami-v2: invalid (within the TTL) */
    HFS_KNOWN_VALID = 3,   /* whoami-v2: valid (within the TTL) */
};
struct hfs_token_known {
    enum hfs_tok_known (*lookup)(void *ctx, const unsigned char sha[32]);
    void *ctx;
};

/* The credential in one Authorization value. */
struct hfs_token {
    const char *scheme; /* "Bearer", "Basic", "token", or "" (bare value) */
    const char *tok;    /* the token (Basic: the password, decoded into the caller's buffer) */
    size_t len;
    unsigned char sha[32]; /* SHA-256 of tok[0..len) */
    char mask[24];         /* hfs_mask_token of it: "hf_ab…yz" */
};

/* Reads an Authorization value ("Bearer X", "Basic base64(user:X)",
 * "token X", or a bare X); Basic is decoded into buf (cap bytes). Only the
 * value's outer spaces are trimmed: what is inside stays for the
 * classifier to judge. Returns 0, or -1 when buf is too small. */
int hfs_token_parse(const char *value, size_t len, char *buf, size_t cap, struct hfs_token *out);

/* 1 when tok looks like a Hugging Face token (the policy's format, or
 * "hf_" followed by 20+ letters or digits when the policy has none). */
struct hfs_token_policy;
int hfs_token_is_hf(const struct hfs_token_policy *p, const struct hfs_token *t);

/* The class of t under policy p (NULL: defaults) and known (NULL: none);
 * *why gets a short static reason ("an unexpanded variable") or NULL. */
enum hfs_tok_class hfs_token_classify(const struct hfs_token_policy *p, const struct hfs_token *t,
                                      const struct hfs_token_known *known, const char **why);

/* 1 when a response is the Hub's "this token is invalid" answer: status
 * 401 with X-Error-Message "Invalid credentials in Authorization header"
 * (case and surrounding spaces ignored). */
int hfs_token_response_invalid(int status, const struct hfs_header *h, size_t n);

/* The first Authorization header of a request, or NULL. */
const struct hfs_header *hfs_token_header(const struct hfs_header *h, size_t n);

#endif
