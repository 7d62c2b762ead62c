/* test_report.c: the report formats (HTML, JSON, CSV, JUnit) and compare.
 *
 * Each case builds a small results database in memory through store.c's own
 * write functions (the path a real run takes): a run of two agents over ten
 * seconds with connection failures, pushes and deliveries, figures and three
 * thresholds of which push_lost fails. The formats are rendered into memory
 * (open_memstream) or a temporary directory and checked for their content:
 * drawn charts, escaping, one JUnit test case per threshold, CSV rows and
 * quoting, compare's exit code against 5% and 20% slower runs, and that a
 * failed write leaves an existing file as it was. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "compare.h"
#include "report.h"
#include "report_data.h"
#include "store.h"

#define T0 1767225600000000LL /* 2026-01-01 00:00:00 UTC */

static const char PLAN[] =
    "name: unit\n"
    "targets:\n"
    "  - {ws: \"ws://127.0.0.1:9/ws?uid={conn}\", push: \"http://127.0.0.1:9/push?uid={conn}\"}\n"
    "agents: {expect: 2}\n"
    "connections: {total: 40}\n"
    "phases:\n"
    "  - ramp: {to: 40, rate: 10/s}\n"
    "  - push: {count: 20, rate: 10/s}\n"
    "thresholds:\n"
    "  connect_success: \">= 99%\"\n"
    "  push_lost: \"== 0\"\n"
    "  push_latency_p99: \"< 1s\"\n";

struct fixture {
    struct store st;
    uint32_t run;
};

/* Latency of message m in a run whose latencies are scaled by scale. */
static int64_t lat_of(uint32_t m, double scale)
{
    return (int64_t)((1000 + (m * 137) % 4000) * scale);
}

/* One finished run; returns its id. lost: messages lost; scale: latency factor. */
static uint32_t add_run(struct store *st, const char *name, int64_t start, double scale, int lost)
{
    uint32_t run;
    assert_int_equal(store_run_begin(st, name, "unit.yaml", PLAN, start, 40, &run), 0);
    for (uint32_t a = 1; a <= 2; a++) {
        struct ps_hello h;
        memset(&h, 0, sizeof h);
        snprintf(h.name, sizeof h.name, "agent-%u", a);
        snprintf(h.host, sizeof h.host, "load%u", a);
        assert_int_equal(store_agent(st, run, a, &h, start), 0);
        assert_int_equal(store_agent_update(st, run, a, (a - 1) * 20, 20, a == 1 ? 1500 : -700, 30,
                                            0, 0, NULL), 0);
        for (int s = 0; s < 10; s++) {
            struct ps_stats x;
            memset(&x, 0, sizeof x);
            x.second = start / 1000000 + s;
            x.connected = (uint32_t)(s < 4 ? s * 5 : 20);
            x.opened = x.connected;
            x.failed = (uint64_t)s;
            x.lag_max_us = 100 * a;
            assert_int_equal(store_sample(st, run, a, &x), 0);
        }
    }
    assert_int_equal(store_phase(st, run, 1, "ramp", 7, start, start + 4000000, "40 connected of 40"), 0);
    assert_int_equal(store_phase(st, run, 2, "push", 8, start + 4000000, start + 9000000, "20 messages"), 0);
    for (uint32_t i = 0; i < 6; i++) {
        struct ps_event ev = {.conn = i, .type = PS_EV_FAILED, .val = i < 4 ? PS_REASON_REFUSED : PS_REASON_TIMEOUT};
        assert_int_equal(store_event(st, run, 1 + i % 2, &ev, start + 500000), 0);
    }
    for (uint32_t m = 1; m <= 20; m++) {
        int64_t sent = start + 4000000 + m * 200000;
        struct store_push_row row = {run, m, 1, m, sent, "http://127.0.0.1:9/push"};
        assert_int_equal(store_push(st, &row), 0);
        struct store_push_call call = {run, m, "http", m == 3 ? 500 : 200, m == 3 ? 500 : 200,
                                       800, m == 3 ? "HTTP 500, \"busy\"" : NULL};
        assert_int_equal(store_push_call(st, &call), 0);
        if ((int)m <= lost) {
            assert_int_equal(store_undelivered(st, run, m, m, "lost"), 0);
            continue;
        }
        assert_int_equal(store_delivery(st, run, m, m, sent + lat_of(m, scale), lat_of(m, scale), 40,
                                        0, 0), 0);
    }
    const struct { const char *n; double v; } figs[] = {
        {"conn_target", 40}, {"conn_opened", 40}, {"connect_success", 1.0},
        {"handshake_p50_us", 2000}, {"handshake_p99_us", 5000}, {"pushes_sent", 20},
        {"push_expected", 20}, {"push_delivered", 20 - lost}, {"push_lost", lost},
        {"push_latency_p50_us", 3000 * scale}, {"push_latency_p99_us", 4900 * scale},
        {"push_latency_max_us", 4990 * scale}, {"phase2_reconnect_p50_s", 0.5},
        {"phase2_reconnect_p100_s", 2.0},
    };
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++)
        assert_int_equal(store_figure(st, run, figs[i].n, figs[i].v), 0);
    assert_int_equal(store_threshold(st, run, "connect_success", ">= 99%", 1.0, 1), 0);
    assert_int_equal(store_threshold(st, run, "push_lost", "== 0", lost, lost == 0), 0);
    assert_int_equal(store_threshold(st, run, "push_latency_p99", "< 1s", 4900 * scale, 1), 0);
    assert_int_equal(store_run_end(st, run, start + 10000000, lost ? "fail" : "pass", lost ? 1 : 0,
                                   NULL), 0);
    return run;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];
    assert_non_null(f);
    assert_int_equal(store_open(&f->st, ":memory:", 0, err, sizeof err), 0);
    f->run = add_run(&f->st, "unit <b>&\"run\"", T0, 1.0, 3);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(&f->st);
    free(f);
    return 0;
}

