/* regex: PCRE2 patterns for rules (paths, URLs, header values, host globs),
 * compiled once at load and JIT-compiled lazily on first use, thread-safe. */
#ifndef HFS_REGEX_H
#define HFS_REGEX_H
#include <stddef.h>

struct hfs_re;

/* Compiles a regex; on error returns NULL and writes "…at offset N" to err. */
struct hfs_re *hfs_re_compile(const char *src, int caseless, char *err, size_t errlen);
/* Converts a glob (PCRE2 glob syntax, '*' matches any run of characters,
 * '?' one character, [...] a class) into an anchored caseless regex. */
struct hfs_re *hfs_re_compile_glob(const char *glob, char *err, size_t errlen);
/* 1 on match, 0 otherwise. */
int hfs_re_match(struct hfs_re *re, const char *subject, size_t len);
void hfs_re_free(struct hfs_re *re);

#endif
