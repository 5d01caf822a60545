/* test_sockaddr: unit tests of hfs_addr_kernel_dest (shim/core/request.h):
 * a destination address read the way Linux reads it, never as the struct
 * claims (issue 17: 24-byte sockaddr_in6, AF_UNSPEC datagrams). */
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "request.h"

static enum hfs_sa_kind judge(const void *sa, unsigned len, int domain, int type, enum hfs_sa_op op,
                              struct hfs_request *r, int *err)
{
    const char *why = NULL;
    memset(r, 0, sizeof *r);
    enum hfs_sa_kind k = hfs_addr_kernel_dest(r, sa, len, domain, type, op, err, &why);
    if (k == HFS_SA_BAD)
        assert_non_null(why);
    return k;
}

static struct sockaddr_in6 v6(const char *ip, int port)
{
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons((uint16_t)port);
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

static struct sockaddr_in v4(int family, const char *ip, int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = (sa_family_t)family;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static void test_sin6_24_bytes_is_ipv6(void **state)
{
    (void)state;
    struct hfs_request r;
    int err;
    struct sockaddr_in6 a = v6("fd00::1", 8080);
    assert_int_equal(judge(&a, 24, AF_INET6, SOCK_STREAM, HFS_SA_CONNECT, &r, &err), HFS_SA_DEST);
    assert_string_equal(r.ip, "fd00::1");
    assert_int_equal(r.port, 8080);
    assert_int_equal(judge(&a, 28, AF_INET6, SOCK_STREAM, HFS_SA_CONNECT, &r, &err), HFS_SA_DEST);
    assert_string_equal(r.ip, "fd00::1");
    assert_int_equal(judge(&a, 23, AF_INET6, SOCK_STREAM, HFS_SA_CONNECT, &r, &err), HFS_SA_BAD);
    assert_int_equal(err, EINVAL);
    struct sockaddr_in6 m = v6("::ffff:10.9.9.9", 53);
    assert_int_equal(judge(&m, 24, AF_INET6, SOCK_DGRAM, HFS_SA_SEND, &r, &err), HFS_SA_DEST);
    assert_string_equal(r.ip, "10.9.9.9");
    assert_int_equal(r.addr.family, AF_INET);
}

static void test_unspec_datagram_is_sin_addr(void **state)
{
    (void)state;
    struct hfs_request r;
    int err;
    struct sockaddr_in a = v4(AF_UNSPEC, "10.9.9.9", 5353);
    assert_int_equal(judge(&a, sizeof a, AF_INET, SOCK_DGRAM, HFS_SA_SEND, &r, &err), HFS_SA_DEST);
    assert_string_equal(r.ip, "10.9.9.9");
    assert_int_equal(r.port, 5353);
    assert_int_equal(judge(&a, sizeof a, AF_INET, SOCK_RAW, HFS_SA_SEND, &r, &err), HFS_SA_DEST);
    assert_int_equal(judge(&a, 8, AF_INET, SOCK_DGRAM, HFS_SA_SEND, &r, &err), HFS_SA_BAD);
    /* connect AF_UNSPEC disconnects; an IPv6 UDP socket's means its peer */
    assert_int_equal(judge(&a, sizeof a, AF_INET, SOCK_DGRAM, HFS_SA_CONNECT, &r, &err), HFS_SA_NONE);
    assert_int_equal(judge(&a, sizeof a, AF_INET6, SOCK_DGRAM, HFS_SA_SEND, &r, &err), HFS_SA_NONE);
    /* an IPv6 raw socket takes family 0 as AF_INET6 */
    struct sockaddr_in6 b = v6("fd00::1", 0);
    b.sin6_family = AF_UNSPEC;
    assert_int_equal(judge(&b, 24, AF_INET6, SOCK_RAW, HFS_SA_SEND, &r, &err), HFS_SA_DEST);
    assert_string_equal(r.ip, "fd00::1");
}

static void test_stream_send_ignores_address(void **state)
{
    (void)state;
    struct hfs_request r;
    int err;
    struct sockaddr_in a = v4(AF_UNIX, "10.9.9.9", 80);
    assert_int_equal(judge(&a, sizeof a, AF_INET, SOCK_STREAM, HFS_SA_SEND, &r, &err), HFS_SA_NONE);
    assert_int_equal(judge(NULL, 0, AF_INET, SOCK_DGRAM, HFS_SA_SEND, &r, &err), HFS_SA_NONE);
}

static void test_unknown_is_refused(void **state)
{
    (void)state;
    struct hfs_request r;
    int err;
    struct sockaddr_in a = v4(99, "10.9.9.9", 80);
    assert_int_equal(judge(&a, sizeof a, AF_INET, SOCK_STREAM, HFS_SA_CONNECT, &r, &err), HFS_SA_BAD);
    assert_int_equal(err, EAFNOSUPPORT);
    assert_int_equal(judge(&a, sizeof a, AF_INET, SOCK_DGRAM, HFS_SA_SEND, &r, &err), HFS_SA_BAD);
    assert_int_equal(judge(&a, 1, AF_INET, SOCK_STREAM, HFS_SA_CONNECT, &r, &err), HFS_SA_BAD);
    assert_int_equal(err, EINVAL);
    struct sockaddr_in b = v4(AF_INET, "10.9.9.9", 80);
    assert_int_equal(judge(&b, 15, AF_INET, SOCK_STREAM, HFS_SA_CONNECT, &r, &err), HFS_SA_BAD);
    assert_int_equal(judge(&b, 200, AF_INET, SOCK_STREAM, HFS_SA_CONNECT, &r, &err), HFS_SA_BAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sin6_24_bytes_is_ipv6),
        cmocka_unit_test(test_unspec_datagram_is_sin_addr),
        cmocka_unit_test(test_stream_send_ignores_address),
        cmocka_unit_test(test_unknown_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
