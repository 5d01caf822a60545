/* curlplan: decide a libcurl transfer and apply the verdict (see header). */
#include "curlplan.h"

#include "audit.h"
#include "blackhole.h"
#include "faultcount.h"
#include "reachmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../core/edits.h"
#include "../core/log.h"
#include "../core/token.h"
#include "../core/tscratch.h"
#include "../core/url.h"
#include "authwatch.h"
#include "decide_apply.h"
#include "curlcreds.h"
#include "curlwatch.h"
#include "envhooks.h"
#include "httpjudge.h"
#include "real.h"
#include "state.h"
#include "tokmem.h"

#define MAX_LINES 256
#define SMALL_LINES 32 /* header lines held on the stack */

/* 1 when a libcurl header line names the header name (any case). */
static int line_is(const char *line, const char *name)
{
    size_t n = strlen(name);
    if (strncasecmp(line, name, n) != 0)
        return 0;
    while (line[n] == ' ' || line[n] == '\t')
        n++;
    return line[n] == ':' || line[n] == ';';
}

/* What libcurl sends for one CURLOPT_HTTPHEADER line (its
 * Curl_add_custom_headers): "Name: value" with a non-blank value, or
 * "Name;" (nothing but blanks after the semicolon) as an empty header.
 * "Name:" with a blank value is not sent (it only stops libcurl adding
 * that header itself): *suppress is set and 0 returned. 1 with h filled
 * when the line is sent. */
