/* store: SQLite persistence of runs, agents, samples, events, pushes and deliveries.
 *
 * Schema version 1 is created by SCHEMA below. The ingest path (events,
 * deliveries, samples) uses statements prepared once in store_open and runs
 * inside a transaction that store_maybe_commit closes and reopens every
 * STORE_COMMIT_INTERVAL_US: one fsync-free WAL commit per interval instead of per
 * row keeps ingest well above a million rows per second (LWS-NOTES), and bounds
 * what a crash can lose. Indexes whose key order does not follow insert order
 * are created at run end (store_run_end), never during ingest. Rare writes
 * (agents, phases, figures) prepare their statement per call. */
#include "store_internal.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ps_time.h"

#define STORE_COMMIT_INTERVAL_US 250000

/* The samples table is a run, an agent and one column per field of ps_stats,
 * expanded from its table in ps_proto.h: a statistic added to the wire is stored
 * without a column list or a count of placeholders kept here by hand. A kind the
 * table gains and the store cannot map stops the build here. */
#define STORE_SAMPLE_COL(kind, name, ...)    ", " STORE_COL_##kind(name, __VA_ARGS__)
#define STORE_COL_INTEGER(name, ...)         #name " INTEGER"
#define STORE_COL_I64                        STORE_COL_INTEGER
#define STORE_COL_U32                        STORE_COL_INTEGER
#define STORE_COL_U64                        STORE_COL_INTEGER
#define STORE_COL_FLAG                       STORE_COL_INTEGER
#define STORE_COL_X100(name, column)         #column " REAL"
#define STORE_SAMPLE_PARAM(kind, name, ...)  ",?"
#define STORE_SAMPLE_BIND(kind, name, ...)   STORE_BIND_##kind(st, ++col, x->name);
#define STORE_BIND_INTEGER(st, col, v)       sqlite3_bind_int64(st, col, (int64_t)(v))
#define STORE_BIND_I64                       STORE_BIND_INTEGER
#define STORE_BIND_U32                       STORE_BIND_INTEGER
#define STORE_BIND_U64                       STORE_BIND_INTEGER
#define STORE_BIND_FLAG                      STORE_BIND_INTEGER
#define STORE_BIND_X100(st, col, v)          sqlite3_bind_double(st, col, (v) / 100.0)

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, name TEXT, plan_path TEXT,"
    "  plan_text TEXT, started_us INTEGER, ended_us INTEGER, status TEXT, exit_code INTEGER,"
    "  reason TEXT, target_conns INTEGER);"
    "CREATE TABLE IF NOT EXISTS agents(run_id INTEGER, agent_id INTEGER, name TEXT, host TEXT,"
    "  version TEXT, cores INTEGER, threads INTEGER, fd_soft INTEGER, fd_hard INTEGER,"
    "  mem_total INTEGER, mem_available INTEGER, port_lo INTEGER, port_hi INTEGER, ips TEXT,"
    "  monitor INTEGER, joined_us INTEGER, conn_first INTEGER, conn_count INTEGER,"
    "  offset_us INTEGER, offset_err_us INTEGER, start_skew_us INTEGER, lost_us INTEGER,"
    "  refused TEXT, PRIMARY KEY(run_id, agent_id));"
    "CREATE TABLE IF NOT EXISTS phases(run_id INTEGER, idx INTEGER, kind TEXT, line INTEGER,"
    "  started_us INTEGER, ended_us INTEGER, note TEXT, PRIMARY KEY(run_id, idx));"
    "CREATE TABLE IF NOT EXISTS samples(run_id INTEGER, agent_id INTEGER"
    PS_STATS_FIELDS(STORE_SAMPLE_COL) ");"
    "CREATE TABLE IF NOT EXISTS ctl_samples(run_id INTEGER, second INTEGER, connected INTEGER,"
    "  agents INTEGER, opened INTEGER, failed INTEGER, closed INTEGER, pushes_sent INTEGER,"
    "  push_errors INTEGER, delivered INTEGER, lat_p50_us INTEGER, lat_p99_us INTEGER);"
    "CREATE TABLE IF NOT EXISTS conn_events(run_id INTEGER, agent_id INTEGER, conn INTEGER,"
    "  ts_us INTEGER, type INTEGER, val INTEGER, aux INTEGER);"
    "CREATE TABLE IF NOT EXISTS pushes(run_id INTEGER, msg_id INTEGER, mode TEXT, conn INTEGER,"
    "  t_send_us INTEGER, url TEXT, http_status INTEGER, http_us INTEGER, error TEXT,"
    "  expected INTEGER, delivered INTEGER, duplicates INTEGER, lost INTEGER,"
    "  missed_offline INTEGER, agent_lost INTEGER, status_kind TEXT, status INTEGER,"
    "  PRIMARY KEY(run_id, msg_id));"
    "CREATE TABLE IF NOT EXISTS deliveries(run_id INTEGER, msg_id INTEGER, conn INTEGER,"
    "  t_recv_us INTEGER, latency_us INTEGER, err_us INTEGER, duplicate INTEGER,"
    "  out_of_order INTEGER);"
    "CREATE TABLE IF NOT EXISTS undelivered(run_id INTEGER, msg_id INTEGER, conn INTEGER,"
    "  kind TEXT);"
    "CREATE TABLE IF NOT EXISTS figures(run_id INTEGER, name TEXT, value REAL,"
    "  PRIMARY KEY(run_id, name));"
    "CREATE TABLE IF NOT EXISTS thresholds(run_id INTEGER, name TEXT, expr TEXT,"
    "  measured REAL, pass INTEGER, PRIMARY KEY(run_id, name));"
    /* one row per monitor agent (pushstorm-agent --monitor, on a server under
     * test) and second; cpu as percent (host: of all cores, proc: of one core) */
    "CREATE TABLE IF NOT EXISTS monitor_samples(run_id INTEGER, agent_id INTEGER,"
    "  second INTEGER, host_cpu_pct REAL, load1 REAL, mem_used_bytes INTEGER,"
    "  tcp_inuse INTEGER, tcp_tw INTEGER, tcp_mem_bytes INTEGER, proc_pid INTEGER,"
    "  proc_cpu_pct REAL, proc_rss_bytes INTEGER, proc_fds INTEGER, proc_threads INTEGER);"
    "CREATE INDEX IF NOT EXISTS monitor_samples_run ON monitor_samples(run_id);"
    /* the controller process of each run, to tell a dead one's runs (store_owner.c) */
    "CREATE TABLE IF NOT EXISTS run_owners(run_id INTEGER PRIMARY KEY, host TEXT, boot_id TEXT,"
    "  pid INTEGER, start_ticks INTEGER);"
    "CREATE TABLE IF NOT EXISTS event_types(type INTEGER PRIMARY KEY, name TEXT);"
    "CREATE TABLE IF NOT EXISTS reasons(reason INTEGER PRIMARY KEY, name TEXT);"
    "CREATE INDEX IF NOT EXISTS conn_events_run ON conn_events(run_id);"
    "CREATE INDEX IF NOT EXISTS deliveries_run ON deliveries(run_id);"
    "CREATE INDEX IF NOT EXISTS samples_run ON samples(run_id);"
    /* schema 4: without these, a report's per-agent undelivered counts and
     * `prune` scanned every run's rows of the two tables (written at the
     * verdict and once a second: no ingest cost) */
    "CREATE INDEX IF NOT EXISTS undelivered_run ON undelivered(run_id, conn);"
    "CREATE INDEX IF NOT EXISTS ctl_samples_run ON ctl_samples(run_id, second);";

