/* dialect_socketio.c: Socket.IO v4 over Engine.IO v4 on the WebSocket
 * transport (the target's URL is the server's /socket.io/?EIO=4&transport=
 * websocket), over the codec of eio_wire.c.
 *
 * The server speaks first: its open packet gives the ping interval and
 * timeout and the largest packet it takes. We answer with the namespace
 * connect (protocol_options.namespace, "/" by default) carrying the auth
 * template expanded for this connection (protocol_options.auth: a JSON
 * object such as {"user":"{conn}"}), and the connection is ready when the
 * connect ack comes back; a connect_error is proto_refused.
 *
 * In v4 the server pings and the client answers: every "2" gets a "3" (the
 * pongs owed coalesce into one, which is all the server's timer wants) and
 * is counted. The watchdog is the client's side of the same contract: no
 * ping within pingInterval + pingTimeout of the last one (or of the open
 * packet) is proto_keepalive, checked by the framework's paced sweep at
 * pingTimeout / 2, so it costs nothing per tick. An Engine.IO close or a
 * Socket.IO disconnect from the server is proto_close; anything malformed is
 * proto_error with the codec's reason (enum eio_err) as aux, or one of ours
 * below (SIO_ERR_*).
 *
 * Events reach the framework as payload: their JSON array, name included,
 * byte for byte (the push token inside is found by the usual scan). An event
 * that asks for an ack (an emit with a callback, emitWithAck) is answered by
 * the protocol itself, "43<id>[]", no arguments: the ack tells the server the
 * event arrived, which is what a load test can vouch for; a plan wanting an
 * answer with data sends its own event with session.ack. The ids owed wait in
 * a ring of SIO_ACK_RING; more than that at once is refused (proto_error
 * SIO_ERR_ACK_BACKLOG), never dropped. Our clean close says "41" first.
 *
 * State per connection: struct sio_state, 68 bytes (checked below). */
#include "agent.h"
#include "dialect.h"
#include "eio_wire.h"

#include <stdio.h>
#include <string.h>

#define SIO_ACK_RING 8

enum sio_phase {             /* sio_state.phase */
    SIO_P_OPEN = 0,          /* waiting for the open packet */
    SIO_P_CONNECT,           /* the namespace connect is to be written */
    SIO_P_CONNECT_ACK,       /* waiting for its ack */
    SIO_P_READY,             /* connected to the namespace */
};

enum sio_err {               /* proto_error aux past the codec's (enum eio_err) */
    SIO_ERR_ORDER = 100,     /* a packet out of its place (an event before the connect ack, ...) */
    SIO_ERR_ACK_BACKLOG,     /* more than SIO_ACK_RING acks owed at once */
    SIO_ERR_AUTH_SIZE,       /* the connect packet does not fit the frame or the server's maxPayload */
};

struct sio_state {
    struct eio_rx rx;                 /* the reader, and the open packet's numbers */
    uint32_t ping_ms;                 /* mono ms (wraps): the last ping, or the open packet */
    uint32_t acks[SIO_ACK_RING];      /* ack ids owed, oldest at acks[ack_head] */
    uint8_t  phase;                   /* enum sio_phase */
    uint8_t  pong_owed;
    uint8_t  ack_head, ack_n;
};
_Static_assert(sizeof(struct sio_state) == 68, "docs/protocols.md and the report say 68 bytes");

static const char *sio_nsp(const struct ps_assign *a)
{
    return a->proto_namespace[0] ? a->proto_namespace : "/";
}

/* The options at ASSIGN: a namespace Socket.IO can name, an auth that is an object. */
static int sio_prepare(const struct ps_assign *a, char *err, size_t errlen)
{
    const char *nsp = sio_nsp(a);
    if (nsp[0] != '/' || strchr(nsp, ',') || strchr(nsp, '?')) {
        snprintf(err, errlen, "namespace \"%s\": must start with '/' and hold no ',' or '?'", nsp);
        return -1;
    }
    const char *auth = a->proto_auth;
    size_t n = strlen(auth);
    while (n && (auth[n - 1] == ' ' || auth[n - 1] == '\n'))
        n--;
    while (n && (*auth == ' ' || *auth == '\n'))
        auth++, n--;
    if (n && (auth[0] != '{' || auth[n - 1] != '}')) {
        snprintf(err, errlen, "auth \"%s\": Socket.IO's auth payload is a JSON object {...}",
                 a->proto_auth);
        return -1;
    }
    for (uint32_t t = 0; t < a->n_target_protocol && t < a->n_targets; t++)
        if (a->target_protocol[t] == PS_PROTOCOL_SOCKETIO &&
            (!strstr(a->targets[t], "EIO=4") || !strstr(a->targets[t], "transport=websocket"))) {
            snprintf(err, errlen, "target %u: %s: a socketio URL asks for Engine.IO 4 on the "
                     "WebSocket transport: ws://HOST/socket.io/?EIO=4&transport=websocket", t,
                     a->targets[t]);
            return -1;
        }
    return 0;
}

static void sio_open(void *st, struct agent_dialect_io *io)
{
    (void)st;
    (void)io;                         /* the server speaks first: its open packet */
}

static void sio_fail(struct agent_dialect_io *io, uint32_t aux)
{
    agent_dialect_fail(io, PS_REASON_PROTO_ERROR, aux);
}

