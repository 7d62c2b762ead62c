/* clock.c: the agent's wall clock and its offset to the controller.
 *
 * Every TICK/REPLY round trip gives T1 (agent send), T2/T3 (controller receive
 * and send) and T4 (agent receive). NTP's formulas give an offset and the
 * round-trip delay; the true offset lies within delay/2 of the estimate. The
 * sample with the smallest delay among the last 64 (about 13 s of ticks) wins:
 * queueing only ever adds delay, so the least delayed sample is the least
 * distorted, and the window lets the estimate follow slow drift.
 *
 * Test builds (PS_TEST_HOOKS) read PS_TEST_CLOCK_SKEW_US at start and add it to
 * every wall-clock reading, so a test can run an agent whose clock is wrong by
 * a known amount and check that the controller's corrected latencies are right. */
#include "agent.h"

#include "ps_time.h"

int64_t agent_clock_wall(const struct agent *ag)
{
    return ps_time_wall_us() + ag->clock_skew_us;
}

void agent_clock_sample(struct agent *ag, int64_t t1, int64_t t2, int64_t t3, int64_t t4)
{
    int64_t delay = (t4 - t1) - (t3 - t2);
    if (delay < 0)
        delay = 0;
    int64_t offset = ((t2 - t1) + (t3 - t4)) / 2;
    uint32_t cap = sizeof ag->clk_delay / sizeof ag->clk_delay[0];
    ag->clk_offset[ag->clk_next] = offset;
    ag->clk_delay[ag->clk_next] = delay;
    ag->clk_next = (ag->clk_next + 1) % cap;
    if (ag->clk_n < cap)
        ag->clk_n++;
    uint32_t best = 0;
    for (uint32_t i = 1; i < ag->clk_n; i++)
        if (ag->clk_delay[i] < ag->clk_delay[best])
            best = i;
    __atomic_store_n(&ag->offset_us, ag->clk_offset[best], __ATOMIC_RELAXED);
    ag->offset_err_us = ag->clk_delay[best] / 2 + 1;
}

int64_t agent_clock_offset(const struct agent *ag)
{
    return __atomic_load_n(&ag->offset_us, __ATOMIC_RELAXED);
}
