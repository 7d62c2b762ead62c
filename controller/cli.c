/* cli.c: the controller's option tables and what each option sets.
 *
 * The tables are data, so the usage printed by --help, the man page made from
 * it and the parser cannot disagree. Options shared by several commands
 * (--db, --max-regression) are one macro each, so they read the same
 * everywhere. Values are checked here, while parsing, so a bad one is reported
 * naming its option before any database or plan is opened. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "local.h"
#include "ps_proto.h"
#include "ps_time.h"
#include "ps_units.h"

#define DEFAULT_DB     "pushstorm.db"
#define DEFAULT_LISTEN "tcp://0.0.0.0:7700"

/* Every command's version, --help and messages start alike. */
#define CTL_CLI_VERSION                              \
    .name = "pushstorm", .version = PS_VERSION_STRING, \
    .version_note = "protocol " PS_CLI_STR(PS_PROTO_VERSION)
#define CTL_CLI(cmd) CTL_CLI_VERSION, .prog = "pushstorm " cmd

enum ctl_opt_key {
    CTL_DB, CTL_LISTEN, CTL_LOCAL_AGENTS, CTL_AGENT_THREADS, CTL_AGENT_ARGS, CTL_QUIET, CTL_METRICS,
    CTL_BASELINE, CTL_MAX_REGRESSION, CTL_NOISE_FLOOR, CTL_NOISE_FLOOR_REL, CTL_HTML, CTL_JSON, CTL_CSV, CTL_JUNIT,
    CTL_AUTH_KEY,
    CTL_TLS_CERT, CTL_TLS_CA,
    CTL_KEEP, CTL_OLDER_THAN, CTL_DRY_RUN,
};

#define CTL_OPT_DB {"--db", PS_CLI_VALUE, "FILE", "the results database (default " DEFAULT_DB ")", CTL_DB}
#define CTL_OPT_MAX_REGRESSION                                                   \
    {"--max-regression", PS_CLI_VALUE, "PCT",                                    \
     "a key figure this much worse than the baseline\nis a regression (default 10%)", \
     CTL_MAX_REGRESSION},                                                     \
    {"--noise-floor", PS_CLI_VALUE, "DUR", "a duration change this small is noise,\nnever a "   \
     "regression (default 500us)", CTL_NOISE_FLOOR},                            \
    {"--noise-floor-rel", PS_CLI_VALUE, "PCT", "a change this small a share of the base\nis "   \
     "noise (default 5%)", CTL_NOISE_FLOOR_REL}

