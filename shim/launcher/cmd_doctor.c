/* cmd_doctor: `hfshim doctor`: every token source and what is wrong with
 * it, conflicts between them, HF_ENDPOINT, the cache folders, the offline
 * and Xet variables, with what to do. No network unless --online (then
 * each distinct token goes to whoami-v2 once, and the verdict is recorded
 * in the state file when the rules name one). Exit 0: nothing wrong; 1:
 * problems found; 2: usage or rules errors. Tokens are shown masked. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/envpolicy.h"
#include "../core/hostpat.h"
#include "../core/hubcache.h"
#include "../core/log.h"
#include "../core/preloadfile.h"
#include "../core/reach.h"
#include "../core/readfile.h"
#include "../core/sha256.h"
#include "../core/syspolicy.h"
#include "../core/token.h"
#include "../core/tokensrc.h"
#include "../core/tokstate.h"
#include "launcher.h"
#include "whoami.h"

#define MAX_SRC 16

static int problems;

static void problem(const char *fmt, const char *a, const char *b, const char *c)
{
    problems++;
    printf("  - ");
    printf(fmt, a ? a : "", b ? b : "", c ? c : "");
    printf("\n");
}

struct counter {
    long revs;
};
static void count_rev(void *ctx, const char *type, const char *repo, const char *ref, const char *sha, long files,
                      const char *dir)
{
    (void)type, (void)repo, (void)ref, (void)files, (void)dir;
    if (sha) /* NULL: a ref that is not a regular file, not cached */
        ((struct counter *)ctx)->revs++;
}

/* the value as huggingface_hub reads it: surrounding whitespace stripped */
static void trimmed(const char *v, const char **t, size_t *l)
{
    size_t n = strlen(v);
    while (n && isspace((unsigned char)*v))
        v++, n--;
    while (n && isspace((unsigned char)v[n - 1]))
        n--;
    *t = v;
    *l = n;
}

/* System-wide activation and the system policy (syspolicy.h). */
static void system_section(void)
{
    char why[PATH_MAX + 100];
    const char *err;
    size_t n = 0;
    char *buf = hfs_file_read(HFS_LD_SO_PRELOAD, 0, 1 << 20, &n, &err);
    printf("\nsystem-wide:\n");
    if (!buf)
        printf("  %s: none (programs are under the shim only through LD_PRELOAD or hfshim run)\n", HFS_LD_SO_PRELOAD);
    else if (!hfs_preloadfile_has(buf, n, NULL))
        printf("  %s preloads hfshim: every dynamically linked program runs under it\n", HFS_LD_SO_PRELOAD);
    else
        printf("  %s does not name hfshim\n", HFS_LD_SO_PRELOAD);
    free(buf);
    struct stat st;
    if (lstat(HFS_SYSTEM_RULES, &st) != 0) {
        printf("  %s: none\n", HFS_SYSTEM_RULES);
        return;
    }
    printf("  %s: %s\n", HFS_SYSTEM_RULES,
           hfs_cli_locked ? "locked: HFSHIM_RULES, HFSHIM_OFFLINE=0 and HFSHIM_LOG cannot weaken it"
                          : "the default when HFSHIM_RULES is not set (not locked)");
    if (hfs_file_trusted(HFS_SYSTEM_RULES, why, sizeof why))
        problem("%s: %s: a non-root user can change the policy%s", HFS_SYSTEM_RULES, why,
                hfs_cli_locked ? "; setuid programs ignore it" : "");
    /* a user namespace lets a program mount over /etc/hfshim without root */
    FILE *f = fopen("/proc/sys/user/max_user_namespaces", "r");
    long userns = 0;
    if (f) {
        if (fscanf(f, "%ld", &userns) != 1)
            userns = 0;
        fclose(f);
    }
    f = fopen("/proc/sys/kernel/unprivileged_userns_clone", "r");
    if (f) {
        long on = 1;
        if (fscanf(f, "%ld", &on) == 1 && on == 0)
            userns = 0;
        fclose(f);
    }
    if (hfs_cli_locked && userns > 0)
        problem("%s",
                "unprivileged user namespaces are enabled: a program can mount over /etc/hfshim in one and "
                "run without the lock (Docker's default seccomp profile refuses them; elsewhere set "
                "user.max_user_namespaces=0)",
                NULL, NULL);
}

