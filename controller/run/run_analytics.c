/* run_analytics: what the run measures beyond the ledger's counts.
 *
 *  - Start skew: each agent's start skew is measured from its events: its
 *    first new connection attempt in a ramp against the ramp's start_at.
 *  - Reconnection curve: an exec phase snapshots the connections up before
 *    its command and, at its end, stores the curve from their reconnect
 *    timestamps.
 *  - The per-second sample: once a second the controller's own view (ledger
 *    counts, live agents, latency of the second) is stored and shown through
 *    progress. */
#include "run_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ps_hist.h"
#include "ps_units.h"

/* ---------- start skew ---------- */

void run_skew_note(struct run *r, struct run_agent *a, uint32_t conn, int64_t connected_at,
                   uint32_t handshake_us)
{
    /* A connection that was never up, connected during a ramp, was opened by
     * that ramp (not a reconnect): its attempt began at ts - handshake time.
     * The agent's earliest such attempt, against the phase's start_at, is its
     * start skew. */
    if (r->state != RUN_PHASES || r->plan->phases[r->phase].kind != PLAN_PHASE_RAMP ||
        ledger_conn_ever_up(&r->ledger, conn))
        return;
    int64_t begin = connected_at - (int64_t)handshake_us;
    if (!a->ramp_begin || begin < a->ramp_begin)
        a->ramp_begin = begin;
}

/* After a ramp: each agent's start skew (its first attempt minus start_at, on
 * the controller's clock through the agent's offset, so it carries the offset's
 * error bound) is stored in its row when it is the worst seen so far; the
 * phase's worst |skew| and its spread (latest minus earliest agent) become
 * figures, and the run's worst |skew| the figure start_skew_max_us. Agents
 * that opened nothing in this ramp (a share of 0, or all attempts failed) have
 * no skew. */
void run_start_skew(struct run *r)
{
    int64_t worst = -1, lo = 0, hi = 0;
    int n = 0;
    for (uint32_t i = 0; i < r->n_agents; i++) {
        struct run_agent *a = &r->agents[i];
        if (!a->ramp_begin || a->lost_at)
            continue;
        int64_t skew = a->ramp_begin - r->ps.start_at;
        int64_t mag = skew < 0 ? -skew : skew;
        if (!a->has_skew || mag > (a->start_skew_us < 0 ? -a->start_skew_us : a->start_skew_us)) {
            a->start_skew_us = skew;
            a->has_skew = 1;
            run_store_agent(r, a);
        }
        worst = mag > worst ? mag : worst;
        lo = !n || skew < lo ? skew : lo;
        hi = !n || skew > hi ? skew : hi;
        n++;
    }
    if (!n)
        return;
    char name[64];
    snprintf(name, sizeof name, "phase%u_start_skew_max_us", r->phase + 1);
    store_figure(&r->store, r->run_id, name, (double)worst);
    snprintf(name, sizeof name, "phase%u_start_spread_us", r->phase + 1);
    store_figure(&r->store, r->run_id, name, (double)(hi - lo));
    if (worst > r->start_skew_max) {
        r->start_skew_max = worst;
        store_figure(&r->store, r->run_id, "start_skew_max_us", (double)worst);
    }
}

/* ---------- reconnection curve ---------- */

static int run_was_up_before(const struct run *r, uint32_t c)
{
    return r->ps.before[c >> 6] >> (c & 63) & 1;
}

/* Connections that were up before the exec command and are up now. */
uint64_t run_exec_back(const struct run *r)
{
    uint64_t n = 0;
    const struct ledger *l = &r->ledger;
    for (uint32_t c = 0; c < ledger_n_conns(l); c++)
        n += run_was_up_before(r, c) && ledger_conn_is_up(l, c);
    return n;
}

static int run_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Reconnection curve of an exec phase: time from the command's start (the
 * fault) until 50/90/99/100% of the connections that were up before it are
 * connected again. Computed once, at the end of the phase, from the agents'
 * corrected timestamps rather than from when the controller happened to see
 * the events, so batching and polling do not blur it. A connection that never
 * went down counts as back at 0; one that is down at the end is not back, and
 * marks it keeps from being reached are not stored. Also stores how many were
 * up before, dropped and back. */
void run_reconnect_curve(struct run *r)
{
    static const double marks[4] = {0.5, 0.9, 0.99, 1.0};
    static const char *names[4] = {"p50", "p90", "p99", "p100"};
    const struct ledger *l = &r->ledger;
    if (!r->ps.before || !r->ps.up_before)
        return;
    int64_t *t = malloc(r->ps.up_before * sizeof *t);
    if (!t) {
        fprintf(stderr, "pushstorm: out of memory for the reconnection curve\n");
        return;
    }
    uint64_t back = 0, dropped = 0;
    for (uint32_t c = 0; c < ledger_n_conns(l); c++) {
        if (!run_was_up_before(r, c))
            continue;
        int64_t up_at, down_at;
        int up = ledger_conn_times(l, c, &up_at, &down_at);
        int went_down = down_at >= r->ps.exec_start_wall;
        dropped += went_down;
        if (!up || back >= r->ps.up_before)
            continue;
        int64_t dt = went_down ? up_at - r->ps.exec_start_wall : 0;
        t[back++] = dt > 0 ? dt : 0;
    }
    qsort(t, back, sizeof *t, run_cmp_i64);
    char name[64];
    for (int k = 0; k < 4; k++) {
        uint64_t need = (uint64_t)ceil(marks[k] * (double)r->ps.up_before - 1e-9);
        if (need == 0)
            need = 1;
        if (need > back)
            continue;
        snprintf(name, sizeof name, "phase%u_reconnect_%s_s", r->phase + 1, names[k]);
        store_figure(&r->store, r->run_id, name, (double)t[need - 1] / 1e6);
    }
    const struct { const char *what; uint64_t v; } counts[] = {
        {"before", r->ps.up_before}, {"dropped", dropped}, {"back", back}};
    for (int k = 0; k < 3; k++) {
        snprintf(name, sizeof name, "phase%u_reconnect_%s", r->phase + 1, counts[k].what);
        store_figure(&r->store, r->run_id, name, (double)counts[k].v);
    }
    free(t);
}

