/* compare: `pushstorm compare BASE RUN` and `pushstorm run --baseline`.
 *
 * Each key figure has a direction: higher is better (connect success, connect
 * rate, share of expected messages delivered), lower is better (handshake and
 * push latency percentiles, lost messages), or information only. A gated
 * figure regresses when it moved in the bad direction by more than the limit,
 * relative to the base value; from a base of 0 (no message lost) any worsening
 * is a regression, since no percentage of nothing is allowed. A figure the run
 * lacks while the base has it counts as a regression: a run that measured
 * nothing must not pass the gate. The maximum push latency is shown but not
 * gated: it is one message's latency, and one slow message would turn nights
 * red at random. A change within the noise floor (COMPARE_DEFAULT_NOISE_*,
 * --noise-floor, --noise-floor-rel) is what two identical runs differ by:
 * shown as "same (within noise)" and never gated, whatever the limit.
 *
 * The connect rate is not a stored figure: it is the handshakes the agents
 * completed during ramp phases (per-agent increments of samples.opened) over
 * the ramp phases' duration. */
#include "compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ps_units.h"
#include "report_data.h"

enum compare_dir { COMPARE_INFO, COMPARE_HIGHER, COMPARE_LOWER };
enum compare_unit { COMPARE_FRACTION, COMPARE_US, COMPARE_COUNT, COMPARE_RATE };

/* Figures that are computed rather than stored start with '='. */
struct compare_key {
    const char *label;
    const char *fig;
    enum compare_dir dir;
    enum compare_unit unit;
};

static const struct compare_key compare_keys[] = {
    {"connect success", "connect_success", COMPARE_HIGHER, COMPARE_FRACTION},
    {"connect rate", "=connect_rate", COMPARE_HIGHER, COMPARE_RATE},
    {"handshake p50", "handshake_p50_us", COMPARE_LOWER, COMPARE_US},
    {"handshake p99", "handshake_p99_us", COMPARE_LOWER, COMPARE_US},
    {"push delivered", "=delivered_share", COMPARE_HIGHER, COMPARE_FRACTION},
    {"push delivered (count)", "push_delivered", COMPARE_INFO, COMPARE_COUNT},
    {"push lost", "push_lost", COMPARE_LOWER, COMPARE_COUNT},
    {"push latency p50", "push_latency_p50_us", COMPARE_LOWER, COMPARE_US},
    {"push latency p99", "push_latency_p99_us", COMPARE_LOWER, COMPARE_US},
    {"push latency max", "push_latency_max_us", COMPARE_INFO, COMPARE_US},
};
#define COMPARE_NKEYS (sizeof compare_keys / sizeof compare_keys[0])

/* Handshakes per second during the ramp phases; 0 with *have = 0 when the run
 * has no finished ramp phase or no agent samples. */
static int compare_connect_rate(struct store *s, const struct report_run *r, double *v, int *have,
                                char *err, size_t errlen)
{
    double secs = 0;
    *have = 0;
    for (size_t i = 0; i < r->n_phases; i++)
        if (!strcmp(r->phases[i].kind, "ramp") && r->phases[i].ended_us > r->phases[i].started_us)
            secs += (r->phases[i].ended_us - r->phases[i].started_us) / 1e6;
    if (secs <= 0)
        return 0;
    struct report_rows rows;
    if (report_data_rows(s, REPORT_Q_RAMP_OPENED, r->id, &rows, err, errlen))
        return -1;
    if (rows.n == 1 && REPORT_ROW(&rows, 0, 1) > 0 && isfinite(REPORT_ROW(&rows, 0, 0))) {
        *v = REPORT_ROW(&rows, 0, 0) / secs;
        *have = 1;
    }
    report_data_rows_free(&rows);
    return 0;
}

