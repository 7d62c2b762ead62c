/* test_store.c: the results database's version handling.
 *
 * A new database gets the current schema version; a database of an older
 * version is migrated forward on open with its runs kept; one of a newer
 * version is refused untouched. A write the database refuses leaves a sticky
 * error naming the file and SQLite's message, which the first failure keeps.
 * The samples table, expanded from the stats table of ps_proto.h, keeps the
 * columns it always had, each holding its field. Events and deliveries,
 * written in batches, are all there, in order, after a commit or a close.
 * store_prune removes the runs no rule keeps from every table with a run_id
 * (one made after the fact too), never the latest pass of a plan nor a
 * running run, and a dry run nothing.
 * Files live in a temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

static int64_t scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Each test gets a database path in a directory of its own. */
static char tmp_dir[64], tmp_path[96];

static int setup(void **state)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/test_store.XXXXXX");
    if (!mkdtemp(tmp_dir))
        return -1;
    snprintf(tmp_path, sizeof tmp_path, "%s/r.db", tmp_dir);
    *state = tmp_path;
    return 0;
}

/* Opens the database at path for writing, with a run begun. */
static void open_run(const char *path, struct store *s, uint32_t *run)
{
    char err[256];
    assert_int_equal(store_open(s, path, 0, err, sizeof err), 0);
    assert_int_equal(store_run_begin(s, "t", "t.yaml", "", 1, 10, run), 0);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_versions(void **state)
{
    const char *path = *state;
    char err[256];
    struct store s;
    uint32_t run;
    assert_int_equal(store_open(&s, path, 0, err, sizeof err), 0);
    assert_int_equal(scalar(s.db, "SELECT value FROM meta WHERE key='schema_version'"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(store_run_begin(&s, "old", "old.yaml", "", 1, 10, &run), 0);
    /* make it look like a version 1 database: no monitor_samples yet */
    assert_int_equal(store_exec(&s, "COMMIT; DROP TABLE monitor_samples;"
                                    "UPDATE meta SET value='1' WHERE key='schema_version'",
                                err, sizeof err), 0);
    store_close(&s);

    assert_int_equal(store_open(&s, path, 0, err, sizeof err), 0);
    assert_int_equal(scalar(s.db, "SELECT value FROM meta WHERE key='schema_version'"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM monitor_samples"), 0);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM run_owners"), 1);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM runs WHERE name='old'"), 1);
    assert_int_equal(store_exec(&s, "UPDATE meta SET value='99' WHERE key='schema_version'", err,
                                sizeof err), 0);
    store_close(&s);

    assert_int_equal(store_open(&s, path, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "written by a newer pushstorm (schema 99"));
    assert_int_equal(store_open(&s, path, 1, err, sizeof err), -1);
}

/* A database opened read-only refuses every write: the first one sets the
 * sticky error; a later failure of another kind does not replace it. */
static void test_sticky_write_error(void **state)
{
    const char *path = *state;
    char err[256];
    struct store s;
    uint32_t run;
    open_run(path, &s, &run);
    assert_int_equal(store_figure(&s, run, "kept", 1.0), 0);
    assert_false(store_failed(&s));
    assert_string_equal(store_error_text(&s), "");
    store_close(&s);

    assert_int_equal(store_open(&s, path, 1, err, sizeof err), 0);
    assert_false(store_failed(&s));
    assert_int_equal(store_figure(&s, run, "refused", 2.0), -1);
    assert_true(store_failed(&s));
    assert_non_null(strstr(store_error_text(&s), path));
    assert_non_null(strstr(store_error_text(&s), "readonly"));
    char first[sizeof s.error];
    snprintf(first, sizeof first, "%s", store_error_text(&s));
    assert_int_equal(store_exec(&s, "DROP TABLE figures", NULL, 0), -1);
    assert_int_equal(store_threshold(&s, run, "x", "< 1", 0.5, 1), -1);
    assert_int_equal(store_commit(&s), 0);
    assert_string_equal(store_error_text(&s), first);
    store_close(&s);

    /* what was committed before stays */
    assert_int_equal(store_open(&s, path, 1, err, sizeof err), 0);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM figures WHERE name='kept'"), 1);
    store_close(&s);

    /* a table that is gone: the write's prepare fails */
    assert_int_equal(store_open(&s, path, 0, err, sizeof err), 0);
    assert_int_equal(store_exec(&s, "DROP TABLE undelivered", err, sizeof err), 0);
    assert_false(store_failed(&s));
    assert_int_equal(store_undelivered(&s, run, 1, 2, "lost"), -1);
    assert_true(store_failed(&s));
    assert_non_null(strstr(store_error_text(&s), "no such table: undelivered"));
    store_close(&s);
}

/* Every column of samples, in order, as databases written before the field
 * tables have them, and the value store_sample must put there. */
static void test_samples_columns(void **state)
{
    static const char *const cols[] = {
        "run_id", "agent_id", "second", "connected", "connecting", "opened", "failed", "closed",
        "messages", "pings", "pongs", "pong_missed", "hb_sent", "hb_missed", "rtt_p50_us",
        "rtt_p99_us", "hs_p50_us", "hs_p99_us", "lat_p50_us", "lat_p99_us", "lag_max_us",
        "cpu_pct", "rss_bytes", "saturated", "hb_rtt_p50_us", "hb_rtt_p99_us", "acks", "acks_dropped",
        "proto_duplicates", "proto_acks", "proto_pings",   /* client protocols (issue 13) */
    };
    const char *path = *state;
    char err[256], sql[128];
    struct store s;
    uint32_t run;
    struct ps_stats x = {
        .second = 1700000000, .connected = 3, .connecting = 4, .opened = 5, .failed = 6,
        .closed = 7, .messages = 8, .pings = 9, .pongs = 10, .pong_missed = 11, .hb_sent = 12,
        .hb_missed = 13, .rtt_p50_us = 14, .rtt_p99_us = 15, .hs_p50_us = 16, .hs_p99_us = 17,
        .lat_p50_us = 18, .lat_p99_us = 19, .lag_max_us = 20, .cpu_pct_x100 = 2150,
        .rss_bytes = 1ull << 40, .saturated = 1, .hb_rtt_p50_us = 21, .hb_rtt_p99_us = 22,
        .acks = 23, .acks_dropped = 24, .proto_duplicates = 25, .proto_acks = 26, .proto_pings = 27,
    };
    const int64_t want[] = { 0, 2, 1700000000, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
                             18, 19, 20, -1, 1ll << 40, 1, 21, 22, 23, 24, 25, 26, 27 };
    assert_int_equal(store_open(&s, path, 0, err, sizeof err), 0);
    assert_int_equal(store_run_begin(&s, "r", "r.yaml", "", 1, 10, &run), 0);
    assert_int_equal(store_sample(&s, run, 2, &x), 0);
    assert_int_equal(store_exec(&s, "COMMIT", err, sizeof err), 0);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM pragma_table_info('samples')"),
                     sizeof cols / sizeof cols[0]);
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        snprintf(sql, sizeof sql, "SELECT name = '%s' FROM pragma_table_info('samples') WHERE cid = %zu",
                 cols[i], i);
        if (scalar(s.db, sql) != 1) fail_msg("samples column %zu is not %s", i, cols[i]);
        snprintf(sql, sizeof sql, "SELECT %s FROM samples", cols[i]);
        if (i == 0) assert_int_equal(scalar(s.db, sql), run);
        else if (want[i] >= 0) assert_int_equal(scalar(s.db, sql), want[i]);
    }
    assert_int_equal(scalar(s.db, "SELECT cpu_pct = 21.5 AND typeof(cpu_pct) = 'real' FROM samples"), 1);
    store_close(&s);
}

/* Runs left running: one by a dead controller (this pid, another start
 * time: a reused pid), one by this live process, one by another host. The
 * next open, even read-only, marks the first interrupted (exit 2, ended at
 * the end of its last stored second) and leaves the others running. */
/* 2 full batches and a remainder of events, one row less than a batch of
 * deliveries: a commit writes them all, in the order handed in; rows left at
 * close are written too. */
static void test_batched_rows(void **state)
{
    const char *path = *state;
    char err[256];
    struct store s;
    uint32_t run;
    open_run(path, &s, &run);
    const uint32_t n_ev = 2 * STORE_BATCH_ROWS + 44, n_del = STORE_BATCH_ROWS - 1;
    for (uint32_t i = 0; i < n_ev; i++) {
        struct ps_event ev = {.conn = i, .type = PS_EV_CONNECTED, .ts = 1000 + i, .val = 7, .aux = 3};
        assert_int_equal(store_event(&s, run, 1 + i % 2, &ev, 2000 + i), 0);
    }
    for (uint32_t i = 0; i < n_del; i++)
        assert_int_equal(store_delivery(&s, run, 5, i, 3000 + i, 40 + i, 9, i == 3, i == 4), 0);
    assert_int_equal(store_commit(&s), 0);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM conn_events"), n_ev);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM conn_events WHERE conn = rowid - 1 AND"
                                  " ts_us = 2000 + conn AND agent_id = 1 + conn % 2 AND type = 1"
                                  " AND val = 7 AND aux = 3"), n_ev);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM deliveries WHERE conn = rowid - 1 AND"
                                  " msg_id = 5 AND t_recv_us = 3000 + conn AND latency_us = 40 + conn"
                                  " AND err_us = 9 AND duplicate = (conn = 3)"
                                  " AND out_of_order = (conn = 4)"), n_del);
    struct ps_event last = {.conn = 99, .type = PS_EV_CLOSED};
    assert_int_equal(store_event(&s, run, 1, &last, 1), 0);
    store_close(&s);
    assert_int_equal(store_open(&s, path, 1, err, sizeof err), 0);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM conn_events"), n_ev + 1);
    assert_int_equal(scalar(s.db, "SELECT conn FROM conn_events ORDER BY rowid DESC LIMIT 1"), 99);
    store_close(&s);
}

