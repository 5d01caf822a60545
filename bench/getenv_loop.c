/* getenv_loop: times N calls of getenv(NAME) in-process and prints the best of ROUNDS in ns (bench/bench.py). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    const char *name = argc > 2 ? argv[2] : "HOME";
    int rounds = argc > 3 ? atoi(argv[3]) : 1;
    volatile size_t sink = 0;
    long long best = -1;
    if (n <= 0 || rounds <= 0 || !getenv(name)) {
        fprintf(stderr, "usage: getenv_loop N NAME ROUNDS (NAME must be set)\n");
        return 2;
    }
    for (long i = 0; i < 10000; i++) /* warm the caches and bind the PLT slot */
        sink += (size_t)(unsigned char)getenv(name)[0];
    for (int r = 0; r < rounds; r++) {
        long long t0 = now_ns();
        for (long i = 0; i < n; i++) {
            const char *v = getenv(name);
            sink += v ? (size_t)(unsigned char)v[0] : 0;
        }
        long long t = now_ns() - t0;
        if (best < 0 || t < best)
            best = t;
    }
    printf("%lld\n", best);
    return sink == 0 ? 1 : 0;
}
