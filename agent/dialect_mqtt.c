/* dialect_mqtt.c: the agent as an MQTT 3.1.1 / 5.0 subscriber over WebSocket
 * (plan `protocol: mqtt`; subprotocol "mqtt", binary frames).
 *
 * A connection's life: once the upgrade is done, CONNECT (client id, user and
 * password expanded from their templates for this connection), CONNACK
 * checked (a refusal is proto_refused with its code), one SUBSCRIBE with
 * every protocol_options.subscribe template expanded (per-connection topics
 * such as users/{conn}, shared ones such as all), each SUBACK code checked
 * (0x80 and up: proto_refused with it), then the connection is ready. Every
 * PUBLISH's payload goes to the framework in the pieces it arrived in, where
 * the token scan finds the push; QoS 1 owes a PUBACK, queued in a small ring
 * and written, with any other PUBACKs due, in one frame at the next writeable.
 * The DUP flag is counted; the keepalive is PINGREQ, its PINGRESP the RTT; a
 * DISCONNECT from the server is proto_close with its reason (5.0); our clean
 * close says DISCONNECT first.
 *
 * The bytes are read by mqtt_wire.c's streaming reader, whose state is part
 * of this connection's (struct agent_mqtt, AGENT_MQTT_STATE_BYTES); nothing
 * is allocated per connection or per message. A failure names where it came
 * from in its aux: reader errors as (packet type << 8 | enum mqtt_err), this
 * file's own checks as (packet type << 8 | enum agent_mqtt_err); both are
 * listed in docs/protocols.md. */
#include "agent.h"
#include "dialect.h"
#include "mqtt_wire.h"

#include <stdio.h>
#include <string.h>

/* PUBACKs owed at once. A broker leaves at most its window of QoS 1 messages
 * unacknowledged per client (mosquitto's and VerneMQ's max_inflight_messages
 * default 20, EMQX's 32), and the agent acks each at its next writeable, so
 * the ring holds a window of the common defaults; more owed than that fails
 * the connection (AGENT_MQTT_E_ACKS) rather than drop an ack. */
#define AGENT_MQTT_ACKS 32
#define AGENT_MQTT_SUB_ID 1          /* the one SUBSCRIBE's packet id */

/* This file's own checks, aux's low byte (above enum mqtt_err's values). */
enum agent_mqtt_err {
    AGENT_MQTT_E_TEXT = 0x40,        /* a text frame: MQTT over WebSocket is binary only */
    AGENT_MQTT_E_ORDER,              /* a packet out of turn (PUBLISH before CONNACK, a second CONNACK) */
    AGENT_MQTT_E_SUBACK,             /* SUBACK for another packet id, or codes not one per filter */
    AGENT_MQTT_E_QOS2,               /* a PUBLISH above the QoS we subscribed with */
    AGENT_MQTT_E_PINGRESP,           /* PINGRESP without a PINGREQ */
    AGENT_MQTT_E_ACKS,               /* more than AGENT_MQTT_ACKS PUBACKs owed */
    AGENT_MQTT_E_FIT,                /* our CONNECT / SUBSCRIBE does not fit (templates too long) */
};

enum agent_mqtt_phase {
    AGENT_MQTT_CONNECT = 0,          /* CONNECT to write */
    AGENT_MQTT_CONNACK,              /* awaiting it */
    AGENT_MQTT_SUBSCRIBE,            /* SUBSCRIBE to write */
    AGENT_MQTT_SUBACK,
    AGENT_MQTT_READY,
    AGENT_MQTT_FAILED                /* agent_dialect_fail was called: ignore the rest */
};

#define AGENT_MQTT_PING_DUE 1        /* keepalive(): a PINGREQ to write */
#define AGENT_MQTT_PING_OUT 2        /* written, its PINGRESP awaited */
#define AGENT_MQTT_PUB_ACK  4        /* the PUBLISH being read is QoS 1: ack it at its end */

struct agent_mqtt {
    struct mqtt_rd rd;               /* 16 bytes */
    uint16_t acks[AGENT_MQTT_ACKS];  /* packet ids owed a PUBACK, a ring */
    uint16_t pub_id;                 /* the QoS 1 PUBLISH being read */
    uint8_t ack_head, ack_n;
    uint8_t phase, flags;
};
#define AGENT_MQTT_STATE_BYTES ((uint32_t)sizeof(struct agent_mqtt))   /* 88 */
_Static_assert(sizeof(struct agent_mqtt) <= AGENT_DIALECT_STATE_MAX, "mqtt state over the budget");

/* The callbacks' context: the reader calls back with one pointer. */
struct agent_mqtt_rx {
    struct agent_mqtt *m;
    struct agent_dialect_io *io;
};

