/* run: one campaign, from waiting for agents to the verdict.
 *
 * How it works
 *  - Control (nng rep0): every request is answered at once. HELLO registers an
 *    agent while the run waits for them; TICK updates its stats, clock offset,
 *    acks and command progress, and the REPLY carries the acks and the next
 *    command. Commands are queued per agent with increasing ids; the agent
 *    reports the last id it applied, so a lost reply only repeats a command.
 *  - Data (nng pull0): EVENTS batches are taken only in sequence per (agent,
 *    thread); a gap is refilled by the agent's resend. Each event goes to the
 *    ledger (connection state, deliveries) and to the store.
 *  - Phases run one after another; each has a start and a step function that
 *    says when it is done. Start times sent to agents are absolute controller
 *    times a little in the future, so every agent starts together.
 *  - A push phase paces calls at the planned rate, then waits for the grace
 *    deadline of its last message and for every agent to have flushed the
 *    events of that time (acked == last reported sequence), then settles.
 *  - Each agent's start skew is measured from its events: its first new
 *    connection attempt in a ramp against the ramp's start_at. An exec phase
 *    snapshots the connections up before its command and, at its end, stores
 *    the reconnection curve from their reconnect timestamps.
 *  - An agent silent for RUN_AGENT_LOST_US is lost: its connections drop out
 *    of the ledger (not as closes) and its undelivered messages settle as
 *    "agent lost".
 *  - STOP asks every agent to close and flush; then figures, thresholds and the
 *    report are written and printed. Whatever was measured stays in the
 *    database, also when the run fails half way. */
#include "run.h"

#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/reqrep0/rep.h>

#include "ledger.h"
#include "local.h"
#include "metrics.h"
#include "progress.h"
#include "ps_hist.h"
#include "ps_time.h"
#include "ps_tpl.h"
#include "ps_units.h"
#include "pusher.h"
#include "report.h"
#include "store.h"

#define RUN_MAX_AGENTS        1024
#define RUN_MAX_MONITORS      64
#define RUN_MONITOR_BASE      1000000   /* monitor agents' ids: base + 1, + 2, ... */
#define RUN_CMD_QUEUE         16
#define RUN_START_LEAD_US     800000   /* start_at lead: > 2 ticks (200 ms) + slack */
#define RUN_AGENT_LOST_US     5000000  /* no tick for this long: the agent is lost */
#define RUN_ASSIGN_TIMEOUT_US 15000000
#define RUN_STOP_TIMEOUT_US   20000000
#define RUN_DRAIN_MAX_US      5000000  /* longest wait for events after a deadline */
#define RUN_POLL_MAX_MS       50
/* A push phase settles after its drain; an agent that died during the phase
 * must be found lost before that, or the messages it never reported would be
 * settled as service loss. The drain waits for every live agent to tick, so a
 * dead one holds it until it is declared lost, provided the drain waits at
 * least that long. */
_Static_assert(RUN_DRAIN_MAX_US >= RUN_AGENT_LOST_US, "drain must outlast agent-loss detection");

struct run_agent {
    uint32_t id;                 /* slot + 1; 0 = free slot */
    struct ps_hello hello;
    int64_t  joined_at;          /* wall */
    int64_t  last_tick_mono;
    int64_t  last_tick_wall;
    int64_t  lost_at;            /* wall; 0 = alive */
    uint32_t conn_first, conn_count;
    uint32_t n_threads;
    uint64_t acked[PS_MAX_THREADS];
    uint64_t reported[PS_MAX_THREADS];
    int64_t  offset_us, offset_err_us;
    int64_t  ramp_begin;         /* wall: earliest first-connection attempt in this ramp, 0 = none */
    int64_t  start_skew_us;      /* worst (largest |x|) ramp start minus its start_at */
    int      has_skew;
    struct ps_stats stats;
    int64_t  stored_second;
    struct ps_assign assign;     /* command id 1 */
    uint32_t cmd_last;           /* id of the last queued command */
    uint32_t cmd_done;
    char     cmd_error[PS_REASON_MAX];
    struct ps_cmd queue[RUN_CMD_QUEUE]; /* ids 2.., at [id % RUN_CMD_QUEUE] */
    uint32_t stopped;
    uint32_t pipe;               /* nng pipe id its last control request came on */
    int64_t  pipe_closed_mono;   /* that pipe closed at; 0 = open */
};

/* Control pipes that closed, noted by nng's pipe callback (on an nng thread)
 * and read by the run loop: a dead agent process closes its TCP connection at
 * once, so it is known lost within a second instead of after RUN_AGENT_LOST_US
 * of silence. A pipe that closes while the agent lives (a network blip) is
 * replaced by nng's reconnect well within RUN_PIPE_GRACE_US, and its next tick
 * clears the mark. */
#define RUN_PIPE_GRACE_US 1000000
#define RUN_PIPES_CLOSED_MAX 256
struct run_pipes {
    pthread_mutex_t mu;
    uint32_t closed[RUN_PIPES_CLOSED_MAX];
    uint32_t n;
};

enum run_state { RUN_WAITING, RUN_ASSIGNING, RUN_PHASES, RUN_STOPPING, RUN_DONE };

struct run_phase_state {
    int64_t  started_mono, started_wall;
    int64_t  start_at;           /* wall, for agents */
    uint64_t sent;               /* push: messages created */
    uint32_t first_msg, last_msg;
    int64_t  last_deadline;      /* wall */
    int64_t  drain_from_mono;    /* 0 until the deadline has passed */
    uint64_t ramp_from;          /* connections up when the ramp started */
    uint32_t exec_pid;
    int      exec_status;        /* exec: exit status, -1 = killed by a signal */
    int64_t  exec_start_wall;    /* exec: when the command started (the fault) */
    int64_t  exec_done_wall;     /* exec: when it exited */
    uint64_t up_before;          /* exec: connections up before the fault */
    uint64_t *before;            /* exec: bitmap of those connections */
    int      reached;            /* wait_reconnect: the fraction was reached */
};

/* A monitor agent (pushstorm-agent --monitor) on a server under test: it holds
 * no connections and takes no commands; it joins at any time and its host and
 * process figures are stored each second and shown in the progress line. */
struct run_monitor {
    uint32_t id;
    char     name[PS_NAME_MAX];
    int64_t  last_second;        /* controller-clock second of the last stored sample */
    int64_t  last_tick_mono;
    struct ps_hostmon last;
};

struct run {
    const struct plan *plan;
    const struct run_opts *opts;
    struct store store;
    struct ledger ledger;
    struct pusher pusher;
    struct local_agents local;
    nng_socket rep, pull;
    int rep_fd, pull_fd;
    uint32_t run_id;
    enum run_state state;
    int64_t  state_since_mono;
    int64_t  started_wall, started_mono;
    uint32_t n_agents;
    struct run_agent *agents;    /* RUN_MAX_AGENTS slots */
    int64_t *agent_lost_at;      /* per slot, for the ledger */
    uint32_t phase;              /* index into plan->phases */
    struct run_phase_state ps;
    int      failed;             /* exit 2 with reason */
    char     reason[512];
    uint64_t reasons[PS_REASON_COUNT];  /* failures + closes by reason */
    uint64_t bogus_events;
    int64_t  last_second;        /* wall second of the last progress line */
    uint64_t last_opened, last_delivered, last_pushes;
    msgpack_sbuffer sbuf;
    struct ps_events *events;    /* decode buffer (large: heap) */
    int      stop_requested;
    int64_t  start_skew_max;     /* worst |start skew| over agents and ramps, us */
    uint32_t n_monitors;
    struct run_monitor monitors[RUN_MAX_MONITORS];
    struct progress progress;    /* everything the run prints while it runs */
    struct metrics metrics;      /* --metrics: Prometheus scrapes */
    struct run_pipes pipes;
    uint32_t cur_pipe;           /* pipe of the control request being handled */
};

static const char *run_state_names[] = {"waiting", "assigning", "phases", "stopping", "done"};

static void run_fail(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void run_fail(struct run *r, const char *fmt, ...)
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

static uint32_t run_live_agents(const struct run *r)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->n_agents; i++)
        n += r->agents[i].lost_at == 0;
    return n;
}

