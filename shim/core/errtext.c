/* errtext: errno values as text without strerror (see header). */
#include "errtext.h"

#include <errno.h>
#include <stddef.h>

static const struct {
    int err;
    const char *name, *text;
} texts[] = {
    { EPERM, "EPERM", "Operation not permitted" },
    { ENOENT, "ENOENT", "No such file or directory" },
    { EINTR, "EINTR", "Interrupted system call" },
    { EIO, "EIO", "Input/output error" },
    { ENXIO, "ENXIO", "No such device or address" },
    { EBADF, "EBADF", "Bad file descriptor" },
    { EAGAIN, "EAGAIN", "Resource temporarily unavailable" },
    { ENOMEM, "ENOMEM", "Cannot allocate memory" },
    { EACCES, "EACCES", "Permission denied" },
    { EFAULT, "EFAULT", "Bad address" },
    { EBUSY, "EBUSY", "Device or resource busy" },
    { EEXIST, "EEXIST", "File exists" },
    { ENODEV, "ENODEV", "No such device" },
    { ENOTDIR, "ENOTDIR", "Not a directory" },
    { EISDIR, "EISDIR", "Is a directory" },
    { EINVAL, "EINVAL", "Invalid argument" },
    { ENFILE, "ENFILE", "Too many open files in system" },
    { EMFILE, "EMFILE", "Too many open files" },
    { EFBIG, "EFBIG", "File too large" },
    { ENOSPC, "ENOSPC", "No space left on device" },
    { ESPIPE, "ESPIPE", "Illegal seek" },
    { EROFS, "EROFS", "Read-only file system" },
    { EPIPE, "EPIPE", "Broken pipe" },
    { ENAMETOOLONG, "ENAMETOOLONG", "File name too long" },
    { ELOOP, "ELOOP", "Too many levels of symbolic links" },
    { EOVERFLOW, "EOVERFLOW", "Value too large for defined data type" },
    { ENOTSOCK, "ENOTSOCK", "Socket operation on non-socket" },
    { EADDRINUSE, "EADDRINUSE", "Address already in use" },
    { EADDRNOTAVAIL, "EADDRNOTAVAIL", "Cannot assign requested address" },
    { ENETDOWN, "ENETDOWN", "Network is down" },
    { ENETUNREACH, "ENETUNREACH", "Network is unreachable" },
    { ECONNABORTED, "ECONNABORTED", "Software caused connection abort" },
    { ECONNRESET, "ECONNRESET", "Connection reset by peer" },
    { ENOBUFS, "ENOBUFS", "No buffer space available" },
    { EISCONN, "EISCONN", "Transport endpoint is already connected" },
    { ENOTCONN, "ENOTCONN", "Transport endpoint is not connected" },
    { ETIMEDOUT, "ETIMEDOUT", "Connection timed out" },
    { ECONNREFUSED, "ECONNREFUSED", "Connection refused" },
    { EHOSTUNREACH, "EHOSTUNREACH", "No route to host" },
    { EALREADY, "EALREADY", "Operation already in progress" },
    { EINPROGRESS, "EINPROGRESS", "Operation now in progress" },
    { EDQUOT, "EDQUOT", "Disk quota exceeded" },
};

const char *hfs_errname(int err)
{
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i].err == err)
            return texts[i].name;
    return NULL;
}

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
