/* tinyhttpd: a minimal keep-alive HTTP/1.1 server on 127.0.0.1 for the libcurl benchmark (one connection at a time, a fixed 2-byte answer per request head), so the server costs little and the same on every run; prints "READY <port>". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 16) || getsockname(l, (struct sockaddr *)&a, &al)) {
        perror("tinyhttpd");
        return 1;
    }
    printf("READY %d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int c = accept(l, NULL, NULL);
        char buf[65536];
        size_t have = 0;
        if (c < 0)
            continue;
        for (;;) {
            ssize_t n = read(c, buf + have, sizeof buf - have - 1);
            if (n <= 0)
                break;
            have += (size_t)n;
            buf[have] = 0;
            char *end;
            while ((end = strstr(buf, "\r\n\r\n"))) { /* one answer per complete head (no bodies here) */
                size_t used = (size_t)(end + 4 - buf);
                if (write(c, answer, sizeof answer - 1) < 0)
                    break;
                memmove(buf, buf + used, have - used + 1);
                have -= used;
            }
            if (have > sizeof buf / 2)
                have = 0;
        }
        close(c);
    }
}