/* Writes the agent's row from what is known of it now. */
static void run_store_agent(struct run *r, const struct run_agent *a)
{
    store_agent_update(&r->store, r->run_id, a->id, a->conn_first, a->conn_count, a->offset_us,
                       a->offset_err_us, a->start_skew_us, a->lost_at,
                       a->cmd_error[0] ? a->cmd_error : NULL);
}

/* ---------- commands ---------- */

static struct ps_cmd *run_cmd_push(struct run_agent *a, uint32_t kind)
{
    uint32_t id = ++a->cmd_last;
    struct ps_cmd *c = &a->queue[id % RUN_CMD_QUEUE];
    memset(c, 0, sizeof *c);
    c->id = id;
    c->kind = kind;
    return c;
}

static void run_cmd_next(const struct run_agent *a, struct ps_cmd *out)
{
    memset(out, 0, sizeof *out);
    if (a->cmd_done >= a->cmd_last)
        return;
    uint32_t id = a->cmd_done + 1;
    if (id == 1) {
        out->id = 1;
        out->kind = PS_CMD_ASSIGN;
        out->u.assign = a->assign;
        return;
    }
    /* Commands beyond the ring were never queued (bounded by phase count). */
    *out = a->queue[id % RUN_CMD_QUEUE];
}

/* ---------- control channel ---------- */

static void run_send_reply(struct run *r, const void *buf, size_t len)
{
    nng_msg *m;
    if (nng_msg_alloc(&m, len) != 0)
        return;
    memcpy(nng_msg_body(m), buf, len);
    if (nng_sendmsg(r->rep, m, NNG_FLAG_NONBLOCK) != 0)
        nng_msg_free(m);
}

static void run_on_hello(struct run *r, const void *buf, size_t len, int64_t t_recv)
{
    struct ps_welcome w = {0};
    struct ps_hello h;
    char err[160];
    w.t_recv = t_recv;
    if (ps_proto_decode_hello(buf, len, &h, err, sizeof err) != 0) {
        snprintf(w.reason, sizeof w.reason, "bad hello: %.140s", err);
    } else if (h.monitor) {
        if (r->n_monitors >= RUN_MAX_MONITORS || r->state == RUN_DONE) {
            snprintf(w.reason, sizeof w.reason, "no room for another monitor (%d)", RUN_MAX_MONITORS);
        } else {
            struct run_monitor *m = &r->monitors[r->n_monitors++];
            memset(m, 0, sizeof *m);
            m->id = RUN_MONITOR_BASE + r->n_monitors;
            snprintf(m->name, sizeof m->name, "%s", h.name);
            m->last_tick_mono = ps_time_mono_us();
            w.agent_id = m->id;
            store_agent(&r->store, r->run_id, m->id, &h, t_recv);
            if (!r->opts->quiet)
                progress_say(&r->progress, "monitor %u joined: %s (%s, %u cores)\n", m->id - RUN_MONITOR_BASE, h.name,
                       h.host, h.cores);
        }
    } else if (r->state != RUN_WAITING) {
        snprintf(w.reason, sizeof w.reason, "run %u is already under way; join the next one",
                 r->run_id);
    } else if (r->n_agents >= RUN_MAX_AGENTS) {
        snprintf(w.reason, sizeof w.reason, "too many agents (%d)", RUN_MAX_AGENTS);
    } else {
        struct run_agent *a = &r->agents[r->n_agents];
        memset(a, 0, sizeof *a);
        a->id = ++r->n_agents;
        a->hello = h;
        a->joined_at = t_recv;
        a->last_tick_mono = ps_time_mono_us();
        w.agent_id = a->id;
        store_agent(&r->store, r->run_id, a->id, &h, t_recv);
        if (!r->opts->quiet)
            progress_say(&r->progress, "agent %u joined: %s (%s, %u cores, %u threads, fd limit %llu)\n", a->id, h.name,
                   h.host, h.cores, h.threads, (unsigned long long)h.fd_soft);
    }
    if (w.reason[0] && !r->opts->quiet)
        fprintf(stderr, "pushstorm: refused an agent: %s\n", w.reason);
    w.t_send = ps_time_wall_us();
    msgpack_sbuffer_clear(&r->sbuf);
    ps_proto_encode_welcome(&r->sbuf, &w);
    run_send_reply(r, r->sbuf.data, r->sbuf.size);
}

