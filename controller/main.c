/* pushstorm: the controller CLI.
 *
 *   pushstorm run PLAN.yaml [--db FILE] [--listen ADDR] [--local-agents N]
 *                           [--agent-threads N] [--quiet]
 *                           [--baseline last-pass|RUN] [--max-regression PCT]
 *   pushstorm check PLAN.yaml
 *   pushstorm runs [--db FILE]
 *   pushstorm report RUN [--db FILE] [--html FILE] [--json [FILE]] [--csv DIR]
 *                        [--junit FILE]
 *   pushstorm compare BASE RUN [--db FILE] [--max-regression PCT]
 *
 * RUN may be "last", the latest run in the database. *
 * Exit status of compare and of a run's baseline comparison: 1 when a figure
 * regressed past the limit (docs/reports.md).
 * Exit status: 0 pass, 1 a threshold failed, 2 the run (or command) could not
 * be carried out. A bad plan is reported as FILE:LINE:COL and nothing is written. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "compare.h"
#include "plan.h"
#include "ps_proto.h"
#include "ps_units.h"
#include "report.h"
#include "run.h"
#include "store.h"

#define DEFAULT_DB     "pushstorm.db"
#define DEFAULT_LISTEN "tcp://0.0.0.0:7700"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pushstorm run PLAN.yaml [--db FILE] [--listen ADDR] [--local-agents N]\n"
            "                               [--agent-threads N] [--quiet] [--metrics [HOST:]PORT]\n"
            "                               [--baseline last-pass|RUN] [--max-regression PCT]\n"
            "       pushstorm check PLAN.yaml\n"
            "       pushstorm runs [--db FILE]\n"
            "       pushstorm report RUN [--db FILE] [--html FILE] [--json [FILE]] [--csv DIR]\n"
            "                            [--junit FILE]\n"
            "       pushstorm compare BASE RUN [--db FILE] [--max-regression PCT]\n"
            "       pushstorm --version\n"
            "RUN, BASE: a run id (see pushstorm runs) or \"last\"\n"
            "defaults: --db %s, --listen %s, --max-regression %g%%\n"
            "exit status: 0 pass, 1 a threshold failed or a figure regressed past the limit,\n"
            "             2 the run or command could not be carried out\n",
            DEFAULT_DB, DEFAULT_LISTEN, COMPARE_DEFAULT_MAX_REGRESSION * 100);
}

/* Loads and validates a plan; prints the error and returns NULL on failure. */
static struct plan *load_plan(const char *path, char **text_out)
{
    char err[PLAN_ERR_MAX];
    size_t len;
    char *text = plan_read_file(path, &len, err, sizeof err);
    struct plan *p = text ? calloc(1, sizeof *p) : NULL;
    if (!text || !p) {
        fprintf(stderr, "pushstorm: %s\n", text ? "out of memory" : err);
        free(text);
        return NULL;
    }
    if (plan_parse(path, text, len, p, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        free(text);
        free(p);
        return NULL;
    }
    *text_out = text;
    return p;
}

static int parse_u32(const char *opt, const char *v, uint32_t max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long n = v ? strtoul(v, &end, 10) : 0;
    if (!v || errno || *end || end == v || n > max) {
        fprintf(stderr, "pushstorm: %s: expected a whole number from 0 to %u, got \"%s\"\n", opt,
                max, v ? v : "");
        return -1;
    }
    *out = (uint32_t)n;
    return 0;
}

/* The agent binary next to this one, for --local-agents. */
static void agent_path(const char *argv0, char *out, size_t len)
{
    char self[PATH_MAX - 32]; /* leaves room for "/pushstorm-agent" in out */
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            snprintf(out, len, "%s/pushstorm-agent", self);
            return;
        }
    }
    const char *slash = strrchr(argv0, '/');
    if (slash)
        snprintf(out, len, "%.*s/pushstorm-agent", (int)(slash - argv0), argv0);
    else
        snprintf(out, len, "pushstorm-agent");
}

static void print_split(const struct plan *p)
{
    uint64_t total = plan_max_connections(p);
    printf("%s: valid. \"%s\": %llu connections over %u targets, %u agents expected, %u phases\n",
           p->path, p->name, (unsigned long long)total, p->n_targets, p->agents.expect, p->n_phases);
    plan_print_split(p, stdout);
    for (uint32_t i = 0; i < p->n_phases; i++)
        printf("  phase %u (line %d): %s\n", i + 1, p->phases[i].line,
               plan_phase_name(p->phases[i].kind));
}