static void test_interrupted(void **state)
{
    const char *path = *state;
    char err[256];
    struct store s;
    uint32_t dead, live, remote;
    assert_int_equal(store_open(&s, path, 0, err, sizeof err), 0);
    assert_int_equal(store_run_begin(&s, "dead", "d.yaml", "", 1000000, 10, &dead), 0);
    assert_int_equal(store_run_begin(&s, "live", "l.yaml", "", 2000000, 10, &live), 0);
    assert_int_equal(store_run_begin(&s, "remote", "r.yaml", "", 3000000, 10, &remote), 0);
    struct store_ctl_sample cs = {.run_id = dead, .second = 41};
    assert_int_equal(store_ctl_sample(&s, &cs), 0);
    cs.second = 42;
    assert_int_equal(store_ctl_sample(&s, &cs), 0);
    char sql[256];
    snprintf(sql, sizeof sql,
             "COMMIT; UPDATE run_owners SET start_ticks = start_ticks + 1 WHERE run_id = %u;"
             "UPDATE run_owners SET host = 'elsewhere.invalid', pid = 1 WHERE run_id = %u",
             dead, remote);
    assert_int_equal(store_exec(&s, sql, err, sizeof err), 0);
    store_close(&s);

    assert_int_equal(store_open(&s, path, 1, err, sizeof err), 0);
    snprintf(sql, sizeof sql, "SELECT status = 'interrupted' AND exit_code = 2 AND ended_us = 43000000"
             " AND reason LIKE 'interrupted: the controller (pid %d on %%' FROM runs WHERE id = %u",
             (int)getpid(), dead);
    assert_int_equal(scalar(s.db, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE status = 'running' AND ended_us IS NULL"
             " AND id IN (%u, %u)", live, remote);
    assert_int_equal(scalar(s.db, sql), 2);
    store_close(&s);
}

#define DAY_US (86400ll * 1000000)

/* A finished run started days ago, with a row in each table runs write. */
static uint32_t add_run(struct store *s, const char *name, int64_t now, int days, const char *status)
{
    uint32_t id;
    struct ps_event ev = {.conn = 1, .type = PS_EV_CONNECTED, .val = 900};
    struct ps_stats st = {.second = 5, .connected = 1};
    struct store_push_row p = {.msg_id = 1, .mode = 1, .conn = 1, .t_send_us = 5, .url = "u"};
    struct store_ctl_sample cs = {.second = 5};
    assert_int_equal(store_run_begin(s, name, "p.yaml", "", now - days * DAY_US, 1, &id), 0);
    p.run_id = cs.run_id = id;
    assert_int_equal(store_phase(s, id, 1, "ramp", 3, 1, 2, ""), 0);
    assert_int_equal(store_event(s, id, 1, &ev, 5), 0);
    assert_int_equal(store_sample(s, id, 1, &st), 0);
    assert_int_equal(store_ctl_sample(s, &cs), 0);
    assert_int_equal(store_push(s, &p), 0);
    assert_int_equal(store_delivery(s, id, 1, 1, 6, 1, 0, 0, 0), 0);
    assert_int_equal(store_undelivered(s, id, 1, 2, "lost"), 0);
    assert_int_equal(store_figure(s, id, "conn_opened", 1), 0);
    assert_int_equal(store_threshold(s, id, "push_lost", "== 0", 0, 1), 0);
    assert_int_equal(store_run_end(s, id, now - days * DAY_US + 1000000, status,
                                   strcmp(status, "pass") ? 1 : 0, NULL), 0);
    return id;
}

struct seen {
    char ids[128];               /* "1 2r 3": r = kept, still running */
};

static void note(void *ctx, const struct store_prune_run *run)
{
    struct seen *n = ctx;
    size_t len = strlen(n->ids);
    snprintf(n->ids + len, sizeof n->ids - len, "%s%u%s", len ? " " : "", run->id,
             run->running ? "r" : "");
}

/* Runs left in the database, "1 2 3". */
static void left(sqlite3 *db, char *out, size_t len)
{
    sqlite3_stmt *st;
    out[0] = 0;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT id FROM runs ORDER BY id", -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        size_t n = strlen(out);
        snprintf(out + n, len - n, "%s%lld", n ? " " : "", (long long)sqlite3_column_int64(st, 0));
    }
    sqlite3_finalize(st);
}

