/* window: count windows and seeded probability (see header). */
#include "window.h"

#include <stdint.h>

static uint64_t mix(uint64_t x) /* splitmix64's finaliser */
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

double hfs_window_draw(unsigned long seed, const char *rule, long n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a of the rule name */
    for (const unsigned char *p = (const unsigned char *)(rule ? rule : ""); *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    uint64_t x = mix(mix((uint64_t)seed ^ h) ^ (uint64_t)n);
    return (double)(x >> 11) * (1.0 / 9007199254740992.0);
}

int hfs_window_fires(const struct hfs_window *w, const char *rule, long n)
{
    if (!w->present)
        return 1;
    if (w->first > 0 && n > w->first)
        return 0;
    if (w->after > 0 && n <= w->after)
        return 0;
    if (w->every > 0 && n % w->every != 0)
        return 0;
    if (w->p < 1.0 && !(hfs_window_draw(w->seed, rule, n) < w->p))
        return 0;
    return 1;
}
