/* test_auth.c: the shared-key handshake (common/ps_auth, controller/run/run_auth).
 *
 * The agent's half is played here with ps_auth's functions, the controller's
 * is run_auth_hello itself, so each case walks the real exchange: HELLO,
 * CHALLENGE, HELLO with the proof, then register or refuse. The MAC is checked
 * against a value computed by the openssl command line, so a change to the
 * labels or the framing of the MAC input cannot pass unnoticed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ps_auth.h"
#include "run_auth.h"

#define KEY_A "0123456789abcdef-the-real-key"
#define KEY_B "0123456789abcdef-another-key"

static void set_key(struct ps_auth_key *k, const char *s)
{
    memset(k, 0, sizeof *k);
    k->len = strlen(s);
    memcpy(k->k, s, k->len);
}

static void ctl_init(struct run_auth *ctl, const char *key)
{
    memset(ctl, 0, sizeof *ctl);
    if (key)
        set_key(&ctl->key, key);
}

/* An agent's hello state: its nonce, and after the challenge, its proof. */
struct agent_side {
    struct ps_auth_key key;
    struct ps_hello h;
    char token[PS_AUTH_HEX];
    int proven;                  /* the controller proved the agent's key */
};

static void agent_first(struct agent_side *a, const char *key)
{
    memset(a, 0, sizeof *a);
    if (key)
        set_key(&a->key, key);
    snprintf(a->h.name, sizeof a->h.name, "unit");
    assert_int_equal(ps_auth_nonce(a->h.auth_nonce), 0);
}

static void agent_answer(struct agent_side *a, const struct ps_challenge *ch)
{
    char want[PS_AUTH_HEX];
    ps_auth_mac(&a->key, PS_AUTH_CONTROLLER, a->h.auth_nonce, ch->nonce, want);
    a->proven = ch->keyed && ps_auth_equal(want, ch->mac);
    snprintf(a->h.auth_challenge, sizeof a->h.auth_challenge, "%s", ch->nonce);
    if (a->key.len)
        ps_auth_mac(&a->key, PS_AUTH_AGENT, a->h.auth_nonce, ch->nonce, a->h.auth_mac);
    ps_auth_mac(&a->key, PS_AUTH_SESSION, a->h.auth_nonce, ch->nonce, a->token);
}

/* The whole exchange on pipe 7 (the answer on answer_pipe); returns the verdict
 * on the second hello, with reason and the controller's token. */
static enum run_auth_verdict exchange(struct run_auth *ctl, struct agent_side *a,
                                      const char *agent_key, uint32_t answer_pipe, char *reason,
                                      char *token)
{
    struct ps_challenge ch;
    agent_first(a, agent_key);
    reason[0] = 0;
    assert_int_equal(run_auth_hello(ctl, 7, &a->h, &ch, reason, PS_REASON_MAX, token),
                     RUN_AUTH_CHALLENGE);
    assert_true(ps_auth_nonce_ok(ch.nonce));
    agent_answer(a, &ch);
    return run_auth_hello(ctl, answer_pipe, &a->h, &ch, reason, PS_REASON_MAX, token);
}

static void test_mac_known_answer(void **state)
{
    struct ps_auth_key k;
    char mac[PS_AUTH_HEX];
    (void)state;
    set_key(&k, "0123456789abcdef");
    /* printf 'pushstorm-3 agent\0aaaa\0bbbb' | openssl dgst -sha256 -hmac 0123456789abcdef */
    ps_auth_mac(&k, PS_AUTH_AGENT, "aaaa", "bbbb", mac);
    assert_string_equal(mac, "6cd4a43b624dff2dc636080f24ab1ee98675371e9323bca2c5129f598aa3cbf9");
    /* no key: HMAC with the empty key (the keyless session token) */
    ps_auth_mac(NULL, PS_AUTH_SESSION, "aaaa", "bbbb", mac);
    assert_string_equal(mac, "3af1006218585fd34bd739a8fa5396959791a156265a035e6697773b19987ecd");
    /* the roles' proofs differ, so one side's proof is no use as the other's */
    char other[PS_AUTH_HEX];
    ps_auth_mac(&k, PS_AUTH_CONTROLLER, "aaaa", "bbbb", other);
    assert_false(ps_auth_equal(mac, other));
    /* moving a byte between the nonces changes the MAC (they are framed) */
    ps_auth_mac(&k, PS_AUTH_AGENT, "aaaab", "bbb", other);
    ps_auth_mac(&k, PS_AUTH_AGENT, "aaaa", "bbbb", mac);
    assert_false(ps_auth_equal(mac, other));
}

