/* report_html: `pushstorm report RUN --html FILE`, one self-contained HTML page.
 *
 * The page has no scripts, no external fonts, images or style sheets: the CSS is
 * inline and every chart is an inline <svg> drawn here, so the file opens
 * offline, can be mailed or attached to a CI job, and looks the same in ten
 * years. Charts are laid out in a fixed viewBox; line charts map each series
 * into it and, when a series has more points than the chart has pixel columns,
 * keep each column's lowest and highest point (a spike stays visible, the file
 * stays small). Time axes are seconds since the run started, with the run's
 * phases drawn as labelled vertical lines so a drop can be matched to the
 * disconnect or fault that caused it.
 *
 * Sections: summary and key figures, thresholds, connections over time against
 * the plan's ramps, connect and failure rate, failures and closes by reason,
 * push latency percentiles over time (by send time), latency histogram,
 * reconnection curves after fault phases, server metrics (only when a
 * monitor_samples table exists and holds rows for the run), agents, phases.
 * A section without data says so in words instead of drawing an empty chart. */
#include "report.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plan.h"
#include "ps_units.h"

/* Chart geometry, in viewBox units. */
#define RH_W   760.0
#define RH_H   250.0
#define RH_L   70.0
#define RH_R   16.0
#define RH_T   18.0
#define RH_B   34.0
#define RH_PW  (RH_W - RH_L - RH_R)
#define RH_PH  (RH_H - RH_T - RH_B)

/* Series of a monitor_samples chart: more would be unreadable in one chart. */
#define RH_MON_MAX_SERIES 8

static const char *const report_html_colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                                 "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
#define RH_NCOLORS (sizeof report_html_colors / sizeof report_html_colors[0])

enum report_html_unit {
    REPORT_HTML_COUNT,
    REPORT_HTML_RATE,            /* per second */
    REPORT_HTML_US,              /* microseconds, printed as durations */
    REPORT_HTML_PCT,             /* already in percent */
    REPORT_HTML_BYTES,
    REPORT_HTML_SECONDS,
};

struct report_html_xy {
    size_t  n, cap;
    double *x, *y;
};

struct report_html_series {
    const char *name;
    const char *color;
    const struct report_html_xy *xy;
    int dashed;
    int dots;                    /* mark each point: for series of a few points */
};

struct report_html_chart {
    const char *id;
    const char *title;
    const char *note;            /* one line under the title, may be NULL */
    enum report_html_unit unit;
    const struct report_run *run;/* draws phase markers when set (x = run time) */
    const char *xlabel;
    int x_from_zero;             /* x axis starts at 0 (time after an event) */
};

static int report_html_xy_add(struct report_html_xy *s, double x, double y)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        double *nx = realloc(s->x, nc * sizeof *nx);
        if (!nx)
            return -1;
        s->x = nx;
        double *ny = realloc(s->y, nc * sizeof *ny);
        if (!ny)
            return -1;
        s->y = ny;
        s->cap = nc;
    }
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
    return 0;
}

static void report_html_xy_free(struct report_html_xy *s)
{
    free(s->x);
    free(s->y);
    memset(s, 0, sizeof *s);
}

static void report_html_esc(FILE *o, const char *t)
{
    for (; t && *t; t++) {
        switch (*t) {
        case '&': fputs("&amp;", o); break;
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '"': fputs("&quot;", o); break;
        case '\'': fputs("&#39;", o); break;
        default: fputc(*t, o);
        }
    }
}

static char *report_html_fmt(enum report_html_unit u, double v, char *buf, size_t len)
{
    char tmp[32];
    switch (u) {
    case REPORT_HTML_US:
        return ps_units_fmt_duration((int64_t)llround(v), buf, len);
    case REPORT_HTML_SECONDS:
        return ps_units_fmt_duration((int64_t)llround(v * 1e6), buf, len);
    case REPORT_HTML_PCT:
        snprintf(buf, len, "%g%%", v);
        return buf;
    case REPORT_HTML_BYTES: {
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        int k = 0;
        while (fabs(v) >= 1024 && k < 4) {
            v /= 1024;
            k++;
        }
        snprintf(buf, len, "%.3g %s", v, units[k]);
        return buf;
    }
    case REPORT_HTML_RATE:
        snprintf(buf, len, "%s/s", ps_units_fmt_count(v, tmp, sizeof tmp));
        return buf;
    case REPORT_HTML_COUNT:
    default:
        return ps_units_fmt_count(v, buf, len);
    }
}

