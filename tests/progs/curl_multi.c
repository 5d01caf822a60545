/* curl_multi: a libcurl client for the integration tests. It drives many
 * transfers at once, either on one multi handle (`multi URL...`) or from N
 * threads each with its own easy handle fetching URL 20 times (`threads N
 * URL`), so tests can check the shim under libcurl's multi interface and
 * under concurrency. Every transfer prints one line:
 *   <url> result=<CURLcode> <strerror> status=<code> bytes=<n> sha256=<hex>
 * followed by ` error=<CURLOPT_ERRORBUFFER text>` when result != 0.
 * Exit status: 0 when every transfer returned CURLE_OK, 1 otherwise, 2 on
 * a usage error.
 *
 * usage: curl_multi [options] multi URL...
 *        curl_multi [options] threads N URL
 * options: -H 'Name: value' (repeatable), -X METHOD, --data FILE (POST the
 *          file's bytes), --fail, --max-time SECS, --cacert FILE, -v.
 * Like the curl tool, it trusts $CURL_CA_BUNDLE when set (libcurl itself
 * does not read that variable); --cacert overrides it.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_THREAD 20

/* ---- SHA-256 (FIPS 180-4), written for this program ------------------ */

typedef struct {
    uint32_t h[8];
    uint64_t len; /* bytes hashed so far */
    unsigned char buf[64];
    size_t fill;
} sha256_ctx;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static void sha256_init(sha256_ctx *c)
{
    static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy(c->h, iv, sizeof iv);
    c->len = 0;
    c->fill = 0;
}

static void sha256_block(sha256_ctx *c, const unsigned char *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
               (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3];
    uint32_t e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = cc;
        cc = b;
        b = a;
        a = t1 + t2;
    }
    c->h[0] += a;
    c->h[1] += b;
    c->h[2] += cc;
    c->h[3] += d;
    c->h[4] += e;
    c->h[5] += f;
    c->h[6] += g;
    c->h[7] += h;
}

static void sha256_update(sha256_ctx *c, const void *data, size_t n)
{
    const unsigned char *p = data;
    c->len += n;
    while (n > 0) {
        size_t take = 64 - c->fill < n ? 64 - c->fill : n;
        memcpy(c->buf + c->fill, p, take);
        c->fill += take;
        p += take;
        n -= take;
        if (c->fill == 64) {
            sha256_block(c, c->buf);
            c->fill = 0;
        }
    }
}

static void sha256_hex(sha256_ctx *c, char out[65])
{
    uint64_t bits = c->len * 8;
    unsigned char pad[72] = { 0x80 };
    size_t padlen = (c->fill < 56 ? 56 : 120) - c->fill;
    for (int i = 0; i < 8; i++)
        pad[padlen + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
    sha256_update(c, pad, padlen + 8);
    for (int i = 0; i < 8; i++)
        snprintf(out + 8 * i, 9, "%08x", (unsigned)c->h[i]);
}

/* ---- options and transfers -------------------------------------------- */

static struct {
    struct curl_slist *headers;
    const char *method;
    char *data;
    size_t data_len;
    int has_data, fail, verbose;
    long max_time;
    const char *cacert;
} opt;

typedef struct {
    CURL *easy;
    const char *url;
    sha256_ctx sha;
    curl_off_t bytes;
    char errbuf[CURL_ERROR_SIZE];
} transfer;

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    transfer *t = userdata;
    sha256_update(&t->sha, ptr, size * nmemb);
    t->bytes += (curl_off_t)(size * nmemb);
    return size * nmemb;
}

static void transfer_reset(transfer *t)
{
    sha256_init(&t->sha);
    t->bytes = 0;
    t->errbuf[0] = '\0';
}

static int transfer_setup(transfer *t, const char *url)
{
    t->url = url;
    t->easy = curl_easy_init();
    if (!t->easy)
        return -1;
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (opt.headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, opt.headers);
    if (opt.has_data) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)opt.data_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, opt.data ? opt.data : "");
    }
    if (opt.method)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, opt.method);
    if (opt.fail)
        curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
    if (opt.max_time > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT, opt.max_time);
    if (opt.cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, opt.cacert);
    if (opt.verbose)
        curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    transfer_reset(t);
    return 0;
}

/* Prints the transfer's line; returns 1 when it failed. */
static int transfer_report(transfer *t, CURLcode res)
{
    long status = 0;
    char hex[65];
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    sha256_hex(&t->sha, hex);
    pthread_mutex_lock(&out_lock);
    printf("%s result=%d %s status=%ld bytes=%lld sha256=%s", t->url, (int)res, curl_easy_strerror(res), status,
           (long long)t->bytes, hex);
    if (res != CURLE_OK && t->errbuf[0])
        printf(" error=%s", t->errbuf);
    printf("\n");
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
    return res != CURLE_OK;
}

