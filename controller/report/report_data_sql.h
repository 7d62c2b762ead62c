/* report_data_sql: the one prepare, step and error path of the report data
 * loader, shared by report_data.c and report_data_rows.c and included by no
 * other file: the report formats never see SQL. */
#ifndef PS_REPORT_DATA_SQL_H
#define PS_REPORT_DATA_SQL_H

#include <sqlite3.h>

#include "report_data.h"

/* Prepares sql with ?1 bound to run_id. Returns 0, or -1 with err set. */
int   report_data_prepare(struct store *s, sqlite3_stmt **st, const char *sql, uint32_t run_id,
                          char *err, size_t errlen);
/* Finalizes st at the end of its step loop (rc: the last step's result):
 * SQLITE_DONE is success, anything else names the problem in err and is -1. */
int   report_data_done(sqlite3_stmt *st, int rc, char *err, size_t errlen);
/* Grows *arr (of elem-sized items) to hold one more; returns the new, zeroed
 * slot, or NULL when out of memory. */
void *report_data_push(void **arr, size_t *n, size_t *cap, size_t elem);

#endif