/* 1, 2 or 5 times a power of ten, so that range fits in about n steps. */
static double report_html_step(double range, int n)
{
    if (!(range > 0))
        return 1;
    double raw = range / n, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

struct report_html_map {
    double x0, x1, y0, y1;
};

static double report_html_px(const struct report_html_map *m, double x)
{
    return RH_L + (x - m->x0) / (m->x1 - m->x0) * RH_PW;
}

static double report_html_py(const struct report_html_map *m, double y)
{
    return RH_T + RH_PH - (y - m->y0) / (m->y1 - m->y0) * RH_PH;
}

/* Axes, grid lines every ystep, and tick labels. */
static void report_html_axes(FILE *o, const struct report_html_map *m, enum report_html_unit yu,
                             enum report_html_unit xu, double ystep, const char *xlabel)
{
    char buf[48];
    for (double y = m->y0; y <= m->y1 + ystep * 1e-9; y += ystep) {
        double py = report_html_py(m, y);
        fprintf(o, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", RH_L,
                py, RH_L + RH_PW, py);
        fprintf(o, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
                RH_L - 6, py + 4, report_html_fmt(yu, y, buf, sizeof buf));
    }
    double xstep = report_html_step(m->x1 - m->x0, 8);
    for (double x = ceil(m->x0 / xstep) * xstep; x <= m->x1 + xstep * 1e-9; x += xstep) {
        double px = report_html_px(m, x);
        fprintf(o, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", px,
                RH_T + RH_PH, px, RH_T + RH_PH + 4);
        fprintf(o, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
                px, RH_T + RH_PH + 16, report_html_fmt(xu, x, buf, sizeof buf));
    }
    fprintf(o, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", RH_L,
            RH_T + RH_PH, RH_L + RH_PW, RH_T + RH_PH);
    fprintf(o, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", RH_L, RH_T,
            RH_L, RH_T + RH_PH);
    if (xlabel) {
        fprintf(o, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", RH_L + RH_PW,
                RH_H - 2);
        report_html_esc(o, xlabel);
        fputs("</text>", o);
    }
}

static void report_html_phase_marks(FILE *o, const struct report_html_map *m,
                                    const struct report_run *r)
{
    for (size_t i = 0; i < r->n_phases; i++) {
        double x = report_data_rel_s(r, r->phases[i].started_us);
        if (!r->phases[i].started_us || x < m->x0 || x > m->x1)
            continue;
        double px = report_html_px(m, x);
        fprintf(o, "<line class=\"phase\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", px,
                RH_T, px, RH_T + RH_PH);
        fprintf(o, "<text class=\"phasel\" x=\"%.1f\" y=\"%.1f\">%u ", px + 3, RH_T + 9,
                r->phases[i].idx);
        report_html_esc(o, r->phases[i].kind);
        fputs("</text>", o);
    }
}

/* The series as one polyline; past one point per pixel column, each column
 * keeps its extremes in the order they came. */
static void report_html_polyline(FILE *o, const struct report_html_map *m,
                                 const struct report_html_series *s)
{
    const struct report_html_xy *xy = s->xy;
    fprintf(o, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s points=\"",
            s->color, s->dashed ? " stroke-dasharray=\"6 4\"" : "");
    long col = LONG_MIN;
    size_t lo = 0, hi = 0;
    int have = 0;
    for (size_t i = 0; i <= xy->n; i++) {
        int valid = i < xy->n && isfinite(xy->x[i]) && isfinite(xy->y[i]);
        long c = valid ? lround(report_html_px(m, xy->x[i]) * 2) : LONG_MIN;
        if (have && (i == xy->n || (valid && c != col))) {
            size_t a = lo < hi ? lo : hi, b = lo < hi ? hi : lo;
            fprintf(o, "%.1f,%.1f ", report_html_px(m, xy->x[a]), report_html_py(m, xy->y[a]));
            if (b != a)
                fprintf(o, "%.1f,%.1f ", report_html_px(m, xy->x[b]), report_html_py(m, xy->y[b]));
            have = 0;
        }
        if (!valid)
            continue;
        if (!have) {
            col = c;
            lo = hi = i;
            have = 1;
        } else {
            if (xy->y[i] < xy->y[lo])
                lo = i;
            if (xy->y[i] > xy->y[hi])
                hi = i;
        }
    }
    fputs("\"/>", o);
    if (s->dots)
        for (size_t i = 0; i < xy->n; i++)
            if (isfinite(xy->x[i]) && isfinite(xy->y[i]))
                fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>",
                        report_html_px(m, xy->x[i]), report_html_py(m, xy->y[i]), s->color);
}

static void report_html_legend(FILE *o, const struct report_html_series *s, size_t n)
{
    fputs("<div class=\"legend\">", o);
    for (size_t i = 0; i < n; i++) {
        if (!s[i].xy->n)
            continue;
        fprintf(o, "<span><i style=\"background:%s\"></i>", s[i].color);
        report_html_esc(o, s[i].name);
        fputs("</span>", o);
    }
    fputs("</div>\n", o);
}

static void report_html_title(FILE *o, const char *title, const char *note)
{
    fputs("<h3>", o);
    report_html_esc(o, title);
    fputs("</h3>\n", o);
    if (note) {
        fputs("<p class=\"note\">", o);
        report_html_esc(o, note);
        fputs("</p>\n", o);
    }
}

static void report_html_empty(FILE *o, const char *what)
{
    fputs("<p class=\"empty\">", o);
    report_html_esc(o, what);
    fputs("</p>\n", o);
}

