/* conn.c: one WebSocket connection's life, as lws reports it.
 *
 * A connection is a slot in its worker's array (struct agent_conn, 64 B). lws
 * is given the slot as the session's user memory (ci.userdata), so every
 * callback finds its slot without a lookup and lws allocates nothing of ours.
 *
 * Life: IDLE -> CONNECTING -> OPEN -> (WAITING -> CONNECTING ...) -> DONE.
 * An attempt starts in conn_open.c (agent_conn_open), which also builds a
 * slot's id, target and template variables.
 * Every way a connection can end - an error before the upgrade, a handshake
 * that never finishes, a close by either side, a reset, lws dropping a bad
 * frame, our own kill - funnels into agent_conn_ended(), which runs once per
 * attempt (guarded by the state), emits exactly one failed or closed event
 * with a classified reason, and schedules the reconnect. The reason comes from
 * what we saw first: our own decision to close (recorded in c->reason before
 * closing), the server's Close frame (WS_PEER_INITIATED_CLOSE), or, failing
 * both, the callback that ended it.
 *
 * Receiving: lws hands a message over in rx-buffer-sized pieces (128 B, see
 * worker.c). Each piece goes through the token matcher (state in the slot, so a
 * token split between pieces is still found), the UTF-8 checker for text
 * messages, the size cap, the heartbeat-reply comparison and ack.c (which
 * copies them only for acks of the service's own ids). Nothing is allocated.
 *
 * Sending: pings, heartbeats and closes are requested with a flag and
 * lws_callback_on_writable(); each writeable callback writes one frame, as
 * lws requires, and asks again if more is pending. */
#include "agent.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "ps_time.h"
#include "ps_tpl.h"
#include "ps_utf8.h"

/* The per-connection budget of our own (issue 3): keep it a cache line. */
_Static_assert(sizeof(struct agent_conn) <= 64, "struct agent_conn grew past 64 bytes");

static uint32_t agent_conn_now32(const struct agent_worker *w)
{
    return (uint32_t)(ps_time_mono_us() - w->t0_us);
}