static void run_on_tick(struct run *r, const void *buf, size_t len, int64_t t_recv)
{
    static const struct ps_reply unknown = {.unknown_agent = 1};
    struct ps_reply rep;
    struct ps_tick t;
    char err[160];
    if (ps_proto_decode_tick(buf, len, &t, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm: bad tick: %s\n", err);
        rep = unknown;
    } else if (t.agent_id > RUN_MONITOR_BASE && t.agent_id <= RUN_MONITOR_BASE + r->n_monitors) {
        struct run_monitor *m = &r->monitors[t.agent_id - RUN_MONITOR_BASE - 1];
        m->last_tick_mono = ps_time_mono_us();
        /* the monitor's second, on the controller's clock */
        int64_t sec = (t.stats.second * 1000000 + t.offset_us) / 1000000;
        if (t.stats.second && sec > m->last_second) {
            m->last_second = sec;
            m->last = t.host;
            store_monitor_sample(&r->store, r->run_id, m->id, sec, &t.host);
        }
        memset(&rep, 0, sizeof rep);
    } else if (t.agent_id == 0 || t.agent_id > r->n_agents || r->agents[t.agent_id - 1].lost_at) {
        rep = unknown;
    } else {
        struct run_agent *a = &r->agents[t.agent_id - 1];
        a->last_tick_mono = ps_time_mono_us();
        a->pipe = r->cur_pipe;
        a->pipe_closed_mono = 0;
        a->last_tick_wall = t_recv;
        a->offset_us = t.offset_us;
        a->offset_err_us = t.offset_err_us;
        a->n_threads = t.n_threads;
        memcpy(a->reported, t.batch_seq, sizeof a->reported);
        a->stopped = t.stopped;
        if (t.cmd_done > a->cmd_done && t.cmd_done <= a->cmd_last) {
            a->cmd_done = t.cmd_done;
            if (t.cmd_error[0] && !a->cmd_error[0]) {
                snprintf(a->cmd_error, sizeof a->cmd_error, "%s", t.cmd_error);
                run_store_agent(r, a);
            }
        }
        if (t.stats.second > a->stored_second) {
            a->stats = t.stats;
            a->stored_second = t.stats.second;
            store_sample(&r->store, r->run_id, a->id, &t.stats);
        }
        memset(&rep, 0, sizeof rep);
        rep.n_acks = a->n_threads;
        memcpy(rep.acked_seq, a->acked, sizeof rep.acked_seq);
        run_cmd_next(a, &rep.cmd);
    }
    rep.t_recv = t_recv;
    rep.t_send = ps_time_wall_us();
    msgpack_sbuffer_clear(&r->sbuf);
    ps_proto_encode_reply(&r->sbuf, &rep);
    run_send_reply(r, r->sbuf.data, r->sbuf.size);
}

static void run_drain_control(struct run *r)
{
    for (int i = 0; i < 256; i++) {
        nng_msg *m;
        if (nng_recvmsg(r->rep, &m, NNG_FLAG_NONBLOCK) != 0)
            return;
        int64_t t_recv = ps_time_wall_us();
        r->cur_pipe = nng_pipe_id(nng_msg_get_pipe(m));
        uint32_t type;
        char err[160];
        const void *body = nng_msg_body(m);
        size_t len = nng_msg_len(m);
        if (ps_proto_peek_type(body, len, &type, err, sizeof err) != 0) {
            fprintf(stderr, "pushstorm: bad control message: %s\n", err);
            /* rep0 needs an answer before it takes the next request. */
            struct ps_welcome w = {.t_recv = t_recv, .t_send = t_recv};
            snprintf(w.reason, sizeof w.reason, "bad message: %.140s", err);
            msgpack_sbuffer_clear(&r->sbuf);
            ps_proto_encode_welcome(&r->sbuf, &w);
            run_send_reply(r, r->sbuf.data, r->sbuf.size);
        } else if (type == PS_MSG_HELLO) {
            run_on_hello(r, body, len, t_recv);
        } else {
            run_on_tick(r, body, len, t_recv);
        }
        nng_msg_free(m);
    }
}

/* ---------- data channel ---------- */

static void run_on_event(struct run *r, struct run_agent *a, const struct ps_event *ev)
{
    if (ev->conn < a->conn_first || ev->conn >= a->conn_first + a->conn_count) {
        r->bogus_events++;
        return;
    }
    int64_t ts = ev->ts + a->offset_us;
    switch (ev->type) {
    case PS_EV_CONNECTED:
        /* A connection that was never up, connected during a ramp, was opened
         * by that ramp (not a reconnect): its attempt began at ts - handshake
         * time. The agent's earliest such attempt, against the phase's
         * start_at, is its start skew. */
        if (r->state == RUN_PHASES && r->plan->phases[r->phase].kind == PLAN_PHASE_RAMP &&
            r->ledger.conns[ev->conn].up_at == 0) {
            int64_t begin = ts - (int64_t)ev->val;
            if (!a->ramp_begin || begin < a->ramp_begin)
                a->ramp_begin = begin;
        }
        ledger_conn_up(&r->ledger, ev->conn, ts, (uint32_t)ev->val);
        break;
    case PS_EV_FAILED:
    case PS_EV_CLOSED:
        ledger_conn_down(&r->ledger, ev->conn, ts, ev->type == PS_EV_FAILED);
        if (ev->val < PS_REASON_COUNT)
            r->reasons[ev->val]++;
        break;
    case PS_EV_MESSAGE: {
        int64_t lat;
        int dup, ooo;
        if (ev->aux != r->run_id) {
            r->ledger.t.foreign++;
            break;
        }
        if (ledger_delivery(&r->ledger, (uint32_t)ev->val, ev->conn, ts, &lat, &dup, &ooo) == 0)
            store_delivery(&r->store, r->run_id, (uint32_t)ev->val, ev->conn, ts, lat,
                           a->offset_err_us, dup, ooo);
        return; /* deliveries have their own table */
    }
    default:
        break;
    }
    store_event(&r->store, r->run_id, a->id, ev, ts);
}

static void run_drain_data(struct run *r)
{
    for (int i = 0; i < 512; i++) {
        nng_msg *m;
        if (nng_recvmsg(r->pull, &m, NNG_FLAG_NONBLOCK) != 0)
            return;
        char err[160];
        struct ps_events *e = r->events;
        if (ps_proto_decode_events(nng_msg_body(m), nng_msg_len(m), e, err, sizeof err) != 0) {
            fprintf(stderr, "pushstorm: bad event batch: %s\n", err);
        } else if (e->agent_id == 0 || e->agent_id > r->n_agents || e->thread >= PS_MAX_THREADS) {
            r->bogus_events += e->n;
        } else {
            struct run_agent *a = &r->agents[e->agent_id - 1];
            /* In sequence only; anything else is a repeat or follows a gap the resend fills. */
            if (e->seq == a->acked[e->thread] + 1 && !a->lost_at) {
                a->acked[e->thread] = e->seq;
                for (uint32_t k = 0; k < e->n; k++)
                    run_on_event(r, a, &e->ev[k]);
            }
        }
        nng_msg_free(m);
    }
}

/* ---------- push calls ---------- */

static void run_on_push_done(void *ctx, const struct pusher_result *res)
{
    struct run *r = ctx;
    ledger_msg_http(&r->ledger, res->msg_id, res->http_status, res->ok);
    store_push_http(&r->store, r->run_id, res->msg_id, res->http_status, res->duration_us,
                    res->error);
}

static int run_push_one(struct run *r, const struct plan_phase *ph, int64_t now_wall)
{
    const struct plan *p = r->plan;
    int mode = ph->u.push.mode;
    uint32_t conn = LEDGER_NO_CONN, group[PLAN_RECIPIENTS_MAX], n_group = 0;
    if (mode == PLAN_PUSH_UNICAST) {
        conn = ledger_pick_up(&r->ledger);
        if (conn == LEDGER_NO_CONN)
            return -1; /* nobody to push to right now: the caller retries */
    } else if (mode == PLAN_PUSH_MULTICAST) {
        /* one call names several connections of one server */
        n_group = ledger_pick_group(&r->ledger, ph->u.push.recipients, p->n_targets, group);
        if (!n_group)
            return -1;
    }
    uint32_t id = ledger_msg_new(&r->ledger, mode, mode == PLAN_PUSH_MULTICAST ? LEDGER_NO_CONN : conn,
                                 now_wall, ph->u.push.grace_us);
    if (!id || (n_group && ledger_msg_recipients(&r->ledger, id, group, n_group) != 0)) {
        run_fail(r, "out of memory for message %llu", (unsigned long long)r->ps.sent + 1);
        return -1;
    }
    if (!r->ps.first_msg)
        r->ps.first_msg = id;
    r->ps.last_msg = id;
    r->ps.last_deadline = now_wall + ph->u.push.grace_us;
    r->ps.sent++;

    /* {conn}: the connection id, or for a multicast the comma-separated ids */
    char token[PS_TOKEN_MAX], conn_s[PLAN_RECIPIENTS_MAX * 11], msg_s[16], body[PUSHER_BODY_MAX],
         url[PS_URL_MAX];
    ps_token_format(token, sizeof token, r->run_id, id, now_wall);
    if (n_group) {
        size_t used = 0;
        for (uint32_t i = 0; i < n_group; i++)
            used += (size_t)snprintf(conn_s + used, sizeof conn_s - used, "%s%u", i ? "," : "",
                                     group[i]);
        conn = group[0];   /* picks the target below */
    } else {
        snprintf(conn_s, sizeof conn_s, "%u", conn);
    }
    snprintf(msg_s, sizeof msg_s, "%u", id);
    struct ps_tpl_var body_vars[] = {{"msg", token}, {"conn", conn_s}, {"id", msg_s}};
    struct ps_tpl_var url_vars[] = {{"conn", conn_s}, {"msg", msg_s}};
    int blen = ps_tpl_expand(body, sizeof body, ph->u.push.body, body_vars, 3);
    const char *method = ph->u.push.method[0] ? ph->u.push.method : "POST";

    /* A broadcast goes to every distinct broadcast URL (one per server), a
     * unicast or multicast to the target that owns the connection(s). */
    uint32_t n_calls = mode != PLAN_PUSH_BROADCAST || ph->u.push.url[0] ? 1 : p->n_targets;
    for (uint32_t t = 0; t < n_calls; t++) {
        const char *tpl = ph->u.push.url[0]       ? ph->u.push.url
                          : mode != PLAN_PUSH_BROADCAST ? p->targets[conn % p->n_targets].push
                                                      : p->targets[t].broadcast;
        int dup_url = 0;
        for (uint32_t u = 0; u < t && !ph->u.push.url[0]; u++)
            dup_url |= strcmp(p->targets[u].broadcast, tpl) == 0;
        if (dup_url)
            continue;
        int ulen = ps_tpl_expand(url, sizeof url, tpl, url_vars, 2);
        struct store_push_row row = {r->run_id, id, mode,
                                     conn == LEDGER_NO_CONN || n_group ? -1 : (int64_t)conn,
                                     now_wall, url};
        if (t == 0)
            store_push(&r->store, &row);
        if (blen < 0 || ulen < 0) {
            run_on_push_done(r, &(struct pusher_result){id, 0, 0, 0, "URL or body too long"});
            continue;
        }
        if (pusher_send(&r->pusher, id, method, url, body, (size_t)blen, ph->u.push.headers,
                        ph->u.push.n_headers) != 0)
            run_on_push_done(r, &(struct pusher_result){id, 0, 0, 0, "no free HTTP slot"});
    }
    return 0;
}

/* ---------- phases ---------- */

/* The ledger decides who missed a message and why; the store records it. */
static void run_on_missed(void *ctx, uint32_t msg, uint32_t conn, enum ledger_miss kind)
{
    struct run *r = ctx;
    store_undelivered(&r->store, r->run_id, msg, conn, ledger_miss_name(kind));
}

static void run_on_settled(void *ctx, uint32_t msg, const struct ledger_settled *s)
{
    struct run *r = ctx;
    store_push_result(&r->store, r->run_id, msg, s->expected, s->delivered, s->duplicates, s->lost,
                      s->missed_offline, s->agent_lost);
}

static void run_settle(struct run *r, uint32_t first, uint32_t last)
{
    const struct ledger_sink sink = {run_on_missed, run_on_settled, r};
    ledger_settle(&r->ledger, first, last, r->agent_lost_at, &sink);
}

static void run_split(const struct run *r, uint64_t total, uint64_t *share)
{
    /* In proportion to each live agent's connection range (plan_split, the
     * split `pushstorm check` prints); a lost agent gets nothing. */
    uint64_t weight[RUN_MAX_AGENTS];
    for (uint32_t i = 0; i < r->n_agents; i++)
        weight[i] = r->agents[i].lost_at ? 0 : r->agents[i].conn_count;
    plan_split(total, weight, r->n_agents, share);
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
    uint64_t share[RUN_MAX_AGENTS];
    switch (ph->kind) {
    case PLAN_PHASE_RAMP:
        r->ps.ramp_from = r->ledger.n_up;
        for (uint32_t i = 0; i < r->n_agents; i++)
            r->agents[i].ramp_begin = 0;
        run_split(r, ph->u.ramp.to, share);
        for (uint32_t i = 0; i < r->n_agents; i++) {
            struct run_agent *a = &r->agents[i];
            if (a->lost_at)
                continue;
            struct ps_cmd *c = run_cmd_push(a, PS_CMD_RAMP);
            c->u.ramp.to = (uint32_t)share[i];
            c->u.ramp.rate = ph->u.ramp.rate * (double)share[i] / (double)ph->u.ramp.to;
            c->u.ramp.start_at = r->ps.start_at;
        }
        break;
    case PLAN_PHASE_DISCONNECT:
        for (uint32_t i = 0; i < r->n_agents; i++) {
            struct run_agent *a = &r->agents[i];
            if (a->lost_at)
                continue;
            struct ps_cmd *c = run_cmd_push(a, PS_CMD_DISCONNECT);
            c->u.disconnect.fraction = ph->u.disconnect.fraction;
            c->u.disconnect.close_code = ph->u.disconnect.code;
            c->u.disconnect.start_at = r->ps.start_at;
        }
        break;
    case PLAN_PHASE_PUSH:
        pusher_set_concurrency(&r->pusher, ph->u.push.concurrency);
        break;
    case PLAN_PHASE_EXEC: {
        r->ps.up_before = r->ledger.n_up;
        r->ps.exec_start_wall = r->ps.started_wall;
        r->ps.before = calloc(r->ledger.n_conns / 64 + 1, sizeof *r->ps.before);
        if (!r->ps.before) {
            run_fail(r, "out of memory for the reconnection curve");
            break;
        }
        for (uint32_t i = 0; i < r->ledger.n_up; i++) {
            uint32_t c = r->ledger.up_list[i];
            r->ps.before[c >> 6] |= 1ULL << (c & 63);
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            execl("/bin/sh", "sh", "-c", ph->u.exec.command, (char *)NULL);
            _exit(127);
        }
        if (pid < 0)
            run_fail(r, "phase %u (line %d): cannot start command: %s", r->phase + 1, ph->line,
                     strerror(errno));
        r->ps.exec_pid = pid > 0 ? (uint32_t)pid : 0;
        break;
    }
    case PLAN_PHASE_WAIT_RECONNECT:
    case PLAN_PHASE_HOLD:
        break;
    }
}

/* Have all live agents flushed their events up to the time they last ticked,
 * with that tick after `since_wall`? */
static int run_drained(const struct run *r, int64_t since_wall)
{
    for (uint32_t i = 0; i < r->n_agents; i++) {
        const struct run_agent *a = &r->agents[i];
        if (a->lost_at)
            continue;
        if (a->last_tick_wall < since_wall)
            return 0;
        for (uint32_t t = 0; t < a->n_threads && t < PS_MAX_THREADS; t++)
            if (a->acked[t] < a->reported[t])
                return 0;
    }
    return 1;
}

/* Connections that were up before the exec command and are up now. */
static uint64_t run_exec_back(const struct run *r)
{
    uint64_t n = 0;
    const struct ledger *l = &r->ledger;
    for (uint32_t c = 0; c < l->n_conns; c++)
        n += (r->ps.before[c >> 6] >> (c & 63) & 1) && l->conns[c].up;
    return n;
}

static int run_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Reconnection curve of an exec phase: time from the command's start (the
 * fault) until 50/90/99/100% of the connections that were up before it are
 * connected again. Computed once, at the end of the phase, from the agents'
 * corrected timestamps rather than from when the controller happened to see
 * the events, so batching and polling do not blur it. A connection that never
 * went down counts as back at 0; one that is down at the end is not back, and
 * marks it keeps from being reached are not stored. Also stores how many were
 * up before, dropped and back. */
