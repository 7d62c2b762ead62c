/* report_chart: inline SVG charts for the HTML report (report_chart.c).
 *
 * A chart is described by struct report_chart and its series by struct
 * report_chart_series over points in struct report_chart_xy; the draw calls
 * write one <svg> element (a title and a note above it are the caller's, with
 * report_chart_title). Nothing here reads the database. */
#ifndef PS_REPORT_CHART_H
#define PS_REPORT_CHART_H

#include <stddef.h>
#include <stdio.h>

#include "ps_hist.h"
#include "report_data.h"

#define REPORT_CHART_NCOLORS 8
/* Series colours, in the order series take them. */
extern const char *const report_chart_colors[REPORT_CHART_NCOLORS];

enum report_chart_unit {
    REPORT_CHART_COUNT,
    REPORT_CHART_RATE,           /* per second */
    REPORT_CHART_US,             /* microseconds, printed as durations */
    REPORT_CHART_PCT,            /* already in percent */
    REPORT_CHART_BYTES,
    REPORT_CHART_SECONDS,
};

struct report_chart_xy {
    size_t  n, cap;
    double *x, *y;
};

struct report_chart_series {
    const char *name;
    const char *color;
    const struct report_chart_xy *xy;
    int dashed;
    int dots;                    /* mark each point: for series of a few points */
};

struct report_chart {
    const char *id;
    const char *title;
    const char *note;            /* one line under the title, may be NULL */
    enum report_chart_unit unit;
    const struct report_run *run;/* draws phase markers when set (x = run time) */
    const char *xlabel;
    int x_from_zero;             /* x axis starts at 0 (time after an event) */
};

/* Points of one series; grows as points are added. */
int   report_chart_xy_add(struct report_chart_xy *s, double x, double y);
void  report_chart_xy_free(struct report_chart_xy *s);

/* t as HTML/XML text (for the page as for the SVG inside it). */
void  report_chart_esc(FILE *o, const char *t);
/* v in unit u as a tick label or figure: "1.5ms", "12k/s", "95.4 MiB". Returns buf. */
char *report_chart_fmt(enum report_chart_unit u, double v, char *buf, size_t len);
/* <h3>title</h3> and the note under it (note may be NULL). */
void  report_chart_title(FILE *o, const char *title, const char *note);
/* The sentence said instead of a chart without data. */
void  report_chart_empty(FILE *o, const char *what);

/* A titled line chart of the series; a sentence instead when none has a point. */
void  report_chart_line(FILE *o, const struct report_chart *c, const struct report_chart_series *s,
                        size_t n);
/* Latency histogram of h (h->count > 0): logarithmic bins, durations on the x axis. */
void  report_chart_histogram(FILE *o, const char *id, const char *label, const struct ps_hist *h);

/* Horizontal bars, one per item, scaled to the first (the largest). */
struct report_chart_bar {
    char        label[96];
    const char *color;
    double      n;
};
void  report_chart_bars(FILE *o, const char *id, const char *label,
                        const struct report_chart_bar *bars, size_t nb);

#endif
