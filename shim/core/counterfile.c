/* counterfile: makes the file the fault window counters live in (see header). */
#include "counterfile.h"
#include "sysio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int hfs_counterfile_create(const char *dir, char *out, size_t cap)
{
    struct stat st;
    if (!dir || !*dir || stat(dir, &st) || !S_ISDIR(st.st_mode) || access(dir, W_OK))
        dir = "/tmp";
    for (int tries = 0; tries < 8; tries++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(out, cap, "%s/hfshim-counters-%ld-%lx", dir, (long)getpid(),
                 (unsigned long)(ts.tv_nsec ^ ((unsigned long)tries << 20)));
        int fd = hfs_sys_openat(AT_FDCWD, out, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
            if (errno == EEXIST)
                continue;
            return -1;
        }
        int rc = ftruncate(fd, (off_t)HFS_COUNTER_FILE_SIZE);
        if (rc == 0) {
            uint64_t magic = HFS_COUNTER_MAGIC;
            rc = hfs_sys_pwrite(fd, &magic, sizeof magic, 0) == (long)sizeof magic ? 0 : -1;
        }
        hfs_sys_close(fd);
        if (rc)
            unlink(out);
        return rc;
    }
    return -1;
}

#include "rules.h"

int hfs_rules_have_windows(const struct hfs_rules *r)
{
    for (size_t i = 0; r && i < r->nrules; i++)
        if (r->rules[i].window.present)
            return 1;
    return 0;
}
