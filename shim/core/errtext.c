/* errtext: errno values as text without strerror (see header). */
#include "errtext.h"

#include <errno.h>
#include <stddef.h>

static const struct {
    int err;
    const char *text;
} texts[] = {
    { EPERM, "Operation not permitted" },
    { ENOENT, "No such file or directory" },
    { EINTR, "Interrupted system call" },
    { EIO, "Input/output error" },
    { ENXIO, "No such device or address" },
    { EBADF, "Bad file descriptor" },
    { EAGAIN, "Resource temporarily unavailable" },
    { ENOMEM, "Cannot allocate memory" },
    { EACCES, "Permission denied" },
    { EFAULT, "Bad address" },
    { EBUSY, "Device or resource busy" },
    { EEXIST, "File exists" },
    { ENODEV, "No such device" },
    { ENOTDIR, "Not a directory" },
    { EISDIR, "Is a directory" },
    { EINVAL, "Invalid argument" },
    { ENFILE, "Too many open files in system" },
    { EMFILE, "Too many open files" },
    { EFBIG, "File too large" },
    { ENOSPC, "No space left on device" },
    { ESPIPE, "Illegal seek" },
    { EROFS, "Read-only file system" },
    { EPIPE, "Broken pipe" },
    { ENAMETOOLONG, "File name too long" },
    { ELOOP, "Too many levels of symbolic links" },
    { EOVERFLOW, "Value too large for defined data type" },
    { ENOTSOCK, "Socket operation on non-socket" },
    { EADDRINUSE, "Address already in use" },
    { EADDRNOTAVAIL, "Cannot assign requested address" },
    { ENETDOWN, "Network is down" },
    { ENETUNREACH, "Network is unreachable" },
    { ECONNABORTED, "Software caused connection abort" },
    { ECONNRESET, "Connection reset by peer" },
    { ENOBUFS, "No buffer space available" },
    { EISCONN, "Transport endpoint is already connected" },
    { ENOTCONN, "Transport endpoint is not connected" },
    { ETIMEDOUT, "Connection timed out" },
    { ECONNREFUSED, "Connection refused" },
    { EHOSTUNREACH, "No route to host" },
    { EALREADY, "Operation already in progress" },
    { EINPROGRESS, "Operation now in progress" },
    { EDQUOT, "Disk quota exceeded" },
};

const char *hfs_errtext(int err)
{
    static _Thread_local char other[24];
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i].err == err)
            return texts[i].text;
    /* "error N", written by hand (snprintf may lock or allocate) */
    char digits[12];
    int n = 0;
    unsigned u = err < 0 ? (unsigned)-(long)err : (unsigned)err;
    do
        digits[n++] = (char)('0' + u % 10);
    while ((u /= 10) && n < (int)sizeof digits);
    size_t k = 0;
    for (const char *p = "error "; *p; p++)
        other[k++] = *p;
    if (err < 0)
        other[k++] = '-';
    while (n)
        other[k++] = digits[--n];
    other[k] = 0;
    return other;
}
