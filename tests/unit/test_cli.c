/* test_cli.c: the one option convention of the three programs (common/ps_cli).
 *
 * A small table with a flag, a value and an optional value is parsed from
 * argument lists written out in each test; what the handlers saw, the result
 * and the text written to the (in-memory) out and err streams are checked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ps_cli.h"

enum { K_DB, K_QUIET, K_JSON, K_LIMIT };

static const struct ps_cli_opt opts[] = {
    {"--db", PS_CLI_VALUE, "FILE", "the database", K_DB},
    {"--quiet", PS_CLI_FLAG, NULL, "say less", K_QUIET},
    {"--json", PS_CLI_OPTIONAL, "FILE", "as JSON\nto stdout without FILE", K_JSON},
    {"--limit", PS_CLI_VALUE, "N", "a checked number", K_LIMIT},
};

struct seen {
    const char *db, *json, *args[4];
    int         quiet, json_given, n_args;
};

static int on_opt(void *ctx, const struct ps_cli_opt *o, const char *v)
{
    struct seen *s = ctx;
    switch (o->key) {
    case K_DB: s->db = v; break;
    case K_QUIET: s->quiet++; break;
    case K_JSON: s->json_given = 1; s->json = v; break;
    case K_LIMIT: return strcmp(v, "7") ? -1 : 0;
    }
    return 0;
}

static int on_arg(void *ctx, const char *a)
{
    struct seen *s = ctx;
    if (s->n_args == 4)
        return -1;
    s->args[s->n_args++] = a;
    return 0;
}

/* One parse with its output captured. */
struct run {
    struct seen    seen;
    enum ps_cli_rc rc;
    char          *out, *err;
};

