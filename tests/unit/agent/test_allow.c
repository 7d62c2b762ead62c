/* test_allow.c: --allow-targets (allow.c) and the agent's half of the hello
 * (auth.c).
 *
 * Each rule form is checked on both sides of its edge (a network's first and
 * last address and the one after, the port given and the next one, a name in
 * another case), with targets resolved by agent_target_resolve as an
 * assignment resolves them; malformed lists are refused naming the entry. The
 * hello half gets challenges from a controller with the same key, another key
 * and none, and must join only the first (and answer every one). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent.h"

static int allowed(const char *list, const char *url)
{
    struct agent_allow al;
    struct agent_target t;
    char err[400];
    if (agent_allow_parse(&al, list, err, sizeof err))
        fail_msg("%s: %s", list, err);
    if (agent_target_resolve(&t, url, err, sizeof err))
        fail_msg("%s: %s", url, err);
    return agent_allow_check(&al, &t, url, err, sizeof err) == 0;
}

/* list, target, allowed? */
static const struct { const char *list, *url; int ok; } cases[] = {
    /* networks: first and last address in, the neighbours out */
    {"10.0.0.0/8", "ws://10.0.0.0/x", 1},
    {"10.0.0.0/8", "ws://10.255.255.255:9000/x", 1},
    {"10.0.0.0/8", "ws://11.0.0.0/x", 0},
    {"192.168.4.0/22", "ws://192.168.7.255/", 1},
    {"192.168.4.0/22", "ws://192.168.8.0/", 0},
    {"192.168.4.0/22", "ws://192.168.3.255/", 0},
    {"0.0.0.0/0", "wss://203.0.113.9/", 1},
    {"127.0.0.1", "ws://127.0.0.1:1/", 1},
    {"127.0.0.1", "ws://127.0.0.2:1/", 0},
    {"::1", "ws://[::1]:8080/", 1},
    {"::1", "ws://127.0.0.1:8080/", 0},                 /* families do not mix */
    {"[2001:db8::]/32", "ws://[2001:db8:ffff::1]/", 1},
    {"[2001:db8::]/32", "ws://[2001:db9::1]/", 0},
    /* ports */
    {"127.0.0.1:8080", "ws://127.0.0.1:8080/ws", 1},
    {"127.0.0.1:8080", "ws://127.0.0.1:8081/ws", 0},
    {"127.0.0.0/8:443", "wss://127.0.0.9/", 1},         /* wss defaults to 443 */
    {"127.0.0.0/8:443", "ws://127.0.0.9/", 0},          /* ws to 80 */
    {"[::1]:9000", "ws://[::1]:9000/", 1},
    {"[::1]:9000", "ws://[::1]:9001/", 0},
    /* names, without case */
    {"LocalHost:7000", "ws://localhost:7000/", 1},
    {"localhost:7000", "ws://localhost:7001/", 0},
    {"localhost", "ws://localhost:7001/", 1},
    /* a list: any entry will do */
    {"10.0.0.0/8, push.example.com:443,127.0.0.1:5", "ws://127.0.0.1:5/", 1},
    {"10.0.0.0/8,push.example.com:443", "ws://127.0.0.1:5/", 0},
};

static void test_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (allowed(cases[i].list, cases[i].url) != cases[i].ok)
            fail_msg("%s %s: expected %s", cases[i].list, cases[i].url,
                     cases[i].ok ? "allowed" : "refused");
}

static void test_refusal_names_target(void **state)
{
    struct agent_allow al;
    struct agent_target t;
    char err[400];
    (void)state;
    assert_int_equal(agent_allow_parse(&al, "10.0.0.0/8", err, sizeof err), 0);
    assert_int_equal(agent_target_resolve(&t, "ws://127.0.0.1:9/x", err, sizeof err), 0);
    assert_int_equal(agent_allow_check(&al, &t, "ws://127.0.0.1:9/x", err, sizeof err), -1);
    assert_string_equal(err, "target ws://127.0.0.1:9/x (127.0.0.1 port 9) is outside "
                             "--allow-targets 10.0.0.0/8");
    /* no list: anything goes */
    memset(&al, 0, sizeof al);
    assert_int_equal(agent_allow_check(&al, &t, "ws://127.0.0.1:9/x", err, sizeof err), 0);
}

