/* test_plan_csv.c: per-connection data, the reader (controller/plan/plan_csv.c)
 * and the plan rules around it (plan_data.c), and the template source that
 * expands {csv.COL} (common/ps_tpl.c).
 *
 * A value read wrong goes unnoticed until a service rejects a credential, so
 * each case checks every value, and each refusal the line it names: the
 * plan's line and column, and the data file's line. Plans and data files
 * live in a temporary directory, the data file named relative to the plan. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "plan.h"
#include "plan_csv.h"
#include "ps_tpl.h"

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

/* ---- plan rules: a plan in a temporary directory, its data file next to it */

struct dir {
    char path[32];
    char plan[64], csv[64];
    struct plan *p;
};

static int dir_setup(void **state)
{
    struct dir *d = calloc(1, sizeof *d);
    if (!d || !(d->p = malloc(sizeof *d->p)))
        return -1;
    snprintf(d->path, sizeof d->path, "/tmp/test_plan_csv.XXXXXX");
    if (!mkdtemp(d->path))
        return -1;
    snprintf(d->plan, sizeof d->plan, "%s/p.yaml", d->path);
    snprintf(d->csv, sizeof d->csv, "%s/users.csv", d->path);
    *state = d;
    return 0;
}

static int dir_teardown(void **state)
{
    struct dir *d = *state;
    unlink(d->plan);
    unlink(d->csv);
    rmdir(d->path);
    free(d->p);
    free(d);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A plan of 3 connections whose ws URL, header and push body use the data;
 * conn_extra goes inside connections: {...}, body is the push body. */
static int load(struct dir *d, const char *conn_extra, const char *body, char *err, size_t len)
{
    char text[1024];
    snprintf(text, sizeof text,
             "name: t\n"
             "targets:\n"
             "  - {ws: \"ws://127.0.0.1:1/ws?uid={csv.user_id}\", push: \"http://127.0.0.1:1/p?u={csv.user_id}\"}\n"
             "connections: {total: 3%s}\n"
             "phases:\n"
             "  - ramp: {to: 3, rate: 10/s}\n"
             "  - push: {mode: unicast, count: 1, body: \"%s\"}\n", conn_extra, body);
    write_file(d->plan, text);
    err[0] = 0;
    return plan_load(d->plan, d->p, err, len);
}

static void expect_plan_error(struct dir *d, const char *conn_extra, const char *body,
                              const char *want_tail)
{
    char err[512], want[512];
    assert_int_equal(load(d, conn_extra, body, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:%s", d->plan, want_tail);
    if (strcmp(err, want))
        fail_msg("got  \"%s\"\nwant \"%s\"", err, want);
}

static void test_plan_data_ok(void **state)
{
    struct dir *d = *state;
    char err[512];
    write_file(d->csv, "user_id,token\nu-1,a\nu-2,b\nu-3,c\n");
    assert_int_equal(load(d, ", data: users.csv, headers: {X-T: \"{csv.token}\"}",
                          "{msg} {csv.token}", err, sizeof err), 0);
    assert_string_equal(d->p->connections.data, d->csv);   /* relative to the plan */
    assert_int_equal(d->p->connections.data_wrap, 0);
    write_file(d->csv, "user_id,token\nu-1,a\n");
    assert_int_equal(load(d, ", data: users.csv, data_wrap: true", "{msg}", err, sizeof err), 0);
    assert_int_equal(d->p->connections.data_wrap, 1);
}

/* plan_parse_with_data: the data file's text given, nothing read from disk
 * (no file of that name exists here); its errors read as a file's would. */
static void test_plan_data_in_memory(void **state)
{
    static const char plan[] =
        "name: t\n"
        "targets:\n"
        "  - {ws: \"ws://127.0.0.1:1/ws?uid={csv.user_id}\", push: \"http://127.0.0.1:1/p\"}\n"
        "connections: {total: 2, data: no-such-dir/users.csv}\n"
        "phases:\n"
        "  - ramp: {to: 2, rate: 10/s}\n";
    static const char good[] = "user_id\nu-1\nu-2\n", bad[] = "uid\nu-1\nu-2\n";
    struct plan *p = malloc(sizeof *p);
    char err[512];
    (void)state;
    assert_non_null(p);
    if (plan_parse_with_data("m.yaml", plan, strlen(plan), good, strlen(good), p, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(plan_parse_with_data("m.yaml", plan, strlen(plan), bad, strlen(bad), p, err,
                                          sizeof err), -1);
    assert_string_equal(err, "m.yaml:3:10: targets[0].ws: {csv.user_id}: no-such-dir/users.csv has "
                             "no such column (it has uid)");
    assert_int_equal(plan_parse("m.yaml", plan, strlen(plan), p, err, sizeof err), -1);
    assert_non_null(strstr(err, "no-such-dir/users.csv: cannot open"));
    free(p);
}

/* The agent expands {csv.COL} in session sends (plan-wide and a target's own),
 * the heartbeat text and the ack as well; a session expect is not a template. */
static void test_plan_data_session_places(void **state)
{
    struct dir *d = *state;
    char text[1024], err[512], want[512];
    write_file(d->csv, "user_id,token\nu-1,a\nu-2,b\nu-3,c\n");
    const char *fmt =
        "name: t\n"
        "targets:\n"
        "  - {ws: \"ws://127.0.0.1:1/ws\", push: \"http://127.0.0.1:1/p?u={csv.user_id}\",\n"
        "     session: {steps: [{send: \"hello {csv.user_id}\"}]}}\n"
        "connections: {total: 3, data: users.csv}\n"
        "session: {steps: [{send: \"login {csv.token}\"}, {expect: \"%s\"}], ack: \"ack {csv.token}\"}\n"
        "heartbeat: {text: \"hb {csv.user_id}\", interval: 10s}\n"
        "phases:\n"
        "  - ramp: {to: 3, rate: 10/s}\n";
    snprintf(text, sizeof text, fmt, "ok");
    write_file(d->plan, text);
    assert_int_equal(plan_load(d->plan, d->p, err, sizeof err), 0);
    snprintf(text, sizeof text, fmt, "ok {csv.token}");
    write_file(d->plan, text);
    assert_int_equal(plan_load(d->plan, d->p, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:6:57: session.steps[1].expect: {csv.*} is not expanded here", d->plan);
    if (strncmp(err, want, strlen(want)))
        fail_msg("got  \"%s\"\nwant \"%s...\"", err, want);
}

static void test_plan_data_errors(void **state)
{
    struct dir *d = *state;
    char tail[256];
    write_file(d->csv, "user_id,token\nu-1,a\nu-2\nu-3,c\n");
    snprintf(tail, sizeof tail, "4:31: connections.data: %s:3: row 2 has 1 field, the header "
             "has 2", d->csv);
    expect_plan_error(d, ", data: users.csv", "{msg}", tail);

    write_file(d->csv, "user_id,token\nu-1,a\nu-2,b\n");
    snprintf(tail, sizeof tail, "4:31: connections.data: %s has 2 rows for 3 connections; add "
             "rows, or set data_wrap: true to give connection i row i %% 2", d->csv);
    expect_plan_error(d, ", data: users.csv", "{msg}", tail);

    write_file(d->csv, "user_id,token\nu-1,a\nu-2,b\nu-3,c\n");
    snprintf(tail, sizeof tail, "7:43: phases[1].push.body: {csv.tokn}: %s has no such column "
             "(it has user_id, token)", d->csv);
    expect_plan_error(d, ", data: users.csv", "{msg} {csv.tokn}", tail);

    expect_plan_error(d, "", "{msg}", "3:10: targets[0].ws: uses {csv.user_id} but connections "
                      "has no data file (connections: {data: users.csv})");
    expect_plan_error(d, ", data: users.csv, data_wrap: maybe", "{msg}",
                      "4:53: connections.data_wrap: expected true or false, got \"maybe\"");
    /* the same boolean rule as tls.insecure (plan_v_bool): plain true/false only */
    expect_plan_error(d, ", data: users.csv, data_wrap: yes", "{msg}",
                      "4:53: connections.data_wrap: expected true or false, got \"yes\" (YAML "
                      "1.1's yes/no/on/off are not booleans in a plan)");
    expect_plan_error(d, ", data: users.csv, data_wrap: 'false'", "{msg}",
                      "4:53: connections.data_wrap: expected true or false, got \"false\" in "
                      "quotes, which is a string: write it without quotes");
    expect_plan_error(d, ", data: users.csv, subprotocol: x, data_warp: true", "{msg}",
                      "4:58: connections.data_warp: unknown key \"data_warp\"; did you mean "
                      "\"data_wrap\"? (allowed: total, subprotocol, headers, max_message, data, "
                      "data_wrap)");
    unlink(d->csv);
    snprintf(tail, sizeof tail, "4:31: connections.data: %s: cannot open: No such file or "
             "directory", d->csv);
    expect_plan_error(d, ", data: users.csv", "{msg}", tail);
}

/* ---- the template source */

static int test_get(void *ctx, const char *name, size_t len, const char **val, size_t *vlen)
{
    (void)ctx;
    if (len == 6 && !memcmp(name, "csv.id", 6)) {
        *val = "u-7";
        *vlen = 3;
        return 1;
    }
    return len > 4 && !memcmp(name, "csv.", 4) ? -1 : 0;
}

static void test_tpl_source(void **state)
{
    char out[128];
    struct ps_tpl_var vars[] = {{"conn", "7"}};
    struct ps_tpl_source src = {test_get, NULL};
    (void)state;
    assert_int_equal(ps_tpl_expand_src(out, sizeof out, "/ws?c={conn}&u={csv.id}&j={\"a\":1}{x}",
                                       vars, 1, &src), 26);
    assert_string_equal(out, "/ws?c=7&u=u-7&j={\"a\":1}{x}");
    assert_int_equal(ps_tpl_expand_src(out, sizeof out, "{csv.nope}", vars, 1, &src), -1);
    assert_int_equal(ps_tpl_expand_src(out, 6, "u={csv.id}!", vars, 1, &src), -1);  /* no room */
    assert_int_equal(ps_tpl_expand_src(out, sizeof out, "{csv.id}", vars, 1, NULL), 8);
    assert_string_equal(out, "{csv.id}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_crlf),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_errors),
        cmocka_unit_test_setup_teardown(test_plan_data_ok, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_plan_data_session_places, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_plan_data_errors, dir_setup, dir_teardown),
        cmocka_unit_test(test_tpl_source),
        cmocka_unit_test(test_plan_data_in_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
