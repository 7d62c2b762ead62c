/* dialect.c: the framework under the client protocols (agent/dialect.h).
 *
 * The table below is the agent's list of protocols: one line per dialect,
 * naming its ops (each in agent/dialect_NAME.c over its pure codec). A target
 * whose protocol has no line is refused at ASSIGN, naming it.
 *
 * What the framework adds to a connection, and where:
 *   - subprotocol: conn_open.c offers the dialect's when the plan names none;
 *   - handshake: the upgraded connection enters its session (session.c) with
 *     proto_wait set, so it stays in flight, counts against max_inflight and
 *     has its deadline checked by the session tick over active entries only;
 *     agent_dialect_ready() lets the plan's steps run, then agent_conn_ready();
 *   - receive: conn.c applies max_message and UTF-8 to the WebSocket message
 *     as always and hands every piece to the dialect's rx(); the payloads it
 *     gives back go to the session's expects (before online) or to the token
 *     scan and acks (online), with max_message applied to each payload too;
 *   - send: conn.c's writeable callback asks agent_dialect_writeable() first:
 *     the goodbye when a clean close of ours is under way, else one frame of
 *     the dialect's; when it has nothing, the session's send, pings, acks and
 *     the close take the callback as before (one frame per callback);
 *   - keepalive and watch: keepalive.c's paced sweeps call the visit
 *     functions below; a keepalive unanswered by proto_timeout_ms closes with
 *     proto_keepalive and its RTT goes into hb_rtt like the app heartbeat's;
 *   - failure: agent_dialect_fail() is agent_conn_close() with the reason, so
 *     agent_conn_ended() reports the attempt once; the aux it gives replaces
 *     the event's (the step, or the close code) for the proto_* reasons.
 * Memory: per worker, at ASSIGN and only when a target names a protocol, an
 * array of struct agent_dialect_conn (16 B) and one of the largest
 * state_bytes in use, per slot. Nothing is allocated per message. */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_time.h"
#include "ps_tpl.h"

/* The dialect table: one line per protocol, NULL until its dialect is built
 * in (then &agent_dialect_NAME, declared in dialect.h). */
static const struct agent_dialect *const agent_dialect_table[PS_PROTOCOL_COUNT] = {
    [PS_PROTOCOL_WEBSOCKET] = NULL,       /* no dialect: the messages are the pushes */

    [PS_PROTOCOL_SOCKETIO] = &agent_dialect_socketio,

    [PS_PROTOCOL_MQTT] = &agent_dialect_mqtt,

    [PS_PROTOCOL_STOMP] = &agent_dialect_stomp,
};

enum agent_dialect_cflag {
    AGENT_DCF_WANT_WRITE = 1 << 0,   /* the dialect has a frame for the next writeable */
    AGENT_DCF_KA_OUT     = 1 << 1,   /* a keepalive went out, its answer not yet seen */
    AGENT_DCF_READY      = 1 << 2,   /* agent_dialect_ready() was called in this attempt */
    AGENT_DCF_GOODBYE    = 1 << 3,   /* our clean close: the goodbye goes before the Close */
};

struct agent_dialect_io {
    struct agent_worker *w;
    uint32_t slot;
};

const struct agent_dialect *const *agent_dialect_builtin(void)
{
    return agent_dialect_table;
}

/* ---------- assignment ---------- */

int agent_dialect_prepare(const struct ps_assign *a, const struct agent_dialect *const *table,
                          char *err, size_t errlen)
{
    int checked[PS_PROTOCOL_COUNT] = {0};
    for (uint32_t t = 0; t < a->n_target_protocol; t++) {
        uint64_t p = a->target_protocol[t];
        if (p == PS_PROTOCOL_WEBSOCKET)
            continue;
        if (p >= PS_PROTOCOL_COUNT || !table[p]) {
            snprintf(err, errlen, "target %u: protocol %s is not built into this agent", t,
                     ps_protocol_name((uint32_t)p));
            return -1;
        }
        const struct agent_dialect *d = table[p];
        if (d->state_bytes > AGENT_DIALECT_STATE_MAX || !d->open || !d->rx || !d->write) {
            snprintf(err, errlen, "protocol %s: its dialect is incomplete (state %u bytes)", d->name,
                     d->state_bytes);
            return -1;
        }
        if (checked[p]++ || !d->prepare)
            continue;
        char why[PS_REASON_MAX];
        why[0] = 0;
        if (d->prepare(a, why, sizeof why) < 0) {
            snprintf(err, errlen, "protocol %s: %s", d->name, why[0] ? why : "options refused");
            return -1;
        }
    }
    return 0;
}