static void run_reconnect_curve(struct run *r)
{
    static const double marks[4] = {0.5, 0.9, 0.99, 1.0};
    static const char *names[4] = {"p50", "p90", "p99", "p100"};
    const struct ledger *l = &r->ledger;
    if (!r->ps.before || !r->ps.up_before)
        return;
    int64_t *t = malloc(r->ps.up_before * sizeof *t);
    if (!t) {
        fprintf(stderr, "pushstorm: out of memory for the reconnection curve\n");
        return;
    }
    uint64_t back = 0, dropped = 0;
    for (uint32_t c = 0; c < l->n_conns; c++) {
        if (!(r->ps.before[c >> 6] >> (c & 63) & 1))
            continue;
        const struct ledger_conn *lc = &l->conns[c];
        int went_down = lc->down_at >= r->ps.exec_start_wall;
        dropped += went_down;
        if (!lc->up || back >= r->ps.up_before)
            continue;
        int64_t dt = went_down ? lc->up_at - r->ps.exec_start_wall : 0;
        t[back++] = dt > 0 ? dt : 0;
    }
    qsort(t, back, sizeof *t, run_cmp_i64);
    char name[64];
    for (int k = 0; k < 4; k++) {
        uint64_t need = (uint64_t)ceil(marks[k] * (double)r->ps.up_before - 1e-9);
        if (need == 0)
            need = 1;
        if (need > back)
            continue;
        snprintf(name, sizeof name, "phase%u_reconnect_%s_s", r->phase + 1, names[k]);
        store_figure(&r->store, r->run_id, name, (double)t[need - 1] / 1e6);
    }
    const struct { const char *what; uint64_t v; } counts[] = {
        {"before", r->ps.up_before}, {"dropped", dropped}, {"back", back}};
    for (int k = 0; k < 3; k++) {
        snprintf(name, sizeof name, "phase%u_reconnect_%s", r->phase + 1, counts[k].what);
        store_figure(&r->store, r->run_id, name, (double)counts[k].v);
    }
    free(t);
}

