/* run: one campaign, from waiting for agents to the verdict.
 *
 * How it works
 *  - One thread around one poll (pusher_poll: the push API transfers, the
 *    control and data sockets and the metrics listener). Each turn serves
 *    scrapes, drains control requests and event batches (run_agents.c),
 *    drives libcurl, checks for lost agents and steps the state machine:
 *    waiting for agents -> assigning their ranges (run_assign.c) -> phases ->
 *    stopping -> done.
 *  - Phases run one after another. Each kind is an entry of a table of
 *    operations (struct run_phase_ops: start, step, end; phase_ramp.c,
 *    phase_push.c, phase_fault.c): start sends the agents their commands,
 *    step says when the phase is done, end writes its note and figures. Start
 *    times sent to agents are absolute controller times a little in the
 *    future, so every agent starts together.
 *  - Once a second the controller's sample is stored and the progress shown
 *    (run_analytics.c).
 *  - A failure (an agent refusing its assignment, every agent lost, a write
 *    the database refused, an interrupt...) stops the agents and ends the
 *    run with exit status 2; whatever was measured stays in the database.
 *  - STOP asks every agent to close and flush; the end waits, bounded, for
 *    every agent's final report (run_end.c); then figures, thresholds and the
 *    report are written and printed (run_verdict.c). */
#include "run_internal.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/reqrep0/rep.h>

#include "ps_time.h"
#include "ps_units.h"
#include "report.h"

#define RUN_ASSIGN_TIMEOUT_US 15000000
#define RUN_POLL_MAX_MS       50

static const char *run_state_names[] = {"waiting", "assigning", "phases", "stopping", "done"};

const char *run_state_name(enum run_state s)
{
    return run_state_names[s];
}

void run_fail(struct run *r, const char *fmt, ...)
{
    if (r->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
    r->failed = 1;
    fprintf(stderr, "pushstorm: %s\n", r->reason);
}

/* A write the database refused fails the run: figures computed from what the
 * ledger holds would describe rows that are not in the results. What was
 * committed before stays. Returns 1 when the run has failed this way. */
static int run_check_store(struct run *r)
{
    if (!store_failed(&r->store))
        return 0;
    run_fail(r, "%s", store_error_text(&r->store));
    return 1;
}

static void run_set_state(struct run *r, enum run_state s)
{
    r->state = s;
    r->state_since_mono = ps_time_mono_us();
}

/* ---------- phases ---------- */

static const struct run_phase_ops *const run_phase_table[] = {
    [PLAN_PHASE_RAMP] = &phase_ramp_ops,
    [PLAN_PHASE_HOLD] = &phase_hold_ops,
    [PLAN_PHASE_PUSH] = &phase_push_ops,
    [PLAN_PHASE_DISCONNECT] = &phase_disconnect_ops,
    [PLAN_PHASE_EXEC] = &phase_exec_ops,
    [PLAN_PHASE_WAIT_RECONNECT] = &phase_wait_reconnect_ops,
};

static const struct run_phase_ops *run_phase_ops_of(const struct plan_phase *ph)
{
    return run_phase_table[ph->kind];
}

static void run_phase_start(struct run *r)
{
    const struct plan_phase *ph = &r->plan->phases[r->phase];
    free(r->ps.before);
    memset(&r->ps, 0, sizeof r->ps);
    r->ps.started_mono = ps_time_mono_us();
    r->ps.started_wall = ps_time_wall_us();
    r->ps.start_at = r->ps.started_wall + RUN_START_LEAD_US;
    if (!r->opts->quiet)
        progress_say(&r->progress, "phase %u/%u: %s (plan line %d)\n", r->phase + 1, r->plan->n_phases,
               plan_phase_name(ph->kind), ph->line);
    fflush(stdout);
    const struct run_phase_ops *ops = run_phase_ops_of(ph);
    if (ops->start)
        ops->start(r, ph);
}

void run_phase_cut(struct run *r, const char *what, const char *expr, double measured,
                   const char *fmt, ...)
{
    if (r->ps.cut[0] || r->state != RUN_PHASES)
        return;
    const struct plan_phase *ph = &r->plan->phases[r->phase];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->ps.cut, sizeof r->ps.cut, fmt, ap);
    va_end(ap);
    char name[64];
    snprintf(name, sizeof name, "phase%u_%s", r->phase + 1, what);
    store_threshold(&r->store, r->run_id, name, expr, measured, 0);
    r->phases_cut++;
    fprintf(stderr, "pushstorm: phase %u (%s, plan line %d) cut short: %s\n", r->phase + 1,
            plan_phase_name(ph->kind), ph->line, r->ps.cut);
}

