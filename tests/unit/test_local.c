/* test_local.c: what `run --local-agents` makes of its options and the plan.
 *
 * local_args_split: the words of --agent-args (blanks, quotes, the options
 * the controller keeps for itself, the limits); local_plan_expect: the plan's
 * agents.expect wins when it is written, else --local-agents sets it;
 * local_plan_sources: loopback targets only, distinct ranges per agent, with
 * enough addresses for each share at half an address's usable ports (worked
 * out here from this machine's ip_local_port_range, as the controller does). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "local.h"
#include "plan.h"

static void test_args_words(void **state)
{
    (void)state;
    struct local_args a;
    char err[256];
    assert_int_equal(local_args_split("  --lag-threshold 50ms\t--allow-targets \"10.0.0.0/8, x\" "
                                      "--verbose", &a, err, sizeof err), 0);
    assert_int_equal(a.n, 5);
    assert_string_equal(a.argv[0], "--lag-threshold");
    assert_string_equal(a.argv[1], "50ms");
    assert_string_equal(a.argv[3], "10.0.0.0/8, x");   /* quotes keep blanks, and go */
    assert_string_equal(a.argv[4], "--verbose");
    assert_int_equal(a.source_ips, 0);
    assert_int_equal(local_args_split("--source-ips='127.9.0.1-127.9.0.4'", &a, err, sizeof err), 0);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.argv[0], "--source-ips=127.9.0.1-127.9.0.4");
    assert_int_equal(a.source_ips, 1);
    assert_int_equal(local_args_split("--source-ipsx 1", &a, err, sizeof err), 0);
    assert_int_equal(a.source_ips, 0);
    assert_int_equal(local_args_split("", &a, err, sizeof err), 0);
    assert_int_equal(a.n, 0);
    assert_int_equal(local_args_split("a'' \"\"", &a, err, sizeof err), 0);   /* "a" and "" */
    assert_int_equal(a.n, 2);
    assert_string_equal(a.argv[0], "a");
    assert_string_equal(a.argv[1], "");
}

static void test_args_refused(void **state)
{
    (void)state;
    struct local_args a;
    char err[256];
    static const struct { const char *spec, *msg; } bad[] = {
        {"--name x", "--agent-args: --name is set by the controller"},
        {"--controller=tcp://h:1", "--agent-args: --controller=tcp://h:1 is set by the controller"},
        {"-v --once", "--agent-args: --once is set"},
        {"--help", "--agent-args: --help is set"},
        {"-h", "--agent-args: -h is set"},
        {"--version", "--agent-args: --version is set"},
        {"--x 'a b", "--agent-args: the ' quote at byte 5 is not closed"},
        {"\"", "--agent-args: the \" quote at byte 1 is not closed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_int_equal(local_args_split(bad[i].spec, &a, err, sizeof err), -1);
        if (!strstr(err, bad[i].msg))
            fail_msg("%s: got \"%s\", want \"%s\"", bad[i].spec, err, bad[i].msg);
    }
    /* --namex is not --name */
    assert_int_equal(local_args_split("--namex", &a, err, sizeof err), 0);
    char many[4 * LOCAL_ARGS_MAX + 8] = "";
    for (int i = 0; i <= LOCAL_ARGS_MAX; i++)
        strcat(many, "-x ");
    assert_int_equal(local_args_split(many, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "more than 32 words"));
    char big[LOCAL_ARGS_BYTES + 10];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(local_args_split(big, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "longer than 1023 bytes"));
    /* words that fill the buffer exactly, then an empty one: no byte past it */
    memset(big, 'y', LOCAL_ARGS_BYTES - 1);
    big[LOCAL_ARGS_BYTES - 1] = 0;           /* 1023 bytes + NUL: fits */
    assert_int_equal(local_args_split(big, &a, err, sizeof err), 0);
    assert_int_equal(strlen(a.argv[0]), LOCAL_ARGS_BYTES - 1);
    big[LOCAL_ARGS_BYTES - 3] = ' ';         /* 1021 + NUL, then "y" + NUL */
    assert_int_equal(local_args_split(big, &a, err, sizeof err), 0);
    char edge[LOCAL_ARGS_BYTES + 8];
    memset(edge, 'y', LOCAL_ARGS_BYTES - 1);
    strcpy(edge + LOCAL_ARGS_BYTES - 1, " ''");   /* the buffer is full: '' has no room */
    assert_int_equal(local_args_split(edge, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "longer than 1023 bytes"));
}

static struct plan *parse(const char *yaml)
{
    struct plan *p = calloc(1, sizeof *p);
    char err[PLAN_ERR_MAX];
    assert_non_null(p);
    if (plan_parse("t.yaml", yaml, strlen(yaml), p, err, sizeof err) != 0)
        fail_msg("%s", err);
    return p;
}

#define TARGET(host) "  - {ws: \"ws://" host ":9/ws?u={conn}\", push: \"http://" host ":9/p\"}\n"
#define PHASES(n) "connections: {total: " #n "}\nphases:\n  - ramp: {to: " #n ", rate: 1k/s}\n"

static void test_expect(void **state)
{
    (void)state;
    struct plan *p = parse("name: t\ntargets:\n" TARGET("127.0.0.1") PHASES(10));
    assert_int_equal(local_plan_expect(p, 3), 3);
    assert_int_equal(p->agents.expect, 3);           /* not in the plan: --local-agents */
    free(p);
    p = parse("name: t\ntargets:\n" TARGET("127.0.0.1") "agents: {expect: 2}\n" PHASES(10));
    assert_int_equal(local_plan_expect(p, 3), 2);    /* the plan's wins: only 2 start */
    assert_int_equal(p->agents.expect, 2);
    assert_int_equal(local_plan_expect(p, 1), 1);    /* one here, one from elsewhere */
    assert_int_equal(p->agents.expect, 2);
    free(p);
}

/* half of one address's usable ports, as local_plan.c counts them */
static uint64_t half_usable(void)
{
    unsigned lo = 32768, hi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        assert_int_equal(fscanf(f, "%u %u", &lo, &hi), 2);
        fclose(f);
    }
    return ((uint64_t)hi - lo + 1 - 1024) / 2;
}

