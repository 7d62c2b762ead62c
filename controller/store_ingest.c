/* store_ingest: the two tables a run writes a row per event into.
 *
 * conn_events and deliveries take a row per connection event and per
 * delivery: a million-connection run writes millions in seconds. One INSERT
 * per row spends most of its time outside the B-tree (the statement's
 * preamble, step, reset), so rows are kept in a fixed buffer and written
 * STORE_BATCH_ROWS at a time by one multi-row INSERT prepared once; a
 * shorter remainder goes row by row through the one-row statement. The
 * buffer is written out before every commit (store_commit calls
 * store_ingest_flush), so what is committed and what a reader of the same
 * handle sees is every row handed in before it; a failed write is the
 * store's sticky error, as for any other row. Nothing is allocated per row.
 * The settle writes a row per message (its counts) and per miss (a 1M
 * broadcast nobody got is a million): one statement each, prepared once. */
#include "store_internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static const char *const store_ingest_table[STORE_INGEST_N] = {"conn_events", "deliveries"};
static const uint32_t store_ingest_cols[STORE_INGEST_N] = {7, 8};

/* "INSERT INTO t VALUES(?,...),(?,...)..." with rows rows of cols values. */
static int store_ingest_sql(char *out, size_t len, const char *table, uint32_t cols, uint32_t rows)
{
    size_t at = (size_t)snprintf(out, len, "INSERT INTO %s VALUES", table);
    for (uint32_t r = 0; r < rows && at < len; r++) {
        at += (size_t)snprintf(out + at, len - at, "%s(?", r ? "," : "");
        for (uint32_t c = 1; c < cols && at < len; c++)
            at += (size_t)snprintf(out + at, len - at, ",?");
        at += (size_t)snprintf(out + at, len - at, ")");
    }
    return at < len ? 0 : -1;
}

int store_ingest_prepare(struct store *s)
{
    char sql[STORE_BATCH_ROWS * (STORE_INGEST_COLS_MAX * 2 + 3) + 64];
    for (int t = 0; t < STORE_INGEST_N; t++) {
        struct store_batch *b = &s->batch[t];
        b->cols = store_ingest_cols[t];
        if (store_ingest_sql(sql, sizeof sql, store_ingest_table[t], b->cols, 1) ||
            sqlite3_prepare_v2(s->db, sql, -1, &b->one, NULL) != SQLITE_OK ||
            store_ingest_sql(sql, sizeof sql, store_ingest_table[t], b->cols, STORE_BATCH_ROWS) ||
            sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &b->many, NULL) != SQLITE_OK)
            return -1;
    }
    return sqlite3_prepare_v2(s->db, "UPDATE pushes SET expected=?, delivered=?, duplicates=?,"
                              " lost=?, missed_offline=?, agent_lost=? WHERE run_id=? AND msg_id=?",
                              -1, &s->upd_push_result, NULL) != SQLITE_OK ||
           sqlite3_prepare_v2(s->db, "INSERT INTO undelivered VALUES(?,?,?,?)", -1,
                              &s->ins_undelivered, NULL) != SQLITE_OK ? -1 : 0;
}

void store_ingest_finalize(struct store *s)
{
    for (int t = 0; t < STORE_INGEST_N; t++) {
        sqlite3_finalize(s->batch[t].one);
        sqlite3_finalize(s->batch[t].many);
        s->batch[t].one = s->batch[t].many = NULL;
        s->batch[t].n = 0;
    }
    sqlite3_finalize(s->upd_push_result);
    sqlite3_finalize(s->ins_undelivered);
    s->upd_push_result = s->ins_undelivered = NULL;
}

/* Binds n rows from v and steps st; every value is bound each time, so
 * nothing of the previous rows needs clearing. */
static int store_ingest_step(struct store *s, sqlite3_stmt *st, const int64_t *v, uint32_t nvals)
{
    for (uint32_t i = 0; i < nvals; i++)
        sqlite3_bind_int64(st, (int)i + 1, v[i]);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : store_fail(s, "database write");
    sqlite3_reset(st);
    return rc;
}

static int store_ingest_write(struct store *s, struct store_batch *b)
{
    int rc = 0;
    if (b->n == STORE_BATCH_ROWS)
        rc = store_ingest_step(s, b->many, b->v, b->n * b->cols);
    else
        for (uint32_t r = 0; r < b->n; r++)
            rc |= store_ingest_step(s, b->one, b->v + r * b->cols, b->cols);
    b->n = 0;
    return rc;
}

int store_ingest_flush(struct store *s)
{
    int rc = 0;
    for (int t = 0; t < STORE_INGEST_N; t++)
        if (s->batch[t].n && s->batch[t].one)
            rc |= store_ingest_write(s, &s->batch[t]);
    return rc;
}

/* The next row of table t, to be filled with its cols values. */
static int64_t *store_ingest_row(struct store *s, int t)
{
    struct store_batch *b = &s->batch[t];
    if (b->n == STORE_BATCH_ROWS)
        store_ingest_write(s, b);
    store_begin(s);
    return b->v + b->n++ * b->cols;
}

int store_event(struct store *s, uint32_t run_id, uint32_t agent_id, const struct ps_event *ev,
                int64_t ts_corrected)
{
    int64_t *v = store_ingest_row(s, STORE_INGEST_EVENTS);
    v[0] = run_id;
    v[1] = agent_id;
    v[2] = ev->conn;
    v[3] = ts_corrected;
    v[4] = ev->type;
    v[5] = (int64_t)ev->val;
    v[6] = ev->aux;
    return s->failed ? -1 : 0;
}

int store_delivery(struct store *s, uint32_t run_id, uint32_t msg_id, uint32_t conn,
                   int64_t t_recv_us, int64_t latency_us, int64_t err_us, int duplicate,
                   int out_of_order)
{
    int64_t *v = store_ingest_row(s, STORE_INGEST_DELIVERIES);
    v[0] = run_id;
    v[1] = msg_id;
    v[2] = conn;
    v[3] = t_recv_us;
    v[4] = latency_us;
    v[5] = err_us;
    v[6] = duplicate;
    v[7] = out_of_order;
    return s->failed ? -1 : 0;
}

int store_push_result(struct store *s, uint32_t run_id, uint32_t msg_id, uint32_t expected,
                      uint32_t delivered, uint32_t duplicates, uint32_t lost,
                      uint32_t missed_offline, uint32_t agent_lost)
{
    const int64_t v[] = {expected, delivered, duplicates, lost, missed_offline, agent_lost,
                         run_id, msg_id};
    store_begin(s);
    return store_ingest_step(s, s->upd_push_result, v, 8);
}

int store_undelivered(struct store *s, uint32_t run_id, uint32_t msg_id, uint32_t conn,
                      const char *kind)
{
    const int64_t v[] = {run_id, msg_id, conn};
    store_begin(s);
    sqlite3_bind_text(s->ins_undelivered, 4, kind, -1, SQLITE_TRANSIENT);
    return store_ingest_step(s, s->ins_undelivered, v, 3);
}