static void test_bad_lists(void **state)
{
    static const char *bad[] = {
        "10.0.0.0/33", "10.0.0.0/x", "[::1", "[::1]x", "::1/129", "10.0.0.1:0",
        "10.0.0.1:65536", "host:port", "10.0.0.300", "host/8", ",,", "",
    };
    struct agent_allow al;
    char err[400];
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (agent_allow_parse(&al, bad[i], err, sizeof err) == 0)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_non_null(strstr(err, "--allow-targets: "));
    }
    agent_allow_parse(&al, "10.0.0.0/8,10.0.0.0/x", err, sizeof err);
    assert_string_equal(err, "--allow-targets: \"10.0.0.0/x\" is not ADDR[/BITS][:PORT], "
                             "[V6][/BITS][:PORT] or HOST[:PORT]");
}

/* A controller's challenge for the agent's current nonce. */
static void challenge(const struct agent *ag, const char *ctl_key, msgpack_sbuffer *sb)
{
    struct ps_challenge ch = {0};
    struct ps_auth_key k = {0};
    if (ctl_key) {
        k.len = strlen(ctl_key);
        memcpy(k.k, ctl_key, k.len);
        ch.keyed = 1;
    }
    ps_auth_nonce(ch.nonce);
    if (ctl_key)
        ps_auth_mac(&k, PS_AUTH_CONTROLLER, ag->hello.auth_nonce, ch.nonce, ch.mac);
    msgpack_sbuffer_clear(sb);
    ps_proto_encode_challenge(sb, &ch);
}

static void test_hello_half(void **state)
{
    struct agent *ag = calloc(1, sizeof *ag);
    msgpack_sbuffer sb;
    (void)state;
    msgpack_sbuffer_init(&sb);
    ag->opts.controller = "tcp://10.0.0.1:7700";
    ag->auth_key.len = 20;
    memcpy(ag->auth_key.k, "0123456789abcdef-key", 20);

    agent_auth_begin(ag);
    assert_true(ps_auth_nonce_ok(ag->hello.auth_nonce));
    challenge(ag, "0123456789abcdef-key", &sb);
    assert_int_equal(agent_auth_challenge(ag, sb.data, sb.size), 0);
    assert_string_equal(ag->ctl_refusal, "");
    assert_int_equal(strlen(ag->hello.auth_mac), 64);
    assert_int_equal(strlen(ag->token), 64);

    agent_auth_begin(ag);
    challenge(ag, "0123456789abcdef-other", &sb);
    assert_int_equal(agent_auth_challenge(ag, sb.data, sb.size), 0);   /* still answered */
    assert_string_equal(ag->ctl_refusal, "the controller at tcp://10.0.0.1:7700 did not prove "
                                         "the shared key (its key file differs): not joining");

    agent_auth_begin(ag);
    challenge(ag, NULL, &sb);
    assert_int_equal(agent_auth_challenge(ag, sb.data, sb.size), 0);
    assert_string_equal(ag->ctl_refusal, "the controller at tcp://10.0.0.1:7700 has no key "
                                         "(--auth-key) but this agent has one: not joining");

    /* without a key: joins a keyless controller, sends no proof */
    ag->auth_key.len = 0;
    agent_auth_begin(ag);
    challenge(ag, NULL, &sb);
    assert_int_equal(agent_auth_challenge(ag, sb.data, sb.size), 0);
    assert_string_equal(ag->ctl_refusal, "");
    assert_string_equal(ag->hello.auth_mac, "");

    /* something else than a challenge */
    assert_int_equal(agent_auth_challenge(ag, "\x93\x03\x06", 3), -1);
    assert_non_null(strstr(ag->ctl_refusal, "bad challenge from the controller: "));
    msgpack_sbuffer_destroy(&sb);
    free(ag);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_refusal_names_target),
        cmocka_unit_test(test_bad_lists),
        cmocka_unit_test(test_hello_half),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
