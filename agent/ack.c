/* ack.c: acks of received pushes (plan session.ack), one frame per push.
 *
 * Every push of this run received on an online connection owes one ack. The
 * id it names is the push token's (the default), or, with session.ack_id, one
 * the service put in the message itself (a JSON path or a regex, script.c):
 * services that redeliver until acked know their own ids, not ours. Acks wait
 * in a ring per connection (AGENT_ACK_QUEUE ids) for the writeable callback,
 * which writes one, expanded with {msg_id} and the connection's variables.
 *
 * Reading an id out of a message needs the whole message, and lws hands it
 * over in 128-byte pieces, interleaved between connections when a message
 * spans reads. A connection's message is gathered into one of the worker's
 * AGENT_ACK_GATHER buffers from its first piece to its last; the token
 * matcher (conn.c) says on the way whether it is a push of the run, and at the
 * last piece the id is taken and the buffer goes back. So the memory for this
 * is per worker, not per connection, apart from the ring of id texts.
 *
 * An ack that cannot be made is counted as acks_dropped, never lost silently:
 * the ring is full, the message was longer than a buffer or found none free,
 * or the id is not in it. What each connection sent is counted in its
 * agent_ack_conn and reported when its life ends (the acks event), so the
 * controller has acks per connection, not only the agents' totals.
 *
 * Everything is allocated at assign time, only when acks are on; the receive
 * path copies pieces and allocates nothing. */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGENT_ACKF_PUSH 1   /* the message being gathered has a token of this run */

static const struct agent_script *agent_ack_script(const struct agent_worker *w)
{
    return &w->agent->assign.script;
}

void agent_ack_release(struct agent_worker *w)
{
    free(w->ackc);
    free(w->ack_ids);
    free(w->ack_text);
    free(w->ack_gbuf);
    w->ackc = NULL;
    w->ack_ids = NULL;
    w->ack_text = w->ack_gbuf = NULL;
    w->ack_n_gfree = 0;
}

int agent_ack_alloc(struct agent_worker *w)
{
    agent_ack_release(w);
    if (!w->agent->assign.a.ack[0] || !w->n_conns)
        return 0;
    w->ackc = calloc(w->n_conns, sizeof *w->ackc);
    if (!w->ackc)
        return -1;
    if (!agent_ack_script(w)->has_ack_id) {
        w->ack_ids = calloc((size_t)w->n_conns * AGENT_ACK_QUEUE, sizeof *w->ack_ids);
        return w->ack_ids ? 0 : -1;
    }
    w->ack_text = calloc((size_t)w->n_conns * AGENT_ACK_QUEUE, AGENT_ACK_ID_MAX);
    w->ack_gbuf = malloc((size_t)AGENT_ACK_GATHER * (AGENT_SESSION_MSG_MAX + 1));
    if (!w->ack_text || !w->ack_gbuf)
        return -1;
    for (uint32_t i = 0; i < AGENT_ACK_GATHER; i++)
        w->ack_gfree[i] = (uint8_t)(AGENT_ACK_GATHER - 1 - i);
    w->ack_n_gfree = AGENT_ACK_GATHER;
    return 0;
}

static int agent_ack_live(const struct agent_worker *w, uint32_t slot)
{
    const struct agent_conn *c = &w->conns[slot];
    return w->ackc && c->state == AGENT_CONN_OPEN && agent_conn_live(w, slot) && !c->reason;
}

/* A free place in the ring, or UINT32_MAX (counted) when it is full. */
static uint32_t agent_ack_reserve(struct agent_worker *w, uint32_t slot)
{
    struct agent_ack_conn *k = &w->ackc[slot];
    if (k->n == AGENT_ACK_QUEUE) {
        w->c.acks_dropped++;
        return UINT32_MAX;
    }
    return slot * AGENT_ACK_QUEUE + (k->head + k->n) % AGENT_ACK_QUEUE;
}

static void agent_ack_queued(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    w->ackc[slot].n++;
    if (!(c->flags & AGENT_CF_WANT_SEND)) {
        c->flags |= AGENT_CF_WANT_SEND;
        agent_conn_want_write(w, slot);
    }
}

void agent_ack_push(struct agent_worker *w, uint32_t slot, uint32_t msg_id)
{
    if (!agent_ack_live(w, slot))
        return;
    if (w->ack_text) {   /* the id comes with the message's last piece */
        w->ackc[slot].flags |= AGENT_ACKF_PUSH;
        return;
    }
    uint32_t at = agent_ack_reserve(w, slot);
    if (at == UINT32_MAX)
        return;
    w->ack_ids[at] = msg_id;
    agent_ack_queued(w, slot);
}

