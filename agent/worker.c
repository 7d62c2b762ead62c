/* worker.c: what a worker does on its loop: the timer's periodic work, the
 * events it sends and the commands it applies. Its thread, the loop and lws
 * context it runs and the hand-over of commands are worker_thread.c's.
 *
 * The timer does all periodic work, each part costing in proportion to what
 * is due rather than to the number of connections. It runs every 10 ms while
 * something is under way and otherwise only when the next thing is due
 * (worker_due.c): an idle worker wakes once a second.
 *   - ramp: opens connections so that, `t` after the ramp's start, rate * t are
 *     open or in flight, never more than max_inflight handshakes at once;
 *   - ping and heartbeat sweeps (keepalive.c);
 *   - reconnects whose backoff is over (scanned every 50 ms, only while some
 *     are waiting);
 *   - a scheduled client-side disconnect, the stop grace, event batch flushes,
 *     and the per-second statistics handed to the control thread.
 * It also measures its own lateness: that is the event-loop lag reported to the
 * controller, and the sign that this agent is saturated.
 *
 * Finished event batches go to the control thread's outbox; the first one
 * into an empty outbox wakes that thread (agent_ctl_wake), which otherwise
 * sleeps until its next tick. */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_time.h"

uint32_t agent_worker_conn_id(const struct agent_worker *w, uint32_t slot)
{
    return w->agent->assign.a.conn_first + slot * w->agent->n_workers + w->index;
}

/* Slots of this worker below agent-local index n (slots are dealt round robin). */
uint32_t agent_worker_slots_below(const struct agent_worker *w, uint32_t n)
{
    uint32_t t = w->agent->n_workers;
    return n > w->index ? (n - w->index - 1) / t + 1 : 0;
}

/* A controller wall-clock instant as this worker's monotonic time. */
static int64_t agent_worker_mono_at(const struct agent_worker *w, int64_t controller_wall)
{
    if (!controller_wall)
        return ps_time_mono_us();
    int64_t local_wall = controller_wall - agent_clock_offset(w->agent);
    return ps_time_mono_us() + (local_wall - agent_clock_wall(w->agent));
}

/* ---------- events out ---------- */

static void agent_worker_flush(struct agent_worker *w)
{
    if (!w->batch.n)
        return;
    w->batch.agent_id = w->agent->assign.agent_id;
    w->batch.thread = w->index;
    w->batch.run_id = w->agent->assign.a.run_id;
    memcpy(w->batch.token, w->agent->assign.token, sizeof w->batch.token);
    w->batch.seq = ++w->batch_seq;
    msgpack_sbuffer_clear(&w->sbuf);
    if (ps_proto_encode_events(&w->sbuf, &w->batch) == 0) {
        struct agent_blob *b = malloc(sizeof *b + w->sbuf.size);
        if (b) {
            b->next = NULL;
            b->seq = w->batch.seq;
            b->n_events = w->batch.n;
            b->sent_us = 0;
            b->len = w->sbuf.size;
            memcpy(b->data, w->sbuf.data, w->sbuf.size);
            pthread_mutex_lock(&w->mu);
            int was_empty = !w->out_head;
            if (w->out_tail)
                w->out_tail->next = b;
            else
                w->out_head = b;
            w->out_tail = b;
            pthread_mutex_unlock(&w->mu);
            if (was_empty)
                agent_ctl_wake(w->agent);
        } else {
            w->batch_seq--;   /* keep the sequence contiguous; events retried next flush */
            return;
        }
    }
    w->batch.n = 0;
}

static void agent_worker_on_timer(uv_timer_t *t);

/* Arms the timer for due_us (mono), unless it is already set to fire sooner.
 * The delay is counted from now, not from the loop's cached time: a timer
 * armed late in a long iteration fires early, finds nothing due and re-arms,
 * while one armed before a stall fires late by the stall, which is the lag. */
void agent_worker_arm(struct agent_worker *w, int64_t due_us)
{
    if (!w->timer_on || w->quitting || (w->timer_due_us && w->timer_due_us <= due_us))
        return;   /* no loop (unit tests), going away, or already armed sooner */
    int64_t wait_us = due_us - ps_time_mono_us();
    w->timer_due_us = due_us;
    uv_timer_start(&w->timer, agent_worker_on_timer, wait_us > 0 ? (uint64_t)(wait_us + 999) / 1000 : 0, 0);
}

