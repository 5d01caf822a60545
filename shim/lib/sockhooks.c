/* sockhooks: connect/sendto/sendmsg/sendmmsg hooks. A destination the
 * rules block fails at once: stream sockets with ECONNREFUSED, datagram
 * sockets (UDP DNS included) with ENETUNREACH; nothing is sent. Calls
 * without a destination, or to non-IP families, pass straight through. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "decide_apply.h"
#include "dnsmem.h"
#include "real.h"
#include "state.h"

static int is_ip(const struct sockaddr *sa)
{
    return sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6);
}

/* 0 when allowed; else the errno to fail with (after logging). */
static int judge_dest(int fd, const struct sockaddr *sa, socklen_t len)
{
    struct hfs_request r = { .layer = HFS_LAYER_CONNECT };
    char name[256];
    int type = 0, err, saved = errno;
    socklen_t tl = sizeof type;
    if (hfs_addr_from_sockaddr(&r, sa, len))
        return 0;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_DGRAM)
        r.layer = HFS_LAYER_DATAGRAM;
    if (hfs_dnsmem_get(&r.addr, name, sizeof name))
        r.host = name;
    err = r.layer == HFS_LAYER_DATAGRAM ? ENETUNREACH : ECONNREFUSED;
    errno = saved;
    return hfs_judge(&r, err == ENETUNREACH ? "ENETUNREACH" : "ECONNREFUSED") == HFS_V_BLOCK ? err : 0;
}

static int guarded_judge(int fd, const struct sockaddr *sa, socklen_t len)
{
    int err;
    if (!is_ip(sa) || !hfs_ready())
        return 0;
    hfs_busy = 1;
    err = judge_dest(fd, sa, len);
    hfs_busy = 0;
    return err;
}

HFS_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    int err;
    if (!REAL(connect)) {
        errno = ENOSYS;
        return -1;
    }
    if ((err = guarded_judge(fd, addr, len))) {
        errno = err;
        return -1;
    }
    return REAL(connect)(fd, addr, len);
}

HFS_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len)
{
    int err;
    if (!REAL(sendto)) {
        errno = ENOSYS;
        return -1;
    }
    if (addr && (err = guarded_judge(fd, addr, len))) {
        errno = err;
        return -1;
    }
    return REAL(sendto)(fd, buf, n, flags, addr, len);
}

HFS_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    int err;
    if (!REAL(sendmsg)) {
        errno = ENOSYS;
        return -1;
    }
    if (msg && msg->msg_name && (err = guarded_judge(fd, msg->msg_name, msg->msg_namelen))) {
        errno = err;
        return -1;
    }
    return REAL(sendmsg)(fd, msg, flags);
}

/* Sends the messages before the first blocked one; fails only when the
 * first one is blocked (sendmmsg's own partial-success contract). */
HFS_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
    if (!REAL(sendmmsg)) {
        errno = ENOSYS;
        return -1;
    }
    for (unsigned int i = 0; vec && i < vlen; i++) {
        int err;
        if (!vec[i].msg_hdr.msg_name)
            continue;
        if ((err = guarded_judge(fd, vec[i].msg_hdr.msg_name, vec[i].msg_hdr.msg_namelen))) {
            if (i == 0) {
                errno = err;
                return -1;
            }
            vlen = i;
            break;
        }
    }
    return REAL(sendmmsg)(fd, vec, vlen, flags);
}
