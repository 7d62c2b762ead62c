/* test_utf8.c: the incremental UTF-8 checker, whole and split at every byte.
 *
 * Each case is checked fed at once and fed in two pieces split at every
 * position, because lws delivers text messages in rx-buffer-sized pieces and
 * a split character must neither be rejected nor let an invalid one through. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ps_utf8.h"

static int valid_split(const char *s, size_t len, size_t at)
{
    uint8_t st = ps_utf8_step(PS_UTF8_ACCEPT, (const unsigned char *)s, at);
    st = ps_utf8_step(st, (const unsigned char *)s + at, len - at);
    return st == PS_UTF8_ACCEPT;
}

static void check(const char *s, size_t len, int expect)
{
    for (size_t at = 0; at <= len; at++)
        assert_int_equal(valid_split(s, len, at), expect);
}

static void test_valid(void **state)
{
    (void)state;
    static const char *ok[] = {
        "", "plain ascii {\"k\":\"~ps.1.2.3~\"}", "caf\xc3\xa9", "\xe2\x82\xac 10",
        "\xf0\x9f\x98\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xf4\x8f\xbf\xbf",
        "\xe0\xa0\x80", "\xf0\x90\x80\x80",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        check(ok[i], strlen(ok[i]), 1);
}

static void test_invalid(void **state)
{
    (void)state;
    static const char *bad[] = {
        "\x80", "abc\xbf", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80",
        "\xf0\x80\x80\xaf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xc3\x28",
        "\xe2\x82", "\xf0\x9f\x98", "ok\xc3",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check(bad[i], strlen(bad[i]), 0);
}

static void test_reject_is_sticky(void **state)
{
    (void)state;
    uint8_t st = ps_utf8_step(PS_UTF8_ACCEPT, (const unsigned char *)"\xff", 1);
    st = ps_utf8_step(st, (const unsigned char *)"fine", 4);
    assert_int_equal(st, PS_UTF8_REJECT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_reject_is_sticky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
