/* pushstorm-agent: holds WebSocket connections for a pushstorm controller.
 *
 * main() parses the command line, runs the preflight (raising the soft fd
 * limit to the hard one), starts one worker thread per event loop, and hands
 * the main thread to the control channel (ctl.c) until the run is over
 * (--once), a signal arrives, or forever (an agent installed as a service
 * serves one run after another). SIGINT/SIGTERM (and SIGUSR1, the workers'
 * wake-up call) are blocked in every thread and waited for by the control
 * loop, so a signal never interrupts lws or nng and no handler needs global
 * state. */
#include "agent.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ps_cli.h"
#include "ps_units.h"

enum agent_opt_key {
    AGENT_CONTROLLER, AGENT_NAME, AGENT_THREADS, AGENT_SOURCE_IPS, AGENT_LAG_THRESHOLD,
    AGENT_MONITOR, AGENT_PID, AGENT_PROCESS, AGENT_ONCE, AGENT_QUIET, AGENT_VERBOSE,
    AGENT_AUTH_KEY, AGENT_ALLOW_TARGETS, AGENT_TLS_CERT, AGENT_TLS_CA, AGENT_TLS_SERVER_NAME,
    AGENT_ENGINE,
};

static const struct ps_cli_opt agent_opts[] = {
    {"--controller", PS_CLI_VALUE, "URL", "the controller's control address (e.g. tcp://10.0.0.1:7700);\n"
     "events go to the same host, port + 1", AGENT_CONTROLLER},
    {"--name", PS_CLI_VALUE, "NAME", "agent name in reports (default: host name)", AGENT_NAME},
    {"--threads", PS_CLI_VALUE, "N", "event loops (default: one per core)", AGENT_THREADS},
    {"--source-ips", PS_CLI_VALUE, "LIST", "bind connections to these local addresses, round robin\n"
     "(e.g. 10.0.0.10-10.0.0.40,10.0.1.5), or auto: every\n"
     "non-loopback IPv4 address of this machine", AGENT_SOURCE_IPS},
    {"--engine", PS_CLI_VALUE, "NAME", "what carries ws:// connections: native (default), the\n"
     "agent's own client, or lws (libwebsockets, as wss:// always)", AGENT_ENGINE},
    {"--lag-threshold", PS_CLI_VALUE, "DUR", "event-loop lag above which the agent reports itself\n"
     "saturated (default 100ms)", AGENT_LAG_THRESHOLD},
    {"--monitor", PS_CLI_FLAG, NULL, "watch this host (and a process) instead of holding\n"
     "connections: run it on the servers under test", AGENT_MONITOR},
    {"--pid", PS_CLI_VALUE, "P", "with --monitor: the process to follow", AGENT_PID},
    {"--process", PS_CLI_VALUE, "NAME", "with --monitor: follow the newest process with this\n"
     "command name, across restarts", AGENT_PROCESS},
    {"--auth-key", PS_CLI_VALUE, "FILE", "the key shared with the controller (a file only its\n"
     "owner can read); see docs/security.md", AGENT_AUTH_KEY},
    {"--allow-targets", PS_CLI_VALUE, "LIST", "refuse assignments aimed elsewhere: CIDRs, addresses,\n"
     "host names, each with an optional :PORT (10.0.0.0/8,push.example.com:443)",
     AGENT_ALLOW_TARGETS},
    {"--tls-cert", PS_CLI_VALUE, "FILE", "with a tls+tcp:// --controller: this agent's certificate\n"
     "and key (PEM, one file)", AGENT_TLS_CERT},
    {"--tls-ca", PS_CLI_VALUE, "FILE", "with a tls+tcp:// --controller: the CA the controller's\n"
     "certificate must be signed by", AGENT_TLS_CA},
    {"--tls-server-name", PS_CLI_VALUE, "NAME", "the name the controller's certificate must carry\n"
     "(default: the --controller host)", AGENT_TLS_SERVER_NAME},
    {"--once", PS_CLI_FLAG, NULL, "exit after one run", AGENT_ONCE},
    {"--quiet", PS_CLI_FLAG, NULL, "no progress lines", AGENT_QUIET},
    {"--verbose", PS_CLI_FLAG, NULL, "libwebsockets warnings too", AGENT_VERBOSE},
};

/* What the options fill in. */
struct agent_args {
    struct agent *ag;
    int          *verbose;
};

