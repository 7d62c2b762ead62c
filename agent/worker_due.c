/* worker_due.c: when a worker next has something to do.
 *
 * The worker's timer is not a fixed beat: after each run it is armed for the
 * earliest thing due, so an agent holding connections with nothing to do
 * wakes once a second per loop (the statistics of the second just ended)
 * instead of a hundred times. A wake-up costs the same whatever the number of
 * connections, and so does working out the next one: nothing here walks the
 * connections.
 *   - every AGENT_TICK_MS while something is under way that the timer drives
 *     by polling: a ramp past its start, reconnects waiting for their backoff,
 *     a stop closing its batches or waiting out its grace, sessions with
 *     deadlines (their pools are small, see session.c);
 *   - the keepalive sweeps' next slot (keepalive.c), but never sooner than
 *     agent_keepalive_batch_us() from now (10-100 ms): a sweep over many
 *     connections visits them in batches, one wake-up each;
 *   - the event batch's flush deadline;
 *   - just past the next wall-clock second.
 * Whatever happens between (an event in a callback, a command) and is due
 * sooner re-arms the timer from where it happens (worker.c). */
#include "agent.h"

/* Past the second, not at it: libuv timers have millisecond resolution and
 * its loop time may lag, so a timer aimed at the boundary could fire just
 * before it and find nothing to publish. */
#define AGENT_DUE_SECOND_MARGIN_US 2000

int agent_worker_busy(const struct agent_worker *w, int64_t now)
{
    if (!w->conns)
        return 0;
    if (w->stopping)
        return !w->stopped;
    return (w->next_open < w->open_to && now >= w->ramp_start_us) || w->n_waiting ||
           w->n_sess_active || (w->disc_at_us && now >= w->disc_at_us);
}

int64_t agent_worker_next_due(const struct agent_worker *w, int64_t now, int64_t wall_us)
{
    int64_t tick = now + AGENT_TICK_MS * 1000;
    int64_t due = now + (1000000 - wall_us % 1000000) + AGENT_DUE_SECOND_MARGIN_US;
    if (agent_worker_busy(w, now))
        return tick;
    if (w->conns) {
        int64_t ka = agent_keepalive_next(w), batch = now + agent_keepalive_batch_us(w);
        if (ka < due)
            due = ka < batch ? batch : ka;
    }
    if (w->batch.n) {
        int64_t flush = w->batch_first_us + AGENT_BATCH_FLUSH_US;
        if (flush < due)
            due = flush;
    }
    return due;
}

/* xorshift64: the jitter of reconnect delays, per worker (no shared state) */
uint32_t agent_worker_rand(struct agent_worker *w, uint32_t bound)
{
    uint64_t x = w->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w->rng = x;
    return bound ? (uint32_t)(x % bound) : 0;
}
