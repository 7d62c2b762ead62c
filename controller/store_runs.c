/* store_runs: the runs of a database read back: the listing of `pushstorm runs`
 * and the ids that `report`, `compare` and `run --baseline` resolve (the last
 * run, the run just carried out, the last passing run of a plan).
 *
 * Part of the store (store.h): the one place besides the report data loader
 * that speaks SQL. Each answer is one short query on the runs table, prepared
 * per call; errors carry SQLite's own message, which the callers word into
 * theirs. */
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>

/* One id from a query binding ?1 = a and, when b is set, ?2 = b; 0 when it
 * returns no row or NULL. err gets the database's own message. */
static int store_query_id(struct store *s, const char *sql, uint32_t a, const char *b,
                          uint32_t *id, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    *id = 0;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
        return -1;
    }
    if (sqlite3_bind_parameter_count(st) >= 1)
        sqlite3_bind_int64(st, 1, a);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = (uint32_t)sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int store_last_run_id(struct store *s, uint32_t *id, char *err, size_t errlen)
{
    return store_query_id(s, "SELECT max(id) FROM runs", 0, NULL, id, err, errlen);
}

int store_find_run(struct store *s, uint32_t after, const char *name, uint32_t *id, char *err,
                   size_t errlen)
{
    return store_query_id(s, "SELECT max(id) FROM runs WHERE id > ?1 AND name = ?2", after, name,
                          id, err, errlen);
}

int store_has_run(struct store *s, uint32_t run_id, int *found, char *err, size_t errlen)
{
    uint32_t id;
    int rc = store_query_id(s, "SELECT id FROM runs WHERE id = ?1", run_id, NULL, &id, err, errlen);
    *found = id != 0;
    return rc;
}

int store_last_pass(struct store *s, uint32_t run_id, uint32_t *id, char *err, size_t errlen)
{
    return store_query_id(s,
                          "SELECT id FROM runs WHERE status='pass' AND id < ?1 AND"
                          " name = (SELECT name FROM runs WHERE id = ?1) ORDER BY id DESC LIMIT 1",
                          run_id, NULL, id, err, errlen);
}

static const char *store_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : NULL;
}

int store_list_runs(struct store *s, store_run_fn fn, void *ctx, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    /* Connections: opened (connections that were up at least once) of the
     * plan's target; just the target when the run stored no figures. */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, name, started_us, ended_us, target_conns, status,"
                           " (SELECT value FROM figures f WHERE f.run_id = runs.id AND"
                           "  f.name = 'conn_opened') FROM runs ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_run_row row = {
            .id = (uint32_t)sqlite3_column_int64(st, 0),
            .name = store_text(st, 1),
            .started_us = sqlite3_column_int64(st, 2),
            .ended_us = sqlite3_column_int64(st, 3),
            .target_conns = sqlite3_column_int64(st, 4),
            .status = store_text(st, 5),
            .has_opened = sqlite3_column_type(st, 6) != SQLITE_NULL,
            .opened = sqlite3_column_double(st, 6),
        };
        fn(ctx, &row);
    }
    if (rc != SQLITE_DONE)
        snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}