static int compare_value(struct store *s, const struct report_run *r, const struct compare_key *k,
                         double *v, int *have, char *err, size_t errlen)
{
    *have = 0;
    if (!strcmp(k->fig, "=connect_rate"))
        return compare_connect_rate(s, r, v, have, err, errlen);
    if (!strcmp(k->fig, "=delivered_share")) {
        double del, exp;
        if (report_data_fig(r, "push_delivered", &del) && report_data_fig(r, "push_expected", &exp) &&
            exp > 0) {
            *v = del / exp;
            *have = 1;
        }
        return 0;
    }
    *have = report_data_fig(r, k->fig, v);
    return 0;
}

static const char *compare_fmt(enum compare_unit u, int have, double v, char *buf, size_t len)
{
    if (!have)
        return "-";
    if (u == COMPARE_FRACTION)
        snprintf(buf, len, "%.3f%%", v * 100);
    else if (u == COMPARE_US)
        ps_units_fmt_duration((int64_t)llround(v), buf, len);
    else if (u == COMPARE_RATE) {
        char c[32];
        snprintf(buf, len, "%s/s", ps_units_fmt_count(round(v), c, sizeof c));
    } else
        ps_units_fmt_count(v, buf, len);
    return buf;
}

int compare_within_noise(const struct compare_limits *lim, int is_us, int is_fraction, double bv,
                         double rv)
{
    double d = fabs(rv - bv);
    /* a fraction (connect success, share delivered) is already relative: its
     * floor is absolute only */
    if (is_fraction)
        return d <= COMPARE_NOISE_FRACTION;
    return d <= (is_us ? lim->noise_us : 0) || (bv != 0 && d / fabs(bv) <= lim->noise_rel);
}

int compare_runs(struct store *s, uint32_t base, uint32_t run, const struct compare_limits *lim,
                 FILE *out, char *err, size_t errlen)
{
    double max_regression = lim->max_regression;
    struct report_run b, r;
    if (report_data_load(s, base, &b, err, errlen))
        return 2;
    if (report_data_load(s, run, &r, err, errlen)) {
        report_data_free(&b);
        return 2;
    }
    struct {
        double bv, rv;
        int bh, rh;
    } vals[COMPARE_NKEYS];
    int rc = 0;
    for (size_t i = 0; i < COMPARE_NKEYS && !rc; i++)
        if (compare_value(s, &b, &compare_keys[i], &vals[i].bv, &vals[i].bh, err, errlen) ||
            compare_value(s, &r, &compare_keys[i], &vals[i].rv, &vals[i].rh, err, errlen))
            rc = 2;
    if (rc) {
        report_data_free(&b);
        report_data_free(&r);
        return rc;
    }
    char nf[32];
    fprintf(out, "compare: base run %u \"%s\" (%s) -> run %u \"%s\" (%s), max regression %g%%, "
                 "noise floor %s or %g%%\n", b.id, b.name, b.status, r.id, r.name, r.status,
            max_regression * 100, ps_units_fmt_duration((int64_t)lim->noise_us, nf, sizeof nf),
            lim->noise_rel * 100);
    if (strcmp(b.name, r.name))
        fprintf(out, "note: the runs are of different plans; their figures may not be comparable\n");
    fprintf(out, "%-24s %14s %14s %10s  %s\n", "figure", "base", "run", "change", "verdict");
    char regressed[512] = "";
    size_t nreg = 0, off = 0;
    for (size_t i = 0; i < COMPARE_NKEYS; i++) {
        const struct compare_key *k = &compare_keys[i];
        char bs[32], rs[32], ch[32] = "-";
        const char *verdict;
        double bv = vals[i].bv, rv = vals[i].rv;
        int worse = 0, bad = 0, noise = 0;
        if (vals[i].bh && vals[i].rh) {
            if (bv != 0)
                snprintf(ch, sizeof ch, "%+.1f%%", (rv - bv) / fabs(bv) * 100);
            else if (rv != 0)
                snprintf(ch, sizeof ch, "new");
            else
                snprintf(ch, sizeof ch, "0");
            noise = rv != bv && compare_within_noise(lim, k->unit == COMPARE_US,
                                                     k->unit == COMPARE_FRACTION, bv, rv);
            worse = k->dir == COMPARE_LOWER ? rv > bv : k->dir == COMPARE_HIGHER ? rv < bv : 0;
            worse &= !noise;
            double rel = bv != 0 ? fabs(rv - bv) / fabs(bv) : INFINITY;
            bad = worse && rel > max_regression;
        }
        if (k->dir == COMPARE_INFO)
            verdict = "(not gated)";
        else if (!vals[i].bh)
            verdict = "no base value";
        else if (!vals[i].rh) {
            verdict = "MISSING in run";
            bad = 1;
        } else if (bad)
            verdict = "REGRESSED";
        else if (worse)
            verdict = "worse, within limit";
        else if (noise)
            verdict = "same (within noise)";
        else if (rv != bv)
            verdict = "better";
        else
            verdict = "same";
        fprintf(out, "%-24s %14s %14s %10s  %s\n", k->label,
                compare_fmt(k->unit, vals[i].bh, bv, bs, sizeof bs),
                compare_fmt(k->unit, vals[i].rh, rv, rs, sizeof rs), ch, verdict);
        if (bad) {
            nreg++;
            if (off < sizeof regressed)
                off += (size_t)snprintf(regressed + off, sizeof regressed - off, "%s%s",
                                        nreg > 1 ? ", " : "", k->label);
        }
    }
    if (nreg)
        fprintf(out, "verdict: REGRESSION: %zu figure%s worse than base by more than %g%%: %s\n",
                nreg, nreg > 1 ? "s" : "", max_regression * 100, regressed);
    else
        fprintf(out, "verdict: no regression past %g%%\n", max_regression * 100);
    report_data_free(&b);
    report_data_free(&r);
    return nreg ? 1 : 0;
}