static int sent_line(const char *l, struct hfs_header *h, int *suppress)
{
    const char *colon = strchr(l, ':'), *v;
    *suppress = 0;
    if (!colon) {
        const char *semi = strchr(l, ';');
        if (!semi || semi == l)
            return 0;
        for (v = semi + 1; *v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'; v++)
            ;
        if (*v)
            return 0; /* libcurl ignores such a line */
        size_t nl = (size_t)(semi - l);
        while (nl && (l[nl - 1] == ' ' || l[nl - 1] == '\t'))
            nl--;
        *h = (struct hfs_header){ l, nl, semi, 0 };
        return 1;
    }
    if (colon == l)
        return 0;
    for (v = colon + 1; *v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'; v++)
        ;
    size_t nl = (size_t)(colon - l);
    while (nl && (l[nl - 1] == ' ' || l[nl - 1] == '\t'))
        nl--;
    if (!*v) {
        *suppress = 1;
        *h = (struct hfs_header){ l, nl, v, 0 };
        return 0;
    }
    size_t vl = strlen(v);
    while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t' || v[vl - 1] == '\r' || v[vl - 1] == '\n'))
        vl--;
    *h = (struct hfs_header){ l, nl, v, vl };
    return 1;
}

/* Splits the URL the way the decision needs it; returns 0 when it is
 * http(s) (anything else is left to libcurl and the socket hooks). */
/* 1 when libcurl's parser would read url exactly as written: an explicit
 * http(s) scheme, "//", a host of plain name characters, and no escapes,
 * backslashes, spaces or control characters anywhere. Most URLs are: the
 * costly normalisation below is then skipped. */
static int plain_url(const char *url)
{
    const char *h;
    if (strncmp(url, "http://", 7) == 0)
        h = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        h = url + 8;
    else
        return 0;
    const char *end = h + strcspn(h, "/?#");
    if (end == h)
        return 0;
    for (const char *c = h; c < end; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == ':'))
            return 0; /* upper case, userinfo, IPv6 brackets, escapes: let libcurl say */
    for (const char *c = end; *c; c++)
        if (*c == '%' || *c == '\\' || (unsigned char)*c <= ' ' || *c == 0x7f)
            return 0;
    return 1;
}

/* The URL as libcurl itself will read it (its own parser: a missing
 * scheme guessed, "http:/host", "%68ost" and the like normalised), so the
 * rules judge what is really fetched. Takes url, returns a new string. */
static char *normalise(char *url)
{
    static CURLU *(*u_new)(void);
    static CURLUcode (*u_set)(CURLU *, CURLUPart, const char *, unsigned int);
    static void (*u_free)(CURLU *);
    const struct hfs_curl_api *api = hfs_curl_api();
    if (!url || plain_url(url))
        return url;
    if (!u_new) {
        *(void **)&u_set = hfs_real_curl("curl_url_set");
        *(void **)&u_free = hfs_real_curl("curl_url_cleanup");
        *(void **)&u_new = hfs_real_curl("curl_url");
    }
    CURLU *u = u_new && u_set && u_free && api->url_get ? u_new() : NULL;
    char *out = NULL;
    if (u && u_set(u, CURLUPART_URL, url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        api->url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK && out) {
        free(url);
        url = strdup(out);
        api->free_(out);
    }
    if (u)
        u_free(u);
    return url;
}

/* The faults of a transfer: hang (its connection goes to a listener that
 * never answers, so libcurl's own timeouts end it), throttle
 * (CURLOPT_MAX_RECV_SPEED_LARGE), reset (an answered transfer's body is
 * cut, CURLE_RECV_ERROR). The options are the app's again after it
 * (hfs_curl_restore). */
static void fault_setup(CURL *h, const struct hfs_verdict *v, const char *method, const char *safe,
                        const struct hfs_request *q)
{
    const char *host = q->host;
    CURLcode (*real_setopt)(CURL *, CURLoption, ...) = REAL(curl_easy_setopt);
    const struct hfs_curl_api *api = hfs_curl_api();
    struct hfs_curl *c = hfs_curl_get(h, 0);
    if (!c) {
        hfs_curl_unlock();
        return;
    }
    c->fault_cut = v->reset_after;
    int hang = v->kind == HFS_V_HANG, changed = 0;
    const char *pit = hang ? hfs_tarpit_hostport() : NULL;
    if (hang && pit && api->slist_append) {
        char line[64];
        snprintf(line, sizeof line, "::%s", pit);
        struct curl_slist *l = api->slist_append(NULL, line);
        if (l) {
            real_setopt(h, CURLOPT_CONNECT_TO, l);
            real_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
            real_setopt(h, CURLOPT_FORBID_REUSE, 1L);
            c->fault_connect_to = l;
            changed = 1;
        }
    }
    c->reach_bounded = c->reach_hub = 0;
    if (v->hub && v->kind == HFS_V_ALLOW && host && hfs_reach_on()) {
        c->reach_hub = 1;
        snprintf(c->reach_host, sizeof c->reach_host, "%s", host);
        /* a Hub host: its connect phase (TCP and TLS, which libcurl's own
         * TLS does out of hfshim's sight with GnuTLS) is bounded, so a
         * server that never finishes the handshake cannot hold it */
        int cm = hfs_reach_connect_ms(), hm = hfs_reach_handshake_ms();
        long ms = (long)(cm > hm ? cm : hm) + 1000; /* TCP alone is bounded in the connect hook */
        if (!c->app_connect_ms || c->app_connect_ms > ms) {
            real_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms);
            changed = 1;
            c->reach_bounded = 1;
            snprintf(c->reach_host, sizeof c->reach_host, "%s", host);
        }
        /* a metadata call (HEAD, GET /api/..., git's GET .../info/refs) whose response never starts
         * (a silent server): libcurl can only bound the whole transfer's
         * speed, which for a small metadata answer is its start; file
         * downloads (GET .../resolve/...) are never bounded */
        size_t pl = q->path ? strlen(q->path) : 0;
        int meta = method && (!strcmp(method, "HEAD") ||
                              (!strcmp(method, "GET") && q->path &&
                               (!strncmp(q->path, "/api/", 5) ||
                                (pl >= 10 && !strcmp(q->path + pl - 10, "/info/refs"))))); /* git's ref listing */
        if (meta && !c->app_low_speed) {
            long secs = (hfs_reach_first_byte_ms() + 999) / 1000;
            real_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
            real_setopt(h, CURLOPT_LOW_SPEED_TIME, secs);
            changed = 1;
            c->reach_bounded = 1;
            c->reach_low_speed = 1;
            snprintf(c->reach_host, sizeof c->reach_host, "%s", host);
        }
    }
    if (v->throttle_bps > 0 && v->kind == HFS_V_ALLOW) { /* libcurl reads no faster (its own limit is coarse) */
        real_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)v->throttle_bps);
        changed = 1;
    }
    c->fault_set = changed || v->reset_after >= 0;
    hfs_curl_unlock();
    struct hfs_http_rec rec = { "curl", method, safe };
    if (hang)
        hfs_record_http(&rec, HFS_COUNT_FAULTED, "hang", v->rule, v->why, 0, NULL, 0,
                        pit ? "no answer" : "no listener: not hung", NULL);
    if (v->reset_after >= 0 && !hang)
        hfs_record_http(&rec, HFS_COUNT_NONE, "reset", v->fault_rule, "the response is cut, then the connection reset",
                        0, NULL, 0, "CURLE_RECV_ERROR", NULL);
    if (v->throttle_bps > 0 && !hang)
        hfs_record_http(&rec, HFS_COUNT_NONE, "throttle", v->fault_rule, "the response is throttled", 0, NULL, 0, NULL,
                        NULL);
}

/* The header values and lines the edits make: in the thread's kept area
 * (tscratch.h), so that a transfer on a thread with a small stack does
 * not overflow it, without a malloc and free per transfer. */
struct edit_text {
    char val[8192];
    char line[8192 + 64 * HFS_MAX_EDITS];
};

/* The verdict's header edits (strip-auth, strip-header, set-header,
 * set-auth) made to the app's header lines: our own list on the handle,
 * logged one line per edit. Out of memory: as when libcurl cannot take
 * the list, an error line and the request goes on unchanged. */