/* Renders with fn into memory; the caller frees the text. */
typedef int (*render_fn)(struct store *, const struct report_run *, FILE *, char *, size_t);

static char *render(struct fixture *f, render_fn fn)
{
    struct report_run r;
    char err[256] = "", *buf = NULL;
    size_t len = 0;
    assert_int_equal(report_data_load(&f->st, f->run, &r, err, sizeof err), 0);
    FILE *o = open_memstream(&buf, &len);
    assert_non_null(o);
    int rc = fn(&f->st, &r, o, err, sizeof err);
    fclose(o);
    report_data_free(&r);
    if (rc)
        fail_msg("render failed: %s", err);
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The points of the first polyline inside the svg with that id. */
static int polyline_points(const char *html, const char *id)
{
    char key[64];
    snprintf(key, sizeof key, "<svg id=\"%s\"", id);
    const char *svg = strstr(html, key);
    assert_non_null(svg);
    const char *end = strstr(svg, "</svg>"), *pl = strstr(svg, "points=\"");
    assert_non_null(pl);
    assert_true(pl < end);
    int n = 0;
    for (const char *p = pl + 8; *p != '"'; p++)
        n += *p == ',';
    return n;
}

static void test_html(void **state)
{
    char *html = render(*state, report_html_write);
    assert_non_null(strstr(html, "<!DOCTYPE html>"));
    /* Ten seconds of samples summed over both agents: one point per second. */
    assert_int_equal(polyline_points(html, "chart-connections"), 10);
    assert_true(polyline_points(html, "chart-connect-rate") >= 10);
    assert_true(polyline_points(html, "chart-latency") >= 2);
    assert_int_equal(polyline_points(html, "chart-reconnect"), 2);
    assert_non_null(strstr(html, "<svg id=\"chart-histogram\""));
    assert_non_null(strstr(html, "<svg id=\"chart-failures\""));
    assert_non_null(strstr(html, "refused"));
    /* Self-contained: nothing fetched from elsewhere. */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "url("));
    /* The run's name is text, not markup. */
    assert_non_null(strstr(html, "unit &lt;b&gt;&amp;&quot;run&quot;"));
    assert_null(strstr(html, "<b>&"));
    assert_int_equal(count(html, "<td class=\"fail\">FAIL</td>"), 1);
    assert_int_equal(count(html, "<td class=\"pass\">PASS</td>"), 2);
    /* Per-agent table: offsets and the lost messages of agent 1 (conns 0-19). */
    assert_non_null(strstr(html, "1.5ms"));
    assert_non_null(strstr(html, "-700us"));
    /* No monitor_samples table: no server section. */
    assert_null(strstr(html, "id=\"server\""));
    free(html);
}