static void parse(struct run *r, int positional, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    size_t on, en;
    memset(r, 0, sizeof *r);
    FILE *out = open_memstream(&r->out, &on), *err = open_memstream(&r->err, &en);
    assert_non_null(out);
    assert_non_null(err);
    struct ps_cli c = {
        .prog = "tool sub", .name = "tool", .version = "1.2.3", .args = "THING",
        .opts = opts, .n_opts = sizeof opts / sizeof opts[0], .on_opt = on_opt,
        .on_arg = positional ? on_arg : NULL, .out = out, .err = err,
    };
    r->rc = ps_cli_parse(&c, &r->seen, argc, argv);
    fclose(out);
    fclose(err);
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

static void test_both_forms(void **state)
{
    (void)state;
    struct run r;
    parse(&r, 1, (char *[]){"--db", "a.db", "x", "--quiet", "--db=b.db", "y", NULL});
    assert_int_equal(r.rc, PS_CLI_OK);
    assert_string_equal(r.seen.db, "b.db");
    assert_int_equal(r.seen.quiet, 1);
    assert_int_equal(r.seen.n_args, 2);
    assert_string_equal(r.seen.args[0], "x");
    assert_string_equal(r.seen.args[1], "y");
    assert_string_equal(r.err, "");
    run_free(&r);

    /* "=" keeps what follows it whole, even an empty value or another "=" */
    parse(&r, 1, (char *[]){"--db=", "--json=a=b", NULL});
    assert_int_equal(r.rc, PS_CLI_OK);
    assert_string_equal(r.seen.db, "");
    assert_string_equal(r.seen.json, "a=b");
    run_free(&r);

    /* a separate value is taken as it is, even when it starts with '-' */
    parse(&r, 1, (char *[]){"--db", "-", NULL});
    assert_int_equal(r.rc, PS_CLI_OK);
    assert_string_equal(r.seen.db, "-");
    run_free(&r);
}

static void test_optional_value(void **state)
{
    (void)state;
    struct run r;
    parse(&r, 1, (char *[]){"--json", "out.json", NULL});
    assert_int_equal(r.seen.json_given, 1);
    assert_string_equal(r.seen.json, "out.json");
    assert_int_equal(r.seen.n_args, 0);
    run_free(&r);

    parse(&r, 1, (char *[]){"--json", "--quiet", NULL});
    assert_int_equal(r.rc, PS_CLI_OK);
    assert_int_equal(r.seen.json_given, 1);
    assert_null(r.seen.json);
    assert_int_equal(r.seen.quiet, 1);
    run_free(&r);

    parse(&r, 1, (char *[]){"--json", NULL});
    assert_int_equal(r.rc, PS_CLI_OK);
    assert_int_equal(r.seen.json_given, 1);
    assert_null(r.seen.json);
    run_free(&r);
}

/* A wants() callback decides whether the next argument is an optional value:
 * here a number is never one, as "--json 5" before pushstorm report's run id. */
static int no_numbers(void *ctx, const struct ps_cli_opt *o, const char *next)
{
    (void)ctx;
    (void)o;
    return next[0] != '-' && (next[0] < '0' || next[0] > '9');
}

static void test_optional_value_wants(void **state)
{
    (void)state;
    struct seen seen = {0};
    struct ps_cli c = {
        .prog = "tool", .opts = opts, .n_opts = sizeof opts / sizeof opts[0], .on_opt = on_opt,
        .on_arg = on_arg, .wants = no_numbers,
    };
    assert_int_equal(ps_cli_parse(&c, &seen, 3, (char *[]){"--json", "5", "x.json", NULL}),
                     PS_CLI_OK);
    assert_int_equal(seen.json_given, 1);
    assert_null(seen.json);
    assert_int_equal(seen.n_args, 2);
    assert_string_equal(seen.args[0], "5");
    memset(&seen, 0, sizeof seen);
    assert_int_equal(ps_cli_parse(&c, &seen, 2, (char *[]){"--json", "x.json", NULL}), PS_CLI_OK);
    assert_string_equal(seen.json, "x.json");
    assert_int_equal(seen.n_args, 0);
}

static void test_positional(void **state)
{
    (void)state;
    struct run r;
    /* "-" alone and everything after "--" are arguments, not options */
    parse(&r, 1, (char *[]){"-", "--", "--db", NULL});
    assert_int_equal(r.rc, PS_CLI_OK);
    assert_int_equal(r.seen.n_args, 2);
    assert_string_equal(r.seen.args[0], "-");
    assert_string_equal(r.seen.args[1], "--db");
    assert_null(r.seen.db);
    run_free(&r);

    parse(&r, 0, (char *[]){"--quiet", "stray", NULL});
    assert_int_equal(r.rc, PS_CLI_ERROR);
    assert_non_null(strstr(r.err, "tool sub: unexpected argument \"stray\""));
    run_free(&r);

    parse(&r, 1, (char *[]){"a", "b", "c", "d", "e", NULL});
    assert_int_equal(r.rc, PS_CLI_ERROR);
    run_free(&r);
}

static void test_errors_name_the_option(void **state)
{
    (void)state;
    struct run r;
    parse(&r, 1, (char *[]){"--dbx=1", NULL});
    assert_int_equal(r.rc, PS_CLI_ERROR);
    assert_int_equal(ps_cli_exit_status(r.rc), 2);
    assert_string_equal(r.err, "tool sub: unknown option \"--dbx\" (see tool sub --help)\n");
    run_free(&r);

    parse(&r, 1, (char *[]){"x", "--db", NULL});
    assert_int_equal(r.rc, PS_CLI_ERROR);
    assert_string_equal(r.err, "tool sub: --db needs a value (FILE) (see tool sub --help)\n");
    run_free(&r);

    parse(&r, 1, (char *[]){"--quiet=yes", NULL});
    assert_int_equal(r.rc, PS_CLI_ERROR);
    assert_string_equal(r.err, "tool sub: --quiet takes no value\n");
    assert_int_equal(r.seen.quiet, 0);
    run_free(&r);

    /* a handler's refusal stops the walk: nothing after it is seen */
    parse(&r, 1, (char *[]){"--limit", "8", "--quiet", NULL});
    assert_int_equal(r.rc, PS_CLI_ERROR);
    assert_int_equal(r.seen.quiet, 0);
    run_free(&r);
    parse(&r, 1, (char *[]){"--limit=7", "--quiet", NULL});
    assert_int_equal(r.rc, PS_CLI_OK);
    assert_int_equal(r.seen.quiet, 1);
    run_free(&r);
}

static void test_help_and_version(void **state)
{
    (void)state;
    struct run r;
    parse(&r, 1, (char *[]){"--version", "--bogus", NULL});
    assert_int_equal(r.rc, PS_CLI_DONE);
    assert_int_equal(ps_cli_exit_status(r.rc), 0);
    assert_string_equal(r.out, "tool 1.2.3\n");
    assert_string_equal(r.err, "");
    run_free(&r);

    parse(&r, 1, (char *[]){"--quiet", "-h", NULL});
    assert_int_equal(r.rc, PS_CLI_DONE);
    assert_string_equal(r.out,
                        "usage: tool sub THING [--db FILE] [--quiet] [--json [FILE]] [--limit N]\n"
                        "\n"
                        "  --db FILE             the database\n"
                        "  --quiet               say less\n"
                        "  --json [FILE]         as JSON\n"
                        "                        to stdout without FILE\n"
                        "  --limit N             a checked number\n"
                        "  --help, --version     this text; the version\n");
    run_free(&r);

    /* --help=x is not --help: an unknown option */
    parse(&r, 1, (char *[]){"--help=x", NULL});
    assert_int_equal(r.rc, PS_CLI_ERROR);
    run_free(&r);
}

/* Every option of a long table appears in the synopsis, which wraps under the
 * program's name before 80 columns. */
static void test_synopsis_wraps(void **state)
{
    (void)state;
    static const struct ps_cli_opt many[] = {
        {"--first-long-option", PS_CLI_VALUE, "VALUE", "", 0},
        {"--second-long-option", PS_CLI_VALUE, "VALUE", "", 0},
        {"--third-long-option", PS_CLI_FLAG, NULL, "", 0},
        {"--fourth", PS_CLI_OPTIONAL, "X", "", 0},
    };
    struct ps_cli c = {.prog = "tool sub", .opts = many, .n_opts = 4};
    char *buf;
    size_t n;
    FILE *f = open_memstream(&buf, &n);
    ps_cli_synopsis(&c, "usage: ", f);
    fclose(f);
    assert_string_equal(buf,
                        "usage: tool sub [--first-long-option VALUE] [--second-long-option VALUE]\n"
                        "                [--third-long-option] [--fourth [X]]\n");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_forms),
        cmocka_unit_test(test_optional_value),
        cmocka_unit_test(test_optional_value_wants),
        cmocka_unit_test(test_positional),
        cmocka_unit_test(test_errors_name_the_option),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_synopsis_wraps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
