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
#include "ps_cli.h"
#include "ps_proto.h"
#include "ps_units.h"
#include "report.h"
#include "run.h"
#include "store.h"

#define DEFAULT_DB     "pushstorm.db"
#define DEFAULT_LISTEN "tcp://0.0.0.0:7700"

/* Every command's version, --help and messages start alike. */
#define CTL_CLI_VERSION                              \
    .name = "pushstorm", .version = PS_VERSION_STRING, \
    .version_note = "protocol " PS_CLI_STR(PS_PROTO_VERSION)
#define CTL_CLI(cmd) CTL_CLI_VERSION, .prog = "pushstorm " cmd

enum ctl_opt_key {
    CTL_DB, CTL_LISTEN, CTL_LOCAL_AGENTS, CTL_AGENT_THREADS, CTL_QUIET, CTL_METRICS,
    CTL_BASELINE, CTL_MAX_REGRESSION, CTL_HTML, CTL_JSON, CTL_CSV, CTL_JUNIT,
};

#define CTL_OPT_DB {"--db", PS_CLI_VALUE, "FILE", "the results database (default " DEFAULT_DB ")", CTL_DB}
#define CTL_OPT_MAX_REGRESSION                                                   \
    {"--max-regression", PS_CLI_VALUE, "PCT",                                    \
     "a key figure this much worse than the baseline\nis a regression (default 10%)", \
     CTL_MAX_REGRESSION}

static const struct ps_cli_opt run_opts[] = {
    CTL_OPT_DB,
    {"--listen", PS_CLI_VALUE, "ADDR", "where agents join (default " DEFAULT_LISTEN ")", CTL_LISTEN},
    {"--local-agents", PS_CLI_VALUE, "N", "start N agents (0 to 64) on this machine", CTL_LOCAL_AGENTS},
    {"--agent-threads", PS_CLI_VALUE, "N", "event loops of each local agent", CTL_AGENT_THREADS},
    {"--quiet", PS_CLI_FLAG, NULL, "no live progress, the summary only", CTL_QUIET},
    {"--metrics", PS_CLI_VALUE, "[HOST:]PORT", "serve live Prometheus metrics here", CTL_METRICS},
    {"--baseline", PS_CLI_VALUE, "last-pass|RUN", "compare the run with this one at its end",
     CTL_BASELINE},
    CTL_OPT_MAX_REGRESSION,
};

static const struct ps_cli_opt runs_opts[] = {CTL_OPT_DB};

static const struct ps_cli_opt report_opts[] = {
    CTL_OPT_DB,
    {"--html", PS_CLI_VALUE, "FILE", "a self-contained HTML page with charts (- stdout)", CTL_HTML},
    {"--json", PS_CLI_OPTIONAL, "FILE", "the run as JSON (stdout without FILE)", CTL_JSON},
    {"--csv", PS_CLI_VALUE, "DIR", "one CSV file per table into DIR", CTL_CSV},
    {"--junit", PS_CLI_VALUE, "FILE", "thresholds as JUnit XML (- stdout)", CTL_JUNIT},
};

static const struct ps_cli_opt compare_opts[] = {CTL_OPT_DB, CTL_OPT_MAX_REGRESSION};

#define CTL_RUN_NOTES "RUN, BASE: a run id (see pushstorm runs) or \"last\"\n"
#define CTL_EXIT_NOTES                                                             \
    "exit status: 0 pass, 1 a threshold failed or a figure regressed past the limit,\n" \
    "             2 the run or command could not be carried out\n"

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *nb = cap > (16u << 20) ? NULL : realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            snprintf(err, errlen, "%s: too large for a plan", path);
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = n;
    }
    return buf;
}

