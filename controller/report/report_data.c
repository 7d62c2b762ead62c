/* report_data: loading a run for the report formats and compare; atomic output files.
 *
 * Every query binds the run id as ?1 and checks each step's result: a corrupted
 * database shows up as an error from sqlite3_step part way through a table,
 * and that must fail the report (exit 2) rather than produce a report of half
 * a run. The small tables are loaded here; the large ones are read by
 * report_data_rows.c through the same prepare and error path (report_data_sql.h). */
#include "report_data_sql.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ps_units.h"

static void report_data_text(sqlite3_stmt *st, int col, char *buf, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(buf, len, "%s", t ? (const char *)t : "");
}

int report_data_prepare(struct store *s, sqlite3_stmt **st, const char *sql, uint32_t run_id,
                        char *err, size_t errlen)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot read the database: %s", sqlite3_errmsg(s->db));
        *st = NULL;
        return -1;
    }
    sqlite3_bind_int64(*st, 1, run_id);
    return 0;
}

int report_data_done(sqlite3_stmt *st, int rc, char *err, size_t errlen)
{
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return 0;
    snprintf(err, errlen, "cannot read the database: %s", sqlite3_errstr(rc));
    return -1;
}

void *report_data_push(void **arr, size_t *n, size_t *cap, size_t elem)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        void *na = realloc(*arr, nc * elem);
        if (!na)
            return NULL;
        *arr = na;
        *cap = nc;
    }
    void *slot = (char *)*arr + (*n)++ * elem;
    memset(slot, 0, elem);
    return slot;
}

static int report_data_load_run(struct store *s, uint32_t run_id, struct report_run *r, char *err,
                                size_t errlen)
{
    sqlite3_stmt *st;
    if (report_data_prepare(s, &st,
                            "SELECT name, plan_path, plan_text, started_us, ended_us, status,"
                            " exit_code, reason, target_conns FROM runs WHERE id=?1",
                            run_id, err, errlen))
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        snprintf(err, errlen, "no run %u in this database (see pushstorm runs)", run_id);
        return -1;
    }
    if (rc != SQLITE_ROW)
        return report_data_done(st, rc, err, errlen);
    r->id = run_id;
    report_data_text(st, 0, r->name, sizeof r->name);
    report_data_text(st, 1, r->plan_path, sizeof r->plan_path);
    const unsigned char *plan = sqlite3_column_text(st, 2);
    r->plan_text = strdup(plan ? (const char *)plan : "");
    r->started_us = sqlite3_column_int64(st, 3);
    r->ended_us = sqlite3_column_int64(st, 4);
    report_data_text(st, 5, r->status, sizeof r->status);
    if (!r->status[0])
        snprintf(r->status, sizeof r->status, "running");
    r->exit_code = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 6);
    report_data_text(st, 7, r->reason, sizeof r->reason);
    r->target_conns = sqlite3_column_int64(st, 8);
    sqlite3_finalize(st);
    if (!r->plan_text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static int report_data_load_lists(struct store *s, uint32_t run_id, struct report_run *r,
                                  char *err, size_t errlen)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    int rc;
    if (report_data_prepare(s, &st, "SELECT name, value FROM figures WHERE run_id=?1 ORDER BY name",
                            run_id, err, errlen))
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct report_fig *f = report_data_push((void **)&r->figs, &r->n_figs, &cap, sizeof *f);
        if (!f) {
            rc = SQLITE_NOMEM;
            break;
        }
        report_data_text(st, 0, f->name, sizeof f->name);
        f->value = sqlite3_column_double(st, 1);
    }
    if (report_data_done(st, rc, err, errlen))
        return -1;

    cap = 0;
    if (report_data_prepare(s, &st,
                            "SELECT name, expr, measured, pass FROM thresholds WHERE run_id=?1"
                            " ORDER BY rowid", run_id, err, errlen))
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct report_thr *t = report_data_push((void **)&r->thr, &r->n_thr, &cap, sizeof *t);
        if (!t) {
            rc = SQLITE_NOMEM;
            break;
        }
        report_data_text(st, 0, t->name, sizeof t->name);
        report_data_text(st, 1, t->expr, sizeof t->expr);
        t->measured = sqlite3_column_type(st, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 2);
        t->pass = sqlite3_column_int(st, 3);
    }
    if (report_data_done(st, rc, err, errlen))
        return -1;

    cap = 0;
    if (report_data_prepare(s, &st,
                            "SELECT idx, kind, line, started_us, ended_us, note FROM phases"
                            " WHERE run_id=?1 ORDER BY idx", run_id, err, errlen))
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct report_phase *p = report_data_push((void **)&r->phases, &r->n_phases, &cap, sizeof *p);
        if (!p) {
            rc = SQLITE_NOMEM;
            break;
        }
        p->idx = (uint32_t)sqlite3_column_int64(st, 0);
        report_data_text(st, 1, p->kind, sizeof p->kind);
        p->line = sqlite3_column_int(st, 2);
        p->started_us = sqlite3_column_int64(st, 3);
        p->ended_us = sqlite3_column_int64(st, 4);
        report_data_text(st, 5, p->note, sizeof p->note);
    }
    return report_data_done(st, rc, err, errlen);
}

