/* test_token: unit tests of token hygiene in the core: SHA-256 vectors,
 * Authorization values read (Bearer, Basic, token, bare), the classifier's
 * classes and their order, the Hub's "invalid credentials" answer, the
 * "tokens" section and strip-auth/set-auth rules (errors with file:line:col),
 * includes, the decision's auth verdict (strip, foreign, retry, watch)
 * and the diagnostics texts (shim/core/token.h, hubdiag.h, decide.h). */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decide.h"
#include "hubdiag.h"
#include "log.h"
#include "rules.h"
#include "sha256.h"
#include "token.h"

#define GOOD                                                                                                           \
    "hf_"                                                                                                              \
    "abcdefghijklmnopqrstuvwxyzABCDEFGH"
#define STALE                                                                                                          \
    "hf_"                                                                                                              \
    "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"

static void test_sha256_vectors(void **state)
{
    (void)state;
    unsigned char d[32];
    char hex[65];
    hfs_sha256("", 0, d);
    hfs_sha256_hex(d, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hfs_sha256("abc", 3, d);
    hfs_sha256_hex(d, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hfs_sha256(m, strlen(m), d);
    hfs_sha256_hex(d, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* many updates of odd sizes equal one call */
    char big[1000];
    for (int i = 0; i < 1000; i++)
        big[i] = (char)('a' + i % 26);
    unsigned char one[32], many[32];
    hfs_sha256(big, sizeof big, one);
    struct hfs_sha256 s;
    hfs_sha256_init(&s);
    for (size_t off = 0, k = 1; off < sizeof big; off += k, k = k % 67 + 1)
        hfs_sha256_update(&s, big + off, off + k > sizeof big ? sizeof big - off : k);
    hfs_sha256_final(&s, many);
    assert_memory_equal(one, many, 32);
}

static void parse(const char *v, struct hfs_token *t, char *buf, size_t cap)
{
    assert_int_equal(hfs_token_parse(v, strlen(v), buf, cap, t), 0);
}

static void test_parse_schemes(void **state)
{
    (void)state;
    struct hfs_token t;
    char buf[256];
    parse("Bearer " GOOD, &t, buf, sizeof buf);
    assert_string_equal(t.scheme, "Bearer");
    assert_int_equal(t.len, strlen(GOOD));
    assert_memory_equal(t.tok, GOOD, t.len);
    assert_string_equal(t.mask, "hf_ab\xe2\x80\xa6GH");
    parse("  bearer   " GOOD "  ", &t, buf, sizeof buf);
    assert_string_equal(t.scheme, "Bearer");
    assert_int_equal(t.len, strlen(GOOD));
    /* Basic base64("hf_user:" GOOD) */
    char b64[200];
    snprintf(b64, sizeof b64, "Basic %s", "aGZfdXNlcjpoZl9hYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ekFCQ0RFRkdI");
    parse(b64, &t, buf, sizeof buf);
    assert_string_equal(t.scheme, "Basic");
    assert_int_equal(t.len, strlen(GOOD));
    assert_memory_equal(t.tok, GOOD, t.len);
    parse("token " GOOD, &t, buf, sizeof buf);
    assert_string_equal(t.scheme, "token");
    parse(GOOD, &t, buf, sizeof buf);
    assert_string_equal(t.scheme, "");
    assert_int_equal(t.len, strlen(GOOD));
    parse("Bearer", &t, buf, sizeof buf);
    assert_int_equal(t.len, 0);
    parse("Basic !!notbase64!!", &t, buf, sizeof buf); /* judged as it is */
    assert_int_equal(t.len, strlen("!!notbase64!!"));
    /* the digest is of the token alone */
    unsigned char d[32];
    hfs_sha256(GOOD, strlen(GOOD), d);
    parse("Bearer " GOOD, &t, buf, sizeof buf);
    assert_memory_equal(t.sha, d, 32);
    /* Basic too long for the buffer */
    char tiny[4];
    assert_int_equal(hfs_token_parse(b64, strlen(b64), tiny, sizeof tiny, &t), -1);
}

static enum hfs_tok_class cls(const char *value, const struct hfs_token_policy *p, const struct hfs_token_known *k,
                              const char **why)
{
    struct hfs_token t;
    char buf[256];
    parse(value, &t, buf, sizeof buf);
    return hfs_token_classify(p, &t, k, why);
}

static void test_malformed_forms(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Bearer ",
        "Bearer None",
        "Bearer null",
        "Bearer undefined",
        "Bearer $HF_TOKEN",
        "Bearer ${HF_TOKEN}",
        "Bearer x${HF_TOKEN}",
        "Bearer %HF_TOKEN%",
        "Bearer \"" GOOD "\"",
        "Bearer hf_abc def",
        "Bearer hf_abc\tdef",
        "Bearer hf_short",
        "Bearer sk-"
        "abcdefghijklmnopqrstuvwxyz0123456789",
        "Bearer hf_"
        "abcdefghijklmnopqrstuvwxyz01234567-9",
        "Bearer [object Object]",
    };
    const char *why;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        enum hfs_tok_class c = cls(bad[i], NULL, NULL, &why);
        if (c != HFS_TOK_MALFORMED)
            print_message("not malformed: %s\n", bad[i]);
        assert_int_equal(c, HFS_TOK_MALFORMED);
        assert_non_null(why);
    }
    assert_int_equal(cls("Bearer " GOOD, NULL, NULL, &why), HFS_TOK_OK);
    assert_null(why);
    /* a newline inside (a value read from a file, sent through libcurl's list) */
    struct hfs_token t;
    char buf[64];
    const char v[] = "Bearer hf_abcdefghijklmnopqrstuvwxyzABCD\nEFGH";
    assert_int_equal(hfs_token_parse(v, sizeof v - 1, buf, sizeof buf, &t), 0);
    assert_int_equal(hfs_token_classify(NULL, &t, NULL, &why), HFS_TOK_MALFORMED);
    assert_string_equal(hfs_tok_class_name(HFS_TOK_MALFORMED), "malformed");
}

static struct hfs_rules *rules_from(const char *json, struct hfs_diag *d)
{
    memset(d, 0, sizeof *d);
    return hfs_rules_load_buffer("t.json", json, strlen(json), d);
}

static enum hfs_tok_known fake_lookup(void *ctx, const unsigned char sha[32])
{
    const unsigned char *want = ctx;
    return memcmp(sha, want, 32) == 0 ? HFS_KNOWN_LEARNED : HFS_KNOWN_NOTHING;
}

static void test_policy_format_deny_known(void **state)
{
    (void)state;
    struct hfs_diag d;
    unsigned char sha[32];
    char hex[65], json[600];
    hfs_sha256(STALE, strlen(STALE), sha);
    hfs_sha256_hex(sha, hex);
    snprintf(json, sizeof json,
             "{\"version\":1,\"tokens\":{\"format\":\"^(hf|api_org)_[A-Za-z0-9]{10,}$\","
             "\"deny\":[\"%.12s\", \"sha256:%.10s\"]}}",
             hex, "0123456789");
    struct hfs_rules *r = rules_from(json, &d);
    assert_non_null(r);
    assert_true(r->tokens.present);
    assert_int_equal(r->tokens.ndeny, 2);
    assert_int_equal(r->tokens.learn, 1);
    assert_int_equal(r->tokens.retry, 1);
    assert_int_equal(r->tokens.validate_ttl, 86400);
    const char *why;
    assert_int_equal(cls("Bearer api_org_abcdefghijk", &r->tokens, NULL, &why), HFS_TOK_OK);
    assert_int_equal(cls("Bearer hf_abc", &r->tokens, NULL, &why), HFS_TOK_MALFORMED);
    assert_int_equal(cls("Bearer " STALE, &r->tokens, NULL, &why), HFS_TOK_DENIED);
    assert_int_equal(cls("Bearer " GOOD, &r->tokens, NULL, &why), HFS_TOK_OK);
    /* learned, through the layer's lookup */
    unsigned char gsha[32];
    hfs_sha256(GOOD, strlen(GOOD), gsha);
    struct hfs_token_known k = { fake_lookup, gsha };
    assert_int_equal(cls("Bearer " GOOD, &r->tokens, &k, &why), HFS_TOK_LEARNED);
    /* malformed is checked before deny and learned */
    assert_int_equal(cls("Bearer None", &r->tokens, &k, &why), HFS_TOK_MALFORMED);
    hfs_rules_free(r);
}

static void test_response_invalid(void **state)
{
    (void)state;
    struct hfs_header h[2] = { { "Content-Type", 12, "application/json", 16 },
                               { "x-error-message", 15, " invalid credentials in authorization header ", 45 } };
    assert_int_equal(hfs_token_response_invalid(401, h, 2), 1);
    assert_int_equal(hfs_token_response_invalid(403, h, 2), 0);
    assert_int_equal(hfs_token_response_invalid(401, h, 1), 0);
    struct hfs_header o[1] = { { "X-Error-Message", 15, "Invalid username or password.", 29 } };
    assert_int_equal(hfs_token_response_invalid(401, o, 1), 0);
}

/* rules errors name file:line:col and what is wrong */
static void test_rules_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json, *err;
    } cases[] = {
        { "{\"version\":1,\"tokens\":{\"deny\":[\"hf_"
          "abcdefghijklmnopqrstuvwxyzABCDEFGH\"]}}",
          "t.json:1:32: tokens.deny[0]: a deny entry is 8 to 64 hex digits of the token's SHA-256 (never the token "
          "itself), got 37 characters" },
        { "{\"version\":1,\"tokens\":{\"state_file\":\"tokens.txt\"}}",
          "t.json:1:37: tokens.state_file: the state file must be absolute, \"$VAR/...\" or \"~/...\" (got "
          "\"tokens.txt\")" },
        { "{\"version\":1,\"tokens\":{\"xet\":\"on\"}}",
          "t.json:1:30: tokens.xet: xet is \"disable\" (the default: HF_HUB_DISABLE_XET=1) or \"keep\"" },
        { "{\"version\":1,\"rules\":[{\"action\":\"strip-auth\",\"when\":[\"stale\"]}]}",
          "t.json:1:54: rules[0].when[0]: unknown reason \"stale\" (known: malformed, denied, learned, invalid, "
          "foreign)" },
        { "{\"version\":1,\"rules\":[{\"action\":\"strip-auth\",\"when\":[]}]}",
          "t.json:1:53: rules[0].when: an empty \"when\" never strips anything (leave it out to strip for every "
          "reason)" },
        { "{\"version\":1,\"rules\":[{\"action\":\"set-auth\"}]}",
          "t.json:1:23: rules[0]: set-auth needs exactly one of \"from_env\" or \"from_file\" (tokens are never "
          "written in the rules file)" },
        { "{\"version\":1,\"rules\":[{\"action\":\"strip-auth\",\"header\":\"X\"}]}",
          "t.json:1:46: rules[0].header: \"header\" does not apply to action strip-auth (it takes: when)" },
        { "{\"version\":1,\"tokens\":{},\"include\":[\"nope.json\"]}",
          "t.json:1:37: include[0]: cannot read nope.json: No such file or directory" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct hfs_diag d;
        struct hfs_rules *r = rules_from(cases[i].json, &d);
        if (r || strcmp(d.first_error, cases[i].err))
            print_message("case %zu: got \"%s\"\n", i, d.first_error);
        assert_null(r);
        assert_string_equal(d.first_error, cases[i].err);
    }
}

