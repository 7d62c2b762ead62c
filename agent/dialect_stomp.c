/* dialect_stomp.c: STOMP 1.2 over WebSocket (subprotocol v12.stomp), the
 * `protocol: stomp` of a target.
 *
 * The session: CONNECT (accept-version 1.2, host = protocol_options.vhost or
 * the URL's host, login/passcode templates, heart-beat cx,cy from keepalive
 * and server_heartbeat); CONNECTED checked (an ERROR instead is
 * proto_refused); one SUBSCRIBE per `subscribe` destination template (ids
 * 0..n-1, the ack mode of the plan), the last one asking for a RECEIPT: the
 * broker has every subscription in place when it comes, and only then is the
 * connection ready (counted online), so a push sent to an online connection
 * cannot beat its subscription. MESSAGE bodies go to the token scan
 * (agent_dialect_payload) in the pieces the reader hands on; in client and
 * client-individual modes the MESSAGE's ack header waits in a small store
 * (stomp_acks.c) and goes back as ACK frames, as many as fit in one WebSocket
 * message, at the next writeable callback.
 *
 * Heart-beats, negotiated per 1.2 (each way the larger wish, 0 if either side
 * says none): keepalive() sends our EOL when the framework's keepalive sweep
 * calls it (every proto_keepalive_ms, which is no longer than the agreed cx)
 * and nothing else went out since; watch() fails the connection
 * proto_keepalive when nothing at all came from the broker for twice the
 * agreed server interval (1.2 counts any byte as a beat; twice: the broker's
 * timer and ours drift, and the sweep itself has a period).
 *
 * Failures: a frame the reader refuses, a RECEIPT or MESSAGE nothing asked
 * for, an ack id too long to keep, are proto_error with the stomp_err code as
 * aux; an ERROR after CONNECTED is proto_close, its message header on stderr. */
#include "agent.h"
#include "dialect.h"
#include "stomp_wire.h"

#include <stdio.h>
#include <string.h>

#define STOMP_BODY_DEFAULT (1u << 20)    /* body limit when max_message is 0 */
#define STOMP_RECEIPT_SUB  "ps-sub"      /* the last SUBSCRIBE's receipt */
#define STOMP_RECEIPT_BYE  "ps-bye"      /* DISCONNECT's */

enum {
    STOMP_PH_CONNECT,        /* CONNECT not written yet */
    STOMP_PH_CONNECTED,      /* waiting for CONNECTED */
    STOMP_PH_SUBSCRIBE,      /* writing SUBSCRIBEs (next_sub is the next) */
    STOMP_PH_RECEIPT,        /* all written, waiting for the receipt */
    STOMP_PH_READY,
    STOMP_PH_BYE,            /* DISCONNECT written */
};

/* Per connection, in the framework's state slot (zeroed before each attempt). */
struct stomp_conn {
    struct stomp_rd rd;
    uint32_t send_ms, expect_ms;   /* agreed heart-beats; 0 = none */
    uint32_t last_rx_ms;           /* mono ms (wraps) of the broker's last byte */
    struct stomp_acks acks;
    uint8_t phase;
    uint8_t next_sub;
    uint8_t msg_sub;               /* this MESSAGE's subscription, 0xff until its header */
    uint8_t msg_acked;             /* this MESSAGE's ack id is kept */
    uint8_t wrote;                 /* something went out since the last keepalive */
    uint8_t beat;                  /* a heart-beat is due */
};
_Static_assert(sizeof(struct stomp_conn) <= AGENT_DIALECT_STATE_MAX, "stomp state over budget");

static const char *const stomp_ack_modes[] = {"auto", "client", "client-individual"};

/* A template holding a byte STOMP cannot carry in a header is a plan error now,
 * not 10,000 failed connections later. */
static int stomp_check_tpl(const char *what, const char *tpl, char *err, size_t errlen)
{
    if (strpbrk(tpl, "\r\n")) {
        snprintf(err, errlen, "stomp: protocol_options.%s holds a CR or LF", what);
        return -1;
    }
    return 0;
}

