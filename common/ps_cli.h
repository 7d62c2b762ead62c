/* ps_cli: the one command-line convention of pushstorm, pushstorm-agent and
 * refpush, driven by a table of options.
 *
 * Options are long ("--name"), given as "--name value" or "--name=value"; a
 * flag takes no value. --help (or -h) prints the usage and --version prints
 * "NAME VERSION", both to stdout, and the caller exits 0. An unknown option, a
 * missing value or a value given to a flag is an error that names the option;
 * the caller exits 2. Anything not starting with '-' (and everything after
 * "--") is a positional argument. The usage text is made from the same table,
 * so an option cannot be accepted without being documented, or the reverse.
 *
 * Values are handed to the caller's on_opt as they come, pointing into argv;
 * the handler checks them and prints its own message, prefixed with prog. */
#ifndef PS_CLI_H
#define PS_CLI_H

#include <stddef.h>
#include <stdio.h>

#define PS_CLI_STR_(x) #x
#define PS_CLI_STR(x)  PS_CLI_STR_(x)

enum ps_cli_arg {
    PS_CLI_FLAG,      /* --quiet */
    PS_CLI_VALUE,     /* --db FILE, --db=FILE */
    PS_CLI_OPTIONAL,  /* --json, --json FILE (when wants() says so), --json=FILE */
};

struct ps_cli_opt {
    const char     *name;  /* "--db" */
    enum ps_cli_arg arg;
    const char     *meta;  /* the value in the usage: "FILE" */
    const char     *help;  /* usage text; each '\n' continues in the help column */
    int             key;   /* handed to on_opt */
};

struct ps_cli {
    const char *prog;      /* "pushstorm run": starts every message and the usage */
    const char *name;      /* "pushstorm": the NAME of --version */
    const char *version;   /* "0.1.0" */
    const char *version_note; /* a second line of --version, or NULL */
    const char *args;      /* positional arguments in the synopsis ("PLAN.yaml"), or NULL */
    const char *synopsis;  /* replaces the generated option list of the synopsis, or NULL */
    const char *about;     /* paragraph between synopsis and options, or NULL */
    const char *notes;     /* text after the options, or NULL */
    const struct ps_cli_opt *opts;
    size_t      n_opts;
    /* 0 accepted, -1 rejected (message printed). value is NULL for a flag and
     * for an optional value not given. */
    int (*on_opt)(void *ctx, const struct ps_cli_opt *o, const char *value);
    /* NULL: positional arguments are refused. */
    int (*on_arg)(void *ctx, const char *arg);
    /* For PS_CLI_OPTIONAL: is next (never NULL) this option's value? NULL:
     * when it does not start with '-'. */
    int (*wants)(void *ctx, const struct ps_cli_opt *o, const char *next);
    FILE *out, *err;       /* NULL: stdout, stderr */
};

enum ps_cli_rc {
    PS_CLI_ERROR = -1,  /* message printed: exit 2 */
    PS_CLI_OK = 0,
    PS_CLI_DONE = 1,    /* --help or --version printed: exit 0 */
};

/* Parses argv[0..argc) (no program name) into ctx through the callbacks. */
enum ps_cli_rc ps_cli_parse(const struct ps_cli *c, void *ctx, int argc, char **argv);
/* The exit status for a parse result other than PS_CLI_OK. */
int ps_cli_exit_status(enum ps_cli_rc rc);

/* "usage: pushstorm run PLAN.yaml [--db FILE] ...", wrapped; lead is printed
 * first ("usage: "), continuation lines are indented under prog's end. */
void ps_cli_synopsis(const struct ps_cli *c, const char *lead, FILE *f);
/* Synopsis, about, one line per option, --help/--version, notes. */
void ps_cli_usage(const struct ps_cli *c, FILE *f);

#endif