static char *write_tmp(const char *dir, const char *name, const char *text)
{
    char *p = malloc(512);
    snprintf(p, 512, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static void test_include(void **state)
{
    (void)state;
    char dir[] = "/tmp/hfs-test-include-XXXXXX";
    assert_non_null(mkdtemp(dir));
    free(write_tmp(dir, "th.json",
                   "{\"version\":1,\"tokens\":{\"retry\":false},\n\"rules\":[{\"name\":\"th\",\"match\":{},\"action\":"
                   "\"strip-auth\"}]}"));
    char *top = write_tmp(dir, "top.json",
                          "{\"version\":1,\"include\":[\"th.json\"],\"rules\":[{\"name\":\"own\",\"match\":{\"host\":"
                          "\"x.example\"},\"action\":\"block\"}]}");
    struct hfs_diag d;
    memset(&d, 0, sizeof d);
    struct hfs_rules *r = hfs_rules_load_file(top, &d);
    assert_non_null(r);
    assert_int_equal(r->nrules, 2);
    assert_string_equal(r->rules[0].name, "th"); /* included rules first */
    assert_int_equal(r->rules[0].action, HFS_ACT_STRIP_AUTH);
    assert_string_equal(r->rules[1].name, "own");
    assert_true(r->tokens.present);
    assert_int_equal(r->tokens.retry, 0);
    assert_true(r->nhub >= 4); /* the named file's Hub hosts (defaults), not doubled */
    size_t nhub = r->nhub;
    hfs_rules_free(r);
    memset(&d, 0, sizeof d);
    char *b = write_tmp(dir, "bad.json", "{\"version\":1,\n  \"offline\": true}");
    free(write_tmp(dir, "top2.json", "{\"version\":1,\"include\":[\"bad.json\"]}"));
    char p2[512];
    snprintf(p2, sizeof p2, "%s/top2.json", dir);
    r = hfs_rules_load_file(p2, &d);
    assert_null(r);
    char want[700];
    snprintf(want, sizeof want,
             "%s:2:3: offline: \"offline\" is not allowed in an included file (only tokens, env, rules, include)", b);
    assert_string_equal(d.first_error, want);
    /* a loop is refused, not followed forever */
    free(write_tmp(dir, "loop.json", "{\"version\":1,\"include\":[\"loop.json\"]}"));
    snprintf(p2, sizeof p2, "%s/loop.json", dir);
    memset(&d, 0, sizeof d);
    r = hfs_rules_load_file(p2, &d);
    assert_null(r);
    assert_non_null(strstr(d.first_error, "includes nest more than 4 deep"));
    /* two tokens sections */
    free(write_tmp(dir, "two.json", "{\"version\":1,\"include\":[\"th.json\"],\"tokens\":{}}"));
    snprintf(p2, sizeof p2, "%s/two.json", dir);
    memset(&d, 0, sizeof d);
    r = hfs_rules_load_file(p2, &d);
    assert_null(r);
    assert_non_null(strstr(d.first_error, "a \"tokens\" section is already set"));
    (void)nhub;
    free(top);
    free(b);
}

static struct hfs_request http_req(const char *host, int port, const char *method, const char *path,
                                   struct hfs_header *h, size_t nh)
{
    struct hfs_request q;
    memset(&q, 0, sizeof q);
    q.layer = HFS_LAYER_TLS;
    q.host = host;
    q.port = port;
    q.method = method;
    q.path = path;
    q.scheme = "https";
    q.http_known = 1;
    q.headers = h;
    q.nheaders = nh;
    return q;
}

static void hdr(struct hfs_header *h, const char *value)
{
    *h = (struct hfs_header){ "Authorization", 13, value, strlen(value) };
}

static void test_decide_auth(void **state)
{
    (void)state;
    struct hfs_diag d;
    struct hfs_rules *r = rules_from("{\"version\":1,\"tokens\":{\"hosts\":[\"router.huggingface.co\"]},\"rules\":["
                                     "{\"name\":\"th\",\"match\":{},\"action\":\"strip-auth\"},"
                                     "{\"name\":\"only-foreign\",\"match\":{\"host\":\"other.example\"},\"action\":"
                                     "\"strip-auth\",\"when\":[\"malformed\"]}]}",
                                     &d);
    assert_non_null(r);
    struct hfs_header h;
    struct hfs_verdict v;
    /* a good token to the Hub: kept, watched, retried and learned on a 401 */
    hdr(&h, "Bearer " GOOD);
    struct hfs_request q = http_req("huggingface.co", 443, "GET", "/api/models/x/y", &h, 1);
    hfs_decide(r, &q, &v);
    assert_int_equal(v.kind, HFS_V_ALLOW);
    assert_int_equal(v.nedits, 0);
    assert_int_equal(v.auth.cls, HFS_TOK_OK);
    assert_true(v.auth.watch && v.auth.retry && v.auth.learn);
    assert_false(v.auth.stripped);
    /* POST: watched and learned, never replayed */
    q.method = "POST";
    hfs_decide(r, &q, &v);
    assert_true(v.auth.watch && v.auth.learn);
    assert_false(v.auth.retry);
    /* malformed: stripped by the first strip-auth rule */
    hdr(&h, "Bearer None");
    q.method = "GET";
    hfs_decide(r, &q, &v);
    assert_int_equal(v.nedits, 1);
    assert_int_equal(v.edits[0]->action, HFS_ACT_STRIP_AUTH);
    assert_true(v.auth.stripped);
    assert_string_equal(v.auth.rule, "th");
    assert_false(v.auth.retry);
    assert_true(v.auth.watch); /* the anonymous answer is still explained */
    /* an HF token to another host: foreign, stripped */
    hdr(&h, "Bearer " GOOD);
    q = http_req("api.example.com", 443, "GET", "/v1/x", &h, 1);
    hfs_decide(r, &q, &v);
    assert_true(v.auth.foreign);
    assert_true(v.auth.stripped);
    assert_false(v.auth.watch);
    /* to a tokens.hosts host: kept */
    q = http_req("router.huggingface.co", 443, "POST", "/v1/chat/completions", &h, 1);
    hfs_decide(r, &q, &v);
    assert_false(v.auth.foreign);
    assert_false(v.auth.stripped);
    assert_true(v.auth.watch);
    /* another service's own token to its own host: not judged, kept */
    hdr(&h, "Bearer ghp_notahuggingfacetoken");
    q = http_req("api.github.com", 443, "GET", "/user", &h, 1);
    hfs_decide(r, &q, &v);
    assert_int_equal(v.nedits, 0);
    assert_false(v.auth.stripped);
    /* no Authorization: nothing to strip, but Hub answers are watched */
    q = http_req("huggingface.co", 443, "GET", "/api/models/x/y", NULL, 0);
    hfs_decide(r, &q, &v);
    assert_int_equal(v.nedits, 0);
    assert_true(v.auth.watch);
    assert_false(v.auth.retry);
    hfs_rules_free(r);
    /* without a tokens section nothing is watched (no cost, no change) */
    r = rules_from("{\"version\":1}", &d);
    hdr(&h, "Bearer " GOOD);
    q = http_req("huggingface.co", 443, "GET", "/api/models/x/y", &h, 1);
    hfs_decide(r, &q, &v);
    assert_false(v.auth.watch);
    hfs_rules_free(r);
}

static void test_set_auth_scoped(void **state)
{
    (void)state;
    struct hfs_diag d;
    struct hfs_rules *r = rules_from("{\"version\":1,\"tokens\":{},\"rules\":[{\"name\":\"router-token\",\"match\":{"
                                     "\"host\":\"router.huggingface.co\","
                                     "\"path\":\"^/v1/\"},\"action\":\"set-auth\",\"from_env\":\"HF_ROUTER_TOKEN\"}]}",
                                     &d);
    assert_non_null(r);
    struct hfs_verdict v;
    struct hfs_request q = http_req("router.huggingface.co", 443, "POST", "/v1/chat/completions", NULL, 0);
    hfs_decide(r, &q, &v);
    assert_int_equal(v.nedits, 1);
    assert_int_equal(v.edits[0]->action, HFS_ACT_SET_AUTH);
    assert_string_equal(v.edits[0]->args.header, "Authorization");
    assert_string_equal(v.edits[0]->args.prefix, "Bearer ");
    q = http_req("router.huggingface.co", 443, "GET", "/other", NULL, 0);
    hfs_decide(r, &q, &v);
    assert_int_equal(v.nedits, 0);
    q = http_req("huggingface.co", 443, "POST", "/v1/chat/completions", NULL, 0);
    hfs_decide(r, &q, &v);
    assert_int_equal(v.nedits, 0);
    hfs_rules_free(r);
}

static void diag(int status, const char *code, const char *msg, int had_token, int router, const char *path,
                 const char *want_phrase)
{
    struct hfs_header h[2];
    size_t n = 0;
    if (code)
        h[n++] = (struct hfs_header){ "X-Error-Code", 12, code, strlen(code) };
    if (msg)
        h[n++] = (struct hfs_header){ "X-Error-Message", 15, msg, strlen(msg) };
    struct hfs_hubdiag_in in = { .url = "https://huggingface.co/x",
                                 .path = path,
                                 .router = router,
                                 .status = status,
                                 .headers = h,
                                 .nheaders = n,
                                 .had_token = had_token,
                                 .mask = had_token ? "hf_ab\xe2\x80\xa6yz" : NULL,
                                 .source = had_token ? "HF_TOKEN" : NULL };
    char out[1400];
    int rc = hfs_hubdiag(&in, out, sizeof out);
    if (!want_phrase) {
        assert_int_equal(rc, 0);
        return;
    }
    if (!rc || !strstr(out, want_phrase))
        print_message("got: %s\n", rc ? out : "(none)");
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, want_phrase));
    if (had_token)
        assert_non_null(strstr(out, "hf_ab\xe2\x80\xa6yz"));
}