static int store_prepare(struct store *s, sqlite3_stmt **st, const char *sql)
{
    return sqlite3_prepare_v2(s->db, sql, -1, st, NULL) == SQLITE_OK ? 0 : -1;
}

int store_exec(struct store *s, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        if (err)
            snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int store_schema_version(struct store *s, int *version)
{
    sqlite3_stmt *st;
    *version = 0;
    /* A database without meta is either empty (new) or not ours. */
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key='schema_version'", -1, &st,
                           NULL) != SQLITE_OK)
        return 0;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    /* A meta table that cannot be read is a damaged database, not a foreign one. */
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : rc;
}

static int store_count_tables(struct store *s, int *n)
{
    sqlite3_stmt *st;
    *n = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        *n = sqlite3_column_int(st, 0);
    else {
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

/* The names of event types and reasons, rewritten on every open for writing:
 * a reason added to the wire (unreachable) is named in a database created
 * before it, for the reports that join on these tables. */
static int store_names(struct store *s, char *err, size_t errlen)
{
    char sql[256];
    if (store_exec(s, "BEGIN", err, errlen))
        return -1;
    for (uint32_t t = 1; t <= PS_EV_LAST; t++) {
        snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO event_types VALUES(%u,'%s')", t,
                 ps_ev_type_name(t));
        if (store_exec(s, sql, err, errlen))
            return -1;
    }
    for (uint32_t r = 0; r < PS_REASON_COUNT; r++) {
        snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO reasons VALUES(%u,'%s')", r,
                 ps_reason_name(r));
        if (store_exec(s, sql, err, errlen))
            return -1;
    }
    return store_exec(s, "COMMIT", err, errlen);
}