static int stomp_prepare(const struct ps_assign *a, char *err, size_t errlen)
{
    if (a->proto_ack_mode > 2) {
        snprintf(err, errlen, "stomp: ack mode %u unknown", (unsigned)a->proto_ack_mode);
        return -1;
    }
    if (a->n_proto_subscribe > 0xfe) {
        snprintf(err, errlen, "stomp: too many subscribe destinations");
        return -1;
    }
    if (stomp_check_tpl("user", a->proto_user, err, errlen) ||
        stomp_check_tpl("password", a->proto_password, err, errlen) ||
        stomp_check_tpl("vhost", a->proto_vhost, err, errlen))
        return -1;
    for (uint32_t i = 0; i < a->n_proto_subscribe; i++) {
        if (!a->proto_subscribe[i][0]) {
            snprintf(err, errlen, "stomp: protocol_options.subscribe[%u] is empty", i);
            return -1;
        }
    }
    return 0;
}

static void stomp_open(void *st, struct agent_dialect_io *io)
{
    struct stomp_conn *s = st;
    const struct ps_assign *a = agent_dialect_assign(io);
    stomp_rd_init(&s->rd, a->max_message ? a->max_message : STOMP_BODY_DEFAULT);
    s->phase = STOMP_PH_CONNECT;
    s->msg_sub = 0xff;
    s->last_rx_ms = agent_dialect_now_ms(io);
    agent_dialect_want_write(io);
}

static void stomp_fail(struct agent_dialect_io *io, int err)
{
    agent_dialect_fail(io, PS_REASON_PROTO_ERROR, (uint32_t)err);
}

/* A header of the frame being read; 0 to go on, -1 when the connection failed. */
static int stomp_header(struct stomp_conn *s, struct agent_dialect_io *io, const struct stomp_ev *ev)
{
    const struct ps_assign *a = agent_dialect_assign(io);
    switch (ev->cmd) {
    case STOMP_CMD_CONNECTED:
        if (ev->hdr == STOMP_HDR_VERSION && strcmp(ev->data, "1.2") != 0) {
            stomp_fail(io, STOMP_ERR_VERSION);
            return -1;
        }
        if (ev->hdr == STOMP_HDR_HEART_BEAT) {
            uint32_t sx, sy;
            if (stomp_parse_heart_beat(ev->data, &sx, &sy) < 0) {
                stomp_fail(io, STOMP_ERR_HEART_BEAT);
                return -1;
            }
            stomp_hb_negotiate(a->proto_keepalive_ms, a->proto_server_hb_ms, sx, sy,
                               &s->send_ms, &s->expect_ms);
        }
        return 0;
    case STOMP_CMD_MESSAGE:
        if (ev->hdr == STOMP_HDR_SUBSCRIPTION) {
            unsigned long id = 0;
            char *end;
            if (ev->len)
                id = strtoul(ev->data, &end, 10);
            if (!ev->len || *end || id >= a->n_proto_subscribe) {
                stomp_fail(io, STOMP_ERR_SUBSCRIPTION);
                return -1;
            }
            s->msg_sub = (uint8_t)id;
        } else if (ev->hdr == STOMP_HDR_ACK && a->proto_ack_mode) {
            if (ev->trunc || ev->len > STOMP_ACK_ID_MAX) {
                stomp_fail(io, STOMP_ERR_ACK_ID);
                return -1;
            }
            /* cumulative only when the subscription is known already */
            int cumulative = a->proto_ack_mode == 1 && s->msg_sub != 0xff;
            if (stomp_acks_push(&s->acks, s->msg_sub, ev->data, ev->len, cumulative) < 0) {
                stomp_fail(io, STOMP_ERR_ACK_FULL);
                return -1;
            }
            s->msg_acked = 1;
            agent_dialect_want_write(io);
        }
        return 0;
    case STOMP_CMD_ERROR:
        if (ev->hdr == STOMP_HDR_MESSAGE)
            fprintf(stderr, "pushstorm-agent: conn %u: STOMP ERROR: %s\n",
                    agent_dialect_conn_id(io), ev->data);
        return 0;
    case STOMP_CMD_RECEIPT:
        if (ev->hdr == STOMP_HDR_RECEIPT_ID &&
            !(s->phase == STOMP_PH_RECEIPT && strcmp(ev->data, STOMP_RECEIPT_SUB) == 0) &&
            !(s->phase == STOMP_PH_BYE && strcmp(ev->data, STOMP_RECEIPT_BYE) == 0)) {
            stomp_fail(io, STOMP_ERR_RECEIPT);
            return -1;
        }
        return 0;
    }
    return 0;
}

