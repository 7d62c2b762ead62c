/* keepalive.c: the worker's ws pings and app heartbeats, and their deadlines.
 *
 * Called from the worker's timer. A cursor walks the slots so that each is
 * visited once per interval, spreading 50,000 pings evenly instead of in a
 * burst; a second cursor trails it by the timeout and checks the answer, so a
 * missed pong or heartbeat reply is noticed within one timer tick of its
 * deadline without any per-connection timer. Before it is called missed, what
 * the socket holds is read (conn_io.c): when our own loop has stalled, the
 * timer runs before the poll, and an answer that came in time would otherwise
 * be blamed on the server. agent_keepalive_next() tells the
 * timer when the next cursor has a slot to visit, so with pings off (or few
 * connections) the worker sleeps until then; with many, it wakes once per
 * agent_keepalive_batch_us() and sends what came due meanwhile. Client
 * protocols (dialect.c) add their keepalive and watchdog sweeps the same way,
 * only when one is in use. The ping and heartbeat twins stay
 * two small functions each: a shared form needs offsetof descriptors that read
 * worse than the ten lines they would save. */
#include "agent.h"

#include "ps_time.h"

/* Visits slots [*pos, target) modulo n, at most one lap per call. */
static void agent_keepalive_sweep(struct agent_worker *w, uint64_t *pos, int64_t since_t0,
                               uint32_t interval_ms, void (*visit)(struct agent_worker *, uint32_t))
{
    if (since_t0 < 0 || !w->n_conns)
        return;
    uint64_t target = (uint64_t)since_t0 * w->n_conns / ((uint64_t)interval_ms * 1000);
    if (target > *pos + w->n_conns)
        *pos = target - w->n_conns;
    for (; *pos < target; (*pos)++)
        visit(w, (uint32_t)(*pos % w->n_conns));
}

/* An answer the socket already holds is no miss: read it first (after a
 * stall of our loop the timer runs before the poll). Still owed: 1. */
static int agent_keepalive_still_owed(struct agent_worker *w, uint32_t slot, uint8_t flag)
{
    agent_conn_read_now(w, slot);
    const struct agent_conn *c = &w->conns[slot];
    return c->state == AGENT_CONN_OPEN && (c->flags & flag);
}

static void agent_keepalive_pong_missed(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    if (!agent_keepalive_still_owed(w, slot, AGENT_CF_PING_OUT))
        return;
    uint32_t ms = ((uint32_t)(ps_time_mono_us() - w->t0_us) - c->ping_sent) / 1000;
    c->flags &= (uint8_t)~AGENT_CF_PING_OUT;
    w->c.pong_missed++;
    agent_worker_event(w, slot, PS_EV_PONG_MISSED, ms, 0);
    agent_conn_close(w, slot, PS_REASON_PONG_TIMEOUT, 1001);
}

static void agent_keepalive_hb_missed(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    if (!agent_keepalive_still_owed(w, slot, AGENT_CF_HB_OUT))
        return;
    uint32_t ms = ((uint32_t)(ps_time_mono_us() - w->t0_us) - c->hb_sent) / 1000;
    c->flags &= (uint8_t)~AGENT_CF_HB_OUT;
    w->c.hb_missed++;
    agent_worker_event(w, slot, PS_EV_HB_MISSED, ms, 0);
    agent_conn_close(w, slot, PS_REASON_HB_TIMEOUT, 1001);
}

static uint32_t agent_keepalive_since(const struct agent_worker *w, uint32_t then)
{
    return ((uint32_t)(ps_time_mono_us() - w->t0_us) - then) / 1000;
}

static void agent_keepalive_visit_ping(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    if (c->state != AGENT_CONN_OPEN)
        return;
    const struct ps_assign *a = &w->agent->assign.a;
    if (c->flags & AGENT_CF_PING_OUT) {
        if (a->pong_timeout_ms && agent_keepalive_since(w, c->ping_sent) >= a->pong_timeout_ms)
            agent_keepalive_pong_missed(w, slot);
        return;   /* one ping outstanding at a time */
    }
    agent_conn_ping(w, slot);
}

static void agent_keepalive_check_pong(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    const struct ps_assign *a = &w->agent->assign.a;
    if (c->state == AGENT_CONN_OPEN && (c->flags & AGENT_CF_PING_OUT) &&
        agent_keepalive_since(w, c->ping_sent) >= a->pong_timeout_ms)
        agent_keepalive_pong_missed(w, slot);
}

