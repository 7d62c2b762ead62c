/* test_regex.c: ps_regex_positions, the bound checked before regcomp().
 *
 * Each row is a pattern and the positions it must count: plain atoms count
 * one, repetitions multiply what they follow, groups multiply as a whole and
 * nesting multiplies again, so a pattern that would compile to hundreds of
 * megabytes is refused while every pattern a session needs stays far below
 * PS_REGEX_POSITIONS_MAX. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ps_regex.h"

struct regex_case { const char *re; uint64_t positions; };

static void test_regex_positions_table(void **state)
{
    static const struct regex_case cases[] = {
        { "", 0 },
        { "abc", 3 },
        { "a*b?c", 3 },
        { "a+", 2 },
        { "a{3}", 3 },
        { "a{2,5}", 5 },
        { "a{4,}", 5 },
        { "a{0}", 1 },
        { "(ab){3}", 6 },
        { "((a{10}){10}){10}", 1000 },
        { "((a{100}){100}){100}", 1000000 },
        { "[0-9a-f]{8}", 8 },
        { "[]x]{2}", 2 },
        { "[^]x]{2}", 2 },
        { "[[:digit:]]{3}", 3 },
        { "\\{5}", 3 },
        { "\\.{5}", 5 },
        { "x{", 2 },
        { "x{a}", 4 },
        { "(a|bc){2}", 8 },        /* the alternation node counts too */
        { "\"sid\":\"([^\"]*)\"", 9 },
        { "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((a", UINT64_MAX / 2 },
        { "(a{99999}){99999}{99999}{99999}{99999}", UINT64_MAX / 2 },
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t got = ps_regex_positions(cases[i].re);
        if (got != cases[i].positions)
            fail_msg("\"%s\": %llu positions, expected %llu", cases[i].re,
                     (unsigned long long)got, (unsigned long long)cases[i].positions);
    }
}

static void test_regex_limit_splits_real_from_hostile(void **state)
{
    (void)state;
    assert_true(ps_regex_positions("\"id\":\"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}"
                                   "-[0-9a-f]{12})\"") < 100);
    assert_true(ps_regex_positions("((a{100}){100}){100}") > PS_REGEX_POSITIONS_MAX);
    assert_true(ps_regex_positions("(a{255}){255}") > PS_REGEX_POSITIONS_MAX);
    assert_true(ps_regex_positions("a{10000}") <= PS_REGEX_POSITIONS_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regex_positions_table),
        cmocka_unit_test(test_regex_limit_splits_real_from_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