static void test_equal_and_nonce(void **state)
{
    char n1[PS_AUTH_HEX], n2[PS_AUTH_HEX];
    (void)state;
    assert_int_equal(ps_auth_nonce(n1), 0);
    assert_int_equal(ps_auth_nonce(n2), 0);
    assert_int_equal(strlen(n1), 2 * PS_AUTH_NONCE_LEN);
    assert_true(ps_auth_nonce_ok(n1));
    assert_false(ps_auth_equal(n1, n2));
    assert_true(ps_auth_equal(n1, n1));
    assert_false(ps_auth_equal("", ""));        /* empty is never a match */
    assert_false(ps_auth_equal("abc", "abcd"));
    assert_false(ps_auth_nonce_ok(""));
    assert_false(ps_auth_nonce_ok("0123456789ABCDEF0123456789abcdef"));
    assert_false(ps_auth_nonce_ok("0123456789abcdef0123456789abcde"));
}

static void test_right_key(void **state)
{
    struct run_auth ctl;
    struct agent_side a;
    char reason[PS_REASON_MAX], token[PS_AUTH_HEX];
    (void)state;
    ctl_init(&ctl, KEY_A);
    assert_int_equal(exchange(&ctl, &a, KEY_A, 7, reason, token), RUN_AUTH_REGISTER);
    assert_string_equal(reason, "");
    assert_true(a.proven);
    assert_true(ps_auth_equal(a.token, token));   /* both hold the same session token */
    /* the second hello cannot be played again (the challenge is used up) */
    struct ps_challenge ch;
    assert_int_equal(run_auth_hello(&ctl, 7, &a.h, &ch, reason, sizeof reason, token),
                     RUN_AUTH_REFUSE);
    assert_string_equal(reason, "authentication failed: the challenge is unknown, used or expired");
    assert_int_equal(ctl.refused, 1);
}

static void test_wrong_and_missing_key(void **state)
{
    struct run_auth ctl;
    struct agent_side a;
    char reason[PS_REASON_MAX], token[PS_AUTH_HEX];
    (void)state;
    ctl_init(&ctl, KEY_A);
    assert_int_equal(exchange(&ctl, &a, KEY_B, 7, reason, token), RUN_AUTH_REFUSE);
    assert_string_equal(reason, "authentication failed: wrong key");
    assert_false(a.proven);                        /* and the agent does not trust it either */
    assert_int_equal(exchange(&ctl, &a, NULL, 7, reason, token), RUN_AUTH_REFUSE);
    assert_string_equal(reason, "authentication failed: this controller requires the shared key "
                                "and the agent has none (--auth-key)");
    /* the right proof, but on another pipe than the challenge went out on */
    assert_int_equal(exchange(&ctl, &a, KEY_A, 8, reason, token), RUN_AUTH_REFUSE);
    assert_string_equal(reason, "authentication failed: the challenge is unknown, used or expired");
    assert_int_equal(ctl.refused, 3);
    /* a hello without a nonce is refused at once */
    struct ps_hello h = {0};
    struct ps_challenge ch;
    assert_int_equal(run_auth_hello(&ctl, 7, &h, &ch, reason, sizeof reason, token),
                     RUN_AUTH_REFUSE);
    assert_string_equal(reason, "bad hello: no valid auth nonce");
}

