/* decide_time: times the decision core alone: loads a rules file and runs hfs_decide on one HTTP request (as the libcurl layer describes it) many times; prints the best ns per decision over ROUNDS (bench/bench.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "now_ns.h"

#include "decide.h"
#include "rules.h"
#include "url.h"

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: decide_time RULES METHOD URL N ROUNDS\n");
        return 2;
    }
    struct hfs_diag d = { 0 };
    struct hfs_rules *r = hfs_rules_load_file(argv[1], &d);
    if (!r) {
        fprintf(stderr, "decide_time: %s\n", d.first_error);
        return 2;
    }
    const char *url = argv[3], *why;
    long n = atol(argv[4]);
    int rounds = atoi(argv[5]);
    struct hfs_url u;
    if (hfs_url_parse(url, strlen(url), &u, &why)) {
        fprintf(stderr, "decide_time: %s: %s\n", url, why);
        return 2;
    }
    char host[256], scheme[16], path[4096];
    snprintf(host, sizeof host, "%.*s", (int)u.host.len, url + u.host.off);
    snprintf(scheme, sizeof scheme, "%.*s", (int)u.scheme.len, url + u.scheme.off);
    snprintf(path, sizeof path, "%.*s", u.path.len ? (int)u.path.len : 1, u.path.len ? url + u.path.off : "/");
    static const char tok[] = "Bearer hf_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefgh";
    struct hfs_header hdrs[3] = { { "User-Agent", 10, "curl/7.88.1", 11 },
                                  { "Accept", 6, "*/*", 3 },
                                  { "Authorization", 13, tok, sizeof tok - 1 } };
    struct hfs_request q = { .layer = HFS_LAYER_CURL,
                             .program = "bench",
                             .host = host,
                             .port = u.port,
                             .method = argv[2],
                             .scheme = scheme,
                             .path = path,
                             .url = url,
                             .headers = hdrs,
                             .nheaders = 3,
                             .http_known = 1 };
    struct hfs_verdict v;
    long long best = -1;
    hfs_decide(r, &q, &v); /* warm: regex JIT */
    for (int k = 0; k < rounds; k++) {
        long long t0 = now_ns();
        for (long i = 0; i < n; i++)
            hfs_decide(r, &q, &v);
        long long t = now_ns() - t0;
        if (best < 0 || t < best)
            best = t;
    }
    printf("%lld %s %s\n", best / n, hfs_verdict_name(v.kind), v.rule);
    hfs_rules_free(r);
    return 0;
}