static void test_html_server_metrics(void **state)
{
    struct fixture *f = *state;
    char err[256];
    char *html = render(f, report_html_write);
    assert_null(strstr(html, "id=\"server\"")); /* table without rows for this run */
    free(html);
    char sql[256];
    for (int s = 0; s < 5; s++) {
        /* One column with numbers, one with text, the others NULL. */
        snprintf(sql, sizeof sql, "INSERT INTO monitor_samples(run_id, agent_id, second, host_cpu_pct,"
                 " load1) VALUES(%u, 9, %lld, %d, 'x')", f->run, T0 / 1000000 + s, 10 + s);
        assert_int_equal(store_exec(&f->st, sql, err, sizeof err), 0);
    }
    html = render(f, report_html_write);
    assert_non_null(strstr(html, "id=\"server\""));
    assert_int_equal(polyline_points(html, "chart-server-0"), 5);
    /* The text column and the empty ones draw nothing. */
    assert_int_equal(count(html, "<svg id=\"chart-server-"), 1);
    free(html);
}

struct header {
    int         ncols;
    char        names[32][32];
    int         rows;
};

static void keep_header(void *ctx, int ncols, const char *const *vals)
{
    struct header *h = ctx;
    if (h->rows++)
        return;
    h->ncols = ncols;
    for (int c = 0; c < ncols && c < 32; c++)
        snprintf(h->names[c], sizeof h->names[c], "%s", vals[c]);
}

/* The monitor columns the report charts are the store's table, in its order. */
static void test_monitor_columns(void **state)
{
    struct fixture *f = *state;
    char err[256];
    struct header h = {0};
    size_t dump = 0;
    while (report_data_dump_name(dump) && strcmp(report_data_dump_name(dump), "monitor_samples"))
        dump++;
    assert_int_equal(report_data_dump(&f->st, dump, f->run, keep_header, &h, err, sizeof err), 0);
    assert_int_equal(h.ncols, 3 + REPORT_DATA_MONITOR_COLS);
    assert_string_equal(h.names[0], "run_id");
    assert_string_equal(h.names[1], "agent_id");
    assert_string_equal(h.names[2], "second");
    for (size_t c = 0; c < REPORT_DATA_MONITOR_COLS; c++)
        assert_string_equal(h.names[3 + c], report_data_monitor_col(c));
    assert_null(report_data_monitor_col(REPORT_DATA_MONITOR_COLS));
}

static void test_json(void **state)
{
    char *js = render(*state, report_json_write);
    assert_non_null(strstr(js, "\"format\": \"pushstorm-report/1\""));
    assert_non_null(strstr(js, "\"name\": \"unit <b>&\\\"run\\\"\""));
    assert_non_null(strstr(js, "\"status\": \"fail\""));
    assert_non_null(strstr(js, "\"push_lost\": 3"));
    assert_non_null(strstr(js, "\"connect_success\": 1,"));
    assert_non_null(strstr(js, "{\"name\": \"push_lost\", \"required\": \"== 0\", \"measured\": 3, \"pass\": false}"));
    assert_non_null(strstr(js, "{\"event\": \"failed\", \"reason\": \"refused\", \"count\": 4}"));
    assert_non_null(strstr(js, "\"offset_us\": -700"));
    /* Messages 1-3 were lost on connections 1-3, which agent 1 owns (0-19). */
    assert_non_null(strstr(js, "\"lag_max_us\": 100, \"lost\": 3, \"missed_offline\": 0"));
    assert_non_null(strstr(js, "\"lag_max_us\": 200, \"lost\": 0, \"missed_offline\": 0"));
    assert_int_equal(count(js, "{"), count(js, "}"));
    assert_int_equal(count(js, "["), count(js, "]"));
    free(js);
}