void agent_worker_event(struct agent_worker *w, uint32_t slot, uint32_t type, uint64_t val,
                        uint32_t aux)
{
    if (w->quitting)
        return;
    if (w->batch.n == PS_EVENTS_MAX) {
        agent_worker_flush(w);
        if (w->batch.n == PS_EVENTS_MAX)
            return;   /* out of memory: the stats still count it */
    }
    if (!w->batch.n) {
        w->batch_first_us = ps_time_mono_us();
        agent_worker_arm(w, w->batch_first_us + AGENT_BATCH_FLUSH_US);
    }
    struct ps_event *e = &w->batch.ev[w->batch.n++];
    e->conn = agent_worker_conn_id(w, slot);
    e->type = type;
    e->ts = agent_clock_wall(w->agent);
    e->val = val;
    e->aux = aux;
    if (w->batch.n == PS_EVENTS_MAX)
        agent_worker_flush(w);
}

/* ---------- periodic work ---------- */

/* The slot the ramp should have reached by `now`: one at its start, then
 * rate * t more, never past its target; where it is when nothing is due. */
uint32_t agent_worker_ramp_due(const struct agent_worker *w, int64_t now)
{
    if (w->stopping || w->next_open >= w->open_to || now < w->ramp_start_us)
        return w->next_open;
    uint64_t due = w->ramp_base + 1 + (uint64_t)(w->ramp_rate * (double)(now - w->ramp_start_us) / 1e6);
    return due > w->open_to ? w->open_to : (uint32_t)due;
}

static void agent_worker_ramp(struct agent_worker *w, int64_t now)
{
    uint32_t due = agent_worker_ramp_due(w, now);
    while (w->next_open < due && w->inflight < w->max_inflight) {
        uint32_t slot = w->next_open++;
        if (w->conns[slot].state == AGENT_CONN_IDLE)
            agent_conn_open(w, slot);
    }
}

static void agent_worker_reconnects(struct agent_worker *w, int64_t now)
{
    if (!w->n_waiting || w->stopping || ++w->reconnect_scan < 5)
        return;
    w->reconnect_scan = 0;
    for (uint32_t i = 0; i < w->n_conns && w->inflight < w->max_inflight; i++) {
        struct agent_conn *c = &w->conns[i];
        if (c->state == AGENT_CONN_WAITING && c->mark_us <= now)
            agent_conn_open(w, i);
    }
}

static void agent_worker_disconnect(struct agent_worker *w, int64_t now)
{
    if (!w->disc_at_us || now < w->disc_at_us)
        return;
    w->disc_at_us = 0;
    double acc = 0.5;   /* centred: fraction 0.5 closes every other one */
    for (uint32_t i = 0; i < w->n_conns; i++) {
        if (w->conns[i].state != AGENT_CONN_OPEN)
            continue;
        acc += w->disc_fraction;
        if (acc >= 1.0) {
            acc -= 1.0;
            agent_conn_close(w, i, PS_REASON_CLIENT_CLOSE, w->disc_code);
        }
    }
}

/* The second's figures, for the control thread's next tick. Also when the
 * slice has stopped, with the second still under way: the stopped tick is the
 * run's last word, so its counters (acks, keepalives sent) must be final, not
 * the previous whole second's. */
static void agent_worker_publish(struct agent_worker *w, int stopped)
{
    w->cur.second = w->cur_second;
    w->cur.connected = w->n_open;
    w->cur.connecting = w->inflight;
    w->cur.c = w->c;
    pthread_mutex_lock(&w->mu);
    w->published = w->cur;
    w->stopped_pub |= stopped;
    pthread_mutex_unlock(&w->mu);
}