static uint8_t agent_mqtt_version(const struct ps_assign *a)
{
    return a->proto_version == MQTT_V5 ? MQTT_V5 : MQTT_V311;
}

static int agent_mqtt_fail(struct agent_mqtt *m, struct agent_dialect_io *io, uint8_t reason,
                           uint32_t aux)
{
    m->phase = AGENT_MQTT_FAILED;
    agent_dialect_fail(io, reason, aux);
    return 1;                        /* stops the reader */
}

static int agent_mqtt_error(struct agent_mqtt *m, struct agent_dialect_io *io, uint8_t err)
{
    return agent_mqtt_fail(m, io, PS_REASON_PROTO_ERROR, (uint32_t)mqtt_rd_type(&m->rd) << 8 | err);
}

static int agent_mqtt_prepare(const struct ps_assign *a, char *err, size_t errlen)
{
    if (a->proto_version && a->proto_version != MQTT_V311 && a->proto_version != MQTT_V5) {
        snprintf(err, errlen, "mqtt: protocol_options.mqtt_version %u: 4 (3.1.1) or 5 (5.0)",
                 (unsigned)a->proto_version);
        return -1;
    }
    if (a->proto_qos > 1) {
        snprintf(err, errlen, "mqtt: protocol_options.qos %u: 0 or 1", (unsigned)a->proto_qos);
        return -1;
    }
    if (a->proto_password[0] && !a->proto_user[0] && agent_mqtt_version(a) == MQTT_V311) {
        snprintf(err, errlen, "mqtt: protocol_options.password without a user (MQTT 3.1.1 "
                 "sends a password only with a user name)");
        return -1;
    }
    if (a->proto_keepalive_ms > 65535u * 1000u) {
        snprintf(err, errlen, "mqtt: protocol_options.keepalive %ums: MQTT's is at most 65535s",
                 (unsigned)a->proto_keepalive_ms);
        return -1;
    }
    for (uint32_t i = 0; i < a->n_proto_subscribe; i++)
        if (!a->proto_subscribe[i][0]) {
            snprintf(err, errlen, "mqtt: protocol_options.subscribe[%u] is empty", (unsigned)i);
            return -1;
        }
    return 0;
}

static void agent_mqtt_open(void *st, struct agent_dialect_io *io)
{
    struct agent_mqtt *m = st;
    mqtt_rd_init(&m->rd, agent_mqtt_version(agent_dialect_assign(io)));
    m->phase = AGENT_MQTT_CONNECT;
    agent_dialect_want_write(io);
}

/* ---- what the reader found */

static int agent_mqtt_on_connack(void *ctx, uint8_t session_present, uint8_t code)
{
    struct agent_mqtt_rx *x = ctx;
    (void)session_present;
    if (x->m->phase != AGENT_MQTT_CONNACK)
        return agent_mqtt_error(x->m, x->io, AGENT_MQTT_E_ORDER);
    if (code)
        return agent_mqtt_fail(x->m, x->io, PS_REASON_PROTO_REFUSED, code);
    if (!agent_dialect_assign(x->io)->n_proto_subscribe) {
        x->m->phase = AGENT_MQTT_READY;
        agent_dialect_ready(x->io);
        return 0;
    }
    x->m->phase = AGENT_MQTT_SUBSCRIBE;
    agent_dialect_want_write(x->io);
    return 0;
}

static int agent_mqtt_on_suback(void *ctx, uint16_t packet_id, uint32_t index, uint8_t code, int last)
{
    struct agent_mqtt_rx *x = ctx;
    uint32_t n = agent_dialect_assign(x->io)->n_proto_subscribe;
    if (x->m->phase != AGENT_MQTT_SUBACK)
        return agent_mqtt_error(x->m, x->io, AGENT_MQTT_E_ORDER);
    if (packet_id != AGENT_MQTT_SUB_ID || index >= n || (last && index + 1 != n))
        return agent_mqtt_error(x->m, x->io, AGENT_MQTT_E_SUBACK);
    if (code >= 0x80)
        return agent_mqtt_fail(x->m, x->io, PS_REASON_PROTO_REFUSED, code);
    if (last) {
        x->m->phase = AGENT_MQTT_READY;
        agent_dialect_ready(x->io);
    }
    return 0;
}

static int agent_mqtt_on_publish(void *ctx, uint8_t flags, uint16_t packet_id, uint32_t len)
{
    struct agent_mqtt_rx *x = ctx;
    struct agent_mqtt *m = x->m;
    (void)len;
    /* a broker may send retained messages before the SUBACK, never before the CONNACK */
    if (m->phase < AGENT_MQTT_SUBSCRIBE)
        return agent_mqtt_error(m, x->io, AGENT_MQTT_E_ORDER);
    if (MQTT_PUB_QOS(flags) > 1)
        return agent_mqtt_error(m, x->io, AGENT_MQTT_E_QOS2);
    if (flags & MQTT_PUB_DUP)
        agent_dialect_count(x->io, AGENT_DC_DUPLICATE);
    m->flags &= (uint8_t)~AGENT_MQTT_PUB_ACK;
    if (MQTT_PUB_QOS(flags)) {
        m->flags |= AGENT_MQTT_PUB_ACK;
        m->pub_id = packet_id;
    }
    return 0;
}

