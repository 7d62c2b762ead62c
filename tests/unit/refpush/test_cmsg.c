/* test_cmsg.c: refpush's reader of strict-mode client messages and its login
 * token check (cmsg.c).
 *
 * What the reader gets wrong decides whether a campaign's sessions pass: a
 * login refused for a member order, a ping whose seq is misread, an ack for
 * the wrong id. So each field is read in any position, next to members
 * refpush does not know (nested ones included), and every malformed message
 * is refused with a message saying what is wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmsg.h"

static int parse(const char *s, struct refpush_cmsg *m, char *err)
{
    return refpush_cmsg_parse(s, strlen(s), m, err, 96);
}

static void test_login(void **state)
{
    struct refpush_cmsg m;
    char err[96];
    (void)state;
    assert_int_equal(parse("{\"type\":\"login\",\"token\":\"abc-7\"}", &m, err), 0);
    assert_int_equal(m.type, REFPUSH_CMSG_LOGIN);
    assert_int_equal(m.token_len, 5);
    assert_memory_equal(m.token, "abc-7", 5);
    /* order, spaces and members refpush does not read do not matter */
    assert_int_equal(parse(" { \"token\" : \"abc-7\", \"user\": {\"name\": \"a}\", \"tags\": [1, [2]]},"
                           " \"v\": 2.5, \"ok\": true, \"n\": null, \"type\": \"login\" } ", &m, err), 0);
    assert_int_equal(m.type, REFPUSH_CMSG_LOGIN);
    assert_memory_equal(m.token, "abc-7", 5);
    assert_int_equal(parse("{\"type\":\"login\"}", &m, err), -1);
    assert_string_equal(err, "login without \"token\"");
    assert_int_equal(parse("{\"type\":\"login\",\"token\":7}", &m, err), -1);   /* not a string */
}

static void test_ping_ack(void **state)
{
    struct refpush_cmsg m;
    char err[96];
    (void)state;
    assert_int_equal(parse("{\"type\":\"ping\",\"seq\":42}", &m, err), 0);
    assert_int_equal(m.type, REFPUSH_CMSG_PING);
    assert_int_equal(m.seq, 42);
    assert_int_equal(parse("{\"seq\":0,\"type\":\"ping\"}", &m, err), 0);
    assert_int_equal(m.seq, 0);
    assert_int_equal(parse("{\"type\":\"ack\",\"id\":9223372036854775807}", &m, err), 0);
    assert_int_equal(m.type, REFPUSH_CMSG_ACK);
    assert_int_equal(m.id, INT64_MAX);
    assert_int_equal(parse("{\"type\":\"ack\",\"id\":9223372036854775808}", &m, err), -1);
    assert_string_equal(err, "\"id\": expected an integer below 2^63 at byte 19");
    assert_int_equal(parse("{\"type\":\"ping\"}", &m, err), -1);
    assert_string_equal(err, "ping without \"seq\"");
    assert_int_equal(parse("{\"type\":\"ack\",\"id\":\"3\"}", &m, err), -1);
    assert_string_equal(err, "ack without \"id\"");
    assert_int_equal(parse("{\"type\":\"ping\",\"seq\":1.5}", &m, err), -1);
    assert_int_equal(parse("{\"type\":\"ping\",\"seq\":01}", &m, err), -1);
    /* another type is no error: the caller counts it */
    assert_int_equal(parse("{\"type\":\"subscribe\",\"topic\":\"x\"}", &m, err), 0);
    assert_int_equal(m.type, REFPUSH_CMSG_OTHER);
    assert_int_equal(parse("{}", &m, err), 0);
    assert_int_equal(m.type, REFPUSH_CMSG_OTHER);
}

static void test_malformed(void **state)
{
    struct refpush_cmsg m;
    char err[96];
    (void)state;
    const char *bad[] = {"", "ping", "[1]", "{", "{\"type\":\"ping\",\"seq\":1", "{\"type\"}",
                         "{\"type\":\"ping\" \"seq\":1}", "{\"a\":\"unterminated}",
                         "{\"a\":[1,2}", "{\"type\":\"ack\",\"id\":1} x", "{type:\"ack\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse(bad[i], &m, err), -1);
    parse("ping", &m, err);
    assert_string_equal(err, "not a JSON object at byte 0");
    parse("{\"type\":\"ack\",\"id\":1} x", &m, err);
    assert_string_equal(err, "text after the object at byte 22");
    parse("{\"type\":\"ping\" \"seq\":1}", &m, err);
    assert_string_equal(err, "expected ',' or '}' at byte 15");
    /* a "type" or "token" string cut short (found by tests/fuzz: the type was
     * compared from memory the string never set) */
    parse("{\"type\":\"log", &m, err);
    assert_string_equal(err, "unterminated string at byte 12");
    assert_int_equal(parse("{\"type\":\"login\",\"token\":\"k-", &m, err), -1);
    assert_string_equal(err, "unterminated string at byte 27");
    /* nesting is bounded */
    char deep[80] = "{\"a\":";
    for (int i = 0; i < 20; i++)
        strcat(deep, "[");
    strcat(deep, "1");
    for (int i = 0; i < 20; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    assert_int_equal(parse(deep, &m, err), -1);
    assert_string_equal(err, "bad value at byte 21");
}

static void test_token(void **state)
{
    (void)state;
    assert_true(refpush_login_token_ok("s3cret", 17, "s3cret-17", 9));
    assert_false(refpush_login_token_ok("s3cret", 17, "s3cret-18", 9));
    assert_false(refpush_login_token_ok("s3cret", 17, "s3cret-1", 8));    /* prefix */
    assert_false(refpush_login_token_ok("s3cret", 17, "s3cret-170", 10));
    assert_false(refpush_login_token_ok("s3cret", 17, "S3cret-17", 9));
    assert_false(refpush_login_token_ok("s3cret", 17, "", 0));
    assert_true(refpush_login_token_ok("k", 9223372036854775807ull, "k-9223372036854775807", 21));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login),
        cmocka_unit_test(test_ping_ack),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
