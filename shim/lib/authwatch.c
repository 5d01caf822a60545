/* authwatch: the response side of token hygiene for every HTTP layer (see
 * header): diagnostics, learning, and the anonymous-retry answer. */
#include "authwatch.h"

#include <stdio.h>
#include <string.h>

#include "../core/hubdiag.h"
#include "../core/log.h"
#include "../core/token.h"
#include "../core/tokensrc.h"
#include "envhooks.h"
#include "state.h"
#include "tokmem.h"

int hfs_auth_watch_start(struct hfs_auth_watch *w, const struct hfs_request *r, const struct hfs_verdict *v)
{
    memset(w, 0, sizeof *w);
    if (v->kind != HFS_V_ALLOW || !v->auth.watch)
        return 0;
    w->a = v->auth;
    snprintf(w->layer, sizeof w->layer, "%s", hfs_layer_name(r->layer));
    snprintf(w->method, sizeof w->method, "%s", r->method ? r->method : "?");
    hfs_log_safe_url(r->url, w->url, sizeof w->url);
    snprintf(w->path, sizeof w->path, "%s", r->path ? r->path : "/");
    w->router = hfs_hubdiag_is_router(r->host) || hfs_hubdiag_is_router_path(r->path);
    return 1;
}

int hfs_auth_watch_response(struct hfs_auth_watch *w, int status, const struct hfs_header *h, size_t n, int can_retry)
{
    const struct hfs_verdict_auth *a = &w->a;
    int sent = a->mask[0] && !a->stripped;
    int invalid = sent && hfs_token_response_invalid(status, h, n);
    char src[320];
    const char *source = NULL;
    if (status < 400)
        return 0;
    if (a->mask[0])
        source = hfs_tokensrc_label_for(hfs_env_user, a->sha, src, sizeof src);
    if (invalid && a->learn && hfs_tokmem_learn(a->sha)) {
        const char *file = hfs_g.rules->tokens.state_file;
        hfs_log_msg("info",
                    "learned: the Hub answered 401 \"Invalid credentials\" to the token %s%s%s%s for %s %s; it is "
                    "stripped from now on%s%s",
                    a->mask, source ? " (from " : "", source ? source : "", source ? ")" : "", w->method, w->url,
                    file ? " here and in every process sharing " : "", file ? file : "");
    }
    if (invalid && a->retry && !w->retried && can_retry) {
        w->retried = 1;
        hfs_log_msg("info", "retrying %s %s once without Authorization (the Hub rejected the token %s)", w->method,
                    w->url, a->mask);
        return 1;
    }
    char line[1400];
    struct hfs_hubdiag_in in = { .url = w->url,
                                 .path = w->path,
                                 .router = w->router,
                                 .status = status,
                                 .headers = h,
                                 .nheaders = n,
                                 .had_token = sent,
                                 .stripped = a->stripped,
                                 .mask = a->mask[0] ? a->mask : NULL,
                                 .source = source };
    if (w->retried)
        in.had_token = 0, in.stripped = 1; /* the answer is to the anonymous retry */
    if (hfs_hubdiag(&in, line, sizeof line))
        hfs_log_msg("info", "%s", line);
    return 0;
}