/* 4 -> 5: columns an older table lacks, each added unless there (a database
 * marked older than its tables stays whole); old rows read NULL. Issue 13:
 * push adapters (each call's adapter and its own status) and the client
 * protocols' counters in samples. */
static int store_migrate_5(struct store *s, char *err, size_t errlen)
{
    static const char *const cols[][2] = {{"pushes", "status_kind TEXT"},
                                          {"pushes", "status INTEGER"},
                                          {"samples", "proto_duplicates INTEGER"},
                                          {"samples", "proto_acks INTEGER"},
                                          {"samples", "proto_pings INTEGER"}};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        char sql[160];
        sqlite3_stmt *st;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM pragma_table_info('%s') WHERE name='%.*s'",
                 cols[i][0], (int)strcspn(cols[i][1], " "), cols[i][1]);
        if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
            return -1;
        }
        int have = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
        sqlite3_finalize(st);
        snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s", cols[i][0], cols[i][1]);
        if (!have && store_exec(s, sql, err, errlen))
            return -1;
    }
    return 0;
}

static int store_create(struct store *s, char *err, size_t errlen)
{
    char sql[256];
    if (store_exec(s, "BEGIN", err, errlen) || store_exec(s, SCHEMA, err, errlen))
        return -1;
    snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta VALUES('schema_version','%d')",
             STORE_SCHEMA_VERSION);
    return store_exec(s, sql, err, errlen) || store_exec(s, "COMMIT", err, errlen) ? -1 : 0;
}

/* Runs left running by a dead controller become interrupted (store_owner.c);
 * failing to mark them does not keep the database from opening. */
static void store_open_reap(struct store *s, int readonly)
{
    char e[512];
    if (store_owner_reap(s, readonly, e, sizeof e) != 0)
        fprintf(stderr, "pushstorm: warning: %s\n", e);
}

int store_open(struct store *s, const char *path, int readonly, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (readonly && access(path, R_OK) != 0) {
        snprintf(err, errlen, "%s: no such database", path);
        return -1;
    }
    snprintf(s->path, sizeof s->path, "%s", path);
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot open database: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        store_close(s);
        return -1;
    }
    sqlite3_busy_timeout(s->db, 5000);
    int ntables, version;
    if (store_count_tables(s, &ntables) != 0) {
        snprintf(err, errlen, "%s: not a pushstorm database (%s)", path, sqlite3_errmsg(s->db));
        store_close(s);
        return -1;
    }
    int vrc = store_schema_version(s, &version);
    if (vrc != 0) {
        snprintf(err, errlen, "%s: cannot read the database: %s (damaged file?); refusing to touch it",
                 path, sqlite3_errstr(vrc));
        store_close(s);
        return -1;
    }
    if (ntables > 0 && version == 0) {
        snprintf(err, errlen, "%s: not a pushstorm database (no schema version); refusing to touch it",
                 path);
        store_close(s);
        return -1;
    }
    if (version > STORE_SCHEMA_VERSION) {
        snprintf(err, errlen, "%s: written by a newer pushstorm (schema %d, this one knows up to %d)",
                 path, version, STORE_SCHEMA_VERSION);
        store_close(s);
        return -1;
    }
    if (readonly) {
        if (ntables == 0) {
            snprintf(err, errlen, "%s: empty database, no runs", path);
            store_close(s);
            return -1;
        }
        store_open_reap(s, 1);
        return 0;
    }
    char e[256];
    /* Migrating forward: most schema changes only add tables and indexes,
     * which the CREATE ... IF NOT EXISTS script adds to an older database
     * without touching what it holds (1 -> 2: monitor_samples, 2 -> 3:
     * run_owners, 3 -> 4: two indexes); 4 -> 5 adds pushes' status columns
     * and the client protocols' columns to samples (ALTER TABLE, old rows
     * NULL); then the version is raised. */
    if (store_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", e, sizeof e) ||
        (version && version < 5 && store_migrate_5(s, e, sizeof e)) ||
        (version < STORE_SCHEMA_VERSION && store_create(s, e, sizeof e)) ||
        store_names(s, e, sizeof e)) {
        snprintf(err, errlen, "%s: %s", path, e);
        store_close(s);
        return -1;
    }
    if (store_ingest_prepare(s) ||
        store_prepare(s, &s->ins_push,
                      "INSERT INTO pushes(run_id,msg_id,mode,conn,t_send_us,url) VALUES(?,?,?,?,?,?)") ||
        store_prepare(s, &s->upd_push_http,
                      "UPDATE pushes SET http_status=?3, http_us=?4, error=?5, status_kind=?6, status=?7"
                      " WHERE run_id=?1 AND msg_id=?2") ||
        store_prepare(s, &s->ins_sample,
                      "INSERT INTO samples VALUES(?,?" PS_STATS_FIELDS(STORE_SAMPLE_PARAM) ")") ||
        store_prepare(s, &s->ins_ctl_sample,
                      "INSERT INTO ctl_samples VALUES(?,?,?,?,?,?,?,?,?,?,?,?)") ||
        store_prepare(s, &s->ins_monitor,
                      "INSERT INTO monitor_samples VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)")) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
        store_close(s);
        return -1;
    }
    store_open_reap(s, 0);
    return 0;
}