/* A line chart of the series; a sentence instead when none has a point. */
static void report_html_line_chart(FILE *o, const struct report_html_chart *c,
                                   const struct report_html_series *s, size_t n)
{
    struct report_html_map m = {INFINITY, -INFINITY, 0, -INFINITY};
    size_t points = 0;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < s[k].xy->n; i++) {
            double x = s[k].xy->x[i], y = s[k].xy->y[i];
            if (!isfinite(x) || !isfinite(y))
                continue;
            points++;
            m.x0 = fmin(m.x0, x);
            m.x1 = fmax(m.x1, x);
            m.y0 = fmin(m.y0, y);
            m.y1 = fmax(m.y1, y);
        }
    report_html_title(o, c->title, c->note);
    if (!points) {
        report_html_empty(o, "nothing recorded for this run");
        return;
    }
    if (c->x_from_zero)
        m.x0 = fmin(m.x0, 0);
    if (m.x1 <= m.x0) {
        m.x0 -= 1;
        m.x1 += 1;
    }
    if (m.y1 <= m.y0)
        m.y1 = m.y0 + 1;
    double ymax = m.y1, ystep = report_html_step((m.y1 - m.y0) * 1.05, 5);
    m.y0 = floor(m.y0 / ystep) * ystep;
    m.y1 = ceil(m.y1 * 1.05 / ystep) * ystep;
    /* Shares never exceed 100%: no headroom above it. */
    if (c->unit == REPORT_HTML_PCT && ymax <= 100 && m.y1 > 100)
        m.y1 = 100;
    fprintf(o, "<svg id=\"%s\" class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
               "xmlns=\"http://www.w3.org/2000/svg\" aria-label=\"", c->id, RH_W, RH_H);
    report_html_esc(o, c->title);
    fputs("\">", o);
    report_html_axes(o, &m, c->unit, REPORT_HTML_SECONDS, ystep, c->xlabel);
    if (c->run)
        report_html_phase_marks(o, &m, c->run);
    for (size_t k = 0; k < n; k++)
        if (s[k].xy->n)
            report_html_polyline(o, &m, &s[k]);
    fputs("</svg>\n", o);
    report_html_legend(o, s, n);
}

/* ---------- data for the charts ---------- */

/* Rows (wall-clock second, y1, y2...) as series out[0], out[1]... with x in
 * seconds since the run's start. */
static int report_html_query_series(struct store *s, const struct report_run *r,
                                    enum report_query q, struct report_html_xy *out, char *err,
                                    size_t errlen)
{
    struct report_rows rows;
    if (report_data_rows(s, q, r->id, &rows, err, errlen))
        return -1;
    int rc = 0;
    for (size_t i = 0; i < rows.n && !rc; i++) {
        double x = report_data_rel_s(r, (int64_t)REPORT_ROW(&rows, i, 0) * 1000000);
        for (int c = 1; c < rows.ncols && !rc; c++)
            rc = report_html_xy_add(&out[c - 1], x, REPORT_ROW(&rows, i, c));
    }
    report_data_rows_free(&rows);
    if (rc)
        snprintf(err, errlen, "out of memory");
    return rc;
}

/* The plan's ramps drawn against the run's phase times: from the level before
 * each ramp to its target at its rate. Without a parsable stored plan, a flat
 * line at the run's target. Other phase kinds do not change the planned level. */
static int report_html_plan_curve(const struct report_run *r, double x_end,
                                  struct report_html_xy *out)
{
    struct plan *p = calloc(1, sizeof *p);
    char perr[PLAN_ERR_MAX];
    int rc = 0, matched = 0;
    if (!p)
        return -1;
    if (r->plan_text[0] &&
        plan_parse(r->plan_path, r->plan_text, strlen(r->plan_text), p, perr, sizeof perr) == 0) {
        double level = 0;
        rc |= report_html_xy_add(out, 0, 0);
        for (size_t i = 0; i < r->n_phases; i++) {
            const struct report_phase *ph = &r->phases[i];
            if (ph->idx < 1 || ph->idx > p->n_phases || !ph->started_us)
                continue;
            const struct plan_phase *pp = &p->phases[ph->idx - 1];
            if (pp->kind != PLAN_PHASE_RAMP || !(pp->u.ramp.rate > 0))
                continue;
            double t0 = report_data_rel_s(r, ph->started_us), to = (double)pp->u.ramp.to;
            rc |= report_html_xy_add(out, t0, level);
            rc |= report_html_xy_add(out, t0 + fabs(to - level) / pp->u.ramp.rate, to);
            level = to;
            matched = 1;
        }
        if (matched)
            rc |= report_html_xy_add(out, fmax(x_end, out->x[out->n - 1]), level);
    }
    if (!matched) {
        out->n = 0;
        if (r->target_conns > 0) {
            rc |= report_html_xy_add(out, 0, (double)r->target_conns);
            rc |= report_html_xy_add(out, x_end, (double)r->target_conns);
        }
    }
    free(p);
    return rc ? -1 : 0;
}

static double report_html_run_span(const struct report_run *r)
{
    return r->ended_us > r->started_us ? report_data_rel_s(r, r->ended_us) : 0;
}