/* ---------- per-agent samples: ping RTT and saturation ---------- */

/* The agents send per-second RTT quantiles, not their histograms: the run's
 * rtt_p50 is the median of the agent-seconds' p50 and rtt_p99 the p99 of
 * their p99 (docs/performance.md). A second without a pong has no RTT. */
void run_sample_note(struct run *r, struct run_agent *a, const struct ps_stats *s)
{
    if (s->pongs > a->pongs) {
        ps_hist_record(&r->rtt_p50, s->rtt_p50_us);
        ps_hist_record(&r->rtt_p99, s->rtt_p99_us);
    }
    a->pongs = s->pongs;
    if (s->saturated && r->state == RUN_PHASES) {
        a->saturated_s++;
        r->saturated_s++;
    }
}

/* ---------- per-second sample ---------- */

/* Servers under test, as their monitors saw them in the last seconds. */
static void run_servers_line(const struct run *r, int64_t sec, char *srv, size_t len)
{
    size_t used = 0;
    srv[0] = 0;
    for (uint32_t i = 0; i < r->n_monitors && used < len - 48; i++) {
        const struct run_monitor *m = &r->monitors[i];
        if (!m->last_second || sec - m->last_second > 3)
            continue;
        char rss[16];
        int n = snprintf(srv + used, len - used, "  %s cpu %.0f%%%s%s", m->name,
                         m->last.cpu_pct_x100 / 100.0, m->last.pid ? " rss " : "",
                         m->last.pid ? ps_units_fmt_count((double)m->last.proc_rss, rss, sizeof rss) : "");
        if (n > 0)
            used += (size_t)n;
    }
}

void run_second(struct run *r, int64_t now_wall)
{
    int64_t sec = now_wall / 1000000;
    if (sec == r->last_second)
        return;
    int64_t span = r->last_second ? sec - r->last_second : 1;
    r->last_second = sec;
    const struct ledger_totals *t = ledger_totals(&r->ledger);
    const struct ps_hist *lat = ledger_latency_second(&r->ledger);
    struct store_ctl_sample cs = {
        .run_id = r->run_id, .second = sec, .connected = ledger_n_up(&r->ledger),
        .agents = run_live_agents(r), .opened = t->opened, .failed = t->failed, .closed = t->closed,
        .pushes_sent = t->pushes, .push_errors = t->push_failed, .delivered = t->delivered,
        .lat_p50_us = (uint32_t)ps_hist_quantile(lat, 0.5),
        .lat_p99_us = (uint32_t)ps_hist_quantile(lat, 0.99),
    };
    if (r->state >= RUN_PHASES)
        store_ctl_sample(&r->store, &cs);
    if (!r->opts->quiet && r->state >= RUN_PHASES) {
        const char *phase = r->state == RUN_PHASES
                                ? plan_phase_name(r->plan->phases[r->phase].kind)
                                : run_state_name(r->state);
        uint32_t lag = 0, saturated = 0;
        for (uint32_t i = 0; i < r->n_agents; i++) {
            if (r->agents[i].stats.lag_max_us > lag)
                lag = r->agents[i].stats.lag_max_us;
            saturated += r->agents[i].stats.saturated && !r->agents[i].lost_at;
        }
        char srv[160];
        run_servers_line(r, sec, srv, sizeof srv);
        struct progress_view v = {
            .elapsed_s = (now_wall - r->started_wall) / 1e6,
            .phase = phase,
            .phase_idx = r->state == RUN_PHASES ? r->phase + 1 : 0,
            .n_phases = r->plan->n_phases,
            .connected = ledger_n_up(&r->ledger),
            .target = plan_max_connections(r->plan),
            .conn_rate = (t->opened - r->last_opened) / (uint64_t)span,
            .failed = t->failed,
            .reasons = r->reasons,
            .push_rate = (t->pushes - r->last_pushes) / (uint64_t)span,
            .recv_rate = (t->delivered - r->last_delivered) / (uint64_t)span,
            .lat_p50_us = cs.lat_p50_us,
            .lat_p99_us = cs.lat_p99_us,
            .agents_live = run_live_agents(r),
            .agents_joined = r->n_agents,
            .lag_max_us = lag,
            .saturated = saturated,
            .servers = srv,
        };
        progress_status(&r->progress, &v);
    }
    r->last_opened = t->opened;
    r->last_pushes = t->pushes;
    r->last_delivered = t->delivered;
    ledger_second_reset(&r->ledger);
}
