/* report_data: what the report formats (HTML, JSON, CSV, JUnit) and compare read
 * from the results database, loaded once per command.
 *
 * A run's small tables (the runs row, figures, thresholds, agents, phases) are
 * loaded into plain arrays owned by struct report_run; the large ones (samples,
 * deliveries, events) are read by named query into row sets or streamed. These
 * files (report_data.c, report_data_rows.c) and the store are the only code
 * that speaks SQL: the formats see structs, rows and callbacks. Output files are
 * written to a temporary name beside the target and renamed into place only
 * when the whole report was produced, so a failed report never leaves a
 * truncated file and never overwrites a good one. */
#ifndef PS_REPORT_DATA_H
#define PS_REPORT_DATA_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "ps_hist.h"
#include "store.h"

struct report_fig {
    char   name[64];
    double value;
};

struct report_thr {
    char   name[64];
    char   expr[64];
    double measured;
    int    pass;
};

struct report_agent {
    uint32_t id;
    char     name[64];
    char     host[64];
    int      monitor;
    int64_t  conn_first, conn_count;
    int64_t  offset_us, offset_err_us, start_skew_us;
    int64_t  lost_us;            /* wall time the agent was lost; 0 = stayed */
    int64_t  lag_max_us;         /* worst event-loop lag over its samples */
    int64_t  lost, missed_offline, agent_lost;  /* undelivered rows of its connections */
    char     refused[160];
};

struct report_phase {
    uint32_t idx;                /* 1-based, as stored */
    char     kind[32];
    int      line;
    int64_t  started_us, ended_us;
    char     note[128];
};

struct report_run {
    uint32_t id;
    char     name[128];
    char     plan_path[512];
    char    *plan_text;          /* owned; "" when not stored */
    int64_t  started_us, ended_us;
    char     status[16];         /* pass, fail, failed, running */
    int      exit_code;          /* -1 while running */
    char     reason[512];        /* "" when none; as long as the run's own buffer */
    int64_t  target_conns;
    size_t   n_figs, n_thr, n_agents, n_phases;
    struct report_fig   *figs;
    struct report_thr   *thr;
    struct report_agent *agents;
    struct report_phase *phases;
};

/* Loads run run_id. Returns 0; -1 with a message in err when the run is not in
 * the database or the database cannot be read (corrupted, not ours). */
int  report_data_load(struct store *s, uint32_t run_id, struct report_run *r, char *err,
                      size_t errlen);
/* The run with its figures, thresholds and phases but no agents: what the text
 * summary needs, without the agents' pass over samples and undelivered. */
int  report_data_load_head(struct store *s, uint32_t run_id, struct report_run *r, char *err,
                           size_t errlen);
void report_data_free(struct report_run *r);
/* A figure by name: 1 and *v set when the run stored it, 0 when not. */
int  report_data_fig(const struct report_run *r, const char *name, double *v);
/* A threshold's measured value in its unit (duration, percent, count), as the
 * text summary prints it. Returns buf. */
char *report_data_fmt_measured(const char *name, double v, char *buf, size_t len);
/* Seconds from the run's start to wall time t_us. */
double report_data_rel_s(const struct report_run *r, int64_t t_us);

/* The figures reason_* of the run (connections failed or closed by reason),
 * name without the prefix, most frequent first. free(*out). */
int  report_data_reasons(struct store *s, uint32_t run_id, struct report_fig **out, size_t *n,
                         char *err, size_t errlen);

/* The run's push calls counted by adapter and status, "kind:status" (status
 * "none": no answer), most frequent first. free(*out). */
int  report_data_push_status(struct store *s, uint32_t run_id, struct report_fig **out, size_t *n,
                             char *err, size_t errlen);

/* Rows of numbers read by a named query (report_data_rows.c); NULL reads as NAN. */
enum report_query {
    REPORT_Q_CONNECTED,          /* second, connected summed over agents */
    REPORT_Q_CTL_CONNECTED,      /* second, connected by the controller's ledger */
    REPORT_Q_RATES,              /* second, opened/s, failed/s, closed/s summed over agents */
    REPORT_Q_CTL_RATES,          /* second, the same from the controller's totals */
    REPORT_Q_RAMP_OPENED,        /* one row: handshakes in ramp phases, samples counted */
};
struct report_rows {
    size_t  n, cap;
    int     ncols;
    double *v;                   /* row-major, n * ncols */
};
#define REPORT_ROW(rows, i, c) ((rows)->v[(size_t)(i) * (size_t)(rows)->ncols + (size_t)(c)])
int  report_data_rows(struct store *s, enum report_query q, uint32_t run_id,
                      struct report_rows *out, char *err, size_t errlen);
void report_data_rows_free(struct report_rows *rows);

/* Server metrics: 1 when the database has a monitor_samples table (schema 2 on)
 * with rows for the run. */
int  report_data_has_monitor(struct store *s, uint32_t run_id);
/* Its numeric columns, in table order; each read as rows (agent id, wall second,
 * value) by agent and second, rows without a number left out. */
#define REPORT_DATA_MONITOR_COLS 11
const char *report_data_monitor_col(size_t col);
int  report_data_monitor_rows(struct store *s, uint32_t run_id, size_t col,
                              struct report_rows *out, char *err, size_t errlen);

/* A run's tables as exported whole (CSV): REPORT_DATA_DUMPS of them, each with
 * a name ("samples", "conn_events_summary": counts, not the raw events, ...).
 * fn gets the column names first, then every row's values as text (NULL for
 * NULL); the strings live until it returns. */
#define REPORT_DATA_DUMPS 11
const char *report_data_dump_name(size_t i);
typedef void (*report_dump_fn)(void *ctx, int ncols, const char *const *vals);
int  report_data_dump(struct store *s, size_t i, uint32_t run_id, report_dump_fn fn, void *ctx,
                      char *err, size_t errlen);

/* Push latency by send time: one histogram per time bucket of bucket_s seconds
 * (1 s, widened for long runs so a report stays a few MB), and the whole run.
 * Duplicate deliveries are left out: their latency is not a delivery's. */
struct report_latency {
    int64_t         bucket_s;
    size_t          n;           /* buckets, from the run's start */
    struct ps_hist **per;        /* n entries, NULL where nothing was delivered */
    struct ps_hist  total;
};
int  report_data_latency(struct store *s, const struct report_run *r, struct report_latency *out,
                         char *err, size_t errlen);
void report_data_latency_free(struct report_latency *l);

/* Failures and closes of the run by (event type, reason), most frequent first. */
struct report_end {
    char     event[32];          /* "failed", "closed" */
    char     reason[48];
    uint32_t type;               /* PS_EV_FAILED or PS_EV_CLOSED */
    uint64_t n;
};
int  report_data_ends(struct store *s, uint32_t run_id, struct report_end **out, size_t *n,
                      char *err, size_t errlen);   /* free(*out) */

/* An output file written atomically (see file comment). path NULL or "-" means
 * stdout, written directly. */
struct report_data_out {
    FILE *f;
    int   to_stdout;
    char  path[PATH_MAX];
    char  tmp[PATH_MAX];
};
int  report_data_out_open(struct report_data_out *o, const char *path, char *err, size_t errlen);
/* ok: flush and rename into place (returns -1 with err when that fails);
 * !ok: discard the temporary file and leave any existing file as it was. */
int  report_data_out_close(struct report_data_out *o, int ok, char *err, size_t errlen);

#endif
