/* run_agents: the agents of a campaign, as the controller sees them.
 *
 *  - Control (nng rep0): every request is answered at once. HELLO registers an
 *    agent while the run waits for them (a monitor agent may join at any
 *    time); TICK updates its stats, clock offset, acks and command progress,
 *    and the REPLY carries the acks and the next command. Commands are queued
 *    per agent with increasing ids; the agent reports the last id it applied,
 *    so a lost reply only repeats a command. Agents tick every 200 ms, since
 *    a command reaches them only in a reply; while a hold has long enough to
 *    go that none can come, the reply says so (idle_ms) and an agent with
 *    nothing to report ticks once a second instead.
 *  - Data (nng pull0): EVENTS batches are taken only in sequence per (agent,
 *    thread); a gap is refilled by the agent's resend. Each event goes to the
 *    ledger (connection state, deliveries) and to the store.
 *  - Whether each agent is still there (suspect, rejoined, lost): run_link.c. */
#include "run_internal.h"

#include <stdio.h>
#include <string.h>

#include "ps_time.h"

uint32_t run_live_agents(const struct run *r)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->n_agents; i++)
        n += r->agents[i].lost_at == 0;
    return n;
}

/* Writes the agent's row from what is known of it now. */
void run_store_agent(struct run *r, const struct run_agent *a)
{
    store_agent_update(&r->store, r->run_id, a->id, a->conn_first, a->conn_count, a->offset_us,
                       a->offset_err_us, a->start_skew_us, a->lost_at,
                       a->cmd_error[0] ? a->cmd_error : NULL);
}

/* ---------- commands ---------- */

struct run_cmd *run_cmd_push(struct run_agent *a, uint32_t kind)
{
    uint32_t id = ++a->cmd_last;
    struct run_cmd *c = &a->queue[id % RUN_CMD_QUEUE];
    memset(c, 0, sizeof *c);
    c->id = id;
    c->kind = kind;
    return c;
}

/* How long an agent told now may wait for its next tick: a hold's end is the
 * next time a command can come, and the agent must be back at its 200 ms
 * ticks with RUN_START_LEAD_US to spare before it. 0 = tick as usual. */
static uint32_t run_idle_ms(const struct run *r, const struct ps_cmd *next, int64_t now_mono)
{
    if (next->id || r->state != RUN_PHASES || r->stop_requested || r->phase >= r->plan->n_phases)
        return 0;
    const struct plan_phase *ph = &r->plan->phases[r->phase];
    if (ph->kind != PLAN_PHASE_HOLD)
        return 0;
    int64_t left = ph->u.hold.duration_us - (now_mono - r->ps.started_mono);
    return left > RUN_IDLE_TICK_US * 2 + RUN_START_LEAD_US ? RUN_IDLE_TICK_US / 1000 : 0;
}

static void run_cmd_next(const struct run *r, struct run_agent *a, struct ps_cmd *out)
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
    if (id <= a->assign_cmds) {
        run_data_cmd(r, a, id, out);   /* built when due, not queued */
        return;
    }
    /* Commands beyond the ring were never queued (bounded by phase count). */
    const struct run_cmd *q = &a->queue[id % RUN_CMD_QUEUE];
    out->id = q->id;
    out->kind = q->kind;
    if (q->kind == PS_CMD_RAMP)
        out->u.ramp = q->u.ramp;
    else if (q->kind == PS_CMD_DISCONNECT)
        out->u.disconnect = q->u.disconnect;
}

/* ---------- control channel ---------- */

static void run_send_reply(struct run *r, const void *buf, size_t len)
{
    nng_msg *m;
    if (nng_msg_alloc(&m, len) != 0)
        return;
    memcpy(nng_msg_body(m), buf, len);
    /* Not NONBLOCK: rep0 counts a pipe busy until nng's thread has run the
     * previous send's completion, and a fast peer's next request can come
     * before that; a non-blocking reply then is dropped (nng 1.5.2: an
     * impostor's second hello went unanswered now and then). The wait is
     * bounded by the socket's send timeout (RUN_CTL_SEND_WAIT_MS). */
    if (nng_sendmsg(r->rep, m, 0) != 0)
        nng_msg_free(m);
}

static void run_send_welcome(struct run *r, const struct ps_welcome *w)
{
    msgpack_sbuffer_clear(&r->sbuf);
    ps_proto_encode_welcome(&r->sbuf, w);
    run_send_reply(r, r->sbuf.data, r->sbuf.size);
}

