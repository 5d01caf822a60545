/* log: formatting and raw-syscall output of log lines (see header). */
#include "log.h"
#include "startup.h"
#include "strcopy.h"
#include "sysio.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4000 /* one write below PIPE_BUF stays atomic */

HFS_STARTUP_DATA static enum hfs_log_dest dest = HFS_LOGDEST_STDERR;
static char path[1024];
HFS_STARTUP_DATA static int json;
static char prog[64] = "?";

HFS_STARTUP void hfs_log_setup(const char *d, int as_json, const char *program)
{
    json = as_json;
    if (program)
        hfs_strcopy(prog, sizeof prog, program);
    if (!d || !*d || strcmp(d, "stderr") == 0 || strcmp(d, "-") == 0) {
        dest = HFS_LOGDEST_STDERR;
    } else if (strcmp(d, "off") == 0) {
        dest = HFS_LOGDEST_OFF;
    } else {
        dest = HFS_LOGDEST_FILE;
        hfs_strcopy(path, sizeof path, d);
    }
}

int hfs_log_enabled(void) { return dest != HFS_LOGDEST_OFF; }

int hfs_log_is_json(void) { return json; }

static void emit(const char *line, size_t len)
{
    int fd = 2;
    if (dest == HFS_LOGDEST_OFF)
        return;
    if (dest == HFS_LOGDEST_FILE) {
        fd = hfs_sys_openat(AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
            return;
    }
    while (len > 0) {
        long n = hfs_sys_write(fd, line, len);
        if (n <= 0)
            break;
        line += n;
        len -= (size_t)n;
    }
    if (fd != 2)
        hfs_sys_close(fd);
}

struct buf {
    char b[LINE_MAX_BYTES + 2];
    size_t n;
};

#define OR_NULL(s) ((s) ? (s) : "(null)") /* what "%s" writes for NULL */

static void add(struct buf *b, const char *s, size_t l)
{
    if (b->n + l > LINE_MAX_BYTES)
        l = LINE_MAX_BYTES - b->n;
    memcpy(b->b + b->n, s, l);
    b->n += l;
}

/* The strings given, up to a NULL, each as "%s" would write it (NULL as
 * "(null)"): the text line of every logged request is made of these and
 * integers, and printf's machinery cost some 4,000 instructions a line. */
static __attribute__((sentinel)) void adds(struct buf *b, ...)
{
    va_list ap;
    va_start(ap, b);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        add(b, s, strlen(s));
    va_end(ap);
}

/* "%ld" */
static void addl(struct buf *b, long v)
{
    char t[24], *p = t + sizeof t;
    unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    add(b, p, (size_t)(t + sizeof t - p));
}

static void addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->b + b->n, LINE_MAX_BYTES + 1 - b->n, fmt, ap);
    va_end(ap);
    if (w > 0)
        b->n += (size_t)w < LINE_MAX_BYTES - b->n ? (size_t)w : LINE_MAX_BYTES - b->n;
}

static void add_json_str(struct buf *b, const char *key, const char *s)
{
    if (!s)
        return;
    addf(b, ",\"%s\":\"", key);
    for (; *s && b->n < LINE_MAX_BYTES - 8; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            addf(b, "\\%c", c);
        else if (c < 0x20)
            addf(b, "\\u%04x", c);
        else
            add(b, (const char *)&c, 1);
    }
    add(b, "\"", 1);
}

static void finish(struct buf *b)
{
    b->b[b->n++] = '\n';
    emit(b->b, b->n);
}

