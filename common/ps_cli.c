/* ps_cli.c: the table-driven option parser and the usage made from its table.
 *
 * The parser walks argv once: an argument starting with "-" (but not "-"
 * alone) is looked up by its name, the part before any '='; "--" ends the
 * options. The built-in --help, -h and --version stop the walk at once, so the
 * caller never starts work after printing them; so does the first error. Errors
 * go to c->err with the program prefix and a pointer to --help, so every
 * program words them alike. */
#include "ps_cli.h"

#include <string.h>

#define PS_CLI_WIDTH    80   /* the synopsis wraps before this column */
#define PS_CLI_HELP_COL 24   /* help texts start in this column */

static FILE *cli_out(const struct ps_cli *c) { return c->out ? c->out : stdout; }
static FILE *cli_err(const struct ps_cli *c) { return c->err ? c->err : stderr; }

static const struct ps_cli_opt *cli_find(const struct ps_cli *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->n_opts; i++)
        if (strlen(c->opts[i].name) == len && !strncmp(c->opts[i].name, name, len))
            return &c->opts[i];
    return NULL;
}

static void cli_version(const struct ps_cli *c)
{
    fprintf(cli_out(c), "%s %s\n", c->name, c->version);
    if (c->version_note)
        fprintf(cli_out(c), "%s\n", c->version_note);
}

/* One option at argv[*i]; advances *i past a separate value. */
static enum ps_cli_rc cli_option(const struct ps_cli *c, void *ctx, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    if (!eq && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
        ps_cli_usage(c, cli_out(c));
        return PS_CLI_DONE;
    }
    if (!eq && !strcmp(a, "--version")) {
        cli_version(c);
        return PS_CLI_DONE;
    }
    const struct ps_cli_opt *o = cli_find(c, a, len);
    if (!o) {
        fprintf(cli_err(c), "%s: unknown option \"%.*s\" (see %s --help)\n", c->prog, (int)len, a,
                c->prog);
        return PS_CLI_ERROR;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (o->arg == PS_CLI_FLAG && value) {
        fprintf(cli_err(c), "%s: %s takes no value\n", c->prog, o->name);
        return PS_CLI_ERROR;
    }
    if (!value && *i + 1 < argc) {
        const char *next = argv[*i + 1];
        int take = o->arg == PS_CLI_VALUE ||
                   (o->arg == PS_CLI_OPTIONAL &&
                    (c->wants ? c->wants(ctx, o, next) : next[0] != '-'));
        if (take) {
            value = next;
            (*i)++;
        }
    }
    if (!value && o->arg == PS_CLI_VALUE) {
        fprintf(cli_err(c), "%s: %s needs a value (%s) (see %s --help)\n", c->prog, o->name,
                o->meta ? o->meta : "", c->prog);
        return PS_CLI_ERROR;
    }
    return c->on_opt(ctx, o, value) == 0 ? PS_CLI_OK : PS_CLI_ERROR;
}

enum ps_cli_rc ps_cli_parse(const struct ps_cli *c, void *ctx, int argc, char **argv)
{
    int positional_only = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        enum ps_cli_rc rc;
        if (!positional_only && !strcmp(a, "--")) {
            positional_only = 1;
            continue;
        }
        if (!positional_only && a[0] == '-' && a[1])
            rc = cli_option(c, ctx, argc, argv, &i);
        else if (!c->on_arg) {
            fprintf(cli_err(c), "%s: unexpected argument \"%s\": options only (see %s --help)\n",
                    c->prog, a, c->prog);
            rc = PS_CLI_ERROR;
        } else
            rc = c->on_arg(ctx, a) == 0 ? PS_CLI_OK : PS_CLI_ERROR;
        if (rc != PS_CLI_OK)
            return rc;
    }
    return PS_CLI_OK;
}

int ps_cli_exit_status(enum ps_cli_rc rc)
{
    return rc == PS_CLI_DONE ? 0 : 2;
}

/* "--db FILE", "--json [FILE]", "--quiet" into buf. */
static int cli_form(const struct ps_cli_opt *o, char *buf, size_t len)
{
    const char *meta = o->meta ? o->meta : "VALUE";
    switch (o->arg) {
    case PS_CLI_VALUE:
        return snprintf(buf, len, "%s %s", o->name, meta);
    case PS_CLI_OPTIONAL:
        return snprintf(buf, len, "%s [%s]", o->name, meta);
    default:
        return snprintf(buf, len, "%s", o->name);
    }
}

void ps_cli_synopsis(const struct ps_cli *c, const char *lead, FILE *f)
{
    int indent = (int)(strlen(lead) + strlen(c->prog)) + 1, col = indent;
    fprintf(f, "%s%s", lead, c->prog);
    if (c->args) {
        fprintf(f, " %s", c->args);
        col += (int)strlen(c->args) + 1;
    }
    if (c->synopsis) {
        fprintf(f, " %s\n", c->synopsis);
        return;
    }
    for (size_t i = 0; i < c->n_opts; i++) {
        char item[96];
        int n = cli_form(&c->opts[i], item, sizeof item) + 3;  /* " [" and "]" */
        if (col + n > PS_CLI_WIDTH && col > indent) {
            fprintf(f, "\n%*s", indent - 1, "");
            col = indent - 1;
        }
        fprintf(f, " [%s]", item);
        col += n;
    }
    fputc('\n', f);
}

/* "  --db FILE             help", the help's further lines under its first. */
static void cli_opt_line(const char *form, const char *help, FILE *f)
{
    int n = fprintf(f, "  %s", form);
    if (n >= PS_CLI_HELP_COL - 1) {
        fputc('\n', f);
        n = 0;
    }
    while (help && *help) {
        const char *nl = strchr(help, '\n');
        int len = nl ? (int)(nl - help) : (int)strlen(help);
        fprintf(f, "%*s%.*s\n", PS_CLI_HELP_COL - n, "", len, help);
        n = 0;
        help = nl ? nl + 1 : NULL;
    }
    if (!help && n)
        fputc('\n', f);
}

void ps_cli_usage(const struct ps_cli *c, FILE *f)
{
    ps_cli_synopsis(c, "usage: ", f);
    if (c->about)
        fprintf(f, "\n%s\n", c->about);
    fputc('\n', f);
    for (size_t i = 0; i < c->n_opts; i++) {
        char form[96];
        cli_form(&c->opts[i], form, sizeof form);
        cli_opt_line(form, c->opts[i].help, f);
    }
    cli_opt_line("--help, --version", "this text; the version", f);
    if (c->notes)
        fprintf(f, "\n%s", c->notes);
}