void agent_dialect_release(struct agent_worker *w)
{
    free(w->dl.conn);
    free(w->dl.state);
    memset(&w->dl, 0, sizeof w->dl);
}

int agent_dialect_alloc(struct agent_worker *w, const struct agent_dialect *const *table)
{
    const struct ps_assign *a = &w->agent->assign.a;
    agent_dialect_release(w);
    int any = 0;
    for (uint32_t t = 0; t < a->n_target_protocol && t < PS_MAX_TARGETS; t++) {
        uint64_t p = a->target_protocol[t];
        const struct agent_dialect *d = p < PS_PROTOCOL_COUNT ? table[p] : NULL;
        w->dl.by_target[t] = d;
        if (!d)
            continue;
        any = 1;
        if (d->state_bytes > w->dl.stride)
            w->dl.stride = d->state_bytes;
        w->dl.any_keepalive |= d->keepalive != NULL;
        w->dl.any_watch |= d->watch != NULL;
    }
    if (!any || !w->n_conns)
        return 0;
    w->dl.stride = (w->dl.stride + 7) & ~7u;   /* each slot's state 8-byte aligned */
    w->dl.conn = calloc(w->n_conns, sizeof *w->dl.conn);
    if (w->dl.stride)
        w->dl.state = calloc(w->n_conns, w->dl.stride);
    return w->dl.conn && (!w->dl.stride || w->dl.state) ? 0 : -1;
}

const struct agent_dialect *agent_dialect_of(const struct agent_worker *w, uint32_t slot)
{
    return w->dl.conn ? w->dl.by_target[agent_conn_target(w, slot)] : NULL;
}

static void *agent_dialect_state(const struct agent_worker *w, uint32_t slot)
{
    return w->dl.state ? w->dl.state + (size_t)slot * w->dl.stride : NULL;
}

static uint32_t agent_dialect_now32(const struct agent_worker *w)
{
    return (uint32_t)(ps_time_mono_us() - w->t0_us);
}

/* ---------- the life of a connection ---------- */

void agent_dialect_open(struct agent_worker *w, uint32_t slot)
{
    const struct agent_dialect *d = agent_dialect_of(w, slot);
    if (!d)
        return;
    memset(&w->dl.conn[slot], 0, sizeof w->dl.conn[slot]);
    void *st = agent_dialect_state(w, slot);
    if (st)
        memset(st, 0, w->dl.stride);
    struct agent_dialect_io io = {w, slot};
    d->open(st, &io);
}

void agent_dialect_rx(struct agent_worker *w, uint32_t slot, const struct agent_conn_piece *p)
{
    struct agent_dialect_io io = {w, slot};
    agent_dialect_of(w, slot)->rx(agent_dialect_state(w, slot), &io, p);
}

static int agent_dialect_put(struct agent_worker *w, uint32_t slot, unsigned char *p, int n, int binary)
{
    return agent_conn_write(w, slot, p, (size_t)n, binary ? AGENT_CONN_BINARY : AGENT_CONN_TEXT) < 0 ? -1 : 1;
}

int agent_dialect_writeable(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    struct agent_dialect_conn *dc = &w->dl.conn[slot];
    const struct agent_dialect *d = agent_dialect_of(w, slot);
    struct agent_dialect_io io = {w, slot};
    unsigned char *out = w->txbuf + LWS_PRE;
    int binary = 0, n;
    if (c->flags & AGENT_CF_WANT_CLOSE) {
        if (!(dc->flags & AGENT_DCF_GOODBYE))
            return 0;
        dc->flags &= (uint8_t)~AGENT_DCF_GOODBYE;
        n = d->goodbye(agent_dialect_state(w, slot), &io, out, AGENT_TX_MAX, &binary);
        if (n <= 0)
            return 0;   /* nothing to say: the Close goes in this callback */
        agent_conn_want_write(w, slot);   /* the Close next */
        return agent_dialect_put(w, slot, out, n, binary);
    }
    if (!(dc->flags & AGENT_DCF_WANT_WRITE))
        return 0;
    n = d->write(agent_dialect_state(w, slot), &io, out, AGENT_TX_MAX, &binary);
    if (n > (int)AGENT_TX_MAX)   /* a dialect writing past cap is a bug: never send it */
        n = -1;
    if (n < 0 && !c->reason)
        agent_conn_close(w, slot, PS_REASON_PROTO_ERROR, 1011);
    if (n <= 0) {
        dc->flags &= (uint8_t)~AGENT_DCF_WANT_WRITE;
        return 0;
    }
    agent_conn_want_write(w, slot);   /* it may have more; 0 next time clears the flag */
    return agent_dialect_put(w, slot, out, n, binary);
}