/* A complete packet of the server's, in its place or not. */
static void sio_packet(struct sio_state *s, struct agent_dialect_io *io, const struct eio_rx_out *o)
{
    switch (o->kind) {
    case EIO_K_OPEN:
        if (s->phase != SIO_P_OPEN)
            return sio_fail(io, SIO_ERR_ORDER);
        s->phase = SIO_P_CONNECT;
        s->ping_ms = agent_dialect_now_ms(io);
        agent_dialect_watch_ms(io, s->rx.ping_timeout_ms / 2 ? s->rx.ping_timeout_ms / 2 : 1);
        agent_dialect_want_write(io);
        return;
    case EIO_K_PING:
        if (s->phase == SIO_P_OPEN)
            return sio_fail(io, SIO_ERR_ORDER);
        agent_dialect_count(io, AGENT_DC_SERVER_PING);
        s->ping_ms = agent_dialect_now_ms(io);
        s->pong_owed = 1;
        agent_dialect_want_write(io);
        return;
    case EIO_K_CLOSE:
    case EIO_K_DISCONNECT:
        return agent_dialect_fail(io, PS_REASON_PROTO_CLOSE, 0);
    case EIO_K_CONNECT_ERROR:
        return agent_dialect_fail(io, PS_REASON_PROTO_REFUSED, 0);
    case EIO_K_CONNECT:
        if (s->phase != SIO_P_CONNECT_ACK)
            return sio_fail(io, SIO_ERR_ORDER);
        s->phase = SIO_P_READY;
        agent_dialect_ready(io);
        return;
    case EIO_K_EVENT:
        if (!o->has_ack)
            return;
        if (s->ack_n == SIO_ACK_RING)
            return sio_fail(io, SIO_ERR_ACK_BACKLOG);
        s->acks[(s->ack_head + s->ack_n++) % SIO_ACK_RING] = o->ack_id;
        agent_dialect_want_write(io);
        return;
    default:                          /* pong, noop, the server's acks to our emits */
        return;
    }
}

static void sio_rx(void *st, struct agent_dialect_io *io, const struct agent_conn_piece *p)
{
    struct sio_state *s = st;
    struct eio_rx_out o;
    int err = eio_rx_piece(&s->rx, sio_nsp(agent_dialect_assign(io)), p->in, p->len, p->first,
                           p->final, p->binary, &o);
    if (err != EIO_OK)
        return sio_fail(io, (uint32_t)err);
    if (o.kind == EIO_K_EVENT && s->phase != SIO_P_READY)
        return sio_fail(io, SIO_ERR_ORDER);
    if (o.len || (o.done && o.kind == EIO_K_EVENT))
        agent_dialect_payload(io, o.data ? o.data : (const unsigned char *)"", o.len, o.data_first,
                              o.done);
    if (o.done)
        sio_packet(s, io, &o);
}

/* The namespace connect, with this connection's auth. */
static int sio_connect(struct sio_state *s, struct agent_dialect_io *io, char *out, size_t cap)
{
    const struct ps_assign *a = agent_dialect_assign(io);
    int n = eio_put_connect(out, cap, sio_nsp(a), "");
    int m = n < 0 ? -1 : agent_dialect_expand(io, a->proto_auth, out + n, cap - (size_t)n);
    if (m < 0 || (s->rx.max_payload && (uint32_t)(n + m) > s->rx.max_payload)) {
        sio_fail(io, SIO_ERR_AUTH_SIZE);
        return -1;
    }
    s->phase = SIO_P_CONNECT_ACK;
    return n + m;
}

/* One message: the pong first (the server's timer is running), then the connect, then acks. */
static int sio_write(void *st, struct agent_dialect_io *io, unsigned char *out, size_t cap,
                     int *binary)
{
    struct sio_state *s = st;
    char *o = (char *)out;
    int n = 0;
    *binary = 0;
    if (s->pong_owed) {
        s->pong_owed = 0;
        n = eio_put_pong(o, cap);
    } else if (s->phase == SIO_P_CONNECT)
        return sio_connect(s, io, o, cap);
    else if (s->ack_n) {
        n = eio_put_ack(o, cap, sio_nsp(agent_dialect_assign(io)), s->acks[s->ack_head]);
        s->ack_head = (uint8_t)((s->ack_head + 1) % SIO_ACK_RING);
        s->ack_n--;
        agent_dialect_count(io, AGENT_DC_PROTO_ACK);
    } else
        return 0;
    if (n < 0) {                      /* the framework's buffer holds far more than these */
        sio_fail(io, SIO_ERR_AUTH_SIZE);
        return -1;
    }
    if (s->pong_owed || s->phase == SIO_P_CONNECT || s->ack_n)
        agent_dialect_want_write(io);
    return n;
}

static void sio_watch(void *st, struct agent_dialect_io *io, int64_t now_us)
{
    struct sio_state *s = st;
    if (s->phase == SIO_P_OPEN)
        return;                       /* the handshake's own deadline covers it */
    uint32_t since = (uint32_t)(now_us / 1000) - s->ping_ms;
    if (since > s->rx.ping_interval_ms + s->rx.ping_timeout_ms)
        agent_dialect_fail(io, PS_REASON_PROTO_KEEPALIVE, since);
}

static int sio_goodbye(void *st, struct agent_dialect_io *io, unsigned char *out, size_t cap,
                       int *binary)
{
    struct sio_state *s = st;
    *binary = 0;
    if (s->phase != SIO_P_READY)
        return 0;
    int n = eio_put_disconnect((char *)out, cap, sio_nsp(agent_dialect_assign(io)));
    return n < 0 ? 0 : n;
}

const struct agent_dialect agent_dialect_socketio = {
    .name = "socketio",
    .subprotocol = NULL,
    .state_bytes = sizeof(struct sio_state),
    .prepare = sio_prepare,
    .open = sio_open,
    .rx = sio_rx,
    .write = sio_write,
    .keepalive = NULL,                /* the server pings in v4 */
    .watch = sio_watch,
    .goodbye = sio_goodbye,
    .frame_send = NULL,               /* session sends are whole packets: 42["join","room"] */
};