/* deadlines: a phase past its deadline is cut (and fails the verdict). */
static int run_phase_step(struct run *r)
{
    const struct plan_phase *ph = &r->plan->phases[r->phase];
    struct run_now now = {ps_time_mono_us(), ps_time_wall_us(), 0};
    now.elapsed = now.mono - r->ps.started_mono;
    if (now.elapsed > ph->deadline_us) {
        char d[32], expr[48];
        ps_units_fmt_duration(ph->deadline_us, d, sizeof d);
        snprintf(expr, sizeof expr, "<= %s", d);
        run_phase_cut(r, "deadline", expr, (double)now.elapsed, "deadline %s reached", d);
    }
    if (r->ps.cut[0])
        return 1;
    return run_phase_ops_of(ph)->step(r, ph, &now);
}

static void run_phase_end(struct run *r)
{
    const struct plan_phase *ph = &r->plan->phases[r->phase];
    const struct run_phase_ops *ops = run_phase_ops_of(ph);
    char note[128] = "", full[300];
    if (ops->end)
        ops->end(r, ph, note, sizeof note);
    if (r->ps.cut[0])
        snprintf(full, sizeof full, "CUT SHORT: %s%s%s", r->ps.cut, note[0] ? "; " : "", note);
    else
        snprintf(full, sizeof full, "%s", note);
    store_phase(&r->store, r->run_id, r->phase + 1, plan_phase_name(ph->kind), ph->line,
                r->ps.started_wall, ps_time_wall_us(), full);
}

/* ---------- state machine ---------- */

static void run_step(struct run *r)
{
    int64_t now = ps_time_mono_us();
    /* deadlines: the run's own, past which it is stopped as failed */
    if (r->state < RUN_STOPPING && now - r->started_mono > r->plan->deadline_us) {
        char d[32];
        ps_units_fmt_duration(r->plan->deadline_us, d, sizeof d);
        if (r->state == RUN_PHASES)
            run_fail(r, "run deadline %s reached during phase %u (%s)", d, r->phase + 1,
                     plan_phase_name(r->plan->phases[r->phase].kind));
        else
            run_fail(r, "run deadline %s reached while %s", d, run_state_name(r->state));
    }
    if (r->failed && r->state < RUN_STOPPING) {
        run_end_begin(r);
        run_set_state(r, RUN_STOPPING);
    }
    switch (r->state) {
    case RUN_WAITING: {
        int status;
        uint32_t gone = local_agents_exited(&r->local, &status);
        if (gone) {   /* it said why on stderr (a bad --agent-args, a refusal) */
            run_fail(r, "local agent %u (local-%u) exited with status %d before the run started",
                     gone, gone, status);
            run_set_state(r, RUN_DONE);
        } else if (r->n_agents >= r->plan->agents.expect) {
            run_assign(r);
            run_set_state(r, RUN_ASSIGNING);
        } else if (now - r->state_since_mono > r->plan->agents.wait_us) {
            run_fail(r, "%u of %u agents joined within %.0fs (agents.wait); no run", r->n_agents,
                     r->plan->agents.expect, r->plan->agents.wait_us / 1e6);
            run_set_state(r, RUN_DONE);
        }
        break;
    }
    case RUN_ASSIGNING: {
        int all = 1;
        uint32_t most_cmds = 1;
        for (uint32_t i = 0; i < r->n_agents; i++) {
            struct run_agent *a = &r->agents[i];
            most_cmds = a->assign_cmds > most_cmds ? a->assign_cmds : most_cmds;
            if (a->cmd_error[0]) {
                run_fail(r, "agent %u (%s) refused its assignment: %s", a->id, a->hello.name,
                         a->cmd_error);
                return;
            }
            all &= a->cmd_done >= a->assign_cmds || a->lost_at;   /* ASSIGN and its DATA */
        }
        if (all) {
            run_data_sent(r, now - r->state_since_mono);
            r->phase = 0;
            run_set_state(r, RUN_PHASES);
            run_phase_start(r);
        } else if (now - r->state_since_mono > run_data_timeout(RUN_ASSIGN_TIMEOUT_US, most_cmds)) {
            run_fail(r, "agents did not take their assignment within %ds",
                     (int)(run_data_timeout(RUN_ASSIGN_TIMEOUT_US, most_cmds) / 1000000));
        }
        break;
    }
    case RUN_PHASES:
        for (uint32_t i = 0; i < r->n_agents; i++)
            if (r->agents[i].cmd_error[0] && !r->agents[i].lost_at) {
                run_fail(r, "agent %u (%s) refused a command: %s", r->agents[i].id,
                         r->agents[i].hello.name, r->agents[i].cmd_error);
                return;
            }
        if (r->stop_requested) {
            run_fail(r, "interrupted during phase %u", r->phase + 1);
            return;
        }
        if (!run_phase_step(r))
            break;
        run_phase_end(r);
        if (++r->phase < r->plan->n_phases) {
            run_phase_start(r);
            break;
        }
        /* every agent was assigned (cmd_last >= 1) before the first phase */
        if (!r->opts->quiet)
            progress_say(&r->progress, "all phases done; stopping agents\n");
        run_end_begin(r);
        run_set_state(r, RUN_STOPPING);
        break;
    case RUN_STOPPING:
        if (run_end_step(r, now))
            run_set_state(r, RUN_DONE);
        break;
    case RUN_DONE:
        break;
    }
}

