/* store: the SQLite results database.
 *
 * One file holds the history of many runs. The schema carries a version in
 * meta(schema_version); opening a database written by a newer pushstorm is
 * refused, an older one is migrated forward. Ingest runs in WAL mode with
 * synchronous=NORMAL inside one long transaction that is committed every
 * STORE_COMMIT_INTERVAL, so a crash loses at most that interval and the rest of
 * the run stays readable. Every statement on a hot path is prepared once. */
#ifndef PS_STORE_H
#define PS_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "ps_proto.h"

/* The handles only: SQL is spoken by the store (store.c, store_runs.c) and the
 * report data loader (report/report_data*.c), the files that include <sqlite3.h>. */
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

#define STORE_SCHEMA_VERSION 5   /* 2: monitor_samples, 3: run_owners, 4: run indexes of
                                    undelivered and ctl_samples, 5: the client protocols'
                                    counters in samples (issue 13) */

/* Rows of a per-event table waiting for their multi-row INSERT (store_ingest.c). */
#define STORE_BATCH_ROWS      128
#define STORE_INGEST_COLS_MAX 8
enum store_ingest_table { STORE_INGEST_EVENTS, STORE_INGEST_DELIVERIES, STORE_INGEST_N };
struct store_batch {
    sqlite3_stmt *one, *many;    /* one row; STORE_BATCH_ROWS rows */
    uint32_t cols, n;            /* values per row; rows waiting */
    int64_t v[STORE_BATCH_ROWS * STORE_INGEST_COLS_MAX];
};

struct store {
    sqlite3 *db;
    int in_txn;
    int64_t last_commit_us;
    struct store_batch batch[STORE_INGEST_N];   /* conn_events, deliveries */
    sqlite3_stmt *upd_push_result;   /* the settle's rows: one per message, one per miss */
    sqlite3_stmt *ins_undelivered;
    sqlite3_stmt *ins_push;
    sqlite3_stmt *upd_push_http;
    sqlite3_stmt *ins_sample;
    sqlite3_stmt *ins_ctl_sample;
    sqlite3_stmt *ins_monitor;
    /* The first failed write or commit, kept until close: a run that goes on
     * writing into a database that refuses rows would report figures that are
     * not there, so the run checks store_failed() and stops. */
    int  failed;
    char error[512];             /* "<db file>: <what> failed: <SQLite's message>" */
    char path[256];              /* db file, for error */
    int  reserved;               /* store_reserve.c: DB-reserve file held */
};

struct store_push_row {
    uint32_t run_id, msg_id;
    int      mode;               /* enum plan_push_mode */
    int64_t  conn;               /* -1 for broadcast */
    int64_t  t_send_us;
    const char *url;
};

struct store_ctl_sample {
    uint32_t run_id;
    int64_t  second;
    uint32_t connected;
    uint32_t agents;
    uint64_t opened, failed, closed;
    uint64_t pushes_sent, push_errors, delivered;
    uint32_t lat_p50_us, lat_p99_us;
};

/* Opens (creating if needed) and migrates. readonly: for reports (no create). */
int  store_open(struct store *s, const char *path, int readonly, char *err, size_t errlen);
void store_close(struct store *s);
int  store_exec(struct store *s, const char *sql, char *err, size_t errlen);
/* Reading runs back (store_runs.c). Each returns 0, or -1 with the database's
 * message in err; an id that does not exist is 0. */
/* The highest run id. */
int  store_last_run_id(struct store *s, uint32_t *id, char *err, size_t errlen);
/* The highest run id above after with that plan name. */
int  store_find_run(struct store *s, uint32_t after, const char *name, uint32_t *id, char *err,
                    size_t errlen);
/* *found = 1 when run run_id is in the database. */
int  store_has_run(struct store *s, uint32_t run_id, int *found, char *err, size_t errlen);
/* The latest run before run_id of the same plan name that passed. */
int  store_last_pass(struct store *s, uint32_t run_id, uint32_t *id, char *err, size_t errlen);

/* One row of the runs listing; the strings (NULL when not stored) live until fn returns. */
struct store_run_row {
    uint32_t    id;
    const char *name, *status;
    int64_t     started_us, ended_us, target_conns;
    int         has_opened;      /* the run stored its conn_opened figure */
    double      opened;
};
typedef void (*store_run_fn)(void *ctx, const struct store_run_row *row);
/* Every run, by id. */
int  store_list_runs(struct store *s, store_run_fn fn, void *ctx, char *err, size_t errlen);
/* store_prune.c: removing old runs (pushstorm prune). A run is removed when
 * no rule keeps it: the keep newest, those started at or after cutoff_us, the
 * latest passing run of each plan name; a running run is never removed. */
