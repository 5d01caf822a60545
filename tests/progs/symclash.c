/* symclash: a host program that exports its own (broken) pcre2_compile_8,
 * pcre2_match_8, cJSON_Parse and cJSON_ParseWithLength, as a program with
 * its own copies of those libraries would. The shim must keep using its
 * private PCRE2 and cJSON: its rules still load and apply.
 * Prints getenv(NAME) for each argument. Built with -rdynamic. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define EXPORT __attribute__((visibility("default"), used))

EXPORT void *pcre2_compile_8(const void *p, size_t l, unsigned o, int *e, size_t *eo, void *c)
{
    (void)p, (void)l, (void)o, (void)eo, (void)c;
    *e = 100;
    return NULL;
}
EXPORT int pcre2_match_8(void) { return -1; }
EXPORT void *cJSON_Parse(const char *s)
{
    (void)s;
    return NULL;
}
EXPORT void *cJSON_ParseWithLength(const char *s, size_t n)
{
    (void)s, (void)n;
    return NULL;
}
EXPORT void *cJSON_ParseWithLengthOpts(const char *s, size_t n, const char **e, int r)
{
    (void)s, (void)n, (void)e, (void)r;
    return NULL;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *v = getenv(argv[i]);
        printf("%s=%s\n", argv[i], v ? v : "(unset)");
    }
    return 0;
}
