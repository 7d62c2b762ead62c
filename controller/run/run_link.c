/* run_link: is each agent still there? Suspect, rejoined, lost.
 *
 * Two signs, two answers (the agent's side is agent/ctl_link.c):
 *  - Its control connection closed and no tick came over a new one within
 *    RUN_PIPE_GRACE_US: the agent process is gone (its kernel closed the
 *    socket), so it is lost at once. Not so for a suspect: the agent redials
 *    after a silence, and its old connection's close may arrive when the
 *    link returns.
 *  - Silence without a close (a partition, a stalled host): after
 *    RUN_AGENT_SUSPECT_US the agent is *suspect*, not lost. It keeps its
 *    share of the run, its connections stay up in the ledger and its
 *    messages unsettled; the push phases' drains wait for it. Its next tick
 *    makes it rejoined: the REPLY tells it the sequences stored, it resends
 *    the rest (the data channel takes batches only in sequence, so repeats
 *    are dropped) and the drains give its resend RUN_DRAIN_MAX_US from the
 *    rejoin. Silent past the plan's agents.grace, it is lost: its
 *    connections drop out of the ledger (not as closes), its undelivered
 *    messages settle as "agent lost", and what it reported stays stored.
 * An agent whose buffer overflowed says which batches it discarded; the
 * controller moves past them and counts them, so a gap never stalls its
 * events nor passes unreported. */
#include "run_internal.h"

#include <stdio.h>
#include <string.h>

#include "ps_time.h"

/* A control pipe that closes while the agent lives (a reset by a middlebox)
 * is replaced by nng's reconnect well within this, and its next tick clears
 * the mark. */
#define RUN_PIPE_GRACE_US 1000000

/* The pipe-loss bridge: runs on an nng thread, so it only notes the pipe
 * under the mutex; the run loop reads the notes (run_note_closed_pipes). */
void run_on_pipe_closed(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    struct run_pipes *pp = arg;
    (void)ev;
    pthread_mutex_lock(&pp->mu);
    if (pp->n < RUN_PIPES_CLOSED_MAX)
        pp->closed[pp->n++] = nng_pipe_id(p);
    pthread_mutex_unlock(&pp->mu);
}

static void run_note_closed_pipes(struct run *r, int64_t now)
{
    uint32_t closed[RUN_PIPES_CLOSED_MAX], n;
    pthread_mutex_lock(&r->pipes.mu);
    n = r->pipes.n;
    memcpy(closed, r->pipes.closed, n * sizeof closed[0]);
    r->pipes.n = 0;
    pthread_mutex_unlock(&r->pipes.mu);
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t i = 0; i < r->n_agents; i++)
            if (r->agents[i].pipe == closed[k] && !r->agents[i].lost_at)
                r->agents[i].pipe_closed_mono = now;
}

void run_link_tick(struct run *r, struct run_agent *a, const struct ps_tick *t, int64_t now_mono)
{
    if (a->suspect_since_mono) {
        double away = (now_mono - a->last_tick_mono) / 1e6;
        a->suspect_since_mono = 0;
        r->link.rejoined++;
        r->link.rejoined_mono = now_mono;
        progress_say(&r->progress, "agent %u (%s) rejoined after %.1fs of silence; resending "
                     "its events from the last acknowledged batch\n", a->id, a->hello.name, away);
    }
    for (uint32_t i = 0; i < t->n_dropped && i < PS_MAX_THREADS; i++)
        if (t->dropped_seq[i] > a->acked[i]) {
            r->link.batches_skipped += t->dropped_seq[i] - a->acked[i];
            a->acked[i] = t->dropped_seq[i];
        }
    if (t->dropped_events > a->dropped_events) {
        fprintf(stderr, "pushstorm: agent %u (%s): its event buffer (agents.buffer, %llu bytes) "
                "overflowed: %llu batches, %llu events discarded so far; deliveries in them "
                "count as lost\n", a->id, a->hello.name,
                (unsigned long long)r->plan->link.buffer_bytes,
                (unsigned long long)t->dropped_batches, (unsigned long long)t->dropped_events);
        a->dropped_events = t->dropped_events;
    }
}

