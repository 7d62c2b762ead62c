/* ctl.c: the agent's side of the control and data channels (main thread).
 *
 * The main thread is a small loop that never touches a connection: it says
 * HELLO until a controller accepts it, then sends a TICK every 200 ms (at once
 * after applying a command), applies the command a REPLY carries by handing
 * it to every worker and waiting until each has applied it, and moves
 * finished event batches from the workers' outboxes to the data socket.
 * Between those it sleeps in sigtimedwait() until the next one is due, a
 * worker's SIGUSR1 says a batch is waiting (agent_ctl_wake), or SIGINT/SIGTERM
 * come. While the controller says no command can come for a while (a REPLY's
 * idle_ms, during a long hold) the ticks go once a second, just after the
 * workers publish the second's stats: an idle agent's control thread then
 * wakes twice a second (the tick, its own CPU sample), not a hundred times;
 * the control connection closing (ctl_link.c) brings the tick at once.
 *
 * Events wait in ctl_buffer.c until the controller acknowledges them.
 *
 * Losing the controller (ctl_link.c): its control connection closes and it
 * does not answer for a second, or no REPLY comes for the plan's
 * agents.grace: the agent stops its connections (a load generator nobody
 * watches must not keep hammering a server) and says HELLO again, or exits
 * with --once. Shorter silences keep the load and the events. */
#include "agent.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "ps_link.h"
#include "ps_time.h"

#define CTL_TICK_US          200000
#define CTL_IDLE_ALIGN_US    20000    /* idle ticks: this long past the wall second */
#define CTL_HELLO_US         1000000
#define CTL_CMD_WAIT_MS      10000
#define CTL_QUIT_GRACE_US    4000000
#define CTL_QUIT_POLL_US     10000    /* while stopping on a signal */
#define CTL_TICK_WAIT_MS     500      /* ctl_link.c looks at least this often */
/* A hello's answer may register this agent in the run: one given up on leaves
 * the controller holding a slot the agent never learns of, and the next hello
 * is refused once the run is under way. So a hello waits as long as it did
 * before the tick wait was cut to CTL_TICK_WAIT_MS. */
#define CTL_HELLO_WAIT_MS    2000
#define AGENT_CTL_RECV_MAX   (1 << 20)

