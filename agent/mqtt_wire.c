/* mqtt_wire.c: the MQTT packets of a subscribing client, written and read
 * without I/O (OASIS MQTT 3.1.1 and 5.0).
 *
 * Writing is one function per packet the agent sends: CONNECT, SUBSCRIBE,
 * PUBACK, PINGREQ, DISCONNECT, each into a caller's buffer. In 5.0 every
 * property list is empty, so the packets differ from 3.1.1 only by a zero
 * property length (and PUBACK/DISCONNECT not at all: their reason code 0 may
 * be left out).
 *
 * Reading is a byte-driven state machine, because MQTT over WebSocket puts
 * packets in frames any way it likes: one packet across several frames,
 * several in one, a length field split between two. The reader keeps only
 * the step it is at and the field it is gathering (struct mqtt_rd, 16 bytes
 * per connection) and hands what it finds to callbacks: CONNACK and SUBACK
 * codes, a PUBLISH's flags and packet id and then its payload in the pieces
 * it arrived in (nothing is copied, so a payload of any size costs nothing),
 * PINGRESP, DISCONNECT. Topics and 5.0 properties are skipped unread: the
 * agent subscribed, it knows what it asked for, and the push token it looks
 * for is in the payload.
 *
 * Whatever a server must not send a client, or cannot be a packet, is an
 * error named by its own code and is sticky: the dialect closes with it. The
 * invariant that keeps the checks simple: inside a packet's body, `left` > 0
 * until its last field is done, so a field that needs bytes when `left` is 0
 * is a truncated packet, whatever the field. */
#include "mqtt_wire.h"

#include <string.h>

#define MQTT_LEN_MAX 268435455u     /* four 7-bit groups */

enum mqtt_step {
    S_HDR = 0,          /* the fixed header's first byte */
    S_LEN,              /* its remaining length */
    S_CONNACK_FLAGS,
    S_CONNACK_CODE,
    S_SUB_PID,          /* SUBACK packet id, 2 bytes */
    S_SUB_CODES,        /* one code per filter; acc counts them */
    S_PUB_TLEN,         /* topic length, 2 bytes */
    S_PUB_TOPIC,        /* acc bytes of topic, skipped */
    S_PUB_PID,          /* packet id (QoS 1 and 2), 2 bytes */
    S_PUB_PAYLOAD,      /* the rest; nb = 1 once a piece went out */
    S_PROPLEN,          /* 5.0 property length */
    S_PROPS,            /* acc bytes of properties, skipped */
    S_DISC_CODE,        /* 5.0 DISCONNECT reason code */
    S_SKIP              /* to the end of the packet, then its callback */
};

static const char *const mqtt_err_names[MQTT_E_COUNT] = {
    [MQTT_OK] = "ok",
    [MQTT_E_STOPPED] = "stopped",
    [MQTT_E_NOT_SERVER] = "a client-to-server packet type",
    [MQTT_E_UNEXPECTED] = "a packet a subscriber never gets",
    [MQTT_E_FLAGS] = "reserved flags set",
    [MQTT_E_QOS3] = "PUBLISH with QoS 3",
    [MQTT_E_LENGTH] = "remaining length over 4 bytes",
    [MQTT_E_TOO_BIG] = "packet over max_message",
    [MQTT_E_SIZE] = "wrong remaining length for the packet type",
    [MQTT_E_TRUNCATED] = "a field runs past the end of its packet",
    [MQTT_E_EMPTY_TOPIC] = "PUBLISH with an empty topic",
    [MQTT_E_CODE] = "SUBACK code not defined",
    [MQTT_E_ZERO_ID] = "packet id 0",
};

const char *mqtt_err_name(int err)
{
    return err >= 0 && err < MQTT_E_COUNT ? mqtt_err_names[err] : "unknown";
}

/* ---- writing */

/* The fixed header's remaining length; returns its byte count (1..4). */
static size_t mqtt_put_len(unsigned char *out, uint32_t len)
{
    size_t n = 0;
    do {
        unsigned char b = len & 0x7f;
        len >>= 7;
        out[n++] = (unsigned char)(b | (len ? 0x80 : 0));
    } while (len);
    return n;
}