void store_close(struct store *s)
{
    if (!s->db)
        return;
    store_reserve_release(s);
    if (s->in_txn) {
        store_ingest_flush(s);
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    }
    store_ingest_finalize(s);
    sqlite3_finalize(s->ins_push);
    sqlite3_finalize(s->upd_push_http);
    sqlite3_finalize(s->ins_sample);
    sqlite3_finalize(s->ins_ctl_sample);
    sqlite3_finalize(s->ins_monitor);
    sqlite3_close(s->db);
    memset(s, 0, sizeof *s);
}

/* Keeps the first failure (later ones are most often its consequences) and
 * says nothing: the run prints it once, with the run's verdict. */
int store_fail(struct store *s, const char *what)
{
    if (!s->failed) {
        s->failed = 1;
        snprintf(s->error, sizeof s->error, "%s: %s failed: %s", s->path, what,
                 sqlite3_errmsg(s->db));
    }
    return -1;
}

int store_failed(const struct store *s)
{
    return s->failed;
}

const char *store_error_text(const struct store *s)
{
    return s->failed ? s->error : "";
}

void store_begin(struct store *s)
{
    if (s->in_txn)
        return;
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK)
        s->in_txn = 1;
    else
        store_fail(s, "database transaction start");
}

int store_commit(struct store *s)
{
    int rc = 0;
    if (s->in_txn)
        rc = store_ingest_flush(s);
    if (s->in_txn && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = store_fail(s, "database commit");
        /* A COMMIT refused for a full disk leaves its transaction open: roll
         * it back (its rows are lost either way, and the sticky error says
         * so), so that the run's failed status can still go in on its own,
         * in the space the rolled-back pages leave in the WAL. */
        if (!sqlite3_get_autocommit(s->db))
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    s->in_txn = 0;
    s->last_commit_us = ps_time_mono_us();
    return rc;
}

void store_maybe_commit(struct store *s, int64_t now_us)
{
    if (s->in_txn && now_us - s->last_commit_us >= STORE_COMMIT_INTERVAL_US)
        store_commit(s);
}

static int store_step(struct store *s, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        store_fail(s, "database write");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Rare writes: prepare, bind from a format, step, finalize. Formats: i = int64,
 * d = double, s = text (NULL allowed). */
static int store_write(struct store *s, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "database write");
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; fmt[i]; i++) {
        if (fmt[i] == 'i')
            sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        else if (fmt[i] == 'd')
            sqlite3_bind_double(st, i + 1, va_arg(ap, double));
        else {
            const char *t = va_arg(ap, const char *);
            if (t)
                sqlite3_bind_text(st, i + 1, t, -1, SQLITE_TRANSIENT);
        }
    }
    va_end(ap);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        store_fail(s, "database write");
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_run_begin(struct store *s, const char *name, const char *plan_path, const char *plan_text,
                    int64_t started_us, uint64_t target_conns, uint32_t *run_id)
{
    store_commit(s);
    if (store_write(s,
                    "INSERT INTO runs(name,plan_path,plan_text,started_us,status,target_conns)"
                    " VALUES(?,?,?,?,'running',?)",
                    "sssii", name, plan_path, plan_text, started_us, (int64_t)target_conns))
        return -1;
    *run_id = (uint32_t)sqlite3_last_insert_rowid(s->db);
    if (store_owner_claim(s, *run_id) != 0)
        return store_fail(s, "recording the run's controller");
    store_reserve_take(s);
    store_begin(s);
    return 0;
}

int store_run_end(struct store *s, uint32_t run_id, int64_t ended_us, const char *status,
                  int exit_code, const char *reason)
{
    static const char sql[] = "UPDATE runs SET ended_us=?, status=?, exit_code=?, reason=? WHERE id=?";
    store_reserve_release(s);   /* its room is for this status */
    if (s->failed) {
        /* after a refused write, keep what the open transaction holds if the
         * file still takes it, else drop it; then the status alone */
        if (s->in_txn)
            store_ingest_flush(s);
        if (!sqlite3_get_autocommit(s->db) &&
            sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        s->in_txn = 0;
        return store_write(s, sql, "isisi", ended_us, status, (int64_t)exit_code, reason,
                           (int64_t)run_id);
    }
    store_begin(s);
    int rc = store_write(s, sql, "isisi", ended_us, status, (int64_t)exit_code, reason, (int64_t)run_id);
    store_commit(s);
    /* The WAL into the database file: a disk that fills here fails the run
     * too (what the WAL holds stays readable; SQLite replays it on open). */
    int log, done;
    int ck = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (ck != SQLITE_OK && ck != SQLITE_BUSY)
        rc = store_fail(s, "database checkpoint");
    /* Query indexes for reports: built once, after ingest (see file comment). */
    store_exec(s,
               "CREATE INDEX IF NOT EXISTS deliveries_msg ON deliveries(run_id, msg_id);"
               "CREATE INDEX IF NOT EXISTS conn_events_conn ON conn_events(run_id, conn, ts_us);",
               NULL, 0);
    return rc;
}

int store_agent(struct store *s, uint32_t run_id, uint32_t agent_id, const struct ps_hello *h,
                int64_t joined_us)
{
    char ips[PS_MAX_IPS * PS_IP_MAX + PS_MAX_IPS] = "";
    size_t off = 0;
    for (uint32_t i = 0; i < h->n_ips && off < sizeof ips - PS_IP_MAX - 1; i++)
        off += (size_t)snprintf(ips + off, sizeof ips - off, "%s%s", i ? "," : "", h->ips[i]);
    store_begin(s);
    return store_write(s,
                       "INSERT OR REPLACE INTO agents(run_id,agent_id,name,host,version,cores,threads,"
                       "fd_soft,fd_hard,mem_total,mem_available,port_lo,port_hi,ips,monitor,joined_us)"
                       " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       "iisssiiiiiiiisii", (int64_t)run_id, (int64_t)agent_id, h->name, h->host,
                       h->version, (int64_t)h->cores, (int64_t)h->threads, (int64_t)h->fd_soft,
                       (int64_t)h->fd_hard, (int64_t)h->mem_total, (int64_t)h->mem_available,
                       (int64_t)h->port_lo, (int64_t)h->port_hi, ips, (int64_t)h->monitor, joined_us);
}

int store_agent_update(struct store *s, uint32_t run_id, uint32_t agent_id, uint32_t conn_first,
                       uint32_t conn_count, int64_t offset_us, int64_t offset_err_us,
                       int64_t start_skew_us, int64_t lost_us, const char *refused)
{
    store_begin(s);
    return store_write(s,
                       "UPDATE agents SET conn_first=?, conn_count=?, offset_us=?, offset_err_us=?,"
                       " start_skew_us=?, lost_us=nullif(?,0), refused=? WHERE run_id=? AND agent_id=?",
                       "iiiiiisii", (int64_t)conn_first, (int64_t)conn_count, offset_us, offset_err_us,
                       start_skew_us, lost_us, refused, (int64_t)run_id, (int64_t)agent_id);
}

int store_phase(struct store *s, uint32_t run_id, uint32_t idx, const char *kind, int line,
                int64_t started_us, int64_t ended_us, const char *note)
{
    store_begin(s);
    return store_write(s, "INSERT OR REPLACE INTO phases VALUES(?,?,?,?,?,nullif(?,0),?)", "iisiiis",
                       (int64_t)run_id, (int64_t)idx, kind, (int64_t)line, started_us, ended_us, note);
}

int store_sample(struct store *s, uint32_t run_id, uint32_t agent_id, const struct ps_stats *x)
{
    sqlite3_stmt *st = s->ins_sample;
    int col = 2;

    store_begin(s);
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, agent_id);
    PS_STATS_FIELDS(STORE_SAMPLE_BIND)
    return store_step(s, st);
}

int store_monitor_sample(struct store *s, uint32_t run_id, uint32_t agent_id, int64_t second,
                         const struct ps_hostmon *h)
{
    sqlite3_stmt *st = s->ins_monitor;
    store_begin(s);
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, agent_id);
    sqlite3_bind_int64(st, 3, second);
    sqlite3_bind_double(st, 4, h->cpu_pct_x100 / 100.0);
    sqlite3_bind_double(st, 5, h->load1_x100 / 100.0);
    sqlite3_bind_int64(st, 6, (int64_t)(h->mem_total - h->mem_available));
    sqlite3_bind_int64(st, 7, h->tcp_inuse);
    sqlite3_bind_int64(st, 8, h->tcp_tw);
    sqlite3_bind_int64(st, 9, (int64_t)h->tcp_mem_bytes);
    sqlite3_bind_int64(st, 10, h->pid);
    sqlite3_bind_double(st, 11, h->proc_cpu_pct_x100 / 100.0);
    sqlite3_bind_int64(st, 12, (int64_t)h->proc_rss);
    sqlite3_bind_int64(st, 13, h->proc_fds);
    sqlite3_bind_int64(st, 14, h->proc_threads);
    return store_step(s, st);
}

