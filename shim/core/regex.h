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
/* 1 on match, 0 on no match, -1 when the engine gave up (match, depth,
 * heap or JIT stack limit, no memory) even after retrying without the JIT:
 * the caller decides which way that counts (a block or strip rule: as a
 * match, failing closed). Each pattern reports its first give-up through
 * hfs_re_error_hook, when set. */
int hfs_re_match(struct hfs_re *re, const char *subject, size_t len);
/* Called once per pattern on its first engine error (the library logs it). */
extern void (*hfs_re_error_hook)(const char *pattern, const char *error);
/* 1 when a pattern can backtrack badly: a group holding a quantifier that
 * is itself repeated ("([^/]+/)*", "(a*)+"). A heuristic, for warnings. */
int hfs_re_risky(const char *src);
void hfs_re_free(struct hfs_re *re);

#endif
