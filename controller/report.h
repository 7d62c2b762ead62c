/* report: what a finished (or failed) run measured, read back from the database.
 *
 * Reports are built from the store alone, never from the controller's memory,
 * so `pushstorm report RUN` long after a run prints the same thing the run
 * printed when it ended. */
#ifndef PS_REPORT_H
#define PS_REPORT_H

#include <stdint.h>
#include <stdio.h>
#include "store.h"

/* Prints the text summary of a run. Returns 0, or -1 if the run is unknown. */
int report_print_summary(struct store *s, uint32_t run_id, FILE *out);
/* Lists the runs in the database (id, name, start, duration, connections, verdict). */
int report_print_runs(struct store *s, FILE *out);

#endif
