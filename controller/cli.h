/* cli: the controller's command lines, pushstorm run | check | runs | report |
 * compare | prune, each one common/ps_cli table (which makes its --help as well), and
 * the overview `pushstorm --help` made of their synopses. Each parser fills
 * its struct with the defaults first, prints what is wrong itself, and returns
 * what ps_cli_parse returns: PS_CLI_OK, PS_CLI_DONE (help or version printed:
 * exit 0) or PS_CLI_ERROR (exit 2). */
#ifndef CTL_CLI_H
#define CTL_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "compare.h"
#include "ps_cli.h"
#include "run.h"
#include "store.h"

/* What pushstorm run is told on its command line. */
struct cli_run_args {
    struct run_opts o;
    const char     *plan_path, *baseline;
    struct compare_limits limits;
};

/* Arguments of the commands that read a database (runs, report, compare). */
struct cli_db_args {
    const char *prog;            /* "pushstorm report": starts its messages */
    int         want_ids;        /* run ids expected */
    const char *db;
    int         n_ids;
    uint32_t    ids[2];
    const char *html, *json, *csv, *junit;
    int         json_wanted;     /* --json given; json NULL or "-" = stdout */
    struct compare_limits limits;
};

/* What pushstorm prune is told: which runs to keep (store_prune_opts). */
struct cli_prune_args {
    const char *db;
    struct store_prune_opts o;
};

enum ps_cli_rc cli_parse_run(struct cli_run_args *r, int argc, char **argv);
/* At least one of --keep and --older-than. */
enum ps_cli_rc cli_parse_prune(struct cli_prune_args *p, int argc, char **argv);
/* Exactly one plan file. */
enum ps_cli_rc cli_parse_check(const char **plan_path, int argc, char **argv);
/* cmd: "runs", "report" (one run id) or "compare" (two). */
enum ps_cli_rc cli_parse_db(struct cli_db_args *d, const char *cmd, int argc, char **argv);
/* Options before any command (--version). */
enum ps_cli_rc cli_parse_top(int argc, char **argv);
/* The synopsis of every command, the defaults and the exit statuses. */
void cli_usage(FILE *out);

#endif
