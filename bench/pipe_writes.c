/* pipe_writes: times N write()s of SIZE bytes into a 1 MiB pipe, drained in-thread every half pipe, and prints the best of ROUNDS in ns (bench/bench.py). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char drainbuf[1 << 20];

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Reads exactly want bytes back out of the pipe. */
static int drain(int fd, long long want)
{
    while (want > 0) {
        ssize_t r = read(fd, drainbuf, sizeof drainbuf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        want -= r;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    long size = argc > 2 ? atol(argv[2]) : 16;
    int rounds = argc > 3 ? atoi(argv[3]) : 1;
    char msg[4096];
    int fds[2];
    long long best = -1;
    if (n <= 0 || size <= 0 || size > (long)sizeof msg || rounds <= 0) {
        fprintf(stderr, "usage: pipe_writes N SIZE(1..4096) ROUNDS\n");
        return 2;
    }
    memset(msg, 'x', (size_t)size);
    if (pipe(fds)) {
        perror("pipe_writes: pipe");
        return 1;
    }
    /* A writer never blocks: the pipe holds a whole batch, which is read
     * back before the next one, so no scheduler or second CPU is involved. */
    int cap = fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    if (cap < 0)
        cap = fcntl(fds[1], F_GETPIPE_SZ);
    long batch = cap > 0 ? cap / 2 / size : 1;
    if (batch < 1)
        batch = 1;
    for (int r = 0; r < rounds; r++) {
        long pending = 0;
        long long t0 = now_ns();
        for (long i = 0; i < n; i++) {
            if (write(fds[1], msg, (size_t)size) != (ssize_t)size) {
                perror("pipe_writes: write");
                return 1;
            }
            if (++pending == batch || i == n - 1) {
                if (drain(fds[0], (long long)pending * size)) {
                    fprintf(stderr, "pipe_writes: short read\n");
                    return 1;
                }
                pending = 0;
            }
        }
        long long t = now_ns() - t0;
        if (best < 0 || t < best)
            best = t;
    }
    printf("%lld\n", best);
    return 0;
}
