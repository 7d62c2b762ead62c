/* report: text summary and run list from the results database.
 *
 * Figures are stored by name in `figures`; a missing figure prints as "-" so a
 * run that failed half way still reports what it measured. */
#include "report.h"

#include <string.h>
#include <time.h>

#include "ps_units.h"

struct report_figs {
    sqlite3_stmt *st;
    uint32_t run_id;
};

static double report_fig(struct report_figs *f, const char *name, int *have)
{
    sqlite3_stmt *st = f->st;
    double v = 0;
    sqlite3_bind_int64(st, 1, f->run_id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int ok = sqlite3_step(st) == SQLITE_ROW;
    if (ok)
        v = sqlite3_column_double(st, 0);
    sqlite3_reset(st);
    if (have)
        *have = ok;
    return v;
}

static const char *report_dur(struct report_figs *f, const char *name, char *buf, size_t len)
{
    int have;
    double v = report_fig(f, name, &have);
    if (!have)
        return "-";
    return ps_units_fmt_duration((int64_t)v, buf, len);
}

int report_print_summary(struct store *s, uint32_t run_id, FILE *out)
{
    sqlite3_stmt *run;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT name, started_us, ended_us, status, exit_code, reason, target_conns"
                           " FROM runs WHERE id=?", -1, &run, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(run, 1, run_id);
    if (sqlite3_step(run) != SQLITE_ROW) {
        sqlite3_finalize(run);
        return -1;
    }
    struct report_figs f = {NULL, run_id};
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM figures WHERE run_id=? AND name=?", -1, &f.st,
                           NULL) != SQLITE_OK) {
        sqlite3_finalize(run);
        return -1;
    }
    const char *status = (const char *)sqlite3_column_text(run, 3);
    const char *reason = (const char *)sqlite3_column_text(run, 5);
    double dur = (sqlite3_column_int64(run, 2) - sqlite3_column_int64(run, 1)) / 1e6;
    char a[32], b[32], c[32];
    fprintf(out, "\n== run %u \"%s\": %s (exit %d) in %.1fs ==\n", run_id,
            sqlite3_column_text(run, 0), status ? (const char *)status : "running",
            sqlite3_column_int(run, 4), sqlite3_column_int64(run, 2) ? dur : 0.0);
    if (reason)
        fprintf(out, "reason        %s\n", reason);
    fprintf(out, "agents        %.0f joined, %.0f lost\n", report_fig(&f, "agents", NULL),
            report_fig(&f, "agents_lost", NULL));
    double target = report_fig(&f, "conn_target", NULL), opened = report_fig(&f, "conn_opened", NULL);
    fprintf(out, "connections   opened %.0f/%.0f (%.2f%%), failure events %.0f, closes %.0f\n",
            opened, target, target > 0 ? 100.0 * opened / target : 0.0,
            report_fig(&f, "conn_failed_events", NULL), report_fig(&f, "conn_closed_events", NULL));
    fprintf(out, "handshake     p50 %s  p99 %s\n", report_dur(&f, "handshake_p50_us", a, sizeof a),
            report_dur(&f, "handshake_p99_us", b, sizeof b));
    sqlite3_stmt *rs;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT substr(name, 8), value FROM figures WHERE run_id=? AND name LIKE"
                           " 'reason_%' ORDER BY value DESC", -1, &rs, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(rs, 1, run_id);
        int first = 1;
        while (sqlite3_step(rs) == SQLITE_ROW) {
            fprintf(out, "%s%s %.0f", first ? "closes/fails  " : ", ", sqlite3_column_text(rs, 0),
                    sqlite3_column_double(rs, 1));
            first = 0;
        }
        if (!first)
            fputc('\n', out);
        sqlite3_finalize(rs);
    }
    fprintf(out, "pushes        sent %.0f (failed API calls %.0f)\n",
            report_fig(&f, "pushes_sent", NULL), report_fig(&f, "push_failed", NULL));
    fprintf(out, "deliveries    expected %.0f, delivered %.0f, lost %.0f, missed offline %.0f, "
                 "agent lost %.0f\n",
            report_fig(&f, "push_expected", NULL), report_fig(&f, "push_delivered", NULL),
            report_fig(&f, "push_lost", NULL), report_fig(&f, "push_missed_offline", NULL),
            report_fig(&f, "push_agent_lost", NULL));
    fprintf(out, "anomalies     duplicates %.0f, out of order %.0f, misrouted %.0f, late %.0f\n",
            report_fig(&f, "push_duplicates", NULL), report_fig(&f, "push_out_of_order", NULL),
            report_fig(&f, "push_misrouted", NULL), report_fig(&f, "push_late", NULL));
    fprintf(out, "push latency  p50 %s  p99 %s  max %s\n",
            report_dur(&f, "push_latency_p50_us", a, sizeof a),
            report_dur(&f, "push_latency_p99_us", b, sizeof b),
            report_dur(&f, "push_latency_max_us", c, sizeof c));
    sqlite3_stmt *th;
    if (sqlite3_prepare_v2(s->db, "SELECT name, expr, measured, pass FROM thresholds WHERE run_id=?",
                           -1, &th, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(th, 1, run_id);
        while (sqlite3_step(th) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(th, 0);
            double v = sqlite3_column_double(th, 2);
            char val[32];
            if (strstr(name, "latency") || strstr(name, "handshake"))
                ps_units_fmt_duration((int64_t)v, val, sizeof val);
            else if (strcmp(name, "connect_success") == 0)
                snprintf(val, sizeof val, "%.3f%%", v * 100);
            else
                snprintf(val, sizeof val, "%.0f", v);
            fprintf(out, "threshold     %-18s %-10s measured %-10s %s\n", name,
                    sqlite3_column_text(th, 1), val, sqlite3_column_int(th, 3) ? "PASS" : "FAIL");
        }
        sqlite3_finalize(th);
    }
    sqlite3_finalize(f.st);
    sqlite3_finalize(run);
    return 0;
}

int report_print_runs(struct store *s, FILE *out)
{
    sqlite3_stmt *st;
    /* Connections: opened (connections that were up at least once) of the
     * plan's target; just the target when the run stored no figures. */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, name, started_us, ended_us, target_conns, status,"
                           " (SELECT value FROM figures f WHERE f.run_id = runs.id AND"
                           "  f.name = 'conn_opened') FROM runs ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return -1;
    fprintf(out, "%-5s %-20s %-20s %9s %13s %s\n", "id", "name", "started (UTC)", "duration",
            "connections", "verdict");
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        time_t t = (time_t)(sqlite3_column_int64(st, 2) / 1000000);
        struct tm tm;
        char when[32] = "-", conns[48];
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        int64_t end = sqlite3_column_int64(st, 3);
        char dur[32] = "-";
        if (end)
            snprintf(dur, sizeof dur, "%.1fs", (end - sqlite3_column_int64(st, 2)) / 1e6);
        long long target = (long long)sqlite3_column_int64(st, 4);
        if (sqlite3_column_type(st, 6) != SQLITE_NULL)
            snprintf(conns, sizeof conns, "%.0f/%lld", sqlite3_column_double(st, 6), target);
        else
            snprintf(conns, sizeof conns, "%lld", target);
        const unsigned char *name = sqlite3_column_text(st, 1), *status = sqlite3_column_text(st, 5);
        fprintf(out, "%-5lld %-20s %-20s %9s %13s %s\n", (long long)sqlite3_column_int64(st, 0),
                name ? (const char *)name : "", when, dur, conns,
                status ? (const char *)status : "running");
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -1;
    if (!n)
        fprintf(out, "(no runs yet)\n");
    return 0;
}
