/* fuzz_sockaddr: libFuzzer target for the address reader
 * (hfs_addr_kernel_dest). Input: domain, type and op bits, then the
 * address bytes. Never reads past the length given; a destination always
 * has an IP family and a printable address; a refusal always says why,
 * with EINVAL or EAFNOSUPPORT. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 1)
        return 0;
    static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET };
    int domain = (data[0] & 1) ? AF_INET6 : AF_INET, type = types[(data[0] >> 1) & 3];
    enum hfs_sa_op op = (data[0] & 8) ? HFS_SA_SEND : HFS_SA_CONNECT;
    size_t n = size - 1;
    /* an exact-size copy: ASan sees any read past the length */
    unsigned char *sa = malloc(n ? n : 1);
    if (!sa)
        return 0;
    memcpy(sa, data + 1, n);
    struct hfs_request r;
    memset(&r, 0, sizeof r);
    int err = 0;
    const char *why = NULL;
    enum hfs_sa_kind k =
        hfs_addr_kernel_dest(&r, n ? (struct sockaddr *)sa : NULL, (unsigned)n, domain, type, op, &err, &why);
    if (k == HFS_SA_DEST &&
        ((r.addr.family != AF_INET && r.addr.family != AF_INET6) || !r.ip[0] || r.port < 0 || r.port > 65535))
        abort();
    if (k == HFS_SA_BAD && (!why || (err != EINVAL && err != EAFNOSUPPORT)))
        abort();
    free(sa);
    return 0;
}