/* Agents with what the other tables say about them: the worst loop lag from
 * samples, and the undelivered messages of the connections they owned. */
static int report_data_load_agents(struct store *s, uint32_t run_id, struct report_run *r,
                                   char *err, size_t errlen)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    int rc;
    if (report_data_prepare(
            s, &st,
            /* One pass over each big table, grouped by agent, rather than one
             * subquery per agent: runs can have hundreds of agents. */
            "SELECT a.agent_id, a.name, a.host, a.monitor, a.conn_first, a.conn_count, a.offset_us,"
            " a.offset_err_us, a.start_skew_us, a.lost_us, a.refused, x.lag,"
            " coalesce(u.lost, 0), coalesce(u.offline, 0), coalesce(u.agent_lost, 0)"
            " FROM agents a"
            " LEFT JOIN (SELECT agent_id, max(lag_max_us) AS lag FROM samples WHERE run_id=?1"
            "   GROUP BY agent_id) x ON x.agent_id = a.agent_id"
            " LEFT JOIN (SELECT b.agent_id, sum(n.kind='lost') AS lost,"
            "   sum(n.kind='missed_offline') AS offline, sum(n.kind='agent_lost') AS agent_lost"
            "   FROM undelivered n JOIN agents b ON b.run_id=?1 AND n.conn >= b.conn_first AND"
            "   n.conn < b.conn_first + b.conn_count WHERE n.run_id=?1 GROUP BY b.agent_id) u"
            "   ON u.agent_id = a.agent_id"
            " WHERE a.run_id=?1 ORDER BY a.agent_id",
            run_id, err, errlen))
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct report_agent *a = report_data_push((void **)&r->agents, &r->n_agents, &cap, sizeof *a);
        if (!a) {
            rc = SQLITE_NOMEM;
            break;
        }
        a->id = (uint32_t)sqlite3_column_int64(st, 0);
        report_data_text(st, 1, a->name, sizeof a->name);
        report_data_text(st, 2, a->host, sizeof a->host);
        a->monitor = sqlite3_column_int(st, 3);
        a->conn_first = sqlite3_column_int64(st, 4);
        a->conn_count = sqlite3_column_int64(st, 5);
        a->offset_us = sqlite3_column_int64(st, 6);
        a->offset_err_us = sqlite3_column_int64(st, 7);
        a->start_skew_us = sqlite3_column_int64(st, 8);
        a->lost_us = sqlite3_column_int64(st, 9);
        report_data_text(st, 10, a->refused, sizeof a->refused);
        a->lag_max_us = sqlite3_column_int64(st, 11);
        a->lost = sqlite3_column_int64(st, 12);
        a->missed_offline = sqlite3_column_int64(st, 13);
        a->agent_lost = sqlite3_column_int64(st, 14);
    }
    return report_data_done(st, rc, err, errlen);
}

int report_data_load_head(struct store *s, uint32_t run_id, struct report_run *r, char *err,
                          size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (report_data_load_run(s, run_id, r, err, errlen) ||
        report_data_load_lists(s, run_id, r, err, errlen)) {
        report_data_free(r);
        return -1;
    }
    return 0;
}

int report_data_load(struct store *s, uint32_t run_id, struct report_run *r, char *err,
                     size_t errlen)
{
    if (report_data_load_head(s, run_id, r, err, errlen))
        return -1;
    if (report_data_load_agents(s, run_id, r, err, errlen)) {
        report_data_free(r);
        return -1;
    }
    return 0;
}

void report_data_free(struct report_run *r)
{
    free(r->plan_text);
    free(r->figs);
    free(r->thr);
    free(r->agents);
    free(r->phases);
    memset(r, 0, sizeof *r);
}

int report_data_fig(const struct report_run *r, const char *name, double *v)
{
    for (size_t i = 0; i < r->n_figs; i++)
        if (strcmp(r->figs[i].name, name) == 0) {
            *v = r->figs[i].value;
            return 1;
        }
    return 0;
}

double report_data_rel_s(const struct report_run *r, int64_t t_us)
{
    return (double)(t_us - r->started_us) / 1e6;
}

