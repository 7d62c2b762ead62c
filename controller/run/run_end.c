/* run_end: the end of a campaign, complete or saying what it misses.
 *
 * After the last phase (or when the run fails) every live agent that was given
 * its assignment is sent STOP: it closes its connections, flushes its events
 * and then says so in a tick (stopped = 1) that carries the last batch
 * sequence it sent on each thread (docs/protocol.md). That tick, once every
 * batch up to it is stored, is the agent's final report: its closes and
 * events in the ledger are complete from then on, and its control connection
 * closing (an agent started with --once exits) ends its run; it is not a loss.
 *
 * The wait is bounded by the plan's agents.final_wait (default 30 s + 1 s per
 * 10,000 connections: closing 204,000 took 13 s on this 2-core machine). An
 * agent whose final report is not in by then (stalled, lost during the stop,
 * still closing, its last batches not arrived) is named on stderr, counted in
 * the figure agents_final_missing and named in the run's reason, and the run
 * fails (exit 2): counts that miss an agent's last closes and events are no
 * result to pass or fail a service on. A second interrupt ends the wait at
 * once, with the same account. Agents lost before the stop are not waited
 * for: their connections are already accounted as agent lost (run_link.c). */
#include "run_internal.h"

#include <stdio.h>
#include <string.h>

#include "ps_time.h"
#include "ps_units.h"

#define RUN_END_QUIET_US 1000000   /* no tick for this long: say it is silent */

void run_end_begin(struct run *r)
{
    r->end.since_mono = ps_time_mono_us();
    r->end.due = 0;
    for (uint32_t i = 0; i < r->n_agents; i++) {
        struct run_agent *a = &r->agents[i];
        if (a->lost_at || !a->cmd_last)
            continue;
        run_cmd_push(a, PS_CMD_STOP);
        a->final_due = 1;
        r->end.due++;
    }
    if (r->end.due && !r->opts->quiet) {
        char d[32];
        ps_units_fmt_duration(r->plan->end.final_wait_us, d, sizeof d);
        progress_say(&r->progress, "stopping %u agents; waiting up to %s for their final reports "
                     "(agents.final_wait)\n", r->end.due, d);
    }
}

int run_end_final(const struct run_agent *a)
{
    return a->final_mono != 0;
}

/* Stopped with STOP applied, and every batch its stopped tick counted stored. */
static int run_end_reported(const struct run_agent *a)
{
    return a->stopped && a->cmd_done == a->cmd_last && run_agent_drained(a);
}

/* Why agent a's final report is missing, into buf. */
static void run_end_why(const struct run_agent *a, int64_t now_mono, char *buf, size_t len)
{
    uint64_t batches = 0;
    for (uint32_t t = 0; t < a->n_threads && t < PS_MAX_THREADS; t++)
        batches += a->reported[t] > a->acked[t] ? a->reported[t] - a->acked[t] : 0;
    int64_t quiet = now_mono - a->last_tick_mono;
    if (a->lost_at)
        snprintf(buf, len, "it was lost during the stop");
    else if (quiet > RUN_END_QUIET_US)   /* it ticks every 200 ms: suspect or about to be */
        snprintf(buf, len, "it has been silent for %.0fs", quiet / 1e6);
    else if (a->cmd_done < a->cmd_last)
        snprintf(buf, len, "it had not taken the STOP command");
    else if (!a->stopped)
        snprintf(buf, len, "it was still closing (%u connections open at its last second)",
                 a->stats.connected);
    else
        snprintf(buf, len, "%llu batches of its events had not arrived",
                 (unsigned long long)batches);
}

/* Names every agent whose final report is missing and fails the run if any. */
static void run_end_account(struct run *r, int64_t now_mono, int interrupted)
{
    char wait[32], when[96], names[320] = "", why[128];
    size_t used = 0;
    ps_units_fmt_duration(r->plan->end.final_wait_us, wait, sizeof wait);
    if (interrupted)
        snprintf(when, sizeof when, "before the wait for them was interrupted");
    else
        snprintf(when, sizeof when, "within %s (agents.final_wait)", wait);
    r->end.missing = 0;
    for (uint32_t i = 0; i < r->n_agents; i++) {
        const struct run_agent *a = &r->agents[i];
        if (!a->final_due || a->final_mono)
            continue;
        r->end.missing++;
        run_end_why(a, now_mono, why, sizeof why);
        fprintf(stderr, "pushstorm: agent %u (%s) sent no final report %s: %s; its last closes "
                "and events are missing from the results\n", a->id, a->hello.name, when, why);
        if (used < sizeof names - 1) {
            int n = snprintf(names + used, sizeof names - used, "%sagent %u (%s)", used ? ", " : "",
                             a->id, a->hello.name);
            used = n < 0 ? used : used + (size_t)n;
        }
    }
    if (!r->end.missing) {
        if (r->end.due && !r->opts->quiet)
            progress_say(&r->progress, "final reports of all %u agents in after %.1fs\n", r->end.due,
                         r->end.took_us / 1e6);
        return;
    }
    if (used >= sizeof names)
        snprintf(names + sizeof names - 5, 5, "...");
    if (!r->failed) {
        run_fail(r, "no final report from %u of %u agents %s: %s; the end counts miss their last "
                 "closes and events", r->end.missing, r->end.due, when, names);
        return;
    }
    /* the run failed first: its reason stays first, this one follows */
    size_t len = strlen(r->reason);
    snprintf(r->reason + len, sizeof r->reason - len, "; then no final report from %u of %u agents "
             "%s: %s", r->end.missing, r->end.due, when, names);
}

int run_end_step(struct run *r, int64_t now_mono)
{
    uint32_t pending = 0;
    for (uint32_t i = 0; i < r->n_agents; i++) {
        struct run_agent *a = &r->agents[i];
        if (!a->final_due || a->final_mono || a->lost_at)
            continue;
        if (run_end_reported(a))
            a->final_mono = now_mono;
        else
            pending++;
    }
    /* monitors that still tick are told the run is over before it ends */
    int told = 1;
    for (uint32_t i = 0; i < r->n_monitors; i++)
        told &= r->monitors[i].told_over || now_mono - r->monitors[i].last_tick_mono > 1000000;
    int over = now_mono - r->end.since_mono > r->plan->end.final_wait_us;
    int interrupted = r->stop_requested > 1;
    if ((pending || !told) && !over && !interrupted)
        return 0;
    r->end.took_us = now_mono - r->end.since_mono;
    run_end_account(r, now_mono, interrupted && !over);
    return 1;
}

void run_end_figures(struct run *r)
{
    store_figure(&r->store, r->run_id, "agents_final_missing", (double)r->end.missing);
    if (r->end.since_mono)
        store_figure(&r->store, r->run_id, "end_wait_s", r->end.took_us / 1e6);
}