static void prune(struct store *s, struct store_prune_opts o, const char *want_seen,
                  const char *want_left, struct store_prune_result *res)
{
    struct seen n = {""};
    char err[256], got[128];
    assert_int_equal(store_prune(s, &o, note, &n, res, err, sizeof err), 0);
    assert_string_equal(n.ids, want_seen);
    left(s->db, got, sizeof got);
    assert_string_equal(got, want_left);
}

static void test_prune_rules(void **state)
{
    const char *path = *state;
    char err[256];
    struct store s;
    struct store_prune_result res;
    int64_t now = 100000 * DAY_US;
    assert_int_equal(store_open(&s, path, 0, err, sizeof err), 0);
    add_run(&s, "a", now, 50, "pass");        /* 1 */
    add_run(&s, "a", now, 40, "pass");        /* 2: a's latest pass */
    add_run(&s, "b", now, 35, "pass");        /* 3: b's latest pass */
    add_run(&s, "a", now, 31, "fail");        /* 4 */
    add_run(&s, "a", now, 20, "fail");        /* 5 */
    add_run(&s, "a", now, 2, "failed");       /* 6 */
    uint32_t live;                            /* 7: this process's, under way */
    assert_int_equal(store_run_begin(&s, "a", "p.yaml", "", now - 60 * DAY_US, 1, &live), 0);
    store_commit(&s);
    assert_int_equal(store_exec(&s, "CREATE TABLE later(run_id INTEGER, x INTEGER);"
                                    "INSERT INTO later VALUES(1, 1), (4, 4), (6, 6)", err, sizeof err), 0);

    /* a dry run names the same runs and removes nothing */
    prune(&s, (struct store_prune_opts){.keep_given = 1, .keep = 2, .dry_run = 1}, "1 4 5",
          "1 2 3 4 5 6 7", &res);
    assert_int_equal(res.runs, 3);
    assert_true(res.rows > 3 * 10);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM later"), 3);

    /* older than 30 days: 1, 4 and the running 7; 2 and 3 are baselines */
    prune(&s, (struct store_prune_opts){.cutoff_given = 1, .cutoff_us = now - 30 * DAY_US},
          "1 4 7r", "2 3 5 6 7", &res);
    assert_int_equal(res.runs, 2);
    assert_int_equal(res.kept_running, 1);
    /* no VACUUM while a run is under way: it would hold up that run's commits */
    assert_string_equal(res.vacuum_error, "run 7 is under way and writes to this database");
    /* every table with a run_id, the one added later too */
    const char *const tables[] = {"agents", "phases", "samples", "ctl_samples", "conn_events",
                                  "pushes", "deliveries", "undelivered", "figures", "thresholds",
                                  "run_owners", "later"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE run_id IN (1, 4)", tables[i]);
        assert_int_equal(scalar(s.db, sql), 0);
    }
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM deliveries WHERE run_id = 5"), 1);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM later"), 1);

    /* both rules: removed only when neither keeps it (6 is new, 7 running) */
    prune(&s, (struct store_prune_opts){.keep_given = 1, .keep = 1, .cutoff_given = 1,
                                        .cutoff_us = now - 10 * DAY_US},
          "5", "2 3 6 7", &res);
    assert_int_equal(res.kept_running, 0);
    /* keep 0: all but the baselines and the running one */
    prune(&s, (struct store_prune_opts){.keep_given = 1, .keep = 0}, "6 7r", "2 3 7", &res);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1);
    store_close(&s);
}

