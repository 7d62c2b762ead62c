/* test_query.c: refpush's readers of query arguments and option values
 * (query.c).
 *
 * refpush is the server the harness is checked against, so a value it
 * misreads turns a test into a test of something else: a push to "7x" that
 * went to uid 7, a kick fraction of "1e-1" read as 1. Every parser is strict
 * (digits only), and each refusal quotes the input, cut to 40 bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "query.h"

static void test_uid(void **state)
{
    uint64_t v = 0;
    char err[160];
    (void)state;
    assert_int_equal(refpush_parse_uid("0", &v, err, sizeof err), 0);
    assert_int_equal(v, 0);
    assert_int_equal(refpush_parse_uid("1234567", &v, err, sizeof err), 0);
    assert_int_equal(v, 1234567);
    assert_int_equal(refpush_parse_uid("9223372036854775807", &v, err, sizeof err), 0);
    assert_int_equal(v, INT64_MAX);
    const char *bad[] = {"", "-1", "+1", " 1", "1 ", "7x", "0x10", "1e3", "9223372036854775808",
                         "18446744073709551616"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 42;
        assert_int_equal(refpush_parse_uid(bad[i], &v, err, sizeof err), -1);
        assert_int_equal(v, 42);   /* left alone */
    }
    refpush_parse_uid("7x", &v, err, sizeof err);
    assert_string_equal(err, "uid: expected a non-negative integer below 2^63, got \"7x\"");
    refpush_parse_uid("123456789012345678901234567890123456789012345678901234567890", &v, err,
                      sizeof err);
    assert_string_equal(err, "uid: expected a non-negative integer below 2^63, got "
                             "\"1234567890123456789012345678901234567890\"");
}

static void test_fraction(void **state)
{
    double v;
    char err[160];
    (void)state;
    assert_int_equal(refpush_parse_fraction("0", &v, err, sizeof err), 0);
    assert_true(v == 0.0);
    assert_int_equal(refpush_parse_fraction("0.25", &v, err, sizeof err), 0);
    assert_true(v == 0.25);
    assert_int_equal(refpush_parse_fraction("1", &v, err, sizeof err), 0);
    assert_true(v == 1.0);
    assert_int_equal(refpush_parse_fraction("1.000", &v, err, sizeof err), 0);
    assert_int_equal(refpush_parse_fraction(".5", &v, err, sizeof err), 0);
    assert_true(v == 0.5);
    assert_int_equal(refpush_parse_fraction("5.", &v, err, sizeof err), -1);   /* above 1 */
    const char *bad[] = {"", ".", "1.01", "2", "-0.1", "1e-1", "inf", "nan", " 0.5", "0.5 ",
                         "0x1p-1", "0.1.2", "50%"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(refpush_parse_fraction(bad[i], &v, err, sizeof err), -1);
    refpush_parse_fraction("1e-1", &v, err, sizeof err);
    assert_string_equal(err, "fraction: expected a number from 0 to 1 like 0.25, got \"1e-1\"");
}

static void test_nth_list(void **state)
{
    uint64_t *v;
    size_t n;
    char err[256];
    (void)state;
    assert_int_equal(refpush_parse_nth_list("", &v, &n, err, sizeof err), 0);
    assert_null(v);
    assert_int_equal(n, 0);
    /* sorted and de-duplicated: drop.c takes them in order, one comparison each */
    assert_int_equal(refpush_parse_nth_list("40,3,17,3,40,18446744073709551615", &v, &n, err,
                                            sizeof err), 0);
    assert_int_equal(n, 4);
    assert_int_equal(v[0], 3);
    assert_int_equal(v[1], 17);
    assert_int_equal(v[2], 40);
    assert_int_equal(v[3], UINT64_MAX);
    free(v);
    const char *bad[] = {"0", "3,0", "3,,4", ",3", "3,", "3, 4", "-3", "3;4", "18446744073709551616"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(refpush_parse_nth_list(bad[i], &v, &n, err, sizeof err), -1);
        assert_null(v);
        assert_int_equal(n, 0);
    }
    refpush_parse_nth_list("5,7,x9", &v, &n, err, sizeof err);
    assert_string_equal(err, "nth: expected a comma-separated list of positive integers like "
                             "3,17,40; item 3 is \"x9\"");
    /* the most one request may arm, and one more */
    char *many = malloc(REFPUSH_NTH_MAX * 2 + 3);
    assert_non_null(many);
    size_t off = 0;
    for (int i = 0; i < REFPUSH_NTH_MAX; i++) {
        many[off++] = '1';
        many[off++] = ',';
    }
    many[off - 1] = 0;
    assert_int_equal(refpush_parse_nth_list(many, &v, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    free(v);
    many[off - 1] = ',';
    many[off] = '2';
    many[off + 1] = 0;
    assert_int_equal(refpush_parse_nth_list(many, &v, &n, err, sizeof err), -1);
    assert_string_equal(err, "nth: at most 1024 ordinals, got 1025");
    free(many);
}

static void test_port(void **state)
{
    int p = -1;
    char err[160];
    (void)state;
    assert_int_equal(refpush_parse_port("0", &p, err, sizeof err), 0);
    assert_int_equal(p, 0);
    assert_int_equal(refpush_parse_port("8080", &p, err, sizeof err), 0);
    assert_int_equal(p, 8080);
    assert_int_equal(refpush_parse_port("65535", &p, err, sizeof err), 0);
    assert_int_equal(p, 65535);
    const char *bad[] = {"65536", "", "-1", "80a", " 80", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = 7;
        assert_int_equal(refpush_parse_port(bad[i], &p, err, sizeof err), -1);
        assert_int_equal(p, 7);
    }
    refpush_parse_port("65536", &p, err, sizeof err);
    assert_string_equal(err, "expected a TCP port number from 0 to 65535, got \"65536\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uid),
        cmocka_unit_test(test_fraction),
        cmocka_unit_test(test_nth_list),
        cmocka_unit_test(test_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
