/* test_plan_tls.c: the plan's tls blocks (controller/plan/plan_tls.c).
 *
 * Good blocks: plan-wide into tls[0], per target into their own index with
 * identical blocks shared, relative files resolved to absolute paths (from the
 * plan file's directory: "t.yaml" lives in the repository root, where the tests
 * run). Bad blocks: each mistake at its line:col with the key path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "plan.h"

#define TARGET "  - {ws: \"wss://h:1/ws\", push: \"https://h:2/push\""
#define HEAD "name: t\nconnections: {total: 10}\nphases:\n  - ramp: {to: 10, rate: 10/s}\n"
#define FILE_OK "tests/unit/test_plan_tls.c"   /* any readable file will do */

static struct plan *parse(const char *yaml, char *err, size_t errlen)
{
    struct plan *p = calloc(1, sizeof *p);
    assert_non_null(p);
    if (plan_parse("t.yaml", yaml, strlen(yaml), p, err, errlen) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

static void test_blocks(void **state)
{
    (void)state;
    char err[PLAN_ERR_MAX] = "";
    struct plan *p = parse(HEAD "tls: {ca_file: " FILE_OK ", min_version: 1.3}\n"
                           "targets:\n"
                           TARGET "}\n"
                           TARGET ", tls: {insecure: true, server_name: push.example.com}}\n"
                           TARGET ", tls: {ca_dir: tests/unit, cert: " FILE_OK ", key: " FILE_OK "}}\n"
                           TARGET ", tls: {insecure: true, server_name: push.example.com}}\n",
                           err, sizeof err);
    if (!p)
        print_error("%s\n", err);
    assert_non_null(p);
    assert_int_equal(p->n_tls, 3);
    assert_true(p->tls[0].ca_file[0] == '/' && ends_with(p->tls[0].ca_file, "/" FILE_OK));
    assert_int_equal(p->tls[0].min_version, 13);
    assert_int_equal(p->tls[0].insecure, 0);
    assert_int_equal(p->targets[0].tls, 0);
    assert_int_equal(p->targets[1].tls, 1);
    assert_int_equal(p->targets[3].tls, 1);   /* the same block shares the index */
    assert_int_equal(p->tls[1].insecure, 1);
    assert_string_equal(p->tls[1].server_name, "push.example.com");
    assert_string_equal(p->tls[1].ca_file, "");   /* replaces the plan-wide block */
    assert_int_equal(p->targets[2].tls, 2);
    assert_true(ends_with(p->tls[2].ca_dir, "/tests/unit"));
    assert_true(ends_with(p->tls[2].key, "/" FILE_OK));
    free(p);

    p = parse(HEAD "targets:\n" TARGET "}\n", err, sizeof err);
    assert_non_null(p);
    assert_int_equal(p->n_tls, 1);   /* no tls: library defaults, verification on */
    assert_int_equal(p->tls[0].insecure, 0);
    assert_int_equal(p->tls[0].min_version, 0);
    free(p);
}

struct bad_case { const char *what, *yaml, *where, *msg; };

#define T1 HEAD "targets:\n" TARGET "}\n"
static const struct bad_case bad[] = {
    { "missing CA file", T1 "tls: {ca_file: no/such.pem}\n",
      "t.yaml:7:16: tls.ca_file: ", "No such file or directory" },
    { "CA dir that is a file", T1 "tls: {ca_dir: " FILE_OK "}\n",
      "t.yaml:7:15: tls.ca_dir: ", "is not a directory" },
    { "CA file that is a directory", T1 "tls: {ca_file: tests}\n",
      "t.yaml:7:16: tls.ca_file: ", "is not a regular file" },
    { "old TLS version", T1 "tls: {min_version: 1.1}\n",
      "t.yaml:7:20: tls.min_version: ", "expected 1.2 or 1.3, got \"1.1\"" },
    { "insecure not a boolean", T1 "tls: {insecure: yes}\n",
      "t.yaml:7:17: tls.insecure: ", "expected true or false" },
    { "insecure: on, YAML 1.1 spelling", T1 "tls: {insecure: on}\n",
      "t.yaml:7:17: tls.insecure: ", "got \"on\" (YAML 1.1's yes/no/on/off are not booleans" },
    { "insecure quoted", T1 "tls: {insecure: \"true\"}\n",
      "t.yaml:7:17: tls.insecure: ", "in quotes, which is a string: write it without quotes" },
    { "cert without key", T1 "tls: {cert: " FILE_OK "}\n",
      "t.yaml:7:13: tls.cert: ", "cert needs key as well" },
    { "key without cert", T1 "tls: {key: " FILE_OK "}\n",
      "t.yaml:7:12: tls.key: ", "key needs cert as well" },
    { "server name with a port", T1 "tls: {server_name: \"h:443\"}\n",
      "t.yaml:7:20: tls.server_name: ", "expected a host name" },
    { "unknown key", T1 "tls: {ca: x}\n",
      "t.yaml:7:7: tls.ca: ", "unknown key \"ca\"" },
    { "per target, with its path", HEAD "targets:\n" TARGET ", tls: {min_version: 2}}\n",
      "t.yaml:6:71: targets[0].tls.min_version: ", "expected 1.2 or 1.3" },
    { "too many different blocks", HEAD "targets:\n"
      TARGET ", tls: {server_name: a}}\n" TARGET ", tls: {server_name: b}}\n"
      TARGET ", tls: {server_name: c}}\n" TARGET ", tls: {server_name: d}}\n"
      TARGET ", tls: {server_name: e}}\n" TARGET ", tls: {server_name: f}}\n"
      TARGET ", tls: {server_name: g}}\n" TARGET ", tls: {server_name: h}}\n",
      "t.yaml:13:57: targets[7].tls: ", "at most 7 targets may have their own" },
};

static void test_bad_blocks(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[PLAN_ERR_MAX] = "";
        struct plan *p = parse(bad[i].yaml, err, sizeof err);
        int ok = !p && !strncmp(err, bad[i].where, strlen(bad[i].where)) && strstr(err, bad[i].msg);
        if (!ok) {
            print_error("case \"%s\":\n  want %s...%s\n  got  %s\n", bad[i].what, bad[i].where,
                        bad[i].msg, err);
            failed++;
        }
        free(p);
    }
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_bad_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