void agent_dialect_closing(struct agent_worker *w, uint32_t slot, uint8_t reason)
{
    const struct agent_dialect *d = agent_dialect_of(w, slot);
    if (d && d->goodbye && reason == PS_REASON_CLIENT_CLOSE &&
        (w->dl.conn[slot].flags & AGENT_DCF_READY))
        w->dl.conn[slot].flags |= AGENT_DCF_GOODBYE;
}

uint32_t agent_dialect_aux(const struct agent_worker *w, uint32_t slot)
{
    return w->dl.conn ? w->dl.conn[slot].aux : 0;
}

int agent_dialect_frame_send(struct agent_worker *w, uint32_t slot, const char *text, size_t len,
                             unsigned char *out, size_t cap, int *binary)
{
    const struct agent_dialect *d = agent_dialect_of(w, slot);
    *binary = 0;
    if (!d || !d->frame_send) {
        if (len > cap)
            return -1;
        memmove(out, text, len);
        return (int)len;
    }
    struct agent_dialect_io io = {w, slot};
    int n = d->frame_send(agent_dialect_state(w, slot), &io, text, len, out, cap, binary);
    return n > (int)cap ? -1 : n;
}

/* ---------- keepalive and watchdog (keepalive.c's sweeps) ---------- */

static int agent_dialect_online(const struct agent_worker *w, uint32_t slot)
{
    const struct agent_conn *c = &w->conns[slot];
    return c->state == AGENT_CONN_OPEN && agent_conn_live(w, slot) && !c->reason && agent_dialect_of(w, slot);
}

static void agent_dialect_ka_missed(struct agent_worker *w, uint32_t slot)
{
    struct agent_dialect_conn *dc = &w->dl.conn[slot];
    agent_conn_read_now(w, slot);   /* an answer already in the socket is no miss (keepalive.c) */
    if (!agent_dialect_online(w, slot) || !(dc->flags & AGENT_DCF_KA_OUT))
        return;
    dc->flags &= (uint8_t)~AGENT_DCF_KA_OUT;
    w->c.hb_missed++;
    agent_worker_event(w, slot, PS_EV_HB_MISSED, (agent_dialect_now32(w) - dc->ka_sent) / 1000, 0);
    agent_conn_close(w, slot, PS_REASON_PROTO_KEEPALIVE, 1001);
}

static int agent_dialect_ka_overdue(const struct agent_worker *w, uint32_t slot)
{
    const struct agent_dialect_conn *dc = &w->dl.conn[slot];
    uint32_t limit = w->agent->assign.a.proto_timeout_ms;
    return (dc->flags & AGENT_DCF_KA_OUT) && limit &&
           (agent_dialect_now32(w) - dc->ka_sent) / 1000 >= limit;
}

void agent_dialect_ka_visit(struct agent_worker *w, uint32_t slot)
{
    if (!agent_dialect_online(w, slot))
        return;
    const struct agent_dialect *d = agent_dialect_of(w, slot);
    if (!d->keepalive)
        return;
    if (w->dl.conn[slot].flags & AGENT_DCF_KA_OUT) {
        if (agent_dialect_ka_overdue(w, slot))
            agent_dialect_ka_missed(w, slot);
        return;   /* one keepalive outstanding at a time */
    }
    struct agent_dialect_io io = {w, slot};
    d->keepalive(agent_dialect_state(w, slot), &io);
}

void agent_dialect_ka_check(struct agent_worker *w, uint32_t slot)
{
    if (agent_dialect_online(w, slot) && agent_dialect_ka_overdue(w, slot))
        agent_dialect_ka_missed(w, slot);
}

void agent_dialect_watch_visit(struct agent_worker *w, uint32_t slot, int64_t now)
{
    if (!agent_dialect_online(w, slot))
        return;
    const struct agent_dialect *d = agent_dialect_of(w, slot);
    if (!d->watch)
        return;
    struct agent_dialect_io io = {w, slot};
    d->watch(agent_dialect_state(w, slot), &io, now);
}

/* ---------- called by the dialects ---------- */

void agent_dialect_payload(struct agent_dialect_io *io, const void *data, size_t len, int first,
                           int final)
{
    struct agent_worker *w = io->w;
    struct agent_conn *c = &w->conns[io->slot];
    struct agent_dialect_conn *dc = &w->dl.conn[io->slot];
    if (c->reason)
        return;   /* closing: the rest no longer matters */
    if (first) {
        dc->pay_bytes = 0;
        ps_token_reset(&c->tok);
    }
    dc->pay_bytes += (uint32_t)len;
    uint32_t max = w->agent->assign.a.max_message;
    if (max && dc->pay_bytes > max) {
        agent_conn_close(w, io->slot, PS_REASON_TOO_BIG, 1009);
        return;
    }
    struct agent_conn_piece p = {
        .in = data, .len = len, .first = (uint8_t)!!first, .final = (uint8_t)!!final,
    };
    if (c->state == AGENT_CONN_SESSION)
        agent_session_rx(w, io->slot, &p);
    else if (c->state == AGENT_CONN_OPEN)
        agent_conn_deliver(w, io->slot, &p);
}

