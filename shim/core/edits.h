/* edits: header edits (strip-header, set-header, strip-auth, set-auth)
 * as every HTTP layer applies them. hfs_edits_resolve turns a verdict's
 * matching rules into concrete edits, reading set-header values from the
 * environment or a file through callbacks (so this stays pure);
 * hfs_edits_apply_lines applies them to a list of "Name: value" lines
 * (libcurl's header list); the HTTP/1 head rewriter applies them to raw
 * request heads. */
#ifndef HFS_EDITS_H
#define HFS_EDITS_H
#include <stddef.h>

#include "decide.h"

struct hfs_hdr_edit {
    int remove; /* 1: remove the header; 0: set it */
    const char *name;
    const struct hfs_re *value_re; /* remove: only values matching (NULL: every value) */
    const char *value;             /* set: the value */
    const struct hfs_rule *rule;   /* where it came from, for the log */
};

struct hfs_value_source {
    /* the variable's value or NULL */
    const char *(*env)(void *ctx, const char *name);
    /* reads the file into buf (NUL-terminated); length, or -1 with errno */
    long (*file)(void *ctx, const char *path, char *buf, size_t cap);
    /* told about each set-header left out, and why (static text) */
    void (*skipped)(void *ctx, const struct hfs_rule *rule, const char *why);
    void *ctx;
};

/* Fills out[] (at most cap) with the verdict's edits in rule order. Values
 * of set-header are prefix + the variable's value or the file's first line
 * (trailing whitespace removed), copied into buf. A set-header whose value
 * is missing, empty or holds a control character is left out (skipped is
 * told). Returns the number of edits. */
size_t hfs_edits_resolve(const struct hfs_verdict *v, const struct hfs_value_source *src, struct hfs_hdr_edit *out,
                         size_t cap, char *buf, size_t buflen);

/* 1 when the edit removes a header line with this name and value. */
int hfs_edit_removes(const struct hfs_hdr_edit *e, const char *name, size_t nlen, const char *value, size_t vlen);

/* Applies edits to header lines in libcurl's syntax ("Name: value",
 * "Name;" for an empty value, "Name:" to stop libcurl sending a header it
 * would add itself). out[] receives pointers to kept input lines and to
 * new lines written in buf, in order: kept lines, then for each
 * unconditional removal a "Name:" line (so libcurl does not generate that
 * header either, e.g. Authorization from a user:password), then the set
 * lines that no later edit replaces or removes (edits apply in order, as
 * the HTTP/1 head rewriter applies them). Returns the number of lines, or -1 when out or buf is too small. */
long hfs_edits_apply_lines(const char *const *in, size_t n, const struct hfs_hdr_edit *e, size_t ne, const char **out,
                           size_t outcap, char *buf, size_t buflen);

#endif
