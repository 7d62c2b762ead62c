/* refpush ws: the WebSocket endpoint - connections, heartbeats, delivery.
 *
 * Every accepted /ws?uid=N connection is a struct refpush_conn living in lws's
 * per-session memory (the uid was already validated when the upgrade was
 * confirmed, see http.c) and indexed by uid in s->conns.
 *
 * Delivery never writes from the HTTP request that caused it: a message is put
 * on each recipient's queue (a reference, not a copy) and the connection asks
 * lws for LWS_CALLBACK_SERVER_WRITEABLE when its queue goes from empty to
 * non-empty. Each writeable callback sends exactly one frame and asks again if
 * more is queued, so one connection with a deep queue cannot starve the others
 * and lws never has to buffer more than the frame that did not fit the socket.
 *
 * App-level heartbeat: a complete, unfragmented text message equal to the
 * configured heartbeat text is answered with the reply text through the same
 * queue (so it stays in order with pushes), using one shared message. Every
 * other client message goes to the strict-mode session (session.c: login,
 * JSON ping, ack) when one is configured, and is otherwise counted and
 * ignored. A connection still waiting for its login hands everything to the
 * session. RFC 6455 pings are answered by lws itself; with --ws-ping every
 * frame and pong also tells ping.c the connection is not silent, and a ping
 * it asks for is written before the connection's queue.
 *
 * Kick: the chosen connections are marked KICKING (they get no more pushes)
 * and given a 1 us lws timer; its callback sets close code 1001 (going away)
 * and returns -1, so lws sends the close frame, waits for the client's close
 * and shuts the connection. The connection leaves the index in
 * LWS_CALLBACK_CLOSED like any other close, so the index is never modified
 * while it is being walked. (lws keeps its timers in a sorted list, so kicking
 * N connections costs O(N^2) list steps: ~0.1 s for 15,000; kicks are rare.) */
#include "server.h"

#include <string.h>

#include "query.h"

int refpush_ws_enqueue(struct refpush_server *s, struct refpush_conn *c, struct refpush_msg *m,
                       uint64_t arg)
{
    int was_empty = c->queue.len == 0;
    if (refpush_queue_push(&s->qpool, &c->queue, m, arg)) {
        s->stats.dropped_overflow++;
        return -1;
    }
    if (was_empty)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static int refpush_ws_open(struct refpush_server *s, struct refpush_conn *c, struct lws *wsi)
{
    char v[REFPUSH_QUERY_MAX + 1], err[160];
    uint64_t uid;
    if (refpush_query_get(wsi, "uid", v, sizeof v) != REFPUSH_QUERY_FOUND ||
        refpush_parse_uid(v, &uid, err, sizeof err))
        return -1;   /* cannot happen: checked at LWS_CALLBACK_HTTP_CONFIRM_UPGRADE */
    memset(c, 0, sizeof *c);
    c->wsi = wsi;
    c->uid = uid;
    c->state = REFPUSH_CONN_LIVE;
    if (refpush_uidmap_add(&s->conns, c))
        lwsl_warn("refpush: out of memory growing the uid index; lookups get slower\n");
    refpush_session_open(s, c);
    refpush_ping_open(s, c);
    s->stats.connections_total++;
    return 0;
}

static void refpush_ws_receive(struct refpush_server *s, struct refpush_conn *c, struct lws *wsi,
                               const void *in, size_t len)
{
    refpush_ping_heard(s, c);
    if (c->state != REFPUSH_CONN_LIVE && c->state != REFPUSH_CONN_KICKING &&
        c->state != REFPUSH_CONN_LOGIN)
        return;   /* not set up, or its close is on the way */
    int final = lws_is_final_fragment(wsi);
    int whole = final && lws_is_first_fragment(wsi) && !lws_frame_is_binary(wsi);
    if (c->state == REFPUSH_CONN_LOGIN) {
        if (final)   /* a fragment's tail or a binary frame is no login either */
            refpush_session_receive(s, c, whole ? in : "", whole ? len : 0);
        return;
    }
    if (whole && len == s->cfg.hb_text_len && memcmp(in, s->cfg.hb_text, len) == 0) {
        s->stats.heartbeats++;
        if (c->state == REFPUSH_CONN_LIVE)
            refpush_ws_enqueue(s, c, s->hb_reply, 0);
        return;
    }
    if (final && !(whole && refpush_session_receive(s, c, in, len)))
        s->stats.client_frames++;
}

int refpush_ws_write_msg(struct refpush_server *s, struct refpush_conn *c, struct refpush_msg *m,
                         uint64_t arg, uint32_t id)
{
    unsigned char *start;
    size_t n = m->is_template ? refpush_session_expand(s, c, m, arg, &start)
                              : refpush_msg_frame(m, c->uid, id, &start);
    if (lws_write(c->wsi, start, n, LWS_WRITE_TEXT) < (int)n)
        return -1;
    if (m->is_push)
        s->stats.frames_delivered++;
    else if (m == s->welcome)
        s->stats.welcomes++;
    return 0;
}

static int refpush_ws_writeable(struct refpush_server *s, struct refpush_conn *c, struct lws *wsi)
{
    if (c->state != REFPUSH_CONN_LIVE && c->state != REFPUSH_CONN_LOGIN)
        return 0;   /* its close is on the way (refpush_ws_timer) */
    int rc;
    if (c->ping_due)   /* first: behind a deep queue it would come too late */
        rc = refpush_ping_write(s, c) ? -1 : 1;
    else
        rc = s->cfg.require_ack ? refpush_session_write(s, c) : 0;
    if (rc == 0) {
        uint64_t arg;
        struct refpush_msg *m = refpush_queue_pop(&s->qpool, &c->queue, &arg);
        if (!m)
            return 0;
        rc = refpush_ws_write_msg(s, c, m, arg, 0);
        refpush_msg_unref(m);
    }
    if (rc < 0)
        return -1;
    if (rc != 2 && (c->queue.len || c->acks.n_due))
        lws_callback_on_writable(wsi);
    return 0;
}

/* Timer callback: a kicked connection, or one the session closes (login).
 * Returning -1 from here (unlike from LWS_CALLBACK_SERVER_WRITEABLE, where lws
 * 4.1 treats it as a failed socket and just drops the TCP connection) makes
 * lws send the close frame set by lws_close_reason() and wait for the
 * client's answer, as a clean close should. */
static int refpush_ws_timer(struct refpush_server *s, struct refpush_conn *c, struct lws *wsi)
{
    static const char reason[] = "kicked";
    if (c->state != REFPUSH_CONN_KICKING)
        return refpush_session_timer(s, c);
    lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)reason, sizeof reason - 1);
    return -1;
}