static void agent_keepalive_visit_hb(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    if (c->state != AGENT_CONN_OPEN)
        return;
    const struct ps_assign *a = &w->agent->assign.a;
    if (c->flags & AGENT_CF_HB_OUT) {
        if (a->hb_timeout_ms && agent_keepalive_since(w, c->hb_sent) >= a->hb_timeout_ms)
            agent_keepalive_hb_missed(w, slot);
        return;
    }
    agent_conn_heartbeat(w, slot);
}

static void agent_keepalive_check_hb(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    const struct ps_assign *a = &w->agent->assign.a;
    if (c->state == AGENT_CONN_OPEN && (c->flags & AGENT_CF_HB_OUT) &&
        agent_keepalive_since(w, c->hb_sent) >= a->hb_timeout_ms)
        agent_keepalive_hb_missed(w, slot);
}

/* Client protocols (dialect.c): their keepalive at proto_keepalive_ms, with a
 * check cursor trailing by the answer's deadline (proto_timeout_ms) like the
 * heartbeat's, and their watchdog at the pace a dialect asked for. Only when a
 * target speaks a protocol with such an op: otherwise nothing here runs. */
static int agent_keepalive_proto_on(const struct agent_worker *w)
{
    return w->dl.conn && w->dl.any_keepalive && w->agent->assign.a.proto_keepalive_ms;
}

static int agent_keepalive_watch_on(const struct agent_worker *w)
{
    return w->dl.conn && w->dl.any_watch && w->dl.watch_ms;
}

/* The app heartbeat's sweep runs only with a text to send. */
static int agent_keepalive_hb_on(const struct ps_assign *a)
{
    return a->hb_text[0] && a->hb_interval_ms;
}

static int agent_keepalive_proto_check_on(const struct agent_worker *w)
{
    const struct ps_assign *a = &w->agent->assign.a;
    return agent_keepalive_proto_on(w) && a->proto_timeout_ms &&
           a->proto_timeout_ms < a->proto_keepalive_ms;
}

static void agent_keepalive_dialects(struct agent_worker *w, int64_t now, int64_t since)
{
    const struct ps_assign *a = &w->agent->assign.a;
    if (agent_keepalive_proto_on(w))
        agent_keepalive_sweep(w, &w->dl.ka_pos, since, a->proto_keepalive_ms, agent_dialect_ka_visit);
    if (agent_keepalive_proto_check_on(w))
        agent_keepalive_sweep(w, &w->dl.ka_check_pos, since - (int64_t)a->proto_timeout_ms * 1000,
                              a->proto_keepalive_ms, agent_dialect_ka_check);
    if (!agent_keepalive_watch_on(w) || now < w->dl.watch_t0_us)
        return;
    /* the sweep's shape, with now passed on to the watchdog */
    uint64_t target = (uint64_t)(now - w->dl.watch_t0_us) * w->n_conns /
                      ((uint64_t)w->dl.watch_ms * 1000);
    if (target > w->dl.watch_pos + w->n_conns)
        w->dl.watch_pos = target - w->n_conns;
    for (; w->dl.watch_pos < target; w->dl.watch_pos++)
        agent_dialect_watch_visit(w, (uint32_t)(w->dl.watch_pos % w->n_conns), now);
}

void agent_keepalive_step(struct agent_worker *w, int64_t now)
{
    const struct ps_assign *a = &w->agent->assign.a;
    if (w->stopping || !w->conns)
        return;
    int64_t since = now - w->sweep_t0_us;
    if (a->ws_ping_ms) {
        agent_keepalive_sweep(w, &w->ping_pos, since, a->ws_ping_ms, agent_keepalive_visit_ping);
        if (a->pong_timeout_ms && a->pong_timeout_ms < a->ws_ping_ms)
            agent_keepalive_sweep(w, &w->ping_check_pos, since - (int64_t)a->pong_timeout_ms * 1000,
                               a->ws_ping_ms, agent_keepalive_check_pong);
    }
    if (agent_keepalive_hb_on(a)) {
        agent_keepalive_sweep(w, &w->hb_pos, since, a->hb_interval_ms, agent_keepalive_visit_hb);
        if (a->hb_expect[0] && a->hb_timeout_ms && a->hb_timeout_ms < a->hb_interval_ms)
            agent_keepalive_sweep(w, &w->hb_check_pos, since - (int64_t)a->hb_timeout_ms * 1000,
                               a->hb_interval_ms, agent_keepalive_check_hb);
    }
    if (w->dl.conn)
        agent_keepalive_dialects(w, now, since);
}