/* After a run that was carried out: compare it with its baseline. The exit
 * status is the worse of the run's (0 pass, 1 threshold failed) and the
 * comparison's (1 regression, 2 the comparison could not be made). */
static int run_compare_baseline(const struct run_opts *o, const char *plan_name, uint32_t last_id,
                                const char *baseline, double max_regression, int run_rc)
{
    char err[512];
    uint32_t run_id;
    if (compare_find_run(o->db_path, last_id, plan_name, &run_id, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm: baseline comparison: %s\n", err);
        return 2;
    }
    int crc = compare_after_run(o->db_path, run_id, baseline, max_regression);
    return crc > run_rc ? crc : run_rc;
}

static int cmd_run(int argc, char **argv)
{
    struct run_opts o = {.db_path = DEFAULT_DB, .listen = DEFAULT_LISTEN};
    const char *plan_path = NULL, *baseline = NULL;
    double max_regression = COMPARE_DEFAULT_MAX_REGRESSION;
    char bin[PATH_MAX], err[512];
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--db") && v)
            o.db_path = argv[++i];
        else if (!strcmp(a, "--listen") && v)
            o.listen = argv[++i];
        else if (!strcmp(a, "--local-agents")) {
            if (parse_u32(a, v, 64, &o.local_agents))
                return 2;
            i++;
        } else if (!strcmp(a, "--agent-threads")) {
            if (parse_u32(a, v, PS_MAX_THREADS, &o.local_threads))
                return 2;
            i++;
        } else if (!strcmp(a, "--quiet"))
            o.quiet = 1;
        else if (!strcmp(a, "--metrics") && v)
            o.metrics = argv[++i];
        else if (!strcmp(a, "--baseline") && v) {
            baseline = argv[++i];
        } else if (!strcmp(a, "--max-regression")) {
            if (compare_parse_limit(v, &max_regression, err, sizeof err) != 0) {
                fprintf(stderr, "pushstorm run: %s\n", err);
                return 2;
            }
            i++;
        } else if (a[0] == '-' || plan_path) {
            fprintf(stderr, "pushstorm run: unexpected argument \"%s\"\n", a);
            usage(stderr);
            return 2;
        } else
            plan_path = a;
    }
    if (!plan_path) {
        fprintf(stderr, "pushstorm run: which plan? (pushstorm run PLAN.yaml)\n");
        return 2;
    }
    char *text;
    struct plan *p = load_plan(plan_path, &text);
    if (!p)
        return 2;
    /* The baseline is checked before the run (a wrong id fails now, not after
     * an hour of load), and the highest run id noted so the run just carried
     * out can be found afterwards: run_campaign reports only its exit code. */
    uint32_t last_id = 0;
    int bad_baseline = baseline && compare_check_baseline(o.db_path, baseline) != 0;
    if (baseline && !bad_baseline && compare_last_run_id(o.db_path, &last_id, err, sizeof err)) {
        fprintf(stderr, "pushstorm run: %s\n", err);
        bad_baseline = 1;
    }
    if (bad_baseline) {
        free(text);
        free(p);
        return 2;
    }
    agent_path(argv[-1], bin, sizeof bin);
    o.agent_bin = bin;
    /* Signals are taken synchronously by the run loop (sigpending), so a Ctrl-C
     * ends the run cleanly with its results stored. */
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = run_campaign(p, text, &o);
    if (baseline && rc != 2)
        rc = run_compare_baseline(&o, p->name, last_id, baseline, max_regression, rc);
    free(text);
    free(p);
    return rc;
}

static int cmd_check(int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "pushstorm check: expected one plan file\n");
        return 2;
    }
    char *text;
    struct plan *p = load_plan(argv[0], &text);
    if (!p)
        return 2;
    print_split(p);
    free(text);
    free(p);
    return 0;
}

/* Arguments of the commands that read a database (runs, report, compare). */
struct db_args {
    const char *db;
    int         n_ids;
    uint32_t    ids[2];
    const char *html, *json, *csv, *junit;
    int         json_wanted;     /* --json given; json NULL or "-" = stdout */
    double      max_regression;
};

