/* nb_connect: a non-blocking client, as an event loop makes one, for the
 * reach deadlines (tests/test_reach.py). Usage:
 *   nb_connect poll|ppoll|select|pselect|epoll HOST PORT PATH
 * Looks HOST up, connects a non-blocking socket, waits for it to be
 * writable with the named call (10 s timeout), reads SO_ERROR; when the
 * connection is made, sends GET PATH and waits for the answer the same
 * way, else tries connect() again. One JSON line per step, with the
 * exact return values, errno names and milliseconds; the last line has
 * the process's CPU time. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

static const char *ename(int e) { return e ? strerrorname_np(e) : "0"; }

/* Waits until fd is readable (in) or writable; the call's result. */
static int wait_fd(const char *mode, int fd, int in, int timeout_ms, int *ready)
{
    *ready = 0;
    if (!strcmp(mode, "poll") || !strcmp(mode, "ppoll")) {
        struct pollfd p = { .fd = fd, .events = in ? POLLIN : POLLOUT };
        struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };
        int rc = !strcmp(mode, "poll") ? poll(&p, 1, timeout_ms) : ppoll(&p, 1, &ts, NULL);
        *ready = rc > 0 ? p.revents : 0;
        return rc;
    }
    if (!strcmp(mode, "select") || !strcmp(mode, "pselect")) {
        fd_set s;
        FD_ZERO(&s);
        FD_SET(fd, &s);
        struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
        struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };
        int rc = !strcmp(mode, "select") ? select(fd + 1, in ? &s : NULL, in ? NULL : &s, NULL, &tv)
                                         : pselect(fd + 1, in ? &s : NULL, in ? NULL : &s, NULL, &ts, NULL);
        *ready = rc > 0 && FD_ISSET(fd, &s);
        return rc;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = in ? EPOLLIN : EPOLLOUT, .data.fd = fd }, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    int rc = epoll_wait(ep, &out, 1, timeout_ms);
    *ready = rc > 0 ? (int)out.events : 0;
    close(ep);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: nb_connect poll|ppoll|select|pselect|epoll HOST PORT PATH\n");
        return 2;
    }
    const char *mode = argv[1];
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai;
    struct timespec t0;
    int rc, e, ready;
    if ((rc = getaddrinfo(argv[2], argv[3], &hints, &ai))) {
        printf("{\"step\": \"lookup\", \"error\": \"%s\"}\n", gai_strerror(rc));
        return 1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    e = rc < 0 ? errno : 0;
    printf("{\"step\": \"connect\", \"rc\": %d, \"errno\": \"%s\", \"ms\": %.1f}\n", rc, ename(e), ms_since(&t0));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = wait_fd(mode, fd, 0, 10000, &ready);
    e = rc < 0 ? errno : 0;
    printf("{\"step\": \"wait\", \"rc\": %d, \"errno\": \"%s\", \"ready\": %d, \"ms\": %.1f}\n", rc, ename(e), ready,
           ms_since(&t0));
    int so = -1;
    socklen_t sl = sizeof so;
    rc = getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
    printf("{\"step\": \"so_error\", \"rc\": %d, \"value\": \"%s\"}\n", rc, ename(so));
    if (so == 0) {
        char req[512], buf[4096];
        int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", argv[4], argv[2]);
        ssize_t w = send(fd, req, (size_t)n, MSG_NOSIGNAL);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = wait_fd(mode, fd, 1, 10000, &ready);
        ssize_t k = read(fd, buf, sizeof buf - 1);
        buf[k > 0 ? k : 0] = 0;
        char *eol = strstr(buf, "\r\n");
        if (eol)
            *eol = 0;
        printf("{\"step\": \"answer\", \"sent\": %zd, \"wait_rc\": %d, \"ms\": %.1f, \"status\": \"%s\"}\n", w, rc,
               ms_since(&t0), buf);
    } else {
        rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        e = rc < 0 ? errno : 0;
        printf("{\"step\": \"reconnect\", \"rc\": %d, \"errno\": \"%s\"}\n", rc, ename(e));
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"step\": \"cpu\", \"ms\": %.1f}\n",
           (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3);
    freeaddrinfo(ai);
    close(fd);
    return 0;
}