static const struct ps_cli_opt run_opts[] = {
    CTL_OPT_DB,
    {"--listen", PS_CLI_VALUE, "ADDR", "where agents join (default " DEFAULT_LISTEN ")", CTL_LISTEN},
    {"--local-agents", PS_CLI_VALUE, "N", "start N agents (0 to 64) on this machine; the plan\n"
     "expects N unless it says agents.expect (then that wins);\n"
     "with targets on 127.x.y.z each gets source addresses\n"
     "127.101.I.1-K of its own", CTL_LOCAL_AGENTS},
    {"--agent-threads", PS_CLI_VALUE, "N", "event loops of each local agent", CTL_AGENT_THREADS},
    {"--agent-args", PS_CLI_VALUE, "\"ARGS\"", "more options for every local agent, split at blanks\n"
     "(quotes group), e.g. \"--lag-threshold 50ms\"; --source-ips\n"
     "here replaces the automatic addresses", CTL_AGENT_ARGS},
    {"--quiet", PS_CLI_FLAG, NULL, "no live progress, the summary only", CTL_QUIET},
    {"--metrics", PS_CLI_VALUE, "[HOST:]PORT", "serve live Prometheus metrics here", CTL_METRICS},
    {"--auth-key", PS_CLI_VALUE, "FILE", "agents must prove this shared key (a file only its owner\n"
     "can read); see docs/security.md", CTL_AUTH_KEY},
    {"--tls-cert", PS_CLI_VALUE, "FILE", "with a tls+tcp:// --listen: this controller's certificate\n"
     "and key (PEM, one file)", CTL_TLS_CERT},
    {"--tls-ca", PS_CLI_VALUE, "FILE", "with a tls+tcp:// --listen: the CA agents' certificates\n"
     "must be signed by", CTL_TLS_CA},
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

static const struct ps_cli_opt prune_opts[] = {
    CTL_OPT_DB,
    {"--keep", PS_CLI_VALUE, "N", "keep the N newest runs", CTL_KEEP},
    {"--older-than", PS_CLI_VALUE, "AGE", "remove runs started more than AGE ago\n(30d, 2w, 12h, "
     "90m)", CTL_OLDER_THAN},
    {"--dry-run", PS_CLI_FLAG, NULL, "say what would be removed, remove nothing", CTL_DRY_RUN},
};

#define CTL_RUN_NOTES "RUN, BASE: a run id (see pushstorm runs) or \"last\"\n"
#define CTL_EXIT_NOTES                                                             \
    "exit status: 0 pass, 1 a threshold failed or a figure regressed past the limit,\n" \
    "             2 the run or command could not be carried out\n"

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


static int run_opt(void *ctx, const struct ps_cli_opt *opt, const char *v)
{
    struct cli_run_args *r = ctx;
    char err[512];
    switch (opt->key) {
    case CTL_DB: r->o.db_path = v; break;
    case CTL_LISTEN: r->o.listen = v; break;
    case CTL_METRICS: r->o.metrics = v; break;
    case CTL_AUTH_KEY: r->o.auth_key = v; break;
    case CTL_TLS_CERT: r->o.tls.cert = v; break;
    case CTL_TLS_CA: r->o.tls.ca = v; break;
    case CTL_BASELINE: r->baseline = v; break;
    case CTL_QUIET: r->o.quiet = 1; break;
    case CTL_LOCAL_AGENTS: return parse_u32(opt->name, v, 64, &r->o.local_agents);
    case CTL_AGENT_THREADS: return parse_u32(opt->name, v, PS_MAX_THREADS, &r->o.local_threads);
    case CTL_AGENT_ARGS: {
        struct local_args words;   /* split again when the agents start */
        if (local_args_split(v, &words, err, sizeof err) != 0) {
            fprintf(stderr, "pushstorm run: %s\n", err);
            return -1;
        }
        r->o.agent_args = v;
        break;
    }
    case CTL_MAX_REGRESSION:
    case CTL_NOISE_FLOOR:
    case CTL_NOISE_FLOOR_REL:
        if (compare_parse_opt((int)(opt->key - CTL_MAX_REGRESSION), v, &r->limits, err, sizeof err) != 0) {
            fprintf(stderr, "pushstorm run: %s\n", err);
            return -1;
        }
        break;
    }
    return 0;
}

static int run_arg(void *ctx, const char *a)
{
    struct cli_run_args *r = ctx;
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

enum ps_cli_rc cli_parse_run(struct cli_run_args *r, int argc, char **argv)
{
    *r = (struct cli_run_args){.o = {.db_path = DEFAULT_DB, .listen = DEFAULT_LISTEN},
                               .limits = COMPARE_LIMITS_DEFAULT};
    return ps_cli_parse(&run_cli, r, argc, argv);
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

enum ps_cli_rc cli_parse_check(const char **plan_path, int argc, char **argv)
{
    *plan_path = NULL;
    enum ps_cli_rc rc = ps_cli_parse(&check_cli, plan_path, argc, argv);
    if (rc == PS_CLI_OK && !*plan_path) {
        fprintf(stderr, "pushstorm check: expected one plan file\n");
        return PS_CLI_ERROR;
    }
    return rc;
}


/* An age: a whole number of days (d) or weeks (w), or a duration. */
static int parse_age(const char *opt, const char *v, int64_t *us)
{
    char *end, err[128];
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (end != v && v[0] >= '0' && v[0] <= '9' && !errno && (!strcmp(end, "d") || !strcmp(end, "w")) &&
        n <= 100000) {
        *us = (int64_t)n * (*end == 'w' ? 7 : 1) * 86400 * 1000000;
        return 0;
    }
    if (ps_units_parse_duration_us(v, us, err, sizeof err) == 0 && *us >= 0)
        return 0;
    fprintf(stderr, "pushstorm prune: %s: expected an age like 30d, 2w, 12h or 90m, got \"%s\"\n",
            opt, v);
    return -1;
}

static int prune_opt(void *ctx, const struct ps_cli_opt *opt, const char *v)
{
    struct cli_prune_args *p = ctx;
    int64_t age;
    switch (opt->key) {
    case CTL_DB:
        if (!v[0] || v[0] == '-') {
            fprintf(stderr, "pushstorm prune: --db needs a file name\n");
            return -1;
        }
        p->db = v;
        break;
    case CTL_KEEP:
        p->o.keep_given = 1;
        return parse_u32(opt->name, v, UINT32_MAX, &p->o.keep);
    case CTL_OLDER_THAN:
        if (parse_age(opt->name, v, &age) != 0)
            return -1;
        p->o.cutoff_given = 1;
        p->o.cutoff_us = ps_time_wall_us() - age;
        break;
    case CTL_DRY_RUN: p->o.dry_run = 1; break;
    }
    return 0;
}

static int prune_arg(void *ctx, const char *a)
{
    (void)ctx;
    fprintf(stderr, "pushstorm prune: unexpected argument \"%s\" (runs are chosen by --keep and "
                    "--older-than)\n", a);
    return -1;
}

static const struct ps_cli prune_cli = {
    CTL_CLI("prune"), .opts = prune_opts, .n_opts = sizeof prune_opts / sizeof prune_opts[0],
    .on_opt = prune_opt, .on_arg = prune_arg,
    .about = "Removes old runs from the database, then gives the space back (VACUUM).",
    .notes = "A run is removed when no rule keeps it: --keep N keeps the N newest,\n"
             "--older-than AGE keeps those started within AGE, and the latest passing run of\n"
             "each plan (the next --baseline last-pass) is always kept. A run still running is\n"
             "never removed.\n"
             "exit status: 0 done, 1 done but a selected run was kept as still running or the\n"
             "             VACUUM could not run, 2 bad arguments or database error (nothing removed)\n",
};

enum ps_cli_rc cli_parse_prune(struct cli_prune_args *p, int argc, char **argv)
{
    *p = (struct cli_prune_args){.db = DEFAULT_DB};
    enum ps_cli_rc rc = ps_cli_parse(&prune_cli, p, argc, argv);
    if (rc == PS_CLI_OK && !p->o.keep_given && !p->o.cutoff_given) {
        fprintf(stderr, "pushstorm prune: which runs? give --keep N or --older-than AGE (or both)\n");
        return PS_CLI_ERROR;
    }
    return rc;
}

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
    struct cli_db_args *d = ctx;
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
    } else if (opt->key >= CTL_MAX_REGRESSION && opt->key <= CTL_NOISE_FLOOR_REL) {
        char err[256];
        if (compare_parse_opt((int)(opt->key - CTL_MAX_REGRESSION), v, &d->limits, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", d->prog, err);
            return -1;
        }
    }
    return 0;
}

/* "--json 5" before the run id means the run, not a file named 5. */
static int db_wants(void *ctx, const struct ps_cli_opt *opt, const char *next)
{
    const struct cli_db_args *d = ctx;
    (void)opt;
    return next[0] != '-' && !(d->n_ids < d->want_ids && all_digits(next));
}

static int db_arg(void *ctx, const char *a)
{
    struct cli_db_args *d = ctx;
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
                                    struct cli_db_args *d)
{
    memset(d, 0, sizeof *d);
    d->prog = cli->prog;
    d->want_ids = want_ids;
    d->db = DEFAULT_DB;
    d->limits = (struct compare_limits)COMPARE_LIMITS_DEFAULT;
    enum ps_cli_rc rc = ps_cli_parse(cli, d, argc, argv);
    if (rc == PS_CLI_OK && d->n_ids < want_ids) {
        fprintf(stderr, "%s: %s\n", cli->prog,
                want_ids == 1 ? "which run? (pushstorm report RUN; see pushstorm runs)"
                              : "which runs? (pushstorm compare BASE RUN; see pushstorm runs)");
        return PS_CLI_ERROR;
    }
    return rc;
}

/* The commands in the order `pushstorm --help` lists them. */
static const struct cli_cmd {
    const char          *name;
    const struct ps_cli *cli;
    int                  want_ids;  /* run ids of a database command */
} cli_cmds[] = {
    {"run", &run_cli, 0},   {"check", &check_cli, 0},     {"runs", &runs_cli, 0},
    {"report", &report_cli, 1}, {"compare", &compare_cli, 2}, {"prune", &prune_cli, 0},
};

enum ps_cli_rc cli_parse_db(struct cli_db_args *d, const char *cmd, int argc, char **argv)
{
    for (size_t i = 0; i < sizeof cli_cmds / sizeof cli_cmds[0]; i++)
        if (!strcmp(cli_cmds[i].name, cmd))
            return parse_db_args(cli_cmds[i].cli, argc, argv, cli_cmds[i].want_ids, d);
    return PS_CLI_ERROR;
}

/* Options before any command: --version, and a pointer to --help for the rest. */
static const struct ps_cli ctl_top_cli = {
    CTL_CLI_VERSION, .prog = "pushstorm", .synopsis = "COMMAND [options]",
};

void cli_usage(FILE *out)
{
    for (size_t i = 0; i < sizeof cli_cmds / sizeof cli_cmds[0]; i++)
        ps_cli_synopsis(cli_cmds[i].cli, i ? "       " : "usage: ", out);
    fprintf(out,
            "       pushstorm --version\n"
            "       pushstorm COMMAND --help   (that command's options)\n"
            CTL_RUN_NOTES
            "defaults: --db %s, --listen %s, --max-regression %g%%, --noise-floor %gus, "
            "--noise-floor-rel %g%%\n"
            CTL_EXIT_NOTES,
            DEFAULT_DB, DEFAULT_LISTEN, COMPARE_DEFAULT_MAX_REGRESSION * 100,
            COMPARE_DEFAULT_NOISE_US, COMPARE_DEFAULT_NOISE_REL * 100);
}

enum ps_cli_rc cli_parse_top(int argc, char **argv)
{
    return ps_cli_parse(&ctl_top_cli, NULL, argc, argv);
}
