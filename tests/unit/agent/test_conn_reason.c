/* test_conn_reason.c: the reasons of failed connection attempts (conn_reason.c).
 *
 * The socket's error decides over lws's text: the texts lws 4.1.6 gives for a
 * refused port ("closed before established", "Unable to connect") say nothing
 * of the cause, and were once reported as `other`. Each case is what conn.c
 * collects from a real failure (message as lws words it) and the reason and
 * aux the event must carry. Then the Close codes a server may send. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>

#include "agent.h"

static void test_classify(void **state)
{
    (void)state;
    static const struct {
        struct agent_conn_why why;
        uint8_t reason;
        uint32_t aux;
    } cases[] = {
        /* by the socket's error, whatever lws said */
        {{ECONNREFUSED, 0, "closed before established"}, PS_REASON_REFUSED, ECONNREFUSED},
        {{ECONNREFUSED, 0, "Unable to connect"}, PS_REASON_REFUSED, ECONNREFUSED},
        {{ETIMEDOUT, 0, "closed before established"}, PS_REASON_TIMEOUT, ETIMEDOUT},
        {{EHOSTUNREACH, 0, "Unable to connect"}, PS_REASON_UNREACHABLE, EHOSTUNREACH},
        {{ENETUNREACH, 0, NULL}, PS_REASON_UNREACHABLE, ENETUNREACH},
        /* a reset decides only where the text does not: it may follow a TLS alert */
        {{ECONNRESET, 0, "closed before established"}, PS_REASON_RESET, ECONNRESET},
        {{EPIPE, 0, NULL}, PS_REASON_RESET, EPIPE},
        {{ECONNRESET, 0, "read failed"}, PS_REASON_HANDSHAKE, 0},
        {{ECONNRESET, 0, "connect SSL err 1: error:00000001:lib(0)::reason(1)"},
         PS_REASON_TLS_HANDSHAKE, 0},
        /* lws gave up while the SYN was unanswered */
        {{0, 1, "closed before established"}, PS_REASON_TIMEOUT, 0},
        /* an errno that is no connect error leaves the text to decide */
        {{ENOENT, 0, "closed before established"}, PS_REASON_OTHER, 0},
        {{ENOENT, 0, "read failed"}, PS_REASON_HANDSHAKE, 0},
        /* above TCP: lws's text */
        {{0, 0, "HS: ws upgrade response not 101"}, PS_REASON_HTTP_STATUS, 0},
        {{0, 0, "HS: ws upgrade unauthorized"}, PS_REASON_HTTP_STATUS, 0},
        {{0, 0, "HS: Accept hash wrong"}, PS_REASON_BAD_ACCEPT, 0},
        {{0, 0, "read failed"}, PS_REASON_HANDSHAKE, 0},
        {{0, 0, "problems parsing header"}, PS_REASON_HANDSHAKE, 0},
        {{0, 0, "Peer hung up"}, PS_REASON_HANDSHAKE, 0},
        {{0, 0, "HS: :status missing"}, PS_REASON_HANDSHAKE, 0},
        {{0, 0, "Timed out waiting SSL"}, PS_REASON_TIMEOUT, 0},
        {{0, 0, "connect SSL err 1: error:00000001:lib(0)::reason(1)"}, PS_REASON_TLS_HANDSHAKE, 0},
        {{0, 0, "closed before established"}, PS_REASON_OTHER, 0},
        {{0, 0, NULL}, PS_REASON_OTHER, 0},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t aux = 12345;
        uint8_t r = agent_conn_classify(&cases[i].why, &aux);
        if (r != cases[i].reason || aux != cases[i].aux) {
            print_error("case %zu (errno %d, syn %d, \"%s\"): got %s aux %u, want %s aux %u\n", i,
                        cases[i].why.sock_err, cases[i].why.syn_sent,
                        cases[i].why.msg ? cases[i].why.msg : "(null)", ps_reason_name(r), aux,
                        ps_reason_name(cases[i].reason), cases[i].aux);
            failed = 1;
        }
    }
    assert_int_equal(failed, 0);
}

static void test_close_codes(void **state)
{
    (void)state;
    static const uint32_t ok[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012,
                                  1013, 1014, 3000, 4000, 4999};
    static const uint32_t bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!agent_close_code_valid(ok[i]))
            fail_msg("close code %u refused", ok[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (agent_close_code_valid(bad[i]))
            fail_msg("close code %u accepted", bad[i]);
    /* what the Close event says; lws hands on an invalid code as 1002 */
    assert_int_equal(agent_close_reason(1000), PS_REASON_SERVER_CLOSE);
    assert_int_equal(agent_close_reason(1011), PS_REASON_SERVER_CLOSE);
    assert_int_equal(agent_close_reason(4001), PS_REASON_SERVER_CLOSE);
    assert_int_equal(agent_close_reason(1002), PS_REASON_PROTOCOL);
    assert_int_equal(agent_close_reason(1005), PS_REASON_PROTOCOL);
    assert_int_equal(agent_close_reason(999), PS_REASON_PROTOCOL);
    assert_int_equal(agent_close_reason(5000), PS_REASON_PROTOCOL);
}

/* Loopback always has a route; a name is not an address (0: no verdict). The
 * unreachable cases need a namespace: tests/integration/test_connect_reasons.sh. */
static void test_route_errno(void **state)
{
    (void)state;
    assert_int_equal(agent_conn_route_errno("127.0.0.1", 9), 0);
    assert_int_equal(agent_conn_route_errno("localhost", 9), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_close_codes),
        cmocka_unit_test(test_route_errno),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