static int report_html_connections(FILE *o, struct store *s, const struct report_run *r, char *err,
                                   size_t errlen)
{
    struct report_html_xy agents = {0}, ctl = {0}, plan = {0};
    int rc = report_html_query_series(s, r, REPORT_Q_CONNECTED, &agents, err, errlen);
    if (!rc)
        rc = report_html_query_series(s, r, REPORT_Q_CTL_CONNECTED, &ctl, err, errlen);
    double x_end = report_html_run_span(r);
    if (agents.n)
        x_end = fmax(x_end, agents.x[agents.n - 1]);
    if (!rc && (agents.n || ctl.n) && report_html_plan_curve(r, x_end, &plan)) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    if (!rc) {
        const struct report_html_series sr[] = {
            {"connected (sum over agents)", report_html_colors[0], &agents, 0, 0},
            {"connected (controller ledger)", report_html_colors[2], &ctl, 0, 0},
            {"plan", report_html_colors[7], &plan, 1, 0},
        };
        const struct report_html_chart c = {"chart-connections", "Connections over time",
                                            "open connections each second; dashed: the plan's ramps",
                                            REPORT_HTML_COUNT, r, "seconds since start", 0};
        report_html_line_chart(o, &c, sr, 3);
    }
    report_html_xy_free(&agents);
    report_html_xy_free(&ctl);
    report_html_xy_free(&plan);
    return rc;
}

/* Opened, failed and closed per second, from the agents' counters. */
static int report_html_connect_rate(FILE *o, struct store *s, const struct report_run *r,
                                    char *err, size_t errlen)
{
    struct report_html_xy xy[3] = {{0}};
    int rc = report_html_query_series(s, r, REPORT_Q_RATES, xy, err, errlen);
    const char *note = "handshakes completed, connect failures and closes per second, from the agents";
    if (!rc && !xy[0].n) {
        /* No agent samples: the controller's ledger totals are the next best view. */
        rc = report_html_query_series(s, r, REPORT_Q_CTL_RATES, xy, err, errlen);
        note = "handshakes completed, connect failures and closes per second, from the controller";
    }
    if (!rc) {
        const struct report_html_series sr[] = {
            {"opened/s", report_html_colors[0], &xy[0], 0, 0},
            {"failed/s", report_html_colors[1], &xy[1], 0, 0},
            {"closed/s", report_html_colors[3], &xy[2], 0, 0},
        };
        const struct report_html_chart c = {"chart-connect-rate", "Connect rate", note,
                                            REPORT_HTML_RATE, r, "seconds since start", 0};
        report_html_line_chart(o, &c, sr, 3);
    }
    for (int i = 0; i < 3; i++)
        report_html_xy_free(&xy[i]);
    return rc;
}

/* Horizontal bars, one per (event, reason), largest first. */
static int report_html_failures(FILE *o, struct store *s, const struct report_run *r, char *err,
                                size_t errlen)
{
    struct report_end *ends;
    size_t n;
    if (report_data_ends(s, r->id, &ends, &n, err, errlen))
        return -1;
    struct {
        char label[96];
        int failed;
        double n;
    } bars[24];
    size_t nb = 0;
    for (; nb < n && nb < 24; nb++) {
        snprintf(bars[nb].label, sizeof bars[nb].label, "%.40s: %.40s", ends[nb].event,
                 ends[nb].reason);
        bars[nb].failed = ends[nb].type == PS_EV_FAILED;
        bars[nb].n = (double)ends[nb].n;
    }
    free(ends);
    report_html_title(o, "Failures and closes by reason",
                      "connection events of the run: failed = never connected, closed = dropped after connecting");
    if (!nb) {
        report_html_empty(o, "no connection failed or closed");
        return 0;
    }
    const double row = 22, left = 260, width = RH_W - left - 80;
    double h = row * (double)nb + 10;
    fprintf(o, "<svg id=\"chart-failures\" class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
               "xmlns=\"http://www.w3.org/2000/svg\" aria-label=\"failures by reason\">", RH_W, h);
    for (size_t i = 0; i < nb; i++) {
        double y = 5 + row * (double)i, w = width * bars[i].n / bars[0].n;
        char num[32];
        fprintf(o, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", left - 8,
                y + 15);
        report_html_esc(o, bars[i].label);
        fprintf(o, "</text><rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                   "fill=\"%s\"/><text class=\"tick\" x=\"%.1f\" y=\"%.1f\">%s</text>",
                left, y + 2, fmax(w, 1), row - 6, bars[i].failed ? "#d62728" : "#ff7f0e",
                left + fmax(w, 1) + 6, y + 15, ps_units_fmt_count(bars[i].n, num, sizeof num));
    }
    fputs("</svg>\n", o);
    return 0;
}

static int report_html_latency(FILE *o, const struct report_run *r, const struct report_latency *l)
{
    struct report_html_xy xy[3] = {{0}};
    int rc = 0;
    for (size_t b = 0; b < l->n && !rc; b++) {
        if (!l->per[b])
            continue;
        double x = ((double)b + 0.5) * (double)l->bucket_s;
        rc |= report_html_xy_add(&xy[0], x, (double)ps_hist_quantile(l->per[b], 0.5));
        rc |= report_html_xy_add(&xy[1], x, (double)ps_hist_quantile(l->per[b], 0.99));
        rc |= report_html_xy_add(&xy[2], x, (double)l->per[b]->max);
    }
    if (!rc) {
        char note[128];
        snprintf(note, sizeof note,
                 "delivery latency of the messages sent in each %llds, by send time; duplicates left out",
                 (long long)l->bucket_s);
        const struct report_html_series sr[] = {
            {"p50", report_html_colors[0], &xy[0], 0, 0},
            {"p99", report_html_colors[1], &xy[1], 0, 0},
            {"max", report_html_colors[7], &xy[2], 1, 0},
        };
        const struct report_html_chart c = {"chart-latency", "Push latency over time", note,
                                            REPORT_HTML_US, r, "seconds since start", 0};
        report_html_line_chart(o, &c, sr, 3);
    }
    for (int i = 0; i < 3; i++)
        report_html_xy_free(&xy[i]);
    return rc;
}