static size_t mqtt_len_bytes(uint32_t len)
{
    return len < 128 ? 1 : len < 16384 ? 2 : len < 2097152 ? 3 : 4;
}

static unsigned char *mqtt_put_str(unsigned char *p, const char *s, size_t n)
{
    *p++ = (unsigned char)(n >> 8);
    *p++ = (unsigned char)n;
    memcpy(p, s, n);
    return p + n;
}

/* Header and body laid out once their size is known: the body's length, or
 * -1 when a string or the whole does not fit. */
static int mqtt_frame(unsigned char *out, size_t cap, uint8_t hdr, size_t body, unsigned char **p)
{
    if (body > MQTT_LEN_MAX)
        return -1;
    size_t total = 1 + mqtt_len_bytes((uint32_t)body) + body;
    if (total > cap || total > INT32_MAX)
        return -1;
    out[0] = hdr;
    *p = out + 1 + mqtt_put_len(out + 1, (uint32_t)body);
    return (int)total;
}

int mqtt_put_connect(unsigned char *out, size_t cap, const struct mqtt_connect *c)
{
    size_t id = strlen(c->client_id);
    size_t user = c->user ? strlen(c->user) : 0;
    size_t pass = c->password ? strlen(c->password) : 0;
    int v5 = c->version == MQTT_V5;
    if ((c->version != MQTT_V311 && !v5) || id > 65535 || user > 65535 || pass > 65535 ||
        (pass && !user && !v5))
        return -1;
    /* "MQTT", level, flags, keepalive, (5.0: property length), then the strings */
    size_t body = 6 + 1 + 1 + 2 + (size_t)v5 + 2 + id + (user ? 2 + user : 0) + (pass ? 2 + pass : 0);
    unsigned char *p;
    int total = mqtt_frame(out, cap, MQTT_CONNECT << 4, body, &p);
    if (total < 0)
        return -1;
    p = mqtt_put_str(p, "MQTT", 4);
    *p++ = c->version;
    *p++ = (unsigned char)((user ? 0x80 : 0) | (pass ? 0x40 : 0) | (c->clean ? 0x02 : 0));
    *p++ = (unsigned char)(c->keepalive_s >> 8);
    *p++ = (unsigned char)c->keepalive_s;
    if (v5)
        *p++ = 0;                           /* no properties */
    p = mqtt_put_str(p, c->client_id, id);
    if (user)
        p = mqtt_put_str(p, c->user, user);
    if (pass)
        mqtt_put_str(p, c->password, pass);
    return total;
}

int mqtt_put_subscribe(unsigned char *out, size_t cap, uint8_t version, uint16_t packet_id,
                       const char *const *filters, size_t n, uint8_t qos)
{
    /* a SUBSCRIBE names at least one filter; packet id 0 is not an id */
    if (!n || !packet_id || qos > 2 || (version != MQTT_V311 && version != MQTT_V5))
        return -1;
    size_t body = 2 + (version == MQTT_V5);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(filters[i]);
        if (!len || len > 65535)
            return -1;
        body += 2 + len + 1;
    }
    unsigned char *p;
    int total = mqtt_frame(out, cap, MQTT_SUBSCRIBE << 4 | 0x2, body, &p);   /* flags 0010 */
    if (total < 0)
        return -1;
    *p++ = (unsigned char)(packet_id >> 8);
    *p++ = (unsigned char)packet_id;
    if (version == MQTT_V5)
        *p++ = 0;
    for (size_t i = 0; i < n; i++) {
        p = mqtt_put_str(p, filters[i], strlen(filters[i]));
        *p++ = qos;            /* 5.0 options: no-local, retain-as-published, retain handling all 0 */
    }
    return total;
}

int mqtt_put_puback(unsigned char *out, size_t cap, uint16_t packet_id)
{
    if (cap < 4 || !packet_id)
        return -1;
    out[0] = MQTT_PUBACK << 4;
    out[1] = 2;
    out[2] = (unsigned char)(packet_id >> 8);
    out[3] = (unsigned char)packet_id;
    return 4;
}

