/* report_chart: the SVG charts of the HTML report, drawn as text.
 *
 * Charts are laid out in a fixed viewBox; line charts map each series into it
 * and, when a series has more points than the chart has pixel columns, keep
 * each column's lowest and highest point (a spike stays visible, the file stays
 * small). Time axes are seconds since the run started, with the run's phases
 * drawn as labelled vertical lines so a drop can be matched to the disconnect
 * or fault that caused it. What a chart shows and where it goes on the page is
 * report_html.c's business; this file only draws. */
#include "report_chart.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

const char *const report_chart_colors[REPORT_CHART_NCOLORS] = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

int report_chart_xy_add(struct report_chart_xy *s, double x, double y)
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

void report_chart_xy_free(struct report_chart_xy *s)
{
    free(s->x);
    free(s->y);
    memset(s, 0, sizeof *s);
}

void report_chart_esc(FILE *o, const char *t)
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

char *report_chart_fmt(enum report_chart_unit u, double v, char *buf, size_t len)
{
    char tmp[32];
    switch (u) {
    case REPORT_CHART_US:
        return ps_units_fmt_duration((int64_t)llround(v), buf, len);
    case REPORT_CHART_SECONDS:
        return ps_units_fmt_duration((int64_t)llround(v * 1e6), buf, len);
    case REPORT_CHART_PCT:
        snprintf(buf, len, "%g%%", v);
        return buf;
    case REPORT_CHART_BYTES: {
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        int k = 0;
        while (fabs(v) >= 1024 && k < 4) {
            v /= 1024;
            k++;
        }
        snprintf(buf, len, "%.3g %s", v, units[k]);
        return buf;
    }
    case REPORT_CHART_RATE:
        snprintf(buf, len, "%s/s", ps_units_fmt_count(v, tmp, sizeof tmp));
        return buf;
    case REPORT_CHART_COUNT:
    default:
        return ps_units_fmt_count(v, buf, len);
    }
}

/* <svg id=ID ...> of height h (viewBox units, width RH_W) named label for screen readers. */
static void report_chart_svg_open(FILE *o, const char *id, double h, const char *label)
{
    fprintf(o, "<svg id=\"%s\" class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
               "xmlns=\"http://www.w3.org/2000/svg\" aria-label=\"", id, RH_W, h);
    report_chart_esc(o, label);
    fputs("\">", o);
}

