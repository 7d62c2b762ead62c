/* pushstorm: the controller CLI.
 *
 *   pushstorm run PLAN.yaml [--db FILE] [--listen ADDR] [--local-agents N]
 *                           [--agent-threads N] [--agent-args "ARGS"] [--quiet]
 *                           [--baseline last-pass|RUN] [--max-regression PCT]
 *   pushstorm check PLAN.yaml
 *   pushstorm runs [--db FILE]
 *   pushstorm report RUN [--db FILE] [--html FILE] [--json [FILE]] [--csv DIR]
 *                        [--junit FILE]
 *   pushstorm compare BASE RUN [--db FILE] [--max-regression PCT]
 *   pushstorm prune [--db FILE] [--keep N] [--older-than AGE] [--dry-run]
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
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"
#include "compare.h"
#include "local.h"
#include "plan.h"
#include "ps_proto.h"
#include "ps_units.h"
#include "report.h"
#include "run.h"
#include "store.h"

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
    plan_print_targets(p, stdout);
    plan_print_phases(p, stdout);
}

/* After a run that was carried out: compare it with its baseline. The exit
 * status is the worse of the run's (0 pass, 1 threshold failed) and the
 * comparison's (1 regression, 2 the comparison could not be made). */
static int run_compare_baseline(const struct run_opts *o, const char *plan_name, uint32_t last_id,
                                const char *baseline, const struct compare_limits *lim,
                                int run_rc)
{
    char err[512];
    uint32_t run_id;
    if (compare_find_run(o->db_path, last_id, plan_name, &run_id, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm: baseline comparison: %s\n", err);
        return 2;
    }
    int crc = compare_after_run(o->db_path, run_id, baseline, lim);
    return crc > run_rc ? crc : run_rc;
}

static int cmd_run(int argc, char **argv)
{
    struct cli_run_args r;
    char bin[PATH_MAX], err[512];
    enum ps_cli_rc prc = cli_parse_run(&r, argc, argv);
    if (prc != PS_CLI_OK)
        return ps_cli_exit_status(prc);
    struct run_opts o = r.o;
    const char *plan_path = r.plan_path, *baseline = r.baseline;
    struct compare_limits limits = r.limits;
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
    if (o.agent_args && !o.local_agents) {
        fprintf(stderr, "pushstorm run: --agent-args goes with --local-agents N (agents started "
                "elsewhere take their own options)\n");
        free(text);
        free(p);
        return 2;
    }
    if (o.local_agents)
        o.local_agents = local_plan_expect(p, o.local_agents);
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
        rc = run_compare_baseline(&o, p->name, last_id, baseline, &limits, rc);
    free(text);
    free(p);
    return rc;
}

static int cmd_check(int argc, char **argv)
{
    const char *path;
    enum ps_cli_rc prc = cli_parse_check(&path, argc, argv);
    if (prc != PS_CLI_OK)
        return ps_cli_exit_status(prc);
    char *text;
    struct plan *p = load_plan(path, &text);
    if (!p)
        return 2;
    print_split(p);
    free(text);
    free(p);
    return 0;
}

static int open_db(const struct cli_db_args *d, struct store *s)
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
    struct cli_db_args d;
    struct store s;
    enum ps_cli_rc prc = cli_parse_db(&d, "runs", argc, argv);
    if (prc != PS_CLI_OK)
        return ps_cli_exit_status(prc);
    if (open_db(&d, &s) != 0)
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
    struct cli_db_args d;
    struct store s;
    enum ps_cli_rc prc = cli_parse_db(&d, "report", argc, argv);
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
    struct cli_db_args d;
    struct store s;
    enum ps_cli_rc prc = cli_parse_db(&d, "compare", argc, argv);
    if (prc != PS_CLI_OK)
        return ps_cli_exit_status(prc);
    if (open_db(&d, &s) != 0)
        return 2;
    if (resolve_last(&s, d.db, &d.ids[0]) != 0 || resolve_last(&s, d.db, &d.ids[1]) != 0) {
        store_close(&s);
        return 2;
    }
    char err[512];
    int rc = compare_runs(&s, d.ids[0], d.ids[1], &d.limits, stdout, err, sizeof err);
    if (rc == 2)
        fprintf(stderr, "pushstorm compare: %s: %s\n", d.db, err);
    store_close(&s);
    return rc;
}