static __attribute__((noinline)) void apply_edits(CURL *h, const struct hfs_verdict *v, const char *method,
                                                  const char *safe, const char **lines, size_t nlines,
                                                  const char *synth, size_t synth_len, const struct hfs_header *hdrs,
                                                  size_t nhdrs)
{
    const struct hfs_curl_api *api = hfs_curl_api();
    struct hfs_hdr_edit edits[HFS_MAX_EDITS];
    const char *out[MAX_LINES + HFS_MAX_EDITS];
    struct hfs_tscratch area = hfs_tscratch_take(sizeof(struct edit_text));
    struct edit_text *txt = area.p;
    if (!txt) {
        hfs_log_msg("error", "could not apply the header edits to %s %s (out of memory); the request goes on unchanged",
                    method, safe);
        return;
    }
    char *valbuf = txt->val, *linebuf = txt->line;
    struct hfs_http_rec rec = { "curl", method, safe };
    struct hfs_value_source src = { hfs_value_env, hfs_value_file, hfs_record_edit_skipped, &rec };
    size_t ne = hfs_edits_resolve(v, &src, edits, HFS_MAX_EDITS, valbuf, sizeof txt->val);
    long n = hfs_edits_apply_lines(lines, nlines, edits, ne, out, MAX_LINES + HFS_MAX_EDITS, linebuf, sizeof txt->line);
    /* a credential libcurl makes from options goes when the edits remove
     * that header: an "Authorization:" line stops it, and the options
     * are unset for this transfer */
    int strip_synth = 0, has_stop = 0;
    for (size_t i = 0; synth_len && i < ne; i++)
        strip_synth |= edits[i].remove && hfs_edit_removes(&edits[i], "Authorization", 13, synth, synth_len);
    for (long i = 0; strip_synth && i < n; i++) {
        struct hfs_header hh;
        int suppress;
        has_stop |= line_is(out[i], "Authorization") && !sent_line(out[i], &hh, &suppress) && suppress;
    }
    if (strip_synth && !has_stop && n >= 0 && (size_t)n < MAX_LINES + HFS_MAX_EDITS)
        out[n++] = "Authorization:";
    struct curl_slist *ours = NULL;
    for (long i = 0; i < n; i++) {
        struct curl_slist *t = api->slist_append(ours, out[i]);
        if (!t) {
            n = -1;
            break;
        }
        ours = t;
    }
    if (strip_synth && n >= 0)
        hfs_curl_hide_creds(h);
    if (n < 0 || !ours) {
        if (ours)
            api->slist_free_all(ours);
        hfs_log_msg("error", "could not apply the header edits to %s %s; the request goes on unchanged", method, safe);
    } else {
        CURLcode (*real_setopt)(CURL *, CURLoption, ...) = REAL(curl_easy_setopt);
        real_setopt(h, CURLOPT_HTTPHEADER, ours);
        struct hfs_curl *cc = hfs_curl_get(h, 0);
        if (cc) {
            if (cc->ours)
                api->slist_free_all(cc->ours);
            cc->ours = ours;
        }
        hfs_curl_unlock();
        /* the token as logs show it: its mask, never its value */
        char mask[24];
        snprintf(mask, sizeof mask, "%s", v->auth.mask);
        const struct hfs_header *ah = hfs_token_header(hdrs, nhdrs);
        if (!mask[0] && ah) {
            char dec[1024];
            struct hfs_token t;
            if (hfs_token_parse(ah->value, ah->value_len, dec, sizeof dec, &t) == 0)
                snprintf(mask, sizeof mask, "%s", t.mask);
            memset(dec, 0, sizeof dec);
        }
        for (size_t i = 0; i < ne; i++)
            hfs_record_edit(&rec, &edits[i], v->auth.why ? v->auth.why : "a bad token", mask);
    }
    /* a set value (a token set-auth read) does not stay in the kept area */
    for (size_t i = 0; i < ne; i++)
        if (!edits[i].remove) {
            memset(txt, 0, sizeof *txt);
            break;
        }
    hfs_tscratch_give(area);
}

/* A block without an HTTP form (dns-fail, refuse): the transfer fails with
 * the CURLcode a lookup or a connect would give; getinfo must not report
 * the previous transfer. */
