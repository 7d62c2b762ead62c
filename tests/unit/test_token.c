/* test_token.c: the streaming push-token matcher.
 *
 * The key property is that feeding a message in any split gives the same
 * tokens as feeding it whole; it is checked for every single split point and
 * for byte-at-a-time feeding, on messages built to contain false starts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ps_proto.h"

#define SEEN_MAX 16

struct seen {
    int n;
    struct ps_token tok[SEEN_MAX];
};

static void on_token(void *ctx, const struct ps_token *t)
{
    struct seen *s = ctx;
    assert_true(s->n < SEEN_MAX);
    s->tok[s->n++] = *t;
}

static int scan_whole(const char *msg, size_t len, struct seen *s)
{
    struct ps_token_state st;

    memset(s, 0, sizeof *s);
    ps_token_reset(&st);
    return ps_token_scan(&st, msg, len, on_token, s);
}

static void assert_tok(const struct ps_token *t, uint32_t run, uint32_t msg, int64_t ts)
{
    assert_int_equal(t->run, run);
    assert_int_equal(t->msg, msg);
    assert_int_equal(t->t_send_us, ts);
}

static void test_format(void **state)
{
    char buf[PS_TOKEN_MAX];

    (void)state;
    assert_int_equal(ps_token_format(buf, sizeof buf, 7, 42, 1700000000123456LL), 26);
    assert_string_equal(buf, "~ps.7.42.1700000000123456~");
    assert_int_equal(ps_token_format(buf, sizeof buf, UINT32_MAX, UINT32_MAX, INT64_MAX),
                     (int)strlen("~ps.4294967295.4294967295.9223372036854775807~"));
    assert_true(strlen(buf) < PS_TOKEN_MAX);
    assert_int_equal(ps_token_format(buf, 5, 1, 2, 3), -1);
    assert_int_equal(ps_token_format(buf, sizeof buf, 1, 2, -3), -1);
    /* exactly fits: 12 chars + NUL */
    assert_int_equal(ps_token_format(buf, 13, 1, 2, 345), 12);
    assert_string_equal(buf, "~ps.1.2.345~");
    assert_int_equal(ps_token_format(buf, 12, 1, 2, 345), -1);
}

static void test_simple_and_embedded(void **state)
{
    struct seen s;
    const char *m = "{\"id\":\"~ps.3.99.1234567~\",\"body\":\"hello ~ world\"}";

    (void)state;
    assert_int_equal(scan_whole(m, strlen(m), &s), 1);
    assert_int_equal(s.n, 1);
    assert_tok(&s.tok[0], 3, 99, 1234567);

    assert_int_equal(scan_whole("no token here", 13, &s), 0);
    assert_int_equal(scan_whole("", 0, &s), 0);
    /* callback may be NULL: only the count is wanted */
    {
        struct ps_token_state st;
        ps_token_reset(&st);
        assert_int_equal(ps_token_scan(&st, "~ps.1.2.3~~ps.4.5.6~", 20, NULL, NULL), 2);
    }
}

struct fs_case { const char *in; int n; uint32_t run, msg; int64_t ts; };

