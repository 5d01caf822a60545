/* rules_types: the types of the rules model (what a rules file loads
 * into: struct hfs_rules, its rules, their match, action and window) and of
 * the loader's diagnostics. Types only, no functions: the modules that read
 * the rules (decide, presets, window, ruleindex, token, ...) include this
 * and never rules.h, so no include cycle can form through the loader. See
 * rules/README.md for the format. */
#ifndef HFS_RULES_TYPES_H
#define HFS_RULES_TYPES_H
#include <stddef.h>

struct hfs_re;
struct hfs_hostpat;
struct hfs_ruleindex;

/* The actions a rule can take. Each one is declared once, with its name,
 * whether it is a modifier (applies, then the next rules are tried) and
 * its parameters, in the table of actions.c. */
enum hfs_action_kind {
    HFS_ACT_ALLOW,
    HFS_ACT_BLOCK,
    HFS_ACT_RESPOND,
    HFS_ACT_STRIP_HEADER,
    HFS_ACT_SET_HEADER,
    HFS_ACT_DELAY,
    HFS_ACT_CACHE,      /* answer a Hub metadata call from the local cache (hubsynth.h);
                      on a miss: the next rules decide, or block */
    HFS_ACT_STRIP_AUTH, /* modifier: drop Authorization when its token is bad
                           (token.h classes, the rule's "when") */
    HFS_ACT_SET_AUTH,   /* modifier: set Authorization (prefix, default "Bearer ",
                           + from_env / from_file), only where the rule matches */
    /* fault injection (rules/README.md §12) */
    HFS_ACT_REFUSE,   /* the connection is refused (ECONNREFUSED); decided at connect */
    HFS_ACT_DNS_FAIL, /* the name does not resolve (EAI_NONAME); decided at the resolver */
    HFS_ACT_HANG,     /* "stage": "request" (default): the request is taken and never
                         answered; "connect": the connection never completes (a firewall
                         that drops packets). The client's own timeout ends it. */
    HFS_ACT_RESET,    /* modifier: the response is cut after after_bytes bytes and the
                         connection reset (ECONNRESET) */
    HFS_ACT_THROTTLE, /* modifier: the response is read at most bytes_per_second */
};

/* When a rule fires among the requests it matches (rules/README.md §12.3):
 * every condition set must hold for the n-th match (n counted from 1 over
 * the whole run, shared by its processes). */
struct hfs_window {
    int present;
    long first; /* n <= first (0: not set) */
    long after; /* n > after (0: not set) */
    long every; /* n % every == 0 (0: not set) */
    double p;   /* probability (1: always) from a hash of seed, rule and n */
    unsigned long seed;
};

enum hfs_block_form {
    HFS_BLOCK_DEFAULT, /* an HTTP 403 answer for Hub hosts, a transport error otherwise */
    HFS_BLOCK_ERROR,   /* always the layer's transport error */
    HFS_BLOCK_HTTP,    /* always an HTTP answer (status, default 403) */
};

struct hfs_kv {
    char *name;
    char *value;
};

/* The parameters of a rule's action (only those of its kind are set). */
struct hfs_action_args {
    char *header;            /* strip-header, set-header: header name */
    struct hfs_re *value_re; /* strip-header: only when the value matches */
    char *from_env;          /* set-header: value from this variable */
    char *from_file;         /* set-header: value from this file (first line), read when applied */
    char *prefix;            /* set-header: text put before the value ("Bearer ") */
    int status;              /* respond; block with form http */
    struct hfs_kv *headers;  /* respond: response headers in file order */
    size_t nheaders;
    char *body; /* respond: body bytes (literal or read from body_file at load) */
    size_t body_len;
    int ms;                   /* delay */
    enum hfs_block_form form; /* block */
    int miss_block;           /* cache: a miss is blocked (default: the next rules decide) */
    char **cache_dirs;        /* cache: extra cache folders ("$VAR/sub", "~/x", paths), searched after the Hub cache */
    size_t ncache_dirs;
    unsigned when;         /* strip-auth: HFS_WHEN_* bits (token.h) of the reasons that strip */
    long after_bytes;      /* reset: bytes of the response the client gets first */
    long bytes_per_second; /* throttle */
    int hang_connect;      /* hang: at connect ("stage": "connect") rather than at the request */
    int preset;            /* respond / hang made from a preset (presets.h), 0: none */
    long retry_after;      /* preset rate-limited: Retry-After seconds (default 1) */
};

struct hfs_header_match {
    char *name;
    struct hfs_re *re;
};

struct hfs_match {
    int hub;                  /* "host": "@hub" */
    struct hfs_hostpat *host; /* NULL: any host */
    char **methods;           /* NULL: any method */
    size_t nmethods;
    unsigned method_mask; /* hfs_method_bit of each method; HFS_METHOD_OTHER: compare the names */
    int *ports;           /* NULL: any port */
    size_t nports;
    char *scheme;        /* NULL: any scheme */
    struct hfs_re *path; /* regex on the path (no query) */
    struct hfs_re *url;  /* regex on the full URL */
    struct hfs_header_match *headers;
    size_t nheaders;
    struct hfs_re *repo; /* regex on the repo id of a Hub call ("org/name"; hubpath.h) */
    int cached;          /* -1: any; 1: the Hub call can be answered from the cache; 0: it cannot */
    char **programs;     /* program names (the process's short name); NULL: any */
    size_t nprograms;
};