static void plan_fail(CURL *h, struct hfs_curl_plan *plan, const struct hfs_request *q, const struct hfs_verdict *v,
                      const struct hfs_http_rec *rec, const char *url, const char *method, const char *safe)
{
    /* a dns-fail rule: libcurl resolves some names itself (localhost): it fails as a lookup would */
    int dns = v->lookup_fail;
    plan->next = HFS_CURL_FAIL;
    plan->code = dns ? CURLE_COULDNT_RESOLVE_HOST : CURLE_COULDNT_CONNECT;
    hfs_record_http(rec, HFS_COUNT_BLOCKED, "block", v->rule, v->why, 0, NULL, 0,
                    dns ? "CURLE_COULDNT_RESOLVE_HOST" : "CURLE_COULDNT_CONNECT", NULL);
    hfs_audit_verdict(q, v, safe, dns ? "CURLE_COULDNT_RESOLVE_HOST" : "CURLE_COULDNT_CONNECT", 0);
    struct hfs_curl *cc = hfs_curl_get(h, 0);
    if (cc && cc->errbuf && dns)
        snprintf(cc->errbuf, CURL_ERROR_SIZE, "Could not resolve host: %s", q->host ? q->host : "?");
    else if (cc && cc->errbuf)
        snprintf(cc->errbuf, CURL_ERROR_SIZE, "hfshim: blocked by rule %s%s%s%s", v->rule,
                 v->rule_index < 0 ? " (" : "", v->rule_index < 0 ? v->why : "", v->rule_index < 0 ? ")" : "");
    if (cc) { /* getinfo must not report the previous transfer */
        hfs_curl_set_virtual(cc, 1);
        cc->answer_status = 0;
        cc->answer_size = 0;
        cc->answer_header_size = 0;
        cc->answer_ctype[0] = 0;
        snprintf(cc->answer_url, sizeof cc->answer_url, "%s", url);
        snprintf(cc->answer_method, sizeof cc->answer_method, "%.15s", method);
    }
    hfs_curl_unlock();
}

/* A block with an HTTP form or a respond: answered in the process through
 * the handle's callbacks (from the Hub cache when the verdict says so). */
static void plan_virtual(CURL *h, struct hfs_curl_plan *plan, const struct hfs_request *q, struct hfs_verdict *v,
                         const struct hfs_http_rec *rec, const char *url, const char *method, const char *safe)
{
    plan->next = HFS_CURL_VIRTUAL;
    if (v->from_cache && plan->cache.hit && !plan->cache.found->ans.need_body) {
        plan->answer = plan->cache.found->ans.a;
        v->why = plan->cache.found->ans.summary;
    } else if (v->from_cache) { /* paths-info fields libcurl did not show us */
        v->kind = HFS_V_BLOCK;
        v->why = "paths-info without readable POST fields";
        v->http_form = 1;
        v->block_status = 403;
        hfs_answer_from_verdict(v, &plan->answer);
    } else {
        hfs_answer_from_verdict(v, &plan->answer);
    }
    char shown[32];
    snprintf(shown, sizeof shown, "HTTP %d", plan->answer.status);
    hfs_record_http(rec, v->kind == HFS_V_BLOCK ? HFS_COUNT_BLOCKED : HFS_COUNT_ANSWERED,
                    v->kind == HFS_V_BLOCK ? "block" : "respond", v->rule, v->why, plan->answer.status, NULL, 0,
                    v->kind == HFS_V_BLOCK ? shown : NULL, NULL);
    hfs_audit_verdict(q, v, safe, NULL, plan->answer.status);
    struct hfs_curl *cc = hfs_curl_get(h, 0);
    if (cc) {
        snprintf(cc->answer_url, sizeof cc->answer_url, "%s", url);
        snprintf(cc->answer_method, sizeof cc->answer_method, "%.15s", method);
    }
    hfs_curl_unlock();
}

/* A request that goes on with a token or to a Hub host: its response is
 * shown to the token watch (learning, diagnostics, the anonymous retry).
 * again: the transfer can be sent again as it is (no body, or POST fields
 * in memory that libcurl re-reads). */
static void plan_watch(CURL *h, const struct hfs_request *q, const struct hfs_verdict *v, int again, size_t synth_len,
                       int probe)
{
    struct hfs_auth_watch *w = malloc(sizeof *w);
    if (w && hfs_auth_watch_start(w, q, v)) {
        int optcred = synth_len && !v->auth.stripped;
        hfs_curl_watch_install(h, w, again, optcred && probe, optcred);
    }
    free(w);
}

