/* wsc_frame.h: the frames of RFC 6455 section 5 for the agent's native
 * WebSocket client engine (agent/wsc.c), a pure codec (no lws, no libuv): an
 * incremental decoder of server frames, the client frame encoder, and a pool
 * of masking keys. agent/wsc_frame.c says how; the opening handshake is in
 * agent/wsc_http.h. */
#ifndef PS_WSC_FRAME_H
#define PS_WSC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define AGENT_WSC_HEAD_MAX 14   /* a client frame's header: 2 + 8 (length) + 4 (mask) */
#define AGENT_WSC_CTL_MAX  125  /* a control frame's payload */

enum agent_wsc_op {
    AGENT_WSC_CONT = 0, AGENT_WSC_TEXT = 1, AGENT_WSC_BINARY = 2,
    AGENT_WSC_CLOSE = 8, AGENT_WSC_PING = 9, AGENT_WSC_PONG = 10,
};

/* What broke the protocol: the negative results of agent_wsc_rx_feed. */
enum agent_wsc_err {
    AGENT_WSC_E_RSV = -1,       /* a reserved bit set (we negotiate no extension) */
    AGENT_WSC_E_OPCODE = -2,    /* a reserved opcode (3-7, 11-15) */
    AGENT_WSC_E_MASKED = -3,    /* a server frame with the mask bit (RFC 6455 5.1) */
    AGENT_WSC_E_CONTROL = -4,   /* a control frame without FIN or over 125 bytes */
    AGENT_WSC_E_SEQUENCE = -5,  /* a continuation with no message under way, or a new text/binary
                                   frame while a fragmented message is under way */
    AGENT_WSC_E_LENGTH = -6,    /* a 64-bit length with its most significant bit set */
    AGENT_WSC_E_CLOSE = -7,     /* a Close payload of exactly 1 byte */
    AGENT_WSC_E_NOMEM = -8,     /* the cut-control-frame buffer could not be allocated */
};

/* One piece of a data message, in order. */
struct agent_wsc_piece {
    const unsigned char *in;
    size_t len;
    uint64_t remaining;          /* payload bytes of this FRAME still to come after this piece */
    uint8_t first;               /* the message's first piece (first frame, first bytes) */
    uint8_t final;               /* the message's last piece (FIN frame and remaining == 0) */
    uint8_t binary;              /* the message's opcode was binary (continuations inherit it) */
};

struct agent_wsc_rx_cb {
    /* a piece of a data message; a zero-length frame still gives one piece (len 0) so that an
     * empty message has a first and a final piece. Nonzero = stop feeding now. */
    int (*data)(void *ctx, const struct agent_wsc_piece *p);
    /* a whole control frame (Ping, Pong or Close), payload 0..125 bytes, even when a read cut it.
     * May come between the frames of a fragmented message. Nonzero = stop feeding now. */
    int (*control)(void *ctx, enum agent_wsc_op op, const unsigned char *payload, size_t len);
};

/* The decoder's state between reads, one per connection: keep it small (we count bytes per
 * connection; aim <= 32 bytes on x86-64 and put a _Static_assert on the bound you reach). */
struct agent_wsc_rx {
    uint64_t remaining;          /* payload left in the current frame */
    unsigned char *ctl;          /* a control frame's payload cut by a read: AGENT_WSC_CTL_MAX bytes,
                                    malloc'd only then, freed when that frame is done */
    uint8_t head[10];            /* header bytes gathered so far (server frames are never masked) */
    uint8_t head_len;
    uint8_t op;                  /* opcode of the frame under way */
    uint8_t fin;
    uint8_t msg;                 /* 0, or the opcode (TEXT/BINARY) of the data message under way */
    uint8_t first;               /* the next data piece is its message's first */
    uint8_t ctl_len;             /* bytes of the cut control payload gathered */
};

void agent_wsc_rx_init(struct agent_wsc_rx *rx);
/* Feeds n bytes (any split: one byte at a time must give the same callbacks' content as all at
 * once). 0: all taken; 1: a callback asked to stop (the rest is dropped); negative: a violation
 * (enum agent_wsc_err), the connection must be dropped. After a stop or a violation, the state
 * may only be freed or re-initialised. */
int  agent_wsc_rx_feed(struct agent_wsc_rx *rx, const unsigned char *in, size_t n,
                       const struct agent_wsc_rx_cb *cb, void *ctx);
void agent_wsc_rx_free(struct agent_wsc_rx *rx);   /* frees a cut control buffer, if any */
/* Whether a frame is under way (its header or payload partly read): a peer that closes the
 * TCP stream there cut a frame. */
int  agent_wsc_rx_mid_frame(const struct agent_wsc_rx *rx);
/* A negative result of agent_wsc_rx_feed in words, for the log ("unknown" for anything else). */
const char *agent_wsc_err_name(int err);

/* Frames one whole message (FIN set) from the client: writes the header into the
 * AGENT_WSC_HEAD_MAX bytes BEFORE payload (the caller guarantees that headroom) and masks
 * payload[0..len) in place with mask. Returns the header's length h (6, 8 or 14): the frame is
 * bytes payload - h .. payload + len. Minimal length encoding (RFC 6455 5.2). */
size_t agent_wsc_frame(unsigned char *payload, size_t len, enum agent_wsc_op op, const uint8_t mask[4]);

/* Masking keys must be unpredictable (RFC 6455 10.3). lws reads /dev/urandom once per frame (a
 * syscall per pong); a per-worker pool refilled by getrandom() 4 KiB at a time costs one syscall
 * per 1,024 frames. */
struct agent_wsc_keys { uint8_t buf[4096]; uint32_t pos; };
void agent_wsc_keys_init(struct agent_wsc_keys *k);              /* empty: the first key refills */
int  agent_wsc_key(struct agent_wsc_keys *k, uint8_t out[4]);    /* 0, or -1 if getrandom failed */

#endif
