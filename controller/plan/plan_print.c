/* plan_print: what `pushstorm check` prints about a valid plan besides the
 * split (plan_split.c): the targets' client protocols and push adapters, and
 * the phases.
 *
 * A plan of WebSocket clients pushed over HTTP(S) prints as it did before
 * client protocols and push adapters existed (issue 13), so scripts reading
 * `check` see no change; any other plan lists every target, the plain ones
 * too, because what a target speaks is then worth reading before a run. */
#include "plan.h"

void plan_print_targets(const struct plan *p, FILE *out)
{
    char s[16];
    if (plan_targets_plain(p))
        return;
    fprintf(out, "targets (client protocol, push adapter):\n");
    for (uint32_t k = 0; k < p->n_targets; k++)
        fprintf(out, "  target %u: %s, push %s: %s\n", k + 1,
                ps_protocol_name(p->targets[k].protocol),
                plan_target_push_scheme(&p->targets[k], s, sizeof s), p->targets[k].ws);
}

void plan_print_phases(const struct plan *p, FILE *out)
{
    int plain = plan_targets_plain(p);
    for (uint32_t i = 0; i < p->n_phases; i++) {
        const struct plan_phase *ph = &p->phases[i];
        char s[16];
        fprintf(out, "  phase %u (line %d): %s", i + 1, ph->line, plan_phase_name(ph->kind));
        if (!plain && ph->kind == PLAN_PHASE_PUSH && ph->u.push.url[0])
            fprintf(out, " through %s (its own URL)", plan_push_scheme(ph->u.push.url, s, sizeof s));
        fputc('\n', out);
    }
}