static int junit_render(struct store *s, const struct report_run *r, FILE *o, char *err, size_t len)
{
    (void)s;
    return report_junit_write(r, o, err, len);
}

static void test_junit(void **state)
{
    char *x = render(*state, junit_render);
    assert_int_equal(count(x, "<testcase "), 3);
    assert_int_equal(count(x, "<failure "), 1);
    assert_int_equal(count(x, "<error "), 0);
    assert_non_null(strstr(x, "tests=\"3\" failures=\"1\" errors=\"0\""));
    /* The failure belongs to push_lost's test case and says what was measured. */
    const char *tc = strstr(x, "name=\"push_lost\"");
    assert_non_null(tc);
    const char *fl = strstr(tc, "<failure "), *next = strstr(tc, "</testcase>");
    assert_non_null(fl);
    assert_true(fl < next);
    assert_non_null(strstr(fl, "measured 3, required == 0"));
    assert_non_null(strstr(x, "name=\"pushstorm.unit &lt;b&gt;&amp;&quot;run&quot;\""));
    free(x);
}

static void test_junit_failed_run(void **state)
{
    struct fixture *f = *state;
    uint32_t run;
    assert_int_equal(store_run_begin(&f->st, "broken", "b.yaml", "", T0, 10, &run), 0);
    assert_int_equal(store_run_end(&f->st, run, T0 + 1000000, "failed", 2, "0 of 1 agents joined"), 0);
    struct report_run r;
    char err[256], *buf = NULL;
    size_t len = 0;
    assert_int_equal(report_data_load(&f->st, run, &r, err, sizeof err), 0);
    FILE *o = open_memstream(&buf, &len);
    assert_int_equal(report_junit_write(&r, o, err, sizeof err), 0);
    fclose(o);
    assert_int_equal(count(buf, "<testcase "), 1);
    assert_non_null(strstr(buf, "<error type=\"run\" message=\"0 of 1 agents joined\""));
    report_data_free(&r);
    free(buf);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 16);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void test_csv(void **state)
{
    struct fixture *f = *state;
    char dir[] = "/tmp/test_report.XXXXXX", err[256], path[256];
    assert_non_null(mkdtemp(dir));
    struct report_run r;
    assert_int_equal(report_data_load(&f->st, f->run, &r, err, sizeof err), 0);
    char *list = NULL;
    size_t len = 0;
    FILE *lf = open_memstream(&list, &len);
    assert_int_equal(report_csv_write(&f->st, &r, dir, lf, err, sizeof err), 0);
    fclose(lf);
    assert_int_equal(count(list, "\n"), 10); /* no monitor_samples.csv without the table */

    snprintf(path, sizeof path, "%s/samples.csv", dir);
    char *t = slurp(path);
    assert_int_equal(count(t, "\r\n"), 1 + 2 * 10);
    assert_true(strncmp(t, "run_id,agent_id,second,connected,", 33) == 0);
    free(t);
    snprintf(path, sizeof path, "%s/pushes.csv", dir);
    t = slurp(path);
    /* A field with a comma and quotes is quoted, quotes doubled. */
    assert_non_null(strstr(t, ",\"HTTP 500, \"\"busy\"\"\","));
    free(t);
    snprintf(path, sizeof path, "%s/conn_events_summary.csv", dir);
    t = slurp(path);
    assert_non_null(strstr(t, ",failed,refused,4,4,"));
    assert_non_null(strstr(t, ",failed,timeout,2,2,"));
    free(t);
    snprintf(path, sizeof path, "%s/thresholds.csv", dir);
    t = slurp(path);
    assert_int_equal(count(t, "\r\n"), 4);
    free(t);

    /* Every file it listed exists; remove them and the directory. */
    for (char *line = strtok(list, "\n"); line; line = strtok(NULL, "\n"))
        assert_int_equal(unlink(line), 0);
    assert_int_equal(rmdir(dir), 0);
    free(list);
    report_data_free(&r);
}