static struct agent_worker *agent_conn_worker(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

static void agent_conn_schedule(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    const struct ps_assign *a = &w->agent->assign.a;
    if (w->stopping || !a->reconnect_min_ms ||
        (a->reconnect_attempts && c->attempt >= a->reconnect_attempts)) {
        c->state = AGENT_CONN_DONE;
        return;
    }
    /* exponential backoff, full-ish jitter: half the step plus a random half,
     * so a server restart is not answered by every client at the same instant */
    uint64_t step = (uint64_t)a->reconnect_min_ms << (c->attempt < 20 ? c->attempt : 20);
    if (a->reconnect_max_ms && step > a->reconnect_max_ms)
        step = a->reconnect_max_ms;
    uint32_t delay_ms = (uint32_t)(step / 2 + agent_worker_rand(w, (uint32_t)(step / 2) + 1));
    if (c->attempt < UINT16_MAX)
        c->attempt++;
    c->state = AGENT_CONN_WAITING;
    c->mark_us = ps_time_mono_us() + (int64_t)delay_ms * 1000;
    w->n_waiting++;
    w->c.reconnects++;
    agent_worker_event(w, slot, PS_EV_RECONNECT, c->attempt, delay_ms);
}

/* The one exit of a connection attempt. */
void agent_conn_ended(struct agent_worker *w, uint32_t slot, uint8_t fallback, uint32_t aux)
{
    struct agent_conn *c = &w->conns[slot];
    if (c->state == AGENT_CONN_SESSION)
        aux = agent_session_end(w, slot);   /* the failing step, for session reasons */
    uint8_t reason = c->reason ? c->reason : fallback;
    /* a client protocol's reason carries the protocol's code (dialect.c) */
    int proto = reason >= PS_REASON_PROTO_REFUSED && reason <= PS_REASON_PROTO_CLOSE;
    if (c->state == AGENT_CONN_CONNECTING || c->state == AGENT_CONN_SESSION) {
        if (reason == PS_REASON_TLS_VERIFY)
            aux = c->close_code;
        w->inflight--;
        w->n_live--;
        w->c.failed++;
        agent_worker_event(w, slot, PS_EV_FAILED, reason, proto ? agent_dialect_aux(w, slot) : aux);
    } else if (c->state == AGENT_CONN_OPEN) {
        w->n_open--;
        w->n_live--;
        w->c.closed++;
        agent_worker_event(w, slot, PS_EV_CLOSED, reason,
                           proto ? agent_dialect_aux(w, slot) : c->close_code);
    } else {
        return;
    }
    agent_session_forget(w, slot);
    c->wsi = NULL;
    c->flags = 0;
    c->reason = 0;
    c->close_code = 0;
    agent_conn_schedule(w, slot);
}

/* Online: the upgrade is done and, with a session script, its last step
 * passed (ready_us since the connection started; 0 = no script). Until now the
 * connection counted as in flight. */
void agent_conn_ready(struct agent_worker *w, uint32_t slot, int64_t hs_us, int64_t ready_us)
{
    struct agent_conn *c = &w->conns[slot];
    c->state = AGENT_CONN_OPEN;
    c->attempt = 0;
    w->inflight--;
    w->n_open++;
    w->c.opened++;
    if (ready_us)
        agent_worker_event(w, slot, PS_EV_READY, (uint64_t)ready_us, agent_conn_target(w, slot));
    agent_worker_event(w, slot, PS_EV_CONNECTED, (uint64_t)hs_us, agent_conn_target(w, slot));
    if (w->stopping)   /* came up while stopping: close it cleanly */
        agent_conn_close(w, slot, PS_REASON_CLIENT_CLOSE, 1000);
}

/* A failure before the upgrade: what the socket says, while lws still has it
 * (SO_ERROR, and TCP_INFO for a SYN never answered), or the errno lws left
 * when it closed the socket itself first; conn_reason.c decides. */
static uint8_t agent_conn_classify_error(struct lws *wsi, const char *msg, uint32_t *aux)
{
    struct agent_conn_why why = {.sock_err = errno, .msg = msg};
    int fd = wsi ? (int)lws_get_socket_fd(wsi) : -1;
    if (fd >= 0) {
        int e = 0;
        struct tcp_info ti;
        socklen_t el = sizeof e, tl = sizeof ti;
        why.sock_err = getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 ? e : 0;
        why.syn_sent = !why.sock_err && getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 &&
                       ti.tcpi_state == TCP_SYN_SENT;
    }
    uint8_t r = agent_conn_classify(&why, aux);
    if (r == PS_REASON_HTTP_STATUS)
        *aux = wsi ? lws_http_client_http_response(wsi) : 0;
    return r;
}

/* A connection that ended with no Close frame from either side: either the
 * server went away (reset or EOF) or lws dropped it because of a framing
 * violation (reserved opcode or bits, bad continuation), which lws 4.1.6 does
 * without telling why. The socket tells them apart: after a peer reset or EOF
 * a peek returns an error or 0; if lws hung up on a healthy socket there is
 * nothing to read yet (EAGAIN) or more data. */
static uint8_t agent_conn_classify_drop(struct lws *wsi)
{
    int fd = (int)lws_get_socket_fd(wsi);
    if (fd < 0)
        return PS_REASON_RESET;
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
        return PS_REASON_PROTOCOL;
    return PS_REASON_RESET;
}

struct agent_conn_rx {
    struct agent_worker *w;
    uint32_t slot;
};

static void agent_conn_on_token(void *ctx, const struct ps_token *tok)
{
    struct agent_conn_rx *rx = ctx;
    struct agent_worker *w = rx->w;
    if (tok->run != w->agent->assign.a.run_id) {
        w->c.foreign++;
        agent_worker_event(w, rx->slot, PS_EV_FOREIGN, tok->msg, tok->run);
        return;
    }
    w->c.messages++;
    agent_worker_event(w, rx->slot, PS_EV_MESSAGE, tok->msg, tok->run);
    agent_ack_push(w, rx->slot, tok->msg);
    /* the agent's own view of latency, for the live stats; the controller
     * recomputes it per delivery from its send time and the event time */
    int64_t lat = agent_clock_wall(w->agent) + agent_clock_offset(w->agent) - tok->t_send_us;
    if (lat >= 0)
        ps_hist_record(&w->cur.lat, (uint64_t)lat);
}

/* One piece of a received message, as lws describes it (open or in its
 * session); apart from lws so that the unit tests can drive it piece by piece. */
void agent_conn_rx(struct agent_worker *w, uint32_t slot, const struct agent_conn_piece *p)
{
    const struct ps_assign *a = &w->agent->assign.a;
    struct agent_conn *c = &w->conns[slot];
    const unsigned char *in = p->in;
    size_t len = p->len;
    /* a client protocol's payloads need not start with a WebSocket message */
    const struct agent_dialect *dl = w->dl.conn ? agent_dialect_of(w, slot) : NULL;
    if (p->first) {
        c->msg_bytes = 0;
        if (!dl)
            ps_token_reset(&c->tok);
        c->utf8 = PS_UTF8_ACCEPT;
        c->flags &= (uint8_t)~(AGENT_CF_TEXT | AGENT_CF_HB_CAND);
        if (!p->binary)
            c->flags |= AGENT_CF_TEXT;
        if (a->hb_expect[0] && (c->flags & AGENT_CF_HB_OUT))
            c->flags |= AGENT_CF_HB_CAND;
    }
    uint32_t before = c->msg_bytes;
    c->msg_bytes += (uint32_t)len;
    if (a->max_message && (uint64_t)c->msg_bytes + p->remaining > a->max_message) {
        /* Not by returning -1 here: lws 4.1.6 still holds the rest of the read
         * in its buffer list, and closing from inside the rx path with data
         * pending leaves the loop's poll state broken (the next
         * lws_callback_on_writable() on any connection crashes in libuv).
         * Close from the writeable callback instead and ignore the rest. */
        agent_conn_close(w, slot, PS_REASON_TOO_BIG, 1009);
        return;
    }
    int final = p->final;
    if (c->flags & AGENT_CF_TEXT) {
        c->utf8 = ps_utf8_step(c->utf8, in, len);
        if (c->utf8 == PS_UTF8_REJECT || (final && c->utf8 != PS_UTF8_ACCEPT)) {
            agent_conn_close(w, slot, PS_REASON_BAD_UTF8, 1007);   /* see above */
            return;
        }
    }
    if (dl) {   /* the dialect turns it into payloads (agent_dialect_payload) */
        agent_dialect_rx(w, slot, p);
        return;
    }
    if (c->state == AGENT_CONN_SESSION) {
        /* held to the same rules (a 1 GiB frame, bad UTF-8 name themselves
         * rather than wait out a step's timeout), then matched whole */
        agent_session_rx(w, slot, p);
        return;
    }
    if (c->flags & AGENT_CF_HB_CAND) {
        int reply = 0;
        if (a->hb_match) {
            reply = agent_session_hb_piece(w, slot, p);
        } else {
            size_t elen = strlen(a->hb_expect);
            if (before + len > elen || memcmp(a->hb_expect + before, in, len))
                c->flags &= (uint8_t)~AGENT_CF_HB_CAND;
            else
                reply = final && before + len == elen;
        }
        if (reply) {
            c->flags &= (uint8_t)~(AGENT_CF_HB_CAND | AGENT_CF_HB_OUT);
            ps_hist_record(&w->cur.hb_rtt, agent_conn_now32(w) - c->hb_sent);
            agent_ack_piece(w, slot, p);
            agent_ack_end(w, slot);
            return;
        }
    }
    agent_conn_deliver(w, slot, p);
}

void agent_conn_deliver(struct agent_worker *w, uint32_t slot, const struct agent_conn_piece *p)
{
    agent_ack_piece(w, slot, p);
    struct agent_conn_rx rx = {w, slot};
    ps_token_scan(&w->conns[slot].tok, (const char *)p->in, p->len, agent_conn_on_token, &rx);
    if (p->final)
        agent_ack_end(w, slot);
}

static int agent_conn_receive(struct agent_worker *w, struct lws *wsi, uint32_t slot,
                              const unsigned char *in, size_t len)
{
    struct agent_conn_piece p = {
        .in = in, .len = len, .remaining = lws_remaining_packet_payload(wsi),
        .first = (uint8_t)!!lws_is_first_fragment(wsi),
        .final = (uint8_t)!!lws_is_final_fragment(wsi),
        .binary = (uint8_t)!!lws_frame_is_binary(wsi),
    };
    agent_conn_rx(w, slot, &p);
    return 0;
}

/* The app heartbeat: a template of the connection's variables, its captures,
 * {seq} (this connection's heartbeats, from 1) and {now_ms} (agent wall clock). */
static int agent_conn_hb_text(struct agent_worker *w, struct agent_conn *c, char *out)
{
    const struct ps_assign *a = &w->agent->assign.a;
    struct agent_conn_tpl tpl;
    char seq[8], now_ms[24];
    agent_conn_tpl_init(&tpl, w, (uint32_t)(c - w->conns));
    c->hb_seq++;
    snprintf(seq, sizeof seq, "%u", (unsigned)c->hb_seq);
    snprintf(now_ms, sizeof now_ms, "%lld", (long long)(agent_clock_wall(w->agent) / 1000));
    tpl.vars[tpl.n++] = (struct ps_tpl_var){"seq", seq};
    tpl.vars[tpl.n++] = (struct ps_tpl_var){"now_ms", now_ms};
    return ps_tpl_expand_src(out, AGENT_TX_MAX, a->hb_text, tpl.vars, tpl.n, &tpl.src);
}

/* Ours after the client protocol's and the session's: the Close, a ping, a
 * heartbeat, then queued acks; one frame per call. */
static int agent_conn_own_writeable(struct agent_worker *w, uint32_t slot)
{
    const struct ps_assign *a = &w->agent->assign.a;
    struct agent_conn *c = &w->conns[slot];
    if (c->flags & AGENT_CF_WANT_CLOSE) {
        if (c->wsi)   /* our own engine frames the Close itself (wsc.c) */
            lws_close_reason(c->wsi, c->close_code, NULL, 0);
        return -1;
    }
    unsigned char *p = w->txbuf + LWS_PRE;
    if (c->flags & AGENT_CF_WANT_PING) {
        c->flags &= (uint8_t)~AGENT_CF_WANT_PING;
        memcpy(p, "ps", 2);
        if (agent_conn_write(w, slot, p, 2, AGENT_CONN_PING) < 0)
            return -1;
        c->ping_sent = agent_conn_now32(w);
        c->flags |= AGENT_CF_PING_OUT;
        w->c.pings++;
    } else if (c->flags & AGENT_CF_WANT_HB) {
        c->flags &= (uint8_t)~AGENT_CF_WANT_HB;
        int n = agent_conn_hb_text(w, c, (char *)p);
        if (n < 0) {   /* repeated captures beyond a frame we build */
            agent_conn_close(w, slot, PS_REASON_OTHER, 1011);
            return 0;
        }
        if (agent_conn_write(w, slot, p, (size_t)n, AGENT_CONN_TEXT) < 0)
            return -1;
        c->hb_sent = agent_conn_now32(w);
        if (a->hb_expect[0])
            c->flags |= AGENT_CF_HB_OUT;
        w->c.hb_sent++;
    } else if ((c->flags & AGENT_CF_WANT_SEND) &&
               agent_ack_write(w, slot) < 0) {
        return -1;
    }
    if (c->flags & (AGENT_CF_WANT_PING | AGENT_CF_WANT_HB | AGENT_CF_WANT_SEND))
        agent_conn_want_write(w, slot);
    return 0;
}

int agent_conn_writeable(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    if (c->state != AGENT_CONN_OPEN && c->state != AGENT_CONN_SESSION)
        return 0;
    int n = w->dl.conn && agent_dialect_of(w, slot) ? agent_dialect_writeable(w, slot) : 0;
    if (n)   /* the dialect's frame took this callback */
        return n < 0 ? -1 : 0;
    if (c->state == AGENT_CONN_SESSION && !(c->flags & AGENT_CF_WANT_CLOSE))
        return agent_session_writeable(w, slot);
    return agent_conn_own_writeable(w, slot);
}

/* The upgrade is done (any engine): online now, or once its session has run. */
int agent_conn_established(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    if (c->state != AGENT_CONN_CONNECTING)
        return -1;
    int64_t hs = ps_time_mono_us() - c->mark_us;
    c->flags = 0;
    ps_hist_record(&w->cur.hs, (uint64_t)hs);
    if (!agent_session_begin(w, slot, hs))
        agent_conn_ready(w, slot, hs, 0);
    return 0;
}

/* The server's Close frame (payload: its code and text, if any) decides the
 * reason unless ours already did. */
void agent_conn_peer_close(struct agent_worker *w, uint32_t slot, const unsigned char *in, size_t len)
{
    struct agent_conn *c = &w->conns[slot];
    if (c->reason)
        return;
    if (len >= 2) {
        c->close_code = (uint16_t)(in[0] << 8 | in[1]);
        c->reason = agent_close_reason(c->close_code);   /* 1005, 999: protocol */
    } else {
        c->reason = PS_REASON_NO_STATUS;
    }
}

void agent_conn_pong(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    if (c->flags & AGENT_CF_PING_OUT) {
        c->flags &= (uint8_t)~AGENT_CF_PING_OUT;
        ps_hist_record(&w->cur.rtt, agent_conn_now32(w) - c->ping_sent);
        w->c.pongs++;
    }
}

static int agent_conn_add_headers(struct agent_worker *w, struct lws *wsi, uint32_t slot,
                                  void *in, size_t len)
{
    const struct ps_assign *a = &w->agent->assign.a;
    if (!a->n_headers)
        return 0;
    unsigned char **p = in, *end = *p + len;
    char value[PS_HDR_MAX * 2], name[PS_HDR_MAX + 1];
    struct agent_conn_tpl tpl;
    agent_conn_tpl_init(&tpl, w, slot);
    for (uint32_t i = 0; i < a->n_headers; i++) {
        int n = ps_tpl_expand_src(value, sizeof value, a->headers[i].value, tpl.vars, tpl.n, &tpl.src);
        if (n < 0)
            return -1;
        snprintf(name, sizeof name, "%s:", a->headers[i].name);
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                        (const unsigned char *)value, n, p, end))
            return -1;
    }
    return 0;
}