/* Counts in logarithmic latency bins between the fastest and slowest delivery. */
static void report_html_histogram(FILE *o, const struct ps_hist *h)
{
    enum { NBINS = 48 };
    report_html_title(o, "Push latency histogram",
                      "deliveries per latency bin (logarithmic), whole run");
    if (!h->count) {
        report_html_empty(o, "no message was delivered");
        return;
    }
    double lo = fmax(1, (double)h->min) * 0.98, hi = fmax((double)h->max * 1.02, lo * 2);
    double llo = log10(lo), lhi = log10(hi), bins[NBINS] = {0}, top = 0;
    for (uint32_t b = 0; b < PS_HIST_BUCKETS; b++) {
        if (!h->buckets[b])
            continue;
        double v = ((double)ps_hist_bucket_low(b) + (double)ps_hist_bucket_high(b)) / 2;
        int k = (int)((log10(fmax(v, lo)) - llo) / (lhi - llo) * NBINS);
        k = k < 0 ? 0 : k >= NBINS ? NBINS - 1 : k;
        bins[k] += h->buckets[b];
    }
    for (int k = 0; k < NBINS; k++)
        top = fmax(top, bins[k]);
    double ystep = report_html_step(top * 1.05, 5);
    struct report_html_map m = {llo, lhi, 0, ceil(top * 1.05 / ystep) * ystep};
    char buf[48];
    fprintf(o, "<svg id=\"chart-histogram\" class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
               "xmlns=\"http://www.w3.org/2000/svg\" aria-label=\"latency histogram\">", RH_W, RH_H);
    for (double y = 0; y <= m.y1 + ystep * 1e-9; y += ystep) {
        double py = report_html_py(&m, y);
        fprintf(o, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                   "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
                RH_L, py, RH_L + RH_PW, py, RH_L - 6, py + 4,
                ps_units_fmt_count(y, buf, sizeof buf));
    }
    /* Ticks at 1, 2 and 5 of each decade inside the range. */
    for (double d = pow(10, floor(llo)); d <= hi; d *= 10)
        for (int f = 1; f <= 5; f += (f == 1 ? 1 : 3)) {
            double v = d * f;
            if (v < lo || v > hi)
                continue;
            double px = report_html_px(&m, log10(v));
            fprintf(o, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                       "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
                    px, RH_T + RH_PH, px, RH_T + RH_PH + 4, px, RH_T + RH_PH + 16,
                    ps_units_fmt_duration((int64_t)v, buf, sizeof buf));
        }
    for (int k = 0; k < NBINS; k++) {
        if (!bins[k])
            continue;
        double x0 = report_html_px(&m, llo + (lhi - llo) * k / NBINS);
        double x1 = report_html_px(&m, llo + (lhi - llo) * (k + 1) / NBINS);
        double y = report_html_py(&m, bins[k]);
        fprintf(o, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                   "fill=\"%s\"><title>%.0f</title></rect>",
                x0, y, fmax(x1 - x0 - 1, 1), RH_T + RH_PH - y, report_html_colors[0], bins[k]);
    }
    fprintf(o, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
               "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">latency</text></svg>\n",
            RH_L, RH_T + RH_PH, RH_L + RH_PW, RH_T + RH_PH, RH_L + RH_PW, RH_H - 2);
}

/* From the figures phaseN_reconnect_{p50,p90,p99,p100}_s the run stores after a
 * disconnect or exec phase: when 50/90/99/100% of the connections up before the
 * fault were back. One series per phase. */
static int report_html_reconnect(FILE *o, const struct report_run *r)
{
    static const struct { const char *suffix; double pct; } marks[] = {
        {"p50", 50}, {"p90", 90}, {"p99", 99}, {"p100", 100}};
    struct report_html_xy xy[RH_NCOLORS] = {{0}};
    char names[RH_NCOLORS][64];
    struct report_html_series sr[RH_NCOLORS];
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < r->n_phases && n < RH_NCOLORS && !rc; i++) {
        for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++) {
            char fig[64];
            double v;
            snprintf(fig, sizeof fig, "phase%u_reconnect_%s_s", r->phases[i].idx, marks[k].suffix);
            if (report_data_fig(r, fig, &v))
                rc |= report_html_xy_add(&xy[n], v, marks[k].pct);
        }
        if (!xy[n].n)
            continue;
        snprintf(names[n], sizeof names[n], "phase %u (%.40s)", r->phases[i].idx, r->phases[i].kind);
        sr[n] = (struct report_html_series){names[n], report_html_colors[n], &xy[n], 0, 1};
        n++;
    }
    if (!rc) {
        const struct report_html_chart c = {
            "chart-reconnect", "Reconnection after fault phases",
            "share of the connections up before the fault that were back, by seconds after it",
            REPORT_HTML_PCT, NULL, "seconds after the fault", 1};
        if (n)
            report_html_line_chart(o, &c, sr, n);
        else {
            report_html_title(o, c.title, c.note);
            report_html_empty(o, "no fault phase in this run (no reconnection figures)");
        }
    }
    for (size_t i = 0; i < RH_NCOLORS; i++)
        report_html_xy_free(&xy[i]);
    return rc;
}

