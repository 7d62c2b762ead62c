/* session.c: a connection's session script, between the upgrade and online.
 *
 * After LWS_CALLBACK_CLIENT_ESTABLISHED a connection whose target has a
 * script enters AGENT_CONN_SESSION and takes an entry of its worker's session
 * pool; the slot itself grows only by the entry's index (the 64-byte budget
 * holds, see docs/performance.md). The entry keeps what only a connection in
 * its session needs: the step it is on, the expect's deadline, and the message
 * being received (expects match whole messages: regex and JSON need them, and
 * lws hands messages over in 128-byte pieces). A session counts as a
 * handshake in flight, so at most max_inflight run at once per agent and the
 * pool, allocated at assign time, never runs out.
 *
 * Steps run in order: a send asks for a writeable callback and writes its
 * frame there (text templates expanded with the connection's variables and
 * captures); an expect arms its deadline and waits. A message that passes the
 * expect (and its captures) moves on; one that does not is ignored or fails
 * the session (session_mismatch), as the step says. When the last step passed
 * the connection is ready (agent_conn_ready: the session_ready and connected
 * events). Deadlines are checked by the worker's 10 ms timer over the active
 * entries only (at most max_inflight), never over all connections; a missed
 * one closes with session_timeout. The failed event's aux names the step.
 *
 * The app heartbeat's reply, when the plan gives it as a matcher rather than
 * the exact text, is matched here too: such a reply must be seen whole, so
 * the worker gathers one candidate message at a time in hb_buf (a reply that
 * arrives while another connection's message is half gathered is not taken).
 *
 * The acks (ack.c) are set up and torn down with the pool, and a connection's
 * are forgotten with its heartbeat reply when it ends. */
#include "agent.h"

#include <stdlib.h>
#include <string.h>

#include "ps_time.h"

#define AGENT_SESSION_CLOSE_TIMEOUT  1001   /* going away: we gave up waiting */
#define AGENT_SESSION_CLOSE_MISMATCH 1008   /* policy: the server said something else */

static uint32_t agent_session_now32(const struct agent_worker *w)
{
    return (uint32_t)(ps_time_mono_us() - w->t0_us);
}

static const struct agent_script *agent_session_script(const struct agent_worker *w)
{
    return &w->agent->assign.script;
}

void agent_session_release_all(struct agent_worker *w)
{
    free(w->sess);
    free(w->sess_free);
    free(w->sess_active);
    free(w->vars);
    agent_ack_release(w);
    w->sess = NULL;
    w->sess_free = w->sess_active = NULL;
    w->vars = NULL;
    w->n_sess = w->n_sess_free = w->n_sess_active = 0;
}

int agent_session_alloc(struct agent_worker *w)
{
    const struct agent_script *s = agent_session_script(w);
    const struct ps_assign *a = &w->agent->assign.a;
    agent_session_release_all(w);
    w->hb_owner = UINT32_MAX;
    if (agent_ack_alloc(w) < 0)
        return -1;
    if ((!a->n_steps && !w->dl.conn) || !w->n_conns)
        return 0;   /* no script and no client protocol's handshake to run */
    uint32_t n = w->max_inflight < UINT16_MAX ? w->max_inflight : UINT16_MAX;
    w->sess = calloc(n, sizeof *w->sess);
    w->sess_free = calloc(n, sizeof *w->sess_free);
    w->sess_active = calloc(n, sizeof *w->sess_active);
    if (s->vars_bytes)
        w->vars = calloc(w->n_conns, s->vars_bytes);
    if (!w->sess || !w->sess_free || !w->sess_active || (s->vars_bytes && !w->vars))
        return -1;
    w->n_sess = w->n_sess_free = n;
    for (uint32_t i = 0; i < n; i++)
        w->sess_free[i] = (uint16_t)(n - 1 - i);
    return 0;
}

static struct agent_session *agent_session_of(struct agent_worker *w, uint32_t slot)
{
    return &w->sess[w->conns[slot].sess];
}

static uint32_t agent_session_step(const struct agent_worker *w, uint32_t slot,
                                   const struct agent_session *e)
{
    return agent_session_script(w)->order[agent_conn_target(w, slot)][e->pos];
}

/* Runs from the current step until one has to wait: a send (for the writeable
 * callback), an expect (for a message), or the end (ready). */
