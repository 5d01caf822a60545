/* test_polcache: unit tests of polcache.h, the compiled policy (a rules
 * file's top level kept for the next processes): what is written is read
 * back the same; any change of a keyed file (the library, the rules file,
 * an include), any damage to the cache file, a mode others could use, a
 * different library or rules path, or a change too fresh to be told
 * apart by its timestamps means "no cache". */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "polcache.h"
#include "rules.h"

static char dir[64];
static char lib[128], rules[128], inc[128], cache[128];

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *env_home(const char *name) { return strcmp(name, "HOME") == 0 ? "/home/u" : NULL; }
static const char *env_xdg(const char *name)
{
    return strcmp(name, "XDG_CACHE_HOME") == 0 ? "/x/cache" : strcmp(name, "HOME") == 0 ? "/home/u" : NULL;
}
static const char *env_none(const char *name)
{
    (void)name;
    return NULL;
}

/* 1 when the cache is read (and frees what it gave) */
static int readable(const char *c, const char *l, const char *r, int shared)
{
    struct hfs_rules *t = hfs_polcache_read(c, l, r, shared);
    hfs_polcache_free(t);
    return t != NULL;
}

static struct hfs_rules *load(void)
{
    struct hfs_diag d = { NULL, NULL, 0, 0, { 0 } };
    struct hfs_rules *r = hfs_rules_load_file(rules, &d);
    assert_non_null(r);
    return r;
}

/* Writes files whose ctime is older than 2 s: waits it out once. */
static void setup_files(void)
{
    snprintf(lib, sizeof lib, "%s/libhfshim.so", dir);
    snprintf(rules, sizeof rules, "%s/rules.json", dir);
    snprintf(inc, sizeof inc, "%s/inc.json", dir);
    snprintf(cache, sizeof cache, "%s/cache/hfshim/policy-x", dir);
    put_file(lib, "not really a library");
    put_file(inc, "{\"version\": 1, \"env\": {\"set\": {\"FROM_INCLUDE\": \"yes\"}}, \"tokens\": {}}\n");
    put_file(rules, "{\"version\": 1, \"offline\": \"variables\", \"include\": [\"inc.json\"], \"children\": false,\n"
                    " \"log\": {\"destination\": \"/tmp/hfs.log\", \"format\": \"json\", \"audit\": \"/tmp/a.log\"},\n"
                    " \"env\": {\"set\": {\"A\": \"1\"}, \"unset\": [\"B\"]},\n"
                    " \"reach\": {\"offline_variables\": \"library\"},\n"
                    " \"rules\": [{\"name\": \"r\", \"match\": {\"host\": \"x.example\"}, \"action\": \"block\"}]}\n");
    sleep(3);
}

static void test_path(void **state)
{
    (void)state;
    char out[256], out2[256];
    assert_int_equal(hfs_polcache_path("/l/libhfshim.so", "/r/rules.json", env_home, out, sizeof out), 0);
    assert_int_equal(strncmp(out, "/home/u/.cache/hfshim/policy-", 29), 0);
    assert_int_equal(strlen(out), 29 + 16);
    assert_int_equal(hfs_polcache_path("/l/libhfshim.so", "/r/rules.json", env_xdg, out2, sizeof out2), 0);
    assert_int_equal(strncmp(out2, "/x/cache/hfshim/policy-", 23), 0);
    assert_string_equal(out + 29, out2 + 23); /* the same name: only the folder differs */
    /* another library or another rules file: another file */
    assert_int_equal(hfs_polcache_path("/m/libhfshim.so", "/r/rules.json", env_home, out2, sizeof out2), 0);
    assert_string_not_equal(out, out2);
    assert_int_equal(hfs_polcache_path("/l/libhfshim.so", "/r/other.json", env_home, out2, sizeof out2), 0);
    assert_string_not_equal(out, out2);
    /* no folder, relative paths, no room */
    assert_int_equal(hfs_polcache_path("/l/libhfshim.so", "/r/rules.json", env_none, out, sizeof out), -1);
    assert_int_equal(hfs_polcache_path("/l/libhfshim.so", "rules.json", env_home, out, sizeof out), -1);
    assert_int_equal(hfs_polcache_path("libhfshim.so", "/r/rules.json", env_home, out, sizeof out), -1);
    assert_int_equal(hfs_polcache_path("/l/libhfshim.so", "/r/rules.json", env_home, out, 20), -1);
}

