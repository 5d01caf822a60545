/* envpolicy: the enforced-variables plan (see header). */
#include "envpolicy.h"
#include "startup.h"

#include <string.h>
#include <strings.h>

const struct hfs_envvar hfs_offline_env[] = {
    { "HF_HUB_OFFLINE", "1" },              /* huggingface_hub: no Hub requests */
    { "TRANSFORMERS_OFFLINE", "1" },        /* transformers (and hub, as an alias) */
    { "HF_DATASETS_OFFLINE", "1" },         /* datasets, older versions read only this */
    { "HF_EVALUATE_OFFLINE", "1" },         /* evaluate */
    { "HF_HUB_DISABLE_TELEMETRY", "1" },    /* telemetry HEADs and the agent registry GET */
    { "HF_HUB_DISABLE_XET", "1" },          /* hf_xet's own TLS stack is invisible to the hooks */
    { "HF_HUB_DISABLE_UPDATE_CHECK", "1" }, /* the hf CLI's PyPI version check */
    { NULL, NULL },
};

static size_t put(struct hfs_envvar *out, size_t n, size_t cap, const char *name, const char *value)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(out[i].name, name) == 0) {
            out[i].value = value;
            return n;
        }
    if (n < cap) {
        out[n].name = name;
        out[n].value = value;
        n++;
    }
    return n;
}

HFS_STARTUP size_t hfs_env_plan(const struct hfs_rules *r, const char *(*user_env)(const char *),
                                struct hfs_envvar *out, size_t cap, struct hfs_diag *d)
{
    size_t n = 0;
    /* token hygiene: hf_xet fetches a token-bearing xet-read-token and then
     * talks TLS hfshim cannot see; huggingface_hub downloads over plain
     * HTTP(S) instead (rules/README.md §5.6). The rules' env may say otherwise. */
    if (r->tokens.present && !r->tokens.keep_xet)
        n = put(out, n, cap, "HF_HUB_DISABLE_XET", "1");
    for (size_t i = 0; i < r->nenv; i++)
        n = put(out, n, cap, r->env[i].name, r->env[i].value);
    if (!r->offline) {
        const char *which;
        if (!hfs_env_hub_offline(r, user_env, &which))
            return n;
        /* the user's offline switch is hfshim's to honour (for the Hub
         * hosts): the library stays online-looking, as in offline mode */
        for (const struct hfs_envvar *o = hfs_offline_env; o - hfs_offline_env < HFS_OFFLINE_SWITCHES; o++) {
            const char *u = user_env ? user_env(o->name) : NULL;
            if (u && hfs_parse_bool(u) == 1)
                n = put(out, n, cap, o->name, "0");
        }
        return n;
    }
    for (const struct hfs_envvar *o = hfs_offline_env; o->name; o++) {
        const char *value = o->value;
        if (r->offline != HFS_OFFLINE_VARIABLES && o - hfs_offline_env < HFS_OFFLINE_SWITCHES) {
            /* hfshim is offline, the library is not: a switch the user
             * turned on is turned off (else the library would refuse
             * the calls hfshim answers from the cache) */
            const char *u = user_env ? user_env(o->name) : NULL;
            if (!u || hfs_parse_bool(u) != 1)
                continue;
            value = "0";
        }
        for (size_t i = 0; i < r->nenv && d; i++)
            if (strcmp(r->env[i].name, o->name) == 0 && (!r->env[i].value || strcmp(r->env[i].value, value)))
                hfs_diag_report(d, 0, "%s: warning: env: %s is %s by the rules but offline mode sets it to %s",
                                r->source, o->name, r->env[i].value ? "set" : "unset", value);
        n = put(out, n, cap, o->name, value);
    }
    return n;
}

int hfs_env_change_refused(const struct hfs_envvar *env, size_t n, const char *name, size_t len, const char *value,
                           int overwrite, size_t *index)
{
    for (size_t i = 0; i < n; i++) {
        if (strncmp(env[i].name, name, len) != 0 || env[i].name[len] != 0)
            continue;
        const char *want = env[i].value;
        if (value ? want && strcmp(want, value) == 0 : !want)
            return 0; /* the same as enforced */
        if (value && !overwrite && want)
            return 0; /* setenv without overwrite of a variable that is set: nothing happens */
        *index = i;
        return 1;
    }
    return 0;
}

int hfs_parse_offline(const char *v)
{
    if (v && strcasecmp(v, "variables") == 0)
        return HFS_OFFLINE_VARIABLES;
    int b = hfs_parse_bool(v);
    return b == 1 ? HFS_OFFLINE_ANSWER : b;
}

int hfs_parse_bool(const char *v)
{
    static const char *const yes[] = { "1", "true", "yes", "on", NULL };
    static const char *const no[] = { "0", "false", "no", "off", NULL };
    if (!v)
        return -1;
    for (int i = 0; yes[i]; i++)
        if (strcasecmp(v, yes[i]) == 0)
            return 1;
    for (int i = 0; no[i]; i++)
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    return -1;
}

HFS_STARTUP int hfs_env_hub_offline(const struct hfs_rules *r, const char *(*user_env)(const char *),
                                    const char **which)
{
    if (r->offline || !r->reach.offline_variables || !user_env)
        return 0;
    for (const struct hfs_envvar *o = hfs_offline_env; o - hfs_offline_env < HFS_OFFLINE_SWITCHES; o++) {
        const char *u = user_env(o->name);
        if (u && hfs_parse_bool(u) == 1) {
            *which = o->name;
            return 1;
        }
    }
    const char *c = user_env("HFSHIM_HUB_OFFLINE"); /* a parent took a switch over */
    if (c && hfs_parse_bool(c) == 1) {
        *which = "HF_HUB_OFFLINE"; /* taken over by a parent: the child sees 0 */
        return 1;
    }
    return 0;
}