/* ---------- set-up and loop ---------- */

static int run_listen(struct run *r, char *err, size_t errlen)
{
    char data_url[PS_URL_MAX];
    const char *colon = strrchr(r->opts->listen, ':');
    int port = colon ? atoi(colon + 1) : 0;
    if (!colon || port <= 0 || port >= 65535) {
        snprintf(err, errlen, "--listen %s: expected tcp://HOST:PORT", r->opts->listen);
        return -1;
    }
    snprintf(data_url, sizeof data_url, "%.*s:%d", (int)(colon - r->opts->listen), r->opts->listen,
             port + 1);
    int rv;
    if ((rv = nng_rep0_open(&r->rep)) || (rv = nng_pull0_open(&r->pull))) {
        snprintf(err, errlen, "nng: %s", nng_strerror(rv));
        return -1;
    }
    nng_pipe_notify(r->rep, NNG_PIPE_EV_REM_POST, run_on_pipe_closed, &r->pipes);
    nng_socket_set_size(r->pull, NNG_OPT_RECVMAXSZ, 16 << 20);
    nng_socket_set_size(r->rep, NNG_OPT_RECVMAXSZ, RUN_CTL_RECV_MAX);
    nng_socket_set_ms(r->rep, NNG_OPT_SENDTIMEO, RUN_CTL_SEND_WAIT_MS);
    nng_socket_set_int(r->pull, NNG_OPT_RECVBUF, 1024);
    if (ps_link_listen(r->rep, r->opts->listen, &r->opts->tls, err, errlen))
        return -1;
    if (ps_link_listen(r->pull, data_url, &r->opts->tls, err, errlen)) {
        snprintf(err + strlen(err), errlen - strlen(err), " (data channel, control port + 1)");
        return -1;
    }
    if (nng_socket_get_int(r->rep, NNG_OPT_RECVFD, &r->rep_fd) ||
        nng_socket_get_int(r->pull, NNG_OPT_RECVFD, &r->pull_fd)) {
        snprintf(err, errlen, "nng: no receive descriptor");
        return -1;
    }
    return 0;
}

/* The address local agents dial: the listen address with a wildcard host
 * replaced by loopback. */
static void run_local_dial_url(const char *listen, char *out, size_t len)
{
    const char *colon = strrchr(listen, ':');
    if (strstr(listen, "0.0.0.0") || strstr(listen, "://*"))
        snprintf(out, len, "tcp://127.0.0.1%s", colon);
    else
        snprintf(out, len, "%s", listen);
}

/* --local-agents: the agents, each with its own loopback source range when
 * the targets are on loopback (local_plan.c) and the words of --agent-args. */
static int run_local_start(struct run *r, char *err, size_t errlen)
{
    char dial[PS_URL_MAX];
    char src[LOCAL_MAX_AGENTS][LOCAL_SRC_MAX];
    struct local_args args;
    uint32_t n = r->opts->local_agents;
    run_local_dial_url(r->opts->listen, dial, sizeof dial);
    if (local_args_split(r->opts->agent_args ? r->opts->agent_args : "", &args, err, errlen) != 0)
        return -1;
    int ranges = n <= LOCAL_MAX_AGENTS && !args.source_ips && local_plan_sources(r->plan, n, src);
    if (ranges && !r->opts->quiet)
        progress_say(&r->progress, "local agents' source addresses (the targets are on loopback): "
                     "%s%s%s\n", src[0], n > 1 ? " ... " : "", n > 1 ? src[n - 1] : "");
    struct local_spec spec = {r->opts->agent_bin, dial, r->opts->auth_key, r->opts->local_threads,
                              &args, ranges ? (const char (*)[LOCAL_SRC_MAX])src : NULL};
    return local_agents_start(&r->local, n, &spec, err, errlen);
}

