/* refpush session: strict mode, the session of a real push service.
 *
 * The service this project was started for does not push to whoever opens a
 * socket: it greets the client with a message of its own at once, wants a
 * login with the user's token before anything else, answers an app-level
 * JSON heartbeat with its own clock, and keeps every pushed message until the
 * client acks it, sending it again otherwise. Each of these is an option
 * (docs/refpush.md); none is on by default, and with none on this file does
 * nothing and refpush behaves as it always did.
 *
 *   welcome  --welcome T / --strict: queued when the connection opens, so it
 *            is the first frame the client gets.
 *   login    --require-login: the connection starts in state LOGIN (written
 *            to, counted as not connected for pushes) with an lws timer of
 *            --login-timeout. Its first complete message must be
 *            {"type":"login","token":"<secret>-<uid>"}: then it goes LIVE
 *            (and gets --login-reply); a wrong token, or any other message,
 *            closes it. Every close is 1008 (policy violation) with a reason
 *            saying which: "bad token", "login expected", "login timeout";
 *            the close itself is done from the lws timer callback (ws.c),
 *            as for a kick, so lws sends a proper close frame.
 *   pong     --heartbeat-json: {"type":"ping","seq":N} is answered through
 *            the connection's queue by {"type":"pong","seq":N,"ts":<ms>}.
 *   acks     --require-ack: see ack.c; this file connects it to the socket.
 *
 * Frames that differ per connection (welcome with its session id, login
 * reply, pong with its seq and timestamp) are template messages, one per
 * server: the queue entry carries the per-frame value (the seq) and the frame
 * is expanded only when it is written, into the server's tpl_out buffer
 * (lws_write copies what the socket does not take). So none of this allocates
 * per connection or per message.
 *
 * Session ids are the accept ordinal through a bijective 32-bit mix: unique
 * for 2^32 connections, yet not guessable as 1, 2, 3 by a client that would
 * then have nothing to capture. */
#include "server.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmsg.h"
#include "ps_time.h"
#include "ps_tpl.h"

static const char refpush_pong_tpl[] = "{\"type\":\"pong\",\"seq\":{seq},\"ts\":{ts}}";

int refpush_session_init(struct refpush_server *s)
{
    const struct refpush_config *cfg = &s->cfg;
    refpush_acktab_init(&s->acks, cfg->ack_timeout_ms, cfg->max_redeliver, cfg->ack_window);
    if (cfg->welcome && !(s->welcome = refpush_msg_new_template(cfg->welcome,
                                                                 strlen(cfg->welcome))))
        return -1;
    if (cfg->require_login && cfg->login_reply &&
        !(s->login_reply = refpush_msg_new_template(cfg->login_reply, strlen(cfg->login_reply))))
        return -1;
    if (cfg->hb_json &&
        !(s->pong = refpush_msg_new_template(refpush_pong_tpl, sizeof refpush_pong_tpl - 1)))
        return -1;
    return 0;
}

void refpush_session_start(struct refpush_server *s)
{
    const struct refpush_config *cfg = &s->cfg;
    if (cfg->require_ack) {
        uv_timer_init(s->loop, &s->ack_timer);
        s->ack_timer.data = s;
        s->ack_timer_started = 1;
    }
    if (cfg->quiet || !(cfg->welcome || cfg->hb_json || cfg->require_login || cfg->require_ack))
        return;
    fprintf(stderr, "refpush: strict: welcome %s; JSON heartbeat %s\n",
            cfg->welcome ? cfg->welcome : "off", cfg->hb_json ? "on" : "off");
    if (cfg->require_login)
        fprintf(stderr, "refpush: strict: login required within %" PRIu32 " ms, reply %s\n",
                cfg->login_timeout_ms, cfg->login_reply ? cfg->login_reply : "none");
    if (cfg->require_ack)
        fprintf(stderr, "refpush: strict: acks required within %" PRIu32 " ms, %" PRIu32
                        " redeliveries, window %" PRIu32 "\n", cfg->ack_timeout_ms,
                cfg->max_redeliver, cfg->ack_window);
}