static int agent_mqtt_on_payload(void *ctx, const unsigned char *p, size_t len, int first, int final)
{
    struct agent_mqtt_rx *x = ctx;
    struct agent_mqtt *m = x->m;
    agent_dialect_payload(x->io, p, len, first, final);
    if (!final || !(m->flags & AGENT_MQTT_PUB_ACK))
        return 0;
    /* acked once the whole message is in: a broker that resends an unacked
     * message (DUP) sends it whole again */
    if (m->ack_n == AGENT_MQTT_ACKS)
        return agent_mqtt_error(m, x->io, AGENT_MQTT_E_ACKS);
    m->acks[(m->ack_head + m->ack_n++) % AGENT_MQTT_ACKS] = m->pub_id;
    agent_dialect_want_write(x->io);
    return 0;
}

static int agent_mqtt_on_pingresp(void *ctx)
{
    struct agent_mqtt_rx *x = ctx;
    if (!(x->m->flags & AGENT_MQTT_PING_OUT))
        return agent_mqtt_error(x->m, x->io, AGENT_MQTT_E_PINGRESP);
    x->m->flags &= (uint8_t)~AGENT_MQTT_PING_OUT;
    agent_dialect_keepalive_answered(x->io);
    return 0;
}

static int agent_mqtt_on_disconnect(void *ctx, uint8_t reason)
{
    struct agent_mqtt_rx *x = ctx;
    return agent_mqtt_fail(x->m, x->io, PS_REASON_PROTO_CLOSE, reason);
}

static const struct mqtt_rd_ops agent_mqtt_rd_ops = {
    .connack = agent_mqtt_on_connack,
    .suback = agent_mqtt_on_suback,
    .publish = agent_mqtt_on_publish,
    .payload = agent_mqtt_on_payload,
    .pingresp = agent_mqtt_on_pingresp,
    .disconnect = agent_mqtt_on_disconnect,
};

static void agent_mqtt_rx(void *st, struct agent_dialect_io *io, const struct agent_conn_piece *p)
{
    struct agent_mqtt *m = st;
    if (m->phase == AGENT_MQTT_FAILED)
        return;
    if (!p->binary) {
        agent_mqtt_fail(m, io, PS_REASON_PROTO_ERROR, AGENT_MQTT_E_TEXT);
        return;
    }
    struct agent_mqtt_rx x = {m, io};
    int err = mqtt_rd_feed(&m->rd, p->in, p->len, agent_dialect_assign(io)->max_message,
                           &agent_mqtt_rd_ops, &x);
    if (err == MQTT_E_TOO_BIG)
        agent_mqtt_fail(m, io, PS_REASON_TOO_BIG, (uint32_t)mqtt_rd_type(&m->rd) << 8 | err);
    else if (err && err != MQTT_E_STOPPED)
        agent_mqtt_error(m, io, (uint8_t)err);
}

/* ---- what we write */

static int agent_mqtt_connect(struct agent_dialect_io *io, unsigned char *out, size_t cap)
{
    const struct ps_assign *a = agent_dialect_assign(io);
    char id[PS_HDR_MAX], user[PS_HDR_MAX], pass[PS_HDR_MAX];
    if (agent_dialect_expand(io, a->proto_client_id[0] ? a->proto_client_id : "ps-{agent}-{conn}",
                             id, sizeof id) < 0 ||
        agent_dialect_expand(io, a->proto_user, user, sizeof user) < 0 ||
        agent_dialect_expand(io, a->proto_password, pass, sizeof pass) < 0)
        return -1;
    uint32_t ka = (a->proto_keepalive_ms + 999) / 1000;     /* prepare() kept it <= 65535 s */
    struct mqtt_connect c = {agent_mqtt_version(a), (uint8_t)(a->proto_clean != 0), (uint16_t)ka,
                             id, user, pass};
    return mqtt_put_connect(out, cap, &c);
}