static void run_link_lose(struct run *r, struct run_agent *a, int silent)
{
    /* lost from its last sign of life */
    a->lost_at = a->last_tick_wall ? a->last_tick_wall : ps_time_wall_us() - r->plan->link.grace_us;
    a->suspect_since_mono = 0;
    r->agent_lost_at[a->id - 1] = a->lost_at;
    if (silent)
        fprintf(stderr, "pushstorm: agent %u (%s) lost: no word for %.0fs (agents.grace); its "
                        "connections are accounted as agent lost\n",
                a->id, a->hello.name, r->plan->link.grace_us / 1e6);
    else
        fprintf(stderr, "pushstorm: agent %u (%s) lost: its connection to the controller "
                        "closed; its connections are accounted as agent lost\n",
                a->id, a->hello.name);
    run_store_agent(r, a);
    /* Its connections are gone as far as this run can tell. */
    for (uint32_t c = a->conn_first; c < a->conn_first + a->conn_count; c++)
        ledger_conn_agent_lost(&r->ledger, c, a->lost_at);
}

void run_check_agents(struct run *r)
{
    int64_t now = ps_time_mono_us();
    int64_t grace = r->plan->link.grace_us;
    int64_t suspect_after = grace < RUN_AGENT_SUSPECT_US ? grace : RUN_AGENT_SUSPECT_US;
    run_note_closed_pipes(r, now);
    for (uint32_t i = 0; i < r->n_agents; i++) {
        struct run_agent *a = &r->agents[i];
        /* after its final report an agent's leaving is the end of its run */
        if (a->lost_at || run_end_final(a) || r->state == RUN_DONE)
            continue;
        int64_t quiet = now - a->last_tick_mono;
        /* a suspect's old connection closing is the partition ending (the
         * agent redials after a silence), not the agent dying */
        int hung_up = a->pipe_closed_mono && a->last_tick_mono < a->pipe_closed_mono &&
                      now - a->pipe_closed_mono >= RUN_PIPE_GRACE_US && !a->suspect_since_mono;
        if (hung_up || quiet >= grace) {
            run_link_lose(r, a, !hung_up);
        } else if (quiet >= suspect_after && !a->suspect_since_mono) {
            a->suspect_since_mono = now;
            r->link.suspects++;
            progress_say(&r->progress, "agent %u (%s) suspect: no word for %.0fs; keeping its "
                         "connections and messages for up to %.0fs (agents.grace)\n", a->id,
                         a->hello.name, quiet / 1e6, grace / 1e6);
        }
    }
    if (r->state >= RUN_ASSIGNING && r->state < RUN_DONE && r->n_agents && !run_live_agents(r))
        run_fail(r, "every agent was lost");
}

uint32_t run_link_suspects(const struct run *r)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->n_agents; i++)
        n += r->agents[i].suspect_since_mono != 0 && !r->agents[i].lost_at;
    return n;
}

int run_drain_wait(const struct run *r, int64_t drain_from_mono, int64_t now_mono)
{
    if (run_link_suspects(r))
        return 1;
    int64_t from = drain_from_mono > r->link.rejoined_mono ? drain_from_mono : r->link.rejoined_mono;
    return now_mono - from < RUN_DRAIN_MAX_US;
}

void run_link_figures(struct run *r)
{
    uint64_t events = 0;
    for (uint32_t i = 0; i < r->n_agents; i++)
        events += r->agents[i].dropped_events;
    const struct { const char *name; double v; } figs[] = {
        {"agents_suspect", (double)r->link.suspects},
        {"agents_rejoined", (double)r->link.rejoined},
        {"agent_batches_discarded", (double)r->link.batches_skipped},
        {"agent_events_discarded", (double)events},
    };
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++)
        store_figure(&r->store, r->run_id, figs[i].name, figs[i].v);
}
