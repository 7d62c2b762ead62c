/* report_csv: `pushstorm report RUN --csv DIR`, one CSV file per table of a run.
 *
 * For spreadsheets and notebooks: DIR gets samples.csv, ctl_samples.csv,
 * pushes.csv, deliveries.csv, undelivered.csv, conn_events_summary.csv (counts
 * per event type and reason, not the raw events, which can number hundreds of
 * millions), figures.csv, thresholds.csv, agents.csv, phases.csv, and
 * monitor_samples.csv when that table exists. Each file has a header row of
 * column names and RFC 4180 quoting; NULL is an empty field. Every file is
 * written under a temporary name first and all are renamed into place only
 * when every one was written, so a failure part way leaves DIR as it was. */
#include "report.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

struct report_csv_table {
    const char *file;
    const char *sql;             /* ?1 = run id */
};

static const struct report_csv_table report_csv_tables[] = {
    {"samples.csv", "SELECT * FROM samples WHERE run_id=?1 ORDER BY second, agent_id"},
    {"ctl_samples.csv", "SELECT * FROM ctl_samples WHERE run_id=?1 ORDER BY second"},
    {"pushes.csv", "SELECT * FROM pushes WHERE run_id=?1 ORDER BY msg_id"},
    {"deliveries.csv", "SELECT * FROM deliveries WHERE run_id=?1"},
    {"undelivered.csv", "SELECT * FROM undelivered WHERE run_id=?1 ORDER BY msg_id, conn"},
    {"conn_events_summary.csv",
     "SELECT c.run_id, coalesce(e.name, c.type) AS event,"
     " CASE WHEN c.type IN (2, 3) THEN coalesce(n.name, c.val) END AS reason,"
     " count(*) AS events, count(DISTINCT c.conn) AS connections,"
     " min(c.ts_us) AS first_ts_us, max(c.ts_us) AS last_ts_us"
     " FROM conn_events c LEFT JOIN event_types e ON e.type = c.type"
     " LEFT JOIN reasons n ON n.reason = c.val AND c.type IN (2, 3)"
     " WHERE c.run_id=?1 GROUP BY c.type, CASE WHEN c.type IN (2, 3) THEN c.val END"
     " ORDER BY c.type, events DESC"},
    {"figures.csv", "SELECT * FROM figures WHERE run_id=?1 ORDER BY name"},
    {"thresholds.csv", "SELECT * FROM thresholds WHERE run_id=?1 ORDER BY rowid"},
    {"agents.csv", "SELECT * FROM agents WHERE run_id=?1 ORDER BY agent_id"},
    {"phases.csv", "SELECT * FROM phases WHERE run_id=?1 ORDER BY idx"},
    {"monitor_samples.csv", "SELECT * FROM monitor_samples WHERE run_id=?1"},
};
#define REPORT_CSV_N (sizeof report_csv_tables / sizeof report_csv_tables[0])

static void report_csv_field(FILE *o, const char *t)
{
    if (!t)
        return;
    if (!strpbrk(t, ",\"\r\n")) {
        fputs(t, o);
        return;
    }
    fputc('"', o);
    for (; *t; t++) {
        if (*t == '"')
            fputc('"', o);
        fputc(*t, o);
    }
    fputc('"', o);
}

static int report_csv_table(struct store *s, uint32_t run_id, const char *sql, FILE *o, char *err,
                            size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot read the database: %s", sqlite3_errmsg(s->db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, run_id);
    int n = sqlite3_column_count(st), rc;
    for (int c = 0; c < n; c++) {
        if (c)
            fputc(',', o);
        report_csv_field(o, sqlite3_column_name(st, c));
    }
    fputs("\r\n", o);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < n; c++) {
            if (c)
                fputc(',', o);
            report_csv_field(o, (const char *)sqlite3_column_text(st, c));
        }
        fputs("\r\n", o);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "cannot read the database: %s", sqlite3_errstr(rc));
        return -1;
    }
    return 0;
}

int report_csv_write(struct store *s, const struct report_run *r, const char *dir, FILE *list,
                     char *err, size_t errlen)
{
    struct stat sb;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create directory: %s", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s: not a directory", dir);
        return -1;
    }
    struct report_data_out out[REPORT_CSV_N];
    size_t opened = 0;
    int rc = 0;
    for (size_t i = 0; i < REPORT_CSV_N && !rc; i++) {
        const struct report_csv_table *t = &report_csv_tables[i];
        if (!strcmp(t->file, "monitor_samples.csv") &&
            !report_data_table_has_run(s, "monitor_samples", r->id))
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, t->file) >= (int)sizeof path) {
            snprintf(err, errlen, "%s: path too long", dir);
            rc = -1;
            break;
        }
        if (report_data_out_open(&out[opened], path, err, errlen)) {
            rc = -1;
            break;
        }
        opened++;
        rc = report_csv_table(s, r->id, t->sql, out[opened - 1].f, err, errlen);
        if (rc) {
            char why[256];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, errlen, "%s: %s", t->file, why);
        }
    }
    /* A failure while writing discards every temporary file, so DIR keeps its
     * old files; only a failing rename (rare: same directory) can leave a mix. */
    for (size_t i = 0; i < opened; i++) {
        char e[512];
        if (report_data_out_close(&out[i], !rc, e, sizeof e) && !rc) {
            snprintf(err, errlen, "%s", e);
            rc = -1;
        } else if (!rc && list)
            fprintf(list, "%s\n", out[i].path);
    }
    return rc;
}