/* monitor_samples, written by monitor agents (pushstorm-agent --monitor): each
 * numeric column a chart, one series per agent, time from its wall second. */
static int report_html_monitor(FILE *o, struct store *s, const struct report_run *r, char *err,
                               size_t errlen)
{
    if (!report_data_has_monitor(s, r->id))
        return 0;
    fputs("<section id=\"server\"><h2>Server metrics</h2>\n", o);
    int rc = 0;
    for (size_t c = 0; c < REPORT_DATA_MONITOR_COLS && !rc; c++) {
        struct report_rows rows;
        if (report_data_monitor_rows(s, r->id, c, &rows, err, errlen)) {
            rc = -1;
            break;
        }
        struct report_html_xy xy[RH_MON_MAX_SERIES] = {{0}};
        char names[RH_MON_MAX_SERIES][80];
        struct report_html_series sr[RH_MON_MAX_SERIES];
        size_t ns = 0;
        double key = NAN;
        for (size_t i = 0; i < rows.n && !rc; i++) {
            if (REPORT_ROW(&rows, i, 0) != key) {
                if (ns == RH_MON_MAX_SERIES)
                    break;
                key = REPORT_ROW(&rows, i, 0);
                const char *aname = NULL;
                for (size_t a = 0; a < r->n_agents; a++)
                    if ((double)r->agents[a].id == key)
                        aname = r->agents[a].name;
                snprintf(names[ns], sizeof names[ns], "agent %.0f%s%.60s%s", key, aname ? " (" : "",
                         aname ? aname : "", aname ? ")" : "");
                sr[ns] = (struct report_html_series){names[ns], report_html_colors[ns % RH_NCOLORS],
                                                     &xy[ns], 0, 0};
                ns++;
            }
            double x = report_data_rel_s(r, (int64_t)REPORT_ROW(&rows, i, 1) * 1000000);
            rc = report_html_xy_add(&xy[ns - 1], x, REPORT_ROW(&rows, i, 2));
        }
        report_data_rows_free(&rows);
        if (rc)
            snprintf(err, errlen, "out of memory");
        else if (ns) {
            const char *name = report_data_monitor_col(c);
            size_t len = strlen(name);
            enum report_html_unit u =
                len > 6 && !strcmp(name + len - 6, "_bytes") ? REPORT_HTML_BYTES
                : len > 4 && !strcmp(name + len - 4, "_pct") ? REPORT_HTML_PCT
                : len > 3 && !strcmp(name + len - 3, "_us")  ? REPORT_HTML_US
                                                             : REPORT_HTML_COUNT;
            char id[96];
            snprintf(id, sizeof id, "chart-server-%zu", c);
            const struct report_html_chart ch = {id, name, NULL, u, r, "seconds since start", 0};
            report_html_line_chart(o, &ch, sr, ns);
        }
        for (size_t i = 0; i < RH_MON_MAX_SERIES; i++)
            report_html_xy_free(&xy[i]);
    }
    fputs("</section>\n", o);
    return rc;
}

/* ---------- tables and page ---------- */

static void report_html_css(FILE *o)
{
    fputs("<style>\n"
          "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
          "margin:24px auto;max-width:1000px;color:#222;background:#fff;padding:0 12px}\n"
          "h1{font-size:1.5em;margin:0 0 4px}h2{font-size:1.2em;border-bottom:1px solid #ddd;"
          "padding-bottom:4px;margin-top:32px}h3{font-size:1em;margin:24px 0 2px}\n"
          ".badge{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:600}\n"
          ".pass{background:#2e7d32}.fail,.failed{background:#c62828}.running{background:#757575}\n"
          "td.pass{color:#2e7d32;background:none;font-weight:600}"
          "td.fail{color:#c62828;background:none;font-weight:600}\n"
          "table{border-collapse:collapse;margin:8px 0;font-size:.9em}"
          "th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}"
          "td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f5f5f5}\n"
          ".figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:8px}\n"
          ".fig{border:1px solid #ddd;border-radius:4px;padding:6px 10px}"
          ".fig b{display:block;font-size:1.25em}.fig span{color:#666;font-size:.85em}\n"
          "svg.chart{width:100%;height:auto;max-width:760px;display:block}\n"
          "svg .grid{stroke:#eee}svg .axis{stroke:#999}svg .phase{stroke:#bbb;stroke-dasharray:3 3}\n"
          "svg text{font-size:11px;fill:#555}svg .phasel{font-size:10px;fill:#888}\n"
          ".legend span{margin-right:14px;font-size:.85em}"
          ".legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}\n"
          ".note,.empty{color:#666;font-size:.85em;margin:2px 0 6px}.empty{font-style:italic}\n"
          "</style>\n",
          o);
}

