/* run_verdict: settling messages and the run's figures and thresholds.
 *
 * The ledger decides who missed a message and why (ledger_settle); the run
 * hands those verdicts to the store through a ledger_sink. After the last
 * phase (or when the run stops early: messages not settled by their phase are
 * settled then) the totals become figures, the plan's thresholds are checked
 * against them, and the result is whether every threshold passed. Whatever was
 * measured stays in the database, also when the run fails half way. */
#include "run_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ps_hist.h"
#include "ps_time.h"

static void run_on_missed(void *ctx, uint32_t msg, uint32_t conn, enum ledger_miss kind)
{
    struct run *r = ctx;
    store_undelivered(&r->store, r->run_id, msg, conn, ledger_miss_name(kind));
}

static void run_on_settled(void *ctx, uint32_t msg, const struct ledger_settled *s)
{
    struct run *r = ctx;
    store_push_result(&r->store, r->run_id, msg, s->expected, s->delivered, s->duplicates, s->lost,
                      s->missed_offline, s->agent_lost);
}

void run_settle(struct run *r, uint32_t first, uint32_t last)
{
    const struct ledger_sink sink = {run_on_missed, run_on_settled, r};
    ledger_settle(&r->ledger, first, last, r->agent_lost_at, &sink);
}

static double run_fraction(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

/* A quantile, or NAN when nothing was measured (reports print "-", not 0us). */
static double run_q(const struct ps_hist *h, double q)
{
    return h->count ? (double)ps_hist_quantile(h, q) : NAN;
}

/* Connections of lost agents that were never up: the share the agent never
 * got to open. It leaves the connect_success denominator (what the agent
 * opened before it was lost still counts); agents_lost judges the loss. */
static uint64_t run_lost_unopened(const struct run *r)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < r->n_agents; i++) {
        const struct run_agent *a = &r->agents[i];
        if (!a->lost_at)
            continue;
        for (uint32_t c = a->conn_first; c < a->conn_first + a->conn_count; c++)
            n += !ledger_conn_ever_up(&r->ledger, c);
    }
    return n;
}

/* Of the deliveries asked for (each expected recipient of an accepted call,
 * one per failed call), the share that arrived; recipients lost with their
 * agent are left out. NAN when nothing was pushed. */
static double run_delivered_fraction(const struct ledger_totals *t)
{
    uint64_t asked = t->expected - (t->agent_lost < t->expected ? t->agent_lost : t->expected) +
                     t->push_failed;
    if (!asked)
        return NAN;
    double f = (double)t->delivered / (double)asked;
    return f > 1 ? 1 : f;
}

static int run_has_push_phase(const struct plan *p)
{
    for (uint32_t i = 0; i < p->n_phases; i++)
        if (p->phases[i].kind == PLAN_PHASE_PUSH)
            return 1;
    return 0;
}

