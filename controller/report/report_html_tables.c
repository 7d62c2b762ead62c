/* report_html_tables: the table sections of the HTML report (report_html.h):
 * thresholds with their verdicts, the client protocols of the targets (only
 * for a run that spoke one), agents with their clock offsets and losses, and
 * the phases as they ran. */
#include "report_html.h"

#include "ps_units.h"
#include "report_chart.h"
#include "report_proto.h"

void report_html_thresholds(FILE *o, const struct report_run *r)
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

/* What each target spoke and pushed through, the protocol layer's counters,
 * and the failures and closes of each proto_* reason (all five, zeros too, so
 * a clean run shows that none happened). */
int report_html_protocols(FILE *o, const struct report_run *r, char *err, size_t errlen)
{
    struct report_proto p;
    int used = report_proto_load(r, &p, err, errlen);
    if (used <= 0)
        return used;
    char a[48];
    fputs("<section id=\"protocols\"><h2>Client protocols</h2>\n<p class=\"note\">what each "
          "target's connections spoke inside their WebSocket, and the push adapter its calls went "
          "through (the push URL's scheme); counters from the agents' protocol layer</p>\n"
          "<div class=\"figs\">", o);
    snprintf(a, sizeof a, "%.0f", p.duplicates);
    report_html_fig(o, "duplicates flagged", a);
    snprintf(a, sizeof a, "%.0f", p.acks_sent);
    report_html_fig(o, "protocol acks sent", a);
    snprintf(a, sizeof a, "%.0f", p.server_pings);
    report_html_fig(o, "server pings answered", a);
    fputs("</div>\n", o);
    if (!p.targets_known) {
        report_chart_empty(o, "the run's stored plan could not be read again: which target spoke "
                              "which protocol is unknown");
    } else {
        fputs("<table><tr><th>target</th><th>URL</th><th>protocol</th><th>push</th></tr>\n", o);
        for (uint32_t k = 0; k < p.n_targets; k++) {
            fprintf(o, "<tr><td class=\"n\">%u</td><td><code>", k + 1);
            report_chart_esc(o, p.targets[k].ws);
            fputs("</code></td><td>", o);
            report_chart_esc(o, p.targets[k].protocol);
            fputs("</td><td>", o);
            report_chart_esc(o, p.targets[k].push);
            fputs("</td></tr>\n", o);
        }
        fputs("</table>\n", o);
    }
    fputs("<h3>Protocol failures</h3>\n<table><tr><th>reason</th><th>failures and closes</th>"
          "</tr>\n", o);
    for (size_t i = 0; i < REPORT_PROTO_REASONS; i++)
        fprintf(o, "<tr><td>%s</td><td class=\"n\">%.0f</td></tr>\n", report_proto_reason(i),
                p.reasons[i]);
    fputs("</table></section>\n", o);
    report_proto_free(&p);
    return 0;
}

void report_html_agents(FILE *o, const struct report_run *r)
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

void report_html_phases(FILE *o, const struct report_run *r)
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
