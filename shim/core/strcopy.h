/* strcopy: bounded string copies for the start-up path, where snprintf's
 * code (a few pages of libc that a program like /usr/bin/true never
 * touches) would cost page faults in every process. Same result as
 * snprintf(dst, cap, "%s%s...", ...): cut to cap - 1 bytes, always
 * terminated when cap > 0. */
#ifndef HFS_STRCOPY_H
#define HFS_STRCOPY_H
#include <stddef.h>
#include <string.h>

/* Appends src at dst[*o], advancing *o; stops at cap - 1. */
static inline void hfs_strappend(char *dst, size_t cap, size_t *o, const char *src)
{
    size_t n = strlen(src);
    if (*o + 1 >= cap)
        return;
    if (n > cap - 1 - *o)
        n = cap - 1 - *o;
    memcpy(dst + *o, src, n);
    *o += n;
    dst[*o] = 0;
}

/* dst = src, cut to fit. */
static inline void hfs_strcopy(char *dst, size_t cap, const char *src)
{
    size_t o = 0;
    if (!cap)
        return;
    dst[0] = 0;
    hfs_strappend(dst, cap, &o, src);
}

#endif
