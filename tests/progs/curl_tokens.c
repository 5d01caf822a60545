/* curl_tokens: a libcurl client for the token-hygiene tests. It fetches
 * each URL in turn on ONE easy handle, through curl_easy_perform (`easy`),
 * a multi handle driven by curl_multi_perform (`multi`) or an event loop
 * on curl_multi_socket_action (`events`), with the credential given the
 * way the options say, and prints what the application saw:
 *   H <header line as received, CR/LF removed>      (header callback)
 *   B <status line or header line>                  (CURLOPT_HEADER copies in the body stream)
 *   done <url> rc=<CURLcode> code=<status> bytes=<body bytes> body=<its first 60 bytes>
 * and, for the multi modes, `completions=<n>` at the end (CURLMSG_DONE
 * messages seen). Exit status 0 when every transfer returned CURLE_OK.
 *
 * usage: curl_tokens [options] easy|multi|events URL...
 * options: -H 'Name: value' (repeatable), --bearer TOKEN
 *          (CURLOPT_XOAUTH2_BEARER + CURLAUTH_BEARER), --userpwd U:P,
 *          --user U --password P, --fail, --include (CURLOPT_HEADER),
 *          --no-header-cb (no header function: headers only where libcurl
 *          puts them by default), --pause (the header callback pauses once
 *          on the Content-Length line; the progress callback unpauses),
 *          --pause-body (the same in the write callback, on its first call),
 *          --abort-at N (the header callback refuses the Nth header line),
 *          --dup (the header callback of the first transfer copies the
 *          handle with curl_easy_duphandle; the next URLs run on the copy).
 */
#include <curl/curl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    struct curl_slist *headers;
    const char *bearer, *userpwd, *user, *password;
    int fail, include, no_header_cb, pause, pause_body, abort_at, dup;
} opt;

static int paused, pause_done, header_lines;
static CURL *current, *copy;
static char body[61];
static size_t body_len, body_total;

static void show(const char *tag, const char *p, size_t n)
{
    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    printf("%s %.*s\n", tag, (int)n, p);
}

static size_t on_header(char *p, size_t s, size_t n, void *u)
{
    (void)u;
    size_t len = s * n;
    if (opt.pause && !pause_done && len > 15 && strncasecmp(p, "Content-Length:", 15) == 0) {
        pause_done = 1;
        paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    header_lines++;
    if (opt.dup && !copy)
        copy = curl_easy_duphandle(current);
    if (opt.abort_at && header_lines == opt.abort_at)
        return 0;
    show("H", p, len);
    return len;
}

/* with --include, header lines come here too, before the body */
static int in_head = 1;

static size_t on_body(char *p, size_t s, size_t n, void *u)
{
    (void)u;
    size_t len = s * n;
    if (opt.pause_body && !pause_done) {
        pause_done = 1;
        paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (opt.include && in_head) {
        show("B", p, len);
        if (len <= 2)
            in_head = 0;
        return len;
    }
    body_total += len;
    for (size_t i = 0; i < len && body_len < sizeof body - 1; i++)
        body[body_len++] = p[i] == '\n' ? ' ' : p[i];
    body[body_len] = 0;
    return len;
}

static int on_progress(void *u, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)u, (void)a, (void)b, (void)c, (void)d;
    if (paused) {
        paused = 0;
        curl_easy_pause(current, CURLPAUSE_CONT);
    }
    return 0;
}

static void setup(CURL *e)
{
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    if (!opt.no_header_cb)
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (opt.headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, opt.headers);
    if (opt.bearer) {
        curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, opt.bearer);
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
    }
    if (opt.userpwd)
        curl_easy_setopt(e, CURLOPT_USERPWD, opt.userpwd);
    if (opt.user)
        curl_easy_setopt(e, CURLOPT_USERNAME, opt.user);
    if (opt.password)
        curl_easy_setopt(e, CURLOPT_PASSWORD, opt.password);
    if (opt.fail)
        curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
    if (opt.include)
        curl_easy_setopt(e, CURLOPT_HEADER, 1L);
}

