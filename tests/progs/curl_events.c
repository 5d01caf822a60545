/* curl_events: an event-driven libcurl program (curl_multi_socket_action,
 * timer and socket callbacks, poll), as event loops use libcurl. It fetches
 * A; when A is done it adds B and only then removes A (a chained request).
 * Prints one line per finished transfer; exits 3 if the loop would wait
 * forever (no socket and no timeout left while B is unfinished). */
#include <curl/curl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

static long timeout_ms = -1;
static curl_socket_t fds[16];
static short evs[16];
static int nfds;

static int on_timer(CURLM *m, long t, void *u)
{
    (void)m;
    (void)u;
    timeout_ms = t;
    return 0;
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *u, void *sp)
{
    (void)e;
    (void)u;
    (void)sp;
    int i;
    for (i = 0; i < nfds && fds[i] != s; i++)
        ;
    if (what == CURL_POLL_REMOVE) {
        if (i < nfds) {
            fds[i] = fds[nfds - 1];
            evs[i] = evs[nfds - 1];
            nfds--;
        }
        return 0;
    }
    if (i == nfds && nfds < 16)
        nfds++;
    fds[i] = s;
    evs[i] = (short)((what & CURL_POLL_IN ? POLLIN : 0) | (what & CURL_POLL_OUT ? POLLOUT : 0));
    return 0;
}

static size_t sink(char *p, size_t s, size_t n, void *d)
{
    (void)p;
    (void)d;
    return s * n;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: curl_events URL_A URL_B\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
    CURL *a = curl_easy_init(), *b = curl_easy_init();
    curl_easy_setopt(a, CURLOPT_URL, argv[1]);
    curl_easy_setopt(b, CURLOPT_URL, argv[2]);
    curl_easy_setopt(a, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(b, CURLOPT_WRITEFUNCTION, sink);
    curl_multi_add_handle(m, a);
    int running = 0, done = 0;
    while (done < 2) {
        struct pollfd p[16];
        for (int i = 0; i < nfds; i++)
            p[i] = (struct pollfd){ .fd = fds[i], .events = evs[i] };
        if (nfds == 0 && timeout_ms < 0) {
            printf("stuck: nothing to wait for\n");
            return 3;
        }
        int n = poll(p, (nfds_t)nfds, timeout_ms < 0 ? 5000 : (int)timeout_ms);
        if (n == 0) {
            timeout_ms = -1;
            curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        for (int i = 0; i < nfds && n > 0; i++)
            if (p[i].revents)
                curl_multi_socket_action(m, p[i].fd,
                                         (p[i].revents & POLLIN ? CURL_CSELECT_IN : 0) |
                                             (p[i].revents & POLLOUT ? CURL_CSELECT_OUT : 0),
                                         &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            long code = 0;
            CURL *e = msg->easy_handle;
            CURLcode rc = msg->data.result;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
            printf("%s rc=%d code=%ld\n", e == a ? "A" : "B", rc, code);
            done++;
            if (e == a) { /* chain: add B, then remove A */
                curl_multi_add_handle(m, b);
                curl_multi_remove_handle(m, a);
            } else {
                curl_multi_remove_handle(m, b);
            }
        }
    }
    curl_easy_cleanup(a);
    curl_easy_cleanup(b);
    curl_multi_cleanup(m);
    curl_global_cleanup();
    return 0;
}
