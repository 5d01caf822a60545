/* rules_json: the position-aware JSON reading every part of the rules
 * loader uses: the loader's state (file, text, current JSON path), messages
 * that name file:line:col and the path, type checks, the key checks of an
 * object and the typed readers of one value (string, whole number,
 * boolean, regex, host pattern). Also where the diagnostics sink
 * (struct hfs_diag) is written to, for the loader and the modules that
 * report through it (envpolicy, faultspec, syspolicy). */
#ifndef HFS_RULES_JSON_H
#define HFS_RULES_JSON_H
#include <stddef.h>

#include "cjson_bind.h"
#include "jsonpos.h"
#include "rules_types.h"

/* The most bytes a rules file, an included file or a body_file may have. */
#define HFS_MAX_RULES_FILE (16 * 1024 * 1024)

/* The state of one file's load (an included file gets its own). */
struct hfs_rload {
    const char *name; /* the file name as opened, for messages and relative paths */
    const char *text; /* its bytes (positions are found in them) */
    size_t len;
    struct hfs_diag *d;
    struct hfs_jpath path; /* where the loader is: messages point there */
    struct hfs_rules *r;   /* what is being filled */
    int depth;             /* include depth (0: the file named) */
};

/* Counts a message and hands it to d->emit; the first error is kept. */
void hfs_diag_report(struct hfs_diag *d, int is_error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reports at the current path (at its key when at_key):
 * "file:line:col: [warning: ]path: message". */
void hfs_rj_say(struct hfs_rload *L, int is_error, int at_key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "a string", "an array", ... for messages. */
const char *hfs_rj_type_name(const cJSON *j);
/* 0 when j has the type (cJSON_True: either boolean), else -1 and an
 * error "expected WHAT, found ...". */
int hfs_rj_expect(struct hfs_rload *L, const cJSON *j, int type, const char *what);
/* Checks an object's keys against known (NULL-terminated): duplicates are
 * errors; unknown keys warn ("known keys here: HINT"), or with strict
 * (inside "match", where a misspelt key would silently widen the rule to
 * every request) are errors. Returns -1 on error. */
int hfs_rj_check_keys(struct hfs_rload *L, const cJSON *obj, const char *const *known, const char *hint, int strict);
/* The member of obj named key, or NULL. */
const cJSON *hfs_rj_get(const cJSON *obj, const char *key);
/* strdup, with an error message when out of memory. */
char *hfs_rj_dup(struct hfs_rload *L, const char *s);

/* Text checks: a control character (C0 or DEL); a CR, LF or NUL in s[0..n);
 * a valid environment variable name; an HTTP header name (a token). */
int hfs_rj_has_control(const char *s);
int hfs_rj_has_crlf(const char *s, size_t n);
int hfs_rj_env_name_ok(const char *s);
int hfs_rj_header_name_ok(const char *s);

/* What hfs_rj_str checks of a string value. */
enum hfs_rj_check {
    HFS_RJ_ANY,         /* any string */
    HFS_RJ_HEADER_NAME, /* an HTTP header name */
    HFS_RJ_NO_CRLF,     /* no line break */
    HFS_RJ_ENV_NAME,    /* an environment variable name */
    HFS_RJ_NON_EMPTY,   /* not "" */
};

/* Member key of j, when present, into *out: a string (strdup'ed), a whole
 * number in [lo, hi] ("WHAT must be a whole number from LO to HI"), a
 * boolean. Absent: 0 and *out unchanged; -1 after an error message. */
int hfs_rj_str(struct hfs_rload *L, const cJSON *j, const char *key, char **out, enum hfs_rj_check check);
int hfs_rj_int(struct hfs_rload *L, const cJSON *j, const char *key, int lo, int hi, int *out, const char *what);
int hfs_rj_bool(struct hfs_rload *L, const cJSON *j, const char *key, int *out);

/* The value j (at the current path) as a regex (warns when it can
 * backtrack badly), a host pattern, or an array of host patterns appended
 * to *out (grown; *n counts them). 0 or -1 after an error message. */
int hfs_rj_regex(struct hfs_rload *L, const cJSON *j, struct hfs_re **out, int caseless);
int hfs_rj_hostpat(struct hfs_rload *L, const cJSON *j, struct hfs_hostpat *out);
int hfs_rj_hostpats(struct hfs_rload *L, const cJSON *j, struct hfs_hostpat **out, size_t *n);

#endif
