/* pushstorm-agent: holds WebSocket connections for a pushstorm controller.
 *
 * main() parses the command line, runs the preflight (raising the soft fd
 * limit to the hard one), starts one worker thread per event loop, and hands
 * the main thread to the control channel (ctl.c) until the run is over
 * (--once), a signal arrives, or forever (an agent installed as a service
 * serves one run after another). SIGINT/SIGTERM are blocked in every thread
 * and polled by the control loop, so a signal never interrupts lws or nng and
 * no handler needs global state. */
#include "agent.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ps_units.h"

static void agent_usage(FILE *f)
{
    fprintf(f,
        "usage: pushstorm-agent --controller tcp://HOST:PORT [options]\n"
        "\n"
        "Joins a pushstorm controller and holds the WebSocket connections it assigns.\n"
        "\n"
        "  --controller URL     the controller's control address (e.g. tcp://10.0.0.1:7700);\n"
        "                       events go to the same host, port + 1\n"
        "  --name NAME          agent name in reports (default: host name)\n"
        "  --threads N          event loops (default: one per core)\n"
        "  --source-ips LIST    bind connections to these local addresses, round robin\n"
        "                       (e.g. 10.0.0.10-10.0.0.40,10.0.1.5), or auto: every\n"
        "                       non-loopback IPv4 address of this machine\n"
        "  --lag-threshold DUR  event-loop lag above which the agent reports itself\n"
        "                       saturated (default 100ms)\n"
        "  --monitor            watch this host (and a process) instead of holding\n"
        "                       connections: run it on the servers under test\n"
        "  --pid P              with --monitor: the process to follow\n"
        "  --process NAME       with --monitor: follow the newest process with this\n"
        "                       command name, across restarts\n"
        "  --once               exit after one run\n"
        "  --quiet              no progress lines\n"
        "  --verbose            libwebsockets warnings too\n"
        "  --version, --help\n");
}

static int agent_parse(struct agent *ag, int argc, char **argv, int *verbose)
{
    struct agent_opts *o = &ag->opts;
    char err[200];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = cores > 0 ? (uint32_t)cores : 1;
    o->lag_threshold_us = 100000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            agent_usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--version")) {
            printf("pushstorm-agent %s (protocol %d)\n", PS_VERSION_STRING, PS_PROTO_VERSION);
            exit(0);
        } else if (!strcmp(a, "--once")) {
            o->once = 1;
        } else if (!strcmp(a, "--monitor")) {
            o->monitor = 1;
        } else if (!strcmp(a, "--quiet")) {
            o->quiet = 1;
        } else if (!strcmp(a, "--verbose")) {
            *verbose = 1;
        } else if (!v) {
            fprintf(stderr, "pushstorm-agent: %s needs a value (or is unknown; see --help)\n", a);
            return -1;
        } else if (!strcmp(a, "--controller")) {
            o->controller = v;
            i++;
        } else if (!strcmp(a, "--name")) {
            snprintf(o->name, sizeof o->name, "%s", v);
            i++;
        } else if (!strcmp(a, "--threads")) {
            uint64_t n;
            if (ps_units_parse_count(v, &n, err, sizeof err) || n < 1 || n > PS_MAX_THREADS) {
                fprintf(stderr, "pushstorm-agent: --threads %s: want 1..%d\n", v, PS_MAX_THREADS);
                return -1;
            }
            o->threads = (uint32_t)n;
            i++;
        } else if (!strcmp(a, "--source-ips")) {
            if (!strcmp(v, "auto")) {
                if (agent_auto_ips(o->src_ips, PS_MAX_IPS, &o->n_src, err, sizeof err)) {
                    fprintf(stderr, "pushstorm-agent: --source-ips auto: %s\n", err);
                    return -1;
                }
            } else if (agent_parse_ips(v, o->src_ips, PS_MAX_IPS, &o->n_src, err, sizeof err)) {
                fprintf(stderr, "pushstorm-agent: %s\n", err);
                return -1;
            }
            i++;
        } else if (!strcmp(a, "--pid")) {
            char *end;
            unsigned long pid = strtoul(v, &end, 10);
            if (*end || !pid || pid > UINT32_MAX) {
                fprintf(stderr, "pushstorm-agent: --pid %s: not a process id\n", v);
                return -1;
            }
            ag->hostmon.pid = (uint32_t)pid;
            i++;
        } else if (!strcmp(a, "--process")) {
            if (!*v || strlen(v) >= sizeof ag->hostmon.process) {
                fprintf(stderr, "pushstorm-agent: --process %s: want a command name (as in "
                                "/proc/PID/comm)\n", v);
                return -1;
            }
            snprintf(ag->hostmon.process, sizeof ag->hostmon.process, "%s", v);
            i++;
        } else if (!strcmp(a, "--lag-threshold")) {
            int64_t us;
            if (ps_units_parse_duration_us(v, &us, err, sizeof err) || us <= 0) {
                fprintf(stderr, "pushstorm-agent: --lag-threshold %s: %s\n", v, err);
                return -1;
            }
            o->lag_threshold_us = (uint32_t)us;
            i++;
        } else {
            fprintf(stderr, "pushstorm-agent: unknown option %s (see --help)\n", a);
            return -1;
        }
    }
    if (!o->controller) {
        fprintf(stderr, "pushstorm-agent: --controller tcp://HOST:PORT is required\n");
        return -1;
    }
    if (strncmp(o->controller, "tcp://", 6)) {
        fprintf(stderr, "pushstorm-agent: --controller %s: want tcp://HOST:PORT\n", o->controller);
        return -1;
    }
    if (o->threads > PS_MAX_THREADS)
        o->threads = PS_MAX_THREADS;
    if ((ag->hostmon.pid || ag->hostmon.process[0]) && !o->monitor) {
        fprintf(stderr, "pushstorm-agent: --pid and --process go with --monitor\n");
        return -1;
    }
    if (ag->hostmon.pid && ag->hostmon.process[0]) {
        fprintf(stderr, "pushstorm-agent: give --pid or --process, not both\n");
        return -1;
    }
    if (o->monitor) {
        o->threads = 0;   /* a monitor holds no connections */
        if (ag->hostmon.pid && kill((pid_t)ag->hostmon.pid, 0)) {
            fprintf(stderr, "pushstorm-agent: --pid %u: no such process\n", ag->hostmon.pid);
            return -1;
        }
    }
    if (!o->name[0]) {
        char host[PS_NAME_MAX - 8];
        if (gethostname(host, sizeof host))
            snprintf(host, sizeof host, "agent");
        host[sizeof host - 1] = 0;
        snprintf(o->name, sizeof o->name, "%s", host);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct agent *ag = calloc(1, sizeof *ag);
    if (!ag) {
        fprintf(stderr, "pushstorm-agent: out of memory\n");
        return 1;
    }
    int verbose = 0, rc = 1;
    if (agent_parse(ag, argc, argv, &verbose)) {
        free(ag);
        return 2;
    }
#ifdef PS_TEST_HOOKS
    const char *skew = getenv("PS_TEST_CLOCK_SKEW_US");
    if (skew)
        ag->clock_skew_us = strtoll(skew, NULL, 10);
#endif
    lws_set_log_level(verbose ? LLL_ERR | LLL_WARN : LLL_ERR, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* blocked before any thread starts, so every thread inherits the mask */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

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
