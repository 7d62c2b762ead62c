/* dialect.h: the client protocols a connection may speak over its WebSocket
 * (issue 13): Socket.IO, MQTT, STOMP. docs/protocols.md says what each sends,
 * expects and measures; this is the seam between them and the agent.
 *
 * A dialect is a table of operations (struct agent_dialect) and a few bytes
 * of state per connection. The framework (dialect.c) owns everything else:
 * the WebSocket (lws), the slot and its life, the failure reasons, the
 * timers. A target with `protocol: websocket` (the default) has no dialect
 * and runs exactly as before; the agent pays nothing for dialects it does not
 * use (the per-worker arrays are allocated at ASSIGN only when a target names
 * a protocol, and struct agent_conn stays 64 bytes).
 *
 * The life of a dialect connection:
 *   upgrade done   the framework zeroes the state, calls open(); the
 *                  connection is in flight (AGENT_CONN_SESSION) with the
 *                  handshake's deadline, protocol_options.timeout
 *                  (proto_timeout_ms), and fails proto_timeout past it;
 *   handshake      rx() gets every received piece, write() is asked for one
 *                  WebSocket message per writeable callback after
 *                  agent_dialect_want_write();
 *   ready          agent_dialect_ready(): the plan's session steps run next
 *                  (their sends go through frame_send(), their expects match
 *                  payloads), then the connection is online (connected event);
 *   online         rx() turns the pushed messages into agent_dialect_payload()
 *                  calls (tokens, acks, max_message), keepalive() is called at
 *                  proto_keepalive_ms by the heartbeat sweep, watch() at the
 *                  pace it asked for;
 *   our close      goodbye() writes the protocol's goodbye before the Close
 *                  frame when we close cleanly (stop, disconnect phase);
 *   failure        agent_dialect_fail() closes with its reason; the attempt
 *                  reports one failed (before online) or closed event.
 * The io handle is the framework's for the length of one call: a dialect
 * never keeps it. Every callback runs on the connection's worker thread but
 * prepare(), which runs on the control thread at ASSIGN. */
#ifndef AGENT_DIALECT_H
#define AGENT_DIALECT_H

#include <stddef.h>
#include <stdint.h>

#include "ps_proto.h"

struct agent_conn_piece;                 /* agent.h: one piece of a received WebSocket message */
struct agent_dialect_io;                 /* opaque: one connection, the framework's side */

enum agent_dialect_counter { AGENT_DC_DUPLICATE, AGENT_DC_PROTO_ACK, AGENT_DC_SERVER_PING };

#define AGENT_DIALECT_STATE_MAX 256      /* state_bytes of any dialect */

struct agent_dialect {
    const char *name;          /* the plan's `protocol:` value, e.g. "mqtt" */
    const char *subprotocol;   /* Sec-WebSocket-Protocol offered when the plan names none; NULL = none */
    uint32_t state_bytes;      /* its per-connection state, zeroed before every attempt; <= 256:
                                  keep it as small as the protocol allows, and report it */
    /* at ASSIGN (control thread): check this assignment's protocol options; -1 with err */
    int  (*prepare)(const struct ps_assign *a, char *err, size_t errlen);
    /* the WebSocket upgrade is done: start the protocol handshake (usually agent_dialect_want_write) */
    void (*open)(void *st, struct agent_dialect_io *io);
    /* one piece of a received WebSocket message; protocol packets may span pieces and messages */
    void (*rx)(void *st, struct agent_dialect_io *io, const struct agent_conn_piece *p);
    /* the connection may write: put at most one WebSocket message into out[0..cap) and return its
     * length (*binary set), 0 when it has nothing to send, -1 after agent_dialect_fail */
    int  (*write)(void *st, struct agent_dialect_io *io, unsigned char *out, size_t cap, int *binary);
    /* the client keepalive is due (MQTT PINGREQ, STOMP EOL); NULL = the protocol has none */
    void (*keepalive)(void *st, struct agent_dialect_io *io);
    /* watchdog, called for each open connection at the pace set with agent_dialect_watch_ms
     * (a paced sweep like the ping sweep, never a walk per tick): fail if the server fell silent */
    void (*watch)(void *st, struct agent_dialect_io *io, int64_t now_us);
    /* a clean close by us (stop, disconnect phase): the protocol's goodbye (MQTT DISCONNECT, STOMP
     * DISCONNECT, Socket.IO "41"), written before the WebSocket Close; 0 = none */
    int  (*goodbye)(void *st, struct agent_dialect_io *io, unsigned char *out, size_t cap, int *binary);
    /* (added by the framework) a session send step's expanded text, as the protocol carries it:
     * the frame into out[0..cap), its length (*binary set), -1 when it cannot be framed (the
     * session fails session_mismatch). NULL = the text goes as written, one text message (what
     * Socket.IO wants: the user writes the whole packet, 42["join","room"]). Binary send steps
     * always go as written. */
    int  (*frame_send)(void *st, struct agent_dialect_io *io, const char *text, size_t len,
                       unsigned char *out, size_t cap, int *binary);
};

/* The framework's side (agent/dialect.c), called by dialects from their callbacks: */
void agent_dialect_payload(struct agent_dialect_io *io, const void *data, size_t len,
                           int first, int final);  /* application bytes of one pushed message, in
                           pieces: token scan, acks, and (before ready) the session's expect steps
                           (that is: after agent_dialect_ready, while the plan's steps run; during
                           the handshake itself payloads are dropped) */
