/* readfile: opening and reading outside files without ever blocking on
 * them (see header). */
#include "errtext.h"
#include "readfile.h"
#include "sysio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *hfs_file_kind(mode_t mode)
{
    if (S_ISREG(mode))
        return NULL;
    if (S_ISFIFO(mode))
        return "is a FIFO, not a regular file";
    if (S_ISDIR(mode))
        return "is a directory, not a regular file";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "is a device, not a regular file";
    if (S_ISSOCK(mode))
        return "is a socket, not a regular file";
    return "not a regular file";
}

int hfs_file_open(const char *path, int flags, mode_t mode, struct stat *st, const char **why)
{
    int fd = hfs_sys_openat(AT_FDCWD, path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, mode);
    if (fd < 0) {
        int e = errno;
        struct stat ls;
        /* ENXIO: a socket, or a FIFO opened for writing without a reader */
        if (e == ENXIO && stat(path, &ls) == 0 && hfs_file_kind(ls.st_mode)) {
            *why = hfs_file_kind(ls.st_mode);
            e = EINVAL;
        } else {
            *why = hfs_errtext(e);
        }
        errno = e;
        return -1;
    }
    if (fstat(fd, st)) {
        int e = errno;
        *why = hfs_errtext(e);
        hfs_sys_close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        *why = hfs_file_kind(st->st_mode);
        hfs_sys_close(fd);
        errno = EINVAL;
        return -1;
    }
    *why = NULL;
    return fd;
}

char *hfs_file_read(const char *path, int flags, size_t max, size_t *len, const char **why)
{
    struct stat st;
    size_t got = 0;
    int fd = hfs_file_open(path, O_RDONLY | flags, 0, &st, why);
    *len = 0;
    if (fd < 0)
        return NULL;
    if ((unsigned long long)st.st_size > max) {
        hfs_sys_close(fd);
        *why = "too large";
        errno = EFBIG;
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        hfs_sys_close(fd);
        *why = "out of memory";
        errno = ENOMEM;
        return NULL;
    }
    /* st_size bytes at most: a file that grows meanwhile is cut there */
    while (got < size) {
        long n = hfs_sys_read(fd, buf + got, size - got);
        if (n < 0) {
            int e = errno;
            hfs_sys_close(fd);
            free(buf);
            *why = hfs_errtext(e);
            errno = e;
            return NULL;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    hfs_sys_close(fd);
    buf[got] = 0;
    *len = got;
    return buf;
}
