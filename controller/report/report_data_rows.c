/* report_data_rows: the large tables of a run, read by query: the series the
 * charts and compare draw on, the latency pass, server metrics and the whole
 * tables the CSV export writes.
 *
 * Queries are named (enum report_query, the dumps) and their SQL lives in the
 * tables below, so a format asks for "the connect rate" and never composes SQL.
 * The latency pass streams the deliveries of the run once, in storage order,
 * into per-bucket histograms, so it needs no sort of a table that can hold
 * hundreds of millions of rows. */
#include "report_data_sql.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Buckets of the latency-over-time series: at most about this many. */
#define REPORT_DATA_LAT_BUCKETS 600
/* Send times this far outside the run are agent clock trouble, not data. */
#define REPORT_DATA_MAX_SPAN_S  (40 * 86400)

struct report_data_query {
    int         ncols;
    const char *sql;             /* ?1 = run id */
};

/* Indexed by enum report_query. Per-agent cumulative counters are turned into
 * per-second increments before they are summed over agents, so an agent's
 * missing second does not show as a dip in the sum. */
static const struct report_data_query report_data_queries[] = {
    [REPORT_Q_CONNECTED] = {2, "SELECT second, sum(connected) FROM samples WHERE run_id=?1"
                               " GROUP BY second ORDER BY second"},
    [REPORT_Q_CTL_CONNECTED] = {2, "SELECT second, connected FROM ctl_samples WHERE run_id=?1"
                                   " ORDER BY second"},
    [REPORT_Q_RATES] = {4, "SELECT second, sum(d_open), sum(d_fail), sum(d_close) FROM (SELECT second,"
                           " opened - lag(opened, 1, 0) OVER w AS d_open, failed - lag(failed, 1, 0) OVER w AS d_fail,"
                           " closed - lag(closed, 1, 0) OVER w AS d_close FROM samples WHERE run_id=?1"
                           " WINDOW w AS (PARTITION BY agent_id ORDER BY second)) GROUP BY second ORDER BY second"},
    [REPORT_Q_CTL_RATES] = {4, "SELECT second, opened - lag(opened, 1, 0) OVER w, failed - lag(failed, 1, 0) OVER w,"
                               " closed - lag(closed, 1, 0) OVER w FROM ctl_samples WHERE run_id=?1"
                               " WINDOW w AS (ORDER BY second) ORDER BY second"},
    [REPORT_Q_RAMP_OPENED] = {2, "WITH d AS (SELECT second, opened - lag(opened, 1, 0) OVER"
                                 " (PARTITION BY agent_id ORDER BY second) AS inc FROM samples WHERE run_id=?1)"
                                 " SELECT sum(d.inc), count(*) FROM d JOIN phases p ON p.run_id=?1 AND p.kind='ramp'"
                                 " AND d.second * 1000000 + 1000000 > p.started_us AND d.second * 1000000 < p.ended_us"},
};

/* The numeric columns of monitor_samples as store.c creates them (schema 2),
 * in table order; tests/unit/test_report.c checks the two agree. */
static const char *const report_data_monitor_cols[] = {
    "host_cpu_pct", "load1", "mem_used_bytes", "tcp_inuse", "tcp_tw", "tcp_mem_bytes",
    "proc_pid", "proc_cpu_pct", "proc_rss_bytes", "proc_fds", "proc_threads",
};

struct report_data_dump {
    const char *name;
    const char *sql;             /* ?1 = run id */
};

