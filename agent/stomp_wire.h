/* stomp_wire.h: STOMP 1.2 frames, written and read, with no I/O (stomp_wire.c).
 *
 * The STOMP dialect (dialect_stomp.c) keeps one struct stomp_rd and one
 * struct stomp_acks per connection in its state slot, so both are sized in
 * bytes and hold no pointers: the reader keeps only where it is in a frame and
 * the value of the one header line being read, never a frame. */
#ifndef STOMP_WIRE_H
#define STOMP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define STOMP_LINE_MAX   1024   /* a command or header line, escapes included */
#define STOMP_HDRS_MAX   64     /* header lines of one frame */
#define STOMP_VAL_MAX    96     /* a header value kept for the caller (longer: truncated) */
#define STOMP_ACKS_BYTES 96     /* the pending-ack store */
#define STOMP_ACK_ID_MAX (STOMP_ACKS_BYTES - 3)  /* the longest ack id it takes */

/* Server frames; anything else from a server is an error. */
enum stomp_cmd { STOMP_CMD_NONE, STOMP_CMD_CONNECTED, STOMP_CMD_ERROR, STOMP_CMD_MESSAGE,
                 STOMP_CMD_RECEIPT };

/* The headers the reader hands on (first occurrence only, as 1.2 says). */
enum stomp_hdr { STOMP_HDR_NONE, STOMP_HDR_ACK, STOMP_HDR_CONTENT_LENGTH, STOMP_HDR_HEART_BEAT,
                 STOMP_HDR_MESSAGE, STOMP_HDR_MESSAGE_ID, STOMP_HDR_RECEIPT_ID,
                 STOMP_HDR_SUBSCRIPTION, STOMP_HDR_VERSION };

/* Why a byte run was refused (the dialect's proto_error aux). */
enum stomp_err {
    STOMP_ERR_NONE,
    STOMP_ERR_COMMAND,      /* not a server command */
    STOMP_ERR_LINE,         /* a command or header line longer than STOMP_LINE_MAX */
    STOMP_ERR_HEADERS,      /* more than STOMP_HDRS_MAX header lines */
    STOMP_ERR_HEADER,       /* a header line with no ':' or an empty name */
    STOMP_ERR_ESCAPE,       /* a '\' not followed by r, n, c or '\' */
    STOMP_ERR_CR,           /* a CR not followed by LF */
    STOMP_ERR_LENGTH,       /* content-length not a number, or beyond the body limit */
    STOMP_ERR_BODY,         /* a body beyond the body limit */
    STOMP_ERR_NUL,          /* the byte after a content-length body is not NUL */
    STOMP_ERR_HEART_BEAT,   /* CONNECTED heart-beat not "sx,sy" */
    STOMP_ERR_ACK_ID,       /* a MESSAGE ack header missing or longer than STOMP_ACK_ID_MAX */
    STOMP_ERR_ACK_FULL,     /* pending acks beyond STOMP_ACKS_BYTES */
    STOMP_ERR_ENCODE,       /* an outgoing value holds CR, LF or NUL, or the frame did not fit */
    STOMP_ERR_RECEIPT,      /* a RECEIPT we did not ask for */
    STOMP_ERR_VERSION,      /* CONNECTED names a version other than 1.2 */
    STOMP_ERR_SUBSCRIPTION, /* a MESSAGE for a subscription we did not make */
    STOMP_ERR_ORDER,        /* a frame the session's state does not allow */
};
const char *stomp_err_name(int err);

enum stomp_ev_type { STOMP_EV_MORE, STOMP_EV_HEARTBEAT, STOMP_EV_HEADER, STOMP_EV_BODY,
                     STOMP_EV_FRAME, STOMP_EV_ERROR };

/* One thing the reader found. HEADER: hdr, and the decoded value in the
 * reader's val[0..len) (NUL-terminated; trunc when it was longer). BODY: a
 * piece data[0..len) of the frame's body (data points into the caller's
 * bytes), first/final mark its ends; a frame with no body still has one
 * empty piece, so final always comes. FRAME: the frame ended, cmd says which. */
struct stomp_ev {
    uint8_t type, cmd, hdr, err;
    uint8_t first, final, trunc;
    const char *data;
    size_t len;
};

struct stomp_rd {
    uint8_t st;          /* where in a frame (stomp_wire.c) */
    uint8_t cmd;         /* the frame's command, once its line is read */
    uint8_t hdr;         /* the known header the current name still matches */
    uint8_t err;         /* once set, every feed fails with it */
    uint8_t esc;         /* a backslash was the last byte */
    uint8_t n_hdrs;
    uint8_t vlen;        /* bytes in val */
    uint8_t trunc;       /* val lost bytes */
    uint8_t pad;         /* a frame just ended: its first EOL is padding, not a beat */
    uint16_t line;       /* bytes of the current line */
    uint16_t seen;       /* known headers met in this frame (bit per enum stomp_hdr) */
    uint32_t body;       /* body bytes handed on */
    uint32_t clen;       /* content-length, UINT32_MAX when none */
    uint32_t body_max;
    char val[STOMP_VAL_MAX];
};

void   stomp_rd_init(struct stomp_rd *rd, uint32_t body_max);
/* Reads from p[0..len) up to the next event; returns the bytes used. The
 * caller feeds the rest again until it is all used (STOMP_EV_MORE). */
size_t stomp_rd_feed(struct stomp_rd *rd, const char *p, size_t len, struct stomp_ev *ev);

/* heart-beat:"sx,sy" from val; -1 when it is not two numbers of ms. */
int stomp_parse_heart_beat(const char *v, uint32_t *sx, uint32_t *sy);
/* 1.2's negotiation: what we send and what we expect, every so many ms (0 = none). */
void stomp_hb_negotiate(uint32_t cx, uint32_t cy, uint32_t sx, uint32_t sy,
                        uint32_t *send_ms, uint32_t *expect_ms);

/* Encoders: the frame's length in out[0..cap), -1 when it does not fit or a
 * value holds CR, LF or NUL. Empty host, login, passcode or receipt: left out. */
int stomp_enc_connect(char *out, size_t cap, const char *host, const char *login,
                      const char *passcode, uint32_t cx, uint32_t cy);
int stomp_enc_subscribe(char *out, size_t cap, unsigned id, const char *destination,
                        const char *ack, const char *receipt);
int stomp_enc_ack(char *out, size_t cap, const char *id, size_t id_len);
int stomp_enc_disconnect(char *out, size_t cap, const char *receipt);

/* Ack ids waiting for a writeable callback, oldest first, front-coded: each
 * entry is the bytes it shares with the one before, its own tail, and its
 * subscription. Brokers number a session's messages under one prefix
 * (RabbitMQ: T_<sub>@@session-<id>@@<tag>), so an entry costs a few bytes. */
struct stomp_acks {
    uint8_t used;
    uint8_t n;
    uint8_t buf[STOMP_ACKS_BYTES];
};
/* Adds id for subscription sub. cumulative (client mode): ids of sub at the
 * tail go, since this ACK covers them. -1 when it does not fit. */
int stomp_acks_push(struct stomp_acks *q, uint8_t sub, const char *id, size_t len, int cumulative);
/* Writes ACK frames for the oldest ids into out[0..cap) while they fit and
 * drops them; returns the bytes written (0: none waiting or none fits). */
int stomp_acks_write(struct stomp_acks *q, char *out, size_t cap);

#endif
