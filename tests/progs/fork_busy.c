/* fork_busy: forks while another thread is busy on hfshim-watched
 * connections (plain http to 127.0.0.1:PORT); each child makes its own
 * requests and exits 0 when they worked. Proves no hfshim lock held by the
 * busy thread at fork time deadlocks the child.
 *   usage: fork_busy PORT   (prints the 5 children's exit statuses) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int port;
static atomic_int stop;

/* GET path on a new connection; the whole response into out (NUL-ended). */
static int get(const char *path, char *out, size_t cap)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        return -1;
    char req[256];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer hf_fork\r\nConnection: close\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    ssize_t k;
    while (got + 1 < cap && (k = read(fd, out + got, cap - 1 - got)) > 0)
        got += (size_t)k;
    out[got] = 0;
    close(fd);
    return 0;
}

static void *busy(void *arg)
{
    char buf[4096];
    (void)arg;
    while (!atomic_load(&stop))
        get("/api/models/a/busy", buf, sizeof buf);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    port = atoi(argv[1]);
    pthread_t t;
    pthread_create(&t, NULL, busy, NULL);
    for (int i = 0; i < 5; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char a[4096], b[4096];
            int ok = get("/bytes/10", a, sizeof a) == 0 && strncmp(a, "HTTP/1.1 200", 12) == 0 &&
                     get("/api/models/a/b", b, sizeof b) == 0 && strstr(b, "c0ffee") != NULL;
            _exit(ok ? 0 : 1);
        }
        int st = -1;
        waitpid(pid, &st, 0);
        printf("%s%d", i ? " " : "", st);
    }
    printf("\n");
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    return 0;
}
