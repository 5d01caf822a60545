/* now_ns.h: the monotonic clock in ns, for the bench's C timers
 * (decide_time.c, cache_time.c). */
#ifndef HFS_BENCH_NOW_NS_H
#define HFS_BENCH_NOW_NS_H
#include <time.h>

static inline long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

#endif
