/* report_html_charts: the chart sections of the HTML report (report_html.h).
 *
 * Connections (open connections against the plan's ramps, connect rate,
 * failures and closes by reason, reconnection after fault phases), pushes
 * (latency percentiles over time by send time, latency histogram) and server
 * metrics (only when monitor_samples holds rows for the run). This file turns
 * what report_data reads into the series of those charts; report_chart.c draws
 * them. A chart without data says so in words instead of drawing an empty one. */
#include "report_html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "report_chart.h"

/* Series of a monitor_samples chart: more would be unreadable in one chart. */
#define RH_MON_MAX_SERIES 8

/* ---------- data for the charts ---------- */

/* Rows (wall-clock second, y1, y2...) as series out[0], out[1]... with x in
 * seconds since the run's start. */
static int report_html_query_series(struct store *s, const struct report_run *r,
                                    enum report_query q, struct report_chart_xy *out, char *err,
                                    size_t errlen)
{
    struct report_rows rows;
    if (report_data_rows(s, q, r->id, &rows, err, errlen))
        return -1;
    int rc = 0;
    for (size_t i = 0; i < rows.n && !rc; i++) {
        double x = report_data_rel_s(r, (int64_t)REPORT_ROW(&rows, i, 0) * 1000000);
        for (int c = 1; c < rows.ncols && !rc; c++)
            rc = report_chart_xy_add(&out[c - 1], x, REPORT_ROW(&rows, i, c));
    }
    report_data_rows_free(&rows);
    if (rc)
        snprintf(err, errlen, "out of memory");
    return rc;
}

/* The plan's ramps drawn against the run's phase times: from the level before
 * each ramp to its target at its rate. Without a parsable stored plan, a flat
 * line at the run's target. Other phase kinds do not change the planned level. */
static int report_html_plan_curve(const struct report_run *r, double x_end,
                                  struct report_chart_xy *out)
{
    struct plan *p = calloc(1, sizeof *p);
    char perr[PLAN_ERR_MAX];
    int rc = 0, matched = 0;
    if (!p)
        return -1;
    if (r->plan_text[0] &&
        plan_parse(r->plan_path, r->plan_text, strlen(r->plan_text), p, perr, sizeof perr) == 0) {
        double level = 0;
        rc |= report_chart_xy_add(out, 0, 0);
        for (size_t i = 0; i < r->n_phases; i++) {
            const struct report_phase *ph = &r->phases[i];
            if (ph->idx < 1 || ph->idx > p->n_phases || !ph->started_us)
                continue;
            const struct plan_phase *pp = &p->phases[ph->idx - 1];
            if (pp->kind != PLAN_PHASE_RAMP || !(pp->u.ramp.rate > 0))
                continue;
            double t0 = report_data_rel_s(r, ph->started_us), to = (double)pp->u.ramp.to;
            rc |= report_chart_xy_add(out, t0, level);
            rc |= report_chart_xy_add(out, t0 + fabs(to - level) / pp->u.ramp.rate, to);
            level = to;
            matched = 1;
        }
        if (matched)
            rc |= report_chart_xy_add(out, fmax(x_end, out->x[out->n - 1]), level);
    }
    if (!matched) {
        out->n = 0;
        if (r->target_conns > 0) {
            rc |= report_chart_xy_add(out, 0, (double)r->target_conns);
            rc |= report_chart_xy_add(out, x_end, (double)r->target_conns);
        }
    }
    free(p);
    return rc ? -1 : 0;
}

static double report_html_run_span(const struct report_run *r)
{
    return r->ended_us > r->started_us ? report_data_rel_s(r, r->ended_us) : 0;
}

static int report_html_conn_chart(FILE *o, struct store *s, const struct report_run *r, char *err,
                                  size_t errlen)
{
    struct report_chart_xy agents = {0}, ctl = {0}, plan = {0};
    int rc = report_html_query_series(s, r, REPORT_Q_CONNECTED, &agents, err, errlen);
    if (!rc)
        rc = report_html_query_series(s, r, REPORT_Q_CTL_CONNECTED, &ctl, err, errlen);
    double x_end = report_html_run_span(r);
    if (agents.n)
        x_end = fmax(x_end, agents.x[agents.n - 1]);
    if (!rc && (agents.n || ctl.n) && report_html_plan_curve(r, x_end, &plan)) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    if (!rc) {
        const struct report_chart_series sr[] = {
            {"connected (sum over agents)", report_chart_colors[0], &agents, 0, 0},
            {"connected (controller ledger)", report_chart_colors[2], &ctl, 0, 0},
            {"plan", report_chart_colors[7], &plan, 1, 0},
        };
        const struct report_chart c = {"chart-connections", "Connections over time",
                                            "open connections each second; dashed: the plan's ramps",
                                            REPORT_CHART_COUNT, r, "seconds since start", 0};
        report_chart_line(o, &c, sr, 3);
    }
    report_chart_xy_free(&agents);
    report_chart_xy_free(&ctl);
    report_chart_xy_free(&plan);
    return rc;
}

