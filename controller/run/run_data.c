/* run_data: per-connection data (connections.data) during a run.
 *
 * The run reads the CSV file again at start (the plan check read it to
 * validate, then let it go) and keeps it until the end: the pushes expand
 * {csv.COL} for their recipient from it, and each agent is sent the rows of
 * its range. An agent's rows go after its ASSIGN as DATA commands of at most
 * PS_DATA_CHUNK bytes, built when they are due from the file's values (no
 * copy per agent); the agent ticks again as soon as it has applied a command,
 * so the transfer runs at one round trip per 32 KiB. The ASSIGN says how many
 * rows and bytes follow: with data_wrap and more connections than rows an
 * agent gets each row once (k = its connection's local index % csv_rows),
 * otherwise the rows of its connections, in order. */
#include "run_internal.h"

#include <stdio.h>
#include <string.h>

#define RUN_DATA_AGENT_MAX (16u << 20)   /* bytes of values one agent may be sent */
/* Allowance per DATA command on top of the assignment deadline: a round trip
 * took about 0.2 ms on loopback (docs/plan.md); this leaves room for a WAN. */
#define RUN_DATA_CMD_US    100000
#define RUN_DATA_SEP       '\x1f'

int run_data_open(struct run *r, char *err, size_t errlen)
{
    const struct plan *p = r->plan;
    if (!p->connections.data[0])
        return 0;
    char e[PS_URL_MAX + 160];
    if (plan_csv_load(&r->csv, p->connections.data, e, sizeof e) < 0) {
        snprintf(err, errlen, "connections.data: %s", e);
        return -1;
    }
    uint64_t conns = plan_max_connections(p);
    if (r->csv.n_rows == 0 || (r->csv.n_rows < conns && !p->connections.data_wrap)) {
        /* the file changed since the plan was checked */
        snprintf(err, errlen, "connections.data: %s has %u rows for %llu connections",
                 p->connections.data, r->csv.n_rows, (unsigned long long)conns);
        plan_csv_free(&r->csv);
        return -1;
    }
    return 0;
}

void run_data_close(struct run *r)
{
    plan_csv_free(&r->csv);
}

/* Rows agent a is sent: its connections', or each row once when they wrap. */
static uint32_t run_data_rows(const struct run *r, const struct run_agent *a)
{
    return a->conn_count < r->csv.n_rows ? a->conn_count : r->csv.n_rows;
}

static uint32_t run_data_row(const struct run *r, const struct run_agent *a, uint32_t k)
{
    return (uint32_t)(((uint64_t)a->conn_first + k) % r->csv.n_rows);
}

int run_data_assign(struct run *r, struct run_agent *a, struct ps_assign *as)
{
    a->assign_cmds = 1;
    if (!r->csv.n_cols)
        return 0;
    as->n_csv_cols = r->csv.n_cols;
    for (uint32_t j = 0; j < r->csv.n_cols; j++)
        snprintf(as->csv_cols[j], sizeof as->csv_cols[j], "%s", plan_csv_header(&r->csv, j));
    uint64_t bytes = 0;
    as->csv_rows = run_data_rows(r, a);
    for (uint32_t k = 0; k < as->csv_rows; k++)
        for (uint32_t j = 0; j < r->csv.n_cols; j++)
            bytes += strlen(plan_csv_cell(&r->csv, run_data_row(r, a, k), j)) + 1;
    if (bytes > RUN_DATA_AGENT_MAX) {
        run_fail(r, "agent %u (%s) would be sent %.1f MiB of connections.data for its %u "
                 "connections, at most %u MiB per agent: use more agents", a->id, a->hello.name,
                 bytes / 1048576.0, a->conn_count, RUN_DATA_AGENT_MAX >> 20);
        return -1;
    }
    as->csv_bytes = (uint32_t)bytes;
    a->assign_cmds = 1 + (uint32_t)((bytes + PS_DATA_CHUNK - 1) / PS_DATA_CHUNK);
    return 0;
}