/* lws's verify callback passes the X509 store as `user`; the slot is the wsi's
 * user memory. The OpenSSL error is kept in close_code (unused until the
 * connection opens) and becomes the failed event's aux. Returning 0 leaves
 * OpenSSL's verdict (and lws's LCCSCF_ALLOW_* exceptions) as they are. */
static int agent_conn_verify(struct lws *wsi, X509_STORE_CTX *store, int preverify_ok)
{
    struct agent_conn *c = lws_wsi_user(wsi);
    int err = X509_STORE_CTX_get_error(store);
    if (!c || preverify_ok || err == X509_V_OK || c->state != AGENT_CONN_CONNECTING)
        return 0;
    c->reason = PS_REASON_TLS_VERIFY;
    c->close_code = (uint16_t)err;
    return 0;
}

int agent_conn_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    if (reason == LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION)
        return agent_conn_verify(wsi, user, (int)len);
    if (reason == LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS) {
        agent_tls_load_extra(agent_conn_worker(wsi), user);
        return 0;
    }
    struct agent_conn *c = user;
    if (!c)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    struct agent_worker *w = agent_conn_worker(wsi);
    if (!w || c < w->conns || c >= w->conns + w->n_conns)
        return 0;
    uint32_t slot = (uint32_t)(c - w->conns);
    if (c->wsi && c->wsi != wsi)
        return 0;   /* a previous attempt's wsi on its way out; the slot has moved on */

    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        return agent_conn_add_headers(w, wsi, slot, in, len);

    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (c->state != AGENT_CONN_CONNECTING)
            return -1;
        c->wsi = wsi;
        agent_tls_trim(wsi);
        return agent_conn_established(w, slot);

    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        uint32_t aux;
        uint8_t r = agent_conn_classify_error(wsi, in, &aux);
        int alert = r == PS_REASON_TLS_HANDSHAKE ? agent_tls_alert(wsi) : -1;
        if (alert >= 0) {
            r = PS_REASON_TLS_ALERT;
            aux = (uint32_t)alert;
        }
        agent_conn_ended(w, slot, r, aux);
        return 0;
    }

    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        /* the upgrade never completed: lws gave up waiting for the answer */
        agent_conn_ended(w, slot, PS_REASON_TIMEOUT, 0);
        return 0;

    case LWS_CALLBACK_CLIENT_RECEIVE:
        if ((c->state != AGENT_CONN_OPEN && c->state != AGENT_CONN_SESSION) || c->reason)
            return 0;   /* closing: the rest of the message no longer matters */
        return agent_conn_receive(w, wsi, slot, in, len);

    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        agent_conn_pong(w, slot);
        return 0;

    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return agent_conn_writeable(w, slot);

    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        agent_conn_peer_close(w, slot, in, len);
        return 0;

    case LWS_CALLBACK_CLIENT_CLOSED:
        agent_conn_ended(w, slot, agent_conn_classify_drop(wsi), 0);
        return 0;

    case LWS_CALLBACK_WSI_DESTROY:
        /* last word on this wsi: if nothing above ended the attempt, do it now */
        if ((c->state == AGENT_CONN_CONNECTING || c->state == AGENT_CONN_OPEN ||
             c->state == AGENT_CONN_SESSION) && c->wsi == wsi)
            agent_conn_ended(w, slot, c->state == AGENT_CONN_CONNECTING ? PS_REASON_HANDSHAKE
                                                                        : PS_REASON_RESET, 0);
        return 0;

    default:
        return 0;
    }
}

