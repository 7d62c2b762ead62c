/* store_prune: `pushstorm prune`, removing old runs from a results database.
 *
 * A nightly database gains a run's rows every night (hundreds of MB for a
 * million connections) and nothing ever removes them. A run is removed when
 * no rule keeps it: --keep N keeps the N newest runs, --older-than keeps the
 * runs started since its cutoff, and the latest passing run of every plan
 * name is always kept, since it is the next night's `--baseline last-pass`.
 * A run still `running` is never removed: store_open has already turned the
 * runs of dead controllers into `interrupted`, so what is left is owned by a
 * live one (or by another host, which cannot be checked from here).
 *
 * The rows go in one transaction from every table that has a run_id column,
 * found in the schema rather than listed here, so a table added later is
 * pruned too; then VACUUM gives the pages back to the file system and a
 * truncating checkpoint empties the WAL, unless a run is under way (below). A
 * dry run deletes the same rows, counts them and rolls back. */
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int store_prune_err(struct store *s, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    return -1;
}

/* The database file and its WAL, in bytes. */
static int64_t store_prune_bytes(const struct store *s)
{
    struct stat sb;
    char wal[sizeof s->path + 8];
    int64_t n = stat(s->path, &sb) == 0 ? (int64_t)sb.st_size : 0;
    snprintf(wal, sizeof wal, "%s-wal", s->path);
    return n + (stat(wal, &sb) == 0 ? (int64_t)sb.st_size : 0);
}

static const char *store_prune_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

/* Copies the runs no rule keeps into temp.prune_ids, the running ones
 * (kept) marked, and counts them. */
static int store_prune_select(struct store *s, const struct store_prune_opts *o,
                              struct store_prune_result *res, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (store_exec(s, "CREATE TEMP TABLE IF NOT EXISTS prune_ids(id INTEGER PRIMARY KEY, name TEXT,"
                      " started_us INTEGER, status TEXT, running INTEGER); DELETE FROM temp.prune_ids",
                   err, errlen))
        return -1;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO temp.prune_ids SELECT id, name, started_us, status,"
                           " coalesce(status, 'running') = 'running' FROM runs"
                           " WHERE (?1 < 0 OR id NOT IN (SELECT id FROM runs ORDER BY id DESC LIMIT ?1))"
                           " AND (?2 IS NULL OR coalesce(started_us, 0) < ?2)"
                           " AND id NOT IN (SELECT max(id) FROM runs WHERE status='pass' GROUP BY name)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_prune_err(s, "cannot read the runs", err, errlen);
    sqlite3_bind_int64(st, 1, o->keep_given ? (int64_t)o->keep : -1);
    if (o->cutoff_given)
        sqlite3_bind_int64(st, 2, o->cutoff_us);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE || sqlite3_prepare_v2(s->db, "SELECT count(*), coalesce(sum(running), 0)"
                                                " FROM temp.prune_ids", -1, &st, NULL) != SQLITE_OK)
        return store_prune_err(s, "cannot select the runs", err, errlen);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        res->kept_running = (uint32_t)sqlite3_column_int64(st, 1);
        res->runs = (uint32_t)sqlite3_column_int64(st, 0) - res->kept_running;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : store_prune_err(s, "cannot select the runs", err, errlen);
}

/* Tells fn of each run selected, by id, once its fate is settled. */
static void store_prune_tell(struct store *s, store_prune_fn fn, void *ctx)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT id, name, started_us, status, running FROM temp.prune_ids"
                           " ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct store_prune_run run = {
            .id = (uint32_t)sqlite3_column_int64(st, 0),
            .name = store_prune_text(st, 1),
            .started_us = sqlite3_column_int64(st, 2),
            .status = store_prune_text(st, 3),
            .running = sqlite3_column_int(st, 4),
        };
        fn(ctx, &run);
    }
    sqlite3_finalize(st);
}

/* Deletes the selected runs' rows from every table with a run_id column
 * (and from runs by id), counting them per table into res. */
static int store_prune_delete(struct store *s, struct store_prune_result *res, char *err,
                              size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT m.name, 'run_id' FROM sqlite_master m WHERE m.type='table' AND"
                           " EXISTS (SELECT 1 FROM pragma_table_info(m.name) c WHERE c.name='run_id')"
                           " UNION ALL SELECT 'runs', 'id' ORDER BY 1", -1, &st, NULL) != SQLITE_OK)
        return store_prune_err(s, "cannot read the schema", err, errlen);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *table = store_prune_text(st, 0), *col = store_prune_text(st, 1);
        char sql[256];
        snprintf(sql, sizeof sql, "DELETE FROM \"%s\" WHERE \"%s\" IN"
                 " (SELECT id FROM temp.prune_ids WHERE running = 0)", table, col);
        if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
            char what[128];
            snprintf(what, sizeof what, "cannot delete from %s", table);
            sqlite3_finalize(st);
            return store_prune_err(s, what, err, errlen);
        }
        uint64_t n = (uint64_t)sqlite3_changes(s->db);
        res->rows += n;
        if (n && res->n_tables < STORE_PRUNE_TABLES) {
            snprintf(res->tables[res->n_tables].name, sizeof res->tables[0].name, "%s", table);
            res->tables[res->n_tables++].rows = n;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_prune_err(s, "cannot read the schema", err, errlen);
    return 0;
}

int store_prune(struct store *s, const struct store_prune_opts *o, store_prune_fn fn, void *ctx,
                struct store_prune_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    res->bytes_before = store_prune_bytes(s);
    /* IMMEDIATE: the write lock from the start, so a controller that starts a
     * run meanwhile waits (busy timeout) instead of failing our COMMIT */
    if (store_exec(s, "BEGIN IMMEDIATE", err, errlen))
        return store_prune_err(s, "cannot lock the database", err, errlen);
    if (store_prune_select(s, o, res, err, errlen) ||
        (res->runs && store_prune_delete(s, res, err, errlen))) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    /* told before the rollback, which empties the temp table too */
    if (o->dry_run || !res->runs) {
        store_prune_tell(s, fn, ctx);
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        res->bytes_after = res->bytes_before;
        return 0;
    }
    if (store_exec(s, "COMMIT", err, errlen)) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return store_prune_err(s, "cannot commit", err, errlen);
    }
    store_prune_tell(s, fn, ctx);
    /* The rows are gone. A VACUUM holds the write lock for as long as it
     * rewrites the file (seconds for a large one): past its busy timeout, a
     * controller under way would fail its next commit, and with it its run.
     * So with a run under way it is left out, and so is one that cannot run;
     * either way the pages stay free for later runs, which the caller says. */
    sqlite3_stmt *st;
    int64_t live = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(id), 0) FROM runs WHERE"
                           " coalesce(status, 'running') = 'running'", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        live = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (live)
        snprintf(res->vacuum_error, sizeof res->vacuum_error,
                 "run %lld is under way and writes to this database", (long long)live);
    else if (sqlite3_exec(s->db, "VACUUM", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) != SQLITE_OK)
        snprintf(res->vacuum_error, sizeof res->vacuum_error, "%s", sqlite3_errmsg(s->db));
    res->bytes_after = store_prune_bytes(s);
    return 0;
}