static int report(CURL *e, const char *url, CURLcode rc)
{
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    printf("done %s rc=%d code=%ld bytes=%zu body=%s\n", url, (int)rc, code, body_total, body);
    fflush(stdout);
    return rc != CURLE_OK;
}

static void fresh(void)
{
    body_len = body_total = 0;
    body[0] = 0;
    pause_done = paused = header_lines = 0;
    in_head = 1;
}

/* ---- event loop (socket_action) -------------------------------------- */
static long timeout_ms = -1;
static curl_socket_t fds[16];
static short evs[16];
static int nfds;

static int on_timer(CURLM *m, long t, void *u)
{
    (void)m, (void)u;
    timeout_ms = t;
    return 0;
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *u, void *sp)
{
    (void)e, (void)u, (void)sp;
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

/* Runs e on m to its end; returns its result; *completions counts DONE messages. */
static CURLcode run_multi(CURLM *m, CURL *e, int events, int *completions)
{
    int running = 1, done = 0;
    CURLcode res = CURLE_OK;
    curl_multi_add_handle(m, e);
    while (!done) {
        if (events) {
            struct pollfd p[16];
            for (int i = 0; i < nfds; i++)
                p[i] = (struct pollfd){ .fd = fds[i], .events = evs[i] };
            int n = poll(p, (nfds_t)nfds, timeout_ms < 0 ? 200 : (int)timeout_ms);
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
        } else {
            curl_multi_perform(m, &running);
        }
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            (*completions)++;
            res = msg->data.result;
            done = 1;
        }
        if (!done && running == 0) {
            printf("stuck: running=0 and no completion\n");
            exit(3);
        }
        if (!done && !events)
            curl_multi_poll(m, NULL, 0, 200, NULL);
    }
    curl_multi_remove_handle(m, e);
    return res;
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        int v = i + 1 < argc;
        if (!strcmp(a, "-H") && v)
            opt.headers = curl_slist_append(opt.headers, argv[++i]);
        else if (!strcmp(a, "--bearer") && v)
            opt.bearer = argv[++i];
        else if (!strcmp(a, "--userpwd") && v)
            opt.userpwd = argv[++i];
        else if (!strcmp(a, "--user") && v)
            opt.user = argv[++i];
        else if (!strcmp(a, "--password") && v)
            opt.password = argv[++i];
        else if (!strcmp(a, "--abort-at") && v)
            opt.abort_at = atoi(argv[++i]);
        else if (!strcmp(a, "--fail"))
            opt.fail = 1;
        else if (!strcmp(a, "--include"))
            opt.include = 1;
        else if (!strcmp(a, "--no-header-cb"))
            opt.no_header_cb = 1;
        else if (!strcmp(a, "--pause"))
            opt.pause = 1;
        else if (!strcmp(a, "--pause-body"))
            opt.pause_body = 1;
        else if (!strcmp(a, "--dup"))
            opt.dup = 1;
        else
            break;
    }
    if (i + 1 >= argc) {
        fprintf(stderr, "usage: curl_tokens [options] easy|multi|events URL...\n");
        return 2;
    }
    const char *mode = argv[i++];
    int events = !strcmp(mode, "events"), multi = events || !strcmp(mode, "multi");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *e = curl_easy_init();
    setup(e);
    CURLM *m = NULL;
    if (multi) {
        m = curl_multi_init();
        if (events) {
            curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
            curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
        }
    }
    int failed = 0, completions = 0;
    for (; i < argc; i++) {
        CURL *t = copy ? copy : e;
        fresh();
        curl_easy_setopt(t, CURLOPT_URL, argv[i]);
        current = t;
        CURLcode rc = multi ? run_multi(m, t, events, &completions) : curl_easy_perform(t);
        failed |= report(t, argv[i], rc);
    }
    if (copy)
        curl_easy_cleanup(copy);
    if (multi) {
        printf("completions=%d\n", completions);
        curl_multi_cleanup(m);
    }
    curl_easy_cleanup(e);
    curl_slist_free_all(opt.headers);
    curl_global_cleanup();
    return failed;
}