static const struct report_data_dump report_data_dumps[] = {
    {"samples", "SELECT * FROM samples WHERE run_id=?1 ORDER BY second, agent_id"},
    {"ctl_samples", "SELECT * FROM ctl_samples WHERE run_id=?1 ORDER BY second"},
    {"pushes", "SELECT * FROM pushes WHERE run_id=?1 ORDER BY msg_id"},
    {"deliveries", "SELECT * FROM deliveries WHERE run_id=?1"},
    {"undelivered", "SELECT * FROM undelivered WHERE run_id=?1 ORDER BY msg_id, conn"},
    {"conn_events_summary",
     "SELECT c.run_id, coalesce(e.name, c.type) AS event,"
     " CASE WHEN c.type IN (2, 3) THEN coalesce(n.name, c.val) END AS reason,"
     " count(*) AS events, count(DISTINCT c.conn) AS connections,"
     " min(c.ts_us) AS first_ts_us, max(c.ts_us) AS last_ts_us"
     " FROM conn_events c LEFT JOIN event_types e ON e.type = c.type"
     " LEFT JOIN reasons n ON n.reason = c.val AND c.type IN (2, 3)"
     " WHERE c.run_id=?1 GROUP BY c.type, CASE WHEN c.type IN (2, 3) THEN c.val END"
     " ORDER BY c.type, events DESC"},
    {"figures", "SELECT * FROM figures WHERE run_id=?1 ORDER BY name"},
    {"thresholds", "SELECT * FROM thresholds WHERE run_id=?1 ORDER BY rowid"},
    {"agents", "SELECT * FROM agents WHERE run_id=?1 ORDER BY agent_id"},
    {"phases", "SELECT * FROM phases WHERE run_id=?1 ORDER BY idx"},
    {"monitor_samples", "SELECT * FROM monitor_samples WHERE run_id=?1"},
};

_Static_assert(sizeof report_data_queries / sizeof report_data_queries[0] == REPORT_Q_RAMP_OPENED + 1,
               "a query for every enum report_query");
_Static_assert(sizeof report_data_monitor_cols / sizeof report_data_monitor_cols[0] ==
                   REPORT_DATA_MONITOR_COLS, "REPORT_DATA_MONITOR_COLS names");
_Static_assert(sizeof report_data_dumps / sizeof report_data_dumps[0] == REPORT_DATA_DUMPS,
               "REPORT_DATA_DUMPS tables");

/* Rows of ncols numbers from sql, whose ?1 is the run id. */
static int report_data_read_rows(struct store *s, const char *sql, uint32_t run_id, int ncols,
                                 struct report_rows *out, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    out->ncols = ncols;
    if (report_data_prepare(s, &st, sql, run_id, err, errlen))
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == out->cap) {
            size_t nc = out->cap ? out->cap * 2 : 256;
            double *nv = realloc(out->v, nc * (size_t)ncols * sizeof *nv);
            if (!nv) {
                rc = SQLITE_NOMEM;
                break;
            }
            out->v = nv;
            out->cap = nc;
        }
        for (int c = 0; c < ncols; c++)
            REPORT_ROW(out, out->n, c) = sqlite3_column_type(st, c) == SQLITE_NULL
                                             ? NAN
                                             : sqlite3_column_double(st, c);
        out->n++;
    }
    if (report_data_done(st, rc, err, errlen)) {
        report_data_rows_free(out);
        return -1;
    }
    return 0;
}

int report_data_rows(struct store *s, enum report_query q, uint32_t run_id,
                     struct report_rows *out, char *err, size_t errlen)
{
    const struct report_data_query *d = &report_data_queries[q];
    return report_data_read_rows(s, d->sql, run_id, d->ncols, out, err, errlen);
}

void report_data_rows_free(struct report_rows *rows)
{
    free(rows->v);
    memset(rows, 0, sizeof *rows);
}

