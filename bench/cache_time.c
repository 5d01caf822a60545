/* cache_time: times one Hub call answered from a cache folder by the core
 * alone (hfs_hub_parse + hfs_cache_answer, what a layer's probe does):
 * prints the best ns per call over ROUNDS (bench/bench.py, cache section).
 *   usage: cache_time CACHE_ROOT METHOD PATH N ROUNDS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "now_ns.h"

#include "hubcache.h"
#include "hubpath.h"
#include "hubsynth.h"

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: cache_time CACHE_ROOT METHOD PATH N ROUNDS\n");
        return 2;
    }
    struct hfs_cache_roots r;
    memset(&r, 0, sizeof r);
    snprintf(r.dir[0], sizeof r.dir[0], "%s", argv[1]);
    r.from[0] = "bench";
    r.n = 1;
    long n = atol(argv[4]), rounds = atol(argv[5]);
    static struct hfs_cache_answer a;
    long long best = -1;
    for (long k = 0; k < rounds; k++) {
        long long t0 = now_ns();
        for (long i = 0; i < n; i++) {
            struct hfs_hubreq q;
            const char *why;
            if (hfs_hub_parse(argv[2], argv[3], NULL, &q, &why) != 1 ||
                hfs_cache_answer(&r, &q, NULL, NULL, 0, &a) != 1) {
                fprintf(stderr, "cache_time: %s %s is not answered from %s: %s\n", argv[2], argv[3], argv[1],
                        a.summary);
                return 1;
            }
            hfs_cache_answer_free(&a);
        }
        long long per = (now_ns() - t0) / n;
        if (best < 0 || per < best)
            best = per;
    }
    printf("%lld\n", best);
    return 0;
}