static int agent_opt(void *ctx, const struct ps_cli_opt *opt, const char *v)
{
    struct agent_args *args = ctx;
    struct agent *ag = args->ag;
    struct agent_opts *o = &ag->opts;
    char err[200];
    uint64_t n;
    int64_t us;
    char *end;
    unsigned long pid;
    switch (opt->key) {
    case AGENT_ONCE: o->once = 1; break;
    case AGENT_MONITOR: o->monitor = 1; break;
    case AGENT_QUIET: o->quiet = 1; break;
    case AGENT_VERBOSE: *args->verbose = 1; break;
    case AGENT_CONTROLLER: o->controller = v; break;
    case AGENT_TLS_CERT: o->tls.cert = v; break;
    case AGENT_TLS_CA: o->tls.ca = v; break;
    case AGENT_TLS_SERVER_NAME: o->tls.server_name = v; break;
    case AGENT_NAME: snprintf(o->name, sizeof o->name, "%s", v); break;
    case AGENT_AUTH_KEY:
    case AGENT_ALLOW_TARGETS:
        if (opt->key == AGENT_AUTH_KEY ? ps_auth_key_load(&ag->auth_key, v, err, sizeof err)
                                       : agent_allow_parse(&ag->allow, v, err, sizeof err)) {
            fprintf(stderr, "pushstorm-agent: %s\n", err);
            return -1;
        }
        break;
    case AGENT_THREADS:
        if (ps_units_parse_count(v, &n, err, sizeof err) || n < 1 || n > PS_MAX_THREADS) {
            fprintf(stderr, "pushstorm-agent: --threads %s: want 1..%d\n", v, PS_MAX_THREADS);
            return -1;
        }
        o->threads = (uint32_t)n;
        break;
    case AGENT_SOURCE_IPS:
        if (!strcmp(v, "auto")) {
            if (agent_auto_ips(o->src_ips, PS_MAX_IPS, &o->n_src, err, sizeof err)) {
                fprintf(stderr, "pushstorm-agent: --source-ips auto: %s\n", err);
                return -1;
            }
        } else if (agent_parse_ips(v, o->src_ips, PS_MAX_IPS, &o->n_src, err, sizeof err)) {
            fprintf(stderr, "pushstorm-agent: %s\n", err);
            return -1;
        }
        break;
    case AGENT_PID:
        pid = strtoul(v, &end, 10);
        if (*end || !pid || pid > UINT32_MAX) {
            fprintf(stderr, "pushstorm-agent: --pid %s: not a process id\n", v);
            return -1;
        }
        ag->hostmon.pid = (uint32_t)pid;
        break;
    case AGENT_PROCESS:
        if (!*v || strlen(v) >= sizeof ag->hostmon.process) {
            fprintf(stderr, "pushstorm-agent: --process %s: want a command name (as in "
                            "/proc/PID/comm)\n", v);
            return -1;
        }
        snprintf(ag->hostmon.process, sizeof ag->hostmon.process, "%s", v);
        break;
    case AGENT_ENGINE:
        if (strcmp(v, "native") && strcmp(v, "lws")) {
            fprintf(stderr, "pushstorm-agent: --engine %s: want native or lws\n", v);
            return -1;
        }
        o->engine = !strcmp(v, "lws") ? AGENT_ENGINE_LWS : AGENT_ENGINE_NATIVE;
        break;
    case AGENT_LAG_THRESHOLD:
        if (ps_units_parse_duration_us(v, &us, err, sizeof err) || us <= 0) {
            fprintf(stderr, "pushstorm-agent: --lag-threshold %s: %s\n", v, err);
            return -1;
        }
        o->lag_threshold_us = (uint32_t)us;
        break;
    }
    return 0;
}

static const struct ps_cli agent_cli = {
    .prog = "pushstorm-agent", .name = "pushstorm-agent", .version = PS_VERSION_STRING,
    .version_note = "protocol " PS_CLI_STR(PS_PROTO_VERSION),
    .synopsis = "--controller tcp://HOST:PORT [options]",
    .about = "Joins a pushstorm controller and holds the WebSocket connections it assigns.",
    .opts = agent_opts, .n_opts = sizeof agent_opts / sizeof agent_opts[0], .on_opt = agent_opt,
};