static void agent_worker_stop_step(struct agent_worker *w, int64_t now)
{
    if (!w->stopping || w->stopped)
        return;
    /* Closing a whole slice at once would stall this loop for the time of
     * thousands of close frames (~300 ms for 5,000); a batch per tick keeps the
     * loop responsive and still closes 50,000 a second. */
    if (w->stop_pos < w->n_conns) {
        uint32_t end = w->stop_pos + AGENT_STOP_BATCH;
        for (; w->stop_pos < w->n_conns && w->stop_pos < end; w->stop_pos++) {
            struct agent_conn *c = &w->conns[w->stop_pos];
            if (c->state == AGENT_CONN_OPEN || c->state == AGENT_CONN_SESSION)
                agent_conn_close(w, w->stop_pos, PS_REASON_CLIENT_CLOSE, 1000);
            else if (c->state == AGENT_CONN_CONNECTING)
                agent_conn_kill(w, w->stop_pos, PS_REASON_CLIENT_CLOSE);
        }
        w->stop_started_us = now;   /* the grace runs from the last batch */
    }
    if (w->n_live && now - w->stop_started_us > AGENT_STOP_GRACE_US) {
        for (uint32_t i = 0; i < w->n_conns; i++)
            agent_conn_kill(w, i, PS_REASON_CLIENT_CLOSE);
        w->stop_started_us = now;   /* kills are async; give them another round */
    }
    if (w->n_live)
        return;
    agent_worker_flush(w);
    w->stopped = 1;
    agent_worker_publish(w, 1);
    agent_ctl_wake(w->agent);
}

static void agent_worker_second(struct agent_worker *w)
{
    int64_t sec = agent_clock_wall(w->agent) / 1000000;
    if (sec == w->cur_second)
        return;
    if (w->cur_second)
        agent_worker_publish(w, 0);
    ps_hist_init(&w->cur.rtt);
    ps_hist_init(&w->cur.hb_rtt);
    ps_hist_init(&w->cur.hs);
    ps_hist_init(&w->cur.lat);
    w->cur.lag_max_us = 0;
    w->cur_second = sec;
}

static void agent_worker_on_timer(uv_timer_t *t)
{
    struct agent_worker *w = t->data;
    int64_t now = ps_time_mono_us();
    if (w->timer_due_us && now > w->timer_due_us) {
        uint32_t lag = (uint32_t)(now - w->timer_due_us);
        if (lag > w->cur.lag_max_us)
            w->cur.lag_max_us = lag;
    }
    w->timer_due_us = 0;   /* fired: not armed until the end */
    if (w->conns) {
        agent_worker_ramp(w, now);
        agent_worker_reconnects(w, now);
        agent_worker_disconnect(w, now);
        agent_keepalive_step(w, now);
        if (w->n_sess_active)
            agent_session_tick(w);
        agent_worker_stop_step(w, now);
    }
    if (w->batch.n && now - w->batch_first_us >= AGENT_BATCH_FLUSH_US)
        agent_worker_flush(w);
    agent_worker_second(w);
    agent_worker_arm(w, agent_worker_next_due(w, now, agent_clock_wall(w->agent)));
}

/* Phases start at an absolute time on every agent at once; the timer alone
 * would start them up to 10 ms late, so a one-shot timer fires at the start
 * itself, and the timer takes over from there. */
static void agent_worker_on_start(uv_timer_t *t)
{
    struct agent_worker *w = t->data;
    int64_t now = ps_time_mono_us();
    if (w->conns) {
        agent_worker_ramp(w, now);
        agent_worker_disconnect(w, now);
    }
    agent_worker_arm(w, now + AGENT_TICK_MS * 1000);
}

static void agent_worker_arm_start(struct agent_worker *w, int64_t at_mono)
{
    int64_t wait_us = at_mono - ps_time_mono_us();
    /* libuv timers have millisecond resolution: round up, never fire early */
    uint64_t ms = wait_us > 0 ? (uint64_t)(wait_us + 999) / 1000 : 0;
    uv_update_time(&w->loop);   /* the loop's cached time may be a whole iteration old */
    uv_timer_start(&w->start_timer, agent_worker_on_start, ms, 0);
}

/* ---------- commands ---------- */

