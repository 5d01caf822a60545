/* fuzz_token: libFuzzer target for the token reader and classifier and the
 * Hub diagnostics (token.h, hubdiag.h). Invariants: the token found lies
 * inside the input or the Basic buffer, its digest is the digest of those
 * bytes, its mask shows at most 7 of its characters, "ok" is only ever said
 * of a token of the default HF shape, a diagnostic line built from a
 * hostile response never carries the token (only its mask), and a state
 * file line that parses formats back to a line that parses the same. */
#include <stdlib.h>
#include <string.h>

#include "hubdiag.h"
#include "sha256.h"
#include "token.h"
#include "tokstate.h"

static int alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *s = (const char *)data;
    char buf[512];
    struct hfs_tokstate_entry se, se2;
    if (hfs_tokstate_parse_line(s, size, &se)) {
        char line[160];
        size_t ln = hfs_tokstate_format(&se, line, sizeof line);
        if (!ln || line[ln - 1] != '\n' || !hfs_tokstate_parse_line(line, ln - 1, &se2) ||
            memcmp(se.sha, se2.sha, 32) || se.what != se2.what || se.when != se2.when)
            abort();
    }
    struct hfs_token t;
    const char *why = NULL;
    if (hfs_token_parse(s, size, buf, sizeof buf, &t))
        return 0;
    int in_input = t.tok >= s && t.tok + t.len <= s + size;
    int in_buf = t.tok >= buf && t.tok + t.len <= buf + sizeof buf;
    if (!in_input && !in_buf && !(t.len == 0))
        abort();
    unsigned char d[32];
    hfs_sha256(t.tok, t.len, d);
    if (memcmp(d, t.sha, 32))
        abort();
    /* the mask: at most 5 + 2 characters of the token and the ellipsis */
    if (strlen(t.mask) > 10)
        abort();
    enum hfs_tok_class c = hfs_token_classify(NULL, &t, NULL, &why);
    if (c == HFS_TOK_OK) {
        if (t.len < 33 || memcmp(t.tok, "hf_", 3))
            abort();
        for (size_t i = 3; i < t.len; i++)
            if (!alnum(t.tok[i]))
                abort();
    } else if (c != HFS_TOK_MALFORMED || !why) {
        abort();
    }
    /* the input as a response's headers: name/value pairs split at NUL */
    struct hfs_header h[4];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < 4; i++)
        if (i == size || s[i] == 0) {
            const char *p = s + start;
            size_t l = i - start;
            const char *colon = memchr(p, ':', l);
            if (colon)
                h[n++] = (struct hfs_header){ p, (size_t)(colon - p), colon + 1, l - (size_t)(colon + 1 - p) };
            start = i + 1;
        }
    char path[256];
    size_t pl = size < sizeof path - 1 ? size : sizeof path - 1;
    memcpy(path, s, pl);
    path[pl] = 0;
    struct hfs_hubdiag_in in = { .url = "https://huggingface.co/x",
                                 .path = path,
                                 .router = size & 1,
                                 .status = 400 + (int)(size % 30),
                                 .headers = h,
                                 .nheaders = n,
                                 .had_token = 1,
                                 .mask = t.mask,
                                 .source = "HF_TOKEN" };
    char out[1400];
    hfs_hubdiag(&in, out, sizeof out);
    if (memchr(out, 0, sizeof out) == NULL)
        abort();
    /* a real token (20+ characters) never appears, only its mask */
    if (t.len >= 20 && memmem(out, strlen(out), t.tok, t.len))
        abort();
    return 0;
}