static int agent_mqtt_subscribe(struct agent_dialect_io *io, unsigned char *out, size_t cap)
{
    const struct ps_assign *a = agent_dialect_assign(io);
    char topics[sizeof a->proto_subscribe / sizeof a->proto_subscribe[0]][PS_HDR_MAX];
    const char *f[sizeof topics / sizeof topics[0]];
    for (uint32_t i = 0; i < a->n_proto_subscribe; i++) {
        if (agent_dialect_expand(io, a->proto_subscribe[i], topics[i], sizeof topics[i]) < 0)
            return -1;
        f[i] = topics[i];
    }
    return mqtt_put_subscribe(out, cap, agent_mqtt_version(a), AGENT_MQTT_SUB_ID, f,
                              a->n_proto_subscribe, (uint8_t)a->proto_qos);
}

/* Every PUBACK owed and a PINGREQ if one is due, in one frame (a WebSocket
 * message may hold several MQTT packets). */
static int agent_mqtt_acks(struct agent_mqtt *m, struct agent_dialect_io *io, unsigned char *out,
                           size_t cap)
{
    size_t n = 0;
    while (m->ack_n && cap - n >= 4) {
        n += (size_t)mqtt_put_puback(out + n, cap - n, m->acks[m->ack_head]);
        m->ack_head = (uint8_t)((m->ack_head + 1) % AGENT_MQTT_ACKS);
        m->ack_n--;
        agent_dialect_count(io, AGENT_DC_PROTO_ACK);
    }
    if ((m->flags & AGENT_MQTT_PING_DUE) && cap - n >= 2) {
        n += (size_t)mqtt_put_pingreq(out + n, cap - n);
        m->flags = (uint8_t)((m->flags & ~AGENT_MQTT_PING_DUE) | AGENT_MQTT_PING_OUT);
        agent_dialect_keepalive_sent(io);
    }
    if (m->ack_n || (m->flags & AGENT_MQTT_PING_DUE))
        agent_dialect_want_write(io);          /* the rest next time */
    return (int)n;
}

static int agent_mqtt_write(void *st, struct agent_dialect_io *io, unsigned char *out, size_t cap,
                            int *binary)
{
    struct agent_mqtt *m = st;
    int n = 0;
    *binary = 1;
    switch (m->phase) {
    case AGENT_MQTT_CONNECT:
        n = agent_mqtt_connect(io, out, cap);
        m->phase = AGENT_MQTT_CONNACK;
        break;
    case AGENT_MQTT_SUBSCRIBE:
        n = agent_mqtt_subscribe(io, out, cap);
        m->phase = AGENT_MQTT_SUBACK;
        break;
    case AGENT_MQTT_FAILED:
        return 0;
    default:
        return agent_mqtt_acks(m, io, out, cap);
    }
    if (n < 0) {
        agent_mqtt_fail(m, io, PS_REASON_PROTO_ERROR,
                        (uint32_t)(m->phase == AGENT_MQTT_CONNACK ? MQTT_CONNECT : MQTT_SUBSCRIBE) << 8 |
                        AGENT_MQTT_E_FIT);
        return -1;
    }
    return n;
}

static void agent_mqtt_keepalive(void *st, struct agent_dialect_io *io)
{
    struct agent_mqtt *m = st;
    if (m->phase != AGENT_MQTT_READY || (m->flags & AGENT_MQTT_PING_OUT))
        return;                     /* the one outstanding is the framework's to time out */
    m->flags |= AGENT_MQTT_PING_DUE;
    agent_dialect_want_write(io);
}

static int agent_mqtt_goodbye(void *st, struct agent_dialect_io *io, unsigned char *out, size_t cap,
                              int *binary)
{
    struct agent_mqtt *m = st;
    (void)io;
    if (m->phase == AGENT_MQTT_CONNECT || m->phase == AGENT_MQTT_FAILED)
        return 0;                   /* no session to end */
    *binary = 1;
    return mqtt_put_disconnect(out, cap) < 0 ? 0 : 2;
}

/* A session send step: MQTT has no text of its own to carry one (a PUBLISH
 * would need a topic the step does not name), so such a plan fails its
 * session (session_mismatch) at that step rather than put text on the wire
 * that the broker would take for a malformed packet. */
static int agent_mqtt_frame_send(void *st, struct agent_dialect_io *io, const char *text, size_t len,
                                 unsigned char *out, size_t cap, int *binary)
{
    (void)st, (void)io, (void)text, (void)len, (void)out, (void)cap, (void)binary;
    return -1;
}

const struct agent_dialect agent_dialect_mqtt = {
    .name = "mqtt",
    .subprotocol = "mqtt",
    .state_bytes = AGENT_MQTT_STATE_BYTES,
    .prepare = agent_mqtt_prepare,
    .open = agent_mqtt_open,
    .rx = agent_mqtt_rx,
    .write = agent_mqtt_write,
    .keepalive = agent_mqtt_keepalive,
    .watch = NULL,                  /* PINGRESP's timeout is the framework's */
    .goodbye = agent_mqtt_goodbye,
    .frame_send = agent_mqtt_frame_send,
};