void hfs_curl_plan(CURL *h, struct hfs_curl_plan *plan)
{
    char method[64], safe[2048], *url = NULL;
    struct hfs_url_parts parts;
    const char *why;
    /* the app's lines, Range, Authorization from options: on the stack
     * for up to SMALL_LINES lines, on the heap beyond (a bounded frame) */
    struct hfs_header hdrs_small[SMALL_LINES + 2], *hdrs = hdrs_small;
    const char *lines_small[SMALL_LINES], **lines = lines_small;
    size_t nlines = 0, napp = 0;
    const struct hfs_curl_api *api = hfs_curl_api();
    /* not the whole plan (3.5 KiB): its answer is written only for a
     * virtual transfer, and read only then */
    plan->next = HFS_CURL_PASS;
    plan->code = CURLE_OK;
    plan->answer.status = 0;
    plan->answer.nheaders = 0;
    plan->answer.body = NULL;
    plan->answer.body_len = 0;
    plan->rule[0] = 0;
    hfs_cache_ctx_init(&plan->cache, hfs_env_user);

    hfs_curl_restore(h); /* a list of ours left from an earlier transfer never carries over */
    struct hfs_curl *c = hfs_curl_get(h, 0);
    if (!c) {
        hfs_curl_unlock();
        return;
    }
    if (c->url_refused) { /* give the real handle the app's own URL again */
        char *app_url = c->url ? strdup(c->url) : NULL;
        CURLU *app_u = c->curlu;
        c->url_refused = 0;
        hfs_curl_unlock();
        CURLcode (*real_setopt)(CURL *, CURLoption, ...) = REAL(curl_easy_setopt);
        real_setopt(h, CURLOPT_URL, app_url);
        if (app_u)
            real_setopt(h, CURLOPT_CURLU, app_u);
        free(app_url);
        c = hfs_curl_get(h, 0);
        if (!c) {
            hfs_curl_unlock();
            return;
        }
    }
    hfs_curl_set_virtual(c, 0);
    if (c->curlu && api->url_get) {
        char *u = NULL;
        if (api->url_get(c->curlu, CURLUPART_URL, &u, 0) == CURLUE_OK && u) {
            url = strdup(u);
            api->free_(u);
        }
    } else if (c->url) {
        url = strdup(c->url);
    }
    hfs_curl_method(c, method, sizeof method);
    /* the POST fields stay valid while the transfer runs (libcurl's rule) */
    plan->cache.body = hfs_curl_postfields(c, &plan->cache.body_len);
    struct curl_slist *app_headers = c->headers;
    for (struct curl_slist *s = app_headers; s && napp < MAX_LINES; s = s->next)
        napp += s->data != NULL;
    if (napp > SMALL_LINES) {
        hdrs = malloc((napp + 2) * sizeof *hdrs);
        lines = malloc(napp * sizeof *lines);
        if (!hdrs || !lines) {
            free(hdrs);
            free(lines);
            hfs_curl_unlock();
            free(url);
            plan->next = HFS_CURL_FAIL; /* as libcurl fails when it has no memory */
            plan->code = CURLE_OUT_OF_MEMORY;
            hfs_log_msg("error", "out of memory for a transfer's %zu header lines: CURLE_OUT_OF_MEMORY", napp);
            return;
        }
    }
    size_t nhdrs = 0;  /* the request's headers: the app's lines libcurl sends, Range, Authorization from options */
    int auth_line = 0; /* the list has an Authorization line (sent or "Authorization:"): libcurl adds none */
    for (struct curl_slist *s = app_headers; s && nlines < napp; s = s->next) {
        const char *l = s->data;
        int suppress;
        if (!l)
            continue;
        lines[nlines++] = l;
        if (sent_line(l, &hdrs[nhdrs], &suppress))
            nhdrs++;
        auth_line |= line_is(l, "Authorization");
    }
    /* CURLOPT_RANGE becomes a Range header libcurl adds itself */
    char range[160];
    if (c->range && nhdrs < napp + 2) {
        int has = 0;
        for (size_t i = 0; i < nhdrs; i++)
            has |= hdrs[i].name_len == 5 && strncasecmp(hdrs[i].name, "Range", 5) == 0;
        int w = snprintf(range, sizeof range, "bytes=%s", c->range);
        if (!has && w > 0 && (size_t)w < sizeof range)
            hdrs[nhdrs++] = (struct hfs_header){ "Range", 5, range, (size_t)w };
    }
    enum hfs_curl_req req = c->req;
    int fields = plan->cache.body != NULL;
    char *bearer = c->bearer ? strdup(c->bearer) : NULL, *user = c->user ? strdup(c->user) : NULL,
         *passwd = c->passwd ? strdup(c->passwd) : NULL;
    long want = c->httpauth;
    hfs_curl_unlock();
    url = normalise(url);
    /* a credential given by option is judged as the header libcurl makes of it */
    char synth[1600];
    size_t synth_len = 0;
    int probe = 0, synth_made = 0; /* synth holds a credential to wipe */
    if (!auth_line && nhdrs < napp + 2 && (bearer || user || passwd || (url && strchr(url, '@')))) {
        synth_made = 1;
        synth_len = hfs_curl_option_auth(bearer, user, passwd, want, url, synth, sizeof synth, &probe);
        if (synth_len)
            hdrs[nhdrs++] = (struct hfs_header){ "Authorization", 13, synth, synth_len };
    }
    free(bearer);
    free(user);
    if (passwd)
        memset(passwd, 0, strlen(passwd));
    free(passwd);

    struct hfs_request q = { .layer = HFS_LAYER_CURL,
                             .program = hfs_g.program,
                             .method = method,
                             .headers = hdrs,
                             .nheaders = nhdrs,
                             .http_known = 1,
                             .cache = &plan->cache.probe,
                             .tokens = hfs_tokmem(),
                             .fire = hfs_fire(),
                             .reach = hfs_reach() };
    /* http(s) only: other schemes are left to libcurl and the socket hooks */
    if (hfs_request_set_url(&q, url, &parts, &why) || (strcmp(q.scheme, "http") && strcmp(q.scheme, "https"))) {
        if (synth_made)
            memset(synth, 0, sizeof synth);
        free(url);
        goto done;
    }
    struct hfs_verdict v;
    hfs_decide(hfs_g.rules, &q, &v);
    /* the URL as logs show it, made only when something is logged or
     * recorded: a transfer simply allowed (most) writes nothing */
    int quiet = v.kind == HFS_V_ALLOW && !v.nedits && v.delay_ms <= 0 && v.reset_after < 0 && v.throttle_bps <= 0 &&
                !plan->cache.unread && !hfs_audit_on();
    if (quiet)
        safe[0] = 0;
    else
        hfs_log_safe_url(url, safe, sizeof safe);
    struct hfs_http_rec rec = { "curl", method, safe };
    hfs_cache_note_unread(&plan->cache, method, safe);
    /* the rule's name, cut as snprintf would (once per transfer: no printf) */
    size_t rl = v.rule ? strnlen(v.rule, sizeof plan->rule - 1) : 0;
    memcpy(plan->rule, v.rule ? v.rule : "", rl);
    plan->rule[rl] = 0;

    fault_setup(h, &v, method, safe, &q);
    if (v.kind == HFS_V_BLOCK && !v.http_form) {
        plan_fail(h, plan, &q, &v, &rec, url, method, safe);
    } else if (v.kind == HFS_V_BLOCK || v.kind == HFS_V_RESPOND) {
        plan_virtual(h, plan, &q, &v, &rec, url, method, safe);
    } else if (v.kind == HFS_V_HANG) {
        hfs_audit_verdict(&q, &v, safe, NULL, 0); /* the transfer goes to a listener that never answers */
    } else if (v.nedits && api->slist_append && api->slist_free_all) {
        apply_edits(h, &v, method, safe, lines, nlines, synth, synth_len, hdrs, nhdrs);
    }
    /* the response to a request that goes on, with a token or to a Hub
     * host: shown to the token watch (learning, diagnostics, the
     * anonymous retry) */
    if (v.kind == HFS_V_ALLOW)
        hfs_audit_verdict(&q, &v, safe, NULL, 0);
    if (plan->next == HFS_CURL_PASS && v.kind == HFS_V_ALLOW && v.auth.watch)
        plan_watch(h, &q, &v, req == HFS_CURL_GET || (req == HFS_CURL_POST && fields), synth_len, probe);
    if (plan->next == HFS_CURL_PASS && v.kind == HFS_V_ALLOW && (v.reset_after >= 0 || v.throttle_bps > 0))
        hfs_curl_watch_fault(h, v.reset_after, v.throttle_bps); /* the server's response, cut or paced */
    if (synth_made)
        memset(synth, 0, sizeof synth);
    if (v.delay_ms > 0 && plan->next != HFS_CURL_FAIL) {
        struct timespec ts = { v.delay_ms / 1000, (long)(v.delay_ms % 1000) * 1000000L };
        hfs_record_http(&rec, HFS_COUNT_NONE, "delay", "delay", "delay rules", 0, NULL, v.delay_ms, NULL, NULL);
        while (nanosleep(&ts, &ts) && errno == EINTR)
            ;
    }
    free(url);
done:
    if (hdrs != hdrs_small) {
        free(hdrs);
        free(lines);
    }
}