/* A frame ended; 0 to go on, -1 when the connection failed or is done. */
static int stomp_frame(struct stomp_conn *s, struct agent_dialect_io *io, uint8_t cmd)
{
    const struct ps_assign *a = agent_dialect_assign(io);
    switch (cmd) {
    case STOMP_CMD_CONNECTED:
        if (s->phase != STOMP_PH_CONNECTED)
            break;
        s->phase = STOMP_PH_SUBSCRIBE;
        if (s->expect_ms)
            agent_dialect_watch_ms(io, s->expect_ms / 2 ? s->expect_ms / 2 : 1);
        if (!a->n_proto_subscribe) {
            s->phase = STOMP_PH_READY;
            agent_dialect_ready(io);
        } else {
            agent_dialect_want_write(io);
        }
        return 0;
    case STOMP_CMD_RECEIPT:
        if (s->phase == STOMP_PH_RECEIPT) {
            s->phase = STOMP_PH_READY;
            agent_dialect_ready(io);
            return 0;
        }
        if (s->phase == STOMP_PH_BYE)
            return 0;
        stomp_fail(io, STOMP_ERR_RECEIPT);   /* one with no receipt-id */
        return -1;
    case STOMP_CMD_MESSAGE:
        if (s->phase < STOMP_PH_SUBSCRIBE)
            break;
        if (s->msg_sub == 0xff) {
            stomp_fail(io, STOMP_ERR_SUBSCRIPTION);
            return -1;
        }
        if (a->proto_ack_mode && !s->msg_acked) {
            stomp_fail(io, STOMP_ERR_ACK_ID);
            return -1;
        }
        s->msg_sub = 0xff;
        s->msg_acked = 0;
        return 0;
    case STOMP_CMD_ERROR:
        agent_dialect_fail(io, s->phase <= STOMP_PH_CONNECTED ? PS_REASON_PROTO_REFUSED
                                                              : PS_REASON_PROTO_CLOSE, 0);
        return -1;
    }
    stomp_fail(io, STOMP_ERR_ORDER);
    return -1;
}

static void stomp_rx(void *st, struct agent_dialect_io *io, const struct agent_conn_piece *p)
{
    struct stomp_conn *s = st;
    const char *in = (const char *)p->in;
    size_t len = p->len;
    struct stomp_ev ev;
    s->last_rx_ms = agent_dialect_now_ms(io);
    for (;;) {
        size_t n = stomp_rd_feed(&s->rd, in, len, &ev);
        in += n;
        len -= n;
        switch (ev.type) {
        case STOMP_EV_MORE:
            return;
        case STOMP_EV_ERROR:
            stomp_fail(io, ev.err);
            return;
        case STOMP_EV_HEARTBEAT:
            agent_dialect_count(io, AGENT_DC_SERVER_PING);
            break;
        case STOMP_EV_HEADER:
            if (stomp_header(s, io, &ev) < 0)
                return;
            break;
        case STOMP_EV_BODY:
            if (ev.cmd == STOMP_CMD_MESSAGE)
                agent_dialect_payload(io, ev.data, ev.len, ev.first, ev.final);
            break;
        case STOMP_EV_FRAME:
            if (stomp_frame(s, io, ev.cmd) < 0)
                return;
            break;
        }
    }
}

/* The CONNECT frame, its templates expanded for this connection. */
static int stomp_write_connect(struct stomp_conn *s, struct agent_dialect_io *io, char *out,
                               size_t cap)
{
    const struct ps_assign *a = agent_dialect_assign(io);
    char host[PS_HDR_MAX * 2], login[PS_HDR_MAX * 2], pass[PS_HDR_MAX * 2];
    if ((a->proto_vhost[0] ? agent_dialect_expand(io, a->proto_vhost, host, sizeof host)
                           : snprintf(host, sizeof host, "%s", agent_dialect_host(io))) < 0 ||
        agent_dialect_expand(io, a->proto_user, login, sizeof login) < 0 ||
        agent_dialect_expand(io, a->proto_password, pass, sizeof pass) < 0)
        return -1;
    s->phase = STOMP_PH_CONNECTED;
    return stomp_enc_connect(out, cap, host, login, pass, a->proto_keepalive_ms,
                             a->proto_server_hb_ms);
}

static int stomp_write_subscribe(struct stomp_conn *s, struct agent_dialect_io *io, char *out,
                                 size_t cap)
{
    const struct ps_assign *a = agent_dialect_assign(io);
    char dest[PS_HDR_MAX * 2];
    unsigned id = s->next_sub++;
    int last = s->next_sub == a->n_proto_subscribe;
    if (agent_dialect_expand(io, a->proto_subscribe[id], dest, sizeof dest) < 0)
        return -1;
    if (last)
        s->phase = STOMP_PH_RECEIPT;
    return stomp_enc_subscribe(out, cap, id, dest,
                               a->proto_ack_mode ? stomp_ack_modes[a->proto_ack_mode] : NULL,
                               last ? STOMP_RECEIPT_SUB : NULL);
}