/* A run id, or "last" for the latest run (0 here, resolved by resolve_last
 * once the database is open): scripts and the nightly unit report on the run
 * they just made without parsing `pushstorm runs`. */
static int parse_run_id(const char *a, uint32_t *out)
{
    if (!strcmp(a, "last")) {
        *out = 0;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long v = strtoul(a, &end, 10);
    if (a[0] < '0' || a[0] > '9' || errno || *end || v == 0 || v > UINT32_MAX) {
        fprintf(stderr, "pushstorm: \"%s\" is not a run id (see pushstorm runs)\n", a);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static int all_digits(const char *a)
{
    if (!*a)
        return 0;
    for (; *a; a++)
        if (*a < '0' || *a > '9')
            return 0;
    return 1;
}

/* want_ids: run ids expected; formats: report's output options allowed;
 * limit: --max-regression allowed. Prints what is wrong and returns -1. */
static int parse_db_args(const char *cmd, int argc, char **argv, int want_ids, int formats,
                         int limit, struct db_args *d)
{
    memset(d, 0, sizeof *d);
    d->db = DEFAULT_DB;
    d->max_regression = COMPARE_DEFAULT_MAX_REGRESSION;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **file = NULL;
        if (!strcmp(a, "--db"))
            file = &d->db;
        else if (formats && !strcmp(a, "--html"))
            file = &d->html;
        else if (formats && !strcmp(a, "--junit"))
            file = &d->junit;
        else if (formats && !strcmp(a, "--csv"))
            file = &d->csv;
        if (file) {
            /* "-" is stdout for the file formats, but never a directory or a database. */
            int dash_ok = v && !strcmp(v, "-") && (file == &d->html || file == &d->junit);
            if (!v || (v[0] == '-' && !dash_ok)) {
                fprintf(stderr, "pushstorm %s: %s needs a %s\n", cmd, a,
                        !strcmp(a, "--csv") ? "directory" : "file name");
                return -1;
            }
            *file = v;
            i++;
        } else if (formats && !strncmp(a, "--json", 6) && (a[6] == 0 || a[6] == '=')) {
            d->json_wanted = 1;
            if (a[6] == '=')
                d->json = a + 7;
            /* "--json 5" before the run id means the run, not a file named 5. */
            else if (v && v[0] != '-' && !(d->n_ids < want_ids && all_digits(v))) {
                d->json = v;
                i++;
            }
        } else if (limit && !strcmp(a, "--max-regression")) {
            char err[256];
            if (compare_parse_limit(v, &d->max_regression, err, sizeof err) != 0) {
                fprintf(stderr, "pushstorm %s: %s\n", cmd, err);
                return -1;
            }
            i++;
        } else if (a[0] != '-' && d->n_ids < want_ids) {
            if (parse_run_id(a, &d->ids[d->n_ids]) != 0)
                return -1;
            d->n_ids++;
        } else {
            fprintf(stderr, "pushstorm %s: unexpected argument \"%s\"\n", cmd, a);
            usage(stderr);
            return -1;
        }
    }
    if (d->n_ids < want_ids) {
        fprintf(stderr, "pushstorm %s: %s\n", cmd,
                want_ids == 1 ? "which run? (pushstorm report RUN; see pushstorm runs)"
                              : "which runs? (pushstorm compare BASE RUN; see pushstorm runs)");
        return -1;
    }
    return 0;
}

static int open_db(const struct db_args *d, struct store *s)
{
    char err[512];
    if (store_open(s, d->db, 1, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm: %s\n", err);
        return -1;
    }
    return 0;
}

static int resolve_last(struct store *s, const char *db, uint32_t *id)
{
    char err[256];
    if (*id)
        return 0;
    if (store_last_run_id(s, id, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm: %s: cannot read the runs: %s\n", db, err);
        return -1;
    }
    if (!*id) {
        fprintf(stderr, "pushstorm: %s: no runs yet, so no last run\n", db);
        return -1;
    }
    return 0;
}

static int cmd_runs(int argc, char **argv)
{
    struct db_args d;
    struct store s;
    if (parse_db_args("runs", argc, argv, 0, 0, 0, &d) != 0 || open_db(&d, &s) != 0)
        return 2;
    char err[256];
    int rc = report_print_runs(&s, stdout, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "pushstorm runs: %s: cannot read the runs: %s\n", d.db, err);
    store_close(&s);
    return rc == 0 ? 0 : 2;
}

/* One report format into path (stdout for NULL or "-"), through a temporary
 * file so that a failure leaves any earlier file of that name untouched. */
static int write_format(const char *opt, const char *path, struct store *s,
                        const struct report_run *r)
{
    char err[512] = "";
    struct report_data_out o;
    if (report_data_out_open(&o, path, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm report %s: %s\n", opt, err);
        return -1;
    }
    int rc = !strcmp(opt, "--html")    ? report_html_write(s, r, o.f, err, sizeof err)
             : !strcmp(opt, "--json")  ? report_json_write(s, r, o.f, err, sizeof err)
                                       : report_junit_write(r, o.f, err, sizeof err);
    long size = o.to_stdout ? -1 : ftell(o.f);
    if (report_data_out_close(&o, rc == 0, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm report %s %s: %s; nothing written\n", opt,
                path ? path : "-", err[0] ? err : "failed");
        return -1;
    }
    if (size >= 0)
        fprintf(stderr, "pushstorm: wrote %s (%ld bytes)\n", path, size);
    return 0;
}

static int cmd_report(int argc, char **argv)
{
    struct db_args d;
    struct store s;
    if (parse_db_args("report", argc, argv, 1, 1, 0, &d) != 0 || open_db(&d, &s) != 0)
        return 2;
    if (resolve_last(&s, d.db, &d.ids[0]) != 0) {
        store_close(&s);
        return 2;
    }
    char err[512];
    struct report_run r;
    /* The run is loaded before any output is opened: an unknown run or an
     * unreadable database must not create or replace a file. */
    if (report_data_load(&s, d.ids[0], &r, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm report: %s: %s\n", d.db, err);
        store_close(&s);
        return 2;
    }
    int rc = 0;
    if (!d.html && !d.json_wanted && !d.csv && !d.junit)
        rc = report_print_summary(&s, d.ids[0], stdout) == 0 ? 0 : 2;
    if (!rc && d.json_wanted && write_format("--json", d.json, &s, &r) != 0)
        rc = 2;
    if (!rc && d.html && write_format("--html", d.html, &s, &r) != 0)
        rc = 2;
    if (!rc && d.junit && write_format("--junit", d.junit, &s, &r) != 0)
        rc = 2;
    if (!rc && d.csv) {
        if (report_csv_write(&s, &r, d.csv, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "pushstorm report --csv %s: %s; nothing written\n", d.csv, err);
            rc = 2;
        } else
            fprintf(stderr, "pushstorm: wrote CSV files to %s\n", d.csv);
    }
    report_data_free(&r);
    store_close(&s);
    return rc;
}

static int cmd_compare(int argc, char **argv)
{
    struct db_args d;
    struct store s;
    if (parse_db_args("compare", argc, argv, 2, 0, 1, &d) != 0 || open_db(&d, &s) != 0)
        return 2;
    if (resolve_last(&s, d.db, &d.ids[0]) != 0 || resolve_last(&s, d.db, &d.ids[1]) != 0) {
        store_close(&s);
        return 2;
    }
    char err[512];
    int rc = compare_runs(&s, d.ids[0], d.ids[1], d.max_regression, stdout, err, sizeof err);
    if (rc == 2)
        fprintf(stderr, "pushstorm compare: %s: %s\n", d.db, err);
    store_close(&s);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("pushstorm %s (protocol %d)\n", PS_VERSION_STRING, PS_PROTO_VERSION);
        return 0;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 2;
    if (!strcmp(argv[1], "run"))
        rc = cmd_run(argc - 2, argv + 2);
    else if (!strcmp(argv[1], "check"))
        rc = cmd_check(argc - 2, argv + 2);
    else if (!strcmp(argv[1], "runs"))
        rc = cmd_runs(argc - 2, argv + 2);
    else if (!strcmp(argv[1], "report"))
        rc = cmd_report(argc - 2, argv + 2);
    else if (!strcmp(argv[1], "compare"))
        rc = cmd_compare(argc - 2, argv + 2);
    else {
        fprintf(stderr, "pushstorm: unknown command \"%s\"\n", argv[1]);
        usage(stderr);
    }
    curl_global_cleanup();
    return rc;
}