/* 1, 2 or 5 times a power of ten, so that range fits in about n steps. */
static double report_chart_step(double range, int n)
{
    if (!(range > 0))
        return 1;
    double raw = range / n, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

struct report_chart_map {
    double x0, x1, y0, y1;
};

static double report_chart_px(const struct report_chart_map *m, double x)
{
    return RH_L + (x - m->x0) / (m->x1 - m->x0) * RH_PW;
}

static double report_chart_py(const struct report_chart_map *m, double y)
{
    return RH_T + RH_PH - (y - m->y0) / (m->y1 - m->y0) * RH_PH;
}

/* Axes, grid lines every ystep, and tick labels. */
static void report_chart_axes(FILE *o, const struct report_chart_map *m, enum report_chart_unit yu,
                             enum report_chart_unit xu, double ystep, const char *xlabel)
{
    char buf[48];
    for (double y = m->y0; y <= m->y1 + ystep * 1e-9; y += ystep) {
        double py = report_chart_py(m, y);
        fprintf(o, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", RH_L,
                py, RH_L + RH_PW, py);
        fprintf(o, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
                RH_L - 6, py + 4, report_chart_fmt(yu, y, buf, sizeof buf));
    }
    double xstep = report_chart_step(m->x1 - m->x0, 8);
    for (double x = ceil(m->x0 / xstep) * xstep; x <= m->x1 + xstep * 1e-9; x += xstep) {
        double px = report_chart_px(m, x);
        fprintf(o, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", px,
                RH_T + RH_PH, px, RH_T + RH_PH + 4);
        fprintf(o, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
                px, RH_T + RH_PH + 16, report_chart_fmt(xu, x, buf, sizeof buf));
    }
    fprintf(o, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", RH_L,
            RH_T + RH_PH, RH_L + RH_PW, RH_T + RH_PH);
    fprintf(o, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", RH_L, RH_T,
            RH_L, RH_T + RH_PH);
    if (xlabel) {
        fprintf(o, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", RH_L + RH_PW,
                RH_H - 2);
        report_chart_esc(o, xlabel);
        fputs("</text>", o);
    }
}

static void report_chart_phase_marks(FILE *o, const struct report_chart_map *m,
                                    const struct report_run *r)
{
    for (size_t i = 0; i < r->n_phases; i++) {
        double x = report_data_rel_s(r, r->phases[i].started_us);
        if (!r->phases[i].started_us || x < m->x0 || x > m->x1)
            continue;
        double px = report_chart_px(m, x);
        fprintf(o, "<line class=\"phase\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", px,
                RH_T, px, RH_T + RH_PH);
        fprintf(o, "<text class=\"phasel\" x=\"%.1f\" y=\"%.1f\">%u ", px + 3, RH_T + 9,
                r->phases[i].idx);
        report_chart_esc(o, r->phases[i].kind);
        fputs("</text>", o);
    }
}

/* The series as one polyline; past one point per pixel column, each column
 * keeps its extremes in the order they came. */
static void report_chart_polyline(FILE *o, const struct report_chart_map *m,
                                 const struct report_chart_series *s)
{
    const struct report_chart_xy *xy = s->xy;
    fprintf(o, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s points=\"",
            s->color, s->dashed ? " stroke-dasharray=\"6 4\"" : "");
    long col = LONG_MIN;
    size_t lo = 0, hi = 0;
    int have = 0;
    for (size_t i = 0; i <= xy->n; i++) {
        int valid = i < xy->n && isfinite(xy->x[i]) && isfinite(xy->y[i]);
        long c = valid ? lround(report_chart_px(m, xy->x[i]) * 2) : LONG_MIN;
        if (have && (i == xy->n || (valid && c != col))) {
            size_t a = lo < hi ? lo : hi, b = lo < hi ? hi : lo;
            fprintf(o, "%.1f,%.1f ", report_chart_px(m, xy->x[a]), report_chart_py(m, xy->y[a]));
            if (b != a)
                fprintf(o, "%.1f,%.1f ", report_chart_px(m, xy->x[b]), report_chart_py(m, xy->y[b]));
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
                        report_chart_px(m, xy->x[i]), report_chart_py(m, xy->y[i]), s->color);
}

static void report_chart_legend(FILE *o, const struct report_chart_series *s, size_t n)
{
    fputs("<div class=\"legend\">", o);
    for (size_t i = 0; i < n; i++) {
        if (!s[i].xy->n)
            continue;
        fprintf(o, "<span><i style=\"background:%s\"></i>", s[i].color);
        report_chart_esc(o, s[i].name);
        fputs("</span>", o);
    }
    fputs("</div>\n", o);
}

void report_chart_title(FILE *o, const char *title, const char *note)
{
    fputs("<h3>", o);
    report_chart_esc(o, title);
    fputs("</h3>\n", o);
    if (note) {
        fputs("<p class=\"note\">", o);
        report_chart_esc(o, note);
        fputs("</p>\n", o);
    }
}

void report_chart_empty(FILE *o, const char *what)
{
    fputs("<p class=\"empty\">", o);
    report_chart_esc(o, what);
    fputs("</p>\n", o);
}

/* A line chart of the series; a sentence instead when none has a point. */
void report_chart_line(FILE *o, const struct report_chart *c, const struct report_chart_series *s,
                       size_t n)
{
    struct report_chart_map m = {INFINITY, -INFINITY, 0, -INFINITY};
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
    report_chart_title(o, c->title, c->note);
    if (!points) {
        report_chart_empty(o, "nothing recorded for this run");
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
    double ymax = m.y1, ystep = report_chart_step((m.y1 - m.y0) * 1.05, 5);
    m.y0 = floor(m.y0 / ystep) * ystep;
    m.y1 = ceil(m.y1 * 1.05 / ystep) * ystep;
    /* Shares never exceed 100%: no headroom above it. */
    if (c->unit == REPORT_CHART_PCT && ymax <= 100 && m.y1 > 100)
        m.y1 = 100;
    report_chart_svg_open(o, c->id, RH_H, c->title);
    report_chart_axes(o, &m, c->unit, REPORT_CHART_SECONDS, ystep, c->xlabel);
    if (c->run)
        report_chart_phase_marks(o, &m, c->run);
    for (size_t k = 0; k < n; k++)
        if (s[k].xy->n)
            report_chart_polyline(o, &m, &s[k]);
    fputs("</svg>\n", o);
    report_chart_legend(o, s, n);
}

/* Bins of equal width in log10(latency), so both the fast bulk and a slow tail
 * show; each histogram bucket counts in the bin of its midpoint. */
void report_chart_histogram(FILE *o, const char *id, const char *label, const struct ps_hist *h)
{
    enum { NBINS = 48 };
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
    double ystep = report_chart_step(top * 1.05, 5);
    struct report_chart_map m = {llo, lhi, 0, ceil(top * 1.05 / ystep) * ystep};
    char buf[48];
    report_chart_svg_open(o, id, RH_H, label);
    for (double y = 0; y <= m.y1 + ystep * 1e-9; y += ystep) {
        double py = report_chart_py(&m, y);
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
            double px = report_chart_px(&m, log10(v));
            fprintf(o, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                       "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
                    px, RH_T + RH_PH, px, RH_T + RH_PH + 4, px, RH_T + RH_PH + 16,
                    ps_units_fmt_duration((int64_t)v, buf, sizeof buf));
        }
    for (int k = 0; k < NBINS; k++) {
        if (!bins[k])
            continue;
        double x0 = report_chart_px(&m, llo + (lhi - llo) * k / NBINS);
        double x1 = report_chart_px(&m, llo + (lhi - llo) * (k + 1) / NBINS);
        double y = report_chart_py(&m, bins[k]);
        fprintf(o, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                   "fill=\"%s\"><title>%.0f</title></rect>",
                x0, y, fmax(x1 - x0 - 1, 1), RH_T + RH_PH - y, report_chart_colors[0], bins[k]);
    }
    fprintf(o, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
               "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">latency</text></svg>\n",
            RH_L, RH_T + RH_PH, RH_L + RH_PW, RH_T + RH_PH, RH_L + RH_PW, RH_H - 2);
}

/* The value is written after each bar; a bar is at least one unit wide so a
 * count of 1 beside a million stays visible. */
void report_chart_bars(FILE *o, const char *id, const char *label,
                       const struct report_chart_bar *bars, size_t nb)
{
    const double row = 22, left = 260, width = RH_W - left - 80;
    double h = row * (double)nb + 10;
    report_chart_svg_open(o, id, h, label);
    for (size_t i = 0; i < nb; i++) {
        double y = 5 + row * (double)i, w = width * bars[i].n / bars[0].n;
        char num[32];
        fprintf(o, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", left - 8,
                y + 15);
        report_chart_esc(o, bars[i].label);
        fprintf(o, "</text><rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                   "fill=\"%s\"/><text class=\"tick\" x=\"%.1f\" y=\"%.1f\">%s</text>",
                left, y + 2, fmax(w, 1), row - 6, bars[i].color,
                left + fmax(w, 1) + 6, y + 15, ps_units_fmt_count(bars[i].n, num, sizeof num));
    }
    fputs("</svg>\n", o);
}