static void test_unknown_run(void **state)
{
    struct fixture *f = *state;
    struct report_run r;
    char err[256];
    assert_int_equal(report_data_load(&f->st, 999, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "no run 999"));
}

static void test_out_atomic(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_report.XXXXXX", path[256], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/r.html", dir);
    FILE *f = fopen(path, "w");
    fputs("old", f);
    fclose(f);
    struct report_data_out o;
    assert_int_equal(report_data_out_open(&o, path, err, sizeof err), 0);
    fputs("half a report", o.f);
    assert_int_equal(report_data_out_close(&o, 0, err, sizeof err), -1);
    char *t = slurp(path);
    assert_string_equal(t, "old");
    free(t);
    assert_int_not_equal(access(o.tmp, F_OK), 0);
    assert_int_equal(report_data_out_open(&o, path, err, sizeof err), 0);
    fputs("new", o.f);
    assert_int_equal(report_data_out_close(&o, 1, err, sizeof err), 0);
    t = slurp(path);
    assert_string_equal(t, "new");
    free(t);
    unlink(path);
    rmdir(dir);
}

static void test_latency_buckets(void **state)
{
    struct fixture *f = *state;
    struct report_run r;
    struct report_latency l;
    char err[256];
    assert_int_equal(report_data_load(&f->st, f->run, &r, err, sizeof err), 0);
    assert_int_equal(report_data_latency(&f->st, &r, &l, err, sizeof err), 0);
    assert_int_equal(l.bucket_s, 1);
    assert_int_equal(l.total.count, 17); /* 20 messages, 3 lost */
    /* Messages 4..20 are sent from 4.8 s to 8 s: buckets 4 to 8. */
    assert_int_equal(l.n, 9);
    assert_null(l.per[3]);
    assert_non_null(l.per[4]);
    assert_int_equal(l.total.max, (uint64_t)lat_of(20, 1.0)); /* (m * 137) % 4000 peaks at m = 20 */
    report_data_latency_free(&l);
    report_data_free(&r);
}

/* The default noise floor with a given max regression. */
static const struct compare_limits *lim(double max_regression)
{
    static struct compare_limits l;
    l = (struct compare_limits)COMPARE_LIMITS_DEFAULT;
    l.max_regression = max_regression;
    return &l;
}

/* The noise floor: +80us of handshake between identical runs is noise, a
 * lost message from none never is, and the relative floor covers the rest. */
static void test_compare_noise(void **state)
{
    struct fixture *f = *state;
    const struct compare_limits *l = lim(0.10);
    assert_true(compare_within_noise(l, 1, 0, 400, 480));
    assert_true(compare_within_noise(l, 1, 0, 400, 900));        /* +500us: the floor itself */
    assert_false(compare_within_noise(l, 1, 0, 400, 901));
    assert_true(compare_within_noise(l, 1, 0, 100000, 104000));  /* 4% of 100ms */
    assert_false(compare_within_noise(l, 1, 0, 100000, 106000));
    assert_false(compare_within_noise(l, 0, 0, 0, 1));           /* counts: no absolute floor */
    assert_true(compare_within_noise(l, 0, 1, 1.0, 0.9995));     /* 0.05 percentage point */
    assert_false(compare_within_noise(l, 0, 1, 1.0, 0.998));
    /* Runs 10% slower (+300us p50, +490us p99) with no regression allowed at
     * all: within the noise floor, so no regression; without the floor, one. */
    uint32_t base = add_run(&f->st, "noise", T0 + 5 * 86400000000LL, 1.0, 0);
    uint32_t slow = add_run(&f->st, "noise", T0 + 6 * 86400000000LL, 1.1, 0);
    char err[256], *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    assert_int_equal(compare_runs(&f->st, base, slow, lim(0), o, err, sizeof err), 0);
    fflush(o);
    assert_non_null(strstr(buf, "same (within noise)"));
    struct compare_limits none = {0, 0, 0};
    assert_int_equal(compare_runs(&f->st, base, slow, &none, o, err, sizeof err), 1);
    fclose(o);
    free(buf);
}

