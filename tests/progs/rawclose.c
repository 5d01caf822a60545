/* rawclose: closes a watched socket with syscall(SYS_close) (as libuv
 * does), so the close hook never sees it, then opens a file that gets the
 * same fd number and writes and reads it. The shim must treat that fd as
 * the file it now is. Prints "fd N reused: ok" (the file holds exactly
 * what was written) or what went wrong.
 *   usage: rawclose PORT FILE */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("connect");
        return 1;
    }
    const char req[] = "GET /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\n";
    if (write(s, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
        perror("write socket");
        return 1;
    }
    char buf[512];
    if (read(s, buf, sizeof buf) <= 0) {
        perror("read socket");
        return 1;
    }
    syscall(SYS_close, s); /* behind the shim's back */
    int f = open(argv[2], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (f != s) {
        printf("fd not reused (%d then %d)\n", s, f);
        return 1;
    }
    const char data[] = "file contents, not an HTTP request\n";
    ssize_t w = write(f, data, sizeof data - 1);
    if (w != (ssize_t)(sizeof data - 1)) {
        printf("write to the file: %zd\n", w);
        return 1;
    }
    lseek(f, 0, SEEK_SET);
    ssize_t r = read(f, buf, sizeof buf);
    int ok = r == (ssize_t)(sizeof data - 1) && memcmp(buf, data, (size_t)r) == 0;
    printf("fd %d reused: %s\n", f, ok ? "ok" : "wrong contents");
    return ok ? 0 : 1;
}