/* tcp://host:7700 -> tcp://host:7701 */
static int ctl_data_url(const char *control, char *out, size_t len)
{
    const char *colon = strrchr(control, ':');
    if (!colon || colon[1] < '0' || colon[1] > '9')
        return -1;
    long port = strtol(colon + 1, NULL, 10);
    if (port <= 0 || port >= 65535)
        return -1;
    int n = snprintf(out, len, "%.*s:%ld", (int)(colon - control), control, port + 1);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int agent_ctl_start(struct agent *ag, char *err, size_t errlen)
{
    char data_url[600];
    int rc;
    msgpack_sbuffer_init(&ag->sbuf);
    if (ctl_data_url(ag->opts.controller, data_url, sizeof data_url)) {
        snprintf(err, errlen, "--controller %s: want tcp://HOST:PORT", ag->opts.controller);
        return -1;
    }
    if ((rc = nng_req0_open(&ag->req)) || (rc = nng_push0_open(&ag->push))) {
        snprintf(err, errlen, "cannot open nng sockets: %s", nng_strerror(rc));
        return -1;
    }
    nng_socket_set_ms(ag->req, NNG_OPT_SENDTIMEO, 1000);
    nng_socket_set_ms(ag->req, NNG_OPT_RECVTIMEO, CTL_TICK_WAIT_MS);
    nng_socket_set_ms(ag->req, NNG_OPT_RECONNMINT, 100);
    nng_socket_set_ms(ag->req, NNG_OPT_RECONNMAXT, 1000);
    /* a reply (an ASSIGN with every table full) is under 64 KiB: no more is read */
    nng_socket_set_size(ag->req, NNG_OPT_RECVMAXSZ, AGENT_CTL_RECV_MAX);
    nng_socket_set_ms(ag->push, NNG_OPT_RECONNMINT, 100);
    nng_socket_set_ms(ag->push, NNG_OPT_RECONNMAXT, 1000);
    nng_socket_set_int(ag->push, NNG_OPT_SENDBUF, 256);
    agent_buffer_reset(ag, 0);
    if ((rc = agent_link_start(ag)) != 0) {
        snprintf(err, errlen, "cannot watch the control connection: %s", nng_strerror(rc));
        return -1;
    }
    /* nonblocking dials keep retrying in the background: the controller may start later */
    if (ps_link_dial(ag->req, ag->opts.controller, &ag->opts.tls, err, errlen) ||
        ps_link_dial(ag->push, data_url, &ag->opts.tls, err, errlen))
        return -1;
    return 0;
}

/* ---------- stats ---------- */

/* Once a second: this process's CPU share and RSS, reported in every tick of
 * that second. */
static void ctl_self_sample(struct agent *ag)
{
    struct agent_proc p;
    if (agent_proc_read(0, &p) != 0)
        return;
    ag->cpu_pct_x100 = agent_cpu_meter_pct(&ag->self_cpu, p.cpu_us);
    ag->rss_bytes = p.rss;
}

/* Has a worker published a second since the sum was made? Its 36 KB of
 * histograms are copied and merged only then: once a second, not per tick. */
static int ctl_stats_stale(struct agent *ag)
{
    int stale = 0;
    for (uint32_t t = 0; t < ag->n_workers; t++) {
        struct agent_worker *w = &ag->workers[t];
        pthread_mutex_lock(&w->mu);
        int64_t sec = w->published.second;
        pthread_mutex_unlock(&w->mu);
        stale |= sec != ag->stats_seen[t];
        ag->stats_seen[t] = sec;
    }
    return stale;
}

static void ctl_stats_sum(struct agent *ag, struct ps_tick *tick, struct agent_second *tmp)
{
    struct ps_stats *s = &tick->stats;
    memset(s, 0, sizeof *s);
    struct ps_hist rtt, hs, lat, hb_rtt;
    ps_hist_init(&rtt);
    ps_hist_init(&hb_rtt);
    ps_hist_init(&hs);
    ps_hist_init(&lat);
    for (uint32_t t = 0; t < ag->n_workers; t++) {
        struct agent_worker *w = &ag->workers[t];
        pthread_mutex_lock(&w->mu);
        *tmp = w->published;
        pthread_mutex_unlock(&w->mu);
        if (!tmp->second)
            continue;
        if (tmp->second > s->second)
            s->second = tmp->second;
        s->connected += tmp->connected;
        s->connecting += tmp->connecting;
        s->opened += tmp->c.opened;
        s->failed += tmp->c.failed;
        s->closed += tmp->c.closed;
        s->messages += tmp->c.messages;
        s->pings += tmp->c.pings;
        s->pongs += tmp->c.pongs;
        s->pong_missed += tmp->c.pong_missed;
        s->hb_sent += tmp->c.hb_sent;
        s->hb_missed += tmp->c.hb_missed;
        s->acks += tmp->c.acks;
        s->acks_dropped += tmp->c.acks_dropped;
        s->proto_duplicates += tmp->c.proto_duplicates;
        s->proto_acks += tmp->c.proto_acks;
        s->proto_pings += tmp->c.proto_pings;
        tick->tls_full += tmp->c.tls_full;
        tick->tls_resumed += tmp->c.tls_resumed;
        if (tmp->lag_max_us > s->lag_max_us)
            s->lag_max_us = tmp->lag_max_us;
        ps_hist_merge(&rtt, &tmp->rtt);
        ps_hist_merge(&hb_rtt, &tmp->hb_rtt);
        ps_hist_merge(&hs, &tmp->hs);
        ps_hist_merge(&lat, &tmp->lat);
    }
    s->rtt_p50_us = (uint32_t)ps_hist_quantile(&rtt, 0.5);
    s->rtt_p99_us = (uint32_t)ps_hist_quantile(&rtt, 0.99);
    s->hb_rtt_p50_us = (uint32_t)ps_hist_quantile(&hb_rtt, 0.5);
    s->hb_rtt_p99_us = (uint32_t)ps_hist_quantile(&hb_rtt, 0.99);
    s->hs_p50_us = (uint32_t)ps_hist_quantile(&hs, 0.5);
    s->hs_p99_us = (uint32_t)ps_hist_quantile(&hs, 0.99);
    s->lat_p50_us = (uint32_t)ps_hist_quantile(&lat, 0.5);
    s->lat_p99_us = (uint32_t)ps_hist_quantile(&lat, 0.99);
}

static void ctl_stats(struct agent *ag, struct ps_tick *tick, struct agent_second *tmp)
{
    if (ctl_stats_stale(ag)) {
        ctl_stats_sum(ag, tick, tmp);
        ag->stats_sum = tick->stats;
        ag->stats_tls_full = tick->tls_full;
        ag->stats_tls_resumed = tick->tls_resumed;
    } else {
        tick->stats = ag->stats_sum;
        tick->tls_full = ag->stats_tls_full;
        tick->tls_resumed = ag->stats_tls_resumed;
    }
    struct ps_stats *s = &tick->stats;
    s->cpu_pct_x100 = ag->cpu_pct_x100;
    s->rss_bytes = ag->rss_bytes;
    s->saturated = s->lag_max_us > ag->opts.lag_threshold_us;
}

/* ---------- commands ---------- */

static int ctl_post_all(struct agent *ag, enum agent_wcmd cmd, const struct ps_cmd *arg)
{
    for (uint32_t t = 0; t < ag->n_workers; t++)
        agent_worker_post(&ag->workers[t], cmd, arg);
    int rc = 0;
    for (uint32_t t = 0; t < ag->n_workers; t++) {
        char err[PS_REASON_MAX];
        if (agent_worker_wait(&ag->workers[t], CTL_CMD_WAIT_MS, err, sizeof err) && !rc) {
            snprintf(ag->cmd_error, sizeof ag->cmd_error, "%s", err);
            rc = -1;
        }
    }
    return rc;
}

/* Closes the run's connections and flushes its events when the run ends
 * without a STOP command (controller gone, signal), once. */
static void ctl_stop_run(struct agent *ag)
{
    if (!ag->run_id || ag->stop_done)
        return;
    ctl_post_all(ag, AGENT_W_STOP, NULL);
    ag->stop_done = 1;
}

static void ctl_apply(struct agent *ag, const struct ps_cmd *cmd)
{
    ag->cmd_error[0] = 0;
    switch (cmd->kind) {
    case PS_CMD_ASSIGN: {
        const struct ps_assign *a = &cmd->u.assign;
        if (agent_preflight_assign(ag, a, ag->cmd_error, sizeof ag->cmd_error))
            break;
        if (!a->n_targets) {
            snprintf(ag->cmd_error, sizeof ag->cmd_error, "assignment has no targets");
            break;
        }
        struct agent_target targets[PS_MAX_TARGETS];
        uint32_t i;
        for (i = 0; i < a->n_targets; i++)
            if (agent_target_resolve(&targets[i], a->targets[i], ag->cmd_error,
                                     sizeof ag->cmd_error) ||
                agent_allow_check(&ag->allow, &targets[i], a->targets[i], ag->cmd_error,
                                  sizeof ag->cmd_error))
                break;
        if (i < a->n_targets)
            break;
        if (agent_dialect_prepare(a, agent_dialect_builtin(), ag->cmd_error, sizeof ag->cmd_error) ||
            agent_csv_assign(&ag->csv, a, ag->cmd_error, sizeof ag->cmd_error) ||
            agent_script_prepare(&ag->assign.script, a, ag->cmd_error, sizeof ag->cmd_error))
            break;
        /* workers are idle between runs (STOP came first), so the shared
         * assignment can be replaced before they are told */
        ag->assign.a = *a;
        ag->assign.agent_id = ag->agent_id;
        memcpy(ag->assign.targets, targets, sizeof targets);
        memcpy(ag->assign.token, ag->token, sizeof ag->token);
        ag->run_id = a->run_id;
        agent_buffer_reset(ag, a->buffer_bytes);
        ag->grace_us = (int64_t)a->grace_ms * 1000;
        ag->stop_done = 0;
        ctl_post_all(ag, AGENT_W_ASSIGN, cmd);
        if (!ag->opts.quiet && !ag->cmd_error[0])
            printf("assigned run %u: connections %u..%u over %u thread(s)\n", a->run_id,
                   a->conn_first, a->conn_first + a->conn_count - 1, ag->n_workers);
        break;
    }
    case PS_CMD_DATA:   /* values for {csv.COL}, before the first ramp */
        agent_csv_chunk(&ag->csv, &cmd->u.data, ag->cmd_error, sizeof ag->cmd_error);
        break;
    case PS_CMD_RAMP:
        ctl_post_all(ag, AGENT_W_RAMP, cmd);
        break;
    case PS_CMD_DISCONNECT:
        ctl_post_all(ag, AGENT_W_DISCONNECT, cmd);
        break;
    case PS_CMD_STOP:   /* always applied: it also answers a refused assignment */
        ctl_post_all(ag, AGENT_W_STOP, cmd);
        ag->stop_done = 1;
        break;
    default:
        snprintf(ag->cmd_error, sizeof ag->cmd_error, "unknown command kind %u", cmd->kind);
        break;
    }
    ag->cmd_done = cmd->id;
    if (ag->cmd_error[0])
        fprintf(stderr, "pushstorm-agent: refused command %u: %s\n", cmd->id, ag->cmd_error);
}

/* ---------- control round trips ---------- */

/* Sends the encoded request in ag->sbuf; returns the reply (caller frees) or NULL. */
static nng_msg *ctl_rpc(struct agent *ag)
{
    ag->idle_ms = 0;   /* until a reply says otherwise */
    if (nng_send(ag->req, ag->sbuf.data, ag->sbuf.size, 0) != 0)
        return NULL;
    nng_msg *m;
    if (nng_recvmsg(ag->req, &m, 0) != 0)
        return NULL;
    return m;
}

/* HELLO, then (the answer being a CHALLENGE, see auth.c) HELLO again with the
 * proof; the second round trip also samples the clock. */
static nng_msg *ctl_hello_rounds(struct agent *ag, int64_t *t1)
{
    agent_auth_begin(ag);
    for (int round = 0; round < 2; round++) {
        *t1 = ag->hello.t_send = agent_clock_wall(ag);
        msgpack_sbuffer_clear(&ag->sbuf);
        ps_proto_encode_hello(&ag->sbuf, &ag->hello);
        nng_msg *m = ctl_rpc(ag);
        uint32_t type = 0;
        char err[160];
        if (!m || round || ps_proto_peek_type(nng_msg_body(m), nng_msg_len(m), &type, err,
                                              sizeof err) || type != PS_MSG_CHALLENGE)
            return m;
        int bad = agent_auth_challenge(ag, nng_msg_body(m), nng_msg_len(m));
        nng_msg_free(m);
        if (bad)
            return NULL;
    }
    return NULL;
}

static nng_msg *ctl_hello_rpc(struct agent *ag, int64_t *t1)
{
    nng_socket_set_ms(ag->req, NNG_OPT_RECVTIMEO, CTL_HELLO_WAIT_MS);
    nng_msg *m = ctl_hello_rounds(ag, t1);
    nng_socket_set_ms(ag->req, NNG_OPT_RECVTIMEO, CTL_TICK_WAIT_MS);
    return m;
}

static void ctl_hello(struct agent *ag, char *last_reason, size_t rlen)
{
    int64_t t1;
    nng_msg *m = ctl_hello_rpc(ag, &t1);
    if (ag->ctl_refusal[0] && strcmp(last_reason, ag->ctl_refusal)) {
        fprintf(stderr, "pushstorm-agent: %s (retrying every second)\n", ag->ctl_refusal);
        snprintf(last_reason, rlen, "%s", ag->ctl_refusal);
    }
    if (!m)
        return;
    int64_t t4 = agent_clock_wall(ag);
    struct ps_welcome w;
    char err[160];
    if (ps_proto_decode_welcome(nng_msg_body(m), nng_msg_len(m), &w, err, sizeof err) != 0) {
        snprintf(w.reason, sizeof w.reason, "bad welcome: %.140s", err);
        w.agent_id = 0;
    }
    nng_msg_free(m);
    ag->last_reply_us = ps_time_mono_us();
    if (ag->ctl_refusal[0])
        return;   /* an unproven controller: its welcome is not taken */
    if (!w.agent_id) {
        if (strcmp(last_reason, w.reason)) {
            fprintf(stderr, "pushstorm-agent: controller refused: %s (retrying every second)\n",
                    w.reason);
            snprintf(last_reason, rlen, "%s", w.reason);
        }
        return;
    }
    last_reason[0] = 0;
    agent_clock_sample(ag, t1, w.t_recv, w.t_send, t4);
    ag->agent_id = w.agent_id;
    ag->cmd_done = 0;
    ag->cmd_error[0] = 0;
    if (!ag->opts.quiet)
        printf("joined %s as agent %u\n", ag->opts.controller, ag->agent_id);
    fflush(stdout);
}

static int ctl_all_stopped(struct agent *ag)
{
    if (!ag->stop_done)
        return 0;
    for (uint32_t t = 0; t < ag->n_workers; t++) {
        struct agent_worker *w = &ag->workers[t];
        pthread_mutex_lock(&w->mu);
        int s = w->stopped_pub && !w->out_head;
        pthread_mutex_unlock(&w->mu);
        if (!s)
            return 0;
        for (struct agent_blob *b = ag->retained[t].head; b; b = b->next)
            if (!b->sent_us)
                return 0;
    }
    return 1;
}

/* The next idle tick: just after the workers published a wall second, at
 * least a usual tick from now and at most the controller's idle_ms. */
static int64_t ctl_idle_tick(struct agent *ag, int64_t now)
{
    int64_t wall = agent_clock_wall(ag);
    int64_t wait = 1000000 - wall % 1000000 + CTL_IDLE_ALIGN_US;
    if (wait < CTL_TICK_US)
        wait += 1000000;
    if (wait > (int64_t)ag->idle_ms * 1000 + CTL_TICK_US)
        wait = (int64_t)ag->idle_ms * 1000;
    return now + wait;
}

/* One TICK/REPLY. Returns 1 if a command was applied (tick again at once),
 * 0 otherwise, -1 if there was no answer. *finished is set when, with --once,
 * the run is over for this agent. */
static int ctl_tick(struct agent *ag, struct ps_tick *t, struct agent_second *tmp, int *finished)
{
    memset(t, 0, sizeof *t);
    t->agent_id = ag->agent_id;
    t->offset_us = agent_clock_offset(ag);
    t->offset_err_us = ag->offset_err_us;
    t->cmd_done = ag->cmd_done;
    snprintf(t->cmd_error, sizeof t->cmd_error, "%s", ag->cmd_error);
    agent_buffer_tick(ag, t);
    t->stopped = ctl_all_stopped(ag);
    ctl_stats(ag, t, tmp);
    t->host = ag->host;
    memcpy(t->token, ag->token, sizeof t->token);
    if (ag->opts.monitor && !t->stats.second)
        t->stats.second = agent_clock_wall(ag) / 1000000 - 1;   /* no workers: stamp the sample */
    t->t_send = agent_clock_wall(ag);
    msgpack_sbuffer_clear(&ag->sbuf);
    ps_proto_encode_tick(&ag->sbuf, t);
    nng_msg *m = ctl_rpc(ag);
    if (!m)
        return -1;
    int64_t t4 = agent_clock_wall(ag);
    struct ps_reply rep;
    char err[160];
    uint32_t type = 0;
    if (ps_proto_peek_type(nng_msg_body(m), nng_msg_len(m), &type, err, sizeof err) ||
        type != PS_MSG_REPLY ||
        ps_proto_decode_reply(nng_msg_body(m), nng_msg_len(m), &rep, err, sizeof err)) {
        nng_msg_free(m);
        fprintf(stderr, "pushstorm-agent: unexpected answer to a tick; saying hello again\n");
        ag->agent_id = 0;
        return -1;
    }
    nng_msg_free(m);
    ag->last_reply_us = ps_time_mono_us();
    ag->idle_ms = rep.unknown_agent ? 0 : rep.idle_ms;
    agent_clock_sample(ag, t->t_send, rep.t_recv, rep.t_send, t4);
    if (rep.unknown_agent) {
        /* the controller finished the run or restarted */
        if (ag->run_id && !ag->opts.quiet)
            printf("run %u is over for this agent\n", ag->run_id);
        ctl_stop_run(ag);
        if (ag->opts.once && (ag->run_id || ag->opts.monitor))
            *finished = 1;
        ag->agent_id = 0;
        return 0;
    }
    for (uint32_t i = 0; i < rep.n_acks && i < ag->n_workers; i++)
        agent_buffer_ack(ag, i, rep.acked_seq[i]);
    if (t->stopped && ag->opts.once && agent_buffer_empty(ag))
        *finished = 1;
    if (rep.cmd.id && rep.cmd.id == ag->cmd_done + 1) {
        ctl_apply(ag, &rep.cmd);
        return 1;
    }
    return 0;
}

void agent_ctl_wake(struct agent *ag)
{
    if (ag->ctl_wakeable)
        pthread_kill(ag->ctl_thread, SIGUSR1);
}

/* Waits until mono time `until`, a worker's wake-up or a signal; 1 when the
 * signal was SIGINT/SIGTERM. until <= now only collects what is pending. */
static int ctl_wait(int64_t until)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    int64_t us = until - ps_time_mono_us();
    if (us < 0)
        us = 0;
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    int sig = sigtimedwait(&set, NULL, &ts);
    if (sig == SIGUSR1) {   /* take any stop signal that came with it too */
        struct timespec zero = {0, 0};
        sig = sigtimedwait(&set, NULL, &zero);
    }
    return sig == SIGINT || sig == SIGTERM;
}

