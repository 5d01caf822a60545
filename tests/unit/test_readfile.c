/* test_readfile: unit tests of readfile.h, the one way hfshim opens files
 * whose path comes from outside: regular files are read whole (bounded),
 * and a FIFO, a directory, a device or a socket is refused at once, before
 * a byte is read, with a reason that says what it is; and of the callers
 * that go through it (rules file, include, body_file, token state file,
 * token files). Each test runs under alarm(): a regression that waits on
 * a FIFO fails instead of hanging. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "errtext.h"
#include "readfile.h"
#include "rules.h"
#include "tokensrc.h"
#include "tokstate.h"

static char dir[64];

static void path_in(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", dir, name); }

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_regular(void **state)
{
    (void)state;
    char p[128];
    size_t len = 99;
    const char *why = "x";
    path_in(p, sizeof p, "plain.txt");
    put_file(p, "hello\n");
    char *b = hfs_file_read(p, 0, 100, &len, &why);
    assert_non_null(b);
    assert_int_equal(len, 6);
    assert_string_equal(b, "hello\n");
    free(b);
    /* an empty file is an empty text, not an error */
    path_in(p, sizeof p, "empty.txt");
    put_file(p, "");
    b = hfs_file_read(p, 0, 100, &len, &why);
    assert_non_null(b);
    assert_int_equal(len, 0);
    free(b);
    /* bounded */
    path_in(p, sizeof p, "plain.txt");
    assert_null(hfs_file_read(p, 0, 5, &len, &why));
    assert_string_equal(why, "too large");
    assert_int_equal(errno, EFBIG);
    /* missing: the open's errno and its text */
    path_in(p, sizeof p, "missing.txt");
    assert_null(hfs_file_read(p, 0, 100, &len, &why));
    assert_int_equal(errno, ENOENT);
    assert_string_equal(why, strerror(ENOENT));
    /* O_NOFOLLOW is passed on */
    char link[128], target[128];
    path_in(target, sizeof target, "plain.txt");
    path_in(link, sizeof link, "link.txt");
    assert_int_equal(symlink(target, link), 0);
    assert_null(hfs_file_read(link, O_NOFOLLOW, 100, &len, &why));
    assert_int_equal(errno, ELOOP);
    b = hfs_file_read(link, 0, 100, &len, &why);
    assert_non_null(b);
    free(b);
    /* an fd from hfs_file_open: pread at an offset, close-on-exec */
    struct stat st;
    int fd = hfs_file_open(target, O_RDONLY, 0, &st, &why);
    assert_true(fd >= 0);
    assert_null(why);
    assert_true(S_ISREG(st.st_mode));
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    char buf[8] = { 0 };
    assert_int_equal(hfs_sys_pread(fd, buf, 3, 2), 3);
    assert_string_equal(buf, "llo");
    hfs_sys_close(fd);
}

