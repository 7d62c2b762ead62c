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

/* Figures and thresholds from what the ledger holds; returns 1 if all pass. */
int run_verdict(struct run *r)
{
    const struct ledger *l = &r->ledger;
    const struct ledger_totals *t = ledger_totals(l);
    const struct ps_hist *lat = ledger_latency(l), *hs = ledger_handshake(l);
    const struct ps_hist *ready = ledger_session_ready(l);
    uint64_t target = plan_max_connections(r->plan), ever_up = ledger_n_ever_up(l);
    uint64_t acks = 0, acks_dropped = 0;   /* the agents' cumulative counts, last second seen */
    for (uint32_t i = 0; i < r->n_agents; i++) {
        acks += r->agents[i].stats.acks;
        acks_dropped += r->agents[i].stats.acks_dropped;
    }
    struct { const char *name; double v; } figs[] = {
        {"conn_target", (double)target},
        {"conn_opened", (double)ever_up},
        {"connect_success", run_fraction(ever_up, target)},
        {"conn_failed_events", (double)t->failed},
        {"conn_closed_events", (double)t->closed},
        {"conn_agent_lost", (double)t->conn_agent_lost},
        {"handshakes", (double)t->opened},
        {"handshake_p50_us", (double)ps_hist_quantile(hs, 0.5)},
        {"handshake_p99_us", (double)ps_hist_quantile(hs, 0.99)},
        {"session_ready", (double)ready->count},
        {"acks_sent", (double)acks},
        {"acks_dropped", (double)acks_dropped},
        {"session_ready_p50_us", (double)ps_hist_quantile(ready, 0.5)},
        {"session_ready_p99_us", (double)ps_hist_quantile(ready, 0.99)},
        {"pushes_sent", (double)t->pushes},
        {"push_failed", (double)t->push_failed},
        {"push_failed_agent_lost", (double)t->push_failed_agent_lost},
        {"push_expected", (double)t->expected},
        {"push_delivered", (double)t->delivered},
        {"push_lost", (double)t->lost},
        {"push_missed_offline", (double)t->missed_offline},
        {"push_agent_lost", (double)t->agent_lost},
        {"push_duplicates", (double)t->duplicates},
        {"push_out_of_order", (double)t->out_of_order},
        {"push_misrouted", (double)t->misrouted},
        {"push_late", (double)t->late},
        {"push_foreign", (double)t->foreign},
        {"push_latency_p50_us", (double)ps_hist_quantile(lat, 0.5)},
        {"push_latency_p99_us", (double)ps_hist_quantile(lat, 0.99)},
        {"push_latency_max_us", (double)lat->max},
        {"agents", (double)r->n_agents},
        {"agents_lost", (double)(r->n_agents - run_live_agents(r))},
        {"bogus_events", (double)r->bogus_events},
        {"duration_s", (ps_time_wall_us() - r->started_wall) / 1e6},
    };
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++)
        store_figure(&r->store, r->run_id, figs[i].name, figs[i].v);
    run_link_figures(r);
    /* targets whose wss/https certificates are not checked: the summary says so */
    uint32_t insecure = 0;
    for (uint32_t t = 0; t < r->plan->n_targets; t++)
        insecure += r->plan->tls[r->plan->targets[t].tls].insecure != 0;
    if (insecure)
        store_figure(&r->store, r->run_id, "tls_insecure_targets", (double)insecure);
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
    for (uint32_t i = 0; i < r->n_agents; i++) {
        run_store_agent(r, &r->agents[i]);
    }

    const struct { const char *name; const struct plan_threshold *th; double v; } checks[] = {
        {"connect_success", &r->plan->thresholds.connect_success, run_fraction(ever_up, target)},
        {"push_lost", &r->plan->thresholds.push_lost, (double)t->lost},
        {"push_latency_p99", &r->plan->thresholds.push_latency_p99,
         (double)ps_hist_quantile(lat, 0.99)},
        {"push_latency_p50", &r->plan->thresholds.push_latency_p50,
         (double)ps_hist_quantile(lat, 0.5)},
        {"handshake_p99", &r->plan->thresholds.handshake_p99,
         (double)ps_hist_quantile(hs, 0.99)},
        {"session_ready_p99", &r->plan->thresholds.session_ready_p99,
         ready->count ? (double)ps_hist_quantile(ready, 0.99) : NAN},
    };
    int pass = 1;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (!checks[i].th->set)
            continue;
        int ok = plan_threshold_check(checks[i].th, checks[i].v);
        pass &= ok;
        store_threshold(&r->store, r->run_id, checks[i].name, checks[i].th->text, checks[i].v, ok);
    }
    return pass;
}
