/* store_owner: which controller process owns a run that is under way, and
 * what becomes of the runs whose controller died.
 *
 * A controller killed with -9 (or by the OOM killer, or a power cut) never
 * writes its run's end, so the row would say `running` forever and reports
 * would read it as a run without verdict. store_run_begin records the owner
 * of each run in run_owners: host name, boot id, pid and the process's start
 * time in clock ticks since boot (/proc/PID/stat field 22). On every open of
 * the database, each run still `running` is checked against its owner: on
 * this host, the owner is alive only if a process with that pid exists and
 * started at that very tick in this boot (a reused pid or a reboot is a dead
 * owner). A run whose owner is dead becomes `interrupted`, exit code 2 (the
 * run could not be carried out), ended at the end of its last stored second,
 * with a reason naming the process. A run owned by another host is left as it
 * is: its owner cannot be checked from here.
 *
 * A read-only open (reports) still settles such runs, through a short
 * read-write connection of its own; if the file cannot be written the runs
 * stay `running` and the report says they have no exit status. */
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct store_owner {
    char host[PS_NAME_MAX];
    char boot_id[40];
    int64_t pid;
    int64_t start_ticks;       /* -1 = unknown */
};

static void store_owner_read_line(const char *path, char *out, size_t len)
{
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fgets(out, (int)len, f))
        out[strcspn(out, "\n")] = 0;
    fclose(f);
}

/* Field 22 of /proc/PID/stat (starttime); the command name (field 2) may hold
 * spaces and parentheses, so counting starts after its last ')'. */
static int64_t store_owner_start_ticks(int64_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    long long ticks = -1;
    /* after ")": state is field 3, starttime field 22 */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %lld",
               &ticks) != 1)
        return -1;
    return ticks;
}

static void store_owner_self(struct store_owner *o)
{
    memset(o, 0, sizeof *o);
    if (gethostname(o->host, sizeof o->host - 1) != 0)
        snprintf(o->host, sizeof o->host, "?");
    store_owner_read_line("/proc/sys/kernel/random/boot_id", o->boot_id, sizeof o->boot_id);
    o->pid = (int64_t)getpid();
    o->start_ticks = store_owner_start_ticks(o->pid);
}

int store_owner_claim(struct store *s, uint32_t run_id)
{
    struct store_owner o;
    sqlite3_stmt *st;
    store_owner_self(&o);
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO run_owners VALUES(?,?,?,?,?)", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, o.host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, o.boot_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, o.pid);
    sqlite3_bind_int64(st, 5, o.start_ticks);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* 1 = the owner is gone for sure, 0 = alive or cannot be told from here. */
static int store_owner_dead(const struct store_owner *me, const struct store_owner *o)
{
    if (strcmp(o->host, me->host) != 0)
        return 0;
    if (o->boot_id[0] && me->boot_id[0] && strcmp(o->boot_id, me->boot_id) != 0)
        return 1;
    if (o->pid == me->pid && o->start_ticks == me->start_ticks)
        return 0;
    int64_t ticks = store_owner_start_ticks(o->pid);
    return ticks < 0 || ticks != o->start_ticks;
}

#define STORE_OWNER_REAP_MAX 64   /* dead runs settled per open; the rest at the next */

struct store_owner_dead_run {
    uint32_t run_id;
    int64_t pid;
    char host[PS_NAME_MAX];
};

/* The dead-owned running runs of db, into out[]; returns how many (-1 on error). */
static int store_owner_find(sqlite3 *db, struct store_owner_dead_run *out, int max)
{
    struct store_owner me;
    sqlite3_stmt *st;
    store_owner_self(&me);
    if (sqlite3_prepare_v2(db,
                           "SELECT r.id, o.host, o.boot_id, o.pid, o.start_ticks FROM runs r"
                           " JOIN run_owners o ON o.run_id = r.id WHERE r.status = 'running'",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;   /* a database from before run_owners: nothing to tell */
    int n = 0;
    while (n < max && sqlite3_step(st) == SQLITE_ROW) {
        struct store_owner o = {0};
        const unsigned char *h = sqlite3_column_text(st, 1), *b = sqlite3_column_text(st, 2);
        snprintf(o.host, sizeof o.host, "%s", h ? (const char *)h : "");
        snprintf(o.boot_id, sizeof o.boot_id, "%s", b ? (const char *)b : "");
        o.pid = sqlite3_column_int64(st, 3);
        o.start_ticks = sqlite3_column_int64(st, 4);
        if (!store_owner_dead(&me, &o))
            continue;
        out[n].run_id = (uint32_t)sqlite3_column_int64(st, 0);
        out[n].pid = o.pid;
        snprintf(out[n].host, sizeof out[n].host, "%s", o.host);
        n++;
    }
    sqlite3_finalize(st);
    return n;
}

static int store_owner_mark(sqlite3 *db, const struct store_owner_dead_run *d)
{
    char reason[256];
    snprintf(reason, sizeof reason,
             "interrupted: the controller (pid %lld on %s) ended without finishing the run; "
             "figures are those stored up to its last second", (long long)d->pid, d->host);
    sqlite3_stmt *st;
    /* the end of the last second stored by the controller (or by an agent), else the start */
    if (sqlite3_prepare_v2(db,
                           "UPDATE runs SET status='interrupted', exit_code=2, reason=?2,"
                           " ended_us = coalesce("
                           "  (SELECT (max(second) + 1) * 1000000 FROM ctl_samples WHERE run_id=?1),"
                           "  (SELECT (max(second) + 1) * 1000000 FROM samples WHERE run_id=?1),"
                           "  started_us)"
                           " WHERE id=?1 AND status='running'", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, d->run_id);
    sqlite3_bind_text(st, 2, reason, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_owner_reap(struct store *s, int readonly, char *err, size_t errlen)
{
    struct store_owner_dead_run dead[STORE_OWNER_REAP_MAX];
    int n = store_owner_find(s->db, dead, STORE_OWNER_REAP_MAX);
    if (n <= 0)
        return 0;
    sqlite3 *db = s->db;
    if (readonly && sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %d run(s) left running by a dead controller stay so: %s",
                 s->path, n, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++)
        if (store_owner_mark(db, &dead[i]) != 0) {
            snprintf(err, errlen, "%s: cannot mark run %u interrupted: %s", s->path,
                     dead[i].run_id, sqlite3_errmsg(db));
            rc = -1;
        }
    if (db != s->db)
        sqlite3_close(db);
    return rc;
}