void hfs_log_event(const struct hfs_log_event *e)
{
    struct buf b;                /* not zeroed: only b.b[0..n) is ever read */
    if (dest == HFS_LOGDEST_OFF) /* before anything else: the engine calls this on every request */
        return;
    long pid = hfs_sys_getpid();
    b.n = 0;
    if (json) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        addf(&b, "{\"time\":%lld.%03ld,\"pid\":%ld", (long long)ts.tv_sec, ts.tv_nsec / 1000000, pid);
        add_json_str(&b, "program", prog);
        add_json_str(&b, "event", e->kind);
        add_json_str(&b, "layer", e->layer);
        add_json_str(&b, "host", e->host);
        add_json_str(&b, "ip", e->ip);
        if (e->port)
            addf(&b, ",\"port\":%d", e->port);
        add_json_str(&b, "rule", e->rule);
        add_json_str(&b, "reason", e->why);
        add_json_str(&b, "error", e->error);
        add_json_str(&b, "message", e->message);
        add_json_str(&b, "method", e->method);
        add_json_str(&b, "url", e->url);
        if (e->status)
            addf(&b, ",\"status\":%d", e->status);
        add_json_str(&b, "header", e->header);
        if (e->delay_ms)
            addf(&b, ",\"delay_ms\":%d", e->delay_ms);
        add_json_str(&b, "token", e->token);
        add(&b, "}", 1);
        finish(&b);
        return;
    }
    add(&b, "hfshim[", 7);
    addl(&b, pid);
    adds(&b, "] ", prog, ": ", (char *)NULL);
    if (e->message) {
        adds(&b, e->message, (char *)NULL);
        finish(&b);
        return;
    }
    if (e->url) { /* an HTTP request */
        const char *m = e->method ? e->method : "?";
        if (strcmp(e->kind, "block") == 0) {
            adds(&b, "blocked ", m, " ", e->url, (char *)NULL);
        } else if (strcmp(e->kind, "respond") == 0) {
            adds(&b, "answered ", m, " ", e->url, " with ", (char *)NULL);
            addl(&b, e->status);
        } else if (strcmp(e->kind, "strip-auth") == 0) {
            adds(&b, "stripped Authorization (", e->token ? e->token : "\xe2\x80\xa6", ") from ", m, " ", e->url,
                 (char *)NULL);
        } else if (strcmp(e->kind, "set-auth") == 0) {
            adds(&b, "set Authorization on ", m, " ", e->url, (char *)NULL);
        } else if (strcmp(e->kind, "strip-header") == 0) {
            adds(&b, "stripped header ", e->header ? e->header : "?", " from ", m, " ", e->url, (char *)NULL);
        } else if (strcmp(e->kind, "set-header") == 0) {
            adds(&b, "set header ", e->header ? e->header : "?", " on ", m, " ", e->url, (char *)NULL);
        } else if (strcmp(e->kind, "delay") == 0) {
            adds(&b, "delayed ", m, " ", e->url, " by ", (char *)NULL);
            addl(&b, e->delay_ms);
            add(&b, " ms", 3);
        } else {
            adds(&b, OR_NULL(e->kind), " ", m, " ", e->url, (char *)NULL);
        }
        adds(&b, " (rule ", e->rule ? e->rule : "?", (char *)NULL);
        if (e->why)
            adds(&b, ": ", e->why, (char *)NULL);
        add(&b, ")", 1);
        if (e->error)
            adds(&b, " -> ", e->error, (char *)NULL);
        finish(&b);
        return;
    }
    adds(&b, strcmp(e->kind, "block") == 0 ? "blocked" : e->kind, " ", e->layer ? e->layer : "", " ", (char *)NULL);
    const char *h = e->host && *e->host ? e->host : e->ip;
    if (h && strchr(h, ':') && e->port)
        adds(&b, "[", h, "]", (char *)NULL);
    else if (h)
        adds(&b, h, (char *)NULL);
    if (e->port) {
        add(&b, ":", 1);
        addl(&b, e->port);
    }
    if (e->host && *e->host && e->ip && *e->ip && strcmp(e->host, e->ip) != 0)
        adds(&b, " (", e->ip, ")", (char *)NULL);
    adds(&b, " (rule ", e->rule ? e->rule : "?", (char *)NULL);
    if (e->why)
        adds(&b, ": ", e->why, (char *)NULL);
    add(&b, ")", 1);
    if (e->error)
        adds(&b, " -> ", e->error, (char *)NULL);
    finish(&b);
}

static char audit_path[1024];

HFS_STARTUP_DATA static int audit_set; /* audit_path holds a path (most processes never touch its page) */

HFS_STARTUP void hfs_audit_setup(const char *p)
{
    if (p && *p)
        hfs_strcopy(audit_path, sizeof audit_path, p);
    else if (audit_set)
        audit_path[0] = 0;
    audit_set = p && *p;
}

int hfs_audit_on(void) { return audit_set; }

/* JSON string of at most max bytes of s (a record stays one valid line). */
static void add_json_capped(struct buf *b, const char *key, const char *s, size_t max)
{
    char tmp[1600];
    if (!s)
        return;
    size_t l = strlen(s);
    if (l > max && max < sizeof tmp) {
        memcpy(tmp, s, max);
        tmp[max] = 0;
        s = tmp;
    }
    add_json_str(b, key, s);
}