static void test_sources(void **state)
{
    (void)state;
    char src[LOCAL_MAX_AGENTS][LOCAL_SRC_MAX], want[LOCAL_SRC_MAX];
    struct plan *p = parse("name: t\ntargets:\n" TARGET("127.0.0.1") TARGET("127.4.5.6") PHASES(10));
    p->agents.expect = 2;
    assert_int_equal(local_plan_sources(p, 2, src), 1);
    assert_string_equal(src[0], "127.101.1.1-127.101.1.2");   /* at least 2 each */
    assert_string_equal(src[1], "127.101.2.1-127.101.2.2");
    free(p);

    /* a share of 5 addresses' worth: 5 (split even over 2 agents) */
    uint64_t per = half_usable();
    char yaml[512];
    snprintf(yaml, sizeof yaml, "name: t\ntargets:\n" TARGET("127.0.0.1")
             "connections: {total: %llu}\nphases:\n  - ramp: {to: %llu, rate: 1k/s}\n",
             (unsigned long long)(10 * per), (unsigned long long)(10 * per));
    p = parse(yaml);
    p->agents.expect = 2;
    assert_int_equal(local_plan_sources(p, 2, src), 1);
    assert_string_equal(src[1], "127.101.2.1-127.101.2.5");
    p->agents.by_capacity = 1;                       /* one agent may get them all */
    assert_int_equal(local_plan_sources(p, 2, src), 1);
    assert_string_equal(src[0], "127.101.1.1-127.101.1.10");
    p->agents.by_capacity = 0;
    p->agents.expect = 10;                           /* 8 more from elsewhere: shares of 1 */
    assert_int_equal(local_plan_sources(p, 2, src), 1);
    assert_string_equal(src[1], "127.101.2.1-127.101.2.2");
    free(p);

    /* more than 64 addresses' worth is capped at the agent's 64 */
    snprintf(yaml, sizeof yaml, "name: t\ntargets:\n" TARGET("127.0.0.1")
             "connections: {total: %llu}\nphases:\n  - ramp: {to: %llu, rate: 1k/s}\n",
             (unsigned long long)(100 * per), (unsigned long long)(100 * per));
    p = parse(yaml);
    assert_int_equal(local_plan_sources(p, 1, src), 1);
    snprintf(want, sizeof want, "127.101.1.1-127.101.1.%d", 64);
    assert_string_equal(src[0], want);
    free(p);

    /* any target off loopback (or not an IPv4 address): no ranges */
    static const char *const off[] = {
        "name: t\ntargets:\n" TARGET("127.0.0.1") TARGET("10.0.0.1") PHASES(10),
        "name: t\ntargets:\n" TARGET("localhost") PHASES(10),
        "name: t\ntargets:\n" TARGET("[::1]") PHASES(10),
        "name: t\ntargets:\n" TARGET("128.0.0.1") PHASES(10),
    };
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
        p = parse(off[i]);
        strcpy(src[0], "untouched");
        assert_int_equal(local_plan_sources(p, 1, src), 0);
        assert_string_equal(src[0], "untouched");
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args_words),
        cmocka_unit_test(test_args_refused),
        cmocka_unit_test(test_expect),
        cmocka_unit_test(test_sources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