static void run_on_hello(struct run *r, const void *buf, size_t len, int64_t t_recv)
{
    struct ps_welcome w = {0};
    struct ps_hello h;
    struct ps_challenge ch;
    char err[160], token[PS_AUTH_HEX] = "";
    enum run_auth_verdict auth = RUN_AUTH_REFUSE;
    w.t_recv = t_recv;
    if (ps_proto_decode_hello(buf, len, &h, err, sizeof err) != 0) {
        snprintf(w.reason, sizeof w.reason, "bad hello: %.140s", err);
        run_auth_bad(&r->auth, r->cur_pipe, "hello", err);
    } else if ((auth = run_auth_hello(&r->auth, r->cur_pipe, &h, &ch, w.reason, sizeof w.reason,
                                      token)) == RUN_AUTH_CHALLENGE) {
        msgpack_sbuffer_clear(&r->sbuf);
        ps_proto_encode_challenge(&r->sbuf, &ch);
        run_send_reply(r, r->sbuf.data, r->sbuf.size);
        return;
    } else if (auth == RUN_AUTH_REFUSE) {
        /* refused and logged by run_auth_hello */
    } else if (h.monitor) {
        if (r->n_monitors >= RUN_MAX_MONITORS || r->state == RUN_DONE) {
            snprintf(w.reason, sizeof w.reason, "no room for another monitor (%d)", RUN_MAX_MONITORS);
        } else {
            struct run_monitor *m = &r->monitors[r->n_monitors++];
            memset(m, 0, sizeof *m);
            m->id = RUN_MONITOR_BASE + r->n_monitors;
            snprintf(m->name, sizeof m->name, "%s", h.name);
            m->last_tick_mono = ps_time_mono_us();
            memcpy(m->token, token, sizeof m->token);
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
        a->pipe = r->cur_pipe;
        memcpy(a->token, token, sizeof a->token);
        w.agent_id = a->id;
        store_agent(&r->store, r->run_id, a->id, &h, t_recv);
        if (!r->opts->quiet)
            progress_say(&r->progress, "agent %u joined: %s (%s, %u cores, %u threads, fd limit %llu)\n", a->id, h.name,
                   h.host, h.cores, h.threads, (unsigned long long)h.fd_soft);
    }
    if (w.reason[0] && !r->opts->quiet && auth == RUN_AUTH_REGISTER)
        fprintf(stderr, "pushstorm: refused an agent: %s\n", w.reason);
    w.t_send = ps_time_wall_us();
    run_send_welcome(r, &w);
}

/* A tick naming a known agent or monitor must carry its session token (it
 * may come on a new pipe: nng redials after a network blip). */
static int run_tick_token_ok(struct run *r, const struct ps_tick *t)
{
    const char *want = NULL;
    if (t->agent_id > RUN_MONITOR_BASE && t->agent_id <= RUN_MONITOR_BASE + r->n_monitors)
        want = r->monitors[t->agent_id - RUN_MONITOR_BASE - 1].token;
    else if (t->agent_id && t->agent_id <= r->n_agents)
        want = r->agents[t->agent_id - 1].token;
    return !want || run_auth_token_ok(&r->auth, want, t->token, "a tick", t->agent_id, r->cur_pipe);
}

static void run_on_tick(struct run *r, const void *buf, size_t len, int64_t t_recv)
{
    static const struct ps_reply unknown = {.unknown_agent = 1};
    struct ps_reply rep;
    struct ps_tick t;
    char err[160];
    if (ps_proto_decode_tick(buf, len, &t, err, sizeof err) != 0) {
        run_auth_bad(&r->auth, r->cur_pipe, "tick", err);
        rep = unknown;
    } else if (!run_tick_token_ok(r, &t)) {
        rep = unknown;   /* a known agent's id without its token: dropped, logged */
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
        /* the run is ending: a monitor started with --once exits, others say hello again */
        rep.unknown_agent = r->state >= RUN_STOPPING;
        m->told_over |= rep.unknown_agent;
    } else if (t.agent_id == 0 || t.agent_id > r->n_agents || r->agents[t.agent_id - 1].lost_at) {
        rep = unknown;
    } else {
        struct run_agent *a = &r->agents[t.agent_id - 1];
        int64_t now_mono = ps_time_mono_us();
        run_link_tick(r, a, &t, now_mono);
        a->last_tick_mono = now_mono;
        a->pipe = r->cur_pipe;
        a->pipe_closed_mono = 0;
        a->last_tick_wall = t_recv;
        a->offset_us = t.offset_us;
        a->offset_err_us = t.offset_err_us;
        a->n_threads = t.n_threads;
        memcpy(a->reported, t.batch_seq, sizeof a->reported);
        a->stopped = t.stopped;
        a->tls_full = t.tls_full;
        a->tls_resumed = t.tls_resumed;
        if (t.cmd_done > a->cmd_done && t.cmd_done <= a->cmd_last) {
            a->cmd_done = t.cmd_done;
            if (t.cmd_error[0] && !a->cmd_error[0]) {
                snprintf(a->cmd_error, sizeof a->cmd_error, "%s", t.cmd_error);
                run_store_agent(r, a);
            }
        }
        if (t.stats.second > a->stored_second) {
            run_sample_note(r, a, &t.stats);
            a->stats = t.stats;
            a->stored_second = t.stats.second;
            store_sample(&r->store, r->run_id, a->id, &t.stats);
        } else if (t.stats.second == a->stored_second) {
            /* the second summed again: a slice stopped within it and sent its
             * final counters (acks, keepalives); the figures take them, the
             * stored sample of that second stays the first */
            a->stats = t.stats;
        }
        memset(&rep, 0, sizeof rep);
        rep.n_acks = a->n_threads;
        memcpy(rep.acked_seq, a->acked, sizeof rep.acked_seq);
        run_cmd_next(r, a, &rep.cmd);
        rep.idle_ms = run_idle_ms(r, &rep.cmd, now_mono);
    }
    rep.t_recv = t_recv;
    rep.t_send = ps_time_wall_us();
    msgpack_sbuffer_clear(&r->sbuf);
    ps_proto_encode_reply(&r->sbuf, &rep);
    run_send_reply(r, r->sbuf.data, r->sbuf.size);
}

void run_drain_control(struct run *r)
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
            run_auth_bad(&r->auth, r->cur_pipe, "control message", err);
            /* rep0 needs an answer before it takes the next request. */
            struct ps_welcome w = {.t_recv = t_recv, .t_send = t_recv};
            snprintf(w.reason, sizeof w.reason, "bad message: %.140s", err);
            run_send_welcome(r, &w);
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
        run_skew_note(r, a, ev->conn, ts, (uint32_t)ev->val);
        ledger_conn_up(&r->ledger, ev->conn, ts, (uint32_t)ev->val);
        break;
    case PS_EV_ACKS:
        ledger_conn_acks(&r->ledger, ev->conn, ev->val);
        break;
    case PS_EV_READY:
        ledger_session_ready_note(&r->ledger, ev->val > UINT32_MAX ? UINT32_MAX : (uint32_t)ev->val);
        break;
    case PS_EV_FAILED:
    case PS_EV_CLOSED:
        ledger_conn_down(&r->ledger, ev->conn, ts, ev->type == PS_EV_FAILED);
        if (ev->val < PS_REASON_COUNT)
            r->reasons[ev->val]++;
        if (ev->val == PS_REASON_TLS_VERIFY)
            r->tls_verify[ps_tls_verify_cause(ev->aux)]++;
        break;
    case PS_EV_MESSAGE: {
        int64_t lat;
        int dup, ooo;
        if (ev->aux != r->run_id) {
            ledger_foreign(&r->ledger);
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

void run_drain_data(struct run *r)
{
    for (int i = 0; i < 512; i++) {
        nng_msg *m;
        if (nng_recvmsg(r->pull, &m, NNG_FLAG_NONBLOCK) != 0)
            return;
        char err[160];
        struct ps_events *e = r->events;
        uint32_t pipe = nng_pipe_id(nng_msg_get_pipe(m));
        if (ps_proto_decode_events(nng_msg_body(m), nng_msg_len(m), e, err, sizeof err) != 0) {
            run_auth_bad(&r->auth, pipe, "event batch", err);
        } else if (!run_auth_token_ok(&r->auth,
                                      e->agent_id && e->agent_id <= r->n_agents
                                          ? r->agents[e->agent_id - 1].token : "",
                                      e->token, "an event batch", e->agent_id, pipe)) {
            /* not from an agent that said hello: dropped and counted apart, so
             * that no one else's batch can move a figure of the verdict */
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

int run_agent_drained(const struct run_agent *a)
{
    for (uint32_t t = 0; t < a->n_threads && t < PS_MAX_THREADS; t++)
        if (a->acked[t] < a->reported[t])
            return 0;
    return 1;
}

int run_drained(const struct run *r, int64_t since_wall)
{
    for (uint32_t i = 0; i < r->n_agents; i++) {
        const struct run_agent *a = &r->agents[i];
        if (a->lost_at)
            continue;
        if (a->last_tick_wall < since_wall || !run_agent_drained(a))
            return 0;
    }
    return 1;
}
