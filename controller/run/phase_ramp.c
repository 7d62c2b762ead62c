/* phase_ramp: the phases that open connections and keep them (ramp, hold).
 *
 * A ramp's target is shared among the live agents in proportion to their
 * ranges, and so is its rate; every agent gets the same start_at, an absolute
 * controller time a little in the future (RUN_START_LEAD_US), so all agents
 * begin together. The ramp ends when the ledger counts the target up, or when
 * there is nothing left to try (every agent idle after the planned ramp time,
 * its events flushed), or at its timeout. At its end each agent's start skew
 * is measured (run_analytics.c). A hold only waits. */
#include "run_internal.h"

#include <stdio.h>

static void phase_ramp_start(struct run *r, const struct plan_phase *ph)
{
    uint64_t share[RUN_MAX_AGENTS];
    r->ps.ramp_from = ledger_n_up(&r->ledger);
    for (uint32_t i = 0; i < r->n_agents; i++)
        r->agents[i].ramp_begin = 0;
    run_split(r, ph->u.ramp.to, share);
    for (uint32_t i = 0; i < r->n_agents; i++) {
        struct run_agent *a = &r->agents[i];
        if (a->lost_at)
            continue;
        struct run_cmd *c = run_cmd_push(a, PS_CMD_RAMP);
        c->u.ramp.to = (uint32_t)share[i];
        c->u.ramp.rate = ph->u.ramp.rate * (double)share[i] / (double)ph->u.ramp.to;
        c->u.ramp.start_at = r->ps.start_at;
    }
}

static int phase_ramp_step(struct run *r, const struct plan_phase *ph, const struct run_now *now)
{
    uint32_t up = ledger_n_up(&r->ledger);
    if (up >= ph->u.ramp.to)
        return 1;
    /* Nothing left to try: every agent idle after the planned ramp time. */
    double span_s = (double)(ph->u.ramp.to - r->ps.ramp_from) / ph->u.ramp.rate;
    int64_t planned_end = r->ps.start_at + (int64_t)(span_s * 1e6) + 1000000;
    if (now->wall > planned_end && !r->plan->reconnect.min_us) {
        int idle = 1;
        for (uint32_t i = 0; i < r->n_agents; i++)
            if (!r->agents[i].lost_at && (r->agents[i].stats.connecting ||
                                          r->agents[i].stats.second * 1000000 < planned_end))
                idle = 0;
        if (idle && run_drained(r, planned_end))
            return 1;
    }
    if (now->elapsed > ph->u.ramp.timeout_us) {
        if (!r->opts->quiet)
            progress_say(&r->progress, "ramp timed out after %.1fs with %u of %llu connected\n",
                         now->elapsed / 1e6, up, (unsigned long long)ph->u.ramp.to);
        return 1;
    }
    return 0;
}

static void phase_ramp_end(struct run *r, const struct plan_phase *ph, char *note, size_t len)
{
    snprintf(note, len, "%u connected of %llu", ledger_n_up(&r->ledger),
             (unsigned long long)ph->u.ramp.to);
    run_start_skew(r);
}

static int phase_hold_step(struct run *r, const struct plan_phase *ph, const struct run_now *now)
{
    (void)r;
    return now->elapsed >= ph->u.hold.duration_us;
}

const struct run_phase_ops phase_ramp_ops = {phase_ramp_start, phase_ramp_step, phase_ramp_end};
const struct run_phase_ops phase_hold_ops = {NULL, phase_hold_step, NULL};