static int agent_worker_assign(struct agent_worker *w, char *err, size_t errlen)
{
    const struct ps_assign *a = &w->agent->assign.a;
    if (w->n_live) {
        snprintf(err, errlen, "thread %u still has %u connections from the previous run", w->index,
                 w->n_live);
        return -1;
    }
    free(w->conns);
    w->conns = NULL;
    w->n_conns = agent_worker_slots_below(w, a->conn_count);
    if (w->n_conns) {
        w->conns = calloc(w->n_conns, sizeof *w->conns);
        if (!w->conns) {
            snprintf(err, errlen, "out of memory for %u connections", w->n_conns);
            w->n_conns = 0;
            return -1;
        }
    }
    uint32_t t = w->agent->n_workers;
    w->max_inflight = a->max_inflight / t ? a->max_inflight / t : 1;
    if (agent_dialect_alloc(w, agent_dialect_builtin()) < 0) {
        snprintf(err, errlen, "out of memory for the protocol state of %u connections", w->n_conns);
        return -1;
    }
    if (agent_session_alloc(w) < 0) {
        snprintf(err, errlen, "out of memory for the session pool of %u connections", w->n_conns);
        return -1;
    }
    if (agent_wsc_assign(w) < 0) {
        snprintf(err, errlen, "out of memory for the sockets of %u connections", w->n_conns);
        return -1;
    }
    w->open_to = w->next_open = w->ramp_base = 0;
    w->n_open = w->n_waiting = w->n_live = w->inflight = 0;
    w->stopping = w->stopped = 0;
    w->disc_at_us = 0;
    memset(&w->c, 0, sizeof w->c);
    w->batch.n = 0;
    w->batch_seq = 0;
    /* each worker starts its sweeps at a random phase so workers do not ping in step */
    w->sweep_t0_us = ps_time_mono_us() + agent_worker_rand(w, 1000000);
    w->ping_pos = w->ping_check_pos = w->hb_pos = w->hb_check_pos = 0;
    pthread_mutex_lock(&w->mu);
    w->stopped_pub = 0;
    pthread_mutex_unlock(&w->mu);
    return agent_tls_assign(w, err, errlen);
}

static void agent_worker_stop(struct agent_worker *w)
{
    if (w->stopping)
        return;
    w->stopping = 1;
    w->stop_pos = 0;
    w->stop_started_us = ps_time_mono_us();
    for (uint32_t i = 0; i < w->n_conns; i++) {
        struct agent_conn *c = &w->conns[i];
        if (c->state == AGENT_CONN_WAITING) {
            c->state = AGENT_CONN_DONE;
            w->n_waiting--;
        }
    }
    agent_worker_stop_step(w, w->stop_started_us);   /* the first batch at once */
}

void agent_worker_apply(struct agent_worker *w, enum agent_wcmd cmd, const struct ps_cmd *arg,
                        char *err, size_t errlen)
{
    err[0] = 0;
    switch (cmd) {
    case AGENT_W_ASSIGN:
        agent_worker_assign(w, err, errlen);
        break;
    case AGENT_W_RAMP: {
        uint32_t to = agent_worker_slots_below(w, arg->u.ramp.to);
        w->open_to = to < w->n_conns ? to : w->n_conns;
        w->ramp_rate = arg->u.ramp.rate / w->agent->n_workers;
        w->ramp_start_us = agent_worker_mono_at(w, arg->u.ramp.start_at);
        w->ramp_base = w->next_open;
        agent_worker_arm_start(w, w->ramp_start_us);
        break;
    }
    case AGENT_W_DISCONNECT:
        w->disc_fraction = arg->u.disconnect.fraction;
        w->disc_code = (uint16_t)(arg->u.disconnect.close_code ? arg->u.disconnect.close_code : 1000);
        w->disc_at_us = agent_worker_mono_at(w, arg->u.disconnect.start_at);
        if (w->disc_at_us <= 0)
            w->disc_at_us = 1;
        agent_worker_arm_start(w, w->disc_at_us);
        break;
    case AGENT_W_STOP:
        agent_worker_stop(w);
        break;
    case AGENT_W_QUIT:
        w->quitting = 1;
        w->timer_due_us = 0;
        uv_timer_stop(&w->timer);
        uv_close((uv_handle_t *)&w->timer, NULL);
        uv_timer_stop(&w->start_timer);
        uv_close((uv_handle_t *)&w->start_timer, NULL);
        uv_close((uv_handle_t *)&w->wake, NULL);
        /* first destroy: lws closes its connections and handles on this loop */
        lws_context_destroy(w->ctx);
        agent_wsc_quit(w);
        break;
    case AGENT_W_NONE:
        break;
    }
}
