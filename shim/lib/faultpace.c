/* faultpace: throttled reads on the byte layers (see header). */
#include "faultpace.h"

#include <errno.h>
#include <time.h>

size_t hfs_pace_chunk(long rate, size_t n)
{
    size_t chunk = rate >= 10 ? (size_t)(rate / 10) : 1;
    return rate > 0 && n > chunk ? chunk : n;
}

void hfs_pace_wait(long rate, long k)
{
    if (rate <= 0 || k <= 0)
        return;
    long long ns = (long long)k * 1000000000LL / rate;
    struct timespec ts = { (time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL) };
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}
