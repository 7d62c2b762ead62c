/* mqtt_wire.h: MQTT 3.1.1 / 5.0 packets a subscribing client writes and reads
 * (mqtt_wire.c), with no I/O: the mqtt dialect (dialect_mqtt.c) puts them in
 * WebSocket frames and feeds what arrives to the reader. */
#ifndef PS_MQTT_WIRE_H
#define PS_MQTT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define MQTT_V311 4           /* protocol level of MQTT 3.1.1 */
#define MQTT_V5   5

enum mqtt_type {
    MQTT_CONNECT = 1, MQTT_CONNACK, MQTT_PUBLISH, MQTT_PUBACK, MQTT_PUBREC, MQTT_PUBREL,
    MQTT_PUBCOMP, MQTT_SUBSCRIBE, MQTT_SUBACK, MQTT_UNSUBSCRIBE, MQTT_UNSUBACK, MQTT_PINGREQ,
    MQTT_PINGRESP, MQTT_DISCONNECT, MQTT_AUTH
};

/* PUBLISH's flags, as the fixed header carries them */
#define MQTT_PUB_RETAIN 0x01
#define MQTT_PUB_QOS(f) (((f) >> 1) & 3)
#define MQTT_PUB_DUP    0x08

/* ---- writing: each returns the packet's length, -1 when it does not fit in
 * cap or a field is out of the protocol's range (a string over 65535 bytes) */
struct mqtt_connect {
    uint8_t version;            /* MQTT_V311 or MQTT_V5 */
    uint8_t clean;              /* clean session (3.1.1) / clean start (5.0) */
    uint16_t keepalive_s;       /* 0 = off */
    const char *client_id;
    const char *user;           /* NULL or "" = none */
    const char *password;       /* NULL or "" = none; 3.1.1 wants a user with it */
};
int mqtt_put_connect(unsigned char *out, size_t cap, const struct mqtt_connect *c);
int mqtt_put_subscribe(unsigned char *out, size_t cap, uint8_t version, uint16_t packet_id,
                       const char *const *filters, size_t n, uint8_t qos);
int mqtt_put_puback(unsigned char *out, size_t cap, uint16_t packet_id);
int mqtt_put_pingreq(unsigned char *out, size_t cap);
int mqtt_put_disconnect(unsigned char *out, size_t cap);

/* ---- reading: a stream of packets from the server, fed runs of any size */
enum mqtt_err {
    MQTT_OK = 0,
    MQTT_E_STOPPED,         /* a callback asked to stop */
    MQTT_E_NOT_SERVER,      /* a packet only a client sends (CONNECT, SUBSCRIBE, PINGREQ, type 0) */
    MQTT_E_UNEXPECTED,      /* a server packet a QoS <= 1 subscriber never gets (PUBACK, PUBREL, AUTH) */
    MQTT_E_FLAGS,           /* reserved bits of the fixed header or CONNACK flags set */
    MQTT_E_QOS3,            /* PUBLISH with QoS 3 */
    MQTT_E_LENGTH,          /* remaining length longer than 4 bytes */
    MQTT_E_TOO_BIG,         /* remaining length over max_message */
    MQTT_E_SIZE,            /* remaining length wrong for the packet type */
    MQTT_E_TRUNCATED,       /* a field runs past the end of its packet */
    MQTT_E_EMPTY_TOPIC,     /* PUBLISH with a zero-length topic (3.1.1) */
    MQTT_E_CODE,            /* SUBACK return code 3.1.1 does not define */
    MQTT_E_ZERO_ID,         /* packet id 0 in a SUBACK or a QoS 1/2 PUBLISH */
    MQTT_E_COUNT
};
const char *mqtt_err_name(int err);

/* What the reader found. Each returns 0 to go on, non-zero to stop the feed
 * (it then returns MQTT_E_STOPPED). NULL members are not called. */
struct mqtt_rd_ops {
    int (*connack)(void *ctx, uint8_t session_present, uint8_t code);
    /* one granted QoS (or 0x80 and up: refused) per filter, in order; last = the packet's last */
    int (*suback)(void *ctx, uint16_t packet_id, uint32_t index, uint8_t code, int last);
    /* a PUBLISH whose payload (len bytes) follows in payload() calls */
    int (*publish)(void *ctx, uint8_t flags, uint16_t packet_id, uint32_t len);
    /* the payload in pieces: first, final as the message's; an empty one comes once with len 0 */
    int (*payload)(void *ctx, const unsigned char *p, size_t len, int first, int final);
    int (*pingresp)(void *ctx);
    int (*disconnect)(void *ctx, uint8_t reason);   /* 5.0's reason code; 0 in 3.1.1 */
};

/* The whole state of one reader: 16 bytes. Zeroed, then mqtt_rd_init. */
struct mqtt_rd {
    uint32_t left;          /* bytes of the current packet still to come */
    uint32_t acc;           /* the field being gathered (length, topic length, property length) */
    uint16_t pid;           /* packet id of the current SUBACK / PUBLISH; SUBACK index after it */
    uint8_t hdr;            /* the current packet's first byte */
    uint8_t step;           /* where in the packet the next byte goes */
    uint8_t nb;             /* bytes of the current field so far */
    uint8_t version;
    uint8_t err;            /* sticky: once set, every feed returns it */
    uint8_t b0;             /* CONNACK flags until its code arrives */
};
void mqtt_rd_init(struct mqtt_rd *r, uint8_t version);
/* Feed n bytes; 0 when they were all taken, else an mqtt_err (sticky). max:
 * the largest remaining length accepted (0 = the protocol's own 268435455). */
int mqtt_rd_feed(struct mqtt_rd *r, const unsigned char *in, size_t n, uint32_t max,
                 const struct mqtt_rd_ops *ops, void *ctx);
/* 1 when the stream stopped inside a packet (a close now truncates it) */
int mqtt_rd_mid_packet(const struct mqtt_rd *r);
/* The type of the packet being read, or read last, or that failed: for error details. */
static inline uint8_t mqtt_rd_type(const struct mqtt_rd *r) { return (uint8_t)(r->hdr >> 4); }

#endif
