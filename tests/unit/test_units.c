/* test_units.c: table tests for the plan quantity parsers and formatters.
 *
 * Each table row is an input and either the exact expected value or the
 * expected error text (a substring: the message must say what was expected and,
 * where it matters, why). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ps_units.h"

struct dur_case { const char *in; int64_t us; const char *err; };

static void test_duration_table(void **state)
{
    static const struct dur_case cases[] = {
        { "250ms", 250000, NULL },
        { "10s", 10000000, NULL },
        { "5m", 300000000, NULL },
        { "1h", 3600000000LL, NULL },
        { "1.5s", 1500000, NULL },
        { "30us", 30, NULL },
        { "30\xc2\xb5s", 30, NULL },
        { "2", 2000000, NULL },
        { "0", 0, NULL },
        { "0.25", 250000, NULL },
        { "0.001ms", 1, NULL },
        { "1.50000000000000000000000s", 1500000, NULL },
        { "007s", 7000000, NULL },
        { "2562047788h", 2562047788LL * 3600000000LL, NULL },
        { "9223372036854775807us", INT64_MAX, NULL },
        { "10 parsecs", 0, "expected a duration like 250ms, 10s or 5m, got \"10 parsecs\"" },
        { "", 0, "expected a duration like 250ms, 10s or 5m, got an empty string" },
        { "-5s", 0, "got \"-5s\" (durations cannot be negative)" },
        { "5ss", 0, "(units: us, ms, s, m, h)" },
        { "s", 0, "got \"s\"" },
        { "1.s", 0, "a digit must follow the decimal point" },
        { ".5s", 0, "got \".5s\"" },
        { "0.5us", 0, "finer than 1us" },
        { "1e3s", 0, "units" },
        { " 5s", 0, "expected a duration" },
        { "5s ", 0, "expected a duration" },
        { "+5s", 0, "expected a duration" },
        { "inf", 0, "expected a duration" },
        { "9223372036854775808us", 0, "too large" },
        { "2562047789h", 0, "too large" },
        { "12345678901234567890s", 0, "too large" },
        { "123456789012345678901s", 0, "too many digits" },
        { "0.00000000000000000001s", 0, "too many digits" },
        { "5M", 0, "units" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct dur_case *c = &cases[i];
        int64_t v = -42;
        char err[256] = "";
        int rc = ps_units_parse_duration_us(c->in, &v, err, sizeof err);
        if (c->err) {
            if (rc != -1 || !strstr(err, c->err))
                fail_msg("duration \"%s\": rc %d, err \"%s\", want error containing \"%s\"",
                         c->in, rc, err, c->err);
            assert_int_equal(v, -42);    /* output untouched on failure */
        } else {
            if (rc != 0 || v != c->us)
                fail_msg("duration \"%s\": rc %d, got %lld, want %lld (%s)",
                         c->in, rc, (long long)v, (long long)c->us, err);
        }
    }
}

static void test_duration_long_input_is_cut(void **state)
{
    char in[200], err[512];
    int64_t v;

    (void)state;
    memset(in, 'x', sizeof in - 1);
    in[sizeof in - 1] = 0;
    assert_int_equal(ps_units_parse_duration_us(in, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "...\""));
    assert_true(strlen(err) < 150);
    /* A tiny error buffer is never overrun and stays terminated. */
    assert_int_equal(ps_units_parse_duration_us(in, &v, err, 10), -1);
    assert_int_equal(strlen(err), 9);
    assert_int_equal(ps_units_parse_duration_us("bad", &v, NULL, 0), -1);
}

struct rate_case { const char *in; double v; const char *err; };

