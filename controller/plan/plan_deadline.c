/* plan_deadline: how long a phase, and a run, may take before it is cut off.
 *
 * A phase that waits on something that never comes (a push phase with no
 * connection up, a fault command that hangs) must not hold a nightly run
 * forever, so every phase has a deadline, and so has the run. The default is
 * computed from what the phase would take when everything goes to plan (its
 * nominal time) plus a margin, so that a phase is only cut off when it is
 * clearly stuck; a plan can set `deadline:` on any phase, and on the run.
 * The numbers below are the ones docs/plan.md documents. */
#include "plan.h"

#define PLAN_DEADLINE_MARGIN_US  30000000   /* at least 30 s over nominal */
#define PLAN_PUSH_DRAIN_US        5000000   /* events after the last deadline (RUN_DRAIN_MAX_US) */
#define PLAN_PUSH_HTTP_US        10000000   /* the push API call timeout (run.c's pusher) */
#define PLAN_DISCONNECT_US        2000000   /* start lead + close events */

int64_t plan_phase_nominal_us(const struct plan_phase *ph)
{
    switch (ph->kind) {
    case PLAN_PHASE_RAMP:
        return ph->u.ramp.timeout_us;
    case PLAN_PHASE_HOLD:
        return ph->u.hold.duration_us;
    case PLAN_PHASE_PUSH: {
        double send_us = (double)ph->u.push.count / ph->u.push.rate * 1e6;
        if (send_us > (double)(INT64_MAX / 8))
            return INT64_MAX / 8;
        return (int64_t)send_us + ph->u.push.grace_us + PLAN_PUSH_DRAIN_US + PLAN_PUSH_HTTP_US;
    }
    case PLAN_PHASE_DISCONNECT:
        return PLAN_DISCONNECT_US + PLAN_PUSH_DRAIN_US;
    case PLAN_PHASE_EXEC:
        return ph->u.exec.within_us;
    case PLAN_PHASE_WAIT_RECONNECT:
        return ph->u.wait_reconnect.within_us;
    }
    return 0;
}

int64_t plan_phase_default_deadline_us(const struct plan_phase *ph)
{
    int64_t nominal = plan_phase_nominal_us(ph);
    if (nominal > INT64_MAX / 8)
        return INT64_MAX / 4;
    int64_t margin = nominal / 2 > PLAN_DEADLINE_MARGIN_US ? nominal / 2 : PLAN_DEADLINE_MARGIN_US;
    return nominal + margin;
}