static void report_html_fig(FILE *o, const char *label, const char *value)
{
    fputs("<div class=\"fig\"><b>", o);
    report_html_esc(o, value);
    fputs("</b><span>", o);
    report_html_esc(o, label);
    fputs("</span></div>", o);
}

static const char *report_html_figv(const struct report_run *r, const char *name,
                                    enum report_html_unit u, char *buf, size_t len)
{
    double v;
    if (!report_data_fig(r, name, &v))
        return "-";
    return report_html_fmt(u, v, buf, len);
}

static void report_html_header(FILE *o, const struct report_run *r)
{
    char when[64] = "-", dur[32] = "-", a[48], b[48], c[48];
    time_t t = (time_t)(r->started_us / 1000000);
    struct tm tm;
    if (r->started_us && gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    if (r->ended_us > r->started_us)
        ps_units_fmt_duration(r->ended_us - r->started_us, dur, sizeof dur);
    fprintf(o, "<h1>pushstorm run %u: ", r->id);
    report_html_esc(o, r->name);
    fprintf(o, " <span class=\"badge %s\">", r->status);
    report_html_esc(o, r->status);
    fputs("</span></h1>\n<p>started ", o);
    report_html_esc(o, when);
    fprintf(o, ", ran %s, plan <code>", dur);
    report_html_esc(o, r->plan_path);
    fputs("</code>", o);
    if (r->exit_code >= 0)
        fprintf(o, ", exit status %d", r->exit_code);
    fputs("</p>\n", o);
    if (r->reason[0]) {
        fputs("<p><b>Why it could not be carried out:</b> ", o);
        report_html_esc(o, r->reason);
        fputs("</p>\n", o);
    }
    fputs("<div class=\"figs\">", o);
    double opened = 0, target = 0, exp = 0, del = 0;
    int ho = report_data_fig(r, "conn_opened", &opened), ht = report_data_fig(r, "conn_target", &target);
    snprintf(a, sizeof a, "%s / %s", ho ? ps_units_fmt_count(opened, b, sizeof b) : "-",
             ht ? ps_units_fmt_count(target, c, sizeof c) : "-");
    report_html_fig(o, "connections opened / target", a);
    double cs;
    if (report_data_fig(r, "connect_success", &cs))
        snprintf(a, sizeof a, "%.3f%%", cs * 100);
    else
        snprintf(a, sizeof a, "-");
    report_html_fig(o, "connect success", a);
    report_html_fig(o, "handshake p50", report_html_figv(r, "handshake_p50_us", REPORT_HTML_US, a, sizeof a));
    report_html_fig(o, "handshake p99", report_html_figv(r, "handshake_p99_us", REPORT_HTML_US, a, sizeof a));
    report_html_fig(o, "pushes sent", report_html_figv(r, "pushes_sent", REPORT_HTML_COUNT, a, sizeof a));
    if (report_data_fig(r, "push_expected", &exp) && report_data_fig(r, "push_delivered", &del))
        snprintf(a, sizeof a, "%.0f / %.0f", del, exp);
    else
        snprintf(a, sizeof a, "-");
    report_html_fig(o, "delivered / expected", a);
    report_html_fig(o, "lost", report_html_figv(r, "push_lost", REPORT_HTML_COUNT, a, sizeof a));
    report_html_fig(o, "missed offline", report_html_figv(r, "push_missed_offline", REPORT_HTML_COUNT, a, sizeof a));
    report_html_fig(o, "latency p50", report_html_figv(r, "push_latency_p50_us", REPORT_HTML_US, a, sizeof a));
    report_html_fig(o, "latency p99", report_html_figv(r, "push_latency_p99_us", REPORT_HTML_US, a, sizeof a));
    report_html_fig(o, "latency max", report_html_figv(r, "push_latency_max_us", REPORT_HTML_US, a, sizeof a));
    report_html_fig(o, "duplicates", report_html_figv(r, "push_duplicates", REPORT_HTML_COUNT, a, sizeof a));
    fputs("</div>\n", o);
}

static void report_html_thresholds(FILE *o, const struct report_run *r)
{
    fputs("<section id=\"thresholds\"><h2>Thresholds</h2>\n", o);
    if (!r->n_thr) {
        report_html_empty(o, "the plan sets no thresholds");
        fputs("</section>\n", o);
        return;
    }
    fputs("<table><tr><th>threshold</th><th>required</th><th>measured</th><th>verdict</th></tr>\n", o);
    for (size_t i = 0; i < r->n_thr; i++) {
        char v[48];
        fputs("<tr><td>", o);
        report_html_esc(o, r->thr[i].name);
        fputs("</td><td>", o);
        report_html_esc(o, r->thr[i].expr);
        fprintf(o, "</td><td class=\"n\">%s</td><td class=\"%s\">%s</td></tr>\n",
                report_data_fmt_measured(r->thr[i].name, r->thr[i].measured, v, sizeof v),
                r->thr[i].pass ? "pass" : "fail", r->thr[i].pass ? "PASS" : "FAIL");
    }
    fputs("</table></section>\n", o);
}

static void report_html_agents(FILE *o, const struct report_run *r)
{
    fputs("<section id=\"agents\"><h2>Agents</h2>\n", o);
    if (!r->n_agents) {
        report_html_empty(o, "no agent joined this run");
        fputs("</section>\n", o);
        return;
    }
    fputs("<p class=\"note\">clock offset = controller clock minus agent clock; error bound = half the "
          "best round trip (the latencies of that agent's connections are exact to within it); lost = "
          "messages an agent's connection never got while it stayed connected.</p>\n", o);
    fputs("<table><tr><th>id</th><th>name</th><th>host</th><th>connections</th><th>clock offset</th>"
          "<th>error bound</th><th>start skew</th><th>max loop lag</th><th>lost</th>"
          "<th>missed offline</th><th>agent lost</th><th>left at</th><th>refused</th></tr>\n", o);
    for (size_t i = 0; i < r->n_agents; i++) {
        const struct report_agent *a = &r->agents[i];
        char off[32], errb[32], skew[32], lag[32], left[32] = "-";
        if (a->lost_us)
            ps_units_fmt_duration(a->lost_us - r->started_us, left, sizeof left);
        fprintf(o, "<tr><td class=\"n\">%u</td><td>", a->id);
        report_html_esc(o, a->name);
        fputs("</td><td>", o);
        report_html_esc(o, a->host);
        if (a->monitor)
            fputs("</td><td>monitor", o);
        else
            fprintf(o, "</td><td class=\"n\">%lld&ndash;%lld", (long long)a->conn_first,
                    (long long)(a->conn_first + a->conn_count - (a->conn_count > 0)));
        fprintf(o, "</td><td class=\"n\">%s</td><td class=\"n\">&plusmn;%s</td><td class=\"n\">%s</td>"
                   "<td class=\"n\">%s</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>"
                   "<td class=\"n\">%lld</td><td>%s</td><td>",
                ps_units_fmt_duration(a->offset_us, off, sizeof off),
                ps_units_fmt_duration(a->offset_err_us, errb, sizeof errb),
                ps_units_fmt_duration(a->start_skew_us, skew, sizeof skew),
                ps_units_fmt_duration(a->lag_max_us, lag, sizeof lag), (long long)a->lost,
                (long long)a->missed_offline, (long long)a->agent_lost, left);
        report_html_esc(o, a->refused);
        fputs("</td></tr>\n", o);
    }
    fputs("</table></section>\n", o);
}

static void report_html_phases(FILE *o, const struct report_run *r)
{
    fputs("<section id=\"phases\"><h2>Phases</h2>\n", o);
    if (!r->n_phases) {
        report_html_empty(o, "no phase started");
        fputs("</section>\n", o);
        return;
    }
    fputs("<table><tr><th>#</th><th>kind</th><th>plan line</th><th>started</th><th>took</th>"
          "<th>note</th></tr>\n", o);
    for (size_t i = 0; i < r->n_phases; i++) {
        const struct report_phase *p = &r->phases[i];
        char at[32], took[32] = "-";
        ps_units_fmt_duration(p->started_us - r->started_us, at, sizeof at);
        if (p->ended_us > p->started_us)
            ps_units_fmt_duration(p->ended_us - p->started_us, took, sizeof took);
        fprintf(o, "<tr><td class=\"n\">%u</td><td>", p->idx);
        report_html_esc(o, p->kind);
        fprintf(o, "</td><td class=\"n\">%d</td><td class=\"n\">+%s</td><td class=\"n\">%s</td><td>",
                p->line, at, took);
        report_html_esc(o, p->note);
        fputs("</td></tr>\n", o);
    }
    fputs("</table></section>\n", o);
}

int report_html_write(struct store *s, const struct report_run *r, FILE *o, char *err,
                      size_t errlen)
{
    struct report_latency lat;
    if (report_data_latency(s, r, &lat, err, errlen))
        return -1;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>pushstorm run ",
          o);
    fprintf(o, "%u: ", r->id);
    report_html_esc(o, r->name);
    fputs("</title>\n", o);
    report_html_css(o);
    fputs("</head><body>\n", o);
    report_html_header(o, r);
    report_html_thresholds(o, r);
    int rc = 0;
    fputs("<section id=\"connections\"><h2>Connections</h2>\n", o);
    rc = report_html_connections(o, s, r, err, errlen);
    if (!rc)
        rc = report_html_connect_rate(o, s, r, err, errlen);
    if (!rc)
        rc = report_html_failures(o, s, r, err, errlen);
    if (!rc)
        rc = report_html_reconnect(o, r);
    fputs("</section>\n<section id=\"pushes\"><h2>Pushes</h2>\n", o);
    if (!rc && (rc = report_html_latency(o, r, &lat)) != 0)
        snprintf(err, errlen, "out of memory");
    if (!rc)
        report_html_histogram(o, &lat.total);
    fputs("</section>\n", o);
    if (!rc)
        rc = report_html_monitor(o, s, r, err, errlen);
    if (!rc) {
        report_html_agents(o, r);
        report_html_phases(o, r);
        fprintf(o, "<p class=\"note\">pushstorm %s; times are seconds since the run started; "
                   "every figure is read back from the results database.</p>\n</body></html>\n",
                PS_VERSION_STRING);
    }
    report_data_latency_free(&lat);
    if (!rc && ferror(o)) {
        snprintf(err, errlen, "write failed");
        rc = -1;
    }
    return rc;
}