/* A schema 3 database (no undelivered_run, ctl_samples_run) gets both on
 * open, its rows kept. */
static void test_migrate_indexes(void **state)
{
    const char *path = *state;
    char err[256];
    struct store s;
    assert_int_equal(store_open(&s, path, 0, err, sizeof err), 0);
    add_run(&s, "old", 10 * DAY_US, 1, "pass");
    assert_int_equal(store_exec(&s, "DROP INDEX undelivered_run; DROP INDEX ctl_samples_run;"
                                    "UPDATE meta SET value='3' WHERE key='schema_version'",
                                err, sizeof err), 0);
    store_close(&s);
    assert_int_equal(store_open(&s, path, 0, err, sizeof err), 0);
    assert_int_equal(scalar(s.db, "SELECT value FROM meta WHERE key='schema_version'"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM sqlite_master WHERE type='index' AND"
                                  " name IN ('undelivered_run', 'ctl_samples_run')"), 2);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM undelivered"), 1);
    store_close(&s);
}

/* A schema 4 database (samples without the client protocols' columns, issue
 * 13) gets them on open, its rows kept, and takes new samples. */
static void test_migrate_protocol_columns(void **state)
{
    const char *path = *state;
    char err[256];
    struct store s;
    assert_int_equal(store_open(&s, path, 0, err, sizeof err), 0);
    add_run(&s, "old", 10 * DAY_US, 1, "pass");
    assert_int_equal(store_exec(&s, "ALTER TABLE samples DROP COLUMN proto_duplicates;"
                                    "ALTER TABLE samples DROP COLUMN proto_acks;"
                                    "ALTER TABLE samples DROP COLUMN proto_pings;"
                                    "INSERT INTO samples(run_id, agent_id, second) VALUES(1, 1, 77);"
                                    "UPDATE meta SET value='4' WHERE key='schema_version'",
                                err, sizeof err), 0);
    store_close(&s);
    assert_int_equal(store_open(&s, path, 0, err, sizeof err), 0);
    assert_int_equal(scalar(s.db, "SELECT value FROM meta WHERE key='schema_version'"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM pragma_table_info('samples') WHERE name IN"
                                  " ('proto_duplicates', 'proto_acks', 'proto_pings')"), 3);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM samples WHERE second = 77"), 1);
    /* the reasons added with them are named for the reports' joins */
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM reasons WHERE reason = %d AND name = 'proto_close'",
             PS_REASON_PROTO_CLOSE);
    assert_int_equal(scalar(s.db, sql), 1);
    struct ps_stats st = {.second = 6, .proto_duplicates = 2, .proto_acks = 3, .proto_pings = 4};
    assert_int_equal(store_sample(&s, 1, 1, &st), 0);
    assert_int_equal(store_commit(&s), 0);
    assert_int_equal(scalar(s.db, "SELECT proto_duplicates + proto_acks * 10 + proto_pings * 100"
                                  " FROM samples WHERE second = 6"), 432);
    store_close(&s);
}