static int mqtt_put_empty(unsigned char *out, size_t cap, uint8_t type)
{
    if (cap < 2)
        return -1;
    out[0] = (unsigned char)(type << 4);
    out[1] = 0;
    return 2;
}

int mqtt_put_pingreq(unsigned char *out, size_t cap)
{
    return mqtt_put_empty(out, cap, MQTT_PINGREQ);
}

int mqtt_put_disconnect(unsigned char *out, size_t cap)
{
    return mqtt_put_empty(out, cap, MQTT_DISCONNECT);
}

/* ---- reading */

void mqtt_rd_init(struct mqtt_rd *r, uint8_t version)
{
    memset(r, 0, sizeof *r);
    r->version = version;
}

int mqtt_rd_mid_packet(const struct mqtt_rd *r)
{
    return r->step != S_HDR;
}

static int mqtt_rd_fail(struct mqtt_rd *r, int err)
{
    r->err = (uint8_t)err;
    return err;
}

/* A callback's answer: non-zero stops the reader. */
static int mqtt_rd_cb(struct mqtt_rd *r, int rc)
{
    return rc ? mqtt_rd_fail(r, MQTT_E_STOPPED) : 0;
}

/* The fixed header's first byte: is it something a server may send us? */
static int mqtt_rd_hdr(struct mqtt_rd *r, uint8_t b)
{
    uint8_t type = b >> 4, flags = b & 0xf;
    r->hdr = b;
    switch (type) {
    case MQTT_CONNACK: case MQTT_SUBACK: case MQTT_PINGRESP: case MQTT_DISCONNECT:
        return flags ? mqtt_rd_fail(r, MQTT_E_FLAGS) : 0;
    case MQTT_PUBLISH:
        return MQTT_PUB_QOS(flags) == 3 ? mqtt_rd_fail(r, MQTT_E_QOS3) : 0;
    case MQTT_PUBACK: case MQTT_PUBREC: case MQTT_PUBREL: case MQTT_PUBCOMP: case MQTT_UNSUBACK:
        return mqtt_rd_fail(r, MQTT_E_UNEXPECTED);      /* we neither publish nor unsubscribe */
    case MQTT_AUTH:                                      /* 5.0 only, and we ask for no auth method */
        return mqtt_rd_fail(r, r->version == MQTT_V5 ? MQTT_E_UNEXPECTED : MQTT_E_NOT_SERVER);
    default:
        return mqtt_rd_fail(r, MQTT_E_NOT_SERVER);
    }
}

/* The step after a 5.0 property list (or where it would be), by packet type. */
static uint8_t mqtt_rd_after_props(const struct mqtt_rd *r)
{
    return mqtt_rd_type(r) == MQTT_PUBLISH ? S_PUB_PAYLOAD : S_SUB_CODES;
}

/* The step after a PUBLISH's topic. */
static uint8_t mqtt_rd_after_topic(const struct mqtt_rd *r)
{
    if (MQTT_PUB_QOS(r->hdr))
        return S_PUB_PID;
    return r->version == MQTT_V5 ? S_PROPLEN : S_PUB_PAYLOAD;
}

/* The packet is complete (left is 0): its callback, back to the next header. */
static int mqtt_rd_done(struct mqtt_rd *r, const struct mqtt_rd_ops *o, void *ctx)
{
    int rc = 0;
    r->step = S_HDR;
    switch (mqtt_rd_type(r)) {
    case MQTT_CONNACK:
        if (o->connack)
            rc = o->connack(ctx, r->b0 & 1, (uint8_t)r->pid);
        break;
    case MQTT_PINGRESP:
        if (o->pingresp)
            rc = o->pingresp(ctx);
        break;
    case MQTT_DISCONNECT:
        if (o->disconnect)
            rc = o->disconnect(ctx, (uint8_t)r->pid);
        break;
    default:
        break;
    }
    return mqtt_rd_cb(r, rc);
}

/* Begin a step; steps with nothing to read chain on at once, and a packet
 * that ends here is finished or, if the step wanted bytes, truncated. */