struct hfs_rule {
    char *name;
    struct hfs_match match;
    enum hfs_action_kind action;
    struct hfs_action_args args;
    struct hfs_window window;
};

/* hfs_method_bit (rules_match.h) gives a bit per common method (GET, HEAD,
 * POST, PUT, DELETE, PATCH, OPTIONS), HFS_METHOD_OTHER for any other name:
 * rules compare methods with one AND. */
#define HFS_METHOD_OTHER 0x80u

struct hfs_env_pair {
    char *name;
    char *value; /* NULL: unset */
};

enum hfs_log_format { HFS_LOG_TEXT, HFS_LOG_JSON };

/* How offline mode is enforced (rules/README.md §4). */
enum hfs_offline_mode {
    HFS_OFFLINE_ANSWER = 1,    /* hfshim is offline, the libraries are not told: Hub calls are answered
                                  from the cache or blocked at the HTTP level */
    HFS_OFFLINE_VARIABLES = 2, /* the Hugging Face offline variables are set too (the libraries go offline) */
};

/* The "tokens" section: how Authorization tokens are judged (token.h) and
 * what hfshim learns about them (rules/README.md §5). */
struct hfs_token_policy {
    int present;           /* the rules have a "tokens" section */
    struct hfs_re *format; /* what a well-formed token looks like; NULL: "hf_" + 30 or more letters/digits */
    char **deny;           /* lower-case hex prefixes (8..64 digits) of SHA-256 digests of bad tokens */
    size_t ndeny;
    int learn;                 /* remember tokens the Hub answered 401 "Invalid credentials" to (default 1) */
    int retry;                 /* retry such a GET/HEAD once without Authorization (default 1) */
    char *state_file;          /* learned/validated hashes shared across processes ("~", "$VAR" expanded); NULL: none */
    struct hfs_hostpat *hosts; /* hosts besides the Hub hosts an HF token may go to */
    size_t nhosts;
    int validate;     /* check tokens against whoami-v2 once (hfshim run / doctor --online) */
    int validate_ttl; /* seconds a validation verdict holds (default 86400) */
    int keep_xet;     /* 0: HF_HUB_DISABLE_XET=1 is set (default); 1: "xet": "keep" */
};

/* The "reach" section: when a Hub host counts as unreachable and what
 * hfshim then does (rules/README.md §4.3). */
struct hfs_reach_policy {
    int learn;             /* learn unreachability from failed lookups, connects, handshakes (default 1) */
    int resolve_ms;        /* a lookup of a Hub host's name waits at most this per name server (default 1000; whole
                           seconds: glibc's resolver counts in seconds) */
    int connect_ms;        /* a connect to a Hub host not complete after this: unreachable (default 1500) */
    int handshake_ms;      /* a TLS handshake with a Hub host not done after this (default 1500) */
    int first_byte_ms;     /* a Hub metadata request with no response byte after this (default 2000) */
    int remember_s;        /* how long an "unreachable" verdict holds (default 60) */
    char *state_file;      /* where the verdicts are shared ("~", "$VAR" expanded); NULL: this process only */
    int offline_variables; /* 1 (default): a user's HF_HUB_OFFLINE=1 & co. mean "the Hub is unreachable"
                              (hfshim takes them over); 0: the libraries' own offline behaviour */
};

struct hfs_rules {
    char *source; /* file name as given, or a label */
    struct hfs_token_policy tokens;
    struct hfs_reach_policy reach;
    int offline; /* 0, or an hfs_offline_mode */
    struct hfs_hostpat *hub;
    size_t nhub;
    struct hfs_env_pair *env; /* env.set then env.unset, in file order */
    size_t nenv;
    struct hfs_rule *rules;
    size_t nrules;
    struct hfs_ruleindex *index;    /* which rules a host can match (ruleindex.h), or NULL */
    int children;                   /* LD_PRELOAD and HFSHIM_* reach children (default 1) */
    enum hfs_log_format log_format; /* default text */
    int log_format_set;
    int locked;       /* "locked": true: the environment may only add restrictions (syspolicy.h) */
    char *log_dest;   /* "log": {"destination"}: "stderr", "off" or an absolute path, or NULL */
    char *audit_path; /* "log": {"audit"}: absolute path of the audit log, or NULL */
    char **includes;  /* every included file's path as opened, in load order */
    size_t nincludes;
};

/* Collects messages. emit is called once per message (errors and
 * warnings); the first error is also kept in first_error. */
struct hfs_diag {
    void (*emit)(void *ctx, int is_error, const char *msg);
    void *ctx;
    int errors, warnings;
    char first_error[1024];
};

#endif