/* compare's exit code: 0 for a 5% slower run, 1 for a 20% slower one. */
static void test_compare(void **state)
{
    struct fixture *f = *state;
    uint32_t base = add_run(&f->st, "cmp", T0 + 86400000000LL, 1.0, 0);
    uint32_t slow5 = add_run(&f->st, "cmp", T0 + 2 * 86400000000LL, 1.05, 0);
    uint32_t slow20 = add_run(&f->st, "cmp", T0 + 3 * 86400000000LL, 1.2, 0);
    uint32_t lossy = add_run(&f->st, "cmp", T0 + 4 * 86400000000LL, 1.0, 1);
    char err[256], *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    assert_int_equal(compare_runs(&f->st, base, slow5, lim(0.10), o, err, sizeof err), 0);
    fflush(o);
    assert_non_null(strstr(buf, "+5.0%"));
    assert_non_null(strstr(buf, "verdict: no regression past 10%"));
    assert_int_equal(compare_runs(&f->st, base, slow20, lim(0.10), o, err, sizeof err), 1);
    fflush(o);
    assert_non_null(strstr(buf, "+20.0%  REGRESSED"));
    assert_non_null(strstr(buf, "push latency p50, push latency p99"));
    assert_int_equal(compare_runs(&f->st, base, slow20, lim(0.25), o, err, sizeof err), 0);
    /* From no loss to one lost message: no percentage of nothing is allowed. */
    assert_int_equal(compare_runs(&f->st, base, lossy, lim(0.50), o, err, sizeof err), 1);
    /* Faster is never a regression. */
    assert_int_equal(compare_runs(&f->st, slow20, base, lim(0.01), o, err, sizeof err), 0);
    assert_int_equal(compare_runs(&f->st, base, 4242, lim(0.10), o, err, sizeof err), 2);
    assert_non_null(strstr(err, "no run 4242"));
    fclose(o);
    free(buf);
}

static void test_compare_args(void **state)
{
    (void)state;
    double v;
    uint32_t id;
    char err[256];
    assert_int_equal(compare_parse_limit("10%", &v, err, sizeof err), 0);
    assert_true(v > 0.0999 && v < 0.1001);
    assert_int_equal(compare_parse_limit("0.25", &v, err, sizeof err), 0);
    assert_int_equal(compare_parse_limit("10", &v, err, sizeof err), -1);
    assert_int_equal(compare_parse_limit("ten", &v, err, sizeof err), -1);
    assert_int_equal(compare_parse_limit(NULL, &v, err, sizeof err), -1);
    assert_int_equal(compare_parse_baseline("last-pass", &id, err, sizeof err), 0);
    assert_int_equal(id, 0);
    assert_int_equal(compare_parse_baseline("17", &id, err, sizeof err), 0);
    assert_int_equal(id, 17);
    assert_int_equal(compare_parse_baseline("0", &id, err, sizeof err), -1);
    assert_int_equal(compare_parse_baseline("-3", &id, err, sizeof err), -1);
    assert_int_equal(compare_parse_baseline("last", &id, err, sizeof err), -1);
    assert_non_null(strstr(err, "expected last-pass or a run id"));
}