static void test_keyless(void **state)
{
    struct run_auth ctl;
    struct agent_side a;
    char reason[PS_REASON_MAX], token[PS_AUTH_HEX];
    (void)state;
    ctl_init(&ctl, NULL);
    assert_int_equal(exchange(&ctl, &a, NULL, 7, reason, token), RUN_AUTH_REGISTER);
    assert_false(a.proven);                        /* nobody proved anything ... */
    assert_true(ps_auth_equal(a.token, token));   /* ... but the token is still shared */
    /* a keyed agent is told the controller has no key, never joined silently */
    assert_int_equal(exchange(&ctl, &a, KEY_A, 7, reason, token), RUN_AUTH_REFUSE);
    assert_string_equal(reason, "the agent has a key (--auth-key) but this controller has none");
}

static void test_token_check(void **state)
{
    struct run_auth ctl;
    char good[PS_AUTH_HEX], bad[PS_AUTH_HEX];
    (void)state;
    ctl_init(&ctl, NULL);
    ps_auth_nonce(good);
    ps_auth_nonce(bad);
    assert_int_equal(run_auth_token_ok(&ctl, good, good, "a tick", 1, 7), 1);
    assert_int_equal(run_auth_token_ok(&ctl, good, bad, "a tick", 1, 7), 0);
    assert_int_equal(run_auth_token_ok(&ctl, "", "", "an event batch", 99, 7), 0);
    assert_int_equal(ctl.spoofed, 2);
}

static void test_challenge_flood(void **state)
{
    struct run_auth ctl;
    struct agent_side a, flood;
    char reason[PS_REASON_MAX], token[PS_AUTH_HEX];
    struct ps_challenge ch, mine;
    (void)state;
    ctl_init(&ctl, KEY_A);
    agent_first(&a, KEY_A);
    assert_int_equal(run_auth_hello(&ctl, 7, &a.h, &mine, reason, sizeof reason, token),
                     RUN_AUTH_CHALLENGE);
    /* fewer first hellos than the table holds leave a pending challenge in place */
    for (int i = 0; i < RUN_AUTH_PENDING - 1; i++) {
        agent_first(&flood, NULL);
        assert_int_equal(run_auth_hello(&ctl, 100 + i, &flood.h, &ch, reason, sizeof reason,
                                        token), RUN_AUTH_CHALLENGE);
    }
    agent_answer(&a, &mine);
    assert_int_equal(run_auth_hello(&ctl, 7, &a.h, &ch, reason, sizeof reason, token),
                     RUN_AUTH_REGISTER);
}

static void test_key_file(void **state)
{
    char dir[] = "/tmp/ps-auth-XXXXXX", path[64], err[300];
    struct ps_auth_key k;
    FILE *f;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/key", dir);
    f = fopen(path, "w");
    fputs(KEY_A "\n", f);
    fclose(f);
    chmod(path, 0600);
    assert_int_equal(ps_auth_key_load(&k, path, err, sizeof err), 0);
    assert_int_equal(k.len, strlen(KEY_A));       /* the newline is not part of the key */
    assert_memory_equal(k.k, KEY_A, k.len);
    chmod(path, 0640);
    assert_int_equal(ps_auth_key_load(&k, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "readable or writable by others (mode 0640); chmod 600 it"));
    assert_int_equal(k.len, 0);
    f = fopen(path, "w");
    fputs("short\n", f);
    fclose(f);
    chmod(path, 0600);
    assert_int_equal(ps_auth_key_load(&k, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "5 bytes of key, at least 16 wanted"));
    unlink(path);
    assert_int_equal(ps_auth_key_load(&k, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file or directory"));
    assert_int_equal(ps_auth_key_load(&k, dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mac_known_answer),
        cmocka_unit_test(test_equal_and_nonce),
        cmocka_unit_test(test_right_key),
        cmocka_unit_test(test_wrong_and_missing_key),
        cmocka_unit_test(test_keyless),
        cmocka_unit_test(test_token_check),
        cmocka_unit_test(test_challenge_flood),
        cmocka_unit_test(test_key_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