/* As many waiting ACKs as fit in out[0..cap), counted. */
static int stomp_write_acks(struct stomp_conn *s, struct agent_dialect_io *io, char *out, size_t cap)
{
    uint8_t before = s->acks.n;
    int n = stomp_acks_write(&s->acks, out, cap);
    for (uint8_t k = s->acks.n; k < before; k++)
        agent_dialect_count(io, AGENT_DC_PROTO_ACK);
    return n;
}

static int stomp_write(void *st, struct agent_dialect_io *io, unsigned char *out, size_t cap,
                       int *binary)
{
    struct stomp_conn *s = st;
    char *o = (char *)out;
    int n = 0;
    *binary = 0;
    if (s->phase == STOMP_PH_CONNECT)
        n = stomp_write_connect(s, io, o, cap);
    else if (s->phase == STOMP_PH_SUBSCRIBE)
        n = stomp_write_subscribe(s, io, o, cap);
    else if (s->acks.n) {
        n = stomp_write_acks(s, io, o, cap);
        if (!n)
            n = -1;                  /* an ACK that fits no message: cap is below 200 bytes */
    } else if (s->beat && s->send_ms && cap) {
        o[0] = '\n';
        n = 1;
    } else {
        return 0;
    }
    if (n < 0) {
        stomp_fail(io, STOMP_ERR_ENCODE);
        return -1;
    }
    s->beat = 0;
    s->wrote = 1;
    if (s->phase == STOMP_PH_SUBSCRIBE || s->acks.n)
        agent_dialect_want_write(io);
    return n;
}

/* Any frame we wrote since the last call was a beat already (1.2). */
static void stomp_keepalive(void *st, struct agent_dialect_io *io)
{
    struct stomp_conn *s = st;
    if (!s->send_ms || s->phase != STOMP_PH_READY)
        return;
    if (s->wrote) {
        s->wrote = 0;
        return;
    }
    s->beat = 1;
    agent_dialect_want_write(io);
}

static void stomp_watch(void *st, struct agent_dialect_io *io, int64_t now_us)
{
    struct stomp_conn *s = st;
    if (!s->expect_ms || s->phase < STOMP_PH_SUBSCRIBE)
        return;
    uint32_t silent = (uint32_t)(now_us / 1000) - s->last_rx_ms;
    if (silent > 2 * s->expect_ms)
        agent_dialect_fail(io, PS_REASON_PROTO_KEEPALIVE, silent);
}

static int stomp_goodbye(void *st, struct agent_dialect_io *io, unsigned char *out, size_t cap,
                         int *binary)
{
    struct stomp_conn *s = st;
    if (s->phase < STOMP_PH_SUBSCRIBE)
        return 0;                    /* no session to end */
    s->phase = STOMP_PH_BYE;
    *binary = 0;
    /* acks still waiting go first, in the same message: a broker that got the
     * MESSAGE counts it delivered only once acked */
    int n = stomp_write_acks(s, io, (char *)out, cap);
    int d = stomp_enc_disconnect((char *)out + n, cap - (size_t)n, STOMP_RECEIPT_BYE);
    return d < 0 ? n : n + d;
}

/* A session send step is a whole frame but its NUL, which a plan's text cannot hold. */
static int stomp_frame_send(void *st, struct agent_dialect_io *io, const char *text, size_t len,
                            unsigned char *out, size_t cap, int *binary)
{
    (void)st;
    (void)io;
    if (len + 1 > cap || memchr(text, '\0', len))
        return -1;
    memcpy(out, text, len);
    out[len] = '\0';
    *binary = 0;
    return (int)len + 1;
}

const struct agent_dialect agent_dialect_stomp = {
    .name = "stomp",
    .subprotocol = "v12.stomp",
    .state_bytes = sizeof(struct stomp_conn),
    .prepare = stomp_prepare,
    .open = stomp_open,
    .rx = stomp_rx,
    .write = stomp_write,
    .keepalive = stomp_keepalive,
    .watch = stomp_watch,
    .goodbye = stomp_goodbye,
    .frame_send = stomp_frame_send,
};