/* ---------- Prometheus metrics (--metrics) ---------- */

static void run_serve_metrics(struct run *r)
{
    int c;
    while ((c = metrics_accept(&r->metrics)) >= 0) {
        struct metrics_agent agents[RUN_MAX_AGENTS];
        struct metrics_server servers[RUN_MAX_MONITORS];
        const struct ledger_totals *t = ledger_totals(&r->ledger);
        for (uint32_t i = 0; i < r->n_agents; i++)
            agents[i] = (struct metrics_agent){r->agents[i].hello.name,
                                               r->agents[i].stats.lag_max_us};
        for (uint32_t i = 0; i < r->n_monitors; i++) {
            const struct run_monitor *m = &r->monitors[i];
            servers[i] = (struct metrics_server){m->name, m->last.cpu_pct_x100, m->last.proc_rss,
                                                 m->last.tcp_inuse};
        }
        struct metrics_view v = {
            .run_id = r->run_id,
            .plan = r->plan->name,
            .connected = ledger_n_up(&r->ledger),
            .target = plan_max_connections(r->plan),
            .phase = r->state == RUN_PHASES ? plan_phase_name(r->plan->phases[r->phase].kind)
                                            : run_state_name(r->state),
            .phase_idx = r->state == RUN_PHASES ? r->phase + 1 : 0,
            .connects = t->opened, .connect_failures = t->failed, .closes = t->closed,
            .pushes = t->pushes, .push_errors = t->push_failed, .deliveries = t->delivered,
            .duplicates = t->duplicates, .lost = t->lost, .missed_offline = t->missed_offline,
            .agent_lost = t->agent_lost,
            .reasons = r->reasons,
            .latency = ledger_latency(&r->ledger),
            .agents_live = run_live_agents(r),
            .agents_joined = r->n_agents,
            .agents = agents,
            .n_agents = r->n_agents,
            .servers = servers,
            .n_servers = r->n_monitors,
        };
        metrics_answer(c, &v);
    }
}

static void run_loop(struct run *r)
{
    int fds[3] = {r->rep_fd, r->pull_fd, metrics_fd(&r->metrics)};
    unsigned n_fds = fds[2] >= 0 ? 3 : 2;
    sigset_t pending;
    while (r->state != RUN_DONE) {
        int timeout_ms = RUN_POLL_MAX_MS;
        if (r->state == RUN_PHASES && r->plan->phases[r->phase].kind == PLAN_PHASE_PUSH) {
            double rate = r->plan->phases[r->phase].u.push.rate;
            int gap = (int)(1000.0 / rate);
            timeout_ms = gap < 1 ? 1 : gap < timeout_ms ? gap : timeout_ms;
        }
        pusher_poll(&r->pusher, fds, n_fds, timeout_ms);
        run_serve_metrics(r);
        run_drain_control(r);
        run_drain_data(r);
        pusher_perform(&r->pusher);
        run_check_agents(r);
        run_step(r);
        int64_t now_wall = ps_time_wall_us();
        run_second(r, now_wall);
        store_maybe_commit(&r->store, ps_time_mono_us());
        run_check_store(r);
        /* SIGINT/SIGTERM are blocked in main and polled here: the first stops the
         * run cleanly (results kept), the second stops waiting for agents. */
        sigpending(&pending);
        if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM)) {
            int sig;
            sigset_t both;
            sigemptyset(&both);
            sigaddset(&both, SIGINT);
            sigaddset(&both, SIGTERM);
            sigwait(&both, &sig);
            r->stop_requested++;
            if (r->state == RUN_WAITING) {
                run_fail(r, "interrupted while waiting for agents");
                run_set_state(r, RUN_DONE);
            }
        }
    }
}

