/* test_plan_csv.c: the per-connection data reader (controller/plan/plan_csv.c).
 *
 * A value read wrong goes unnoticed until a service rejects a credential, so
 * each case checks every value, and each refusal the line it names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "plan_csv.h"

static int parse(struct plan_csv *c, const char *text, char *err, size_t errlen)
{
    return plan_csv_parse(c, "u.csv", text, strlen(text), err, errlen);
}

static void expect_error(const char *text, const char *want)
{
    struct plan_csv c;
    char err[256] = "";
    assert_int_equal(parse(&c, text, err, sizeof err), -1);
    if (strcmp(err, want))
        fail_msg("for %s\n  got  \"%s\"\n  want \"%s\"", text, err, want);
    assert_null(c.cells);
}

static void test_plain_and_crlf(void **state)
{
    struct plan_csv c;
    char err[256];
    (void)state;
    assert_int_equal(parse(&c, "user_id,token\r\nu-1,abc\r\nu-2,\r\n", err, sizeof err), 0);
    assert_int_equal(c.n_cols, 2);
    assert_int_equal(c.n_rows, 2);
    assert_string_equal(plan_csv_header(&c, 1), "token");
    assert_string_equal(plan_csv_cell(&c, 0, 0), "u-1");
    assert_string_equal(plan_csv_cell(&c, 0, 1), "abc");
    assert_string_equal(plan_csv_cell(&c, 1, 0), "u-2");
    assert_string_equal(plan_csv_cell(&c, 1, 1), "");
    assert_int_equal(plan_csv_col(&c, "token", 5), 1);
    assert_int_equal(plan_csv_col(&c, "tok", 3), -1);
    plan_csv_free(&c);
    /* no final newline, a trailing empty field at the very end, a blank line */
    assert_int_equal(parse(&c, "a,b\n1,2\n\n3,", err, sizeof err), 0);
    assert_int_equal(c.n_rows, 2);
    assert_string_equal(plan_csv_cell(&c, 1, 0), "3");
    assert_string_equal(plan_csv_cell(&c, 1, 1), "");
    assert_int_equal(c.line[1], 4);
    plan_csv_free(&c);
}

static void test_quotes(void **state)
{
    struct plan_csv c;
    char err[256];
    (void)state;
    assert_int_equal(parse(&c, "\xef\xbb\xbfid,msg\n\"x,1\",\"say \"\"hi\"\"\"\n"
                               "\"multi\nline\",\"\"\nlast,\"a\r\nb\"\n", err, sizeof err), 0);
    assert_int_equal(c.n_rows, 3);
    assert_string_equal(plan_csv_header(&c, 0), "id");
    assert_string_equal(plan_csv_cell(&c, 0, 0), "x,1");
    assert_string_equal(plan_csv_cell(&c, 0, 1), "say \"hi\"");
    assert_string_equal(plan_csv_cell(&c, 1, 0), "multi\nline");
    assert_string_equal(plan_csv_cell(&c, 1, 1), "");
    assert_string_equal(plan_csv_cell(&c, 2, 1), "a\r\nb");
    /* rows that span lines keep the line they started on */
    assert_int_equal(c.line[0], 2);
    assert_int_equal(c.line[1], 3);
    assert_int_equal(c.line[2], 5);
    plan_csv_free(&c);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("a,b\n1,2\n3\n", "u.csv:3: row 2 has 1 field, the header has 2");
    expect_error("a,b\r\n1,2,3\r\n", "u.csv:2: row 1 has 3 fields, the header has 2");
    expect_error("a,b\n\"x\ny\",2\n4,5,6\n", "u.csv:4: row 2 has 3 fields, the header has 2");
    expect_error("a,b\n1,\"open\n\n", "u.csv:2: quoted field never ends (missing \")");
    expect_error("a,b\n1,\"x\"y\n", "u.csv:2: unexpected 'y' after a closing quote (a quote "
                 "inside a field is written \"\")");
    expect_error("a,b\n1,x\"y\n", "u.csv:2: a quote inside an unquoted field (quote the whole "
                 "field and write \"\")");
    expect_error("a,a\n1,2\n", "u.csv:1: column \"a\" appears twice in the header");
    expect_error("user id,b\n", "u.csv:1: column 1: name \"user id\" is not usable in {csv.NAME} "
                 "(1-31 letters, digits, '_' or '-')");
    expect_error("a,\n", "u.csv:1: column 2: name \"\" is not usable in {csv.NAME} "
                 "(1-31 letters, digits, '_' or '-')");
    expect_error("", "u.csv:1: empty: no header row");
    expect_error("a\n\x1f\n", "u.csv:2: a value holds a NUL or 0x1f byte");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_crlf),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
