/* plan_csv: the per-connection data file of a plan (connections.data).
 *
 * A CSV file (RFC 4180) whose header names the columns; data row i belongs to
 * connection i (or i modulo the rows with connections.data_wrap). The plan
 * checker loads it to validate it and the templates that use it; the run loads
 * it again and owns it until the run is closed, expanding {csv.COL} in push
 * URLs and bodies and shipping each agent the rows of its range. */
#ifndef PS_PLAN_CSV_H
#define PS_PLAN_CSV_H

#include <stddef.h>
#include <stdint.h>

#define PLAN_CSV_FILE_MAX  (64u << 20)  /* bytes in a data file */
#define PLAN_CSV_COLS_MAX  16           /* columns (the agents get them all) */
#define PLAN_CSV_NAME_MAX  32           /* bytes of a column name, incl. NUL */
#define PLAN_CSV_CELL_MAX  1024         /* bytes of one value */

struct plan_csv {
    uint32_t n_cols, n_rows;     /* n_rows: data rows, not counting the header */
    char    *cells;              /* every value NUL-terminated, header row first, row-major */
    size_t   cells_len;
    uint32_t *off;               /* (n_rows + 1) * n_cols offsets into cells */
    uint32_t *line;              /* file line each data row starts on */
};

/* Parses text (name used in messages). 0, or -1 with "name:line: message" in err;
 * on error *c is freed. */
int  plan_csv_parse(struct plan_csv *c, const char *name, const char *text, size_t len, char *err,
                    size_t errlen);
int  plan_csv_load(struct plan_csv *c, const char *path, char *err, size_t errlen);
void plan_csv_free(struct plan_csv *c);
/* Column index of name[0..nlen), or -1. */
int  plan_csv_col(const struct plan_csv *c, const char *name, size_t nlen);
static inline const char *plan_csv_cell(const struct plan_csv *c, uint32_t row, uint32_t col)
{
    return c->cells + c->off[(size_t)(row + 1) * c->n_cols + col];
}
const char *plan_csv_header(const struct plan_csv *c, uint32_t col);

#endif