static void test_false_starts(void **state)
{
    static const struct fs_case cases[] = {
        { "~p~ps.1.2.3~", 1, 1, 2, 3 },
        { "~ps.1.x~ps.1.2.3~", 1, 1, 2, 3 },
        { "~~ps.1.2.3~", 1, 1, 2, 3 },
        { "~ps~ps.1.2.3~", 1, 1, 2, 3 },
        { "~ps.~ps.1.2.3~", 1, 1, 2, 3 },
        { "~ps.1.2~ps.1.2.3~", 1, 1, 2, 3 },
        { "~ps.1.2.~ps.1.2.3~", 1, 1, 2, 3 },
        { "~ps.1.2.3.~ps.4.5.6~", 1, 4, 5, 6 },
        { "ps.1.2.3~", 0, 0, 0, 0 },
        { "~ps.1.2.3", 0, 0, 0, 0 },
        { "~ps..2.3~", 0, 0, 0, 0 },
        { "~ps.1..3~", 0, 0, 0, 0 },
        { "~ps.1.2.~", 0, 0, 0, 0 },
        { "~PS.1.2.3~", 0, 0, 0, 0 },
        { "~ps.-1.2.3~", 0, 0, 0, 0 },
        { "~ps.1.2.-3~", 0, 0, 0, 0 },
        { "~ps.1.2.3 ~", 0, 0, 0, 0 },
        { "~ps.0.0.0~", 1, 0, 0, 0 },
        { "~ps.007.1.2~", 1, 7, 1, 2 },
        /* overflow: the token is dropped, the next one still found */
        { "~ps.4294967296.1.2~ps.1.2.3~", 1, 1, 2, 3 },
        { "~ps.1.4294967296.2~", 0, 0, 0, 0 },
        { "~ps.1.2.9223372036854775808~", 0, 0, 0, 0 },
        { "~ps.1.2.99999999999999999999999~ps.9.8.7~", 1, 9, 8, 7 },
        { "~ps.4294967295.4294967295.9223372036854775807~", 1, UINT32_MAX, UINT32_MAX, INT64_MAX },
        /* tokens do not share tildes */
        { "~ps.1.2.3~ps.4.5.6~", 1, 1, 2, 3 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct seen s;
        int n = scan_whole(cases[i].in, strlen(cases[i].in), &s);
        if (n != cases[i].n || s.n != n)
            fail_msg("\"%s\": %d tokens, want %d", cases[i].in, n, cases[i].n);
        if (n)
            assert_tok(&s.tok[0], cases[i].run, cases[i].msg, cases[i].ts);
    }
}

static void test_several_tokens(void **state)
{
    struct seen s;
    const char *m = "a~ps.1.10.100~b~ps.2.20.200~~ps.3.30.300~~";

    (void)state;
    assert_int_equal(scan_whole(m, strlen(m), &s), 3);
    assert_tok(&s.tok[0], 1, 10, 100);
    assert_tok(&s.tok[1], 2, 20, 200);
    assert_tok(&s.tok[2], 3, 30, 300);
}

/* Same tokens whatever the split, for every split point of every message. */
static void test_every_split(void **state)
{
    static const char *msgs[] = {
        "~ps.4294967295.123.1700000000123456~",
        "xx~p~ps.12.34.56~yy~ps.1.x~ps.7.8.9~zz",
        "~ps.1.2~ps.3.4.5~~ps.6.7.8~",
        "~ps.99999999999.1.2~ps.5.6.7~",
    };
    size_t m;

    (void)state;
    for (m = 0; m < sizeof msgs / sizeof msgs[0]; m++) {
        const char *msg = msgs[m];
        size_t len = strlen(msg), a, b;
        struct seen whole, part;
        int n = scan_whole(msg, len, &whole);

        assert_true(n > 0);
        /* two pieces */
        for (a = 0; a <= len; a++) {
            struct ps_token_state st;
            memset(&part, 0, sizeof part);
            ps_token_reset(&st);
            n = ps_token_scan(&st, msg, a, on_token, &part);
            n += ps_token_scan(&st, msg + a, len - a, on_token, &part);
            if (n != whole.n || part.n != whole.n ||
                memcmp(part.tok, whole.tok, sizeof whole.tok[0] * (size_t)whole.n))
                fail_msg("\"%s\" split at %zu: %d tokens, want %d", msg, a, n, whole.n);
        }
        /* three pieces */
        for (a = 0; a <= len; a++) {
            for (b = a; b <= len; b++) {
                struct ps_token_state st;
                memset(&part, 0, sizeof part);
                ps_token_reset(&st);
                n = ps_token_scan(&st, msg, a, on_token, &part);
                n += ps_token_scan(&st, msg + a, b - a, on_token, &part);
                n += ps_token_scan(&st, msg + b, len - b, on_token, &part);
                if (n != whole.n || memcmp(part.tok, whole.tok, sizeof whole.tok[0] * (size_t)whole.n))
                    fail_msg("\"%s\" split at %zu,%zu: %d tokens, want %d", msg, a, b, n, whole.n);
            }
        }
        /* one byte at a time */
        {
            struct ps_token_state st;
            memset(&part, 0, sizeof part);
            ps_token_reset(&st);
            for (a = 0, n = 0; a < len; a++) n += ps_token_scan(&st, msg + a, 1, on_token, &part);
            assert_int_equal(n, whole.n);
            assert_memory_equal(part.tok, whole.tok, sizeof whole.tok[0] * (size_t)whole.n);
        }
    }
}

static void test_reset_between_messages(void **state)
{
    struct ps_token_state st;
    struct seen s;

    (void)state;
    memset(&s, 0, sizeof s);
    ps_token_reset(&st);
    assert_int_equal(ps_token_scan(&st, "~ps.1.2", 7, on_token, &s), 0);
    ps_token_reset(&st);
    /* without the reset this tail would complete a bogus token */
    assert_int_equal(ps_token_scan(&st, ".3~", 3, on_token, &s), 0);
    assert_int_equal(s.n, 0);
}

/* A large body with a token in the middle and many stray tildes. */
static void test_big_body(void **state)
{
    static char body[65536];
    struct seen s;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof body; i++) body[i] = (char)('a' + i % 26);
    for (i = 0; i < sizeof body; i += 97) body[i] = '~';
    memcpy(body + 30000, "~ps.5.6.7~", 10);
    assert_int_equal(scan_whole(body, sizeof body, &s), 1);
    assert_tok(&s.tok[0], 5, 6, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_simple_and_embedded),
        cmocka_unit_test(test_false_starts),
        cmocka_unit_test(test_several_tokens),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_reset_between_messages),
        cmocka_unit_test(test_big_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