int store_ctl_sample(struct store *s, const struct store_ctl_sample *c)
{
    sqlite3_stmt *st = s->ins_ctl_sample;
    int64_t v[] = {c->run_id, c->second, c->connected, c->agents, (int64_t)c->opened,
                   (int64_t)c->failed, (int64_t)c->closed, (int64_t)c->pushes_sent,
                   (int64_t)c->push_errors, (int64_t)c->delivered, c->lat_p50_us, c->lat_p99_us};
    store_begin(s);
    for (int i = 0; i < (int)(sizeof v / sizeof v[0]); i++)
        sqlite3_bind_int64(st, i + 1, v[i]);
    return store_step(s, st);
}

static const char *store_mode_name(int mode)
{
    return mode == 2 ? "broadcast" : mode == 3 ? "multicast" : "unicast";
}

int store_push(struct store *s, const struct store_push_row *p)
{
    sqlite3_stmt *st = s->ins_push;
    store_begin(s);
    sqlite3_bind_int64(st, 1, p->run_id);
    sqlite3_bind_int64(st, 2, p->msg_id);
    sqlite3_bind_text(st, 3, store_mode_name(p->mode), -1, SQLITE_STATIC);
    if (p->conn >= 0)
        sqlite3_bind_int64(st, 4, p->conn);
    sqlite3_bind_int64(st, 5, p->t_send_us);
    sqlite3_bind_text(st, 6, p->url, -1, SQLITE_TRANSIENT);
    return store_step(s, st);
}

