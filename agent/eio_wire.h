/* eio_wire.h: Engine.IO v4 / Socket.IO v4 packets on a WebSocket transport,
 * a pure codec (no lws, no agent state): a streaming reader over the pieces
 * of received messages, and writers for the few packets a client sends.
 * agent/eio_wire.c says how it reads; docs/protocols.md, "socketio", what
 * it accepts. */
#ifndef PS_EIO_WIRE_H
#define PS_EIO_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* What a received WebSocket message is, known once its header is read. */
enum eio_kind {
    EIO_K_NONE = 0,          /* header not read yet */
    EIO_K_OPEN,              /* "0{...}": sid, pingInterval, pingTimeout, maxPayload */
    EIO_K_CLOSE,             /* "1" */
    EIO_K_PING,              /* "2" (the server pings in v4) */
    EIO_K_PONG,              /* "3" */
    EIO_K_NOOP,              /* "6" */
    EIO_K_CONNECT,           /* "40[/nsp,]{...}": the namespace connect ack */
    EIO_K_DISCONNECT,        /* "41[/nsp,]" */
    EIO_K_EVENT,             /* "42[/nsp,][id][...]" */
    EIO_K_ACK,               /* "43[/nsp,]id[...]" */
    EIO_K_CONNECT_ERROR,     /* "44[/nsp,]{...}" */
};

/* Why a message was refused: the aux of proto_error (eio_err_name names it). */
enum eio_err {
    EIO_OK = 0,
    EIO_ERR_EMPTY,           /* a message of no bytes */
    EIO_ERR_TYPE,            /* an Engine.IO type that is not 0..6, or 5 (upgrade) from a server */
    EIO_ERR_SIO_TYPE,        /* a Socket.IO type that is not 0..6 */
    EIO_ERR_BINARY,          /* binary event / ack (45, 46) or a binary message: refused */
    EIO_ERR_NSP,             /* a packet for another namespace than the one connected */
    EIO_ERR_NSP_COMMA,       /* the message ended inside the namespace (no ',') */
    EIO_ERR_ACK_ID,          /* an ack id over 2^32-1, or an ack without one */
    EIO_ERR_EVENT,           /* event data that is not a JSON array */
    EIO_ERR_OPEN_JSON,       /* the open packet is not a complete flat JSON object */
    EIO_ERR_OPEN_FIELD,      /* sid / pingInterval / pingTimeout missing or of the wrong kind */
    EIO_ERR_OPEN_RANGE,      /* pingInterval / pingTimeout outside 1 ms .. 1 h, maxPayload 0 */
    EIO_ERR_SIO_EMPTY,       /* "4" with no Socket.IO packet in it */
    EIO_ERR_N_
};

#define EIO_PING_MAX_MS 3600000u   /* an interval or timeout over an hour is not a server's */

/* The reader's state for one connection: zeroed before each connection. */
struct eio_rx {
    uint8_t  st;             /* EIO_S_*: where in the current message */
    uint8_t  kind;           /* enum eio_kind of the current message */
    uint8_t  flags;          /* EIO_F_*: of the current message, and of the open packet */
    uint8_t  last;           /* the last event data byte (an array ends in ']') */
    uint16_t nsp_at;         /* namespace bytes matched */
    uint8_t  js;             /* open packet: JSON scanner state */
    uint8_t  jkey;           /* open packet: candidate keys (bits), then the key read */
    uint8_t  jpos;           /* open packet: key bytes read */
    uint8_t  jdepth;         /* open packet: nesting inside a skipped value */
    uint8_t  jflags;         /* open packet: in a string, after a backslash */
    uint8_t  open_have;      /* open packet: EIO_H_* fields seen */
    uint32_t num;            /* digits being read (ack id, an open packet number) */
    uint32_t ping_interval_ms, ping_timeout_ms, max_payload;   /* from the open packet */
};

/* What one piece gave: at most one span of event data, and the end of the message. */
struct eio_rx_out {
    const unsigned char *data;   /* event data bytes in this piece (the JSON array), or NULL */
    size_t len;
    uint8_t data_first;          /* data holds the event's first data byte */
    uint8_t done;                /* the message ended: kind, ack are final */
    uint8_t kind;                /* enum eio_kind, once the header is read */
    uint8_t has_ack;             /* an event asking for an ack, or an ack: ack_id */
    uint32_t ack_id;
};

/* Reads one piece of a received message (first / final piece of it, binary
 * frame); nsp is the namespace connected ("/" = the default). Returns EIO_OK
 * with *out filled, or an enum eio_err (the reader is then spent until the
 * next message's first piece). */
int eio_rx_piece(struct eio_rx *r, const char *nsp, const unsigned char *in, size_t len,
                 int first, int final, int binary, struct eio_rx_out *out);
const char *eio_err_name(int err);

/* Writers: the packet into out[0..cap), its length, or -1 when it does not fit. */
int eio_put_connect(char *out, size_t cap, const char *nsp, const char *auth); /* "40[/nsp,][auth]" */
int eio_put_ack(char *out, size_t cap, const char *nsp, uint32_t id);          /* "43[/nsp,]id[]" */
int eio_put_disconnect(char *out, size_t cap, const char *nsp);                /* "41[/nsp,]" */
int eio_put_pong(char *out, size_t cap);                                       /* "3" */

#endif
