/* keepalive_rss: N GETs on one keep-alive connection to bench/tinyhttpd on
 * 127.0.0.1 (over TLS through OpenSSL when CA_FILE is given), each with an
 * `Authorization: Bearer hf_...` a strip rule removes; prints the process's
 * anonymous resident set (KiB) after the first 1000 requests and
 * after all N, and the ns per request over the loop (bench/bench.py,
 * memory section: no growth over 100,000 requests).
 *   usage: keepalive_rss PORT N [CA_FILE] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "now_ns.h"

static SSL *tls;

static long rd(int fd, char *b, size_t n) { return tls ? SSL_read(tls, b, (int)n) : read(fd, b, n); }
static long wr(int fd, const char *b, size_t n) { return tls ? SSL_write(tls, b, (int)n) : write(fd, b, n); }

/* the anonymous part of the resident set (heap, stacks; RssAnon in
 * /proc/self/status), in KiB: pages of shared libraries first touched late
 * are not growth */
static long rss_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "RssAnon:", 8) == 0)
            kib = strtol(line + 8, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

/* one request and its whole answer (Content-Length framed); 0 or -1 */
static int one(int fd)
{
    static const char req[] = "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: keepalive_rss\r\n"
                              "Authorization: Bearer hf_staleTOKENxxxxxxxxxxxxxxxxxxxxxx\r\nAccept: */*\r\n\r\n";
    static char buf[65536 + 4096];
    size_t have = 0;
    if (wr(fd, req, sizeof req - 1) != (long)(sizeof req - 1))
        return -1;
    char *end = NULL;
    while (!end) {
        long k = rd(fd, buf + have, sizeof buf - 1 - have);
        if (k <= 0)
            return -1;
        have += (size_t)k;
        buf[have] = 0;
        end = strstr(buf, "\r\n\r\n");
    }
    const char *cl = strstr(buf, "Content-Length: ");
    size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
    while (have < want) {
        long k = rd(fd, buf + have, sizeof buf - 1 - have);
        if (k <= 0)
            return -1;
        have += (size_t)k;
    }
    return have == want ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: keepalive_rss PORT N [CA_FILE]\n");
        return 2;
    }
    long n = atol(argv[2]);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((unsigned short)atoi(argv[1])),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a)) {
        perror("keepalive_rss: connect");
        return 1;
    }
    if (argc > 3) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx || SSL_CTX_load_verify_locations(ctx, argv[3], NULL) != 1) {
            fprintf(stderr, "keepalive_rss: cannot load %s\n", argv[3]);
            return 1;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        tls = SSL_new(ctx);
        SSL_set_fd(tls, fd);
        SSL_set_tlsext_host_name(tls, "localhost");
        SSL_set1_host(tls, "localhost");
        if (SSL_connect(tls) != 1) {
            fprintf(stderr, "keepalive_rss: TLS handshake failed\n");
            return 1;
        }
    }
    long rss1 = -1;
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        if (one(fd)) {
            fprintf(stderr, "keepalive_rss: request %ld failed\n", i);
            return 1;
        }
        if (i + 1 == 1000)
            rss1 = rss_kib();
    }
    long long t1 = now_ns();
    printf("%ld %ld %lld\n", rss1, rss_kib(), (t1 - t0) / (n ? n : 1));
    return 0;
}
