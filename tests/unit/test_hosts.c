/* test_hosts: unit tests of local-name checks (shim/core/hosts.h): names
 * listed in hosts(5) text (aliases, comments, IPv6, malformed lines, a
 * real file read from disk) and the built-in local names. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hosts.h"

static const char HOSTS[] = "# /etc/hosts\n"
                            "127.0.0.1\tlocalhost\n"
                            "127.0.1.1  build-box.lan build-box   # the machine itself\n"
                            "::1     ip6-localhost ip6-loopback\n"
                            "fe00::0 ip6-localnet\r\n"
                            "  # 10.0.0.9 commented.example\n"
                            "10.0.0.5 MyHost.Corp myhost#inline-comment\n"
                            "10.0.0.6\n"
                            "garbage-line-without-address\n"
                            "\n"
                            "\t\t\n"
                            "192.168.7.7 last.example";

static int lists(const char *name) { return hfs_hosts_lists(HOSTS, strlen(HOSTS), name); }

static void test_names_and_aliases(void **state)
{
    (void)state;
    assert_true(lists("localhost"));
    assert_true(lists("build-box.lan"));
    assert_true(lists("build-box"));
    assert_true(lists("ip6-localhost"));
    assert_true(lists("ip6-loopback"));
    assert_true(lists("ip6-localnet")); /* CRLF line end */
    assert_true(lists("last.example")); /* no final newline */
    assert_true(lists("myhost"));       /* '#' right after the name */
}

static void test_case_and_trailing_dot(void **state)
{
    (void)state;
    assert_true(lists("myhost.corp"));
    assert_true(lists("MYHOST.CORP"));
    assert_true(lists("build-box.lan."));
    assert_false(lists("."));
    assert_false(lists(""));
}

static void test_not_listed(void **state)
{
    (void)state;
    assert_false(lists("commented.example")); /* in a comment */
    assert_false(lists("inline-comment"));    /* after '#' */
    assert_false(lists("the"));               /* comment words */
    assert_false(lists("127.0.0.1"));         /* addresses are not names */
    assert_false(lists("10.0.0.6"));
    assert_false(lists("build"));   /* prefix of a name */
    assert_false(lists("box.lan")); /* suffix of a name */
    assert_false(lists("build-box.lan.x"));
    assert_false(lists("huggingface.co"));
    /* a line with one field is an address without names */
    assert_false(lists("garbage-line-without-address"));
}

static void test_length_is_honoured(void **state)
{
    (void)state;
    const char *t = "127.0.0.1 a.example b.example";
    assert_true(hfs_hosts_lists(t, strlen(t), "b.example"));
    assert_false(hfs_hosts_lists(t, strlen(t) - 1, "b.example"));
    assert_true(hfs_hosts_lists(t, 19, "a.example"));
    assert_false(hfs_hosts_lists(t, 0, "a.example"));
    assert_false(hfs_hosts_lists("", 0, "a"));
    /* a NUL inside the text is just another byte */
    const char n[] = "1.1.1.1 x\0y z";
    assert_true(hfs_hosts_lists(n, sizeof n - 1, "z"));
}

static void test_hosts_file_from_disk(void **state)
{
    (void)state;
    char path[512];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/hfs_test_hosts_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, HOSTS, sizeof HOSTS - 1), (ssize_t)(sizeof HOSTS - 1));
    close(fd);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[4096];
    size_t got = fread(buf, 1, sizeof buf, f);
    fclose(f);
    unlink(path);
    assert_int_equal(got, sizeof HOSTS - 1);
    assert_true(hfs_hosts_lists(buf, got, "build-box"));
    assert_false(hfs_hosts_lists(buf, got, "commented.example"));
}

static void test_builtin_local_names(void **state)
{
    (void)state;
    static const char *const yes[] = { "localhost",      "LOCALHOST", "localhost.",     "a.localhost",
                                       "x.y.LocalHost.", "127.0.0.1", "10.1.2.3",       "::1",
                                       "[::1]",          "fe80::1",   "::ffff:1.2.3.4", NULL };
    static const char *const no[] = {
        "",      ".localhost", "localhost.com", "mylocalhost", "localhost.evil.com", "huggingface.co",
        "1.2.3", "1.2.3.4.5",  "[::1",          NULL
    };
    for (int i = 0; yes[i]; i++) {
        if (!hfs_name_is_builtin_local(yes[i]))
            print_message("expected local: %s\n", yes[i]);
        assert_true(hfs_name_is_builtin_local(yes[i]));
    }
    for (int i = 0; no[i]; i++) {
        if (hfs_name_is_builtin_local(no[i]))
            print_message("expected not local: %s\n", no[i]);
        assert_false(hfs_name_is_builtin_local(no[i]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_aliases),    cmocka_unit_test(test_case_and_trailing_dot),
        cmocka_unit_test(test_not_listed),           cmocka_unit_test(test_length_is_honoured),
        cmocka_unit_test(test_hosts_file_from_disk), cmocka_unit_test(test_builtin_local_names),
    };
    return cmocka_run_group_tests_name("hosts", tests, NULL, NULL);
}
