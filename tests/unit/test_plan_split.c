/* test_plan_split.c: the split arithmetic, exhaustively over small cases.
 *
 * plan_agent_range must tile 0..total with counts that differ by at most one,
 * the larger ones first, for every small total and agent count; plan_split
 * must add up to the total, stay within each weight and within one of the
 * exact proportion, for every small set of weights. What `pushstorm check`
 * prints from them (plan_print_split) is compared line for line with figures
 * worked out by hand. test_plan.c keeps its own spot checks of the same
 * functions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "plan.h"

static void test_agent_range_tiles(void **state)
{
    (void)state;
    for (uint64_t total = 0; total <= 40; total++)
        for (uint32_t n = 1; n <= 9; n++) {
            uint64_t next = 0, prev = UINT64_MAX;
            for (uint32_t i = 0; i < n; i++) {
                uint64_t first, count;
                plan_agent_range(total, n, i, &first, &count);
                assert_int_equal(first, next);
                assert_true(count == total / n || count == total / n + 1);
                assert_true(count <= prev);          /* the remainder goes to the first */
                prev = count;
                next = first + count;
            }
            assert_int_equal(next, total);
        }
    uint64_t first = 9, count = 9;
    plan_agent_range(10, 0, 0, &first, &count);   /* no agents: nothing to hand out */
    assert_int_equal(count, 0);
    plan_agent_range(UINT64_MAX, 2, 1, &first, &count);
    assert_int_equal(first, UINT64_MAX / 2 + 1);
    assert_int_equal(count, UINT64_MAX / 2);
}

static void test_split_exhaustive(void **state)
{
    (void)state;
    uint64_t w[3], share[3];
    for (w[0] = 0; w[0] <= 5; w[0]++)
        for (w[1] = 0; w[1] <= 5; w[1]++)
            for (w[2] = 0; w[2] <= 5; w[2]++) {
                uint64_t sum = w[0] + w[1] + w[2];
                for (uint64_t total = 0; total <= sum; total++) {
                    plan_split(total, w, 3, share);
                    assert_int_equal(share[0] + share[1] + share[2], total);
                    for (int i = 0; i < 3; i++) {
                        uint64_t floor_share = sum ? total * w[i] / sum : 0;
                        assert_true(share[i] <= w[i]);
                        assert_true(share[i] >= floor_share && share[i] <= floor_share + 1);
                    }
                }
            }
    uint64_t none[2] = {0, 0};
    share[0] = share[1] = 9;
    plan_split(0, none, 2, share);      /* no capacity anywhere: nothing, not a division by 0 */
    assert_int_equal(share[0], 0);
    assert_int_equal(share[1], 0);
}

/* What plan_print_split writes for a plan, as one string. */
static char *print_split(const char *yaml)
{
    struct plan *p = calloc(1, sizeof *p);
    char err[PLAN_ERR_MAX], *out = NULL;
    size_t len = 0;
    assert_non_null(p);
    if (plan_parse("t.yaml", yaml, strlen(yaml), p, err, sizeof err) != 0) {
        print_error("unexpected error: %s\n", err);
        fail();
    }
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    plan_print_split(p, f);
    assert_int_equal(fclose(f), 0);
    free(p);
    return out;
}

#define TARGET(h) "  - {ws: \"ws://" h ":1/ws?uid={conn}\", push: \"http://" h ":1/push?uid={conn}\"}\n"