int run_campaign(const struct plan *plan, const char *plan_text, const struct run_opts *opts)
{
    struct run *r = calloc(1, sizeof *r);
    char err[512];
    int exit_code = 2;
    if (!r)
        return 2;
    r->plan = plan;
    r->opts = opts;
    metrics_init(&r->metrics);
    pthread_mutex_init(&r->pipes.mu, NULL);
    progress_init(&r->progress, stdout, isatty(fileno(stdout)) && !getenv("PUSHSTORM_PLAIN"),
                  opts->quiet);
    r->agents = calloc(RUN_MAX_AGENTS, sizeof *r->agents);
    r->agent_lost_at = calloc(RUN_MAX_AGENTS, sizeof *r->agent_lost_at);
    r->events = malloc(sizeof *r->events);
    msgpack_sbuffer_init(&r->sbuf);
    ps_hist_init(&r->rtt_p50);
    ps_hist_init(&r->rtt_p99);
    if (!r->agents || !r->agent_lost_at || !r->events) {
        fprintf(stderr, "pushstorm: out of memory\n");
        goto out_free;
    }
    if (store_open(&r->store, opts->db_path, 0, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm: %s\n", err);
        goto out_free;
    }
    if (run_data_open(r, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm: %s\n", err);
        goto out_store;
    }
    uint64_t total = plan_max_connections(plan);
    if (ledger_init(&r->ledger, (uint32_t)total, (uint64_t)ps_time_wall_us()) != 0 ||
        pusher_init(&r->pusher, 64, PLAN_PUSH_TIMEOUT_DEFAULT_US / 1000, run_on_push_done, r) != 0) {
        fprintf(stderr, "pushstorm: out of memory\n");
        goto out_store;
    }
    if (run_auth_init(&r->auth, opts->auth_key, err, sizeof err) != 0 ||
        run_listen(r, err, sizeof err) != 0 ||
        (opts->metrics && metrics_listen(&r->metrics, opts->metrics, err, sizeof err) != 0)) {
        fprintf(stderr, "pushstorm: %s\n", err);
        goto out_sockets;
    }
    r->started_wall = ps_time_wall_us();
    r->started_mono = ps_time_mono_us();
    if (store_run_begin(&r->store, plan->name, plan->path, plan_text, r->started_wall, total,
                        &r->run_id) != 0) {
        fprintf(stderr, "pushstorm: %s; cannot record the run\n", store_error_text(&r->store));
        goto out_sockets;
    }
    if (!opts->quiet)
        progress_say(&r->progress, "run %u \"%s\": %llu connections, %u phases; results in %s\n", r->run_id, plan->name,
               (unsigned long long)total, plan->n_phases, opts->db_path);
    if (opts->local_agents && ps_link_is_tls(opts->listen)) {
        run_fail(r, "--local-agents cannot join a tls+tcp:// controller (they have no "
                    "certificate): start the agents with --tls-cert and --tls-ca");
        store_run_end(&r->store, r->run_id, ps_time_wall_us(), "failed", 2, r->reason);
        goto out_sockets;
    } else if (opts->local_agents) {
        if (run_local_start(r, err, sizeof err) != 0) {
            run_fail(r, "%s", err);
            store_run_end(&r->store, r->run_id, ps_time_wall_us(), "failed", 2, r->reason);
            goto out_sockets;
        }
    }
    if (!opts->quiet && plan->agents.expect > opts->local_agents)
        progress_say(&r->progress, "waiting up to %.0fs for %u agents on %s\n", plan->agents.wait_us / 1e6,
               plan->agents.expect - opts->local_agents, opts->listen);
    fflush(stdout);
    run_set_state(r, RUN_WAITING);
    run_loop(r);

    /* Messages not settled by their phase (an interrupted run) are settled now. */
    run_settle(r, 1, ledger_n_msgs(&r->ledger));
    int pass = run_verdict(r);
    run_check_store(r);
    exit_code = r->failed ? 2 : pass ? 0 : 1;
    int recorded = store_run_end(&r->store, r->run_id, ps_time_wall_us(),
                                 r->failed ? "failed" : pass ? "pass" : "fail", exit_code,
                                 r->failed ? r->reason : NULL) == 0;
    if (run_check_store(r) && exit_code != 2) {
        /* the verdict went in, then the checkpoint failed: say failed instead */
        exit_code = 2;
        recorded = store_run_end(&r->store, r->run_id, ps_time_wall_us(), "failed", 2,
                                 r->reason) == 0;
    }
    progress_done(&r->progress);
    if (recorded)
        report_print_summary(&r->store, r->run_id, stdout);
    else   /* a summary read back now would show the run as still running */
        fprintf(stderr, "pushstorm: run %u could not be marked failed in %s either; what was "
                "committed before stays readable\n", r->run_id, opts->db_path);
out_sockets:
    metrics_close(&r->metrics);
    local_agents_stop(&r->local, 4000);
    nng_close(r->rep);
    nng_close(r->pull);
    ledger_close(&r->ledger);
    pusher_close(&r->pusher);
out_store:
    run_data_close(r);
    store_close(&r->store);
out_free:
    msgpack_sbuffer_destroy(&r->sbuf);
    free(r->ps.before);
    free(r->events);
    free(r->agent_lost_at);
    free(r->agents);
    pthread_mutex_destroy(&r->pipes.mu);
    free(r);
    return exit_code;
}
