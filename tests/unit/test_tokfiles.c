/* test_tokfiles: unit tests of the files token hygiene reads and writes:
 * the token state file (tokstate.h: lines, path expansion, concurrent
 * appends from many processes, modes, unsafe files refused) and the token
 * sources (tokensrc.h: environment, token file, stored tokens, netrc, git
 * credentials, which one huggingface_hub uses, labels by digest). */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sha256.h"
#include "tokensrc.h"
#include "tokstate.h"

static char tmpdir[64];

static const char *vars[16][2];
static const char *fake_env(const char *name)
{
    for (int i = 0; i < 16 && vars[i][0]; i++)
        if (!strcmp(vars[i][0], name))
            return vars[i][1];
    return NULL;
}

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_lines(void **state)
{
    (void)state;
    struct hfs_tokstate_entry e = { .what = HFS_KNOWN_INVALID, .when = 1700000000 }, g;
    hfs_sha256("hf_x", 4, e.sha);
    char line[128];
    size_t n = hfs_tokstate_format(&e, line, sizeof line);
    assert_true(n > 66 && line[n - 1] == '\n');
    assert_int_equal(hfs_tokstate_parse_line(line, n - 1, &g), 1);
    assert_memory_equal(g.sha, e.sha, 32);
    assert_int_equal(g.what, HFS_KNOWN_INVALID);
    assert_true(g.when == 1700000000);
    static const char *const bad[] = {
        "",
        "# hfshim token state v1",
        "zz"
        "00000000000000000000000000000000000000000000000000000000000000 learned 1",
        "0000000000000000000000000000000000000000000000000000000000000000 learnt 1",
        "0000000000000000000000000000000000000000000000000000000000000000 learned",
        "0000000000000000000000000000000000000000000000000000000000000000 learned 12x",
        "0000000000000000000000000000000000000000000000000000000000000000  learned 1",
        "000000000000000000000000000000000000000000000000000000000000000 learned 1",
        "0000000000000000000000000000000000000000000000000000000000000000 valid 1234567890123456789012",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(hfs_tokstate_parse_line(bad[i], strlen(bad[i]), &g), 0);
    const char *ok = "ABCDEF0000000000000000000000000000000000000000000000000000000000 valid 5";
    assert_int_equal(hfs_tokstate_parse_line(ok, strlen(ok), &g), 1);
    assert_int_equal(g.what, HFS_KNOWN_VALID);
    assert_int_equal(g.sha[0], 0xab);
}

static void test_paths(void **state)
{
    (void)state;
    char out[256];
    memset(vars, 0, sizeof vars);
    vars[0][0] = "HOME", vars[0][1] = "/home/u";
    vars[1][0] = "XDG_STATE_HOME", vars[1][1] = "/st";
    assert_int_equal(hfs_tokstate_path("~/.cache/hfshim/tokens", fake_env, out, sizeof out), 0);
    assert_string_equal(out, "/home/u/.cache/hfshim/tokens");
    assert_int_equal(hfs_tokstate_path("$XDG_STATE_HOME/t", fake_env, out, sizeof out), 0);
    assert_string_equal(out, "/st/t");
    assert_int_equal(hfs_tokstate_path("${XDG_STATE_HOME}x/t", fake_env, out, sizeof out), 0);
    assert_string_equal(out, "/stx/t");
    assert_int_equal(hfs_tokstate_path("$UNSET/t", fake_env, out, sizeof out), -1);
    assert_int_equal(hfs_tokstate_path("${XDG_STATE_HOME/t", fake_env, out, sizeof out), -1);
    assert_int_equal(hfs_tokstate_path("relative/t", fake_env, out, sizeof out), -1);
    assert_int_equal(hfs_tokstate_path("~/x", fake_env, out, 8), -1);
}

static int count;
static void counter(void *ctx, const struct hfs_tokstate_entry *e)
{
    (void)ctx;
    (void)e;
    count++;
}

static void test_append_concurrent_and_modes(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/state/sub/tokens", tmpdir);
    const char *why;
    enum { KIDS = 8, EACH = 200 };
    for (int k = 0; k < KIDS; k++) {
        pid_t p = fork();
        if (p == 0) {
            for (int i = 0; i < EACH; i++) {
                struct hfs_tokstate_entry e = { .what = HFS_KNOWN_LEARNED, .when = i };
                char t[32];
                snprintf(t, sizeof t, "%d-%d", k, i);
                hfs_sha256(t, strlen(t), e.sha);
                if (hfs_tokstate_append(path, &e, &why))
                    _exit(1);
            }
            _exit(0);
        }
    }
    for (int k = 0; k < KIDS; k++) {
        int st;
        wait(&st);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/state/sub", tmpdir);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    long long off = 0;
    count = 0;
    assert_int_equal(hfs_tokstate_read(path, &off, counter, NULL, &why), 0);
    assert_int_equal(count, KIDS * EACH); /* every line whole: none lost or torn */
    /* only what was appended since is read next time */
    struct hfs_tokstate_entry e = { .what = HFS_KNOWN_VALID, .when = 9 };
    hfs_sha256("x", 1, e.sha);
    assert_int_equal(hfs_tokstate_append(path, &e, &why), 0);
    count = 0;
    assert_int_equal(hfs_tokstate_read(path, &off, counter, NULL, &why), 0);
    assert_int_equal(count, 1);
    /* the first line says what the file is; no token in it, only hex digests */
    FILE *f = fopen(path, "r");
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strstr(line, "never the tokens"));
    fclose(f);
    /* a file others may write is refused, for reading and appending */
    assert_int_equal(chmod(path, 0666), 0);
    off = 0;
    assert_int_equal(hfs_tokstate_read(path, &off, counter, NULL, &why), -1);
    assert_non_null(strstr(why, "writable by group or others"));
    assert_int_equal(hfs_tokstate_append(path, &e, &why), -1);
    /* a symbolic link is refused */
    char link[160];
    snprintf(link, sizeof link, "%s/link", tmpdir);
    assert_int_equal(symlink(path, link), 0);
    off = 0;
    assert_int_equal(hfs_tokstate_read(link, &off, counter, NULL, &why), -1);
    /* a missing file is nothing learned yet */
    snprintf(link, sizeof link, "%s/missing", tmpdir);
    off = 0;
    assert_int_equal(hfs_tokstate_read(link, &off, counter, NULL, &why), 0);
}

static void test_sources(void **state)
{
    (void)state;
    char home[128], hfhome[160], p[256];
    snprintf(home, sizeof home, "%s/home", tmpdir);
    snprintf(hfhome, sizeof hfhome, "%s/.cache/huggingface", home);
    mkdir(home, 0700);
    snprintf(p, sizeof p, "%s/.cache", home);
    mkdir(p, 0700);
    mkdir(hfhome, 0700);
    snprintf(p, sizeof p, "%s/token", hfhome);
    put_file(p, "hf_fromthefile0000000000000000000000\n");
    snprintf(p, sizeof p, "%s/stored_tokens", hfhome);
    put_file(p, "[ci]\nhf_token = hf_storedci00000000000000000000000\n[other]\nnope = 1\n");
    snprintf(p, sizeof p, "%s/.netrc", home);
    put_file(p, "machine example.com login a password b\nmachine huggingface.co\n  login hf_user\n  password "
                "hf_netrc0000000000000000000000000\n");
    snprintf(p, sizeof p, "%s/.git-credentials", home);
    put_file(p, "https://hf_user:hf_git%30000000000000000000000000000@huggingface.co\nhttps://x:y@github.com\n");
    memset(vars, 0, sizeof vars);
    vars[0][0] = "HOME", vars[0][1] = home;
    struct hfs_tokensrc s[16];
    size_t n = hfs_tokensrc_find(fake_env, s, 16);
    assert_int_equal(n, 4);
    assert_int_equal(s[0].kind, HFS_SRC_FILE);
    assert_true(s[0].used); /* no variable: the token file is what huggingface_hub sends */
    assert_string_equal(s[0].value, "hf_fromthefile0000000000000000000000\n"); /* raw: the newline is kept */
    assert_int_equal(s[1].kind, HFS_SRC_STORED);
    assert_non_null(strstr(s[1].label, "stored token \"ci\""));
    assert_int_equal(s[2].kind, HFS_SRC_NETRC);
    assert_string_equal(s[2].value, "hf_netrc0000000000000000000000000");
    assert_int_equal(s[3].kind, HFS_SRC_GIT);
    assert_string_equal(s[3].value, "hf_git0000000000000000000000000000"); /* %30 decoded */
    hfs_tokensrc_free(s, n);
    /* HF_TOKEN wins, HUGGING_FACE_HUB_TOKEN next; an empty one is not used */
    vars[1][0] = "HF_TOKEN", vars[1][1] = "";
    vars[2][0] = "HUGGING_FACE_HUB_TOKEN", vars[2][1] = "hf_legacy00000000000000000000000000";
    n = hfs_tokensrc_find(fake_env, s, 16);
    assert_string_equal(s[0].label, "HF_TOKEN");
    assert_false(s[0].used);
    assert_string_equal(s[1].label, "HUGGING_FACE_HUB_TOKEN");
    assert_true(s[1].used);
    assert_false(s[2].used);
    hfs_tokensrc_free(s, n);
    /* which source holds a token, by digest (surrounding whitespace ignored) */
    unsigned char d[32];
    const char *t = "hf_fromthefile0000000000000000000000";
    hfs_sha256(t, strlen(t), d);
    char label[320];
    assert_non_null(hfs_tokensrc_label_for(fake_env, d, label, sizeof label));
    assert_non_null(strstr(label, "/token"));
    hfs_sha256("hf_nowhere", 10, d);
    assert_null(hfs_tokensrc_label_for(fake_env, d, label, sizeof label));
    /* HF_ENDPOINT's host counts for netrc and git credentials */
    snprintf(p, sizeof p, "%s/.netrc", home);
    put_file(p, "machine mirror.local password hf_mirror0000000000000000000000000");
    vars[3][0] = "HF_ENDPOINT", vars[3][1] = "https://mirror.local:8443";
    n = hfs_tokensrc_find(fake_env, s, 16);
    int seen = 0;
    for (size_t i = 0; i < n; i++)
        seen |= s[i].kind == HFS_SRC_NETRC && !strcmp(s[i].value, "hf_mirror0000000000000000000000000");
    assert_true(seen);
    hfs_tokensrc_free(s, n);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hfs-tokfiles-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_append_concurrent_and_modes),
        cmocka_unit_test(test_sources),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
