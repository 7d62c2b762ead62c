/* pushstorm: the controller CLI.
 *
 *   pushstorm run PLAN.yaml [--db FILE] [--listen ADDR] [--local-agents N]
 *                           [--agent-threads N] [--quiet]
 *   pushstorm check PLAN.yaml
 *   pushstorm runs [--db FILE]
 *   pushstorm report RUN [--db FILE]
 *
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
            "                               [--agent-threads N] [--quiet]\n"
            "       pushstorm check PLAN.yaml\n"
            "       pushstorm runs [--db FILE]\n"
            "       pushstorm report RUN [--db FILE]\n"
            "       pushstorm --version\n"
            "defaults: --db %s, --listen %s\n"
            "exit status: 0 pass, 1 a threshold failed, 2 the run could not be carried out\n",
            DEFAULT_DB, DEFAULT_LISTEN);
}

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
    for (uint32_t i = 0; i < p->agents.expect; i++) {
        uint64_t n = total / p->agents.expect + (i < total % p->agents.expect);
        printf("  agent %u: %llu connections\n", i + 1, (unsigned long long)n);
    }
    for (uint32_t i = 0; i < p->n_phases; i++)
        printf("  phase %u (line %d): %s\n", i + 1, p->phases[i].line,
               plan_phase_name(p->phases[i].kind));
}

static int cmd_run(int argc, char **argv)
{
    struct run_opts o = {.db_path = DEFAULT_DB, .listen = DEFAULT_LISTEN};
    const char *plan_path = NULL;
    char bin[PATH_MAX];
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
        else if (a[0] == '-' || plan_path) {
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

static int open_db(int argc, char **argv, int want_run, uint32_t *run_id, struct store *s)
{
    const char *db = DEFAULT_DB;
    int have_run = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--db") && i + 1 < argc)
            db = argv[++i];
        else if (want_run && !have_run && argv[i][0] != '-') {
            char *end;
            unsigned long v = strtoul(argv[i], &end, 10);
            if (*end || end == argv[i] || v == 0 || v > UINT32_MAX) {
                fprintf(stderr, "pushstorm: \"%s\" is not a run id (see pushstorm runs)\n", argv[i]);
                return -1;
            }
            *run_id = (uint32_t)v;
            have_run = 1;
        } else {
            fprintf(stderr, "pushstorm: unexpected argument \"%s\"\n", argv[i]);
            return -1;
        }
    }
    if (want_run && !have_run) {
        fprintf(stderr, "pushstorm report: which run? (pushstorm report RUN)\n");
        return -1;
    }
    char err[512];
    if (store_open(s, db, 1, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm: %s\n", err);
        return -1;
    }
    return 0;
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
    else if (!strcmp(argv[1], "runs") || !strcmp(argv[1], "report")) {
        int want_run = !strcmp(argv[1], "report");
        struct store s;
        uint32_t run_id = 0;
        if (open_db(argc - 2, argv + 2, want_run, &run_id, &s) == 0) {
            if (!want_run)
                rc = report_print_runs(&s, stdout) == 0 ? 0 : 2;
            else if (report_print_summary(&s, run_id, stdout) != 0)
                fprintf(stderr, "pushstorm: no run %u in this database (see pushstorm runs)\n",
                        run_id);
            else
                rc = 0;
            store_close(&s);
        }
    } else {
        fprintf(stderr, "pushstorm: unknown command \"%s\"\n", argv[1]);
        usage(stderr);
    }
    curl_global_cleanup();
    return rc;
}
