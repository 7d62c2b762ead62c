/* report_html: `pushstorm report RUN --html FILE`, one self-contained HTML page.
 *
 * The page has no scripts, no external fonts, images or style sheets: the CSS is
 * inline and every chart is an inline <svg> (drawn by report_chart.c), so the
 * file opens offline, can be mailed or attached to a CI job, and looks the same
 * in ten years. This file writes the page's skeleton, its CSS and the summary
 * figures; the sections come from report_html_charts.c and report_html_tables.c.
 *
 * Sections: summary and key figures, thresholds, client protocols (only for a
 * run whose targets spoke one), connections over time against the plan's
 * ramps, connect and failure rate, failures and closes by reason, push latency
 * percentiles over time (by send time), latency histogram, reconnection curves
 * after fault phases, server metrics (only when monitor_samples holds rows for
 * the run), agents, phases. A section without data says so in words instead of
 * drawing an empty chart. */
#include "report_html.h"

#include <time.h>

#include "ps_units.h"
#include "report_chart.h"

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

void report_html_fig(FILE *o, const char *label, const char *value)
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
    int rc = report_html_protocols(o, r, err, errlen);
    if (!rc)
        rc = report_html_connections(o, s, r, err, errlen);
    if (!rc)
        rc = report_html_pushes(o, r, &lat, err, errlen);
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