int report_data_latency(struct store *s, const struct report_run *r, struct report_latency *out,
                        char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    ps_hist_init(&out->total);
    int64_t end = r->ended_us > r->started_us ? r->ended_us : r->started_us;
    int64_t span_s = (end - r->started_us) / 1000000 + 1;
    out->bucket_s = span_s / REPORT_DATA_LAT_BUCKETS + 1;
    sqlite3_stmt *st;
    if (report_data_prepare(s, &st,
                            "SELECT t_recv_us - latency_us, latency_us FROM deliveries"
                            " WHERE run_id=?1 AND duplicate=0 AND latency_us >= 0",
                            r->id, err, errlen))
        return -1;
    int rc;
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t sent = sqlite3_column_int64(st, 0), lat = sqlite3_column_int64(st, 1);
        ps_hist_record(&out->total, (uint64_t)lat);
        int64_t rel = (sent - r->started_us) / 1000000;
        if (rel < 0 || rel > REPORT_DATA_MAX_SPAN_S)
            continue; /* in the total, but not placeable in time */
        size_t b = (size_t)(rel / out->bucket_s);
        if (b >= cap) {
            size_t nc = cap ? cap : 64;
            while (nc <= b)
                nc *= 2;
            struct ps_hist **np = realloc(out->per, nc * sizeof *np);
            if (!np) {
                rc = SQLITE_NOMEM;
                break;
            }
            memset(np + cap, 0, (nc - cap) * sizeof *np);
            out->per = np;
            cap = nc;
        }
        if (!out->per[b]) {
            out->per[b] = malloc(sizeof *out->per[b]);
            if (!out->per[b]) {
                rc = SQLITE_NOMEM;
                break;
            }
            ps_hist_init(out->per[b]);
        }
        ps_hist_record(out->per[b], (uint64_t)lat);
        if (b + 1 > out->n)
            out->n = b + 1;
    }
    if (report_data_done(st, rc, err, errlen)) {
        /* Slots past n are NULL, so freeing by capacity is safe and complete. */
        out->n = cap;
        report_data_latency_free(out);
        return -1;
    }
    return 0;
}

void report_data_latency_free(struct report_latency *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->per[i]);
    free(l->per);
    memset(l, 0, sizeof *l);
}

int report_data_has_monitor(struct store *s, uint32_t run_id)
{
    /* A schema 1 database, opened read-only and so not migrated, has no such
     * table: the query does not prepare, and there is nothing to show. */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM monitor_samples WHERE run_id=?1 LIMIT 1", -1, &st,
                           NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, run_id);
    int yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

const char *report_data_monitor_col(size_t col)
{
    return col < REPORT_DATA_MONITOR_COLS ? report_data_monitor_cols[col] : NULL;
}

int report_data_monitor_rows(struct store *s, uint32_t run_id, size_t col,
                             struct report_rows *out, char *err, size_t errlen)
{
    const char *c = report_data_monitor_col(col);
    char sql[256];
    if (!c) {
        snprintf(err, errlen, "no monitor column %zu", col);
        return -1;
    }
    snprintf(sql, sizeof sql, "SELECT \"agent_id\", \"second\", \"%s\" FROM monitor_samples WHERE"
             " run_id=?1 AND typeof(\"%s\") IN ('integer', 'real') ORDER BY 1, 2", c, c);
    return report_data_read_rows(s, sql, run_id, 3, out, err, errlen);
}

const char *report_data_dump_name(size_t i)
{
    return i < REPORT_DATA_DUMPS ? report_data_dumps[i].name : NULL;
}

int report_data_dump(struct store *s, size_t i, uint32_t run_id, report_dump_fn fn, void *ctx,
                     char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (i >= REPORT_DATA_DUMPS) {
        snprintf(err, errlen, "no table %zu", i);
        return -1;
    }
    if (report_data_prepare(s, &st, report_data_dumps[i].sql, run_id, err, errlen))
        return -1;
    int n = sqlite3_column_count(st), rc;
    const char **vals = calloc((size_t)n + 1, sizeof *vals);
    if (!vals)
        return report_data_done(st, SQLITE_NOMEM, err, errlen);
    for (int c = 0; c < n; c++)
        vals[c] = sqlite3_column_name(st, c);
    fn(ctx, n, vals);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < n; c++)
            vals[c] = (const char *)sqlite3_column_text(st, c);
        fn(ctx, n, vals);
    }
    free(vals);
    return report_data_done(st, rc, err, errlen);
}