/* Loads and validates a plan; prints the error and returns NULL on failure. */
static struct plan *load_plan(const char *path, char **text_out)
{
    char err[PLAN_ERR_MAX];
    size_t len;
    char *text = read_file(path, &len, err, sizeof err);
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

/* What pushstorm run is told on its command line. */
struct run_args {
    struct run_opts o;
    const char     *plan_path, *baseline;
    double          max_regression;
};

static int run_opt(void *ctx, const struct ps_cli_opt *opt, const char *v)
{
    struct run_args *r = ctx;
    char err[512];
    switch (opt->key) {
    case CTL_DB: r->o.db_path = v; break;
    case CTL_LISTEN: r->o.listen = v; break;
    case CTL_METRICS: r->o.metrics = v; break;
    case CTL_BASELINE: r->baseline = v; break;
    case CTL_QUIET: r->o.quiet = 1; break;
    case CTL_LOCAL_AGENTS: return parse_u32(opt->name, v, 64, &r->o.local_agents);
    case CTL_AGENT_THREADS: return parse_u32(opt->name, v, PS_MAX_THREADS, &r->o.local_threads);
    case CTL_MAX_REGRESSION:
        if (compare_parse_limit(v, &r->max_regression, err, sizeof err) != 0) {
            fprintf(stderr, "pushstorm run: %s\n", err);
            return -1;
        }
        break;
    }
    return 0;
}

static int run_arg(void *ctx, const char *a)
{
    struct run_args *r = ctx;
    if (r->plan_path) {
        fprintf(stderr, "pushstorm run: unexpected argument \"%s\" (one plan per run)\n", a);
        return -1;
    }
    r->plan_path = a;
    return 0;
}

static const struct ps_cli run_cli = {
    CTL_CLI("run"), .args = "PLAN.yaml", .opts = run_opts,
    .n_opts = sizeof run_opts / sizeof run_opts[0], .on_opt = run_opt, .on_arg = run_arg,
    .about = "Runs the plan across the agents, stores the results and prints the summary.",
    .notes = CTL_EXIT_NOTES,
};

static int cmd_run(int argc, char **argv)
{
    struct run_args r = {.o = {.db_path = DEFAULT_DB, .listen = DEFAULT_LISTEN},
                         .max_regression = COMPARE_DEFAULT_MAX_REGRESSION};
    char bin[PATH_MAX], err[512];
    enum ps_cli_rc prc = ps_cli_parse(&run_cli, &r, argc, argv);
    if (prc != PS_CLI_OK)
        return ps_cli_exit_status(prc);
    struct run_opts o = r.o;
    const char *plan_path = r.plan_path, *baseline = r.baseline;
    double max_regression = r.max_regression;
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

static int check_arg(void *ctx, const char *a)
{
    const char **path = ctx;
    if (*path) {
        fprintf(stderr, "pushstorm check: expected one plan file\n");
        return -1;
    }
    *path = a;
    return 0;
}

static const struct ps_cli check_cli = {
    CTL_CLI("check"), .args = "PLAN.yaml", .on_arg = check_arg,
    .about = "Validates the plan and prints how its connections split over the agents.",
};

static int cmd_check(int argc, char **argv)
{
    const char *path = NULL;
    enum ps_cli_rc prc = ps_cli_parse(&check_cli, &path, argc, argv);
    if (prc != PS_CLI_OK)
        return ps_cli_exit_status(prc);
    if (!path) {
        fprintf(stderr, "pushstorm check: expected one plan file\n");
        return 2;
    }
    char *text;
    struct plan *p = load_plan(path, &text);
    if (!p)
        return 2;
    print_split(p);
    free(text);
    free(p);
    return 0;
}

/* Arguments of the commands that read a database (runs, report, compare). */
struct db_args {
    const char *prog;            /* "pushstorm report": starts its messages */
    int         want_ids;        /* run ids expected */
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

static int db_opt(void *ctx, const struct ps_cli_opt *opt, const char *v)
{
    struct db_args *d = ctx;
    const char **file = opt->key == CTL_DB      ? &d->db
                        : opt->key == CTL_HTML  ? &d->html
                        : opt->key == CTL_JUNIT ? &d->junit
                        : opt->key == CTL_CSV   ? &d->csv
                                                : NULL;
    if (file) {
        /* "-" is stdout for the file formats, but never a directory or a database. */
        int dash_ok = !strcmp(v, "-") && (file == &d->html || file == &d->junit);
        if (!v[0] || (v[0] == '-' && !dash_ok)) {
            fprintf(stderr, "%s: %s needs a %s\n", d->prog, opt->name,
                    file == &d->csv ? "directory" : "file name");
            return -1;
        }
        *file = v;
    } else if (opt->key == CTL_JSON) {
        d->json_wanted = 1;
        d->json = v;
    } else if (opt->key == CTL_MAX_REGRESSION) {
        char err[256];
        if (compare_parse_limit(v, &d->max_regression, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", d->prog, err);
            return -1;
        }
    }
    return 0;
}

/* "--json 5" before the run id means the run, not a file named 5. */
static int db_wants(void *ctx, const struct ps_cli_opt *opt, const char *next)
{
    const struct db_args *d = ctx;
    (void)opt;
    return next[0] != '-' && !(d->n_ids < d->want_ids && all_digits(next));
}

static int db_arg(void *ctx, const char *a)
{
    struct db_args *d = ctx;
    if (d->n_ids >= d->want_ids) {
        fprintf(stderr, "%s: unexpected argument \"%s\"\n", d->prog, a);
        return -1;
    }
    if (parse_run_id(a, &d->ids[d->n_ids]) != 0)
        return -1;
    d->n_ids++;
    return 0;
}

#define CTL_DB_CLI(cmd, table)                                                                \
    CTL_CLI(cmd), .opts = table, .n_opts = sizeof table / sizeof table[0], .on_opt = db_opt, \
                  .on_arg = db_arg, .wants = db_wants

static const struct ps_cli runs_cli = {
    CTL_DB_CLI("runs", runs_opts),
    .about = "Lists the runs in the database, newest last.",
};

static const struct ps_cli report_cli = {
    CTL_DB_CLI("report", report_opts), .args = "RUN",
    .about = "Prints a run's summary, or writes it in the formats asked for.",
    .notes = CTL_RUN_NOTES,
};

static const struct ps_cli compare_cli = {
    CTL_DB_CLI("compare", compare_opts), .args = "BASE RUN",
    .about = "Sets two runs side by side; exit status 1 when a key figure regressed.",
    .notes = CTL_RUN_NOTES,
};

/* Parses a database command's arguments; prints what is wrong. Returns
 * PS_CLI_OK, or what ps_cli_parse returned otherwise. */
static enum ps_cli_rc parse_db_args(const struct ps_cli *cli, int argc, char **argv, int want_ids,
                                    struct db_args *d)
{
    memset(d, 0, sizeof *d);
    d->prog = cli->prog;
    d->want_ids = want_ids;
    d->db = DEFAULT_DB;
    d->max_regression = COMPARE_DEFAULT_MAX_REGRESSION;
    enum ps_cli_rc rc = ps_cli_parse(cli, d, argc, argv);
    if (rc == PS_CLI_OK && d->n_ids < want_ids) {
        fprintf(stderr, "%s: %s\n", cli->prog,
                want_ids == 1 ? "which run? (pushstorm report RUN; see pushstorm runs)"
                              : "which runs? (pushstorm compare BASE RUN; see pushstorm runs)");
        return PS_CLI_ERROR;
    }
    return rc;
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
    sqlite3_stmt *st;
    if (*id)
        return 0;
    if (sqlite3_prepare_v2(s->db, "SELECT max(id) FROM runs", -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "pushstorm: %s: cannot read the runs: %s\n", db, sqlite3_errmsg(s->db));
        return -1;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        *id = (uint32_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
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
    enum ps_cli_rc prc = parse_db_args(&runs_cli, argc, argv, 0, &d);
    if (prc != PS_CLI_OK)
        return ps_cli_exit_status(prc);
    if (open_db(&d, &s) != 0)
        return 2;
    int rc = report_print_runs(&s, stdout);
    if (rc != 0)
        fprintf(stderr, "pushstorm runs: %s: cannot read the runs: %s\n", d.db, sqlite3_errmsg(s.db));
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
    enum ps_cli_rc prc = parse_db_args(&report_cli, argc, argv, 1, &d);
    if (prc != PS_CLI_OK)
        return ps_cli_exit_status(prc);
    if (open_db(&d, &s) != 0)
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
    enum ps_cli_rc prc = parse_db_args(&compare_cli, argc, argv, 2, &d);
    if (prc != PS_CLI_OK)
        return ps_cli_exit_status(prc);
    if (open_db(&d, &s) != 0)
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

/* The commands: `pushstorm --help` lists their synopses, made from their tables. */
static const struct ctl_cmd {
    const char          *name;
    const struct ps_cli *cli;
    int (*run)(int argc, char **argv);
} ctl_cmds[] = {
    {"run", &run_cli, cmd_run},          {"check", &check_cli, cmd_check},
    {"runs", &runs_cli, cmd_runs},       {"report", &report_cli, cmd_report},
    {"compare", &compare_cli, cmd_compare},
};

/* Options before any command: --version, and a pointer to --help for the rest. */
static const struct ps_cli ctl_top_cli = {
    CTL_CLI_VERSION, .prog = "pushstorm", .synopsis = "COMMAND [options]",
};

static void usage(FILE *out)
{
    for (size_t i = 0; i < sizeof ctl_cmds / sizeof ctl_cmds[0]; i++)
        ps_cli_synopsis(ctl_cmds[i].cli, i ? "       " : "usage: ", out);
    fprintf(out,
            "       pushstorm --version\n"
            "       pushstorm COMMAND --help   (that command's options)\n"
            CTL_RUN_NOTES
            "defaults: --db %s, --listen %s, --max-regression %g%%\n"
            CTL_EXIT_NOTES,
            DEFAULT_DB, DEFAULT_LISTEN, COMPARE_DEFAULT_MAX_REGRESSION * 100);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (argv[1][0] == '-')
        return ps_cli_exit_status(ps_cli_parse(&ctl_top_cli, NULL, 1, argv + 1));
    const struct ctl_cmd *cmd = NULL;
    for (size_t i = 0; i < sizeof ctl_cmds / sizeof ctl_cmds[0]; i++)
        if (!strcmp(argv[1], ctl_cmds[i].name))
            cmd = &ctl_cmds[i];
    if (!cmd) {
        fprintf(stderr, "pushstorm: unknown command \"%s\"\n", argv[1]);
        usage(stderr);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmd->run(argc - 2, argv + 2);
    curl_global_cleanup();
    return rc;
}
