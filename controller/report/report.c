/* report: text summary and run list from the results database.
 *
 * Figures are stored by name in `figures`; a missing figure prints as "-" (or
 * 0 in the counts) so a run that failed half way still reports what it
 * measured. The summary reads only the run's small tables (report_data_load_head),
 * so printing it at the end of a long run costs no pass over its samples. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps_units.h"

static double report_fig(const struct report_run *r, const char *name)
{
    double v;
    return report_data_fig(r, name, &v) ? v : 0;
}

static const char *report_dur(const struct report_run *r, const char *name, char *buf, size_t len)
{
    double v;
    if (!report_data_fig(r, name, &v))
        return "-";
    return ps_units_fmt_duration((int64_t)v, buf, len);
}

static void report_summary(struct store *s, const struct report_run *r, FILE *out)
{
    double dur = (r->ended_us - r->started_us) / 1e6;
    char a[32], b[32], c[32];
    /* a run without an exit code has not ended (or its controller died
     * where this host cannot tell): it never reads as "exit 0" */
    if (r->exit_code < 0)
        fprintf(out, "\n== run %u \"%s\": %s (no exit status yet: the run has not ended) ==\n",
                r->id, r->name, r->status);
    else
        fprintf(out, "\n== run %u \"%s\": %s (exit %d) in %.1fs ==\n", r->id, r->name, r->status,
                r->exit_code, r->ended_us ? dur : 0.0);
    if (r->reason[0])
        fprintf(out, "reason        %s\n", r->reason);
    fprintf(out, "agents        %.0f joined, %.0f lost", report_fig(r, "agents"),
            report_fig(r, "agents_lost"));
    /* control-link liveness: silences that did not cost the run an agent */
    if (report_fig(r, "agents_suspect") > 0)
        fprintf(out, ", %.0f time(s) suspect, %.0f rejoined", report_fig(r, "agents_suspect"),
                report_fig(r, "agents_rejoined"));
    fputc('\n', out);
    if (report_fig(r, "agent_events_discarded") > 0 || report_fig(r, "agent_batches_discarded") > 0)
        fprintf(out, "EVENTS LOST   agents' buffers (agents.buffer) overflowed: %.0f events in %.0f "
                     "batches discarded, never stored\n", report_fig(r, "agent_events_discarded"),
                report_fig(r, "agent_batches_discarded"));
    /* the run's end: agents named in the reason (controller/run/run_end.c) */
    if (report_fig(r, "agents_final_missing") > 0)
        fprintf(out, "INCOMPLETE    %.0f agent(s) sent no final report before the run ended: "
                     "their last closes and events are missing from these counts\n",
                report_fig(r, "agents_final_missing"));
    double target = report_fig(r, "conn_target"), opened = report_fig(r, "conn_opened");
    double unopened = report_fig(r, "conn_unopened_agent_lost"), cs;
    if (!report_data_fig(r, "connect_success", &cs))
        cs = target > 0 ? opened / target : 0.0;
    fprintf(out, "connections   opened %.0f/%.0f (%.2f%%), failure events %.0f, closes %.0f\n",
            opened, target - unopened, 100.0 * cs, report_fig(r, "conn_failed_events"),
            report_fig(r, "conn_closed_events"));
    /* a lost agent's unopened share is out of connect_success; agents_lost judges it */
    if (unopened > 0)
        fprintf(out, "              %.0f of the %.0f planned never tried: their agent was lost\n",
                unopened, target);
    if (report_fig(r, "tls_insecure_targets") > 0)
        fprintf(out, "TLS INSECURE  certificate and host name checks were OFF for %.0f target(s) "
                     "(tls: {insecure: true}): these connections prove nothing about the "
                     "server's certificate\n", report_fig(r, "tls_insecure_targets"));
    double v;
    if (report_data_fig(r, "tls_handshakes_full", &v))
        fprintf(out, "TLS           handshakes full %.0f, resumed %.0f\n",
                report_fig(r, "tls_handshakes_full"), report_fig(r, "tls_handshakes_resumed"));
    fprintf(out, "handshake     p50 %s  p99 %s\n", report_dur(r, "handshake_p50_us", a, sizeof a),
            report_dur(r, "handshake_p99_us", b, sizeof b));
    fprintf(out, "ping rtt      p50 %s  p99 %s\n", report_dur(r, "rtt_p50_us", a, sizeof a),
            report_dur(r, "rtt_p99_us", b, sizeof b));
    fprintf(out, "saturation    %.0f agent-seconds past --lag-threshold (%.0f agents)\n",
            report_fig(r, "saturated_seconds"), report_fig(r, "agents_saturated"));
    struct report_fig *reasons;
    size_t n;
    char err[256];
    /* The reasons line is left out, as if empty, when it cannot be read. */
    if (report_data_reasons(s, r->id, &reasons, &n, err, sizeof err) == 0) {
        for (size_t i = 0; i < n; i++)
            fprintf(out, "%s%s %.0f", i ? ", " : "closes/fails  ", reasons[i].name,
                    reasons[i].value);
        if (n)
            fputc('\n', out);
        free(reasons);
    }
    double df;
    char dfs[32] = "-";
    if (report_data_fig(r, "delivered_fraction", &df))
        snprintf(dfs, sizeof dfs, "%.3f%%", df * 100);
    fprintf(out, "pushes        sent %.0f (failed API calls %.0f), delivered fraction %s\n",
            report_fig(r, "pushes_sent"), report_fig(r, "push_failed"), dfs);
    if (report_fig(r, "acks_sent") > 0 || report_fig(r, "acks_dropped") > 0) {
        fprintf(out, "acks          sent %.0f, dropped %.0f", report_fig(r, "acks_sent"),
                report_fig(r, "acks_dropped"));
        double conns;
        if (report_data_fig(r, "acks_conns", &conns))   /* per connection, from its acks events */
            fprintf(out, "; by %.0f connections, %.0f to %.0f each", conns,
                    report_fig(r, "acks_conn_min"), report_fig(r, "acks_conn_max"));
        fputc('\n', out);
    }
    if (report_fig(r, "proto_duplicates") > 0 || report_fig(r, "proto_acks_sent") > 0 ||
        report_fig(r, "proto_server_pings") > 0)   /* client protocols (issue 13) */
        fprintf(out, "protocol      duplicates flagged %.0f, protocol acks sent %.0f, server pings "
                     "answered %.0f\n", report_fig(r, "proto_duplicates"),
                report_fig(r, "proto_acks_sent"), report_fig(r, "proto_server_pings"));
    fprintf(out, "deliveries    expected %.0f, delivered %.0f, lost %.0f, missed offline %.0f, "
                 "agent lost %.0f\n",
            report_fig(r, "push_expected"), report_fig(r, "push_delivered"),
            report_fig(r, "push_lost"), report_fig(r, "push_missed_offline"),
            report_fig(r, "push_agent_lost"));
    fprintf(out, "anomalies     duplicates %.0f, out of order %.0f, misrouted %.0f, late %.0f\n",
            report_fig(r, "push_duplicates"), report_fig(r, "push_out_of_order"),
            report_fig(r, "push_misrouted"), report_fig(r, "push_late"));
    fprintf(out, "push latency  p50 %s  p99 %s  max %s\n",
            report_dur(r, "push_latency_p50_us", a, sizeof a),
            report_dur(r, "push_latency_p99_us", b, sizeof b),
            report_dur(r, "push_latency_max_us", c, sizeof c));
    double auth;
    if (report_data_fig(r, "auth_keyless", &auth)) {   /* runs since the authenticated hello */
        if (auth > 0)
            fprintf(out, "WARNING: agents were not authenticated (no --auth-key): anyone who "
                         "could reach the control port could have joined this run. See "
                         "docs/security.md.\n");
        if (report_fig(r, "auth_hellos_refused") > 0)
            fprintf(out, "security: %.0f hello(s) refused for a missing or wrong key\n",
                    report_fig(r, "auth_hellos_refused"));
        if (report_fig(r, "auth_messages_spoofed") > 0)
            fprintf(out, "security: %.0f message(s) dropped without their agent's session "
                         "token (spoofed)\n", report_fig(r, "auth_messages_spoofed"));
    }
    if (!r->n_thr)
        fprintf(out, "thresholds    NONE: the plan sets no threshold; only failed push calls "
                     "and phases cut short were checked\n");
    for (size_t i = 0; i < r->n_thr; i++) {
        const struct report_thr *t = &r->thr[i];
        char val[32];
        /* nothing measured prints as "-" */
        report_data_fmt_measured(t->name, t->measured, val, sizeof val);
        fprintf(out, "threshold     %-18s %-10s measured %-10s %s\n", t->name, t->expr, val,
                t->pass ? "PASS" : "FAIL");
    }
}