struct store_prune_opts {
    int      keep_given, cutoff_given, dry_run;
    uint32_t keep;
    int64_t  cutoff_us;          /* wall clock */
};
struct store_prune_run {
    uint32_t    id;
    const char *name, *status;   /* live until fn returns */
    int64_t     started_us;
    int         running;         /* selected but kept: still running */
};
#define STORE_PRUNE_TABLES 32
struct store_prune_result {
    uint32_t runs, kept_running;
    uint64_t rows;
    size_t   n_tables;
    struct { char name[64]; uint64_t rows; } tables[STORE_PRUNE_TABLES];  /* rows removed per table */
    int64_t  bytes_before, bytes_after;   /* the file and its WAL */
    char     vacuum_error[256];           /* "" = VACUUM done (or not needed) */
};
typedef void (*store_prune_fn)(void *ctx, const struct store_prune_run *run);
/* fn is told of each run selected (removed, or kept as running). Returns 0;
 * -1 with err when nothing could be removed (the database is unchanged). */
int  store_prune(struct store *s, const struct store_prune_opts *o, store_prune_fn fn, void *ctx,
                 struct store_prune_result *res, char *err, size_t errlen);
/* Commit the running ingest transaction and start a new one. */
int  store_commit(struct store *s);
void store_maybe_commit(struct store *s, int64_t now_us);
/* Has any write or commit failed since open? The text names the db file and
 * SQLite's message of the first failure ("" while none). */
int  store_failed(const struct store *s);
const char *store_error_text(const struct store *s);

/* store_reserve.c: disk room held from run begin until its status is written */
int  store_reserve_take(struct store *s);
void store_reserve_release(struct store *s);

/* store_owner.c: the controller process that owns a run; runs left
 * `running` by a dead one become `interrupted` (called by store_open). */
int  store_owner_claim(struct store *s, uint32_t run_id);
int  store_owner_reap(struct store *s, int readonly, char *err, size_t errlen);
int  store_run_begin(struct store *s, const char *name, const char *plan_path, const char *plan_text,
                     int64_t started_us, uint64_t target_conns, uint32_t *run_id);
int  store_run_end(struct store *s, uint32_t run_id, int64_t ended_us, const char *status,
                   int exit_code, const char *reason);
int  store_agent(struct store *s, uint32_t run_id, uint32_t agent_id, const struct ps_hello *h,
                 int64_t joined_us);
int  store_agent_update(struct store *s, uint32_t run_id, uint32_t agent_id, uint32_t conn_first,
                        uint32_t conn_count, int64_t offset_us, int64_t offset_err_us,
                        int64_t start_skew_us, int64_t lost_us, const char *refused);
int  store_phase(struct store *s, uint32_t run_id, uint32_t idx, const char *kind, int line,
                 int64_t started_us, int64_t ended_us, const char *note);
int  store_event(struct store *s, uint32_t run_id, uint32_t agent_id, const struct ps_event *ev,
                 int64_t ts_corrected);
int  store_sample(struct store *s, uint32_t run_id, uint32_t agent_id, const struct ps_stats *st);
int  store_monitor_sample(struct store *s, uint32_t run_id, uint32_t agent_id, int64_t second,
                          const struct ps_hostmon *h);
int  store_ctl_sample(struct store *s, const struct store_ctl_sample *cs);
int  store_push(struct store *s, const struct store_push_row *p);
int  store_push_http(struct store *s, uint32_t run_id, uint32_t msg_id, int status, int64_t http_us,
                     const char *error);
int  store_push_result(struct store *s, uint32_t run_id, uint32_t msg_id, uint32_t expected,
                       uint32_t delivered, uint32_t duplicates, uint32_t lost,
                       uint32_t missed_offline, uint32_t agent_lost);
int  store_delivery(struct store *s, uint32_t run_id, uint32_t msg_id, uint32_t conn,
                    int64_t t_recv_us, int64_t latency_us, int64_t err_us, int duplicate,
                    int out_of_order);
int  store_undelivered(struct store *s, uint32_t run_id, uint32_t msg_id, uint32_t conn,
                       const char *kind);
int  store_figure(struct store *s, uint32_t run_id, const char *name, double value);
int  store_threshold(struct store *s, uint32_t run_id, const char *name, const char *expr,
                     double measured, int pass);

#endif