/* --baseline last-pass: the latest earlier passing run of the same plan. */
static void test_compare_after_run(void **state)
{
    (void)state;
    char path[] = "/tmp/test_report.XXXXXX", err[256];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct store st;
    assert_int_equal(store_open(&st, path, 0, err, sizeof err), 0);
    uint32_t first = add_run(&st, "nightly", T0, 1.0, 0);
    uint32_t other = add_run(&st, "other", T0 + 1000, 1.0, 0);
    uint32_t red = add_run(&st, "nightly", T0 + 2000, 1.3, 0);
    store_close(&st);
    uint32_t last, found;
    assert_int_equal(compare_last_run_id(path, &last, err, sizeof err), 0);
    assert_int_equal(last, red);
    assert_int_equal(compare_find_run(path, first, "nightly", &found, err, sizeof err), 0);
    assert_int_equal(found, red);
    assert_int_equal(compare_find_run(path, red, "nightly", &found, err, sizeof err), -1);
    /* The first night of a plan has no baseline: nothing to compare, exit 0. */
    assert_int_equal(compare_after_run(path, other, "last-pass", lim(0.10)), 0);
    assert_int_equal(compare_after_run(path, red, "last-pass", lim(0.10)), 1);
    assert_int_equal(compare_after_run(path, red, "last-pass", lim(0.50)), 0);
    assert_int_equal(compare_after_run(path, red, "4242", lim(0.10)), 2);
    assert_int_equal(compare_check_baseline(path, "4242"), 2);
    assert_int_equal(compare_check_baseline(path, "1"), 0);
    assert_int_equal(compare_check_baseline("/nonexistent/x.db", "1"), 2);
    assert_int_equal(compare_last_run_id("/nonexistent/x.db", &last, err, sizeof err), 0);
    assert_int_equal(last, 0);
    unlink(path);
    char side[300];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

/* The text summary and the runs listing, read through report_data and store. */
static void test_summary_and_runs(void **state)
{
    struct fixture *f = *state;
    char err[256], *buf = NULL;
    size_t len = 0;
    uint32_t last;
    assert_int_equal(store_last_run_id(&f->st, &last, err, sizeof err), 0);
    assert_int_equal(last, f->run);
    assert_int_equal(store_figure(&f->st, f->run, "reason_server_close", 3), 0);
    assert_int_equal(store_figure(&f->st, f->run, "reason_refused", 5), 0);
    FILE *o = open_memstream(&buf, &len);
    assert_non_null(o);
    assert_int_equal(report_print_summary(&f->st, f->run, o), 0);
    assert_int_equal(report_print_summary(&f->st, 999, o), -1);
    assert_int_equal(report_print_runs(&f->st, o, err, sizeof err), 0);
    fclose(o);
    assert_non_null(strstr(buf, "in 10.0s =="));
    assert_non_null(strstr(buf, "\ncloses/fails  refused 5, server_close 3\n"));
    /* Thresholds by name in the summary: connect_success, push_latency_p99, push_lost. */
    const char *cs = strstr(buf, "threshold     connect_success"),
               *p99 = strstr(buf, "threshold     push_latency_p99"),
               *lost = strstr(buf, "threshold     push_lost");
    assert_true(cs && p99 && lost && cs < p99 && p99 < lost);
    assert_non_null(strstr(buf, "\nid    name"));
    assert_non_null(strstr(buf, "\n1     unit <b>&\"run\"       2026-01-01 00:00:00      10.0s"
                                "         40/40 fail\n"));
    free(buf);
}

/* Each threshold in its unit: a cut wait_reconnect's fraction printed as
 * "measured 1" beside ">= 100%" in the million run (75.8% were back). */
static void test_fmt_measured(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(report_data_fmt_measured("phase6_reconnect", 0.758354, b, sizeof b), "75.835%");
    assert_string_equal(report_data_fmt_measured("connect_success", 1.0, b, sizeof b), "100.000%");
    assert_string_equal(report_data_fmt_measured("phase3_deadline", 75000000, b, sizeof b), "1m15s");
    assert_string_equal(report_data_fmt_measured("push_lost", 3932, b, sizeof b), "3932");
    assert_string_equal(report_data_fmt_measured("phase6_reconnect_back", 742604, b, sizeof b), "742604");
    assert_string_equal(report_data_fmt_measured("phase2_recipients", 0, b, sizeof b), "0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_html, setup, teardown),
        cmocka_unit_test_setup_teardown(test_html_server_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_monitor_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_and_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_junit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_junit_failed_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_run, setup, teardown),
        cmocka_unit_test(test_out_atomic),
        cmocka_unit_test_setup_teardown(test_latency_buckets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compare_noise, setup, teardown),
        cmocka_unit_test(test_compare_args),
        cmocka_unit_test(test_compare_after_run),
        cmocka_unit_test(test_fmt_measured),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