static char *agent_ack_gbuf(const struct agent_worker *w, uint32_t g)
{
    return w->ack_gbuf + (size_t)g * (AGENT_SESSION_MSG_MAX + 1);
}

static void agent_ack_ungather(struct agent_worker *w, struct agent_ack_conn *k)
{
    if (k->gather)
        w->ack_gfree[w->ack_n_gfree++] = (uint8_t)(k->gather - 1);
    k->gather = 0;
}

void agent_ack_piece(struct agent_worker *w, uint32_t slot, const struct agent_conn_piece *p)
{
    if (!w->ack_text || !agent_ack_live(w, slot))
        return;
    struct agent_ack_conn *k = &w->ackc[slot];
    if (p->first) {
        agent_ack_ungather(w, k);
        k->flags = 0;
        k->glen = 0;
        if (w->ack_n_gfree)   /* none free: the message's ack is dropped at its end */
            k->gather = (uint8_t)(w->ack_gfree[--w->ack_n_gfree] + 1);
    }
    if (!k->gather)
        return;
    if (k->glen + p->len > AGENT_SESSION_MSG_MAX) {   /* too long: dropped too */
        agent_ack_ungather(w, k);
        return;
    }
    memcpy(agent_ack_gbuf(w, k->gather - 1) + k->glen, p->in, p->len);
    k->glen += (uint16_t)p->len;
}

void agent_ack_end(struct agent_worker *w, uint32_t slot)
{
    if (!w->ack_text || !agent_ack_live(w, slot))
        return;
    struct agent_ack_conn *k = &w->ackc[slot];
    if (k->flags & AGENT_ACKF_PUSH) {
        uint32_t at = agent_ack_reserve(w, slot);
        if (at != UINT32_MAX) {
            char *msg = k->gather ? agent_ack_gbuf(w, k->gather - 1) : NULL;
            if (msg)
                msg[k->glen] = 0;
            if (!msg || agent_script_ack_id(agent_ack_script(w), msg, k->glen,
                                            w->ack_text + (size_t)at * AGENT_ACK_ID_MAX,
                                            AGENT_ACK_ID_MAX) < 0)
                w->c.acks_dropped++;
            else
                agent_ack_queued(w, slot);
        }
    }
    k->flags = 0;
    agent_ack_ungather(w, k);
}

void agent_ack_forget(struct agent_worker *w, uint32_t slot)
{
    if (!w->ackc)
        return;
    struct agent_ack_conn *k = &w->ackc[slot];
    if (k->sent)
        agent_worker_event(w, slot, PS_EV_ACKS, k->sent, 0);
    if (w->ack_text)
        agent_ack_ungather(w, k);
    memset(k, 0, sizeof *k);   /* acks of a connection that went away are not owed */
}

/* Writes the oldest queued ack; WANT_SEND stays while more are queued. */
int agent_ack_write(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    if (!w->ackc || !w->ackc[slot].n) {
        c->flags &= (uint8_t)~AGENT_CF_WANT_SEND;
        return 0;
    }
    struct agent_ack_conn *k = &w->ackc[slot];
    uint32_t at = slot * AGENT_ACK_QUEUE + k->head;
    k->head = (uint8_t)((k->head + 1) % AGENT_ACK_QUEUE);
    if (!--k->n)
        c->flags &= (uint8_t)~AGENT_CF_WANT_SEND;
    struct agent_conn_tpl tpl;
    char num[16];
    const char *id = num;
    agent_conn_tpl_init(&tpl, w, slot);
    if (w->ack_text)
        id = w->ack_text + (size_t)at * AGENT_ACK_ID_MAX;
    else
        snprintf(num, sizeof num, "%u", w->ack_ids[at]);
    tpl.vars[tpl.n++] = (struct ps_tpl_var){"msg_id", id};
    unsigned char *p = w->txbuf + LWS_PRE;
    int n = ps_tpl_expand_src((char *)p, AGENT_TX_MAX, w->agent->assign.a.ack, tpl.vars, tpl.n, &tpl.src);
    if (n < 0) {
        w->c.acks_dropped++;
        return 0;
    }
    if (agent_conn_write(w, slot, p, (size_t)n, AGENT_CONN_TEXT) < 0)
        return -1;
    w->c.acks++;
    k->sent++;
    return 0;
}