void hfs_curl_plan_done(struct hfs_curl_plan *plan) { hfs_cache_ctx_done(&plan->cache); }

void hfs_curl_reach_done(CURL *h, CURLcode rc)
{
    char host[256] = "";
    struct hfs_curl *c = hfs_curl_get(h, 0);
    int reset = rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR;
    if (c && ((c->reach_bounded && rc == CURLE_OPERATION_TIMEDOUT) || (c->reach_hub && reset)))
        snprintf(host, sizeof host, "%s", c->reach_host);
    hfs_curl_unlock();
    if (!host[0])
        return;
    CURLcode (*getinfo)(CURL *, CURLINFO, ...) = REAL(curl_easy_getinfo);
    double conn = 0, tls = 0, started = 0;
    char *scheme = NULL;
    if (!getinfo)
        return;
    getinfo(h, CURLINFO_CONNECT_TIME, &conn);
    getinfo(h, CURLINFO_APPCONNECT_TIME, &tls);
    getinfo(h, CURLINFO_STARTTRANSFER_TIME, &started);
    getinfo(h, CURLINFO_SCHEME, &scheme);
    int https = scheme && strcasecmp(scheme, "https") == 0;
    if (started > 0)
        return;  /* the response had started: a slow body, not an unreachable Hub */
    if (reset) { /* the connection was made, then reset before any response */
        if (conn > 0 && (!https || tls > 0))
            hfs_reach_learn(host, HFS_REACH_RESET, ECONNRESET);
        return;
    }
    hfs_reach_learn(host,
                    conn <= 0           ? HFS_REACH_CONNECT_SLOW
                    : https && tls <= 0 ? HFS_REACH_HANDSHAKE_SLOW
                                        : HFS_REACH_SILENT,
                    0);
}

