/* plan_split: how a plan's connections are divided among agents and targets.
 *
 * Shared by `pushstorm run` (run.c assigns the ranges and shares) and
 * `pushstorm check` (which prints them), so what check shows is what a run
 * does. The arithmetic is integer and exact: ranges tile 0..total with the
 * remainder one each to the first agents, proportional shares add up to the
 * total and never exceed a weight, and connection c goes to target
 * c mod n_targets (the agents' rule, agent/conn.c). */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>

uint64_t plan_max_connections(const struct plan *p)
{
    uint64_t max = 0;
    for (uint32_t i = 0; i < p->n_phases; i++)
        if (p->phases[i].kind == PLAN_PHASE_RAMP && p->phases[i].u.ramp.to > max)
            max = p->phases[i].u.ramp.to;
    return max;
}

void plan_split(uint64_t total, const uint64_t *weight, uint32_t n, uint64_t *share)
{
    /* Proportional shares rounded down, then the remainder one by one to the
     * first agents that still have room, so the shares add up exactly. */
    uint64_t given = 0, sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += weight[i];
    for (uint32_t i = 0; i < n; i++) {
        /* long double: total * weight overflows 64 bits only past ~4e9 each */
        share[i] = sum ? (uint64_t)((long double)total * weight[i] / sum) : 0;
        given += share[i];
    }
    for (uint32_t i = 0; given < total && i < n; i++)
        if (share[i] < weight[i]) {
            share[i]++;
            given++;
        }
}

void plan_agent_range(uint64_t total, uint32_t n_agents, uint32_t i, uint64_t *first,
                      uint64_t *count)
{
    uint64_t base = n_agents ? total / n_agents : 0, extra = n_agents ? total % n_agents : 0;
    *count = base + (i < extra);
    *first = base * i + (i < extra ? i : extra);
}

/* Each ramp's shares are worked out once for all agents (rows of one array,
 * ramp-major), not once per agent printed: one plan_split per agent would make
 * check quadratic in agents.expect. */
void plan_print_split(const struct plan *p, FILE *out)
{
    uint32_t n = p->agents.expect, n_ramps = 0;
    uint64_t total = plan_max_connections(p);
    for (uint32_t ph = 0; ph < p->n_phases; ph++)
        n_ramps += p->phases[ph].kind == PLAN_PHASE_RAMP;
    uint64_t *weight = calloc(n ? n : 1, sizeof *weight);
    uint64_t *share = calloc((size_t)(n ? n : 1) * (n_ramps ? n_ramps : 1), sizeof *share);
    if (!weight || !share) {
        fprintf(out, "  (out of memory for the split)\n");
        free(weight);
        free(share);
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t first;
        plan_agent_range(total, n, i, &first, &weight[i]);
    }
    if (p->agents.by_capacity) {
        fprintf(out, "split over %u agents by capacity: decided when they join, in proportion to "
                     "what each can hold (fd limit, memory) as its hello reports; ramps follow "
                     "the connections\n", n);
        free(weight);
        free(share);
        return;
    }
    for (uint32_t ph = 0, r = 0; ph < p->n_phases; ph++)
        if (p->phases[ph].kind == PLAN_PHASE_RAMP)
            plan_split(p->phases[ph].u.ramp.to, weight, n, share + (size_t)n * r++);
    fprintf(out, "split over %u agents (ramps are shared in proportion to the connections):\n", n);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t first, count;
        plan_agent_range(total, n, i, &first, &count);
        if (count)
            fprintf(out, "  agent %u: connections %llu-%llu (%llu)", i + 1,
                    (unsigned long long)first, (unsigned long long)(first + count - 1),
                    (unsigned long long)count);
        else
            fprintf(out, "  agent %u: no connections", i + 1);
        /* connection c goes to target c mod n_targets: a few targets are worth a count each */
        if (count && p->n_targets > 1 && p->n_targets <= 4) {
            for (uint32_t t = 0; t < p->n_targets; t++) {
                uint64_t lo = first, hi = first + count, nt = p->n_targets;
                uint64_t k = (hi + nt - 1 - t) / nt - (lo + nt - 1 - t) / nt;
                fprintf(out, "%s target %u: %llu", t ? "," : ";", t + 1, (unsigned long long)k);
            }
        }
        uint32_t r = 0;
        for (uint32_t ph = 0; ph < p->n_phases; ph++) {
            if (p->phases[ph].kind != PLAN_PHASE_RAMP)
                continue;
            uint64_t to = p->phases[ph].u.ramp.to, mine = share[(size_t)n * r + i];
            fprintf(out, "%s phase %u ramp: %llu at %.4g/s", r++ ? "," : ";", ph + 1,
                    (unsigned long long)mine, p->phases[ph].u.ramp.rate * (double)mine / (double)to);
        }
        fputc('\n', out);
    }
    free(weight);
    free(share);
}
