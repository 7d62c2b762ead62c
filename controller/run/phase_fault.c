/* phase_fault: the phases that break connections and watch them come back
 * (disconnect, exec, wait_reconnect).
 *
 *  - disconnect: every live agent closes a fraction of its connections at the
 *    common start_at; the phase ends once the closes' events have arrived.
 *  - exec: snapshots the connections up before it, runs a shell command (the
 *    fault: restart the server, cut a link...) and ends when that command has
 *    exited and the expected fraction of the snapshot is up again, or after
 *    `within`. Its end stores the reconnection curve (run_analytics.c).
 *  - wait_reconnect: waits until a fraction of the plan's connections is up. */
#include "run_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ps_time.h"
#include "ps_units.h"

static void phase_disconnect_start(struct run *r, const struct plan_phase *ph)
{
    for (uint32_t i = 0; i < r->n_agents; i++) {
        struct run_agent *a = &r->agents[i];
        if (a->lost_at)
            continue;
        struct run_cmd *c = run_cmd_push(a, PS_CMD_DISCONNECT);
        c->u.disconnect.fraction = ph->u.disconnect.fraction;
        c->u.disconnect.close_code = ph->u.disconnect.code;
        c->u.disconnect.start_at = r->ps.start_at;
    }
}

static int phase_disconnect_step(struct run *r, const struct plan_phase *ph,
                                 const struct run_now *now)
{
    (void)ph;
    /* Closes happen at start_at; give their events a moment to arrive. */
    return now->wall > r->ps.start_at + 1000000 && run_drained(r, r->ps.start_at + 500000);
}

static void phase_exec_start(struct run *r, const struct plan_phase *ph)
{
    const struct ledger *l = &r->ledger;
    r->ps.up_before = ledger_n_up(l);
    r->ps.exec_start_wall = r->ps.started_wall;
    r->ps.before = calloc(ledger_n_conns(l) / 64 + 1, sizeof *r->ps.before);
    if (!r->ps.before) {
        run_fail(r, "out of memory for the reconnection curve");
        return;
    }
    for (uint32_t c = 0; c < ledger_n_conns(l); c++)
        if (ledger_conn_is_up(l, c))
            r->ps.before[c >> 6] |= 1ULL << (c & 63);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);   /* deadlines: its own group, so a cut kills what it started */
        execl("/bin/sh", "sh", "-c", ph->u.exec.command, (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        run_fail(r, "phase %u (line %d): cannot start command: %s", r->phase + 1, ph->line,
                 strerror(errno));
    r->ps.exec_pid = pid > 0 ? (uint32_t)pid : 0;
}

static int phase_exec_step(struct run *r, const struct plan_phase *ph, const struct run_now *now)
{
    if (r->ps.exec_pid) {
        int status;
        if (waitpid((pid_t)r->ps.exec_pid, &status, WNOHANG) == (pid_t)r->ps.exec_pid) {
            r->ps.exec_pid = 0;
            r->ps.exec_done_wall = now->wall;
            r->ps.exec_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fprintf(stderr, "pushstorm: phase %u (line %d): command exited with %d\n",
                        r->phase + 1, ph->line, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        return 0;
    }
    if (now->wall - r->ps.exec_done_wall > ph->u.exec.within_us)
        return 1;
    /* Until every agent has reported what happened up to the command's
     * end, closes it caused may not be known yet and "all back" would be
     * a stale view. */
    if (!run_drained(r, r->ps.exec_done_wall))
        return 0;
    if (!r->ps.before)
        return 1;
    return (double)run_exec_back(r) >= ph->u.exec.expect_reconnect * (double)r->ps.up_before;
}

static void phase_exec_end(struct run *r, const struct plan_phase *ph, char *note, size_t len)
{
    /* deadlines: a command still running when its phase was cut is killed
     * (and reaped), so it cannot outlive the run */
    if (r->ps.exec_pid) {
        kill(-(pid_t)r->ps.exec_pid, SIGKILL);
        waitpid((pid_t)r->ps.exec_pid, NULL, 0);
        r->ps.exec_pid = 0;
        r->ps.exec_status = -1;
        r->ps.exec_done_wall = ps_time_wall_us();
        snprintf(note, len, "command killed");
        return;
    }
    if (r->ps.before)
        snprintf(note, len, "exit %d; %llu of %llu back", r->ps.exec_status,
                 (unsigned long long)run_exec_back(r), (unsigned long long)r->ps.up_before);
    /* the reconnection curve only for a phase that asked for reconnection */
    if (ph->u.exec.expect_reconnect > 0)
        run_reconnect_curve(r);
}

static int phase_wait_reconnect_step(struct run *r, const struct plan_phase *ph,
                                     const struct run_now *now)
{
    uint64_t target = plan_max_connections(r->plan);
    if (now->elapsed > ph->u.wait_reconnect.within_us) {
        /* A service that did not get its clients back fails the run. */
        char expr[32], within[32];
        double frac = target ? (double)ledger_n_up(&r->ledger) / (double)target : 0;
        snprintf(expr, sizeof expr, ">= %g%%", ph->u.wait_reconnect.fraction * 100);
        ps_units_fmt_duration(ph->u.wait_reconnect.within_us, within, sizeof within);
        run_phase_cut(r, "reconnect", expr, frac, "%g%% not connected again within %s: %u of %llu",
                      ph->u.wait_reconnect.fraction * 100, within, ledger_n_up(&r->ledger),
                      (unsigned long long)target);
        return 1;
    }
    /* Counted only once the agents have reported up to the phase start:
     * closes still in flight would make the count look complete. */
    r->ps.reached = run_drained(r, r->ps.started_wall) &&
                    (double)ledger_n_up(&r->ledger) >= ph->u.wait_reconnect.fraction * (double)target;
    return r->ps.reached;
}

static void phase_wait_reconnect_end(struct run *r, const struct plan_phase *ph, char *note,
                                     size_t len)
{
    (void)ph;
    snprintf(note, len, "%s; %u connected", r->ps.reached ? "reached" : "timed out",
             ledger_n_up(&r->ledger));
}

const struct run_phase_ops phase_disconnect_ops = {phase_disconnect_start, phase_disconnect_step,
                                                   NULL};
const struct run_phase_ops phase_exec_ops = {phase_exec_start, phase_exec_step, phase_exec_end};
const struct run_phase_ops phase_wait_reconnect_ops = {NULL, phase_wait_reconnect_step,
                                                       phase_wait_reconnect_end};
