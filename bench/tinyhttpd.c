/* tinyhttpd: a minimal keep-alive HTTP/1.1 server on 127.0.0.1 for the libcurl and python requests benchmarks (one connection at a time, a fixed answer per request head), so the server costs little and the same on every run; prints "READY <port>".
 * tinyhttpd [BODY_BYTES [CERT KEY]]: the body is "ok" by default, else BODY_BYTES bytes of 'x'; with CERT and KEY (PEM files) it speaks TLS (OpenSSL, http/1.1). A GET /echo is answered instead with "authorization=yes|no requests=N": whether that request carried an Authorization header, and how many requests this connection has carried, itself included. */
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int has_authorization(const char *head, const char *end)
{
    for (const char *p = head; p < end; p++)
        if (p[0] == '\n' && strncasecmp(p + 1, "authorization:", 14) == 0)
            return 1;
    return 0;
}

static SSL *tls; /* the current connection's TLS session, when serving TLS */

static long rd(int c, char *b, size_t n) { return tls ? SSL_read(tls, b, (int)n) : read(c, b, n); }

static long wr(int c, const char *b, size_t n)
{
    return tls ? (SSL_write(tls, b, (int)n) > 0 ? (long)n : -1) : write(c, b, n);
}

int main(int argc, char **argv)
{
    SSL_CTX *ctx = NULL;
    if (argc > 3) {
        ctx = SSL_CTX_new(TLS_server_method());
        if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, argv[2]) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, argv[3], SSL_FILETYPE_PEM) != 1) {
            fprintf(stderr, "tinyhttpd: cannot load %s / %s\n", argv[2], argv[3]);
            return 1;
        }
    }
    static char answer[70000] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
    size_t answer_len = strlen(answer);
    if (argc > 1) {
        long n = strtol(argv[1], NULL, 10);
        if (n < 0 || n > 65536) {
            fprintf(stderr, "tinyhttpd: BODY_BYTES must be 0..65536\n");
            return 1;
        }
        answer_len = (size_t)snprintf(answer, sizeof answer,
                                      "HTTP/1.1 200 OK\r\nContent-Length: %ld\r\nContent-Type: text/plain\r\n\r\n", n);
        memset(answer + answer_len, 'x', (size_t)n);
        answer_len += (size_t)n;
    }
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 16) ||
        getsockname(l, (struct sockaddr *)&a, &al)) {
        perror("tinyhttpd");
        return 1;
    }
    printf("READY %d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int c = accept(l, NULL, NULL);
        char buf[65536];
        size_t have = 0;
        long requests = 0;
        if (c < 0)
            continue;
        if (ctx) {
            tls = SSL_new(ctx);
            SSL_set_fd(tls, c);
            if (SSL_accept(tls) != 1) {
                SSL_free(tls);
                tls = NULL;
                close(c);
                continue;
            }
        }
        for (;;) {
            long n = rd(c, buf + have, sizeof buf - have - 1);
            if (n <= 0)
                break;
            have += (size_t)n;
            buf[have] = 0;
            char *end;
            while ((end = strstr(buf, "\r\n\r\n"))) { /* one answer per complete head (no bodies here) */
                size_t used = (size_t)(end + 4 - buf);
                requests++;
                if (strncmp(buf, "GET /echo", 9) == 0) {
                    char body[64], echo[256];
                    int bl = snprintf(body, sizeof body, "authorization=%s requests=%ld\n",
                                      has_authorization(buf, end) ? "yes" : "no", requests);
                    int el = snprintf(echo, sizeof echo,
                                      "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: text/plain\r\n\r\n%s", bl,
                                      body);
                    if (wr(c, echo, (size_t)el) < 0)
                        break;
                } else if (wr(c, answer, answer_len) < 0)
                    break;
                memmove(buf, buf + used, have - used + 1);
                have -= used;
            }
            if (have > sizeof buf / 2)
                have = 0;
        }
        if (tls) {
            SSL_free(tls);
            tls = NULL;
        }
        close(c);
    }
}