/* Stores the run's figures (a NAN one is not measured and not stored). */
static void run_store_figures(struct run *r, double connect_success, double delivered_fraction,
                              uint64_t unopened)
{
    const struct ledger *l = &r->ledger;
    const struct ledger_totals *t = ledger_totals(l);
    const struct ps_hist *lat = ledger_latency(l), *hs = ledger_handshake(l);
    const struct ps_hist *ready = ledger_session_ready(l);
    /* the agents' cumulative counts, from the last second (TICK) each sent */
    uint64_t acks = 0, acks_dropped = 0, tls_full = 0, tls_resumed = 0;
    uint64_t proto_dup = 0, proto_acks = 0, proto_pings = 0;   /* client protocols (issue 13) */
    uint32_t agents_saturated = 0;
    for (uint32_t i = 0; i < r->n_agents; i++) {
        acks += r->agents[i].stats.acks;
        acks_dropped += r->agents[i].stats.acks_dropped;
        proto_dup += r->agents[i].stats.proto_duplicates;
        proto_acks += r->agents[i].stats.proto_acks;
        proto_pings += r->agents[i].stats.proto_pings;
        agents_saturated += r->agents[i].saturated_s > 0;
        tls_full += r->agents[i].tls_full;
        tls_resumed += r->agents[i].tls_resumed;
    }
    /* handshakes full/resumed only for runs with a wss target; targets whose
     * certificates are not checked, for the summary's warning */
    int any_wss = 0, any_proto = 0;
    uint32_t insecure = 0;
    for (uint32_t k = 0; k < r->plan->n_targets; k++) {
        any_wss |= strncmp(r->plan->targets[k].ws, "wss://", 6) == 0;
        any_proto |= r->plan->targets[k].protocol != PS_PROTOCOL_WEBSOCKET;
        insecure += r->plan->tls[r->plan->targets[k].tls].insecure != 0;
    }
    /* with acks on, the acks as the connections reported them (acks events):
     * the total, how many connections acked, the fewest and most */
    int acks_on = r->plan->session.ack[0] != 0;
    struct ledger_acks per_conn = {0};
    if (acks_on)
        ledger_acks(l, &per_conn);
    struct { const char *name; double v; } figs[] = {
        {"conn_target", (double)plan_max_connections(r->plan)},
        {"conn_opened", (double)ledger_n_ever_up(l)},
        {"conn_unopened_agent_lost", (double)unopened},
        {"connect_success", connect_success},
        {"conn_failed_events", (double)t->failed},
        {"conn_closed_events", (double)t->closed},
        {"conn_agent_lost", (double)t->conn_agent_lost},
        {"handshakes", (double)t->opened},
        {"handshake_p50_us", run_q(hs, 0.5)},
        {"handshake_p99_us", run_q(hs, 0.99)},
        {"session_ready", (double)ready->count},
        {"acks_sent", (double)acks},
        {"acks_dropped", (double)acks_dropped},
        {"session_ready_p50_us", run_q(ready, 0.5)},
        {"session_ready_p99_us", run_q(ready, 0.99)},
        {"pushes_sent", (double)t->pushes},
        {"push_failed", (double)t->push_failed},
        {"push_failed_agent_lost", (double)t->push_failed_agent_lost},
        {"push_expected", (double)t->expected},
        {"push_delivered", (double)t->delivered},
        {"delivered_fraction", delivered_fraction},
        {"push_lost", (double)t->lost},
        {"push_missed_offline", (double)t->missed_offline},
        {"push_agent_lost", (double)t->agent_lost},
        {"push_duplicates", (double)t->duplicates},
        {"push_out_of_order", (double)t->out_of_order},
        {"push_misrouted", (double)t->misrouted},
        {"push_late", (double)t->late},
        {"push_foreign", (double)t->foreign},
        {"push_latency_p50_us", run_q(lat, 0.5)},
        {"push_latency_p99_us", run_q(lat, 0.99)},
        {"push_latency_max_us", lat->count ? (double)lat->max : NAN},
        {"rtt_p50_us", run_q(&r->rtt_p50, 0.5)},
        {"rtt_p99_us", run_q(&r->rtt_p99, 0.99)},
        {"saturated_seconds", (double)r->saturated_s},
        {"agents_saturated", (double)agents_saturated},
        {"phases_cut", (double)r->phases_cut},
        {"agents", (double)r->n_agents},
        {"agents_lost", (double)(r->n_agents - run_live_agents(r))},
        {"bogus_events", (double)r->bogus_events},
        {"duration_s", (ps_time_wall_us() - r->started_wall) / 1e6},
        {"acks_conn_sum", acks_on ? (double)per_conn.sum : NAN},
        {"acks_conns", acks_on ? (double)per_conn.conns : NAN},
        {"acks_conn_min", acks_on ? (double)per_conn.min : NAN},
        {"acks_conn_max", acks_on ? (double)per_conn.max : NAN},
        /* who could have joined: stored so that every report, not only the
         * summary printed now, says it (report.c) */
        {"auth_keyless", r->auth.key.len ? 0 : 1},
        {"auth_hellos_refused", (double)r->auth.refused},
        {"auth_messages_spoofed", (double)r->auth.spoofed},
        {"tls_insecure_targets", insecure ? (double)insecure : NAN},
        {"tls_handshakes_full", any_wss ? (double)tls_full : NAN},
        {"tls_handshakes_resumed", any_wss ? (double)tls_resumed : NAN},
        /* client protocols (issue 13): the dialects' counters, with a target speaking one */
        {"proto_duplicates", any_proto ? (double)proto_dup : NAN},
        {"proto_acks_sent", any_proto ? (double)proto_acks : NAN},
        {"proto_server_pings", any_proto ? (double)proto_pings : NAN},
    };
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++)
        if (!isnan(figs[i].v))
            store_figure(&r->store, r->run_id, figs[i].name, figs[i].v);
    run_link_figures(r);
    run_end_figures(r);
    /* tls_verify is stored by cause (reason_tls_verify_unknown_ca, ...), so the
     * summary and every report name what was wrong with the certificate */
    for (uint32_t k = 0; k < PS_TLS_CAUSE_COUNT; k++)
        if (r->tls_verify[k]) {
            char name[64];
            snprintf(name, sizeof name, "reason_tls_verify_%s", ps_tls_cause_name(k));
            store_figure(&r->store, r->run_id, name, (double)r->tls_verify[k]);
        }
    for (uint32_t k = 1; k < PS_REASON_COUNT; k++)
        if (r->reasons[k] && k != PS_REASON_TLS_VERIFY) {
            char name[64];
            snprintf(name, sizeof name, "reason_%s", ps_reason_name(k));
            store_figure(&r->store, r->run_id, name, (double)r->reasons[k]);
        }
}