int agent_ctl_run(struct agent *ag)
{
    struct ps_tick *tick = malloc(sizeof *tick);
    struct agent_second *tmp = malloc(sizeof *tmp);
    if (!tick || !tmp) {
        free(tick);
        free(tmp);
        fprintf(stderr, "pushstorm-agent: out of memory\n");
        return 1;
    }
    char last_reason[PS_REASON_MAX] = "";
    int64_t next_hello = 0, next_tick = 0, next_cpu = 0, quit_deadline = 0;
    int tick_now = 0, finished = 0, signalled = 0;
    ag->last_reply_us = ps_time_mono_us();
    while (!finished) {
        int64_t now = ps_time_mono_us();
        if (!quit_deadline && signalled) {
            if (!ag->opts.quiet)
                printf("signal: closing connections and flushing events\n");
            quit_deadline = now + CTL_QUIT_GRACE_US;
            ctl_stop_run(ag);
        }
        if (quit_deadline && (now > quit_deadline || !ag->agent_id || ag->opts.monitor ||
                              (ctl_all_stopped(ag) && !ag->retained_bytes)))
            break;
        if (now >= next_cpu) {
            ctl_self_sample(ag);
            agent_hostmon_sample(&ag->hostmon, &ag->host);
            next_cpu = now + 1000000;
        }
        agent_buffer_pump(ag);
        if (!ag->agent_id) {
            if (now >= next_hello) {
                next_hello = now + CTL_HELLO_US;
                ctl_hello(ag, last_reason, sizeof last_reason);
                tick_now = ag->agent_id != 0;
            }
        } else if (tick_now || now >= next_tick) {
            int rc = ctl_tick(ag, tick, tmp, &finished);
            tick_now = rc == 1;
            next_tick = rc == 0 && ag->idle_ms ? ctl_idle_tick(ag, now) : now + CTL_TICK_US;
            char why[160];
            if (rc < 0 && ag->agent_id && agent_link_lost(ag, why, sizeof why)) {
                fprintf(stderr, "pushstorm-agent: %s; stopping connections\n", why);
                ctl_stop_run(ag);
                ag->agent_id = 0;
                if (ag->opts.once)
                    finished = 1;
            }
        }
        if (tick_now)
            continue;
        if (ag->idle_ms && agent_link_closed(ag)) {   /* not idle any more: see to it now */
            ag->idle_ms = 0;
            next_tick = now;
            continue;
        }
        /* sleep until the next thing due; while quitting, look again soon */
        int64_t until = ag->agent_id ? next_tick : next_hello;
        if (next_cpu < until)
            until = next_cpu;
        if (quit_deadline && until > now + CTL_QUIT_POLL_US)
            until = now + CTL_QUIT_POLL_US;
        signalled |= ctl_wait(until);
    }
    free(tick);
    free(tmp);
    return 0;
}

void agent_ctl_close(struct agent *ag)
{
    nng_close(ag->req);
    nng_close(ag->push);
    agent_buffer_reset(ag, 0);
    agent_csv_free(&ag->csv);
    agent_script_free(&ag->assign.script);
    msgpack_sbuffer_destroy(&ag->sbuf);
}
