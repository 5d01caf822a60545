/* jsonpos: a validating JSON scanner that knows where things are.
 * cJSON builds the tree but keeps no positions; rules errors must name
 * file:line:col, so this scanner checks the syntax with precise messages
 * and finds the offset of the value (or key) at a JSON path. Pure code. */
#ifndef HFS_JSONPOS_H
#define HFS_JSONPOS_H
#include <stddef.h>

#define HFS_JPATH_MAX 16

struct hfs_jseg {
    const char *key; /* object member name, or NULL for an array index */
    int index;
};

struct hfs_jpath {
    int depth;
    struct hfs_jseg seg[HFS_JPATH_MAX];
};

void hfs_jpath_key(struct hfs_jpath *p, const char *key);
void hfs_jpath_index(struct hfs_jpath *p, int index);
void hfs_jpath_pop(struct hfs_jpath *p);
/* "rules[3].match.path", "env.set[\"A.B\"]", "(top level)" for the root. */
void hfs_jpath_render(const struct hfs_jpath *p, char *out, size_t outlen);

/* Checks that [s, s+n) is one JSON value with only white space around it.
 * Returns 0, or -1 with *err_off and *err_msg (a static string) set. */
int hfs_json_validate(const char *s, size_t n, size_t *err_off, const char **err_msg);

/* Offset of the value at path p (of its key when want_key and the last
 * segment is a key). The text must have passed hfs_json_validate.
 * Returns 0, or -1 when the path is not in the text. */
int hfs_json_locate(const char *s, size_t n, const struct hfs_jpath *p, int want_key, size_t *off);

/* 1-based line and column (in characters) of a byte offset. */
void hfs_json_linecol(const char *s, size_t n, size_t off, int *line, int *col);

/* The text s[0..n) escaped for the inside of a JSON string ('"', '\\' and
 * control bytes as \uXXXX), NUL-terminated in out, cut at a whole escape
 * when out is too small. Returns the length written. */
size_t hfs_json_escape(const char *s, size_t n, char *out, size_t cap);

#endif