int store_push_call(struct store *s, const struct store_push_call *c)
{
    sqlite3_stmt *st = s->upd_push_http;
    store_begin(s);
    sqlite3_bind_int64(st, 1, c->run_id);
    sqlite3_bind_int64(st, 2, c->msg_id);
    if (c->http_status >= 0)
        sqlite3_bind_int64(st, 3, c->http_status);
    sqlite3_bind_int64(st, 4, c->duration_us);
    if (c->error)
        sqlite3_bind_text(st, 5, c->error, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, c->kind, -1, SQLITE_STATIC);
    if (c->status >= 0)
        sqlite3_bind_int64(st, 7, c->status);
    return store_step(s, st);
}

int store_figure(struct store *s, uint32_t run_id, const char *name, double value)
{
    store_begin(s);
    return store_write(s, "INSERT OR REPLACE INTO figures VALUES(?,?,?)", "isd", (int64_t)run_id,
                       name, value);
}

int store_threshold(struct store *s, uint32_t run_id, const char *name, const char *expr,
                    double measured, int pass)
{
    store_begin(s);
    return store_write(s, "INSERT OR REPLACE INTO thresholds VALUES(?,?,?,?,?)", "issdi",
                       (int64_t)run_id, name, expr, measured, (int64_t)pass);
}