static int report_thr_by_name(const void *a, const void *b)
{
    return strcmp(((const struct report_thr *)a)->name, ((const struct report_thr *)b)->name);
}

int report_print_summary(struct store *s, uint32_t run_id, FILE *out)
{
    struct report_run r;
    char err[512];
    if (report_data_load_head(s, run_id, &r, err, sizeof err) != 0)
        return -1;
    /* The summary lists thresholds by name (the other formats as the plan has them). */
    if (r.n_thr)
        qsort(r.thr, r.n_thr, sizeof *r.thr, report_thr_by_name);
    report_summary(s, &r, out);
    report_data_free(&r);
    return 0;
}

struct report_runs {
    FILE *out;
    int   n;
};

static void report_run_line(void *ctx, const struct store_run_row *row)
{
    struct report_runs *l = ctx;
    time_t t = (time_t)(row->started_us / 1000000);
    struct tm tm;
    char when[32] = "-", conns[48], dur[32] = "-";
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    if (row->ended_us)
        snprintf(dur, sizeof dur, "%.1fs", (row->ended_us - row->started_us) / 1e6);
    if (row->has_opened)
        snprintf(conns, sizeof conns, "%.0f/%lld", row->opened, (long long)row->target_conns);
    else
        snprintf(conns, sizeof conns, "%lld", (long long)row->target_conns);
    fprintf(l->out, "%-5lld %-20s %-20s %9s %13s %s\n", (long long)row->id,
            row->name ? row->name : "", when, dur, conns, row->status ? row->status : "running");
    l->n++;
}

int report_print_runs(struct store *s, FILE *out, char *err, size_t errlen)
{
    struct report_runs l = {out, 0};
    fprintf(out, "%-5s %-20s %-20s %9s %13s %s\n", "id", "name", "started (UTC)", "duration",
            "connections", "verdict");
    if (store_list_runs(s, report_run_line, &l, err, errlen) != 0)
        return -1;
    if (!l.n)
        fprintf(out, "(no runs yet)\n");
    return 0;
}
