/* csv.c: the per-connection data an agent was sent (connections.data).
 *
 * The ASSIGN says how many rows and bytes of values follow and names the
 * columns; the DATA commands then bring the values in order. They land in one
 * arena per agent, allocated once at the ASSIGN: one 32-bit offset per row,
 * then the values, NUL-terminated, row-major. Nothing is allocated per
 * connection and the connection slot does not grow: connection k of the
 * agent's range reads row k % rows when a template asks for {csv.COL}
 * (agent_csv_get, a ps_tpl source). The arena is written only by the control
 * thread, between the ASSIGN and the first RAMP, while the workers are idle;
 * the RAMP that follows goes through each worker's mailbox lock, so they read
 * it complete. */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGENT_CSV_SEP   '\x1f'
#define AGENT_CSV_MAX   (16u << 20)   /* bytes of values (the controller's limit too) */

void agent_csv_free(struct agent_csv *d)
{
    free(d->rows);
    memset(d, 0, sizeof *d);
}

int agent_csv_assign(struct agent_csv *d, const struct ps_assign *a, char *err, size_t errlen)
{
    agent_csv_free(d);
    if (!a->n_csv_cols && !a->csv_rows && !a->csv_bytes)
        return 0;
    if (!a->n_csv_cols || !a->csv_rows || a->csv_bytes < (uint64_t)a->csv_rows * a->n_csv_cols ||
        a->csv_bytes > AGENT_CSV_MAX) {
        snprintf(err, errlen, "per-connection data: %u columns, %u rows, %u bytes do not add up "
                 "(at most %u MiB)", a->n_csv_cols, a->csv_rows, a->csv_bytes, AGENT_CSV_MAX >> 20);
        return -1;
    }
    size_t index = (size_t)a->csv_rows * sizeof *d->rows;
    d->rows = malloc(index + a->csv_bytes);
    if (!d->rows) {
        snprintf(err, errlen, "per-connection data: out of memory for %u bytes", a->csv_bytes);
        return -1;
    }
    d->vals = (char *)d->rows + index;
    d->n_rows = a->csv_rows;
    d->n_cols = a->n_csv_cols;
    d->bytes = a->csv_bytes;
    memcpy(d->cols, a->csv_cols, sizeof d->cols);
    return 0;
}

/* One DATA command: the next piece, in order; the last one completes the rows. */
int agent_csv_chunk(struct agent_csv *d, const struct ps_data *c, char *err, size_t errlen)
{
    size_t n = strlen(c->chunk);
    if (!d->rows || c->offset != d->got || n > d->bytes - d->got || !n) {
        snprintf(err, errlen, "per-connection data: piece at byte %u (%zu bytes) does not follow "
                 "the %u of %u bytes received", c->offset, n, d->got, d->bytes);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        d->vals[d->got + i] = c->chunk[i] == AGENT_CSV_SEP ? 0 : c->chunk[i];
    d->got += (uint32_t)n;
    if (d->got < d->bytes)
        return 0;
    /* complete: index the rows, and check the values are exactly rows x columns */
    uint32_t values = 0;
    for (uint32_t o = 0; o < d->bytes; o += (uint32_t)strlen(d->vals + o) + 1, values++)
        if (values % d->n_cols == 0 && values / d->n_cols < d->n_rows)
            d->rows[values / d->n_cols] = o;
    if (d->vals[d->bytes - 1] || values != d->n_rows * d->n_cols) {
        snprintf(err, errlen, "per-connection data: %u values for %u rows of %u columns", values,
                 d->n_rows, d->n_cols);
        agent_csv_free(d);
        return -1;
    }
    d->ready = 1;
    return 0;
}

/* {csv.COL} for local connection index ctx->local; a ps_tpl source. */
int agent_csv_get(void *ctx, const char *name, size_t len, const char **val, size_t *vlen)
{
    const struct agent_csv_ref *ref = ctx;
    const struct agent_csv *d = ref->csv;
    if (len < 4 || memcmp(name, "csv.", 4))
        return 0;
    if (!d->ready)
        return -1;   /* the plan check let it through, so the data went missing */
    const char *v = d->vals + d->rows[ref->local % d->n_rows];
    for (uint32_t j = 0; j < d->n_cols; j++, v += strlen(v) + 1)
        if (strlen(d->cols[j]) == len - 4 && !memcmp(d->cols[j], name + 4, len - 4)) {
            *val = v;
            *vlen = strlen(v);
            return 1;
        }
    return -1;
}