int report_data_ends(struct store *s, uint32_t run_id, struct report_end **out, size_t *n,
                     char *err, size_t errlen)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    if (report_data_prepare(s, &st,
                            "SELECT coalesce(e.name, 'type ' || c.type), coalesce(n.name, 'reason ' || c.val),"
                            " c.type, count(*) FROM conn_events c"
                            " LEFT JOIN event_types e ON e.type = c.type"
                            " LEFT JOIN reasons n ON n.reason = c.val"
                            " WHERE c.run_id=?1 AND c.type IN (2, 3)"
                            " GROUP BY c.type, c.val ORDER BY 4 DESC",
                            run_id, err, errlen))
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct report_end *e = report_data_push((void **)out, n, &cap, sizeof **out);
        if (!e) {
            rc = SQLITE_NOMEM;
            break;
        }
        snprintf(e->event, sizeof e->event, "%s", sqlite3_column_text(st, 0));
        snprintf(e->reason, sizeof e->reason, "%s", sqlite3_column_text(st, 1));
        e->type = (uint32_t)sqlite3_column_int(st, 2);
        e->n = (uint64_t)sqlite3_column_int64(st, 3);
    }
    if (report_data_done(st, rc, err, errlen)) {
        free(*out);
        *out = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

/* Rows (name, value) of sql for the run, in its order. */
static int report_data_named(struct store *s, const char *sql, uint32_t run_id,
                             struct report_fig **out, size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    int rc;
    *out = NULL;
    *n = 0;
    if (report_data_prepare(s, &st, sql, run_id, err, errlen))
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct report_fig *f = report_data_push((void **)out, n, &cap, sizeof **out);
        if (!f) {
            rc = SQLITE_NOMEM;
            break;
        }
        report_data_text(st, 0, f->name, sizeof f->name);
        f->value = sqlite3_column_double(st, 1);
    }
    if (report_data_done(st, rc, err, errlen)) {
        free(*out);
        *out = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

int report_data_reasons(struct store *s, uint32_t run_id, struct report_fig **out, size_t *n,
                        char *err, size_t errlen)
{
    return report_data_named(s, "SELECT substr(name, 8), value FROM figures WHERE run_id=?1 AND "
                             "name LIKE 'reason_%' ORDER BY value DESC", run_id, out, n, err, errlen);
}

/* Runs before schema 5 have no status_kind: their calls were HTTP, status in http_status. */
int report_data_push_status(struct store *s, uint32_t run_id, struct report_fig **out, size_t *n,
                            char *err, size_t errlen)
{
    return report_data_named(s, "SELECT coalesce(status_kind, 'http') || ':' || "
                             "coalesce(status, nullif(http_status, 0), 'none'), count(*) FROM pushes "
                             "WHERE run_id=?1 GROUP BY 1 ORDER BY 2 DESC, 1", run_id, out, n, err,
                             errlen);
}

int report_data_out_open(struct report_data_out *o, const char *path, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    if (!path || strcmp(path, "-") == 0) {
        o->f = stdout;
        o->to_stdout = 1;
        return 0;
    }
    if (snprintf(o->path, sizeof o->path, "%s", path) >= (int)sizeof o->path ||
        snprintf(o->tmp, sizeof o->tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof o->tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    o->f = fopen(o->tmp, "w");
    if (!o->f) {
        snprintf(err, errlen, "%s: cannot write: %s", o->tmp, strerror(errno));
        return -1;
    }
    return 0;
}

int report_data_out_close(struct report_data_out *o, int ok, char *err, size_t errlen)
{
    if (!o->f)
        return ok ? 0 : -1;
    if (o->to_stdout) {
        int rc = fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
        if (rc && ok)
            snprintf(err, errlen, "stdout: write failed");
        o->f = NULL;
        return ok ? rc : -1;
    }
    int failed = ferror(o->f);
    if (fclose(o->f) != 0)
        failed = 1;
    o->f = NULL;
    if (ok && failed)
        snprintf(err, errlen, "%s: write failed: %s", o->tmp, strerror(errno));
    if (ok && !failed && rename(o->tmp, o->path) != 0) {
        snprintf(err, errlen, "%s: cannot rename into place: %s", o->path, strerror(errno));
        failed = 1;
    }
    if (!ok || failed) {
        unlink(o->tmp);
        return -1;
    }
    return 0;
}

char *report_data_fmt_measured(const char *name, double v, char *buf, size_t len)
{
    /* the unit from the name: durations and fractions; counts otherwise. A cut
     * wait_reconnect stores phaseN_reconnect, the fraction back in time. */
    static const char *const durations[] = {"latency", "handshake", "rtt", "ready", "deadline"};
    static const char *const fractions[] = {"connect_success", "fraction"};
    static const char reconnect[] = "_reconnect";
    size_t n = strlen(name);
    int dur = 0, frac = n > sizeof reconnect - 1 && !strcmp(name + n - (sizeof reconnect - 1), reconnect);
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++)
        dur |= strstr(name, durations[i]) != NULL;
    for (size_t i = 0; i < sizeof fractions / sizeof fractions[0]; i++)
        frac |= strstr(name, fractions[i]) != NULL;
    if (isnan(v))
        snprintf(buf, len, "-");
    else if (dur)
        ps_units_fmt_duration((int64_t)v, buf, len);
    else if (frac)
        snprintf(buf, len, "%.3f%%", v * 100);
    else
        snprintf(buf, len, "%.0f", v);
    return buf;
}
