/* zero_io: zero-length reads and writes, and SSL_peek, on one connection,
 * printing what each call returned (one line per call) so a run with the
 * shim can be compared with one without (tests/test_zero_io.py).
 * usage: zero_io plain IP PORT HOSTHDR PATH | zero_io tls IP PORT HOSTHDR PATH
 * Each mode makes zero-length calls before any request, writes one
 * request (GET PATH, Connection: close) in two parts with zero-length
 * writes between them, makes zero-length calls once the response is
 * there, then reads the response to its end: "status LINE" and "bytes N".
 * libssl is opened with dlopen and its functions called through the
 * global scope (RTLD_DEFAULT), as a program linked with it would. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static char req1[512], req2[512];

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s r=%ld errno=%s\n", what, r, strerror(errno));
    else
        printf("%s r=%ld\n", what, r);
    fflush(stdout);
}

static int dial(const char *ip, const char *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port)) };
    inet_pton(AF_INET, ip, &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        printf("connect failed: %s\n", strerror(errno));
        exit(2);
    }
    return fd;
}

static void make_request(const char *host, const char *path)
{
    snprintf(req1, sizeof req1, "GET %s HTTP/1.1\r\nHo", path);
    snprintf(req2, sizeof req2, "st: %s\r\nAccept: */*\r\nConnection: close\r\n\r\n", host);
}

static void status_of(const char *all, size_t len)
{
    const char *e = memchr(all, '\r', len);
    printf("status %.*s\nbytes %zu\n", (int)(e ? (size_t)(e - all) : len), all, len);
}

static int plain(int fd)
{
    char buf[65536], all[1 << 20];
    struct iovec iov0 = { .iov_base = buf, .iov_len = 0 };
    struct msghdr m0 = { 0 }, m1 = { .msg_iov = &iov0, .msg_iovlen = 1 };
    show("write0", write(fd, "", 0));
    show("send0", send(fd, "", 0, 0));
    show("sendto0", sendto(fd, "", 0, 0, NULL, 0));
    show("writev_len0", writev(fd, &iov0, 1));
    show("writev_cnt0", writev(fd, &iov0, 0));
    show("sendmsg_iovlen0", sendmsg(fd, &m0, 0));
    show("sendmsg_len0", sendmsg(fd, &m1, 0));
    show("read0", read(fd, buf, 0));
    show("readv_len0", readv(fd, &iov0, 1));
    show("recv0_dontwait", recv(fd, buf, 0, MSG_DONTWAIT));
    show("recvmsg_len0_dontwait", recvmsg(fd, &m1, MSG_DONTWAIT));
    show("send_part1", send(fd, req1, strlen(req1), 0));
    show("send0_mid", send(fd, "", 0, 0));
    show("write0_mid", write(fd, "", 0));
    show("send_part2", send(fd, req2, strlen(req2), 0));
    struct pollfd p = { .fd = fd, .events = POLLIN };
    show("poll", poll(&p, 1, 5000));
    show("recv0", recv(fd, buf, 0, 0));
    show("read0_ready", read(fd, buf, 0));
    size_t len = 0;
    ssize_t k;
    while ((k = read(fd, buf, sizeof buf)) > 0 && len + (size_t)k <= sizeof all) {
        memcpy(all + len, buf, (size_t)k);
        len += (size_t)k;
    }
    show("read_end", k);
    status_of(all, len);
    show("read0_eof", read(fd, buf, 0));
    show("recv0_eof", recv(fd, buf, 0, 0));
    return 0;
}

#define FNS(X)                                                                                                         \
    X(TLS_client_method, const SSL_METHOD *, (void))                                                                   \
    X(SSL_CTX_new, SSL_CTX *, (const SSL_METHOD *))                                                                    \
    X(SSL_CTX_set_verify, void, (SSL_CTX *, int, SSL_verify_cb))                                                       \
    X(SSL_new, SSL *, (SSL_CTX *))                                                                                     \
    X(SSL_set_fd, int, (SSL *, int))                                                                                   \
    X(SSL_ctrl, long, (SSL *, int, long, void *))                                                                      \
    X(SSL_connect, int, (SSL *))                                                                                       \
    X(SSL_write, int, (SSL *, const void *, int))                                                                      \
    X(SSL_write_ex, int, (SSL *, const void *, size_t, size_t *))                                                      \
    X(SSL_read, int, (SSL *, void *, int))                                                                             \
    X(SSL_read_ex, int, (SSL *, void *, size_t, size_t *))                                                             \
    X(SSL_peek, int, (SSL *, void *, int))                                                                             \
    X(SSL_peek_ex, int, (SSL *, void *, size_t, size_t *))                                                             \
    X(SSL_get_error, int, (const SSL *, int))                                                                          \
    X(SSL_get_shutdown, int, (const SSL *))                                                                            \
    X(SSL_pending, int, (const SSL *))

