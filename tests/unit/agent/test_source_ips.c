/* test_source_ips.c: --source-ips, as the agent reads it (preflight.c).
 *
 * A wrong address list does not fail loudly at run time: the agent binds its
 * sockets to whatever the list says, so a range expanded one short, or a bad
 * item quietly skipped, changes which addresses the load comes from. Each
 * case therefore checks the whole expanded list, and each refusal its message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "agent.h"

struct ips {
    char ip[PS_MAX_IPS][PS_IP_MAX];
    uint32_t n;
    char err[256];
};

static int parse(const char *spec, uint32_t max, struct ips *o)
{
    memset(o, 0, sizeof *o);
    return agent_parse_ips(spec, o->ip, max, &o->n, o->err, sizeof o->err);
}

/* The expanded list joined with spaces, to compare in one assertion. */
static const char *joined(const struct ips *o, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = 0;
    for (uint32_t i = 0; i < o->n && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " " : "", o->ip[i]);
    return buf;
}

static void test_single_and_list(void **state)
{
    struct ips o;
    char buf[1024];
    (void)state;
    assert_int_equal(parse("10.0.0.5", PS_MAX_IPS, &o), 0);
    assert_string_equal(joined(&o, buf, sizeof buf), "10.0.0.5");
    assert_int_equal(parse("10.0.0.5,10.0.1.7, 192.168.3.4,::1,fe80::2", PS_MAX_IPS, &o), 0);
    assert_int_equal(o.n, 5);
    assert_string_equal(joined(&o, buf, sizeof buf), "10.0.0.5 10.0.1.7 192.168.3.4 ::1 fe80::2");
}

static void test_ranges(void **state)
{
    struct ips o;
    char buf[1024];
    (void)state;
    assert_int_equal(parse("10.0.0.10-10.0.0.13", PS_MAX_IPS, &o), 0);
    assert_string_equal(joined(&o, buf, sizeof buf), "10.0.0.10 10.0.0.11 10.0.0.12 10.0.0.13");
    /* across an octet boundary, a one-address range, and ranges mixed with singles */
    assert_int_equal(parse("10.0.0.254-10.0.1.1,10.9.9.9-10.9.9.9,10.0.2.1", PS_MAX_IPS, &o), 0);
    assert_string_equal(joined(&o, buf, sizeof buf),
                        "10.0.0.254 10.0.0.255 10.0.1.0 10.0.1.1 10.9.9.9 10.0.2.1");
    /* the top of the address space ends the range instead of wrapping to 0.0.0.0 */
    assert_int_equal(parse("255.255.255.254-255.255.255.255", PS_MAX_IPS, &o), 0);
    assert_string_equal(joined(&o, buf, sizeof buf), "255.255.255.254 255.255.255.255");
}

static void test_limit(void **state)
{
    struct ips o;
    (void)state;
    /* exactly max addresses fit; one more is refused, from a range or a single */
    assert_int_equal(parse("10.0.0.1-10.0.0.64", PS_MAX_IPS, &o), 0);
    assert_int_equal(o.n, PS_MAX_IPS);
    assert_string_equal(o.ip[63], "10.0.0.64");
    assert_int_equal(parse("10.0.0.1-10.0.0.65", PS_MAX_IPS, &o), -1);
    assert_string_equal(o.err, "--source-ips: more than 64 addresses");
    assert_int_equal(parse("10.0.0.1-10.0.0.3,10.0.0.9", 3, &o), -1);
    assert_string_equal(o.err, "--source-ips: more than 3 addresses");
}

static void test_refused(void **state)
{
    struct ips o;
    char big[1100];
    (void)state;
    assert_int_equal(parse("10.0.0.9-10.0.0.1", PS_MAX_IPS, &o), -1);
    assert_string_equal(o.err, "--source-ips: bad range 10.0.0.9-10.0.0.1 (want A.B.C.D-A.B.C.E)");
    assert_int_equal(parse("10.0.0.1-fe80::1", PS_MAX_IPS, &o), -1);
    assert_string_equal(o.err, "--source-ips: bad range 10.0.0.1-fe80::1 (want A.B.C.D-A.B.C.E)");
    assert_int_equal(parse("10.0.0.1,10.0.0.256", PS_MAX_IPS, &o), -1);
    assert_string_equal(o.err, "--source-ips: 10.0.0.256 is not an IP address");
    assert_int_equal(parse("eth0", PS_MAX_IPS, &o), -1);
    assert_string_equal(o.err, "--source-ips: eth0 is not an IP address");
    assert_int_equal(parse("", PS_MAX_IPS, &o), -1);
    assert_string_equal(o.err, "--source-ips: no address given");
    assert_int_equal(parse(",,", PS_MAX_IPS, &o), -1);
    assert_string_equal(o.err, "--source-ips: no address given");
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(parse(big, PS_MAX_IPS, &o), -1);
    assert_string_equal(o.err, "--source-ips: list too long");
}

/* auto: the machine's own addresses that a connection can leave by. What this
 * machine has is not known here, so the test holds the answer to the rules:
 * every address is IPv4 and not loopback; none at all is an error that
 * says so. */
static void test_auto(void **state)
{
    struct ips o;
    (void)state;
    memset(&o, 0, sizeof o);
    int rc = agent_auto_ips(o.ip, PS_MAX_IPS, &o.n, o.err, sizeof o.err);
    if (rc) {
        assert_int_equal(o.n, 0);
        assert_string_equal(o.err, "no non-loopback IPv4 address is up on this machine");
        return;
    }
    assert_true(o.n >= 1 && o.n <= PS_MAX_IPS);
    for (uint32_t i = 0; i < o.n; i++) {
        struct in_addr a;
        assert_int_equal(inet_pton(AF_INET, o.ip[i], &a), 1);
        assert_true((ntohl(a.s_addr) >> 24) != 127);
    }
    /* a max of 1 keeps to one address */
    struct ips one;
    memset(&one, 0, sizeof one);
    assert_int_equal(agent_auto_ips(one.ip, 1, &one.n, one.err, sizeof one.err), 0);
    assert_int_equal(one.n, 1);
    assert_string_equal(one.ip[0], o.ip[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_and_list),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_auto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