static void test_hubdiag_texts(void **state)
{
    (void)state;
    diag(401, "GatedRepo", NULL, 0, 0, "/api/models/meta-llama/Llama-3.2-1B",
         "gated repo meta-llama/Llama-3.2-1B (https://huggingface.co/x): the request had no token; log in");
    diag(403, "GatedRepo", NULL, 1, 0, "/meta-llama/Llama-3.2-1B/resolve/main/config.json",
         "the token hf_ab\xe2\x80\xa6yz (from HF_TOKEN) belongs to an account without access; accept the conditions at "
         "https://huggingface.co/meta-llama/Llama-3.2-1B");
    diag(401, "RepoNotFound", NULL, 0, 0, "/api/models/org/missing", "repo org/missing not found");
    diag(404, "EntryNotFound", NULL, 0, 0, "/org/r/resolve/main/nope.json", "file not found in org/r");
    diag(404, "RevisionNotFound", NULL, 0, 0, "/api/models/org/r/revision/v9", "revision not found in org/r");
    diag(401, NULL, "Invalid credentials in Authorization header", 1, 0, "/api/models/org/r",
         "the Hub rejected the token hf_ab\xe2\x80\xa6yz (from HF_TOKEN)");
    diag(401, NULL, "Invalid username or password.", 1, 1, "/v1/chat/completions", "Inference router answered 401");
    diag(401, NULL, NULL, 0, 1, "/v1/chat/completions", "it needs a token");
    diag(404, NULL, NULL, 0, 0, "/api/models/org/r", NULL); /* a plain 404: nothing to explain */
    diag(200, "GatedRepo", NULL, 0, 0, "/api/models/org/r", NULL);
    diag(404, "EntryNotFound", NULL, 0, 0, "/api/datasets/org/d/tree/main/x", "file not found in datasets/org/d");
    assert_true(hfs_hubdiag_is_router("Router.HuggingFace.co"));
    assert_false(hfs_hubdiag_is_router("huggingface.co"));
    /* cut to the buffer, NUL-terminated */
    struct hfs_header h = { "X-Error-Code", 12, "RepoNotFound", 12 };
    struct hfs_hubdiag_in in = { .url = "u", .path = "/api/models/a/b", .status = 401, .headers = &h, .nheaders = 1 };
    char small[16];
    assert_int_equal(hfs_hubdiag(&in, small, sizeof small), 1);
    assert_int_equal(strlen(small), 15);
}

