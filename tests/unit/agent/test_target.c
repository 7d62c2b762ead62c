/* test_target.c: ws:// URLs as the agent dials them (target.c).
 *
 * The host kept in the target is what goes into Host: and Origin:, so an IPv6
 * literal must keep its brackets there (a server reading "Host: ::1" takes the
 * last group for a port and answers 400), while the numeric address handed
 * to the socket must be bare. Each case checks host, address and port. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "agent.h"

static void test_ipv6_literal(void **state)
{
    struct agent_target t;
    char err[256];
    (void)state;
    assert_int_equal(agent_target_resolve(&t, "ws://[::1]:8080/ws?uid={conn}", err, sizeof err), 0);
    assert_string_equal(t.host, "[::1]");
    assert_string_equal(t.addr, "::1");
    assert_int_equal(t.port, 8080);
    assert_int_equal(t.scheme_tls, 0);
    assert_int_equal(agent_target_resolve(&t, "wss://[::1]/x", err, sizeof err), 0);
    assert_string_equal(t.host, "[::1]");
    assert_int_equal(t.port, 443);
    assert_int_equal(agent_target_resolve(&t, "ws://[0:0:0:0:0:0:0:1]?q=1", err, sizeof err), 0);
    assert_string_equal(t.addr, "::1");
    assert_int_equal(t.port, 80);
}

static void test_ipv4_and_name(void **state)
{
    struct agent_target t;
    char err[256];
    (void)state;
    assert_int_equal(agent_target_resolve(&t, "ws://127.0.0.1:9/ws", err, sizeof err), 0);
    assert_string_equal(t.host, "127.0.0.1");
    assert_string_equal(t.addr, "127.0.0.1");
    assert_int_equal(t.port, 9);
    assert_int_equal(agent_target_resolve(&t, "ws://localhost:9", err, sizeof err), 0);
    assert_string_equal(t.host, "localhost");
}

static void expect_refused(const char *url, const char *what)
{
    struct agent_target t;
    char err[256] = "";
    assert_int_equal(agent_target_resolve(&t, url, err, sizeof err), -1);
    if (!strstr(err, what))
        fail_msg("%s: error \"%s\" does not say \"%s\"", url, err, what);
}

static void test_bad_brackets(void **state)
{
    (void)state;
    expect_refused("ws://[::1:8080/ws", "unterminated [address]");
    expect_refused("ws://[::1]x:80/ws", "junk after [address]");
    expect_refused("ws://[example.com]:80/", "is not an IPv6 address");
    expect_refused("ws://[::1]:99999/", "bad port");
    expect_refused("ws://[::1]:/", "bad port");
    expect_refused("http://[::1]/", "not a ws:// or wss:// URL");
}

static void test_path(void **state)
{
    char path[64];
    (void)state;
    assert_int_equal(agent_target_path("ws://[::1]:80/ws?uid=7", path, sizeof path), 0);
    assert_string_equal(path, "/ws?uid=7");
    assert_int_equal(agent_target_path("ws://[::1]:80?uid=7", path, sizeof path), 0);
    assert_string_equal(path, "/?uid=7");
    assert_int_equal(agent_target_path("ws://[::1]", path, sizeof path), 0);
    assert_string_equal(path, "/");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv6_literal),
        cmocka_unit_test(test_ipv4_and_name),
        cmocka_unit_test(test_bad_brackets),
        cmocka_unit_test(test_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