static int mqtt_rd_enter(struct mqtt_rd *r, uint8_t step, const struct mqtt_rd_ops *o, void *ctx)
{
    r->step = step;
    r->nb = 0;
    switch (step) {
    case S_PUB_TOPIC:
        if (!r->acc)
            return mqtt_rd_enter(r, mqtt_rd_after_topic(r), o, ctx);
        break;
    case S_PROPS:
        if (!r->acc)
            return mqtt_rd_enter(r, mqtt_rd_after_props(r), o, ctx);
        break;
    case S_PUB_PAYLOAD:
        if (o->publish && mqtt_rd_cb(r, o->publish(ctx, r->hdr & 0xf, r->pid, r->left)))
            return r->err;
        if (!r->left) {
            r->step = S_HDR;
            if (!o->payload)
                return 0;
            /* a real pointer, so that a memcpy of the empty payload is defined */
            return mqtt_rd_cb(r, o->payload(ctx, (const unsigned char *)"", 0, 1, 1));
        }
        return 0;
    case S_SUB_CODES:
        r->acc = 0;
        break;
    case S_SKIP:
        r->acc = r->left;
        if (!r->left)
            return mqtt_rd_done(r, o, ctx);
        return 0;
    default:
        r->acc = 0;
        break;
    }
    return r->left ? 0 : mqtt_rd_fail(r, MQTT_E_TRUNCATED);
}

/* The remaining length is known: sizes fixed by the type, then the first step. */
static int mqtt_rd_begin(struct mqtt_rd *r, uint32_t max, const struct mqtt_rd_ops *o, void *ctx)
{
    r->left = r->acc;
    if (r->left > (max ? max : MQTT_LEN_MAX))
        return mqtt_rd_fail(r, MQTT_E_TOO_BIG);
    int v5 = r->version == MQTT_V5;
    r->pid = 0;
    switch (mqtt_rd_type(r)) {
    case MQTT_CONNACK:
        if (v5 ? r->left < 2 : r->left != 2)
            return mqtt_rd_fail(r, MQTT_E_SIZE);
        return mqtt_rd_enter(r, S_CONNACK_FLAGS, o, ctx);
    case MQTT_SUBACK:
        return mqtt_rd_enter(r, S_SUB_PID, o, ctx);
    case MQTT_PUBLISH:
        return mqtt_rd_enter(r, S_PUB_TLEN, o, ctx);
    case MQTT_PINGRESP:
        if (r->left)
            return mqtt_rd_fail(r, MQTT_E_SIZE);
        return mqtt_rd_enter(r, S_SKIP, o, ctx);
    default: /* MQTT_DISCONNECT: 3.1.1's is empty, 5.0's reason code may be left out (0) */
        if (!v5 && r->left)
            return mqtt_rd_fail(r, MQTT_E_SIZE);
        return mqtt_rd_enter(r, r->left ? S_DISC_CODE : S_SKIP, o, ctx);
    }
}

/* A 2-byte field gathered into pid (packet ids) or acc (topic length): 1 when complete. */
static int mqtt_rd_u16(struct mqtt_rd *r, uint8_t b, int into_pid)
{
    uint16_t v = (uint16_t)((into_pid ? r->pid : r->acc) << 8 | b);
    if (into_pid)
        r->pid = v;
    else
        r->acc = v;
    return ++r->nb == 2;
}