int compare_parse_limit(const char *text, double *out, char *err, size_t errlen)
{
    char e[128];
    double v;
    if (!text || ps_units_parse_fraction(text, &v, e, sizeof e) != 0) {
        snprintf(err, errlen, "--max-regression: expected a percentage such as 10%%, got \"%s\"",
                 text ? text : "");
        return -1;
    }
    *out = v;
    return 0;
}

int compare_parse_opt(int which, const char *text, struct compare_limits *lim, char *err,
                      size_t errlen)
{
    char e[128];
    if (which == COMPARE_OPT_MAX_REGRESSION)
        return compare_parse_limit(text, &lim->max_regression, err, errlen);
    if (which == COMPARE_OPT_NOISE_FLOOR) {
        int64_t us;
        if (!text || ps_units_parse_duration_us(text, &us, e, sizeof e) != 0) {
            snprintf(err, errlen, "--noise-floor: expected a duration such as 500us or 2ms, "
                     "got \"%s\"", text ? text : "");
            return -1;
        }
        lim->noise_us = (double)us;
        return 0;
    }
    double v;
    if (!text || ps_units_parse_fraction(text, &v, e, sizeof e) != 0) {
        snprintf(err, errlen, "--noise-floor-rel: expected a percentage such as 5%%, got \"%s\"",
                 text ? text : "");
        return -1;
    }
    lim->noise_rel = v;
    return 0;
}

int compare_parse_baseline(const char *spec, uint32_t *run_id, char *err, size_t errlen)
{
    if (spec && !strcmp(spec, "last-pass")) {
        *run_id = 0;
        return 0;
    }
    char *end;
    unsigned long v = spec ? strtoul(spec, &end, 10) : 0;
    if (!spec || spec[0] < '0' || spec[0] > '9' || *end || v == 0 || v > UINT32_MAX) {
        snprintf(err, errlen, "--baseline: expected last-pass or a run id, got \"%s\"",
                 spec ? spec : "");
        return -1;
    }
    *run_id = (uint32_t)v;
    return 0;
}

/* Questions about the runs of a database that compare has not opened. */
enum compare_ask { COMPARE_LAST_ID, COMPARE_FIND, COMPARE_HAS };