static void test_rate_table(void **state)
{
    static const struct rate_case cases[] = {
        { "2000/s", 2000, NULL },
        { "500/m", 500.0 / 60, NULL },
        { "20k/s", 20000, NULL },
        { "1.5k/s", 1500, NULL },
        { "2M/s", 2e6, NULL },
        { "3600/h", 1, NULL },
        { "2000", 2000, NULL },
        { "0.5", 0.5, NULL },
        { "20k", 20000, NULL },
        { "0/s", 0, "must be more than zero" },
        { "0", 0, "must be more than zero" },
        { "-5/s", 0, "rates cannot be negative" },
        { "", 0, "expected a rate like 2000/s, 500/m or 20k/s, got an empty string" },
        { "5/d", 0, "expected a rate like 2000/s, 500/m or 20k/s, got \"5/d\"" },
        { "5 /s", 0, "expected a rate" },
        { "5/s/s", 0, "expected a rate" },
        { "5kk/s", 0, "expected a rate" },
        { "fast", 0, "expected a rate" },
        { "nan", 0, "expected a rate" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct rate_case *c = &cases[i];
        double v = -42;
        char err[256] = "";
        int rc = ps_units_parse_rate(c->in, &v, err, sizeof err);
        if (c->err) {
            if (rc != -1 || !strstr(err, c->err))
                fail_msg("rate \"%s\": rc %d, err \"%s\", want \"%s\"", c->in, rc, err, c->err);
        } else {
            if (rc != 0 || v != c->v)
                fail_msg("rate \"%s\": rc %d, got %.17g, want %.17g (%s)", c->in, rc, v, c->v, err);
        }
    }
}

struct count_case { const char *in; uint64_t v; const char *err; };

static void test_count_table(void **state)
{
    static const struct count_case cases[] = {
        { "1000000", 1000000, NULL },
        { "10k", 10000, NULL },
        { "1M", 1000000, NULL },
        { "1.5k", 1500, NULL },
        { "2.25M", 2250000, NULL },
        { "0", 0, NULL },
        { "18446744073709551615", UINT64_MAX, NULL },
        { "18446744073709551616", 0, "too large" },
        { "18446744073709552k", 0, "too large" },
        { "1m", 0, "ambiguous with minutes" },
        { "10_000", 0, "expected a count like 1000, 10k or 1M, got \"10_000\"" },
        { "1.5", 0, "not a whole number" },
        { "1.2345k", 0, "not a whole number" },
        { "-1", 0, "counts cannot be negative" },
        { "", 0, "got an empty string" },
        { "1G", 0, "expected a count" },
        { "1kM", 0, "expected a count" },
        { "k", 0, "expected a count" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct count_case *c = &cases[i];
        uint64_t v = 42;
        char err[256] = "";
        int rc = ps_units_parse_count(c->in, &v, err, sizeof err);
        if (c->err) {
            if (rc != -1 || !strstr(err, c->err))
                fail_msg("count \"%s\": rc %d, err \"%s\", want \"%s\"", c->in, rc, err, c->err);
        } else {
            if (rc != 0 || v != c->v)
                fail_msg("count \"%s\": rc %d, got %llu, want %llu (%s)", c->in, rc,
                         (unsigned long long)v, (unsigned long long)c->v, err);
        }
    }
}

static void test_fraction_table(void **state)
{
    static const struct rate_case cases[] = {
        { "99.9%", 0.999, NULL },
        { "0.1", 0.1, NULL },
        { "100%", 1, NULL },
        { "1", 1, NULL },
        { "0", 0, NULL },
        { "0%", 0, NULL },
        { "50%", 0.5, NULL },
        { "99.99%", 0.9999, NULL },
        { "0.05%", 0.0005, NULL },
        { "1.5", 0, "must be between 0 and 1" },
        { "100.1%", 0, "must be between 0 and 1" },
        { "-0.1", 0, "fractions cannot be negative" },
        { "", 0, "expected a fraction like 99.9% or 0.5, got an empty string" },
        { "50 %", 0, "expected a fraction" },
        { "50%%", 0, "expected a fraction" },
        { "half", 0, "expected a fraction like 99.9% or 0.5, got \"half\"" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct rate_case *c = &cases[i];
        double v = -42;
        char err[256] = "";
        int rc = ps_units_parse_fraction(c->in, &v, err, sizeof err);
        if (c->err) {
            if (rc != -1 || !strstr(err, c->err))
                fail_msg("fraction \"%s\": rc %d, err \"%s\", want \"%s\"", c->in, rc, err, c->err);
        } else {
            if (rc != 0 || v != c->v)
                fail_msg("fraction \"%s\": rc %d, got %.17g, want %.17g (%s)",
                         c->in, rc, v, c->v, err);
        }
    }
}

static void test_fmt_duration(void **state)
{
    static const struct { int64_t us; const char *out; } cases[] = {
        { 0, "0us" },
        { 12, "12us" },
        { 999, "999us" },
        { 1000, "1ms" },
        { 1234, "1.23ms" },
        { 12400, "12.4ms" },
        { 850000, "850ms" },
        { 999499, "999ms" },
        { 999500, "1s" },
        { 1230000, "1.23s" },
        { 1500000, "1.5s" },
        { 12000000, "12s" },
        { 59400000, "59.4s" },
        { 90000000, "1m30s" },
        { 300000000, "5m00s" },
        { 3600000000LL, "1h00m" },
        { 5400000000LL, "1h30m" },
        { -1500000, "-1.5s" },
    };
    char buf[32];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(ps_units_fmt_duration(cases[i].us, buf, sizeof buf), cases[i].out);
    /* INT64_MIN must not overflow when negated. */
    ps_units_fmt_duration(INT64_MIN, buf, sizeof buf);
    assert_int_equal(buf[0], '-');
    /* Truncation keeps the buffer terminated. */
    assert_string_equal(ps_units_fmt_duration(1230000, buf, 3), "1.");
}

static void test_fmt_count(void **state)
{
    static const struct { double v; const char *out; } cases[] = {
        { 0, "0" },
        { 42, "42" },
        { 9999, "9999" },
        { 2.5, "2.5" },
        { 10000, "10k" },
        { 12345, "12.3k" },
        { 1200, "1200" },
        { 123456, "123k" },
        { 999499, "999k" },
        { 999500, "1M" },
        { 3400000, "3.4M" },
        { 2e9, "2G" },
        { -15000, "-15k" },
    };
    char buf[32];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(ps_units_fmt_count(cases[i].v, buf, sizeof buf), cases[i].out);
}

/* What the formatter prints below one minute must parse back to nearly the same value. */
static void test_fmt_parses_back(void **state)
{
    static const int64_t values[] = { 7, 999, 1000, 1234, 55555, 999499, 1000000, 12345678, 59000000 };
    char buf[32], err[128];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof values / sizeof values[0]; i++) {
        int64_t back;
        ps_units_fmt_duration(values[i], buf, sizeof buf);
        if (ps_units_parse_duration_us(buf, &back, err, sizeof err))
            fail_msg("\"%s\" does not parse: %s", buf, err);
        assert_true(back >= values[i] - values[i] / 100 && back <= values[i] + values[i] / 100);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_table),
        cmocka_unit_test(test_duration_long_input_is_cut),
        cmocka_unit_test(test_rate_table),
        cmocka_unit_test(test_count_table),
        cmocka_unit_test(test_fraction_table),
        cmocka_unit_test(test_fmt_duration),
        cmocka_unit_test(test_fmt_count),
        cmocka_unit_test(test_fmt_parses_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