static void refpush_ws_closed(struct refpush_server *s, struct refpush_conn *c)
{
    if (c->state == REFPUSH_CONN_NONE)
        return;
    refpush_uidmap_remove(&s->conns, c);
    refpush_queue_clear(&s->qpool, &c->queue);
    refpush_session_closed(s, c);
    refpush_ping_closed(s, c);
    c->state = REFPUSH_CONN_NONE;
    c->wsi = NULL;
    s->stats.closed_total++;
}

int refpush_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                        void *in, size_t len)
{
    struct refpush_conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        /* lws binds new connections to the vhost's default protocol, this one,
         * so the upgrade decision arrives here; it belongs with the HTTP side */
        return refpush_http_callback(wsi, reason, NULL, in, len);
    case LWS_CALLBACK_ESTABLISHED:
        return c ? refpush_ws_open(refpush_server_of(wsi), c, wsi) : -1;
    case LWS_CALLBACK_RECEIVE:
        if (c)
            refpush_ws_receive(refpush_server_of(wsi), c, wsi, in, len);
        return 0;
    case LWS_CALLBACK_RECEIVE_PONG:
        if (c && c->state != REFPUSH_CONN_NONE)
            refpush_ping_heard(refpush_server_of(wsi), c);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c ? refpush_ws_writeable(refpush_server_of(wsi), c, wsi) : 0;
    case LWS_CALLBACK_TIMER:
        return c ? refpush_ws_timer(refpush_server_of(wsi), c, wsi) : 0;
    case LWS_CALLBACK_CLOSED:
        if (c)
            refpush_ws_closed(refpush_server_of(wsi), c);
        return 0;
    default:
        return 0;
    }
}

size_t refpush_ws_count_uid(struct refpush_server *s, uint64_t uid)
{
    size_t n = 0;
    for (struct refpush_conn *c = refpush_uidmap_find(&s->conns, uid); c; c = refpush_uidmap_next(c))
        n += c->state == REFPUSH_CONN_LIVE;
    return n;
}

size_t refpush_ws_send_uid(struct refpush_server *s, uint64_t uid, struct refpush_msg *m)
{
    size_t n = 0;
    for (struct refpush_conn *c = refpush_uidmap_find(&s->conns, uid); c; c = refpush_uidmap_next(c))
        if (c->state == REFPUSH_CONN_LIVE && refpush_ws_enqueue(s, c, m, 0) == 0)
            n++;
    return n;
}

struct refpush_ws_walk {
    struct refpush_server *s;
    struct refpush_msg    *msg;
    double                 fraction;
    double                 acc;
    size_t                 n;
};

static void refpush_ws_send_one(struct refpush_conn *c, void *ctx)
{
    struct refpush_ws_walk *w = ctx;
    if (c->state == REFPUSH_CONN_LIVE && refpush_ws_enqueue(w->s, c, w->msg, 0) == 0)
        w->n++;
}

size_t refpush_ws_send_all(struct refpush_server *s, struct refpush_msg *m)
{
    struct refpush_ws_walk w = { .s = s, .msg = m };
    refpush_uidmap_each(&s->conns, refpush_ws_send_one, &w);
    return w.n;
}

/* Picks every (1/fraction)-th live connection in index order: an accumulator
 * gains `fraction` per connection and each whole unit kicks one, so the chosen
 * ones are spread evenly and their number is fraction * live, rounded down
 * (the epsilon keeps 10 x 0.1 from summing to 0.9999...). */
static void refpush_ws_kick_one(struct refpush_conn *c, void *ctx)
{
    struct refpush_ws_walk *w = ctx;
    if (c->state != REFPUSH_CONN_LIVE)
        return;
    w->acc += w->fraction;
    if (w->acc < 1.0 - 1e-9)
        return;
    w->acc -= 1.0;
    c->state = REFPUSH_CONN_KICKING;
    lws_set_timer_usecs(c->wsi, 1);
    w->n++;
}

size_t refpush_ws_kick(struct refpush_server *s, double fraction)
{
    struct refpush_ws_walk w = { .s = s, .fraction = fraction };
    if (fraction > 0.0)
        refpush_uidmap_each(&s->conns, refpush_ws_kick_one, &w);
    return w.n;
}
