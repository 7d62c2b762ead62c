/* report: what a finished (or failed) run measured, read back from the database.
 *
 * Reports are built from the store alone, never from the controller's memory,
 * so `pushstorm report RUN` long after a run prints the same thing the run
 * printed when it ended. */
#ifndef PS_REPORT_H
#define PS_REPORT_H

#include <stdint.h>
#include <stdio.h>
#include "report_data.h"
#include "store.h"

/* Prints the text summary of a run. Returns 0, or -1 if the run is unknown. */
int report_print_summary(struct store *s, uint32_t run_id, FILE *out);
/* Lists the runs in the database (id, name, start, duration, connections, verdict).
 * Returns 0, or -1 with the database's message in err. */
int report_print_runs(struct store *s, FILE *out, char *err, size_t errlen);

/* The other formats (docs/reports.md). Each renders a run loaded with
 * report_data_load; on failure they return -1 with the reason in err, and the
 * caller discards what was written (report_data_out_close with ok = 0). */
/* One self-contained HTML page with inline SVG charts (report_html.c). */
int report_html_write(struct store *s, const struct report_run *r, FILE *out, char *err,
                      size_t errlen);
/* The summary as one JSON object (report_json.c). */
int report_json_write(struct store *s, const struct report_run *r, FILE *out, char *err,
                      size_t errlen);
/* JUnit XML, one test case per threshold (report_junit.c). */
int report_junit_write(const struct report_run *r, FILE *out, char *err, size_t errlen);
/* One CSV file per table into directory dir, created if missing (report_csv.c).
 * Writes the names of the files it wrote, one a line, to list when not NULL. */
int report_csv_write(struct store *s, const struct report_run *r, const char *dir, FILE *list,
                     char *err, size_t errlen);

#endif