static void test_not_regular(void **state)
{
    (void)state;
    char fifo[128], sock[128];
    size_t len;
    const char *why;
    struct stat st;
    path_in(fifo, sizeof fifo, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    /* no writer: opened and refused at once, for reading and for writing */
    assert_null(hfs_file_read(fifo, 0, 100, &len, &why));
    assert_string_equal(why, "is a FIFO, not a regular file");
    assert_int_equal(errno, EINVAL);
    assert_int_equal(hfs_file_open(fifo, O_WRONLY | O_APPEND | O_CREAT, 0600, &st, &why), -1);
    assert_string_equal(why, "is a FIFO, not a regular file");
    assert_int_equal(errno, EINVAL);
    /* a writer that never writes: still refused at once */
    int w = open(fifo, O_RDWR);
    assert_true(w >= 0);
    assert_null(hfs_file_read(fifo, 0, 100, &len, &why));
    assert_string_equal(why, "is a FIFO, not a regular file");
    assert_int_equal(hfs_file_open(fifo, O_WRONLY | O_APPEND, 0, &st, &why), -1);
    assert_string_equal(why, "is a FIFO, not a regular file");
    close(w);

    assert_null(hfs_file_read(dir, 0, 100, &len, &why));
    assert_string_equal(why, "is a directory, not a regular file");
    assert_null(hfs_file_read("/dev/null", 0, 100, &len, &why));
    assert_string_equal(why, "is a device, not a regular file");

    path_in(sock, sizeof sock, "sock");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    assert_true(strlen(sock) < sizeof a.sun_path);
    memcpy(a.sun_path, sock, strlen(sock) + 1);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_null(hfs_file_read(sock, 0, 100, &len, &why));
    assert_string_equal(why, "is a socket, not a regular file");
    assert_int_equal(errno, EINVAL);
    close(s);

    assert_null(hfs_file_kind(S_IFREG | 0644));
}

/* The callers: every one says what the file is, and none waits. */
static void test_callers(void **state)
{
    (void)state;
    char fifo[128], rules[128], text[512], want[512];
    struct hfs_diag d;
    path_in(fifo, sizeof fifo, "fifo");

    memset(&d, 0, sizeof d);
    assert_null(hfs_rules_load_file(fifo, &d));
    snprintf(want, sizeof want, "%s: is a FIFO, not a regular file", fifo);
    assert_string_equal(d.first_error, want);

    path_in(rules, sizeof rules, "inc.json");
    put_file(rules, "{\"version\":1,\"include\":[\"fifo\"]}");
    memset(&d, 0, sizeof d);
    assert_null(hfs_rules_load_file(rules, &d));
    snprintf(want, sizeof want, "cannot read %s: is a FIFO, not a regular file", fifo);
    assert_non_null(strstr(d.first_error, want));
    snprintf(want, sizeof want, "%s:1:25: include[0]", rules);
    assert_non_null(strstr(d.first_error, want));

    path_in(rules, sizeof rules, "body.json");
    snprintf(text, sizeof text, "{\"version\":1,\"rules\":[{\"action\":\"respond\",\"body_file\":\"fifo\"}]}");
    put_file(rules, text);
    memset(&d, 0, sizeof d);
    assert_null(hfs_rules_load_file(rules, &d));
    snprintf(want, sizeof want, "%s:1:55: rules[0].body_file: cannot read %s: is a FIFO, not a regular file", rules,
             fifo);
    assert_string_equal(d.first_error, want);

    /* the token state file: read and append refuse it */
    long long off = 0;
    const char *why = NULL;
    struct hfs_tokstate_entry e = { .what = HFS_KNOWN_LEARNED, .when = 1 };
    assert_int_equal(hfs_tokstate_read(fifo, &off, NULL, NULL, &why), -1);
    assert_string_equal(why, "is a FIFO, not a regular file");
    why = NULL;
    assert_int_equal(hfs_tokstate_append(fifo, &e, &why), -1);
    assert_string_equal(why, "is a FIFO, not a regular file");
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_readfile: a FIFO was waited on (alarm)\n";
    if (write(2, msg, sizeof msg - 1) < 0)
        _exit(3);
    _exit(2);
}

/* errno texts come from hfshim's own table, never strerror (which goes
 * through gettext and the locale lock inside the host) */
static void test_errtext(void **state)
{
    (void)state;
    assert_string_equal(hfs_errtext(ENOENT), "No such file or directory");
    assert_string_equal(hfs_errtext(ECONNREFUSED), "Connection refused");
    assert_string_equal(hfs_errtext(0), "error 0");
    assert_string_equal(hfs_errtext(4095), "error 4095");
    assert_string_equal(hfs_errtext(-7), "error -7");
    assert_string_equal(hfs_errtext(-2147483647 - 1), "error -2147483648");
    const char *why;
    size_t len;
    assert_null(hfs_file_read("/nonexistent/hfshim-test", 0, 100, &len, &why));
    assert_string_equal(why, "No such file or directory");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/hfs-readfile-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    signal(SIGALRM, on_alarm);
    alarm(20);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regular),
        cmocka_unit_test(test_errtext),
        cmocka_unit_test(test_not_regular),
        cmocka_unit_test(test_callers),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