/* Opened, failed and closed per second, from the agents' counters. */
static int report_html_connect_rate(FILE *o, struct store *s, const struct report_run *r,
                                    char *err, size_t errlen)
{
    struct report_chart_xy xy[3] = {{0}};
    int rc = report_html_query_series(s, r, REPORT_Q_RATES, xy, err, errlen);
    const char *note = "handshakes completed, connect failures and closes per second, from the agents";
    if (!rc && !xy[0].n) {
        /* No agent samples: the controller's ledger totals are the next best view. */
        rc = report_html_query_series(s, r, REPORT_Q_CTL_RATES, xy, err, errlen);
        note = "handshakes completed, connect failures and closes per second, from the controller";
    }
    if (!rc) {
        const struct report_chart_series sr[] = {
            {"opened/s", report_chart_colors[0], &xy[0], 0, 0},
            {"failed/s", report_chart_colors[1], &xy[1], 0, 0},
            {"closed/s", report_chart_colors[3], &xy[2], 0, 0},
        };
        const struct report_chart c = {"chart-connect-rate", "Connect rate", note,
                                            REPORT_CHART_RATE, r, "seconds since start", 0};
        report_chart_line(o, &c, sr, 3);
    }
    for (int i = 0; i < 3; i++)
        report_chart_xy_free(&xy[i]);
    return rc;
}

/* Horizontal bars, one per (event, reason), largest first. */
static int report_html_failures(FILE *o, struct store *s, const struct report_run *r, char *err,
                                size_t errlen)
{
    struct report_end *ends;
    size_t n;
    if (report_data_ends(s, r->id, &ends, &n, err, errlen))
        return -1;
    struct report_chart_bar bars[24];
    size_t nb = 0;
    for (; nb < n && nb < 24; nb++) {
        snprintf(bars[nb].label, sizeof bars[nb].label, "%.40s: %.40s", ends[nb].event,
                 ends[nb].reason);
        bars[nb].color = ends[nb].type == PS_EV_FAILED ? "#d62728" : "#ff7f0e";
        bars[nb].n = (double)ends[nb].n;
    }
    free(ends);
    report_chart_title(o, "Failures and closes by reason",
                      "connection events of the run: failed = never connected, closed = dropped after connecting");
    if (!nb) {
        report_chart_empty(o, "no connection failed or closed");
        return 0;
    }
    report_chart_bars(o, "chart-failures", "failures by reason", bars, nb);
    return 0;
}

static int report_html_latency(FILE *o, const struct report_run *r, const struct report_latency *l)
{
    struct report_chart_xy xy[3] = {{0}};
    int rc = 0;
    for (size_t b = 0; b < l->n && !rc; b++) {
        if (!l->per[b])
            continue;
        double x = ((double)b + 0.5) * (double)l->bucket_s;
        rc |= report_chart_xy_add(&xy[0], x, (double)ps_hist_quantile(l->per[b], 0.5));
        rc |= report_chart_xy_add(&xy[1], x, (double)ps_hist_quantile(l->per[b], 0.99));
        rc |= report_chart_xy_add(&xy[2], x, (double)l->per[b]->max);
    }
    if (!rc) {
        char note[128];
        snprintf(note, sizeof note,
                 "delivery latency of the messages sent in each %llds, by send time; duplicates left out",
                 (long long)l->bucket_s);
        const struct report_chart_series sr[] = {
            {"p50", report_chart_colors[0], &xy[0], 0, 0},
            {"p99", report_chart_colors[1], &xy[1], 0, 0},
            {"max", report_chart_colors[7], &xy[2], 1, 0},
        };
        const struct report_chart c = {"chart-latency", "Push latency over time", note,
                                            REPORT_CHART_US, r, "seconds since start", 0};
        report_chart_line(o, &c, sr, 3);
    }
    for (int i = 0; i < 3; i++)
        report_chart_xy_free(&xy[i]);
    return rc;
}

/* Deliveries by latency over the whole run. */
static void report_html_histogram(FILE *o, const struct ps_hist *h)
{
    report_chart_title(o, "Push latency histogram",
                      "deliveries per latency bin (logarithmic), whole run");
    if (!h->count) {
        report_chart_empty(o, "no message was delivered");
        return;
    }
    report_chart_histogram(o, "chart-histogram", "latency histogram", h);
}

/* From the figures phaseN_reconnect_{p50,p90,p99,p100}_s the run stores after a
 * disconnect or exec phase: when 50/90/99/100% of the connections up before the
 * fault were back. One series per phase. */