/* The last token's digest is kept (a client repeats its token): tokens in
 * turn, of one length, differing in one byte, repeated, through Basic,
 * and longer than what is kept, each get their own SHA-256 and mask. */
static void test_parse_repeated_tokens(void **state)
{
    (void)state;
    static const char *const vals[] = { "Bearer hf_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                        "Bearer hf_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
                                        "Bearer hf_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                        "token hf_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
                                        "Basic dXNlcjpoZl9hYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh",
                                        "hf_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
                                        "Bearer hf_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                        NULL };
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    memcpy(big, "Bearer hf_", 10);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; vals[i]; i++) {
            struct hfs_token t;
            char buf[128];
            unsigned char want[32];
            char mask[24];
            assert_int_equal(hfs_token_parse(vals[i], strlen(vals[i]), buf, sizeof buf, &t), 0);
            hfs_sha256(t.tok, t.len, want);
            assert_memory_equal(t.sha, want, 32);
            hfs_mask_token(t.tok, t.len, mask, sizeof mask);
            assert_string_equal(t.mask, mask);
        }
        struct hfs_token t;
        char buf[16];
        unsigned char want[32];
        assert_int_equal(hfs_token_parse(big, strlen(big), buf, sizeof buf, &t), 0);
        hfs_sha256(t.tok, t.len, want);
        assert_memory_equal(t.sha, want, 32);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_repeated_tokens),
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_parse_schemes),
        cmocka_unit_test(test_malformed_forms),
        cmocka_unit_test(test_policy_format_deny_known),
        cmocka_unit_test(test_response_invalid),
        cmocka_unit_test(test_rules_errors),
        cmocka_unit_test(test_include),
        cmocka_unit_test(test_decide_auth),
        cmocka_unit_test(test_set_auth_scoped),
        cmocka_unit_test(test_hubdiag_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
