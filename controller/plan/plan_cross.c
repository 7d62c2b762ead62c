/* plan_cross: the rules that tie sections of a plan together.
 *
 * YAML keys may come in any order (connections after phases, reconnect after
 * the phases that wait for it), so a rule comparing two sections cannot run
 * while the first is read. The walk (plan_sections.c) remembers in struct
 * plan_ctx the nodes such a rule may need to blame; this pass runs once the
 * whole document has been read, so the error still names the line and column
 * of the value at fault rather than the end of the file. */
#include "plan_schema.h"

#include <stdio.h>

/* Rules that tie sections together; the walk has filled everything they read. */
int plan_cross_check(struct plan_ctx *c)
{
    struct plan *p = c->p;
    int ramps = 0;
    for (uint32_t i = 0; i < p->n_phases; i++) {
        const struct plan_phase *ph = &p->phases[i];
        char path[PLAN_PATH_MAX], kpath[PLAN_PATH_MAX];
        snprintf(path, sizeof(path), "phases[%u].%s", i, plan_phase_name(ph->kind));
        if (ph->kind == PLAN_PHASE_RAMP) {
            ramps++;
            if (ph->u.ramp.to > p->connections.total) {
                plan_path_key(kpath, path, "to");
                return plan_fail(c, c->ramp_to[i], kpath, "%llu is above connections.total (%llu)",
                                 (unsigned long long)ph->u.ramp.to,
                                 (unsigned long long)p->connections.total);
            }
        }
        if (c->recipients[i] && ph->u.push.recipients > p->connections.total) {
            plan_path_key(kpath, path, "recipients");
            return plan_fail(c, c->recipients[i], kpath, "%u is above connections.total (%llu)",
                             ph->u.push.recipients, (unsigned long long)p->connections.total);
        }
        if (c->needs_reconnect[i] && !c->reconnect_set) {
            plan_path_key(kpath, path, ph->kind == PLAN_PHASE_EXEC ? "expect_reconnect" : "fraction");
            return plan_fail(c, c->needs_reconnect[i], kpath, "waits for reconnections, but the "
                             "plan has no reconnect section, so closed connections stay closed");
        }
    }
    if (plan_session_check_heartbeat(c) < 0 || plan_protocol_check(c) < 0)
        return -1;
    if (!ramps)
        return plan_fail(c, c->phases_node, "phases", "no ramp phase, so no connection would "
                         "open; add one like - ramp: {to: 1000, rate: 500/s}");
    return 0;
}