/* One line per run prune selected, as it goes. */
static void prune_line(void *ctx, const struct store_prune_run *run)
{
    const struct store_prune_opts *o = ctx;
    time_t t = (time_t)(run->started_us / 1000000);
    struct tm tm;
    char when[32] = "-";
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    printf("%s run %u \"%s\" started %s UTC, %s%s\n",
           run->running ? "kept" : o->dry_run ? "would remove" : "removed", run->id, run->name,
           when, run->status, run->running ? ": still running (its controller is alive, or on "
                                             "another host)" : "");
}

static int cmd_prune(int argc, char **argv)
{
    struct cli_prune_args p;
    struct store s;
    char err[512];
    enum ps_cli_rc prc = cli_parse_prune(&p, argc, argv);
    if (prc != PS_CLI_OK)
        return ps_cli_exit_status(prc);
    /* never creates a database: a mistyped --db is an error, not an empty file */
    if (access(p.db, F_OK) != 0) {
        fprintf(stderr, "pushstorm prune: %s: no such database\n", p.db);
        return 2;
    }
    if (store_open(&s, p.db, 0, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm prune: %s\n", err);
        return 2;
    }
    struct store_prune_result res;
    int rc = store_prune(&s, &p.o, prune_line, &p.o, &res, err, sizeof err);
    store_close(&s);
    if (rc != 0) {
        fprintf(stderr, "pushstorm prune: %s; nothing removed\n", err);
        return 2;
    }
    char before[32], after[32];
    ps_units_fmt_count((double)res.bytes_before, before, sizeof before);
    ps_units_fmt_count((double)res.bytes_after, after, sizeof after);
    printf("%s %u run%s, %llu rows", p.o.dry_run ? "would remove" : "removed", res.runs,
           res.runs == 1 ? "" : "s", (unsigned long long)res.rows);
    for (size_t i = 0; i < res.n_tables; i++)
        printf("%s%s %llu", i ? ", " : " (", res.tables[i].name,
               (unsigned long long)res.tables[i].rows);
    printf("%s\ndatabase %sB -> %sB (%lld -> %lld bytes)\n", res.n_tables ? ")" : "", before,
           after, (long long)res.bytes_before, (long long)res.bytes_after);
    if (res.vacuum_error[0])
        fprintf(stderr, "pushstorm prune: %s: the rows are removed but VACUUM could not run (%s):"
                        " the file keeps its size, its free pages go to later runs\n",
                p.db, res.vacuum_error);
    if (res.kept_running)
        fprintf(stderr, "pushstorm prune: %u run%s kept: still running\n", res.kept_running,
                res.kept_running == 1 ? "" : "s");
    return res.vacuum_error[0] || res.kept_running ? 1 : 0;
}

/* The commands (their options and usage: cli.c). */
static const struct ctl_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
} ctl_cmds[] = {
    {"run", cmd_run},       {"check", cmd_check},     {"runs", cmd_runs},
    {"report", cmd_report}, {"compare", cmd_compare}, {"prune", cmd_prune},
};

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        cli_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (argv[1][0] == '-')
        return ps_cli_exit_status(cli_parse_top(1, argv + 1));
    const struct ctl_cmd *cmd = NULL;
    for (size_t i = 0; i < sizeof ctl_cmds / sizeof ctl_cmds[0]; i++)
        if (!strcmp(argv[1], ctl_cmds[i].name))
            cmd = &ctl_cmds[i];
    if (!cmd) {
        fprintf(stderr, "pushstorm: unknown command \"%s\"\n", argv[1]);
        cli_usage(stderr);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmd->run(argc - 2, argv + 2);
    curl_global_cleanup();
    return rc;
}