/* Opens the database at path read-only, asks and closes it. *id: the highest
 * run id (LAST_ID), the highest above a of plan name (FIND), a if run a exists
 * (HAS); 0 when there is no such run. Returns 0, or -1 with err set. */
static int compare_run_id(const char *db_path, enum compare_ask q, uint32_t a, const char *name,
                          uint32_t *id, char *err, size_t errlen)
{
    struct store s;
    char why[256];
    int rc, found = 0;
    *id = 0;
    if (store_open(&s, db_path, 1, err, errlen) != 0)
        return -1;
    if (q == COMPARE_LAST_ID)
        rc = store_last_run_id(&s, id, why, sizeof why);
    else if (q == COMPARE_FIND)
        rc = store_find_run(&s, a, name, id, why, sizeof why);
    else {
        rc = store_has_run(&s, a, &found, why, sizeof why);
        *id = found ? a : 0;
    }
    if (rc)
        snprintf(err, errlen, "%s: cannot read the database: %s", db_path, why);
    store_close(&s);
    return rc;
}

int compare_last_run_id(const char *db_path, uint32_t *id, char *err, size_t errlen)
{
    *id = 0;
    if (access(db_path, F_OK) != 0)
        return 0;
    /* An existing empty file is a database still to be created. */
    FILE *f = fopen(db_path, "rb");
    int empty = f && fgetc(f) == EOF;
    if (f)
        fclose(f);
    if (empty)
        return 0;
    return compare_run_id(db_path, COMPARE_LAST_ID, 0, NULL, id, err, errlen);
}

int compare_find_run(const char *db_path, uint32_t after, const char *name, uint32_t *id,
                     char *err, size_t errlen)
{
    if (compare_run_id(db_path, COMPARE_FIND, after, name, id, err, errlen))
        return -1;
    if (!*id) {
        snprintf(err, errlen, "%s: the run just carried out is not in the database", db_path);
        return -1;
    }
    return 0;
}

int compare_check_baseline(const char *db_path, const char *spec)
{
    char err[512];
    uint32_t base, found;
    if (compare_parse_baseline(spec, &base, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm run: %s\n", err);
        return 2;
    }
    if (!base)
        return 0;
    if (access(db_path, F_OK) != 0) {
        fprintf(stderr, "pushstorm run: --baseline %u: %s does not exist yet, so it holds no run %u\n",
                base, db_path, base);
        return 2;
    }
    if (compare_run_id(db_path, COMPARE_HAS, base, NULL, &found, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm run: --baseline: %s\n", err);
        return 2;
    }
    if (!found) {
        fprintf(stderr, "pushstorm run: --baseline %u: no run %u in %s (see pushstorm runs)\n", base,
                base, db_path);
        return 2;
    }
    return 0;
}

int compare_after_run(const char *db_path, uint32_t run_id, const char *baseline_spec,
                      const struct compare_limits *lim)
{
    char err[512];
    uint32_t base;
    if (compare_parse_baseline(baseline_spec, &base, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm: %s\n", err);
        return 2;
    }
    struct store s;
    if (store_open(&s, db_path, 1, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm: baseline comparison: %s\n", err);
        return 2;
    }
    int rc = 0;
    if (!base) {
        if (store_last_pass(&s, run_id, &base, err, sizeof err)) {
            fprintf(stderr, "pushstorm: baseline comparison: %s: %s\n", db_path, err);
            rc = 2;
        } else if (!base)
            printf("\nbaseline: no earlier passing run of this plan in %s; nothing to compare "
                   "(a passing run becomes the next baseline)\n", db_path);
    }
    if (!rc && base) {
        putchar('\n');
        rc = compare_runs(&s, base, run_id, lim, stdout, err, sizeof err);
        if (rc == 2)
            fprintf(stderr, "pushstorm: baseline comparison: %s\n", err);
    }
    store_close(&s);
    fflush(stdout);
    return rc;
}
