/* report_html: `pushstorm report RUN --html FILE`, one self-contained HTML page.
 *
 * The page has no scripts, no external fonts, images or style sheets: the CSS is
 * inline and every chart is an inline <svg> (drawn by report_chart.c), so the
 * file opens offline, can be mailed or attached to a CI job, and looks the same
 * in ten years. This file turns what report_data reads into the page's sections
 * and the series of their charts.
 *
 * Sections: summary and key figures, thresholds, connections over time against
 * the plan's ramps, connect and failure rate, failures and closes by reason,
 * push latency percentiles over time (by send time), latency histogram,
 * reconnection curves after fault phases, server metrics (only when
 * monitor_samples holds rows for the run), agents, phases. A section without
 * data says so in words instead of drawing an empty chart. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plan.h"
#include "ps_units.h"
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

static int report_html_connections(FILE *o, struct store *s, const struct report_run *r, char *err,
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
static int report_html_monitor(FILE *o, struct store *s, const struct report_run *r, char *err,
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

/* ---------- tables and page ---------- */

static void report_html_css(FILE *o)
{
    fputs("<style>\n"
          "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
          "margin:24px auto;max-width:1000px;color:#222;background:#fff;padding:0 12px}\n"
          "h1{font-size:1.5em;margin:0 0 4px}h2{font-size:1.2em;border-bottom:1px solid #ddd;"
          "padding-bottom:4px;margin-top:32px}h3{font-size:1em;margin:24px 0 2px}\n"
          ".badge{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:600}\n"
          ".pass{background:#2e7d32}.fail,.failed{background:#c62828}.running{background:#757575}.interrupted{background:#ef6c00}\n"
          "td.pass{color:#2e7d32;background:none;font-weight:600}"
          "td.fail{color:#c62828;background:none;font-weight:600}\n"
          "table{border-collapse:collapse;margin:8px 0;font-size:.9em}"
          "th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}"
          "td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f5f5f5}\n"
          ".figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:8px}\n"
          ".fig{border:1px solid #ddd;border-radius:4px;padding:6px 10px}"
          ".fig b{display:block;font-size:1.25em}.fig span{color:#666;font-size:.85em}\n"
          "svg.chart{width:100%;height:auto;max-width:760px;display:block}\n"
          "svg .grid{stroke:#eee}svg .axis{stroke:#999}svg .phase{stroke:#bbb;stroke-dasharray:3 3}\n"
          "svg text{font-size:11px;fill:#555}svg .phasel{font-size:10px;fill:#888}\n"
          ".legend span{margin-right:14px;font-size:.85em}"
          ".legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}\n"
          ".note,.empty{color:#666;font-size:.85em;margin:2px 0 6px}.empty{font-style:italic}\n"
          "</style>\n",
          o);
}

static void report_html_fig(FILE *o, const char *label, const char *value)
{
    fputs("<div class=\"fig\"><b>", o);
    report_chart_esc(o, value);
    fputs("</b><span>", o);
    report_chart_esc(o, label);
    fputs("</span></div>", o);
}

static const char *report_html_figv(const struct report_run *r, const char *name,
                                    enum report_chart_unit u, char *buf, size_t len)
{
    double v;
    if (!report_data_fig(r, name, &v))
        return "-";
    return report_chart_fmt(u, v, buf, len);
}

/* A fraction figure as a percentage, "-" when not measured. */
static const char *report_html_frac(const struct report_run *r, const char *name, char *buf,
                                    size_t len)
{
    double v;
    if (!report_data_fig(r, name, &v))
        return "-";
    snprintf(buf, len, "%.3f%%", v * 100);
    return buf;
}