void agent_dialect_ready(struct agent_dialect_io *io)
{
    struct agent_worker *w = io->w;
    struct agent_dialect_conn *dc = &w->dl.conn[io->slot];
    if ((dc->flags & AGENT_DCF_READY) || w->conns[io->slot].reason)
        return;
    dc->flags |= AGENT_DCF_READY;
    agent_session_proto_ready(w, io->slot);
}

void agent_dialect_fail(struct agent_dialect_io *io, uint8_t reason, uint32_t aux)
{
    struct agent_worker *w = io->w;
    struct agent_conn *c = &w->conns[io->slot];
    if (c->reason)
        return;   /* the first failure names the attempt */
    w->dl.conn[io->slot].aux = aux;
    uint16_t code = reason == PS_REASON_PROTO_ERROR ? 1002
                  : reason == PS_REASON_PROTO_TIMEOUT || reason == PS_REASON_PROTO_KEEPALIVE ? 1001
                  : 1000;
    agent_conn_close(w, io->slot, reason, code);
}

void agent_dialect_want_write(struct agent_dialect_io *io)
{
    struct agent_worker *w = io->w;
    struct agent_conn *c = &w->conns[io->slot];
    struct agent_dialect_conn *dc = &w->dl.conn[io->slot];
    if (c->reason || (dc->flags & AGENT_DCF_WANT_WRITE))
        return;   /* closing (see agent_conn_ping), or already asked */
    dc->flags |= AGENT_DCF_WANT_WRITE;
    agent_conn_want_write(w, io->slot);
}

void agent_dialect_keepalive_sent(struct agent_dialect_io *io)
{
    struct agent_dialect_conn *dc = &io->w->dl.conn[io->slot];
    dc->ka_sent = agent_dialect_now32(io->w);
    dc->flags |= AGENT_DCF_KA_OUT;
    io->w->c.hb_sent++;
}

void agent_dialect_keepalive_answered(struct agent_dialect_io *io)
{
    struct agent_dialect_conn *dc = &io->w->dl.conn[io->slot];
    if (!(dc->flags & AGENT_DCF_KA_OUT))
        return;   /* unasked for, or late after the miss was counted */
    dc->flags &= (uint8_t)~AGENT_DCF_KA_OUT;
    ps_hist_record(&io->w->cur.hb_rtt, agent_dialect_now32(io->w) - dc->ka_sent);
}

void agent_dialect_watch_ms(struct agent_dialect_io *io, uint32_t ms)
{
    struct agent_worker *w = io->w;
    if (!ms || (w->dl.watch_ms && w->dl.watch_ms <= ms))
        return;   /* the fastest pace any connection asked for */
    w->dl.watch_ms = ms;
    w->dl.watch_t0_us = ps_time_mono_us();
    w->dl.watch_pos = 0;
}

void agent_dialect_count(struct agent_dialect_io *io, enum agent_dialect_counter c)
{
    struct agent_counters *k = &io->w->c;
    switch (c) {
    case AGENT_DC_DUPLICATE:   k->proto_duplicates++; break;
    case AGENT_DC_PROTO_ACK:   k->proto_acks++; break;
    case AGENT_DC_SERVER_PING: k->proto_pings++; break;
    }
}

int agent_dialect_expand(struct agent_dialect_io *io, const char *tpl, char *out, size_t cap)
{
    struct agent_conn_tpl t;
    agent_conn_tpl_init(&t, io->w, io->slot);
    return ps_tpl_expand_src(out, cap, tpl, t.vars, t.n, &t.src);
}

const struct ps_assign *agent_dialect_assign(const struct agent_dialect_io *io)
{
    return &io->w->agent->assign.a;
}

uint32_t agent_dialect_conn_id(const struct agent_dialect_io *io)
{
    return agent_worker_conn_id(io->w, io->slot);
}

int64_t agent_dialect_now_us(const struct agent_dialect_io *io)
{
    (void)io;
    return ps_time_mono_us();
}

uint32_t agent_dialect_now_ms(const struct agent_dialect_io *io)
{
    return (uint32_t)(agent_dialect_now_us(io) / 1000);
}

const char *agent_dialect_host(const struct agent_dialect_io *io)
{
    return io->w->agent->assign.targets[agent_conn_target(io->w, io->slot)].host;
}
