/* report_html.h: the parts of the HTML report (report_html*.c), shared by the
 * page and its sections; not used outside controller/report.
 *
 * report_html.c writes the page: its skeleton, the inline CSS and the summary
 * figures at the top. report_html_charts.c writes the chart sections
 * (connections, pushes, server metrics), report_html_tables.c the table
 * sections (thresholds, client protocols, agents, phases). Each section writes
 * whole elements, so the page is the sections in order and nothing else. */
#ifndef PS_REPORT_HTML_H
#define PS_REPORT_HTML_H

#include <stdio.h>

#include "report.h"

/* One figure box of the summary grid: the value large, its label under it. */
void report_html_fig(FILE *o, const char *label, const char *value);

/* Chart sections; -1 with err (out of memory, database unreadable). */
int  report_html_connections(FILE *o, struct store *s, const struct report_run *r, char *err,
                             size_t errlen);
int  report_html_pushes(FILE *o, const struct report_run *r, const struct report_latency *l,
                        char *err, size_t errlen);
int  report_html_monitor(FILE *o, struct store *s, const struct report_run *r, char *err,
                         size_t errlen);

/* Table sections. */
void report_html_thresholds(FILE *o, const struct report_run *r);
/* Only for a run whose targets spoke a client protocol (issue 13): nothing else. */
int  report_html_protocols(FILE *o, const struct report_run *r, char *err, size_t errlen);
void report_html_agents(FILE *o, const struct report_run *r);
void report_html_phases(FILE *o, const struct report_run *r);

#endif