/* One byte of the body (left > 0 on entry; it is taken here). */
static int mqtt_rd_byte(struct mqtt_rd *r, uint8_t b, const struct mqtt_rd_ops *o, void *ctx)
{
    r->left--;
    switch (r->step) {
    case S_CONNACK_FLAGS:
        if (b & 0xfe)
            return mqtt_rd_fail(r, MQTT_E_FLAGS);
        r->b0 = b;
        return mqtt_rd_enter(r, S_CONNACK_CODE, o, ctx);
    case S_CONNACK_CODE:
    case S_DISC_CODE:
        r->pid = b;                      /* the code, until the callback */
        return mqtt_rd_enter(r, S_SKIP, o, ctx);   /* 5.0: properties after it, skipped */
    case S_SUB_PID:
    case S_PUB_PID:
        if (!mqtt_rd_u16(r, b, 1))
            break;
        if (!r->pid)
            return mqtt_rd_fail(r, MQTT_E_ZERO_ID);
        if (r->version == MQTT_V5)
            return mqtt_rd_enter(r, S_PROPLEN, o, ctx);
        return mqtt_rd_enter(r, mqtt_rd_after_props(r), o, ctx);
    case S_SUB_CODES: {
        int ok = r->version == MQTT_V5 ? (b <= 2 || b >= 0x80) : (b <= 2 || b == 0x80);
        if (!ok)
            return mqtt_rd_fail(r, MQTT_E_CODE);
        if (o->suback && mqtt_rd_cb(r, o->suback(ctx, r->pid, r->acc, b, !r->left)))
            return r->err;
        r->acc++;
        if (!r->left)
            r->step = S_HDR;
        return 0;
    }
    case S_PUB_TLEN:
        if (!mqtt_rd_u16(r, b, 0))
            break;
        if (!r->acc && r->version != MQTT_V5)        /* 5.0: a topic alias stands for it */
            return mqtt_rd_fail(r, MQTT_E_EMPTY_TOPIC);
        if (r->acc > r->left)
            return mqtt_rd_fail(r, MQTT_E_TRUNCATED);
        return mqtt_rd_enter(r, S_PUB_TOPIC, o, ctx);
    case S_PROPLEN:
        r->acc |= (uint32_t)(b & 0x7f) << (7 * r->nb);
        if (b & 0x80) {
            if (++r->nb == 4)
                return mqtt_rd_fail(r, MQTT_E_LENGTH);
            break;
        }
        if (r->acc > r->left)
            return mqtt_rd_fail(r, MQTT_E_TRUNCATED);
        return mqtt_rd_enter(r, S_PROPS, o, ctx);
    default:
        break;
    }
    return r->left ? 0 : mqtt_rd_fail(r, MQTT_E_TRUNCATED);
}

/* Skipped bytes (topic, properties, the rest of a packet): as many as the run has. */
static size_t mqtt_rd_skip(struct mqtt_rd *r, size_t avail, const struct mqtt_rd_ops *o, void *ctx)
{
    size_t take = avail < r->acc ? avail : r->acc;
    r->acc -= (uint32_t)take;
    r->left -= (uint32_t)take;
    if (!r->acc) {
        if (r->step == S_SKIP)
            mqtt_rd_done(r, o, ctx);
        else
            mqtt_rd_enter(r, r->step == S_PUB_TOPIC ? mqtt_rd_after_topic(r) : mqtt_rd_after_props(r),
                          o, ctx);
    }
    return take;
}

int mqtt_rd_feed(struct mqtt_rd *r, const unsigned char *in, size_t n, uint32_t max,
                 const struct mqtt_rd_ops *o, void *ctx)
{
    size_t i = 0;
    while (i < n && !r->err) {
        switch (r->step) {
        case S_HDR:
            if (!mqtt_rd_hdr(r, in[i++])) {
                r->step = S_LEN;
                r->acc = 0;
                r->nb = 0;
            }
            break;
        case S_LEN: {
            uint8_t b = in[i++];
            r->acc |= (uint32_t)(b & 0x7f) << (7 * r->nb);
            if (!(b & 0x80))
                mqtt_rd_begin(r, max, o, ctx);
            else if (++r->nb == 4)
                mqtt_rd_fail(r, MQTT_E_LENGTH);
            break;
        }
        case S_PUB_PAYLOAD: {
            size_t take = n - i < r->left ? n - i : r->left;
            int first = !r->nb;
            r->nb = 1;
            r->left -= (uint32_t)take;
            if (!r->left)
                r->step = S_HDR;
            if (o->payload)
                mqtt_rd_cb(r, o->payload(ctx, in + i, take, first, !r->left));
            i += take;
            break;
        }
        case S_PUB_TOPIC: case S_PROPS: case S_SKIP:
            i += mqtt_rd_skip(r, n - i, o, ctx);
            break;
        default:
            mqtt_rd_byte(r, in[i++], o, ctx);
            break;
        }
    }
    return r->err;
}