void hfs_curl_restore(CURL *h)
{
    hfs_curl_watch_remove(h);
    hfs_curl_unhide_creds(h);
    struct hfs_curl *c = hfs_curl_get(h, 0);
    if (c && c->fault_set) { /* a fault rule's options: the app's again */
        CURLcode (*rs)(CURL *, CURLoption, ...) = REAL(curl_easy_setopt);
        struct curl_slist *ours = c->fault_connect_to;
        c->fault_connect_to = NULL;
        c->fault_set = 0;
        rs(h, CURLOPT_CONNECT_TO, c->app_connect_to);
        rs(h, CURLOPT_FRESH_CONNECT, (long)c->app_fresh);
        rs(h, CURLOPT_FORBID_REUSE, (long)c->app_forbid_reuse);
        rs(h, CURLOPT_MAX_RECV_SPEED_LARGE, c->app_max_recv);
        if (c->reach_bounded)
            rs(h, CURLOPT_CONNECTTIMEOUT_MS, c->app_connect_ms);
        if (c->reach_low_speed) {
            rs(h, CURLOPT_LOW_SPEED_LIMIT, 0L);
            rs(h, CURLOPT_LOW_SPEED_TIME, 0L);
        }
        c->reach_bounded = c->reach_low_speed = 0;
        if (ours)
            hfs_curl_api()->slist_free_all(ours);
    }
    struct curl_slist *ours = NULL, *app = NULL;
    int pipewait = c && c->pipewait_off;
    if (pipewait)
        c->pipewait_off = 0;
    if (c && c->ours) {
        ours = c->ours;
        app = c->headers;
        c->ours = NULL;
    }
    hfs_curl_unlock();
    if (pipewait)
        ((CURLcode(*)(CURL *, CURLoption, ...))REAL(curl_easy_setopt))(h, CURLOPT_PIPEWAIT, 1L);
    if (ours) {
        CURLcode (*real_setopt)(CURL *, CURLoption, ...) = REAL(curl_easy_setopt);
        real_setopt(h, CURLOPT_HTTPHEADER, app);
        hfs_curl_api()->slist_free_all(ours);
    }
}

/* Calls a libcurl write-style callback; default: fwrite to data. */
static int emit(curl_write_callback fn, void *data, const char *p, size_t n)
{
    if (n == 0)
        return 0;
    size_t w = fn ? fn((char *)p, 1, n, data) : fwrite(p, 1, n, data ? (FILE *)data : stdout);
    return w == n ? 0 : -1;
}

CURLcode hfs_curl_deliver(CURL *h, const struct hfs_answer *a)
{
    char line[1024];
    struct hfs_curl *c = hfs_curl_get(h, 0);
    if (!c) {
        hfs_curl_unlock();
        return CURLE_COULDNT_CONNECT;
    }
    /* copy what the callbacks need, and call them without the lock */
    struct hfs_curl s = *c;
    int head = strcmp(c->answer_method, "HEAD") == 0;
    size_t ctl = 0;
    const char *ct = hfs_answer_header(a, "Content-Type", &ctl);
    hfs_curl_set_virtual(c, 1);
    c->answer_status = a->status;
    c->answer_size = head ? 0 : (curl_off_t)a->body_len;
    snprintf(c->answer_ctype, sizeof c->answer_ctype, "%.*s", ct ? (int)ctl : 0, ct ? ct : "");
    hfs_curl_unlock();

    /* libcurl: headers go to the header callback, or to the write callback
     * with the header data when only that is set; and to the body output
     * too with CURLOPT_HEADER */
    curl_write_callback hfn = s.headerfn ? s.headerfn : s.writefn;
    int to_header = s.headerfn || s.headerdata;
    long header_size = 0;
    int has_length = hfs_answer_header(a, "Content-Length", NULL) != NULL;
    for (size_t i = 0; i <= a->nheaders + 2; i++) {
        int n;
        if (i == 0)
            n = snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", a->status, a->reason ? a->reason : "");
        else if (i <= a->nheaders)
            n = snprintf(line, sizeof line, "%.*s: %.*s\r\n", (int)a->headers[i - 1].name_len, a->headers[i - 1].name,
                         (int)a->headers[i - 1].value_len, a->headers[i - 1].value);
        else if (i == a->nheaders + 1)
            n = has_length ? 0 : snprintf(line, sizeof line, "Content-Length: %zu\r\n", a->body_len);
        else
            n = snprintf(line, sizeof line, "\r\n");
        if (n <= 0)
            continue;
        if ((size_t)n >= sizeof line)
            n = (int)sizeof line - 1;
        header_size += n;
        if (to_header && emit(hfn, s.headerdata, line, (size_t)n))
            return CURLE_WRITE_ERROR;
        if (s.include_header && emit(s.writefn, s.writedata, line, (size_t)n))
            return CURLE_WRITE_ERROR;
    }
    if (s.failonerror && a->status >= 400) { /* like libcurl 7.88: the headers were delivered, no body */
        if (s.errbuf)
            snprintf(s.errbuf, CURL_ERROR_SIZE, "The requested URL returned error: %d", a->status);
        return CURLE_HTTP_RETURNED_ERROR;
    }
    size_t body_len = a->body_len;
    int cut = s.fault_set && s.fault_cut >= 0 && (size_t)s.fault_cut < body_len && !head;
    if (cut) /* a reset rule: the body stops there, as when the peer resets */
        body_len = (size_t)s.fault_cut;
    for (size_t off = 0; !head && off < body_len; off += CURL_MAX_WRITE_SIZE) {
        size_t n = body_len - off < CURL_MAX_WRITE_SIZE ? body_len - off : CURL_MAX_WRITE_SIZE;
        if (emit(s.writefn, s.writedata, a->body + off, n)) {
            if (s.errbuf)
                snprintf(s.errbuf, CURL_ERROR_SIZE, "Failure writing output to destination");
            return CURLE_WRITE_ERROR;
        }
    }
    c = hfs_curl_get(h, 0);
    if (c)
        c->answer_header_size = header_size;
    hfs_curl_unlock();
    if (cut) {
        if (s.errbuf)
            snprintf(s.errbuf, CURL_ERROR_SIZE, "Recv failure: Connection reset by peer");
        return CURLE_RECV_ERROR;
    }
    return CURLE_OK;
}