/* A schema 4 database (pushes without status_kind, status) gets both columns
 * on open, its rows kept and read as NULL; a call's result then stores both. */
static void test_migrate_push_status(void **state)
{
    const char *path = *state;
    char err[256];
    struct store s;
    assert_int_equal(store_open(&s, path, 0, err, sizeof err), 0);
    struct store_push_row row = {1, 7, 1, 3, 1000, "http://h/push?uid=3"};
    assert_int_equal(store_push(&s, &row), 0);
    assert_int_equal(store_commit(&s), 0);
    assert_int_equal(store_exec(&s, "ALTER TABLE pushes DROP COLUMN status_kind;"
                                    "ALTER TABLE pushes DROP COLUMN status;"
                                    "UPDATE meta SET value='4' WHERE key='schema_version'",
                                err, sizeof err), 0);
    store_close(&s);
    assert_int_equal(store_open(&s, path, 0, err, sizeof err), 0);
    assert_int_equal(scalar(s.db, "SELECT value FROM meta WHERE key='schema_version'"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM pushes WHERE msg_id=7 AND status IS NULL"
                                  " AND status_kind IS NULL"), 1);
    struct store_push_call call = {1, 7, "grpc", 14, 200, 900, "grpc-status 14: down"};
    assert_int_equal(store_push_call(&s, &call), 0);
    assert_int_equal(store_commit(&s), 0);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM pushes WHERE msg_id=7 AND status=14 AND"
                                  " status_kind='grpc' AND http_status=200 AND http_us=900"), 1);
    store_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrate_protocol_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sticky_write_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_samples_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_push_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batched_rows, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
