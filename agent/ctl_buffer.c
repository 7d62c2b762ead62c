/* ctl_buffer: the agent's event batches between the workers and the
 * controller's acknowledgement (main thread only).
 *
 * push/pull has no end-to-end acknowledgement, so every batch keeps its
 * per-thread sequence number and stays here until a REPLY acknowledges it;
 * batches not acknowledged within AGENT_RESEND_US go again. While the control
 * link is down (the controller holds the agent as suspect, not lost, for the
 * plan's agents.grace) this is where the run's events wait: when the link
 * returns, everything after the last acknowledged sequence is resent and the
 * controller, which takes batches only in sequence, drops the repeats.
 *
 * The buffer is bounded by the plan's agents.buffer (bytes). Past it the
 * oldest batches are discarded, never silently: the discarded batches and
 * their events are counted, and the highest sequence discarded per thread is
 * told in every TICK, so the controller moves past the gap (instead of
 * waiting forever for a batch that is gone) and reports the loss. */
#include "agent.h"

#include <stdlib.h>
#include <string.h>

#include "ps_time.h"

void agent_buffer_reset(struct agent *ag, uint64_t max_bytes)
{
    for (uint32_t t = 0; t < PS_MAX_THREADS; t++) {
        for (struct agent_blob *b = ag->retained[t].head, *n; b; b = n) {
            n = b->next;
            free(b);
        }
        memset(&ag->retained[t], 0, sizeof ag->retained[t]);
    }
    ag->retained_bytes = 0;
    ag->buffer_max = max_bytes ? max_bytes : AGENT_RETAIN_MAX;
    ag->dropped_batches = ag->dropped_events = 0;
}

/* Each thread's oldest first, from thread 0 on, until the buffer fits again. */
static void agent_buffer_trim(struct agent *ag)
{
    for (uint32_t t = 0; t < ag->n_workers && ag->retained_bytes > ag->buffer_max; t++) {
        struct agent_retained *r = &ag->retained[t];
        while (ag->retained_bytes > ag->buffer_max && r->head) {
            struct agent_blob *b = r->head;
            r->head = b->next;
            if (!r->head)
                r->tail = NULL;
            ag->retained_bytes -= b->len;
            ag->dropped_batches++;
            ag->dropped_events += b->n_events;
            if (b->seq > r->dropped_seq)
                r->dropped_seq = b->seq;
            free(b);
        }
    }
}

void agent_buffer_pump(struct agent *ag)
{
    int64_t now = ps_time_mono_us();
    for (uint32_t t = 0; t < ag->n_workers; t++) {
        struct agent_worker *w = &ag->workers[t];
        pthread_mutex_lock(&w->mu);
        struct agent_blob *head = w->out_head, *tail = w->out_tail;
        w->out_head = w->out_tail = NULL;
        pthread_mutex_unlock(&w->mu);
        if (!head)
            continue;
        struct agent_retained *r = &ag->retained[t];
        if (r->tail)
            r->tail->next = head;
        else
            r->head = head;
        r->tail = tail;
        for (struct agent_blob *b = head; b; b = b->next)
            ag->retained_bytes += b->len;
    }
    agent_buffer_trim(ag);
    for (uint32_t t = 0; t < ag->n_workers; t++) {
        struct agent_retained *r = &ag->retained[t];
        for (struct agent_blob *b = r->head; b; b = b->next) {
            if (b->sent_us && now - b->sent_us < AGENT_RESEND_US)
                continue;
            if (nng_send(ag->push, b->data, b->len, NNG_FLAG_NONBLOCK) != 0)
                break;   /* no pipe or buffer full: retry on the next pass */
            b->sent_us = now;
            if (b->seq > r->last_seq)
                r->last_seq = b->seq;
        }
    }
}

void agent_buffer_ack(struct agent *ag, uint32_t thread, uint64_t acked)
{
    struct agent_retained *r = &ag->retained[thread];
    while (r->head && r->head->seq <= acked) {
        struct agent_blob *b = r->head;
        r->head = b->next;
        if (!r->head)
            r->tail = NULL;
        ag->retained_bytes -= b->len;
        free(b);
    }
}

/* What the TICK says of the buffer. */
void agent_buffer_tick(const struct agent *ag, struct ps_tick *t)
{
    t->n_threads = ag->n_workers;
    t->n_dropped = ag->n_workers;
    for (uint32_t i = 0; i < ag->n_workers; i++) {
        t->batch_seq[i] = ag->retained[i].last_seq;
        t->dropped_seq[i] = ag->retained[i].dropped_seq;
    }
    t->dropped_batches = ag->dropped_batches;
    t->dropped_events = ag->dropped_events;
}

/* Everything handed over and acknowledged. */
int agent_buffer_empty(const struct agent *ag)
{
    for (uint32_t i = 0; i < ag->n_workers; i++)
        if (ag->retained[i].head)
            return 0;
    return 1;
}
