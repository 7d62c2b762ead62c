/* refpush ping: --ws-ping, the server's own RFC 6455 keepalive.
 *
 * A connection silent for the interval P (no data frame, no pong) gets a
 * ping; one silent for 3 P is hung up. lws has this built in (its validity
 * timer), but it re-inserts a per-connection timer into a sorted list on
 * every frame, O(connections) each: at 18,000 connections pinged every 5 s
 * that saturated refpush and the clients' connects timed out.
 *
 * Every connection's next check is always "P after it was last queued", and
 * P is the same for all of them, so a plain FIFO is already in deadline
 * order: a frame moves its connection to the tail, the one timer sleeps until
 * the head's check. Both are O(1), and an idle connection costs nothing
 * between its checks. The timer is not re-armed when the head moves away: it
 * fires at the old head's time, finds the new head not yet due and sleeps
 * again, one wake-up instead of a timer call per frame. */
#include "server.h"

#include <string.h>

static uint32_t refpush_ping_now(const struct refpush_server *s)
{
    /* ms, wrapping: only differences are used, and they stay far below 49 days */
    return (uint32_t)uv_now(s->loop);
}

static void refpush_ping_unlink(struct refpush_pinger *p, struct refpush_conn *c)
{
    if (c->idle_prev)
        c->idle_prev->idle_next = c->idle_next;
    else if (p->head == c)
        p->head = c->idle_next;
    else
        return;   /* not queued */
    if (c->idle_next)
        c->idle_next->idle_prev = c->idle_prev;
    else
        p->tail = c->idle_prev;
    c->idle_prev = c->idle_next = NULL;
}

static void refpush_ping_arm(struct refpush_server *s)
{
    struct refpush_pinger *p = &s->pinger;
    if (!p->head) {
        uv_timer_stop(&p->timer);
        return;
    }
    uint32_t waited = refpush_ping_now(s) - p->head->queued_at;
    uint32_t due = waited >= p->interval_ms ? 0 : p->interval_ms - waited;
    uv_timer_start(&p->timer, refpush_ping_due, due, 0);
}

static void refpush_ping_append(struct refpush_server *s, struct refpush_conn *c, uint32_t now)
{
    struct refpush_pinger *p = &s->pinger;
    c->queued_at = now;
    c->idle_prev = p->tail;
    c->idle_next = NULL;
    if (p->tail)
        p->tail->idle_next = c;
    else
        p->head = c;
    p->tail = c;
    if (p->head == c)
        refpush_ping_arm(s);
}

void refpush_ping_due(uv_timer_t *t)
{
    struct refpush_server *s = t->data;
    struct refpush_pinger *p = &s->pinger;
    uint32_t now = refpush_ping_now(s);
    struct refpush_conn *c;
    while ((c = p->head) && now - c->queued_at >= p->interval_ms) {
        refpush_ping_unlink(p, c);
        if (now - c->quiet_since >= 3 * p->interval_ms) {
            /* no close frame: a peer this silent would not answer one */
            s->stats.ws_ping_hangups++;
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_WS_PONG_CHECK_GET_PONG, LWS_TO_KILL_ASYNC);
            continue;
        }
        c->ping_due = 1;
        lws_callback_on_writable(c->wsi);
        refpush_ping_append(s, c, now);
    }
    refpush_ping_arm(s);
}

void refpush_ping_open(struct refpush_server *s, struct refpush_conn *c)
{
    if (!s->pinger.interval_ms)
        return;
    c->quiet_since = refpush_ping_now(s);
    refpush_ping_append(s, c, c->quiet_since);
}

void refpush_ping_heard(struct refpush_server *s, struct refpush_conn *c)
{
    struct refpush_pinger *p = &s->pinger;
    if (!p->interval_ms || (!c->idle_prev && p->head != c))
        return;   /* off, or not queued (closing) */
    c->quiet_since = refpush_ping_now(s);
    if (p->tail == c) {
        c->queued_at = c->quiet_since;   /* already last: nothing behind it is earlier */
        return;
    }
    refpush_ping_unlink(p, c);
    refpush_ping_append(s, c, c->quiet_since);
}

void refpush_ping_closed(struct refpush_server *s, struct refpush_conn *c)
{
    refpush_ping_unlink(&s->pinger, c);
    c->ping_due = 0;
}

/* Not empty: lws 4.1 hands the protocol no pong without a payload, and a
 * pong echoes its ping's (RFC 6455 5.5.3). */
int refpush_ping_write(struct refpush_server *s, struct refpush_conn *c)
{
    static const char payload[] = "rp";
    unsigned char frame[LWS_PRE + sizeof payload];   /* lws puts the header in front */
    memcpy(frame + LWS_PRE, payload, sizeof payload - 1);
    c->ping_due = 0;
    s->stats.ws_pings++;
    return lws_write(c->wsi, frame + LWS_PRE, sizeof payload - 1, LWS_WRITE_PING) < 0 ? -1 : 0;
}

void refpush_ping_start(struct refpush_server *s)
{
    struct refpush_pinger *p = &s->pinger;
    p->interval_ms = s->cfg.ws_ping_ms;
    if (!p->interval_ms)
        return;
    uv_timer_init(s->loop, &p->timer);
    p->timer.data = s;
    p->started = 1;
}

void refpush_ping_stop(struct refpush_server *s)
{
    struct refpush_pinger *p = &s->pinger;
    if (!p->started)
        return;
    uv_close((uv_handle_t *)&p->timer, NULL);   /* lives in the server: nothing to free */
    p->started = 0;
    p->interval_ms = 0;   /* connections closing from here on are not requeued */
}