static void test_roundtrip(void **state)
{
    (void)state;
    struct hfs_rules *r = load();
    unlink(cache);
    assert_int_equal(hfs_polcache_write(cache, lib, rules, r, 0), 0);
    struct stat st;
    assert_int_equal(stat(cache, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    struct hfs_rules *t = hfs_polcache_read(cache, lib, rules, 0);
    assert_non_null(t);
    assert_int_equal(t->offline, r->offline);
    assert_int_equal(t->offline, HFS_OFFLINE_VARIABLES);
    assert_int_equal(t->children, 0);
    assert_int_equal(t->log_format, HFS_LOG_JSON);
    assert_int_equal(t->log_format_set, 1);
    assert_string_equal(t->log_dest, "/tmp/hfs.log");
    assert_string_equal(t->audit_path, "/tmp/a.log");
    assert_int_equal(t->tokens.present, 1);
    assert_int_equal(t->tokens.keep_xet, r->tokens.keep_xet);
    assert_int_equal(t->reach.offline_variables, 0);
    assert_string_equal(t->source, rules);
    assert_int_equal(t->nincludes, 1);
    assert_string_equal(t->includes[0], inc);
    assert_int_equal(t->nenv, r->nenv);
    for (size_t i = 0; i < r->nenv; i++) {
        assert_string_equal(t->env[i].name, r->env[i].name);
        if (r->env[i].value)
            assert_string_equal(t->env[i].value, r->env[i].value);
        else
            assert_null(t->env[i].value);
    }
    /* the top level only: never the rules, never Hub hosts */
    assert_int_equal(t->nrules, 0);
    assert_int_equal(t->nhub, 0);
    hfs_polcache_free(t);
    /* read back for another library or rules path: no */
    assert_false(readable(cache, "/other/libhfshim.so", rules, 0));
    assert_false(readable(cache, lib, inc, 0));
    hfs_rules_free(r);
}

/* A keyed file changed (the library, the rules, an include): no cache. */
/* A value that may be a token (an env.set of HF_TOKEN) is never copied
 * into the compiled policy: nothing is written, the rules are parsed. */
static void test_token_never_copied(void **state)
{
    (void)state;
    struct hfs_rules *r = load();
    unlink(cache);
    for (size_t i = 0; i < r->nenv; i++)
        if (r->env[i].value) {
            free(r->env[i].value);
            r->env[i].value = strdup("hf_abcdefghijklmnopqrstuvwxyz0123456789");
            break;
        }
    assert_int_equal(hfs_polcache_write(cache, lib, rules, r, 0), -1);
    struct stat st;
    assert_int_not_equal(stat(cache, &st), 0);
    hfs_rules_free(r);
}

static void test_key_changes(void **state)
{
    (void)state;
    const char *files[] = { lib, rules, inc };
    for (int i = 0; i < 3; i++) {
        struct hfs_rules *r = load();
        assert_int_equal(hfs_polcache_write(cache, lib, rules, r, 0), 0);
        assert_true(readable(cache, lib, rules, 0));
        char saved[4096];
        FILE *f = fopen(files[i], "r");
        assert_non_null(f);
        size_t n = fread(saved, 1, sizeof saved - 1, f);
        fclose(f);
        saved[n] = 0;
        /* the same content written again: the identity changed all the same */
        put_file(files[i], saved);
        assert_false(readable(cache, lib, rules, 0));
        /* and too fresh to write a new one */
        assert_int_equal(hfs_polcache_write(cache, lib, rules, r, 0), -1);
        hfs_rules_free(r);
        sleep(3); /* old enough again for the next round */
    }
}

static void test_damage(void **state)
{
    (void)state;
    struct hfs_rules *r = load();
    assert_int_equal(hfs_polcache_write(cache, lib, rules, r, 0), 0);
    struct stat st;
    assert_int_equal(stat(cache, &st), 0);
    /* every byte flipped in turn: never accepted */
    FILE *f = fopen(cache, "r+b");
    assert_non_null(f);
    for (long i = 0; i < (long)st.st_size; i++) {
        int c;
        fseek(f, i, SEEK_SET);
        c = fgetc(f);
        fseek(f, i, SEEK_SET);
        fputc(c ^ 0x21, f);
        fflush(f);
        assert_false(readable(cache, lib, rules, 0));
        fseek(f, i, SEEK_SET);
        fputc(c, f);
        fflush(f);
    }
    fclose(f);
    assert_true(readable(cache, lib, rules, 0));
    /* cut short */
    assert_int_equal(truncate(cache, st.st_size - 1), 0);
    assert_false(readable(cache, lib, rules, 0));
    /* a mode others could use */
    assert_int_equal(hfs_polcache_write(cache, lib, rules, r, 0), 0);
    assert_int_equal(chmod(cache, 0644), 0);
    assert_false(readable(cache, lib, rules, 0));
    /* a symlink to a good one */
    assert_int_equal(hfs_polcache_write(cache, lib, rules, r, 0), 0);
    char link[160];
    snprintf(link, sizeof link, "%s.link", cache);
    assert_int_equal(symlink(cache, link), 0);
    assert_false(readable(link, lib, rules, 0));
    assert_true(readable(cache, lib, rules, 0));
    /* shared (a system policy's): root's, 0644 whatever the umask; a 0644
     * file is never taken as a user's own */
    if (geteuid() == 0) {
        mode_t old = umask(077);
        assert_int_equal(hfs_polcache_write(cache, lib, rules, r, 1), 0);
        umask(old);
        assert_int_equal(stat(cache, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
        assert_true(readable(cache, lib, rules, 1));
        assert_false(readable(cache, lib, rules, 0));
        assert_int_equal(chmod(cache, 0664), 0);
        assert_false(readable(cache, lib, rules, 1));
    }
    /* none */
    assert_false(readable("/nonexistent/hfshim/policy", lib, rules, 0));
    hfs_rules_free(r);
}

/* Writing one removes those whose rules file is gone, and only those. */
static void test_prune(void **state)
{
    (void)state;
    char other[160], other_cache[160], stray[160];
    snprintf(other, sizeof other, "%s/other.json", dir);
    snprintf(other_cache, sizeof other_cache, "%s/cache/hfshim/policy-0123456789abcdef", dir);
    snprintf(stray, sizeof stray, "%s/cache/hfshim/policy-notours", dir);
    put_file(other, "{\"version\": 1}\n");
    put_file(stray, "not a policy");
    sleep(3);
    struct hfs_diag d = { NULL, NULL, 0, 0, { 0 } };
    struct hfs_rules *o = hfs_rules_load_file(other, &d);
    assert_non_null(o);
    struct hfs_rules *r = load();
    assert_int_equal(hfs_polcache_write(other_cache, lib, other, o, 0), 0);
    assert_int_equal(hfs_polcache_write(cache, lib, rules, r, 0), 0);
    assert_true(readable(other_cache, lib, other, 0)); /* its rules are there: kept */
    unlink(other);
    assert_int_equal(hfs_polcache_write(cache, lib, rules, r, 0), 0);
    assert_int_equal(access(other_cache, F_OK), -1); /* gone with its rules file */
    assert_true(readable(cache, lib, rules, 0));
    assert_int_equal(access(stray, F_OK), 0); /* not a compiled policy: left alone */
    hfs_rules_free(o);
    hfs_rules_free(r);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/hfs-polcache-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    setup_files();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path),   cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_key_changes),
        cmocka_unit_test(test_damage), cmocka_unit_test(test_prune),     cmocka_unit_test(test_token_never_copied),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
