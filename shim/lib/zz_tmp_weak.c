/* TEMPORARY (removed before commit): weak stand-ins until tokstate.c/tokensrc.c land. */
#include "../core/tokstate.h"
#include "../core/tokensrc.h"
__attribute__((weak)) int hfs_tokstate_path(const char *n, const char *(*e)(const char *), char *o, size_t c) { (void)n; (void)e; (void)o; (void)c; return -1; }
__attribute__((weak)) int hfs_tokstate_read(const char *p, long long *o, void (*f)(void *, const struct hfs_tokstate_entry *), void *x, const char **w) { (void)p; (void)o; (void)f; (void)x; *w = "n/a"; return -1; }
__attribute__((weak)) int hfs_tokstate_append(const char *p, const struct hfs_tokstate_entry *e, const char **w) { (void)p; (void)e; *w = "n/a"; return -1; }
__attribute__((weak)) const char *hfs_tokensrc_label_for(const char *(*e)(const char *), const unsigned char s[32], char *o, size_t c) { (void)e; (void)s; (void)o; (void)c; return 0; }