static void report_html_header(FILE *o, const struct report_run *r)
{
    char when[64] = "-", dur[32] = "-", a[48], b[48], c[48];
    time_t t = (time_t)(r->started_us / 1000000);
    struct tm tm;
    if (r->started_us && gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    if (r->ended_us > r->started_us)
        ps_units_fmt_duration(r->ended_us - r->started_us, dur, sizeof dur);
    fprintf(o, "<h1>pushstorm run %u: ", r->id);
    report_chart_esc(o, r->name);
    fprintf(o, " <span class=\"badge %s\">", r->status);
    report_chart_esc(o, r->status);
    fputs("</span></h1>\n<p>started ", o);
    report_chart_esc(o, when);
    fprintf(o, ", ran %s, plan <code>", dur);
    report_chart_esc(o, r->plan_path);
    fputs("</code>", o);
    if (r->exit_code >= 0)
        fprintf(o, ", exit status %d", r->exit_code);
    fputs("</p>\n", o);
    if (r->reason[0]) {
        fputs("<p><b>Why it could not be carried out:</b> ", o);
        report_chart_esc(o, r->reason);
        fputs("</p>\n", o);
    }
    fputs("<div class=\"figs\">", o);
    double opened = 0, target = 0, exp = 0, del = 0;
    int ho = report_data_fig(r, "conn_opened", &opened), ht = report_data_fig(r, "conn_target", &target);
    snprintf(a, sizeof a, "%s / %s", ho ? ps_units_fmt_count(opened, b, sizeof b) : "-",
             ht ? ps_units_fmt_count(target, c, sizeof c) : "-");
    report_html_fig(o, "connections opened / target", a);
    report_html_fig(o, "connect success", report_html_frac(r, "connect_success", a, sizeof a));
    report_html_fig(o, "handshake p50", report_html_figv(r, "handshake_p50_us", REPORT_CHART_US, a, sizeof a));
    report_html_fig(o, "handshake p99", report_html_figv(r, "handshake_p99_us", REPORT_CHART_US, a, sizeof a));
    double full, resumed;   /* wss runs: TLS handshakes full / resumed */
    if (report_data_fig(r, "tls_handshakes_full", &full) &&
        report_data_fig(r, "tls_handshakes_resumed", &resumed)) {
        snprintf(a, sizeof a, "%.0f / %.0f", full, resumed);
        report_html_fig(o, "TLS handshakes full / resumed", a);
    }
    report_html_fig(o, "pushes sent", report_html_figv(r, "pushes_sent", REPORT_CHART_COUNT, a, sizeof a));
    if (report_data_fig(r, "push_expected", &exp) && report_data_fig(r, "push_delivered", &del))
        snprintf(a, sizeof a, "%.0f / %.0f", del, exp);
    else
        snprintf(a, sizeof a, "-");
    report_html_fig(o, "delivered / expected", a);
    report_html_fig(o, "lost", report_html_figv(r, "push_lost", REPORT_CHART_COUNT, a, sizeof a));
    report_html_fig(o, "missed offline", report_html_figv(r, "push_missed_offline", REPORT_CHART_COUNT, a, sizeof a));
    report_html_fig(o, "latency p50", report_html_figv(r, "push_latency_p50_us", REPORT_CHART_US, a, sizeof a));
    report_html_fig(o, "latency p99", report_html_figv(r, "push_latency_p99_us", REPORT_CHART_US, a, sizeof a));
    report_html_fig(o, "latency max", report_html_figv(r, "push_latency_max_us", REPORT_CHART_US, a, sizeof a));
    report_html_fig(o, "duplicates", report_html_figv(r, "push_duplicates", REPORT_CHART_COUNT, a, sizeof a));
    /* verdict faults: failed calls, agent loss, ping RTT, saturation */
    report_html_fig(o, "failed push calls", report_html_figv(r, "push_failed", REPORT_CHART_COUNT, a, sizeof a));
    report_html_fig(o, "delivered fraction", report_html_frac(r, "delivered_fraction", a, sizeof a));
    report_html_fig(o, "agents lost", report_html_figv(r, "agents_lost", REPORT_CHART_COUNT, a, sizeof a));
    double keyless;
    if (report_data_fig(r, "auth_keyless", &keyless)) {   /* security (issue 11) */
        report_html_fig(o, "agents authenticated", keyless > 0 ? "NO (no --auth-key)" : "yes");
        report_html_fig(o, "hellos refused", report_html_figv(r, "auth_hellos_refused", REPORT_CHART_COUNT, a, sizeof a));
        report_html_fig(o, "spoofed messages dropped", report_html_figv(r, "auth_messages_spoofed", REPORT_CHART_COUNT, a, sizeof a));
    }
    report_html_fig(o, "ping RTT p50", report_html_figv(r, "rtt_p50_us", REPORT_CHART_US, a, sizeof a));
    report_html_fig(o, "ping RTT p99", report_html_figv(r, "rtt_p99_us", REPORT_CHART_US, a, sizeof a));
    report_html_fig(o, "saturated agent-seconds", report_html_figv(r, "saturated_seconds", REPORT_CHART_COUNT, a, sizeof a));
    double acks, lo, hi;
    if (report_data_fig(r, "acks_sent", &acks) && acks > 0) {
        report_html_fig(o, "acks sent", report_html_figv(r, "acks_sent", REPORT_CHART_COUNT, a, sizeof a));
        report_html_fig(o, "acks dropped", report_html_figv(r, "acks_dropped", REPORT_CHART_COUNT, a, sizeof a));
        if (report_data_fig(r, "acks_conn_min", &lo) && report_data_fig(r, "acks_conn_max", &hi)) {
            snprintf(a, sizeof a, "%.0f to %.0f", lo, hi);
            report_html_fig(o, "acks per connection", a);
        }
    }
    fputs("</div>\n", o);
}

static void report_html_thresholds(FILE *o, const struct report_run *r)
{
    fputs("<section id=\"thresholds\"><h2>Thresholds</h2>\n", o);
    if (!r->n_thr) {
        report_chart_empty(o, "the plan sets no thresholds");
        fputs("</section>\n", o);
        return;
    }
    fputs("<table><tr><th>threshold</th><th>required</th><th>measured</th><th>verdict</th></tr>\n", o);
    for (size_t i = 0; i < r->n_thr; i++) {
        char v[48];
        fputs("<tr><td>", o);
        report_chart_esc(o, r->thr[i].name);
        fputs("</td><td>", o);
        report_chart_esc(o, r->thr[i].expr);
        fprintf(o, "</td><td class=\"n\">%s</td><td class=\"%s\">%s</td></tr>\n",
                report_data_fmt_measured(r->thr[i].name, r->thr[i].measured, v, sizeof v),
                r->thr[i].pass ? "pass" : "fail", r->thr[i].pass ? "PASS" : "FAIL");
    }
    fputs("</table></section>\n", o);
}

static void report_html_agents(FILE *o, const struct report_run *r)
{
    fputs("<section id=\"agents\"><h2>Agents</h2>\n", o);
    if (!r->n_agents) {
        report_chart_empty(o, "no agent joined this run");
        fputs("</section>\n", o);
        return;
    }
    fputs("<p class=\"note\">clock offset = controller clock minus agent clock; error bound = half the "
          "best round trip (the latencies of that agent's connections are exact to within it); lost = "
          "messages an agent's connection never got while it stayed connected.</p>\n", o);
    fputs("<table><tr><th>id</th><th>name</th><th>host</th><th>connections</th><th>clock offset</th>"
          "<th>error bound</th><th>start skew</th><th>max loop lag</th><th>lost</th>"
          "<th>missed offline</th><th>agent lost</th><th>left at</th><th>refused</th></tr>\n", o);
    for (size_t i = 0; i < r->n_agents; i++) {
        const struct report_agent *a = &r->agents[i];
        char off[32], errb[32], skew[32], lag[32], left[32] = "-";
        if (a->lost_us)
            ps_units_fmt_duration(a->lost_us - r->started_us, left, sizeof left);
        fprintf(o, "<tr><td class=\"n\">%u</td><td>", a->id);
        report_chart_esc(o, a->name);
        fputs("</td><td>", o);
        report_chart_esc(o, a->host);
        if (a->monitor)
            fputs("</td><td>monitor", o);
        else
            fprintf(o, "</td><td class=\"n\">%lld&ndash;%lld", (long long)a->conn_first,
                    (long long)(a->conn_first + a->conn_count - (a->conn_count > 0)));
        fprintf(o, "</td><td class=\"n\">%s</td><td class=\"n\">&plusmn;%s</td><td class=\"n\">%s</td>"
                   "<td class=\"n\">%s</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>"
                   "<td class=\"n\">%lld</td><td>%s</td><td>",
                ps_units_fmt_duration(a->offset_us, off, sizeof off),
                ps_units_fmt_duration(a->offset_err_us, errb, sizeof errb),
                ps_units_fmt_duration(a->start_skew_us, skew, sizeof skew),
                ps_units_fmt_duration(a->lag_max_us, lag, sizeof lag), (long long)a->lost,
                (long long)a->missed_offline, (long long)a->agent_lost, left);
        report_chart_esc(o, a->refused);
        fputs("</td></tr>\n", o);
    }
    fputs("</table></section>\n", o);
}

static void report_html_phases(FILE *o, const struct report_run *r)
{
    fputs("<section id=\"phases\"><h2>Phases</h2>\n", o);
    if (!r->n_phases) {
        report_chart_empty(o, "no phase started");
        fputs("</section>\n", o);
        return;
    }
    fputs("<table><tr><th>#</th><th>kind</th><th>plan line</th><th>started</th><th>took</th>"
          "<th>note</th></tr>\n", o);
    for (size_t i = 0; i < r->n_phases; i++) {
        const struct report_phase *p = &r->phases[i];
        char at[32], took[32] = "-";
        ps_units_fmt_duration(p->started_us - r->started_us, at, sizeof at);
        if (p->ended_us > p->started_us)
            ps_units_fmt_duration(p->ended_us - p->started_us, took, sizeof took);
        fprintf(o, "<tr><td class=\"n\">%u</td><td>", p->idx);
        report_chart_esc(o, p->kind);
        fprintf(o, "</td><td class=\"n\">%d</td><td class=\"n\">+%s</td><td class=\"n\">%s</td><td>",
                p->line, at, took);
        report_chart_esc(o, p->note);
        fputs("</td></tr>\n", o);
    }
    fputs("</table></section>\n", o);
}

int report_html_write(struct store *s, const struct report_run *r, FILE *o, char *err,
                      size_t errlen)
{
    struct report_latency lat;
    if (report_data_latency(s, r, &lat, err, errlen))
        return -1;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>pushstorm run ",
          o);
    fprintf(o, "%u: ", r->id);
    report_chart_esc(o, r->name);
    fputs("</title>\n", o);
    report_html_css(o);
    fputs("</head><body>\n", o);
    report_html_header(o, r);
    report_html_thresholds(o, r);
    int rc = 0;
    fputs("<section id=\"connections\"><h2>Connections</h2>\n", o);
    rc = report_html_connections(o, s, r, err, errlen);
    if (!rc)
        rc = report_html_connect_rate(o, s, r, err, errlen);
    if (!rc)
        rc = report_html_failures(o, s, r, err, errlen);
    if (!rc)
        rc = report_html_reconnect(o, r);
    fputs("</section>\n<section id=\"pushes\"><h2>Pushes</h2>\n", o);
    if (!rc && (rc = report_html_latency(o, r, &lat)) != 0)
        snprintf(err, errlen, "out of memory");
    if (!rc)
        report_html_histogram(o, &lat.total);
    fputs("</section>\n", o);
    if (!rc)
        rc = report_html_monitor(o, s, r, err, errlen);
    if (!rc) {
        report_html_agents(o, r);
        report_html_phases(o, r);
        fprintf(o, "<p class=\"note\">pushstorm %s; times are seconds since the run started; "
                   "every figure is read back from the results database.</p>\n</body></html>\n",
                PS_VERSION_STRING);
    }
    report_data_latency_free(&lat);
    if (!rc && ferror(o)) {
        snprintf(err, errlen, "write failed");
        rc = -1;
    }
    return rc;
}
