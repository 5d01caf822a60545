/* net_probe: exercises the resolver and socket calls the shim hooks and
 * prints what the program saw, one line per call.
 * usage: net_probe gai HOST [PORT] | gai-nohints HOST | ghbn HOST | ghbn2 HOST |
 *        ghbn_r HOST | connect IP PORT | udp IP PORT | sendmsg IP PORT | sendmmsg IP PORT */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int sockaddr_for(const char *ip, const char *port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((unsigned short)atoi(port));
        *len = sizeof *in;
        return AF_INET;
    }
    if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((unsigned short)atoi(port));
        *len = sizeof *in6;
        return AF_INET6;
    }
    return -1;
}

static void print_hostent(const char *what, struct hostent *h)
{
    char buf[64];
    if (!h) {
        printf("%s: h_errno=%d\n", what, h_errno);
        return;
    }
    inet_ntop(h->h_addrtype, h->h_addr_list[0], buf, sizeof buf);
    printf("%s: ok %s\n", what, buf);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *op = argv[1], *a = argv[2], *b = argc > 3 ? argv[3] : "80";
    if (strcmp(op, "gai") == 0 || strcmp(op, "gai-nohints") == 0) {
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
        int rc = getaddrinfo(a, argc > 3 ? b : NULL, strcmp(op, "gai") == 0 ? &hints : NULL, &res);
        if (rc) {
            printf("getaddrinfo: %s (%d)\n", rc == EAI_NONAME ? "EAI_NONAME" : gai_strerror(rc), rc);
            return 1;
        }
        printf("getaddrinfo: ok\n");
        freeaddrinfo(res);
        return 0;
    }
    if (strcmp(op, "ghbn") == 0) {
        print_hostent("gethostbyname", gethostbyname(a));
        return 0;
    }
    if (strcmp(op, "ghbn2") == 0) {
        print_hostent("gethostbyname2", gethostbyname2(a, AF_INET));
        return 0;
    }
    if (strcmp(op, "ghbn_r") == 0) {
        struct hostent he, *res = NULL;
        char buf[4096];
        int herr = 0, rc = gethostbyname_r(a, &he, buf, sizeof buf, &res, &herr);
        printf("gethostbyname_r: rc=%d result=%s h_errno=%d\n", rc, res ? "set" : "NULL", herr);
        return 0;
    }
    struct sockaddr_storage ss;
    socklen_t len;
    int fam = sockaddr_for(a, b, &ss, &len);
    if (fam < 0)
        return 2;
    int udp = strcmp(op, "connect") != 0;
    int fd = socket(fam, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    int rc;
    if (strcmp(op, "connect") == 0) {
        rc = connect(fd, (struct sockaddr *)&ss, len);
    } else if (strcmp(op, "udp") == 0) {
        rc = (int)sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len);
    } else if (strcmp(op, "sendmsg") == 0) {
        struct iovec iov = { "x", 1 };
        struct msghdr m = { .msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1 };
        rc = (int)sendmsg(fd, &m, 0);
    } else if (strcmp(op, "sendmmsg") == 0) {
        struct iovec iov = { "x", 1 };
        struct mmsghdr mm[2] = {
            { .msg_hdr = { .msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1 } },
            { .msg_hdr = { .msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1 } }
        };
        rc = sendmmsg(fd, mm, 2, 0);
    } else {
        return 2;
    }
    printf("%s: rc=%d errno=%s\n", op, rc, rc < 0 ? strerrorname_np(errno) : "0");
    close(fd);
    return rc < 0 ? 1 : 0;
}