/* The Hub reachability verdicts the processes under the shim share
 * (rules "reach", lib/reachmem.c), read from their file. */
static void reach_section(const struct hfs_rules *r)
{
    char path[1024];
    printf("\nHub reachability (deadlines: lookup %d ms per name server, connect %d ms, TLS handshake %d ms, first "
           "byte %d ms; a verdict holds %d s):\n",
           r->reach.resolve_ms, r->reach.connect_ms, r->reach.handshake_ms, r->reach.first_byte_ms,
           r->reach.remember_s);
    if (!r->reach.learn)
        printf("  not learned (reach.learn is false)\n");
    if (!r->reach.state_file || hfs_tokstate_path(r->reach.state_file, hfs_cli_env, path, sizeof path)) {
        printf("  not shared between processes (no reach.state_file)\n");
        return;
    }
    static struct hfs_reach_table t;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, &t, sizeof t) : -1;
    if (fd >= 0)
        close(fd);
    if (got != (ssize_t)sizeof t || t.magic != HFS_REACH_MAGIC) {
        printf("  every Hub host reachable as far as hfshim knows (%s: %s)\n", path,
               fd < 0 ? "no verdict yet" : "not a reach state file");
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    struct hfs_reach_entry e[HFS_REACH_SLOTS];
    size_t n = hfs_reach_list(&t, now, (long long)r->reach.remember_s * 1000, e, HFS_REACH_SLOTS);
    if (!n)
        printf("  every Hub host reachable as far as hfshim knows (%s)\n", path);
    for (size_t i = 0; i < n; i++) {
        char why[128];
        long long age = (now - e[i].since_ms) / 1000;
        printf("  %s: unreachable since %lld s ago, because %s; answered from the cache or failed at once for "
               "%lld s more\n",
               e[i].host, age, hfs_reach_reason_text(e[i].reason, e[i].err, why, sizeof why),
               (long long)r->reach.remember_s - age);
    }
}