void hfs_audit_write(const struct hfs_audit_rec *a)
{
    struct buf b; /* not zeroed: only b.b[0..n) is ever read */
    struct timespec ts;
    struct tm tm;
    if (!audit_set)
        return;
    b.n = 0;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    addf(&b, "{\"v\":1,\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"pid\":%ld", tm.tm_year + 1900, tm.tm_mon + 1,
         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, (long)hfs_sys_getpid());
    add_json_capped(&b, "program", prog, 64);
    add_json_capped(&b, "layer", a->layer, 16);
    add_json_capped(&b, "decision", a->decision, 16);
    add_json_capped(&b, "rule", a->rule, 128);
    add_json_capped(&b, "action", a->action, 32);
    add_json_capped(&b, "method", a->method, 32);
    add_json_capped(&b, "url", a->url, 1200);
    add_json_capped(&b, "host", a->host, 255);
    add_json_capped(&b, "ip", a->ip, 48);
    if (a->port)
        addf(&b, ",\"port\":%d", a->port);
    if (a->status)
        addf(&b, ",\"status\":%d", a->status);
    add_json_capped(&b, "error", a->error, 64);
    add_json_capped(&b, "reason", a->why, 200);
    if (a->method) {
        addf(&b, ",\"token\":{\"present\":%s,\"stripped\":%s", a->token_present ? "true" : "false",
             a->token_stripped ? "true" : "false");
        add_json_capped(&b, "mask", a->token, 24);
        add(&b, "}", 1);
    }
    add_json_capped(&b, "edits", a->edits, 400);
    if (a->delay_ms)
        addf(&b, ",\"delay_ms\":%d", a->delay_ms);
    if (a->reset_after >= 0)
        addf(&b, ",\"reset_after\":%ld", a->reset_after);
    if (a->throttle_bps > 0)
        addf(&b, ",\"throttle_bps\":%ld", a->throttle_bps);
    add_json_capped(&b, "fault_rule", a->fault_rule, 128);
    add(&b, "}\n", 2);
    int fd = hfs_sys_openat(AT_FDCWD, audit_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0)
        return;
    hfs_sys_write(fd, b.b, b.n); /* one write: O_APPEND keeps records whole */
    hfs_sys_close(fd);
}

void hfs_log_msg(const char *kind, const char *fmt, ...)
{
    char msg[LINE_MAX_BYTES - 200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct hfs_log_event e = { .kind = kind, .message = msg };
    hfs_log_event(&e);
}

/* hfs_mask_token lives in token.c (pure, for the core and the fuzzers too). */

static int tokch(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The character at p as a URL decodes it (%XX, possibly of %XX: "%255F"
 * is left as it is), and in *used how many bytes it took. */
static char url_char(const char *p, size_t *used)
{
    int h, l;
    if (p[0] == '%' && (h = hexval(p[1])) >= 0 && (l = hexval(p[2])) >= 0) {
        *used = 3;
        return (char)(h * 16 + l);
    }
    *used = 1;
    return p[0];
}

/* A token at p, written plainly or percent-encoded ("hf%5Fabc…",
 * "%68%66_…"): "hf_" or "api_org_" then 20 or more letters or digits.
 * Returns the encoded length (0: none) and the decoded token in dec. */
static size_t token_at(const char *p, char *dec, size_t deccap, size_t *declen)
{
    static const char *const prefixes[] = { "hf_", "api_org_" };
    for (size_t k = 0; k < sizeof prefixes / sizeof *prefixes; k++) {
        const char *q = p, *want = prefixes[k];
        size_t d = 0, used, n = 0;
        while (*want && *q && url_char(q, &used) == *want) {
            if (d + 1 < deccap)
                dec[d++] = *want;
            q += used;
            want++;
        }
        if (*want)
            continue;
        for (char c; *q && tokch(c = url_char(q, &used)); q += used, n++)
            if (d + 1 < deccap)
                dec[d++] = c;
        if (n >= 20) {
            dec[d] = 0;
            *declen = d;
            return (size_t)(q - p);
        }
    }
    return 0;
}

void hfs_log_safe_url(const char *url, char *out, size_t outlen)
{
    size_t o = 0;
    const char *p = url ? url : "";
    const char *auth = strstr(p, "://");
    if (!outlen)
        return;
    if (auth) { /* drop user:password@ in the authority */
        const char *a = auth + 3, *end = a + strcspn(a, "/?#"), *at = memchr(a, '@', (size_t)(end - a));
        size_t head = (size_t)(a - p);
        if (at) {
            if (head >= outlen)
                head = outlen - 1;
            memcpy(out, p, head);
            o = head;
            p = at + 1;
        }
    }
    while (*p && o + 1 < outlen) {
        /* a token can only start at 'h', 'a' or '%': the bytes before one go in a block */
        size_t run = strcspn(p, "ha%");
        if (run) {
            if (run > outlen - 1 - o)
                run = outlen - 1 - o;
            memcpy(out + o, p, run);
            o += run;
            p += run;
            continue;
        }
        char dec[128];
        size_t dl = 0, enc = (p[0] == 'h' || p[0] == 'a' || p[0] == '%') ? token_at(p, dec, sizeof dec, &dl) : 0;
        if (enc) { /* an HF or org token, plain or percent-encoded: masked */
            char m[16];
            hfs_mask_token(dec, dl, m, sizeof m);
            size_t ml = strlen(m);
            if (o + ml >= outlen)
                break;
            memcpy(out + o, m, ml);
            o += ml;
            p += enc;
            continue;
        }
        out[o++] = *p++;
    }
    out[o] = 0;
}