/* When the cursor at pos (of a sweep started at start_us) reaches its next slot. */
static int64_t agent_keepalive_due(const struct agent_worker *w, uint64_t pos, int64_t start_us,
                                   uint32_t interval_ms)
{
    uint64_t us = ((pos + 1) * (uint64_t)interval_ms * 1000 + w->n_conns - 1) / w->n_conns;
    return start_us + (int64_t)us;
}

/* How long the worker lets keepalive work gather before it wakes for it: a
 * sixteenth of the shortest interval in use, within [AGENT_TICK_MS,
 * AGENT_KA_BATCH_MAX_MS]. Each wake-up costs far more than the ping it sends
 * (measured: 23 us per client ping at 10 ms batches against 7 us per answered
 * server ping, whose arrivals come in bursts), while a ping sent 100 ms later
 * than its even share of the interval changes nothing a server sees. */
int64_t agent_keepalive_batch_us(const struct agent_worker *w)
{
    const struct ps_assign *a = &w->agent->assign.a;
    uint32_t shortest = UINT32_MAX;
    if (a->ws_ping_ms)
        shortest = a->ws_ping_ms;
    if (agent_keepalive_hb_on(a) && a->hb_interval_ms < shortest)
        shortest = a->hb_interval_ms;
    if (agent_keepalive_proto_on(w) && a->proto_keepalive_ms < shortest)
        shortest = a->proto_keepalive_ms;
    if (agent_keepalive_watch_on(w) && w->dl.watch_ms < shortest)
        shortest = w->dl.watch_ms;
    uint32_t ms = shortest / 16;
    if (ms < AGENT_TICK_MS)
        ms = AGENT_TICK_MS;
    if (ms > AGENT_KA_BATCH_MAX_MS)
        ms = AGENT_KA_BATCH_MAX_MS;
    return (int64_t)ms * 1000;
}

int64_t agent_keepalive_next(const struct agent_worker *w)
{
    const struct ps_assign *a = &w->agent->assign.a;
    int64_t due = INT64_MAX, t;
    if (w->stopping || !w->conns || !w->n_conns)
        return due;
    if (a->ws_ping_ms) {
        due = agent_keepalive_due(w, w->ping_pos, w->sweep_t0_us, a->ws_ping_ms);
        if (a->pong_timeout_ms && a->pong_timeout_ms < a->ws_ping_ms &&
            (t = agent_keepalive_due(w, w->ping_check_pos,
                                     w->sweep_t0_us + (int64_t)a->pong_timeout_ms * 1000,
                                     a->ws_ping_ms)) < due)
            due = t;
    }
    if (agent_keepalive_hb_on(a)) {
        if ((t = agent_keepalive_due(w, w->hb_pos, w->sweep_t0_us, a->hb_interval_ms)) < due)
            due = t;
        if (a->hb_expect[0] && a->hb_timeout_ms && a->hb_timeout_ms < a->hb_interval_ms &&
            (t = agent_keepalive_due(w, w->hb_check_pos,
                                     w->sweep_t0_us + (int64_t)a->hb_timeout_ms * 1000,
                                     a->hb_interval_ms)) < due)
            due = t;
    }
    if (agent_keepalive_proto_on(w) &&
        (t = agent_keepalive_due(w, w->dl.ka_pos, w->sweep_t0_us, a->proto_keepalive_ms)) < due)
        due = t;
    if (agent_keepalive_proto_check_on(w) &&
        (t = agent_keepalive_due(w, w->dl.ka_check_pos,
                                 w->sweep_t0_us + (int64_t)a->proto_timeout_ms * 1000,
                                 a->proto_keepalive_ms)) < due)
        due = t;
    if (agent_keepalive_watch_on(w) &&
        (t = agent_keepalive_due(w, w->dl.watch_pos, w->dl.watch_t0_us, w->dl.watch_ms)) < due)
        due = t;
    return due;
}