int hfs_curl_getinfo_virtual(CURL *h, CURLINFO info, void *arg)
{
    int done = 1;
    struct hfs_curl *c = hfs_curl_get(h, 0);
    if (!c || !c->virtual_done) {
        hfs_curl_unlock();
        return 0;
    }
    switch (info) {
    case CURLINFO_RESPONSE_CODE: *(long *)arg = c->answer_status; break;
    case CURLINFO_HTTP_CONNECTCODE: *(long *)arg = 0; break;
    case CURLINFO_HTTP_VERSION: *(long *)arg = CURL_HTTP_VERSION_1_1; break;
    case CURLINFO_EFFECTIVE_URL: *(char **)arg = c->answer_url; break;
    case CURLINFO_EFFECTIVE_METHOD: *(char **)arg = c->answer_method; break;
    case CURLINFO_CONTENT_TYPE: *(char **)arg = c->answer_ctype[0] ? c->answer_ctype : NULL; break;
    case CURLINFO_SIZE_DOWNLOAD_T:
    case CURLINFO_CONTENT_LENGTH_DOWNLOAD_T: *(curl_off_t *)arg = c->answer_size; break;
    case CURLINFO_SIZE_DOWNLOAD:
    case CURLINFO_CONTENT_LENGTH_DOWNLOAD: *(double *)arg = (double)c->answer_size; break;
    case CURLINFO_HEADER_SIZE: *(long *)arg = c->answer_header_size; break;
    case CURLINFO_REQUEST_SIZE:
    case CURLINFO_REDIRECT_COUNT:
    case CURLINFO_NUM_CONNECTS:
    case CURLINFO_PRIMARY_PORT:
    case CURLINFO_LOCAL_PORT:
    case CURLINFO_OS_ERRNO: *(long *)arg = 0; break;
    case CURLINFO_PRIMARY_IP:
    case CURLINFO_LOCAL_IP: *(char **)arg = (char *)""; break;
    case CURLINFO_REDIRECT_URL: *(char **)arg = NULL; break;
    case CURLINFO_PROTOCOL:
        *(long *)arg = strncasecmp(c->answer_url, "https:", 6) == 0 ? CURLPROTO_HTTPS : CURLPROTO_HTTP;
        break;
    case CURLINFO_SCHEME: *(char **)arg = strncasecmp(c->answer_url, "https:", 6) == 0 ? "HTTPS" : "HTTP"; break;
    case CURLINFO_SIZE_UPLOAD_T: *(curl_off_t *)arg = 0; break;
    case CURLINFO_TOTAL_TIME_T:
    case CURLINFO_NAMELOOKUP_TIME_T:
    case CURLINFO_CONNECT_TIME_T:
    case CURLINFO_APPCONNECT_TIME_T:
    case CURLINFO_PRETRANSFER_TIME_T:
    case CURLINFO_STARTTRANSFER_TIME_T:
    case CURLINFO_REDIRECT_TIME_T:
    case CURLINFO_SPEED_DOWNLOAD_T:
    case CURLINFO_SPEED_UPLOAD_T: *(curl_off_t *)arg = 0; break;
    case CURLINFO_TOTAL_TIME:
    case CURLINFO_NAMELOOKUP_TIME:
    case CURLINFO_CONNECT_TIME:
    case CURLINFO_APPCONNECT_TIME:
    case CURLINFO_PRETRANSFER_TIME:
    case CURLINFO_STARTTRANSFER_TIME:
    case CURLINFO_REDIRECT_TIME:
    case CURLINFO_SPEED_DOWNLOAD:
    case CURLINFO_SPEED_UPLOAD: *(double *)arg = 0; break;
    default: done = 0; break;
    }
    hfs_curl_unlock();
    return done;
}