void refpush_session_stop(struct refpush_server *s)
{
    if (!s->ack_timer_started)
        return;
    uv_timer_stop(&s->ack_timer);
    uv_close((uv_handle_t *)&s->ack_timer, NULL);   /* lives in the server: nothing to free */
    s->ack_timer_started = 0;
}

void refpush_session_free(struct refpush_server *s)
{
    refpush_msg_unref(s->welcome);
    refpush_msg_unref(s->login_reply);
    refpush_msg_unref(s->pong);
    s->welcome = s->login_reply = s->pong = NULL;
    if (s->acks.used)
        fprintf(stderr, "refpush: %zu unacked messages still tracked after lws teardown\n",
                s->acks.used);
    refpush_acktab_free(&s->acks);
}

static uint32_t refpush_session_id(uint64_t ordinal)
{
    uint32_t x = (uint32_t)ordinal * 0x9E3779B1u;   /* odd multiplier: a bijection */
    x ^= x >> 15;
    x *= 0x85EBCA77u;
    return x ^ (x >> 13);
}

void refpush_session_open(struct refpush_server *s, struct refpush_conn *c)
{
    c->session = refpush_session_id(s->stats.connections_total + 1);
    if (s->cfg.require_login) {
        c->state = REFPUSH_CONN_LOGIN;
        lws_set_timer_usecs(c->wsi, (lws_usec_t)s->cfg.login_timeout_ms * 1000);
    }
    if (s->welcome)
        refpush_ws_enqueue(s, c, s->welcome, 0);
}

size_t refpush_session_expand(struct refpush_server *s, struct refpush_conn *c,
                              struct refpush_msg *m, uint64_t arg, unsigned char **start)
{
    char uid[24], session[12], seq[24], ts[24];
    snprintf(uid, sizeof uid, "%" PRIu64, c->uid);
    snprintf(session, sizeof session, "%08" PRIx32, c->session);
    snprintf(seq, sizeof seq, "%" PRIu64, arg);
    snprintf(ts, sizeof ts, "%" PRId64, ps_time_wall_us() / 1000);
    const struct ps_tpl_var vars[] = {
        { "uid", uid }, { "session", session }, { "seq", seq }, { "ts", ts },
    };
    char *out = (char *)s->tpl_out + LWS_PRE;
    int n = ps_tpl_expand(out, REFPUSH_TPL_OUT_MAX, (const char *)m->buf + REFPUSH_MSG_HEADROOM,
                          vars, sizeof vars / sizeof vars[0]);
    *start = (unsigned char *)out;
    return n < 0 ? 0 : (size_t)n;   /* cannot overflow: REFPUSH_TPL_OUT_MAX */
}

/* Closes c with 1008 from its timer callback (refpush_session_timer). */
static void refpush_session_reject(struct refpush_server *s, struct refpush_conn *c,
                                   enum refpush_conn_state why)
{
    c->state = why;
    s->stats.login_rejected++;
    lws_set_timer_usecs(c->wsi, 1);
}

static void refpush_session_login(struct refpush_server *s, struct refpush_conn *c,
                                  const char *in, size_t len)
{
    struct refpush_cmsg m;
    char err[96];
    if (refpush_cmsg_parse(in, len, &m, err, sizeof err) || m.type != REFPUSH_CMSG_LOGIN) {
        refpush_session_reject(s, c, REFPUSH_CONN_REJECTED);
        return;
    }
    if (!refpush_login_token_ok(s->cfg.login_secret, c->uid, m.token, m.token_len)) {
        refpush_session_reject(s, c, REFPUSH_CONN_BAD_TOKEN);
        return;
    }
    c->state = REFPUSH_CONN_LIVE;
    lws_set_timer_usecs(c->wsi, LWS_SET_TIMER_USEC_CANCEL);
    s->stats.logins++;
    if (s->login_reply)
        refpush_ws_enqueue(s, c, s->login_reply, 0);
}

