/* test_clock.c: the agent's clock-offset filter (clock.c).
 *
 * Every corrected latency of a run depends on this estimate, so the tests pin
 * each rule of the filter with round trips whose true offset is known: NTP's
 * offset formula and its sign (controller minus agent), the least delayed of
 * the last 64 samples winning, the window forgetting older samples so the
 * estimate follows drift, a negative delay (clocks stepped mid-trip) counted
 * as none, and the error bound of half the winning delay. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "agent.h"

#define WINDOW 64

static int setup(void **state)
{
    *state = calloc(1, sizeof(struct agent));
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* One round trip at agent time t1: `out` us to the controller, `back` us back,
 * `hold` us inside it, the controller's clock `offset` us ahead of the agent's. */
static void trip(struct agent *ag, int64_t t1, int64_t offset, int64_t out, int64_t back,
                 int64_t hold)
{
    int64_t t2 = t1 + out + offset, t3 = t2 + hold, t4 = t1 + out + hold + back;
    agent_clock_sample(ag, t1, t2, t3, t4);
}

static void test_symmetric_trip_is_exact(void **state)
{
    struct agent *ag = *state;
    trip(ag, 1000000, -3000000, 400, 400, 50);   /* agent 3 s ahead, as in test_clock_skew */
    assert_int_equal(agent_clock_offset(ag), -3000000);
    assert_int_equal(ag->offset_err_us, 400 + 1);   /* delay 800 us, half of it, +1 */
    trip(ag, 2000000, 250000, 100, 100, 0);
    assert_int_equal(agent_clock_offset(ag), 250000);   /* less delay: the new one wins */
    assert_int_equal(ag->offset_err_us, 100 + 1);
}

static void test_least_delayed_wins(void **state)
{
    struct agent *ag = *state;
    /* an asymmetric trip is off by half the asymmetry, within its bound */
    trip(ag, 0, 5000, 3000, 1000, 0);
    assert_int_equal(agent_clock_offset(ag), 5000 + 1000);
    assert_int_equal(ag->offset_err_us, 2000 + 1);
    trip(ag, 200000, 5000, 150, 50, 0);   /* 200 us round trip: the best so far */
    assert_int_equal(agent_clock_offset(ag), 5000 + 50);
    assert_int_equal(ag->offset_err_us, 100 + 1);
    /* queued trips afterwards do not move it */
    for (int i = 0; i < 20; i++)
        trip(ag, 400000 + i * 200000, 5000, 20000 + i, 500, 0);
    assert_int_equal(agent_clock_offset(ag), 5050);
    assert_int_equal(ag->offset_err_us, 101);
    assert_int_equal(ag->clk_n, 22);
}

static void test_window_follows_drift(void **state)
{
    struct agent *ag = *state;
    trip(ag, 0, 1000, 10, 10, 0);   /* a very good early sample */
    for (int i = 1; i < WINDOW; i++)
        trip(ag, i * 200000, 1000 + i, 500 + i, 500 + i, 0);
    assert_int_equal(agent_clock_offset(ag), 1000);   /* still in the window */
    assert_int_equal(ag->clk_n, WINDOW);
    /* one sample more pushes it out; the best of the rest (round trips of
     * 1002 us and up, the newest the slowest) takes over */
    trip(ag, WINDOW * 200000, 1000 + WINDOW, 500 + WINDOW, 500 + WINDOW, 0);
    assert_int_equal(agent_clock_offset(ag), 1001);
    assert_int_equal(ag->offset_err_us, 502);
    assert_int_equal(ag->clk_n, WINDOW);
    /* a full window later only the drifted clock is left */
    for (int i = 0; i < WINDOW; i++)
        trip(ag, (WINDOW + 1 + i) * 200000, 90000, 500, 500, 0);
    assert_int_equal(agent_clock_offset(ag), 90000);
}

static void test_negative_delay_counts_as_none(void **state)
{
    struct agent *ag = *state;
    trip(ag, 0, 0, 300, 300, 0);
    /* the controller says it held the request longer than the whole trip took */
    agent_clock_sample(ag, 1000000, 1000100, 1000900, 1000200);
    assert_int_equal(agent_clock_offset(ag), ((100) + (1000900 - 1000200)) / 2);
    assert_int_equal(ag->offset_err_us, 1);
}

static void test_wall_adds_test_skew(void **state)
{
    struct agent *ag = *state;
    int64_t before = agent_clock_wall(ag);
    ag->clock_skew_us = 3000000;
    int64_t skewed = agent_clock_wall(ag);
    assert_true(skewed - before >= 3000000 && skewed - before < 3000000 + 1000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_symmetric_trip_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_least_delayed_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_follows_drift, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negative_delay_counts_as_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wall_adds_test_skew, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