static int run_phase_step(struct run *r)
{
    const struct plan_phase *ph = &r->plan->phases[r->phase];
    int64_t now = ps_time_mono_us(), now_wall = ps_time_wall_us();
    int64_t elapsed = now - r->ps.started_mono;
    switch (ph->kind) {
    case PLAN_PHASE_RAMP: {
        if (r->ledger.n_up >= ph->u.ramp.to)
            return 1;
        /* Nothing left to try: every agent idle after the planned ramp time. */
        double span_s = (double)(ph->u.ramp.to - r->ps.ramp_from) / ph->u.ramp.rate;
        int64_t planned_end = r->ps.start_at + (int64_t)(span_s * 1e6) + 1000000;
        if (now_wall > planned_end && !r->plan->reconnect.min_us) {
            int idle = 1;
            for (uint32_t i = 0; i < r->n_agents; i++)
                if (!r->agents[i].lost_at && (r->agents[i].stats.connecting ||
                                              r->agents[i].stats.second * 1000000 < planned_end))
                    idle = 0;
            if (idle && run_drained(r, planned_end))
                return 1;
        }
        if (elapsed > ph->u.ramp.timeout_us) {
            if (!r->opts->quiet)
                progress_say(&r->progress, "ramp timed out after %.1fs with %u of %llu connected\n", elapsed / 1e6,
                       r->ledger.n_up, (unsigned long long)ph->u.ramp.to);
            return 1;
        }
        return 0;
    }
    case PLAN_PHASE_HOLD:
        return elapsed >= ph->u.hold.duration_us;
    case PLAN_PHASE_DISCONNECT:
        /* Closes happen at start_at; give their events a moment to arrive. */
        return now_wall > r->ps.start_at + 1000000 && run_drained(r, r->ps.start_at + 500000);
    case PLAN_PHASE_PUSH: {
        uint64_t due = (uint64_t)(elapsed / 1e6 * ph->u.push.rate) + 1;
        if (due > ph->u.push.count)
            due = ph->u.push.count;
        while (r->ps.sent < due && pusher_can_send(&r->pusher) && !r->failed)
            if (run_push_one(r, ph, now_wall) != 0)
                break;
        if (r->ps.sent < ph->u.push.count || r->pusher.inflight)
            return 0;
        /* All sent and answered. Early finish when every message is accounted for. */
        int complete = 1;
        for (uint32_t id = r->ps.first_msg; id && id <= r->ps.last_msg && complete; id++) {
            const struct ledger_msg *m = &r->ledger.msgs[id];
            if (m->failed)
                continue;
            /* A broadcast is done once as many connections have it as were up
             * when it was sent; who exactly got it is settled after the drain. */
            complete = m->bitmap   ? m->delivered >= m->up_at_send
                       : m->rcpt_n ? m->delivered >= m->rcpt_n
                                   : m->delivered > 0;
        }
        if (!complete && now_wall < r->ps.last_deadline)
            return 0;
        if (!r->ps.drain_from_mono)
            r->ps.drain_from_mono = now;
        int64_t drain_since = complete ? r->ps.drain_from_mono : r->ps.last_deadline;
        if (!run_drained(r, drain_since > now_wall ? now_wall : drain_since) &&
            now - r->ps.drain_from_mono < RUN_DRAIN_MAX_US)
            return 0;
        /* Broadcast completeness is only known after the drain. */
        run_settle(r, r->ps.first_msg, r->ps.last_msg);
        return 1;
    }
    case PLAN_PHASE_EXEC: {
        if (r->ps.exec_pid) {
            int status;
            if (waitpid((pid_t)r->ps.exec_pid, &status, WNOHANG) == (pid_t)r->ps.exec_pid) {
                r->ps.exec_pid = 0;
                r->ps.exec_done_wall = now_wall;
                r->ps.exec_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                    fprintf(stderr, "pushstorm: phase %u (line %d): command exited with %d\n",
                            r->phase + 1, ph->line, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
            }
            return 0;
        }
        if (now_wall - r->ps.exec_done_wall > ph->u.exec.within_us)
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
    case PLAN_PHASE_WAIT_RECONNECT: {
        uint64_t target = plan_max_connections(r->plan);
        if (elapsed > ph->u.wait_reconnect.within_us)
            return 1;
        /* Counted only once the agents have reported up to the phase start:
         * closes still in flight would make the count look complete. */
        r->ps.reached = run_drained(r, r->ps.started_wall) &&
                        (double)r->ledger.n_up >= ph->u.wait_reconnect.fraction * (double)target;
        return r->ps.reached;
    }
    }
    return 1;
}

/* After a ramp: each agent's start skew (its first attempt minus start_at, on
 * the controller's clock through the agent's offset, so it carries the offset's
 * error bound) is stored in its row when it is the worst seen so far; the
 * phase's worst |skew| and its spread (latest minus earliest agent) become
 * figures, and the run's worst |skew| the figure start_skew_max_us. Agents
 * that opened nothing in this ramp (a share of 0, or all attempts failed) have
 * no skew. */
static void run_start_skew(struct run *r)
{
    int64_t worst = -1, lo = 0, hi = 0;
    int n = 0;
    for (uint32_t i = 0; i < r->n_agents; i++) {
        struct run_agent *a = &r->agents[i];
        if (!a->ramp_begin || a->lost_at)
            continue;
        int64_t skew = a->ramp_begin - r->ps.start_at;
        int64_t mag = skew < 0 ? -skew : skew;
        if (!a->has_skew || mag > (a->start_skew_us < 0 ? -a->start_skew_us : a->start_skew_us)) {
            a->start_skew_us = skew;
            a->has_skew = 1;
            run_store_agent(r, a);
        }
        worst = mag > worst ? mag : worst;
        lo = !n || skew < lo ? skew : lo;
        hi = !n || skew > hi ? skew : hi;
        n++;
    }
    if (!n)
        return;
    char name[64];
    snprintf(name, sizeof name, "phase%u_start_skew_max_us", r->phase + 1);
    store_figure(&r->store, r->run_id, name, (double)worst);
    snprintf(name, sizeof name, "phase%u_start_spread_us", r->phase + 1);
    store_figure(&r->store, r->run_id, name, (double)(hi - lo));
    if (worst > r->start_skew_max) {
        r->start_skew_max = worst;
        store_figure(&r->store, r->run_id, "start_skew_max_us", (double)worst);
    }
}

static void run_phase_end(struct run *r)
{
    const struct plan_phase *ph = &r->plan->phases[r->phase];
    char note[128] = "";
    if (ph->kind == PLAN_PHASE_RAMP)
        snprintf(note, sizeof note, "%u connected of %llu", r->ledger.n_up,
                 (unsigned long long)ph->u.ramp.to);
    else if (ph->kind == PLAN_PHASE_PUSH)
        snprintf(note, sizeof note, "%llu messages", (unsigned long long)r->ps.sent);
    else if (ph->kind == PLAN_PHASE_EXEC && r->ps.before)
        snprintf(note, sizeof note, "exit %d; %llu of %llu back", r->ps.exec_status,
                 (unsigned long long)run_exec_back(r), (unsigned long long)r->ps.up_before);
    else if (ph->kind == PLAN_PHASE_WAIT_RECONNECT)
        snprintf(note, sizeof note, "%s; %u connected", r->ps.reached ? "reached" : "timed out",
                 r->ledger.n_up);
    if (ph->kind == PLAN_PHASE_EXEC)
        run_reconnect_curve(r);
    if (ph->kind == PLAN_PHASE_RAMP)
        run_start_skew(r);
    store_phase(&r->store, r->run_id, r->phase + 1, plan_phase_name(ph->kind), ph->line,
                r->ps.started_wall, ps_time_wall_us(), note);
}

/* ---------- per-second progress ---------- */

static void run_second(struct run *r, int64_t now_wall)
{
    int64_t sec = now_wall / 1000000;
    if (sec == r->last_second)
        return;
    int64_t span = r->last_second ? sec - r->last_second : 1;
    r->last_second = sec;
    const struct ledger_totals *t = &r->ledger.t;
    struct store_ctl_sample cs = {
        .run_id = r->run_id, .second = sec, .connected = r->ledger.n_up,
        .agents = run_live_agents(r), .opened = t->opened, .failed = t->failed, .closed = t->closed,
        .pushes_sent = t->pushes, .push_errors = t->push_failed, .delivered = t->delivered,
        .lat_p50_us = (uint32_t)ps_hist_quantile(&r->ledger.latency_sec, 0.5),
        .lat_p99_us = (uint32_t)ps_hist_quantile(&r->ledger.latency_sec, 0.99),
    };
    if (r->state >= RUN_PHASES)
        store_ctl_sample(&r->store, &cs);
    if (!r->opts->quiet && r->state >= RUN_PHASES) {
        const char *phase = r->state == RUN_PHASES
                                ? plan_phase_name(r->plan->phases[r->phase].kind)
                                : run_state_names[r->state];
        uint32_t lag = 0;
        for (uint32_t i = 0; i < r->n_agents; i++)
            if (r->agents[i].stats.lag_max_us > lag)
                lag = r->agents[i].stats.lag_max_us;
        /* servers under test, as their monitors saw them in the last seconds */
        char srv[160] = "";
        size_t used = 0;
        for (uint32_t i = 0; i < r->n_monitors && used < sizeof srv - 48; i++) {
            const struct run_monitor *m = &r->monitors[i];
            if (!m->last_second || sec - m->last_second > 3)
                continue;
            char rss[16];
            int n = snprintf(srv + used, sizeof srv - used, "  %s cpu %.0f%%%s%s", m->name,
                             m->last.cpu_pct_x100 / 100.0, m->last.pid ? " rss " : "",
                             m->last.pid ? ps_units_fmt_count((double)m->last.proc_rss, rss, sizeof rss) : "");
            if (n > 0)
                used += (size_t)n;
        }
        struct progress_view v = {
            .elapsed_s = (now_wall - r->started_wall) / 1e6,
            .phase = phase,
            .phase_idx = r->state == RUN_PHASES ? r->phase + 1 : 0,
            .n_phases = r->plan->n_phases,
            .connected = r->ledger.n_up,
            .target = plan_max_connections(r->plan),
            .conn_rate = (t->opened - r->last_opened) / (uint64_t)span,
            .failed = t->failed,
            .reasons = r->reasons,
            .push_rate = (t->pushes - r->last_pushes) / (uint64_t)span,
            .recv_rate = (t->delivered - r->last_delivered) / (uint64_t)span,
            .lat_p50_us = cs.lat_p50_us,
            .lat_p99_us = cs.lat_p99_us,
            .agents_live = run_live_agents(r),
            .agents_joined = r->n_agents,
            .lag_max_us = lag,
            .servers = srv,
        };
        progress_status(&r->progress, &v);
    }
    r->last_opened = t->opened;
    r->last_pushes = t->pushes;
    r->last_delivered = t->delivered;
    ps_hist_init(&r->ledger.latency_sec);
}

/* ---------- state machine ---------- */

/* What an agent can hold, from its hello: fds beyond a margin for its own
 * sockets, and memory at a generous 6 KB per connection (ours, lws's and the
 * kernel's); the same rules the agent applies before it accepts. */
static uint64_t run_agent_capacity(const struct ps_hello *h)
{
    uint64_t fds = h->fd_soft > 256 ? h->fd_soft - 256 : 0;
    uint64_t mem = h->mem_available ? h->mem_available / 6144 : fds;
    return fds < mem ? fds : mem;
}

/* Connection ranges: even, or in proportion to capacity (agents.split).
 * Returns -1 (run failed) if the agents cannot hold the plan. */
static int run_ranges(struct run *r, uint64_t total, uint64_t *first, uint64_t *count)
{
    uint32_t n = r->n_agents;
    if (!r->plan->agents.by_capacity) {
        for (uint32_t i = 0; i < n; i++)
            plan_agent_range(total, n, i, &first[i], &count[i]);
        return 0;
    }
    uint64_t cap[RUN_MAX_AGENTS], sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += cap[i] = run_agent_capacity(&r->agents[i].hello);
    if (sum < total) {
        run_fail(r, "the %u agents can hold %llu connections in all (fd limits, memory), the plan "
                    "needs %llu", n, (unsigned long long)sum, (unsigned long long)total);
        return -1;
    }
    plan_split(total, cap, n, count);
    uint64_t at = 0;
    for (uint32_t i = 0; i < n; i++) {
        first[i] = at;
        at += count[i];
    }
    return 0;
}

static void run_assign(struct run *r)
{
    const struct plan *p = r->plan;
    uint64_t total = plan_max_connections(p);
    uint64_t firsts[RUN_MAX_AGENTS], counts[RUN_MAX_AGENTS];
    if (run_ranges(r, total, firsts, counts) != 0)
        return;
    for (uint32_t i = 0; i < r->n_agents; i++) {
        struct run_agent *a = &r->agents[i];
        uint64_t first = firsts[i], count = counts[i];
        uint32_t n = (uint32_t)count;
        a->conn_first = (uint32_t)first;
        a->conn_count = n;
        ledger_assign(&r->ledger, a->conn_first, a->conn_count, (uint16_t)i);
        struct ps_assign *as = &a->assign;
        memset(as, 0, sizeof *as);
        as->run_id = r->run_id;
        as->conn_first = a->conn_first;
        as->conn_count = n;
        as->n_targets = p->n_targets;
        for (uint32_t t = 0; t < p->n_targets; t++)
            snprintf(as->targets[t], PS_URL_MAX, "%s", p->targets[t].ws);
        snprintf(as->subprotocol, sizeof as->subprotocol, "%s", p->connections.subprotocol);
        as->n_headers = p->connections.n_headers;
        memcpy(as->headers, p->connections.headers, sizeof as->headers);
        as->ws_ping_ms = (uint32_t)(p->heartbeat.ws_ping_us / 1000);
        as->pong_timeout_ms = (uint32_t)(p->heartbeat.pong_timeout_us / 1000);
        snprintf(as->hb_text, sizeof as->hb_text, "%s", p->heartbeat.text);
        snprintf(as->hb_expect, sizeof as->hb_expect, "%s", p->heartbeat.expect);
        as->hb_interval_ms = (uint32_t)(p->heartbeat.interval_us / 1000);
        as->hb_timeout_ms = (uint32_t)(p->heartbeat.timeout_us / 1000);
        as->reconnect_min_ms = (uint32_t)(p->reconnect.min_us / 1000);
        as->reconnect_max_ms = (uint32_t)(p->reconnect.max_us / 1000);
        as->reconnect_attempts = p->reconnect.attempts;
        as->max_inflight = 256;
        as->max_message = p->connections.max_message;
        a->cmd_last = 1;
        run_store_agent(r, a);
    }
    if (!r->opts->quiet)
        progress_say(&r->progress, "assigned %llu connections to %u agents\n", (unsigned long long)total, r->n_agents);
}

static void run_on_pipe_closed(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    struct run_pipes *pp = arg;
    (void)ev;
    pthread_mutex_lock(&pp->mu);
    if (pp->n < RUN_PIPES_CLOSED_MAX)
        pp->closed[pp->n++] = nng_pipe_id(p);
    pthread_mutex_unlock(&pp->mu);
}

static void run_note_closed_pipes(struct run *r, int64_t now)
{
    uint32_t closed[RUN_PIPES_CLOSED_MAX], n;
    pthread_mutex_lock(&r->pipes.mu);
    n = r->pipes.n;
    memcpy(closed, r->pipes.closed, n * sizeof closed[0]);
    r->pipes.n = 0;
    pthread_mutex_unlock(&r->pipes.mu);
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t i = 0; i < r->n_agents; i++)
            if (r->agents[i].pipe == closed[k] && !r->agents[i].lost_at)
                r->agents[i].pipe_closed_mono = now;
}

static void run_check_agents(struct run *r)
{
    int64_t now = ps_time_mono_us();
    run_note_closed_pipes(r, now);
    for (uint32_t i = 0; i < r->n_agents; i++) {
        struct run_agent *a = &r->agents[i];
        if (a->lost_at || r->state == RUN_DONE)
            continue;
        int silent = now - a->last_tick_mono >= RUN_AGENT_LOST_US;
        int hung_up = a->pipe_closed_mono && a->last_tick_mono < a->pipe_closed_mono &&
                      now - a->pipe_closed_mono >= RUN_PIPE_GRACE_US;
        if (!silent && !hung_up)
            continue;
        /* lost from its last sign of life */
        a->lost_at = a->last_tick_wall ? a->last_tick_wall : ps_time_wall_us() - RUN_AGENT_LOST_US;
        r->agent_lost_at[i] = a->lost_at;
        if (silent)
            fprintf(stderr, "pushstorm: agent %u (%s) lost: no word for %ds; its connections are "
                            "accounted as agent lost\n",
                    a->id, a->hello.name, RUN_AGENT_LOST_US / 1000000);
        else
            fprintf(stderr, "pushstorm: agent %u (%s) lost: its connection to the controller "
                            "closed; its connections are accounted as agent lost\n",
                    a->id, a->hello.name);
        run_store_agent(r, a);
        /* Its connections are gone as far as this run can tell. */
        for (uint32_t c = a->conn_first; c < a->conn_first + a->conn_count; c++)
            ledger_conn_agent_lost(&r->ledger, c, a->lost_at);
    }
    if (r->state >= RUN_ASSIGNING && r->state < RUN_DONE && r->n_agents && !run_live_agents(r))
        run_fail(r, "every agent was lost");
}

static void run_step(struct run *r)
{
    int64_t now = ps_time_mono_us();
    if (r->failed && r->state < RUN_STOPPING) {
        for (uint32_t i = 0; i < r->n_agents; i++)
            if (!r->agents[i].lost_at && r->agents[i].cmd_last)
                run_cmd_push(&r->agents[i], PS_CMD_STOP);
        run_set_state(r, RUN_STOPPING);
    }
    switch (r->state) {
    case RUN_WAITING:
        if (r->n_agents >= r->plan->agents.expect) {
            run_assign(r);
            run_set_state(r, RUN_ASSIGNING);
        } else if (now - r->state_since_mono > r->plan->agents.wait_us) {
            run_fail(r, "%u of %u agents joined within %.0fs (agents.wait); no run", r->n_agents,
                     r->plan->agents.expect, r->plan->agents.wait_us / 1e6);
            run_set_state(r, RUN_DONE);
        }
        break;
    case RUN_ASSIGNING: {
        int all = 1;
        for (uint32_t i = 0; i < r->n_agents; i++) {
            struct run_agent *a = &r->agents[i];
            if (a->cmd_error[0]) {
                run_fail(r, "agent %u (%s) refused its assignment: %s", a->id, a->hello.name,
                         a->cmd_error);
                return;
            }
            all &= a->cmd_done >= 1 || a->lost_at;
        }
        if (all) {
            r->phase = 0;
            run_set_state(r, RUN_PHASES);
            run_phase_start(r);
        } else if (now - r->state_since_mono > RUN_ASSIGN_TIMEOUT_US) {
            run_fail(r, "agents did not take their assignment within %ds",
                     RUN_ASSIGN_TIMEOUT_US / 1000000);
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
        for (uint32_t i = 0; i < r->n_agents; i++)
            if (!r->agents[i].lost_at)
                run_cmd_push(&r->agents[i], PS_CMD_STOP);
        run_set_state(r, RUN_STOPPING);
        if (!r->opts->quiet)
            progress_say(&r->progress, "all phases done; stopping agents\n");
        break;
    case RUN_STOPPING: {
        int all = 1;
        for (uint32_t i = 0; i < r->n_agents; i++) {
            const struct run_agent *a = &r->agents[i];
            if (a->lost_at || !a->cmd_last)
                continue;
            all &= a->stopped && a->cmd_done == a->cmd_last;
        }
        if ((all && run_drained(r, 0)) || now - r->state_since_mono > RUN_STOP_TIMEOUT_US ||
            (r->stop_requested > 1))
            run_set_state(r, RUN_DONE);
        break;
    }
    case RUN_DONE:
        break;
    }
}

/* ---------- set-up, loop, verdict ---------- */

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
    nng_socket_set_int(r->pull, NNG_OPT_RECVBUF, 1024);
    if ((rv = nng_listen(r->rep, r->opts->listen, NULL, 0))) {
        snprintf(err, errlen, "cannot listen on %s: %s", r->opts->listen, nng_strerror(rv));
        return -1;
    }
    if ((rv = nng_listen(r->pull, data_url, NULL, 0))) {
        snprintf(err, errlen, "cannot listen on %.200s (data channel, control port + 1): %s", data_url,
                 nng_strerror(rv));
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

/* ---------- Prometheus metrics (--metrics) ---------- */

static void run_metrics_text(struct run *r, FILE *f)
{
    const struct ledger_totals *t = &r->ledger.t;
    const char *name = r->plan->name;
    fprintf(f, "# HELP pushstorm_connections Connections up now (controller's ledger).\n"
               "# TYPE pushstorm_connections gauge\n"
               "pushstorm_connections{run=\"%u\",plan=\"%s\"} %u\n", r->run_id, name,
            r->ledger.n_up);
    fprintf(f, "# TYPE pushstorm_connections_target gauge\npushstorm_connections_target{run=\"%u\"} %llu\n",
            r->run_id, (unsigned long long)plan_max_connections(r->plan));
    fprintf(f, "# TYPE pushstorm_phase gauge\npushstorm_phase{run=\"%u\",kind=\"%s\"} %u\n", r->run_id,
            r->state == RUN_PHASES ? plan_phase_name(r->plan->phases[r->phase].kind)
                                   : run_state_names[r->state],
            r->state == RUN_PHASES ? r->phase + 1 : 0);
    static const char *const counters[][2] = {
        {"connects", "Handshakes completed."}, {"connect_failures", "Connection attempts that failed."},
        {"closes", "Established connections closed."}, {"pushes", "Push API calls made."},
        {"push_errors", "Push API calls that failed."}, {"deliveries", "Messages received by the right connection."},
        {"duplicates", "Messages received more than once."}, {"lost", "Messages lost (recipient stayed connected)."},
        {"missed_offline", "Messages missed while the recipient was disconnected."},
        {"agent_lost", "Messages of connections whose agent was lost."},
    };
    uint64_t v[] = {t->opened, t->failed, t->closed, t->pushes, t->push_failed, t->delivered,
                    t->duplicates, t->lost, t->missed_offline, t->agent_lost};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        fprintf(f, "# HELP pushstorm_%s_total %s\n# TYPE pushstorm_%s_total counter\n"
                   "pushstorm_%s_total{run=\"%u\"} %llu\n", counters[i][0], counters[i][1],
                counters[i][0], counters[i][0], r->run_id, (unsigned long long)v[i]);
    fprintf(f, "# HELP pushstorm_ends_total Failures and closes by reason.\n"
               "# TYPE pushstorm_ends_total counter\n");
    for (uint32_t i = 1; i < PS_REASON_COUNT; i++)
        fprintf(f, "pushstorm_ends_total{run=\"%u\",reason=\"%s\"} %llu\n", r->run_id,
                ps_reason_name(i), (unsigned long long)r->reasons[i]);
    fprintf(f, "# HELP pushstorm_push_latency_seconds Delivery latency over the run so far.\n"
               "# TYPE pushstorm_push_latency_seconds gauge\n");
    static const double qs[] = {0.5, 0.9, 0.99, 1.0};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        fprintf(f, "pushstorm_push_latency_seconds{run=\"%u\",quantile=\"%g\"} %.6f\n", r->run_id,
                qs[i], ps_hist_quantile(&r->ledger.latency, qs[i]) / 1e6);
    fprintf(f, "# TYPE pushstorm_agents gauge\npushstorm_agents{run=\"%u\",state=\"live\"} %u\n"
               "pushstorm_agents{run=\"%u\",state=\"joined\"} %u\n",
            r->run_id, run_live_agents(r), r->run_id, r->n_agents);
    fprintf(f, "# HELP pushstorm_agent_loop_lag_seconds Worst event-loop lag of the last second.\n"
               "# TYPE pushstorm_agent_loop_lag_seconds gauge\n");
    for (uint32_t i = 0; i < r->n_agents; i++)
        fprintf(f, "pushstorm_agent_loop_lag_seconds{run=\"%u\",agent=\"%s\"} %.6f\n", r->run_id,
                r->agents[i].hello.name, r->agents[i].stats.lag_max_us / 1e6);
    if (r->n_monitors)
        fprintf(f, "# HELP pushstorm_server_cpu_ratio Server host CPU busy (monitor agents), 0-1.\n"
                   "# TYPE pushstorm_server_cpu_ratio gauge\n"
                   "# TYPE pushstorm_server_process_rss_bytes gauge\n"
                   "# TYPE pushstorm_server_tcp_inuse gauge\n");
    for (uint32_t i = 0; i < r->n_monitors; i++) {
        const struct run_monitor *m = &r->monitors[i];
        fprintf(f, "pushstorm_server_cpu_ratio{run=\"%u\",server=\"%s\"} %.4f\n", r->run_id, m->name,
                m->last.cpu_pct_x100 / 10000.0);
        fprintf(f, "pushstorm_server_process_rss_bytes{run=\"%u\",server=\"%s\"} %llu\n", r->run_id,
                m->name, (unsigned long long)m->last.proc_rss);
        fprintf(f, "pushstorm_server_tcp_inuse{run=\"%u\",server=\"%s\"} %u\n", r->run_id, m->name,
                m->last.tcp_inuse);
    }
}

static void run_serve_metrics(struct run *r)
{
    int c;
    while ((c = metrics_accept(&r->metrics)) >= 0) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f) {
            metrics_respond(c, "", 0);
            continue;
        }
        run_metrics_text(r, f);
        fclose(f);
        metrics_respond(c, buf, len);
        free(buf);
    }
}

static void run_loop(struct run *r)
{
    struct curl_waitfd fds[3] = {{r->rep_fd, CURL_WAIT_POLLIN, 0}, {r->pull_fd, CURL_WAIT_POLLIN, 0},
                                 {r->metrics.fd, CURL_WAIT_POLLIN, 0}};
    unsigned n_fds = r->metrics.fd >= 0 ? 3 : 2;
    sigset_t pending;
    while (r->state != RUN_DONE) {
        int timeout_ms = RUN_POLL_MAX_MS;
        if (r->state == RUN_PHASES && r->plan->phases[r->phase].kind == PLAN_PHASE_PUSH) {
            double rate = r->plan->phases[r->phase].u.push.rate;
            int gap = (int)(1000.0 / rate);
            timeout_ms = gap < 1 ? 1 : gap < timeout_ms ? gap : timeout_ms;
        }
        curl_multi_poll(r->pusher.multi, fds, n_fds, timeout_ms, NULL);
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

static double run_fraction(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

/* Figures and thresholds from what the ledger holds; returns 1 if all pass. */
static int run_verdict(struct run *r)
{
    struct ledger *l = &r->ledger;
    const struct ledger_totals *t = &l->t;
    uint64_t target = plan_max_connections(r->plan), ever_up = 0;
    for (uint32_t c = 0; c < l->n_conns; c++)
        ever_up += l->conns[c].up_at != 0;
    struct { const char *name; double v; } figs[] = {
        {"conn_target", (double)target},
        {"conn_opened", (double)ever_up},
        {"connect_success", run_fraction(ever_up, target)},
        {"conn_failed_events", (double)t->failed},
        {"conn_closed_events", (double)t->closed},
        {"conn_agent_lost", (double)t->conn_agent_lost},
        {"handshakes", (double)t->opened},
        {"handshake_p50_us", (double)ps_hist_quantile(&l->handshake, 0.5)},
        {"handshake_p99_us", (double)ps_hist_quantile(&l->handshake, 0.99)},
        {"pushes_sent", (double)t->pushes},
        {"push_failed", (double)t->push_failed},
        {"push_failed_agent_lost", (double)t->push_failed_agent_lost},
        {"push_expected", (double)t->expected},
        {"push_delivered", (double)t->delivered},
        {"push_lost", (double)t->lost},
        {"push_missed_offline", (double)t->missed_offline},
        {"push_agent_lost", (double)t->agent_lost},
        {"push_duplicates", (double)t->duplicates},
        {"push_out_of_order", (double)t->out_of_order},
        {"push_misrouted", (double)t->misrouted},
        {"push_late", (double)t->late},
        {"push_foreign", (double)t->foreign},
        {"push_latency_p50_us", (double)ps_hist_quantile(&l->latency, 0.5)},
        {"push_latency_p99_us", (double)ps_hist_quantile(&l->latency, 0.99)},
        {"push_latency_max_us", (double)l->latency.max},
        {"agents", (double)r->n_agents},
        {"agents_lost", (double)(r->n_agents - run_live_agents(r))},
        {"bogus_events", (double)r->bogus_events},
        {"duration_s", (ps_time_wall_us() - r->started_wall) / 1e6},
    };
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++)
        store_figure(&r->store, r->run_id, figs[i].name, figs[i].v);
    for (uint32_t k = 1; k < PS_REASON_COUNT; k++)
        if (r->reasons[k]) {
            char name[64];
            snprintf(name, sizeof name, "reason_%s", ps_reason_name(k));
            store_figure(&r->store, r->run_id, name, (double)r->reasons[k]);
        }
    for (uint32_t i = 0; i < r->n_agents; i++) {
        run_store_agent(r, &r->agents[i]);
    }

    const struct { const char *name; const struct plan_threshold *th; double v; } checks[] = {
        {"connect_success", &r->plan->thresholds.connect_success, run_fraction(ever_up, target)},
        {"push_lost", &r->plan->thresholds.push_lost, (double)t->lost},
        {"push_latency_p99", &r->plan->thresholds.push_latency_p99,
         (double)ps_hist_quantile(&l->latency, 0.99)},
        {"push_latency_p50", &r->plan->thresholds.push_latency_p50,
         (double)ps_hist_quantile(&l->latency, 0.5)},
        {"handshake_p99", &r->plan->thresholds.handshake_p99,
         (double)ps_hist_quantile(&l->handshake, 0.99)},
    };
    int pass = 1;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (!checks[i].th->set)
            continue;
        int ok = plan_threshold_check(checks[i].th, checks[i].v);
        pass &= ok;
        store_threshold(&r->store, r->run_id, checks[i].name, checks[i].th->text, checks[i].v, ok);
    }
    return pass;
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
    r->metrics.fd = -1;
    pthread_mutex_init(&r->pipes.mu, NULL);
    progress_init(&r->progress, stdout, isatty(fileno(stdout)) && !getenv("PUSHSTORM_PLAIN"),
                  opts->quiet);
    r->agents = calloc(RUN_MAX_AGENTS, sizeof *r->agents);
    r->agent_lost_at = calloc(RUN_MAX_AGENTS, sizeof *r->agent_lost_at);
    r->events = malloc(sizeof *r->events);
    msgpack_sbuffer_init(&r->sbuf);
    if (!r->agents || !r->agent_lost_at || !r->events) {
        fprintf(stderr, "pushstorm: out of memory\n");
        goto out_free;
    }
    if (store_open(&r->store, opts->db_path, 0, err, sizeof err) != 0) {
        fprintf(stderr, "pushstorm: %s\n", err);
        goto out_free;
    }
    uint64_t total = plan_max_connections(plan);
    if (ledger_init(&r->ledger, (uint32_t)total, (uint64_t)ps_time_wall_us()) != 0 ||
        pusher_init(&r->pusher, 64, 10000, run_on_push_done, r) != 0) {
        fprintf(stderr, "pushstorm: out of memory\n");
        goto out_store;
    }
    if (run_listen(r, err, sizeof err) != 0 ||
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
    if (opts->local_agents) {
        char dial[PS_URL_MAX];
        run_local_dial_url(opts->listen, dial, sizeof dial);
        if (local_agents_start(&r->local, opts->local_agents, opts->agent_bin, dial,
                               opts->local_threads, err, sizeof err) != 0) {
            run_fail(r, "%s", err);
            store_run_end(&r->store, r->run_id, ps_time_wall_us(), "failed", 2, r->reason);
            goto out_sockets;
        }
    } else if (!opts->quiet) {
        progress_say(&r->progress, "waiting up to %.0fs for %u agents on %s\n", plan->agents.wait_us / 1e6,
               plan->agents.expect, opts->listen);
    }
    fflush(stdout);
    run_set_state(r, RUN_WAITING);
    run_loop(r);

    /* Messages not settled by their phase (an interrupted run) are settled now. */
    run_settle(r, 1, r->ledger.n_msgs);
    int pass = run_verdict(r);
    run_check_store(r);
    exit_code = r->failed ? 2 : pass ? 0 : 1;
    store_run_end(&r->store, r->run_id, ps_time_wall_us(),
                  r->failed ? "failed" : pass ? "pass" : "fail", exit_code,
                  r->failed ? r->reason : NULL);
    if (run_check_store(r))
        exit_code = 2;
    progress_done(&r->progress);
    report_print_summary(&r->store, r->run_id, stdout);
out_sockets:
    metrics_close(&r->metrics);
    local_agents_stop(&r->local, 4000);
    nng_close(r->rep);
    nng_close(r->pull);
    ledger_close(&r->ledger);
    pusher_close(&r->pusher);
out_store:
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
