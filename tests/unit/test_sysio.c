/* test_sysio: unit tests of sysio.h, the raw system calls of hfshim's own
 * I/O: each call does what its libc namesake does, -1 with errno on
 * failure, the caller's errno untouched on success, an interrupted call
 * retried. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "sysio.h"

static char dir[64];

static void test_file_round_trip(void **state)
{
    (void)state;
    char path[128], buf[16] = { 0 };
    snprintf(path, sizeof path, "%s/f", dir);
    int fd = hfs_sys_openat(AT_FDCWD, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    errno = 1234;
    assert_int_equal(hfs_sys_write(fd, "hello world", 11), 11);
    assert_int_equal(hfs_sys_pwrite(fd, "W", 1, 6), 1);
    assert_int_equal(errno, 1234); /* success leaves errno alone */
    assert_int_equal(hfs_sys_pread(fd, buf, 5, 6), 5);
    assert_string_equal(buf, "World");
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    memset(buf, 0, sizeof buf);
    assert_int_equal(hfs_sys_read(fd, buf, sizeof buf - 1), 11);
    assert_string_equal(buf, "hello World");
    assert_int_equal(hfs_sys_read(fd, buf, sizeof buf), 0);
    assert_int_equal(hfs_sys_close(fd), 0);
    assert_int_equal(fcntl(fd, F_GETFD), -1); /* really closed */
}

static void test_errors(void **state)
{
    (void)state;
    char path[128], c;
    snprintf(path, sizeof path, "%s/missing/f", dir);
    errno = 0;
    assert_int_equal(hfs_sys_openat(AT_FDCWD, path, O_RDONLY, 0), -1);
    assert_int_equal(errno, ENOENT);
    snprintf(path, sizeof path, "%s/f", dir);
    assert_int_equal(hfs_sys_openat(AT_FDCWD, path, O_RDWR | O_CREAT | O_EXCL, 0600), -1);
    assert_int_equal(errno, EEXIST);
    errno = 0;
    assert_int_equal(hfs_sys_read(-1, &c, 1), -1);
    assert_int_equal(errno, EBADF);
    assert_int_equal(hfs_sys_write(-1, &c, 1), -1);
    assert_int_equal(errno, EBADF);
    assert_int_equal(hfs_sys_pread(-1, &c, 1, 0), -1);
    assert_int_equal(errno, EBADF);
    errno = 0;
    assert_int_equal(hfs_sys_close(-1), 0); /* as hfs_file_close did: nothing to close */
    assert_int_equal(errno, 0);
    assert_int_equal(hfs_sys_close(1000000), -1);
    assert_int_equal(errno, EBADF);
    assert_int_equal(hfs_sys_getpid(), (long)getpid());
}

static void on_alarm(int sig) { (void)sig; }

/* a read interrupted by a signal (no SA_RESTART) goes on reading */
static void test_eintr_retried(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        usleep(300 * 1000);
        if (write(p[1], "x", 1) != 1)
            _exit(1);
        _exit(0);
    }
    close(p[1]);
    struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: read(2) says EINTR */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval t = { .it_value = { 0, 100 * 1000 } };
    setitimer(ITIMER_REAL, &t, NULL);
    char c = 0;
    assert_int_equal(hfs_sys_read(p[0], &c, 1), 1);
    assert_int_equal(c, 'x');
    close(p[0]);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/hfs-sysio-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_round_trip),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_eintr_retried),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