static int run_multi(int n, char **urls)
{
    transfer *ts = calloc((size_t)n, sizeof *ts);
    CURLM *m = curl_multi_init();
    int failed = 0;
    if (!ts || !m) {
        fprintf(stderr, "curl_multi: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        if (transfer_setup(&ts[i], urls[i]) != 0) {
            fprintf(stderr, "curl_multi: curl_easy_init failed\n");
            return 1;
        }
        curl_easy_setopt(ts[i].easy, CURLOPT_PRIVATE, (void *)&ts[i]);
        curl_multi_add_handle(m, ts[i].easy);
    }
    int running = n;
    for (;;) {
        CURLMcode mc = curl_multi_perform(m, &running);
        if (mc != CURLM_OK) {
            fprintf(stderr, "curl_multi: %s\n", curl_multi_strerror(mc));
            return 1;
        }
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            char *priv = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
            transfer *t = (transfer *)priv;
            CURLcode res = msg->data.result; /* read before removing: that frees msg */
            curl_multi_remove_handle(m, t->easy);
            failed |= transfer_report(t, res);
            curl_easy_cleanup(t->easy);
            t->easy = NULL;
        }
        if (running == 0)
            break;
        mc = curl_multi_poll(m, NULL, 0, 1000, NULL);
        if (mc != CURLM_OK) {
            fprintf(stderr, "curl_multi: %s\n", curl_multi_strerror(mc));
            return 1;
        }
    }
    curl_multi_cleanup(m);
    free(ts);
    return failed;
}

typedef struct {
    const char *url;
    int failed;
} thread_arg;

static void *thread_main(void *p)
{
    thread_arg *a = p;
    transfer t;
    memset(&t, 0, sizeof t);
    if (transfer_setup(&t, a->url) != 0) {
        a->failed = 1;
        return NULL;
    }
    for (int i = 0; i < PER_THREAD; i++) {
        transfer_reset(&t);
        CURLcode res = curl_easy_perform(t.easy);
        a->failed |= transfer_report(&t, res);
    }
    curl_easy_cleanup(t.easy);
    return NULL;
}

static int run_threads(int n, const char *url)
{
    pthread_t *tids = calloc((size_t)n, sizeof *tids);
    thread_arg *args = calloc((size_t)n, sizeof *args);
    int failed = 0, started = 0;
    if (!tids || !args) {
        fprintf(stderr, "curl_multi: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        args[i].url = url;
        if (pthread_create(&tids[i], NULL, thread_main, &args[i]) != 0) {
            fprintf(stderr, "curl_multi: pthread_create failed\n");
            failed = 1;
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(tids[i], NULL);
        failed |= args[i].failed;
    }
    free(tids);
    free(args);
    return failed;
}

static int read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 0;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (opt.data_len + n > cap) {
            cap = (opt.data_len + n) * 2;
            char *p = realloc(opt.data, cap);
            if (!p) {
                fclose(f);
                return -1;
            }
            opt.data = p;
        }
        memcpy(opt.data + opt.data_len, buf, n);
        opt.data_len += n;
    }
    int err = ferror(f);
    fclose(f);
    opt.has_data = 1;
    return err ? -1 : 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: curl_multi [-H 'Name: value'] [-X METHOD] [--data FILE] [--fail] [--max-time SECS]\n"
                    "                  [--cacert FILE] [-v] (multi URL... | threads N URL)\n");
    return 2;
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(a, "-H") && has_val) {
            opt.headers = curl_slist_append(opt.headers, argv[++i]);
        } else if (!strcmp(a, "-X") && has_val) {
            opt.method = argv[++i];
        } else if (!strcmp(a, "--data") && has_val) {
            if (read_file(argv[++i]) != 0)
                return 2;
        } else if (!strcmp(a, "--max-time") && has_val) {
            opt.max_time = strtol(argv[++i], NULL, 10);
        } else if (!strcmp(a, "--cacert") && has_val) {
            opt.cacert = argv[++i];
        } else if (!strcmp(a, "--fail")) {
            opt.fail = 1;
        } else if (!strcmp(a, "-v")) {
            opt.verbose = 1;
        } else {
            break;
        }
    }
    if (i >= argc)
        return usage();
    if (!opt.cacert) {
        const char *env = getenv("CURL_CA_BUNDLE");
        if (env && *env)
            opt.cacert = env;
    }
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
        fprintf(stderr, "curl_multi: curl_global_init failed\n");
        return 1;
    }
    int rc;
    if (!strcmp(argv[i], "multi") && i + 1 < argc) {
        rc = run_multi(argc - i - 1, argv + i + 1);
    } else if (!strcmp(argv[i], "threads") && i + 2 == argc - 1) {
        char *end;
        long n = strtol(argv[i + 1], &end, 10);
        if (*end || n < 1 || n > 1000)
            return usage();
        rc = run_threads((int)n, argv[i + 2]);
    } else {
        return usage();
    }
    curl_slist_free_all(opt.headers);
    free(opt.data);
    curl_global_cleanup();
    return rc ? 1 : 0;
}