/* Clean, client-initiated close with a Close frame carrying code. */
void agent_conn_close(struct agent_worker *w, uint32_t slot, uint8_t reason, uint16_t code)
{
    struct agent_conn *c = &w->conns[slot];
    if (c->state == AGENT_CONN_CONNECTING) {
        agent_conn_kill(w, slot, reason);
        return;
    }
    if ((c->state != AGENT_CONN_OPEN && c->state != AGENT_CONN_SESSION) ||
        !agent_conn_live(w, slot) || c->reason)
        return;   /* a close is already under way */
    c->reason = reason;
    c->close_code = code;
    c->flags |= AGENT_CF_WANT_CLOSE;
    if (w->dl.conn)
        agent_dialect_closing(w, slot, reason);   /* its goodbye first, when ours is clean */
    agent_conn_want_write(w, slot);
}

/* Abandon without a Close frame (handshakes in flight, a stop past its grace). */
void agent_conn_kill(struct agent_worker *w, uint32_t slot, uint8_t reason)
{
    struct agent_conn *c = &w->conns[slot];
    if ((c->state != AGENT_CONN_CONNECTING && c->state != AGENT_CONN_OPEN &&
         c->state != AGENT_CONN_SESSION) || !agent_conn_live(w, slot))
        return;
    if (!c->reason)
        c->reason = reason;
    if (c->wsi)
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    else
        agent_wsc_kill(w, slot, reason);
}

/* Pings, heartbeats and closes leave a connection alone once a close is under
 * way (c->reason set): lws may already have released its poll handle, and
 * asking it for a writeable callback then crashes inside libuv. */
void agent_conn_ping(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    if (c->state != AGENT_CONN_OPEN || !agent_conn_live(w, slot) || c->reason)
        return;
    c->flags |= AGENT_CF_WANT_PING;
    agent_conn_want_write(w, slot);
}

void agent_conn_heartbeat(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    if (c->state != AGENT_CONN_OPEN || !agent_conn_live(w, slot) || c->reason ||
        (w->dl.conn && agent_dialect_of(w, slot)))
        return;   /* a client protocol has its own keepalive (keepalive.c) */
    c->flags |= AGENT_CF_WANT_HB;
    agent_conn_want_write(w, slot);
}