/* Figures and thresholds from what the ledger holds; returns 1 if all pass. */
int run_verdict(struct run *r)
{
    const struct ledger *l = &r->ledger;
    const struct ledger_totals *t = ledger_totals(l);
    const struct ps_hist *lat = ledger_latency(l), *hs = ledger_handshake(l);
    const struct ps_hist *ready = ledger_session_ready(l);
    const struct plan *p = r->plan;
    uint64_t unopened = run_lost_unopened(r);
    double connect_success = run_fraction(ledger_n_ever_up(l), plan_max_connections(p) - unopened);
    double delivered_fraction = run_delivered_fraction(t);
    run_store_figures(r, connect_success, delivered_fraction, unopened);
    for (uint32_t i = 0; i < r->n_agents; i++)
        run_store_agent(r, &r->agents[i]);

    /* Failed push calls never pass silently: a plan with push phases that
     * judges neither push_failed nor delivered_fraction gets push_failed
     * "== 0" (docs/plan.md), a guard stored only when it fails so that the
     * plan's own thresholds stay what the reports list. */
    struct plan_threshold push_failed = p->thresholds.push_failed;
    if (!push_failed.set && !p->thresholds.delivered_fraction.set && run_has_push_phase(p) &&
        t->push_failed)
        push_failed = (struct plan_threshold){1, PLAN_CMP_EQ, 0, "== 0 (default)"};
    const struct { const char *name; const struct plan_threshold *th; double v; } checks[] = {
        {"connect_success", &p->thresholds.connect_success, connect_success},
        {"push_lost", &p->thresholds.push_lost, (double)t->lost},
        {"push_latency_p99", &p->thresholds.push_latency_p99, run_q(lat, 0.99)},
        {"push_latency_p50", &p->thresholds.push_latency_p50, run_q(lat, 0.5)},
        {"handshake_p99", &p->thresholds.handshake_p99, run_q(hs, 0.99)},
        {"session_ready_p99", &p->thresholds.session_ready_p99, run_q(ready, 0.99)},
        /* verdict faults */
        {"agents_lost", &p->thresholds.agents_lost, (double)(r->n_agents - run_live_agents(r))},
        {"push_failed", &push_failed, (double)t->push_failed},
        {"delivered_fraction", &p->thresholds.delivered_fraction, delivered_fraction},
        {"saturated_seconds", &p->thresholds.saturated_seconds, (double)r->saturated_s},
        {"rtt_p50", &p->thresholds.rtt_p50, run_q(&r->rtt_p50, 0.5)},
        {"rtt_p99", &p->thresholds.rtt_p99, run_q(&r->rtt_p99, 0.99)},
    };
    /* phases cut short (deadline, nobody to push to) stored their failed rows */
    int pass = r->phases_cut == 0;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (!checks[i].th->set)
            continue;
        int ok = plan_threshold_check(checks[i].th, checks[i].v);
        pass &= ok;
        store_threshold(&r->store, r->run_id, checks[i].name, checks[i].th->text, checks[i].v, ok);
    }
    return pass;
}