static void agent_session_advance(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    struct agent_session *e = agent_session_of(w, slot);
    const struct agent_script *s = agent_session_script(w);
    if (e->pos >= s->n_order[agent_conn_target(w, slot)]) {
        int64_t ready = ps_time_mono_us() - c->mark_us, hs = e->hs_us;
        agent_session_end(w, slot);
        agent_conn_ready(w, slot, hs, ready > 0 ? ready : 1);
        return;
    }
    const struct agent_script_step *st = &s->steps[agent_session_step(w, slot, e)];
    if (st->op == PS_STEP_EXPECT) {
        e->waiting = 1;
        e->len = 0;
        e->overflow = 0;
        e->deadline = agent_session_now32(w) + st->timeout_ms * 1000u;
        return;
    }
    c->flags |= AGENT_CF_WANT_SEND;
    agent_conn_want_write(w, slot);   /* no engine in the unit tests */
}

int agent_session_begin(struct agent_worker *w, uint32_t slot, int64_t hs_us)
{
    const struct agent_script *s = agent_session_script(w);
    struct agent_conn *c = &w->conns[slot];
    const struct agent_dialect *dl = w->dl.conn ? agent_dialect_of(w, slot) : NULL;
    if (!w->sess || (!s->n_order[agent_conn_target(w, slot)] && !dl))
        return 0;
    if (!w->n_sess_free) {   /* cannot happen while sessions count as in flight */
        c->state = AGENT_CONN_SESSION;
        c->sess = UINT16_MAX;
        agent_conn_kill(w, slot, PS_REASON_OTHER);
        return 1;
    }
    uint16_t idx = w->sess_free[--w->n_sess_free];
    struct agent_session *e = &w->sess[idx];
    memset(e, 0, offsetof(struct agent_session, msg));
    e->slot = slot;
    e->hs_us = hs_us;
    e->active_pos = w->n_sess_active;
    w->sess_active[w->n_sess_active++] = idx;
    c->sess = idx;
    c->state = AGENT_CONN_SESSION;
    char *region = agent_conn_vars(w, slot);
    if (region)
        memset(region, 0, s->vars_bytes);
    if (dl) {   /* the protocol's handshake first, under its own deadline */
        e->proto_wait = 1;
        uint32_t ms = w->agent->assign.a.proto_timeout_ms;   /* the plan's is never 0 */
        e->deadline = agent_session_now32(w) + (ms ? ms : 10000) * 1000u;
        agent_dialect_open(w, slot);
        return 1;
    }
    agent_session_advance(w, slot);
    return 1;
}

void agent_session_proto_ready(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    if (c->state != AGENT_CONN_SESSION || c->sess >= w->n_sess ||
        !agent_session_of(w, slot)->proto_wait)
        return;
    agent_session_of(w, slot)->proto_wait = 0;
    agent_session_advance(w, slot);
}

uint32_t agent_session_end(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    if (c->sess >= w->n_sess)
        return 0;
    struct agent_session *e = &w->sess[c->sess];
    uint32_t pos = e->pos;
    uint16_t last = w->sess_active[--w->n_sess_active];
    w->sess_active[e->active_pos] = last;
    w->sess[last].active_pos = e->active_pos;
    w->sess_free[w->n_sess_free++] = c->sess;
    c->sess = UINT16_MAX;
    return pos;
}

static void agent_session_fail(struct agent_worker *w, uint32_t slot, uint8_t reason, uint16_t code)
{
    agent_session_of(w, slot)->waiting = 0;
    agent_conn_close(w, slot, reason, code);
}

void agent_session_rx(struct agent_worker *w, uint32_t slot, const struct agent_conn_piece *p)
{
    if (w->conns[slot].sess >= w->n_sess)
        return;
    struct agent_session *e = agent_session_of(w, slot);
    if (p->first) {
        e->len = 0;
        e->overflow = 0;
    }
    if (e->len + p->len > AGENT_SESSION_MSG_MAX)
        e->overflow = 1;
    else {
        memcpy(e->msg + e->len, p->in, p->len);
        e->len += (uint32_t)p->len;
    }
    if (!p->final || !e->waiting)
        return;   /* frames while a send is pending are not an expect's */
    e->msg[e->len] = 0;
    const struct agent_script *s = agent_session_script(w);
    uint32_t step = agent_session_step(w, slot, e);
    if (!e->overflow && agent_script_match(s, step, e->msg, e->len, agent_conn_vars(w, slot))) {
        e->waiting = 0;
        e->pos++;
        agent_session_advance(w, slot);
    } else if (s->steps[step].others_fail) {
        agent_session_fail(w, slot, PS_REASON_SESSION_MISMATCH, AGENT_SESSION_CLOSE_MISMATCH);
    }
}