void agent_dialect_ready(struct agent_dialect_io *io);   /* protocol handshake done: the session
                           block's own steps run next (if any), then the connection is online */
void agent_dialect_fail(struct agent_dialect_io *io, uint8_t reason, uint32_t aux); /* close with it */
void agent_dialect_want_write(struct agent_dialect_io *io);
void agent_dialect_keepalive_sent(struct agent_dialect_io *io);      /* starts its RTT and timeout */
void agent_dialect_keepalive_answered(struct agent_dialect_io *io);  /* records the RTT (hb_rtt) */
void agent_dialect_watch_ms(struct agent_dialect_io *io, uint32_t ms); /* pace of watch() (per worker) */
void agent_dialect_count(struct agent_dialect_io *io, enum agent_dialect_counter c); /* see below */
/* a template with the connection's variables ({conn} {agent} {target} {csv.COL}, captures):
 * bytes written (NUL-terminated), -1 when it does not fit */
int  agent_dialect_expand(struct agent_dialect_io *io, const char *tpl, char *out, size_t cap);
const struct ps_assign *agent_dialect_assign(const struct agent_dialect_io *io);
uint32_t agent_dialect_conn_id(const struct agent_dialect_io *io);
int64_t  agent_dialect_now_us(const struct agent_dialect_io *io);   /* mono */
/* mono ms in 32 bits (wraps after 49 days): for the few-byte timestamps of dialect state,
 * compared by unsigned difference */
uint32_t agent_dialect_now_ms(const struct agent_dialect_io *io);
/* (added) the URL's host of the connection's target, as written (STOMP's host header default) */
const char *agent_dialect_host(const struct agent_dialect_io *io);

/* The dialects (agent/dialect_NAME.c), each named on its line of the table in dialect.c. */
extern const struct agent_dialect agent_dialect_socketio;
extern const struct agent_dialect agent_dialect_mqtt;
extern const struct agent_dialect agent_dialect_stomp;

/* ---------- the rest of the agent's side (conn.c, session.c, keepalive.c, worker.c, ctl.c) ---------- */

struct agent_worker;
struct lws;

/* The dialects built into this agent: PS_PROTOCOL_COUNT entries by enum ps_protocol (NULL: not
 * built in; websocket has none). A table is passed in so that the unit tests can bring theirs. */
const struct agent_dialect *const *agent_dialect_builtin(void);

/* per connection, the framework's own part (allocated beside the dialects' state) */
struct agent_dialect_conn {
    uint32_t ka_sent;             /* worker-relative mono us (wraps): the keepalive outstanding */
    uint32_t pay_bytes;           /* bytes so far of the current payload (max_message) */
    uint32_t aux;                 /* agent_dialect_fail's aux, for the failed or closed event */
    uint8_t  flags;               /* enum agent_dialect_cflag (dialect.c) */
};

/* One worker's dialects for the assignment (worker.c embeds it; dialect.c owns it). */
struct agent_dialect_set {
    const struct agent_dialect *by_target[PS_MAX_TARGETS];   /* NULL: websocket */
    struct agent_dialect_conn *conn;   /* n_conns; NULL when no target speaks a protocol */
    unsigned char *state;              /* n_conns * stride: each slot's dialect state */
    uint32_t stride;                   /* the largest state_bytes in use */
    int any_keepalive, any_watch;      /* a dialect in use has the op */
    uint32_t watch_ms;                 /* pace of the watch sweep; 0 = no dialect asked */
    int64_t watch_t0_us;               /* mono: the watch sweep's start at this pace */
    uint64_t watch_pos, ka_pos, ka_check_pos;   /* sweep cursors (keepalive.c) */
};

/* control thread, at ASSIGN: every target's protocol is built in, and each one used accepts
 * the options (its prepare); -1 with err naming the protocol */
int  agent_dialect_prepare(const struct ps_assign *a, const struct agent_dialect *const *table,
                           char *err, size_t errlen);
/* worker thread, at ASSIGN (after n_conns is set): -1 out of memory */
int  agent_dialect_alloc(struct agent_worker *w, const struct agent_dialect *const *table);
void agent_dialect_release(struct agent_worker *w);
/* the slot's dialect; NULL for websocket (callers test w->dl.conn first: no cost without dialects) */
const struct agent_dialect *agent_dialect_of(const struct agent_worker *w, uint32_t slot);
void agent_dialect_open(struct agent_worker *w, uint32_t slot);            /* session.c */
void agent_dialect_rx(struct agent_worker *w, uint32_t slot, const struct agent_conn_piece *p);
/* one frame of the dialect's (its goodbye first when closing): 1 written, 0 nothing, -1 write error */
int  agent_dialect_writeable(struct agent_worker *w, uint32_t slot);
void agent_dialect_closing(struct agent_worker *w, uint32_t slot, uint8_t reason); /* agent_conn_close */
uint32_t agent_dialect_aux(const struct agent_worker *w, uint32_t slot);   /* for the event */
int  agent_dialect_frame_send(struct agent_worker *w, uint32_t slot, const char *text, size_t len,
                              unsigned char *out, size_t cap, int *binary);
/* keepalive.c's sweeps: the keepalive due, its answer overdue, the watchdog */
void agent_dialect_ka_visit(struct agent_worker *w, uint32_t slot);
void agent_dialect_ka_check(struct agent_worker *w, uint32_t slot);
void agent_dialect_watch_visit(struct agent_worker *w, uint32_t slot, int64_t now);

#endif