/* Returns PS_CLI_OK, or what the caller exits with otherwise. */
static enum ps_cli_rc agent_parse(struct agent *ag, int argc, char **argv, int *verbose)
{
    struct agent_opts *o = &ag->opts;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = cores > 0 ? (uint32_t)cores : 1;
    o->lag_threshold_us = 100000;
    struct agent_args args = {ag, verbose};
    enum ps_cli_rc rc = ps_cli_parse(&agent_cli, &args, argc - 1, argv + 1);
    if (rc != PS_CLI_OK)
        return rc;
    if (!o->controller) {
        fprintf(stderr, "pushstorm-agent: --controller tcp://HOST:PORT is required\n");
        return PS_CLI_ERROR;
    }
    char err[400];
    if (strncmp(o->controller, "tcp://", 6) && strncmp(o->controller, "tls+tcp://", 10)) {
        fprintf(stderr, "pushstorm-agent: --controller %s: want tcp://HOST:PORT or "
                        "tls+tcp://HOST:PORT\n", o->controller);
        return PS_CLI_ERROR;
    }
    if (ps_link_check(o->controller, &o->tls, err, sizeof err)) {
        fprintf(stderr, "pushstorm-agent: --controller %s\n", err);
        return PS_CLI_ERROR;
    }
    if (o->threads > PS_MAX_THREADS)
        o->threads = PS_MAX_THREADS;
    if ((ag->hostmon.pid || ag->hostmon.process[0]) && !o->monitor) {
        fprintf(stderr, "pushstorm-agent: --pid and --process go with --monitor\n");
        return PS_CLI_ERROR;
    }
    if (ag->hostmon.pid && ag->hostmon.process[0]) {
        fprintf(stderr, "pushstorm-agent: give --pid or --process, not both\n");
        return PS_CLI_ERROR;
    }
    if (o->monitor) {
        o->threads = 0;   /* a monitor holds no connections */
        if (ag->hostmon.pid && kill((pid_t)ag->hostmon.pid, 0)) {
            fprintf(stderr, "pushstorm-agent: --pid %u: no such process\n", ag->hostmon.pid);
            return PS_CLI_ERROR;
        }
    }
    if (!o->name[0]) {
        char host[PS_NAME_MAX - 8];
        if (gethostname(host, sizeof host))
            snprintf(host, sizeof host, "agent");
        host[sizeof host - 1] = 0;
        snprintf(o->name, sizeof o->name, "%s", host);
    }
    return PS_CLI_OK;
}

int main(int argc, char **argv)
{
    struct agent *ag = calloc(1, sizeof *ag);
    if (!ag) {
        fprintf(stderr, "pushstorm-agent: out of memory\n");
        return 1;
    }
    int verbose = 0, rc = 1;
    enum ps_cli_rc prc = agent_parse(ag, argc, argv, &verbose);
    if (prc != PS_CLI_OK) {
        free(ag);
        return ps_cli_exit_status(prc);
    }
#ifdef PS_TEST_HOOKS
    const char *skew = getenv("PS_TEST_CLOCK_SKEW_US");
    if (skew)
        ag->clock_skew_us = strtoll(skew, NULL, 10);
#endif
    lws_set_log_level(verbose ? LLL_ERR | LLL_WARN : LLL_ERR, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* blocked before any thread starts, so every thread inherits the mask;
     * SIGUSR1 is the workers' wake-up call to the control thread (ctl.c) */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    ag->ctl_thread = pthread_self();
    ag->ctl_wakeable = 1;
    signal(SIGPIPE, SIG_IGN);

    agent_srcaddr_scopes(&ag->opts);
    char err[PS_REASON_MAX];
    if (agent_preflight_hello(ag, err, sizeof err)) {
        fprintf(stderr, "pushstorm-agent: %s\n", err);
        free(ag);
        return 2;
    }
    ag->hello.monitor = (uint32_t)ag->opts.monitor;
    ag->n_workers = ag->opts.threads;
    ag->workers = calloc(ag->n_workers ? ag->n_workers : 1, sizeof *ag->workers);
    if (!ag->workers) {
        fprintf(stderr, "pushstorm-agent: out of memory\n");
        free(ag);
        return 1;
    }
    uint32_t started = 0;
    for (; started < ag->n_workers; started++) {
        agent_worker_init(&ag->workers[started], ag, started);
        if (agent_worker_start(&ag->workers[started])) {
            fprintf(stderr, "pushstorm-agent: cannot start event loop %u (is the libwebsockets "
                            "libuv plugin, libwebsockets-evlib-uv, installed?)\n", started);
            agent_worker_close(&ag->workers[started]);
            goto out;
        }
    }
    if (agent_ctl_start(ag, err, sizeof err)) {
        fprintf(stderr, "pushstorm-agent: %s\n", err);
        agent_ctl_close(ag);
        goto out;
    }
    if (!ag->opts.quiet && ag->opts.monitor)
        printf("pushstorm-agent %s: monitor %s%s%s, controller %s\n", PS_VERSION_STRING,
               ag->opts.name, ag->hostmon.process[0] || ag->hostmon.pid ? ", following " : "",
               ag->hostmon.process[0] ? ag->hostmon.process : "", ag->opts.controller);
    else if (!ag->opts.quiet)
        printf("pushstorm-agent %s: %s, %u thread(s), fd limit %llu, controller %s\n",
               PS_VERSION_STRING, ag->opts.name, ag->n_workers,
               (unsigned long long)ag->hello.fd_soft, ag->opts.controller);
    rc = agent_ctl_run(ag);
    agent_ctl_close(ag);
out:
    for (uint32_t i = 0; i < started; i++) {
        agent_worker_join(&ag->workers[i]);
        agent_worker_close(&ag->workers[i]);
    }
    free(ag->workers);
    free(ag);
    return rc;
}