static void test_print_split(void **state)
{
    (void)state;
    /* 10 over 3 agents: 4, 3, 3; connection c to target c mod 2; the ramp to 4
     * gets 4*4/10, 4*3/10, 4*3/10 rounded down (1, 1, 1) plus the one left to
     * agent 1; rates follow the shares (2/s * 2/4 = 1/s). Phase numbers count
     * every phase, not only ramps. */
    char *s = print_split("name: s\ntargets:\n" TARGET("a") TARGET("b")
                          "agents: {expect: 3}\nconnections: {total: 10}\nphases:\n"
                          "  - ramp: {to: 4, rate: 2/s}\n  - hold: 1s\n"
                          "  - ramp: {to: 10, rate: 5/s}\n");
    assert_string_equal(s,
        "split over 3 agents (ramps are shared in proportion to the connections):\n"
        "  agent 1: connections 0-3 (4); target 1: 2, target 2: 2;"
        " phase 1 ramp: 2 at 1/s, phase 3 ramp: 4 at 2/s\n"
        "  agent 2: connections 4-6 (3); target 1: 2, target 2: 1;"
        " phase 1 ramp: 1 at 0.5/s, phase 3 ramp: 3 at 1.5/s\n"
        "  agent 3: connections 7-9 (3); target 1: 1, target 2: 2;"
        " phase 1 ramp: 1 at 0.5/s, phase 3 ramp: 3 at 1.5/s\n");
    free(s);

    /* more agents than connections, and more than 4 targets (no per-target counts) */
    s = print_split("name: s\ntargets:\n" TARGET("a") TARGET("b") TARGET("c") TARGET("d")
                    TARGET("e") "agents: {expect: 3}\nconnections: {total: 5}\nphases:\n"
                    "  - ramp: {to: 2, rate: 1/s}\n");
    assert_string_equal(s,
        "split over 3 agents (ramps are shared in proportion to the connections):\n"
        "  agent 1: connections 0-0 (1); phase 1 ramp: 1 at 0.5/s\n"
        "  agent 2: connections 1-1 (1); phase 1 ramp: 1 at 0.5/s\n"
        "  agent 3: no connections; phase 1 ramp: 0 at 0/s\n");
    free(s);

    /* by capacity, the split is only known once the agents have said hello */
    s = print_split("name: s\ntargets:\n" TARGET("a")
                    "agents: {expect: 2, split: capacity}\nconnections: {total: 5}\nphases:\n"
                    "  - ramp: {to: 5, rate: 1/s}\n");
    assert_string_equal(s,
        "split over 2 agents by capacity: decided when they join, in proportion to what each "
        "can hold (fd limit, memory) as its hello reports; ramps follow the connections\n");
    free(s);
}

/* agents.expect is bounded by the controller's agent slots at check time, with
 * file:line:col, so check never accepts what a run refuses. At the cap, the
 * split printed is whole: every agent has its line and each ramp's shares add
 * up to the ramp. (check once worked each ramp out again for every agent
 * printed: 40k agents took 10 s, 1.5M never ended; the ctest timeout of the
 * unit run bounds this test.) */
static void test_print_split_agent_cap(void **state)
{
    (void)state;
    static const char *refused[] = {"1025", "40k", "1.5M"};
    for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++) {
        char yaml[512], err[PLAN_ERR_MAX] = "";
        struct plan *p = calloc(1, sizeof *p);
        assert_non_null(p);
        int n = snprintf(yaml, sizeof yaml, "name: s\ntargets:\n" TARGET("a")
                         "agents: {expect: %s}\nconnections: {total: 10M}\nphases:\n"
                         "  - ramp: {to: 10M, rate: 1000/s}\n", refused[k]);
        assert_int_equal(plan_parse("t.yaml", yaml, (size_t)n, p, err, sizeof err), -1);
        if (strncmp(err, "t.yaml:4:18: agents.expect: too large", 37) || !strstr(err, "at most 1024")) {
            print_error("expect %s: %s\n", refused[k], err);
            fail();
        }
        free(p);
    }
    char *s = print_split("name: s\ntargets:\n" TARGET("a")
                          "agents: {expect: 1024}\nconnections: {total: 1.5M}\nphases:\n"
                          "  - ramp: {to: 1000, rate: 100/s}\n  - hold: 1s\n"
                          "  - ramp: {to: 1.5M, rate: 1000/s}\n");
    uint32_t lines = 0;
    unsigned long long sum1 = 0, sum3 = 0;
    for (char *line = strchr(s, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        unsigned long long a, b;
        char *r1 = strstr(line, "phase 1 ramp: "), *r3 = strstr(line, "phase 3 ramp: ");
        assert_non_null(r1);
        assert_non_null(r3);
        assert_int_equal(sscanf(r1, "phase 1 ramp: %llu", &a), 1);
        assert_int_equal(sscanf(r3, "phase 3 ramp: %llu", &b), 1);
        sum1 += a;
        sum3 += b;
        lines++;
    }
    assert_int_equal(lines, 1024);
    assert_int_equal(sum1, 1000);
    assert_int_equal(sum3, 1500000);
    /* 1.5M = 1024 * 1464 + 864: the first 864 agents hold one more; the ramp to
     * 1000 rounds every share down to 0, then one each to the first 1000 */
    assert_non_null(strstr(s, "  agent 1000: connections 1463400-1464863 (1464); "
                              "phase 1 ramp: 1 at 0.1/s, phase 3 ramp: 1464 at 0.976/s\n"));
    assert_non_null(strstr(s, "  agent 1024: connections 1498536-1499999 (1464); "
                              "phase 1 ramp: 0 at 0/s, phase 3 ramp: 1464 at 0.976/s\n"));
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agent_range_tiles),
        cmocka_unit_test(test_split_exhaustive),
        cmocka_unit_test(test_print_split),
        cmocka_unit_test(test_print_split_agent_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