int hfs_cmd_doctor(int argc, char **argv)
{
    const char *rules_arg = NULL;
    int online = 0;
    char used_path[PATH_MAX];
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
            rules_arg = argv[++i];
        else if (strcmp(argv[i], "--online") == 0)
            online = 1;
        else {
            hfs_usage("doctor");
            return 2;
        }
    }
    struct hfs_rules *r = hfs_load_for_cli(rules_arg, 0, used_path, sizeof used_path);
    if (!r)
        return 2;
    problems = 0;
    printf("hfshim doctor (rules: %s; %s)\n", used_path,
           online ? "--online: each token is checked once with whoami-v2" : "offline: no connection is made");
    system_section();

    struct hfs_tokensrc s[MAX_SRC];
    size_t n = hfs_tokensrc_find(hfs_cli_env, s, MAX_SRC);
    const struct hfs_token_policy *pol = r->tokens.present ? &r->tokens : NULL;
    const char *endpoint = hfs_cli_env("HF_ENDPOINT");
    int used = -1;
    printf("\ntoken sources (in huggingface_hub's order; masked; sha256 prefix for tokens.deny):\n");
    if (!n)
        printf("  none: requests go anonymously (public repos need no token)\n");
    for (size_t i = 0; i < n; i++) {
        const char *t;
        size_t l;
        char parsebuf[512], hex[65], mask[24];
        struct hfs_token tk;
        const char *why = NULL;
        trimmed(s[i].value, &t, &l);
        /* judged as huggingface_hub sends it, "Bearer " + value: a value
         * that is itself "Bearer hf_..." is then seen as malformed */
        char *hdr = malloc(l + 8);
        if (!hdr)
            continue;
        memcpy(hdr, "Bearer ", 7);
        memcpy(hdr + 7, t, l);
        hdr[7 + l] = 0;
        if (hfs_token_parse(hdr, l + 7, parsebuf, sizeof parsebuf, &tk) != 0)
            hfs_sha256(t, l, tk.sha);
        hfs_sha256_hex(tk.sha, hex);
        hfs_mask_token(t, l, mask, sizeof mask);
        enum hfs_tok_class c = hfs_token_classify(pol, &tk, NULL, &why);
        free(hdr); /* tk points into it: not used past here */
        long long when = 0;
        int known = hfs_whoami_known(r, tk.sha, &when);
        const char *verdict = known == HFS_KNOWN_LEARNED   ? "learned bad (the Hub answered 401)"
                              : known == HFS_KNOWN_INVALID ? "invalid (whoami-v2)"
                              : known == HFS_KNOWN_VALID   ? "valid (whoami-v2)"
                                                           : hfs_tok_class_name(c);
        if (s[i].used)
            used = (int)i;
        printf("  %-44s %-10s %-9s sha256 %.16s  %s%s\n", s[i].label, l ? mask : "(empty)", verdict, hex,
               s[i].used ? "[sent by huggingface_hub]" : "", "");
        if (!l && s[i].kind == HFS_SRC_ENV)
            problem("%s is set but empty: some clients (vLLM) then send an empty \"Bearer \" and get 401; unset it",
                    s[i].label, NULL, NULL);
        else if (c == HFS_TOK_MALFORMED)
            problem("%s: %s; fix or remove it", s[i].label, why, NULL);
        else if (known == HFS_KNOWN_LEARNED || known == HFS_KNOWN_INVALID)
            problem("%s holds a token the Hub rejected: create a new one at https://huggingface.co/settings/tokens "
                    "or remove it%s%s",
                    s[i].label, "", "");
        if (l != strlen(s[i].value) && l)
            problem("%s has whitespace or a newline around the token (huggingface_hub strips it; other clients "
                    "send it and get 401)",
                    s[i].label, NULL, NULL);
        if (online && l) {
            int dup = 0;
            for (size_t k = 0; k < i && !dup; k++) {
                const char *t2;
                size_t l2;
                trimmed(s[k].value, &t2, &l2);
                dup = l2 == l && memcmp(t2, t, l) == 0;
            }
            if (!dup) {
                char name[80], why2[128];
                enum hfs_whoami w = hfs_whoami_check(endpoint, t, l, name, sizeof name, why2, sizeof why2);
                printf("      whoami-v2: %s%s%s\n",
                       w == HFS_WHOAMI_VALID     ? "valid, account "
                       : w == HFS_WHOAMI_INVALID ? "INVALID (401)"
                                                 : "unknown: ",
                       w == HFS_WHOAMI_VALID ? name : "", w == HFS_WHOAMI_UNKNOWN ? why2 : "");
                if (w == HFS_WHOAMI_INVALID)
                    problem("%s: the Hub says this token is invalid (expired or revoked)", s[i].label, NULL, NULL);
                hfs_whoami_record(r, tk.sha, w);
            }
        }
    }
    /* conflicts: sources that disagree with the one that is sent */
    if (used >= 0) {
        const char *tu;
        size_t lu;
        trimmed(s[used].value, &tu, &lu);
        for (size_t i = 0; i < n; i++) {
            const char *t;
            size_t l;
            trimmed(s[i].value, &t, &l);
            if ((int)i == used || !l || (l == lu && memcmp(t, tu, l) == 0))
                continue;
            if (s[i].kind == HFS_SRC_STORED)
                continue; /* stored tokens are alternatives by design */
            problem("%s holds a different token than %s, which is the one huggingface_hub sends; %s", s[i].label,
                    s[used].label,
                    s[i].kind == HFS_SRC_NETRC || s[i].kind == HFS_SRC_GIT
                        ? "curl --netrc / git send this one instead: keep them in step or remove the stale one"
                        : "remove the one you do not mean");
        }
    }
    printf("\nendpoint: ");
    if (endpoint && *endpoint) {
        char hp[300];
        if (hfs_endpoint_hostport(endpoint, hp, sizeof hp) == 0)
            printf("HF_ENDPOINT host %s (a Hub host: tokens go there)\n", hp);
        else {
            printf("HF_ENDPOINT is set but not a URL (%zu characters)\n", strlen(endpoint));
            problem("HF_ENDPOINT is not an http(s) URL with a host: clients fail or fall back to huggingface.co", NULL,
                    NULL, NULL);
        }
    } else {
        printf("https://huggingface.co (HF_ENDPOINT not set)\n");
    }
    struct hfs_cache_roots *roots = malloc(sizeof *roots);
    if (roots) {
        hfs_cache_roots_default(hfs_cli_env, roots);
        printf("\ncache folders:\n");
        for (size_t i = 0; i < roots->n; i++) {
            struct stat st;
            int exists = stat(roots->dir[i], &st) == 0 && S_ISDIR(st.st_mode);
            printf("  %s (%s)%s\n", roots->dir[i], roots->from[i], exists ? "" : ": missing");
        }
        struct counter cn = { 0 };
        hfs_cache_each(roots, count_rev, &cn);
        if (roots->n)
            printf("  %ld cached revision%s in all (hfshim cache lists them)\n", cn.revs, cn.revs == 1 ? "" : "s");
        if (!roots->n)
            printf("  none (set HF_HUB_CACHE, HF_HOME or HOME)\n");
        free(roots);
    }
    printf("\nvariables:\n");
    static const char *const offline_vars[] = { "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE",
                                                "HF_HUB_DISABLE_IMPLICIT_TOKEN", NULL };
    for (const char *const *v = offline_vars; *v; v++) {
        const char *val = hfs_cli_env(*v);
        printf("  %-30s %s\n", *v, val ? val : "(not set)");
        if (val && hfs_parse_bool(val) == 1 && strcmp(*v, "HF_HUB_DISABLE_IMPLICIT_TOKEN"))
            printf("      set: huggingface_hub refuses model_info() before any I/O; %s\n",
                   !r->offline && r->reach.offline_variables
                       ? "these rules take it over (the program sees 0): the Hub hosts are taken as unreachable and "
                         "Hub calls are answered from the cache"
                       : "under hfshim's offline mode (--offline) it is taken over and Hub calls are answered from "
                         "the cache");
    }
    const char *xet = hfs_cli_env("HF_HUB_DISABLE_XET");
    printf("  %-30s %s\n", "HF_HUB_DISABLE_XET", xet ? xet : "(not set)");
    if (r->tokens.present && !r->tokens.keep_xet)
        printf("      these rules set HF_HUB_DISABLE_XET=1: hf_xet fetches a token-bearing xet-read-token and then "
               "talks TLS hfshim cannot see\n");
    else if (!xet)
        printf("      hf_xet (default in huggingface_hub 1.x) downloads over its own TLS, unseen by hfshim; "
               "token-hygiene rules set HF_HUB_DISABLE_XET=1\n");
    reach_section(r);
    printf("\ntoken hygiene in these rules: %s\n",
           r->tokens.present ? "on (bad tokens stripped, 401s learned and retried; rules/README.md §3.7)"
                             : "off (no \"tokens\" section)");
    if (problems)
        printf("\n%d problem%s found (see the lines starting with \"-\" above)\n", problems, problems == 1 ? "" : "s");
    else
        printf("\nno problem found\n");
    hfs_tokensrc_free(s, n);
    hfs_rules_free(r);
    return problems ? 1 : 0;
}