int refpush_session_receive(struct refpush_server *s, struct refpush_conn *c, const char *in,
                            size_t len)
{
    if (c->state == REFPUSH_CONN_LOGIN) {
        refpush_session_login(s, c, in, len);
        return 1;
    }
    if (!s->cfg.hb_json && !s->cfg.require_ack)
        return 0;
    struct refpush_cmsg m;
    char err[96];
    if (refpush_cmsg_parse(in, len, &m, err, sizeof err)) {
        s->stats.client_invalid++;
        return 1;
    }
    if (m.type == REFPUSH_CMSG_PING && s->cfg.hb_json) {
        s->stats.heartbeats++;
        if (c->state == REFPUSH_CONN_LIVE)
            refpush_ws_enqueue(s, c, s->pong, m.seq);
        return 1;
    }
    if (m.type == REFPUSH_CMSG_ACK && s->cfg.require_ack) {
        int was_full = !refpush_acks_room(&s->acks, &c->acks);
        if (refpush_acks_take(&s->acks, &c->acks, m.id) == 0 && was_full && c->queue.len)
            lws_callback_on_writable(c->wsi);
        return 1;
    }
    return 0;
}

static void refpush_session_touched(struct refpush_acks *a, void *ctx)
{
    struct refpush_conn *c = lws_container_of(a, struct refpush_conn, acks);
    (void)ctx;
    if (c->wsi && (a->n_due || c->queue.len))
        lws_callback_on_writable(c->wsi);
}

static void refpush_session_arm(struct refpush_server *s);

static void refpush_session_on_ack_timer(uv_timer_t *t)
{
    struct refpush_server *s = t->data;
    refpush_acktab_expire(&s->acks, uv_now(s->loop), refpush_session_touched, NULL);
    refpush_session_arm(s);
}

/* Deadlines only grow (see ack.c), so a running timer is never late. */
static void refpush_session_arm(struct refpush_server *s)
{
    uint64_t d = refpush_acktab_next_deadline(&s->acks);
    if (!d || !s->ack_timer_started || uv_is_active((uv_handle_t *)&s->ack_timer))
        return;
    uint64_t now = uv_now(s->loop);
    uv_timer_start(&s->ack_timer, refpush_session_on_ack_timer, d > now ? d - now : 0, 0);
}

int refpush_session_write(struct refpush_server *s, struct refpush_conn *c)
{
    uint64_t now = uv_now(s->loop);
    struct refpush_ack *e = refpush_acks_due(&c->acks);
    if (e) {
        if (refpush_ws_write_msg(s, c, e->msg, 0, e->id))
            return -1;
        refpush_acks_resent(&s->acks, e, now);
        refpush_session_arm(s);
        return 1;
    }
    struct refpush_msg *m = refpush_queue_peek(&c->queue);
    if (!m || !m->is_push)
        return 0;
    if (!refpush_acks_room(&s->acks, &c->acks))
        return 2;   /* an ack or an expiry wakes it (refpush_session_touched) */
    m = refpush_queue_pop(&s->qpool, &c->queue, NULL);
    e = refpush_acks_track(&s->acks, &c->acks, m, now);   /* NULL: out of memory, sent unacked */
    int rc = refpush_ws_write_msg(s, c, m, 0, e ? e->id : 0);
    refpush_msg_unref(m);
    if (e)
        refpush_session_arm(s);
    return rc < 0 ? -1 : 1;
}

int refpush_session_timer(struct refpush_server *s, struct refpush_conn *c)
{
    const char *reason;
    switch (c->state) {
    case REFPUSH_CONN_LOGIN:
        s->stats.login_timeouts++;
        c->state = REFPUSH_CONN_TIMED_OUT;
        reason = "login timeout";
        break;
    case REFPUSH_CONN_REJECTED:
        reason = "login expected";
        break;
    case REFPUSH_CONN_BAD_TOKEN:
        reason = "bad token";
        break;
    default:
        return 0;
    }
    lws_close_reason(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)reason,
                     strlen(reason));
    return -1;
}

void refpush_session_closed(struct refpush_server *s, struct refpush_conn *c)
{
    refpush_acks_clear(&s->acks, &c->acks);
}