int agent_session_writeable(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    if (!(c->flags & AGENT_CF_WANT_SEND) || c->sess >= w->n_sess)
        return 0;
    c->flags &= (uint8_t)~AGENT_CF_WANT_SEND;
    struct agent_session *e = agent_session_of(w, slot);
    const struct agent_script_step *st = &agent_session_script(w)->steps[agent_session_step(w, slot, e)];
    unsigned char *p = w->txbuf + LWS_PRE;
    size_t n;
    enum agent_conn_kind kind = AGENT_CONN_TEXT;
    if (st->op == PS_STEP_SEND_BINARY) {
        memcpy(p, st->bin, st->bin_len);
        n = st->bin_len;
        kind = AGENT_CONN_BINARY;
    } else {
        struct agent_conn_tpl tpl;
        agent_conn_tpl_init(&tpl, w, slot);
        int len = ps_tpl_expand_src((char *)p, AGENT_TX_MAX, st->text, tpl.vars, tpl.n, &tpl.src);
        int binary = 0;
        if (len >= 0 && w->dl.conn && agent_dialect_of(w, slot)) {
            /* a client protocol frames the text (dialect.h, frame_send) */
            char text[AGENT_TX_MAX];
            memcpy(text, p, (size_t)len);
            len = agent_dialect_frame_send(w, slot, text, (size_t)len, p, AGENT_TX_MAX, &binary);
        }
        if (len < 0) {   /* captures made it longer than a frame we build */
            agent_session_fail(w, slot, PS_REASON_SESSION_MISMATCH, AGENT_SESSION_CLOSE_MISMATCH);
            return 0;
        }
        n = (size_t)len;
        if (binary)
            kind = AGENT_CONN_BINARY;
    }
    if (agent_conn_write(w, slot, p, n, kind) < 0)
        return -1;
    e->pos++;
    agent_session_advance(w, slot);
    return 0;
}

void agent_session_tick(struct agent_worker *w)
{
    uint32_t now = agent_session_now32(w);
    /* backwards: a failing entry stays active until its close ends it */
    for (uint32_t i = w->n_sess_active; i-- > 0;) {
        struct agent_session *e = &w->sess[w->sess_active[i]];
        if (e->waiting && (int32_t)(now - e->deadline) >= 0)
            agent_session_fail(w, e->slot, PS_REASON_SESSION_TIMEOUT, AGENT_SESSION_CLOSE_TIMEOUT);
        else if (e->proto_wait && (int32_t)(now - e->deadline) >= 0) {
            e->proto_wait = 0;   /* the protocol's handshake answer never came */
            agent_conn_close(w, e->slot, PS_REASON_PROTO_TIMEOUT, AGENT_SESSION_CLOSE_TIMEOUT);
        }
    }
}

/* ---------- heartbeat replies matched like session expects ---------- */

static void agent_session_hb_release(struct agent_worker *w, uint32_t slot)
{
    w->hb_owner = UINT32_MAX;
    w->conns[slot].flags &= (uint8_t)~AGENT_CF_HB_CAND;
}

int agent_session_hb_piece(struct agent_worker *w, uint32_t slot, const struct agent_conn_piece *p)
{
    if (p->first) {
        if (w->hb_owner != UINT32_MAX && w->hb_owner != slot) {
            /* another connection's message is half gathered: this one cannot
             * be looked at whole, so it is not taken as the reply */
            w->conns[slot].flags &= (uint8_t)~AGENT_CF_HB_CAND;
            return 0;
        }
        w->hb_owner = slot;
        w->hb_len = 0;
    }
    if (w->hb_owner != slot || w->hb_len + p->len > AGENT_SESSION_MSG_MAX) {
        if (w->hb_owner == slot)
            agent_session_hb_release(w, slot);
        w->conns[slot].flags &= (uint8_t)~AGENT_CF_HB_CAND;
        return 0;
    }
    memcpy(w->hb_buf + w->hb_len, p->in, p->len);
    w->hb_len += (uint32_t)p->len;
    if (!p->final)
        return 0;
    w->hb_buf[w->hb_len] = 0;
    const struct agent_script *s = agent_session_script(w);
    int ok = agent_script_match_step(s, &s->hb, w->hb_buf, w->hb_len, NULL);
    agent_session_hb_release(w, slot);
    return ok;
}

void agent_session_forget(struct agent_worker *w, uint32_t slot)
{
    if (w->hb_owner == slot)
        w->hb_owner = UINT32_MAX;
    agent_ack_forget(w, slot);
}