#define X(n, r, a) static r(*p_##n) a;
FNS(X)
#undef X

static void load_ssl(void)
{
    if (!dlopen("libssl.so.3", RTLD_NOW | RTLD_GLOBAL)) {
        printf("no libssl: %s\n", dlerror());
        exit(2);
    }
#define X(n, r, a)                                                                                                     \
    if (!(p_##n = (r(*) a)dlsym(RTLD_DEFAULT, #n))) {                                                                  \
        printf("no %s\n", #n);                                                                                         \
        exit(2);                                                                                                       \
    }
    FNS(X)
#undef X
}

static void show_ssl(SSL *ssl, const char *what, int r, size_t n)
{
    printf("%s r=%d n=%zu err=%d shutdown=%d\n", what, r, n, p_SSL_get_error(ssl, r), p_SSL_get_shutdown(ssl));
    fflush(stdout);
}

static int tls(int fd, const char *sni)
{
    char buf[65536], all[1 << 20];
    size_t n = 0;
    load_ssl();
    SSL_CTX *ctx = p_SSL_CTX_new(p_TLS_client_method());
    p_SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL *ssl = p_SSL_new(ctx);
    p_SSL_set_fd(ssl, fd);
    if (inet_addr(sni) == INADDR_NONE && !strchr(sni, ':'))
        p_SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)sni);
    int r = p_SSL_connect(ssl);
    show_ssl(ssl, "connect", r, 0);
    if (r != 1)
        return 1;
    r = p_SSL_write(ssl, "", 0);
    show_ssl(ssl, "SSL_write0", r, 0);
    n = 99;
    r = p_SSL_write_ex(ssl, "", 0, &n);
    show_ssl(ssl, "SSL_write_ex0", r, n);
    r = p_SSL_write(ssl, req1, (int)strlen(req1));
    show_ssl(ssl, "SSL_write_part1", r, 0);
    n = 99;
    r = p_SSL_write_ex(ssl, "", 0, &n);
    show_ssl(ssl, "SSL_write_ex0_mid", r, n);
    r = p_SSL_write(ssl, req2, (int)strlen(req2));
    show_ssl(ssl, "SSL_write_part2", r, 0);
    /* SSL_peek waits for the response and leaves it to be read */
    memset(buf, 0, 16);
    r = p_SSL_peek(ssl, buf, 12);
    show_ssl(ssl, "SSL_peek", r, 0);
    printf("peeked %.*s\n", r > 0 ? r : 0, buf);
    n = 0;
    r = p_SSL_peek_ex(ssl, buf, 12, &n);
    show_ssl(ssl, "SSL_peek_ex", r, n);
    printf("peeked_ex %.*s\n", (int)n, buf);
    r = p_SSL_read(ssl, buf, 0);
    show_ssl(ssl, "SSL_read0", r, 0);
    n = 99;
    r = p_SSL_read_ex(ssl, buf, 0, &n);
    show_ssl(ssl, "SSL_read_ex0", r, n);
    n = 99;
    r = p_SSL_peek_ex(ssl, buf, 0, &n);
    show_ssl(ssl, "SSL_peek_ex0", r, n);
    size_t len = 0;
    while ((r = p_SSL_read(ssl, buf, sizeof buf)) > 0 && len + (size_t)r <= sizeof all) {
        memcpy(all + len, buf, (size_t)r);
        len += (size_t)r;
    }
    show_ssl(ssl, "SSL_read_end", r, 0);
    status_of(all, len);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: zero_io plain|tls IP PORT HOSTHDR PATH\n");
        return 2;
    }
    make_request(argv[4], argv[5]);
    int fd = dial(argv[2], argv[3]);
    if (!strcmp(argv[1], "plain"))
        return plain(fd);
    if (!strcmp(argv[1], "tls"))
        return tls(fd, argv[4]);
    return 2;
}