static int report_html_reconnect(FILE *o, const struct report_run *r)
{
    static const struct { const char *suffix; double pct; } marks[] = {
        {"p50", 50}, {"p90", 90}, {"p99", 99}, {"p100", 100}};
    struct report_chart_xy xy[REPORT_CHART_NCOLORS] = {{0}};
    char names[REPORT_CHART_NCOLORS][64];
    struct report_chart_series sr[REPORT_CHART_NCOLORS];
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < r->n_phases && n < REPORT_CHART_NCOLORS && !rc; i++) {
        for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++) {
            char fig[64];
            double v;
            snprintf(fig, sizeof fig, "phase%u_reconnect_%s_s", r->phases[i].idx, marks[k].suffix);
            if (report_data_fig(r, fig, &v))
                rc |= report_chart_xy_add(&xy[n], v, marks[k].pct);
        }
        if (!xy[n].n)
            continue;
        snprintf(names[n], sizeof names[n], "phase %u (%.40s)", r->phases[i].idx, r->phases[i].kind);
        sr[n] = (struct report_chart_series){names[n], report_chart_colors[n], &xy[n], 0, 1};
        n++;
    }
    if (!rc) {
        const struct report_chart c = {
            "chart-reconnect", "Reconnection after fault phases",
            "share of the connections up before the fault that were back, by seconds after it",
            REPORT_CHART_PCT, NULL, "seconds after the fault", 1};
        if (n)
            report_chart_line(o, &c, sr, n);
        else {
            report_chart_title(o, c.title, c.note);
            report_chart_empty(o, "no fault phase in this run (no reconnection figures)");
        }
    }
    for (size_t i = 0; i < REPORT_CHART_NCOLORS; i++)
        report_chart_xy_free(&xy[i]);
    return rc;
}

/* monitor_samples, written by monitor agents (pushstorm-agent --monitor): each
 * numeric column a chart, one series per agent, time from its wall second. */
int report_html_monitor(FILE *o, struct store *s, const struct report_run *r, char *err,
                        size_t errlen)
{
    if (!report_data_has_monitor(s, r->id))
        return 0;
    fputs("<section id=\"server\"><h2>Server metrics</h2>\n", o);
    int rc = 0;
    for (size_t c = 0; c < REPORT_DATA_MONITOR_COLS && !rc; c++) {
        struct report_rows rows;
        if (report_data_monitor_rows(s, r->id, c, &rows, err, errlen)) {
            rc = -1;
            break;
        }
        struct report_chart_xy xy[RH_MON_MAX_SERIES] = {{0}};
        char names[RH_MON_MAX_SERIES][80];
        struct report_chart_series sr[RH_MON_MAX_SERIES];
        size_t ns = 0;
        double key = NAN;
        for (size_t i = 0; i < rows.n && !rc; i++) {
            if (REPORT_ROW(&rows, i, 0) != key) {
                if (ns == RH_MON_MAX_SERIES)
                    break;
                key = REPORT_ROW(&rows, i, 0);
                const char *aname = NULL;
                for (size_t a = 0; a < r->n_agents; a++)
                    if ((double)r->agents[a].id == key)
                        aname = r->agents[a].name;
                snprintf(names[ns], sizeof names[ns], "agent %.0f%s%.60s%s", key, aname ? " (" : "",
                         aname ? aname : "", aname ? ")" : "");
                sr[ns] = (struct report_chart_series){names[ns], report_chart_colors[ns % REPORT_CHART_NCOLORS],
                                                     &xy[ns], 0, 0};
                ns++;
            }
            double x = report_data_rel_s(r, (int64_t)REPORT_ROW(&rows, i, 1) * 1000000);
            rc = report_chart_xy_add(&xy[ns - 1], x, REPORT_ROW(&rows, i, 2));
        }
        report_data_rows_free(&rows);
        if (rc)
            snprintf(err, errlen, "out of memory");
        else if (ns) {
            const char *name = report_data_monitor_col(c);
            size_t len = strlen(name);
            enum report_chart_unit u =
                len > 6 && !strcmp(name + len - 6, "_bytes") ? REPORT_CHART_BYTES
                : len > 4 && !strcmp(name + len - 4, "_pct") ? REPORT_CHART_PCT
                : len > 3 && !strcmp(name + len - 3, "_us")  ? REPORT_CHART_US
                                                             : REPORT_CHART_COUNT;
            char id[96];
            snprintf(id, sizeof id, "chart-server-%zu", c);
            const struct report_chart ch = {id, name, NULL, u, r, "seconds since start", 0};
            report_chart_line(o, &ch, sr, ns);
        }
        for (size_t i = 0; i < RH_MON_MAX_SERIES; i++)
            report_chart_xy_free(&xy[i]);
    }
    fputs("</section>\n", o);
    return rc;
}

int report_html_connections(FILE *o, struct store *s, const struct report_run *r, char *err,
                            size_t errlen)
{
    fputs("<section id=\"connections\"><h2>Connections</h2>\n", o);
    int rc = report_html_conn_chart(o, s, r, err, errlen);
    if (!rc)
        rc = report_html_connect_rate(o, s, r, err, errlen);
    if (!rc)
        rc = report_html_failures(o, s, r, err, errlen);
    if (!rc)
        rc = report_html_reconnect(o, r);
    fputs("</section>\n", o);
    return rc;
}

int report_html_pushes(FILE *o, const struct report_run *r, const struct report_latency *l,
                       char *err, size_t errlen)
{
    fputs("<section id=\"pushes\"><h2>Pushes</h2>\n", o);
    int rc = report_html_latency(o, r, l);
    if (rc)
        snprintf(err, errlen, "out of memory");
    else
        report_html_histogram(o, &l->total);
    fputs("</section>\n", o);
    return rc;
}