int64_t run_data_timeout(int64_t base_us, uint32_t assign_cmds)
{
    return base_us + (int64_t)(assign_cmds - 1) * RUN_DATA_CMD_US;
}

void run_data_sent(struct run *r, int64_t elapsed_us)
{
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < r->n_agents; i++)
        bytes += r->agents[i].assign.csv_bytes;
    if (r->csv.n_cols && !r->opts->quiet)
        progress_say(&r->progress, "connections.data: %.1f KiB of values to %u agents in %.2fs\n",
                     bytes / 1024.0, r->n_agents, elapsed_us / 1e6);
}

void run_data_cmd(const struct run *r, struct run_agent *a, uint32_t id, struct ps_cmd *out)
{
    memset(out, 0, sizeof *out);
    out->id = id;
    out->kind = PS_CMD_DATA;
    struct ps_data *d = &out->u.data;
    uint64_t from = (uint64_t)(id - 2) * PS_DATA_CHUNK;
    d->offset = (uint32_t)from;
    /* Pieces go in order (a lost reply repeats the same one), so the walk to
     * `from` resumes where the last piece started instead of at row 0. */
    if (a->data_pos.at > from)
        memset(&a->data_pos, 0, sizeof a->data_pos);
    uint32_t k = a->data_pos.k, j = a->data_pos.j, cols = r->csv.n_cols;
    uint64_t at = a->data_pos.at;
    size_t o = 0;
    for (; k < a->assign.csv_rows && o < PS_DATA_CHUNK; j = 0, k++)
        for (; j < cols && o < PS_DATA_CHUNK; j++) {
            const char *v = plan_csv_cell(&r->csv, run_data_row(r, a, k), j);
            size_t n = strlen(v) + 1;
            if (at + n <= from) {
                at += n;
                a->data_pos.k = j + 1 < cols ? k : k + 1;
                a->data_pos.j = j + 1 < cols ? j + 1 : 0;
                a->data_pos.at = at;
                continue;
            }
            size_t skip = from > at ? (size_t)(from - at) : 0;
            for (size_t i = skip; i < n && o < PS_DATA_CHUNK; i++)
                d->chunk[o++] = i + 1 == n ? RUN_DATA_SEP : v[i];
            at += n;
        }
    d->chunk[o] = 0;
}

static int run_data_get(void *ctx, const char *name, size_t len, const char **val, size_t *vlen)
{
    struct run_data_tpl *t = ctx;
    if (len < 4 || memcmp(name, "csv.", 4) || !t->csv->n_cols)
        return 0;
    int col = plan_csv_col(t->csv, name + 4, len - 4);
    if (col < 0 || !t->n)
        return -1;
    if (t->n == 1) {
        *val = plan_csv_cell(t->csv, t->conns[0] % t->csv->n_rows, (uint32_t)col);
        *vlen = strlen(*val);
        return 1;
    }
    size_t start = t->used;
    for (uint32_t i = 0; i < t->n; i++) {
        const char *v = plan_csv_cell(t->csv, t->conns[i] % t->csv->n_rows, (uint32_t)col);
        int n = snprintf(t->buf + t->used, sizeof t->buf - t->used, "%s%s", i ? "," : "", v);
        if (n < 0 || (size_t)n >= sizeof t->buf - t->used)
            return -1;   /* too long for a URL or body anyway */
        t->used += (size_t)n;
    }
    t->used++;
    *val = t->buf + start;
    *vlen = t->used - 1 - start;
    return 1;
}

void run_data_source(struct run_data_tpl *t, const struct run *r, const uint32_t *conns, uint32_t n,
                     struct ps_tpl_source *src)
{
    t->csv = &r->csv;
    t->conns = conns;
    t->n = n;
    t->used = 0;
    src->get = run_data_get;
    src->ctx = t;
}
