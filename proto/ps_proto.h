/* ps_proto: every message between agent and controller, encoded as msgpack.
 *
 * This is the one place that knows the wire format; docs/protocol.md describes it
 * message by message. Every message is a msgpack array whose first two elements
 * are the protocol version and the message type, so a peer of another version is
 * rejected with a clear error instead of being misread.
 *
 * Two channels (see docs/protocol.md):
 *   control  agent REQ -> controller REP: HELLO/WELCOME, then TICK/REPLY every
 *            200 ms carrying stats, clock-sync timestamps, acks and commands.
 *   data     agent PUSH -> controller PULL: EVENTS batches with a per-thread
 *            sequence number; the controller acks the highest contiguous sequence
 *            in REPLY and the agent resends what was not acked.
 *
 * Structs use fixed-size arrays so that decoding never allocates and a decoded
 * message has no lifetime tied to the buffer it came from. Encoders write into a
 * caller-owned msgpack_sbuffer (reused between messages; clear it first).
 * Decoders return 0 on success or -1 with a reason in err: truncated input, wrong
 * version, wrong type, a field of the wrong type or out of range. */
#ifndef PS_PROTO_H
#define PS_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#define PS_PROTO_VERSION   1
#define PS_VERSION_STRING  "0.1.0"

#define PS_NAME_MAX        64      /* agent name, host name (incl. NUL) */
#define PS_IP_MAX          46      /* textual IPv6 + NUL */
#define PS_MAX_IPS         64      /* local / source IPs listed in hello or assignment */
#define PS_MAX_THREADS     64      /* event loops per agent */
#define PS_URL_MAX         512     /* URL / template strings */
#define PS_MAX_TARGETS     64
#define PS_MAX_HEADERS     8
#define PS_HDR_MAX         256     /* header name or value template */
#define PS_TEXT_MAX        256     /* heartbeat text / expected reply */
#define PS_REASON_MAX      160     /* human-readable refusal */
#define PS_EVENTS_MAX      1024    /* events per batch */

enum ps_msg_type {
    PS_MSG_HELLO   = 1, /* agent -> controller (control) */
    PS_MSG_WELCOME = 2, /* controller -> agent (control) */
    PS_MSG_TICK    = 3, /* agent -> controller (control) */
    PS_MSG_REPLY   = 4, /* controller -> agent (control) */
    PS_MSG_EVENTS  = 5, /* agent -> controller (data) */
};

/* ---- HELLO: who the agent is and what it can hold (preflight). ---- */
struct ps_hello {
    char     name[PS_NAME_MAX];
    char     host[PS_NAME_MAX];
    char     version[32];
    uint32_t cores;
    uint32_t threads;            /* event loops it will run */
    uint64_t fd_soft;            /* RLIMIT_NOFILE after raising soft to hard */
    uint64_t fd_hard;
    uint64_t mem_total;          /* bytes */
    uint64_t mem_available;      /* bytes */
    uint32_t port_lo, port_hi;   /* ip_local_port_range */
    uint32_t monitor;            /* 1 = monitor agent (holds no connections) */
    uint32_t n_ips;
    char     ips[PS_MAX_IPS][PS_IP_MAX];  /* local or --source-ips addresses */
    int64_t  t_send;             /* agent wall clock, us */
};

/* ---- WELCOME: the controller registered the agent. ---- */
struct ps_welcome {
    uint32_t agent_id;           /* 0 = refused, see reason */
    int64_t  t_recv, t_send;     /* controller wall clock, us */
    char     reason[PS_REASON_MAX];
};

/* ---- per-second statistics an agent reports (one closed second). ---- */
struct ps_stats {
    int64_t  second;             /* agent wall-clock second this window covers; 0 = none yet */
    uint32_t connected;          /* gauge at end of second */
    uint32_t connecting;         /* gauge: handshakes in flight */
    uint64_t opened;             /* cumulative successful handshakes */
    uint64_t failed;             /* cumulative connect/handshake failures */
    uint64_t closed;             /* cumulative closes of established connections */
    uint64_t messages;           /* cumulative pushed messages recognised */
    uint64_t pings, pongs, pong_missed;  /* cumulative RFC 6455 heartbeat */
    uint64_t hb_sent, hb_missed; /* cumulative app-level heartbeat */
    uint32_t rtt_p50_us, rtt_p99_us;     /* ping RTT in this second */
    uint32_t hs_p50_us, hs_p99_us;       /* handshake time in this second */
    uint32_t lat_p50_us, lat_p99_us;     /* push latency seen by agent (offset-corrected) */
    uint32_t lag_max_us;         /* worst event-loop lag over threads */
    uint32_t cpu_pct_x100;       /* process CPU, percent of one core * 100 */
    uint64_t rss_bytes;
    uint32_t saturated;          /* 1 = loop lag above threshold */
};

/* ---- host and process metrics (one closed second), from every agent; the
 * ones from monitor agents (--monitor, on the servers under test) are stored. */
struct ps_hostmon {
    uint32_t cpu_pct_x100;       /* whole machine busy, percent of all cores * 100 */
    uint32_t load1_x100;         /* 1-minute load average * 100 */
    uint64_t mem_total, mem_available;   /* bytes */
    uint32_t tcp_inuse, tcp_orphan, tcp_tw, tcp_alloc;   /* /proc/net/sockstat */
    uint64_t tcp_mem_bytes;      /* kernel memory of TCP sockets */
    uint32_t pid;                /* watched process; 0 = none (or not found) */
    uint32_t proc_cpu_pct_x100;  /* percent of one core * 100 */
    uint64_t proc_rss;           /* bytes */
    uint32_t proc_fds, proc_threads;
};

/* ---- TICK: agent -> controller every 200 ms. ---- */
struct ps_tick {
    uint32_t agent_id;
    int64_t  t_send;             /* T1: agent wall clock */
    int64_t  offset_us;          /* best clock offset estimate (controller - agent) */
    int64_t  offset_err_us;      /* its error bound (half the min RTT) */
    uint32_t cmd_done;           /* id of the last command applied (or refused) */
    char     cmd_error[PS_REASON_MAX]; /* non-empty: that command was refused, why */
    uint32_t n_threads;
    uint64_t batch_seq[PS_MAX_THREADS]; /* last batch sequence sent, per thread */
    uint32_t stopped;            /* 1 = all connections closed and events flushed */
    struct ps_stats stats;
    struct ps_hostmon host;
};

/* ---- commands carried by REPLY ---- */
enum ps_cmd_kind {
    PS_CMD_NONE       = 0,
    PS_CMD_ASSIGN     = 1, /* connection range, targets, heartbeat: ps_assign */
    PS_CMD_RAMP       = 2, /* open connections up to `to` at `rate`, from start_at */
    PS_CMD_DISCONNECT = 3, /* close `fraction` of live connections (client side) */
    PS_CMD_STOP       = 4, /* close everything, flush events, report stopped */
};

struct ps_header_tpl { char name[PS_HDR_MAX]; char value[PS_HDR_MAX]; };

struct ps_assign {
    uint32_t run_id;
    uint32_t conn_first;         /* global id of this agent's first connection */
    uint32_t conn_count;         /* connections it owns (the ramps open up to this) */
    uint32_t n_targets;
    char     targets[PS_MAX_TARGETS][PS_URL_MAX];   /* ws URL templates: {conn} {agent} {target} */
    char     subprotocol[PS_HDR_MAX];                /* may be empty */
    uint32_t n_headers;
    struct ps_header_tpl headers[PS_MAX_HEADERS];
    uint32_t ws_ping_ms;         /* 0 = off */
    uint32_t pong_timeout_ms;
    char     hb_text[PS_TEXT_MAX];   /* empty = no app heartbeat */
    char     hb_expect[PS_TEXT_MAX];
    uint32_t hb_interval_ms;
    uint32_t hb_timeout_ms;
    uint32_t reconnect_min_ms;   /* 0 = no reconnect */
    uint32_t reconnect_max_ms;
    uint32_t reconnect_attempts; /* 0 = unlimited */
    uint32_t max_inflight;       /* handshakes in flight per agent */
    uint32_t max_message;        /* bytes; larger messages close the connection */
};

struct ps_ramp { uint32_t to; double rate; int64_t start_at; }; /* to: agent-local count */
struct ps_disconnect { double fraction; uint32_t close_code; int64_t start_at; };

struct ps_cmd {
    uint32_t id;                 /* increasing per agent; 0 = no command */
    uint32_t kind;               /* enum ps_cmd_kind */
    union {
        struct ps_assign     assign;
        struct ps_ramp       ramp;
        struct ps_disconnect disconnect;
    } u;
};

/* ---- REPLY: controller -> agent, answers each TICK. ---- */
struct ps_reply {
    int64_t  t_recv, t_send;     /* T2, T3: controller wall clock */
    uint32_t n_acks;
    uint64_t acked_seq[PS_MAX_THREADS];  /* highest contiguous batch seq per thread */
    uint32_t unknown_agent;      /* 1 = controller does not know this agent: say hello again */
    struct ps_cmd cmd;           /* next command not yet done, or id 0 */
};

/* ---- EVENTS: one batch of per-connection events. ---- */
enum ps_ev_type {
    PS_EV_CONNECTED   = 1, /* val = handshake time us */
    PS_EV_FAILED      = 2, /* val = enum ps_reason, aux = HTTP status or errno or 0 */
    PS_EV_CLOSED      = 3, /* val = enum ps_reason, aux = close code (0 = none) */
    PS_EV_MESSAGE     = 4, /* val = message id, aux = 0 */
    PS_EV_PONG_MISSED = 5, /* val = ms since ping */
    PS_EV_HB_MISSED   = 6, /* app heartbeat reply missing */
    PS_EV_RECONNECT   = 7, /* val = attempt number, aux = delay ms */
    PS_EV_FOREIGN     = 8, /* a token from another run: val = msg id, aux = run id */
};

enum ps_reason {
    PS_REASON_NONE = 0,
    PS_REASON_REFUSED,          /* TCP connection refused */
    PS_REASON_TIMEOUT,          /* connect or handshake timeout */
    PS_REASON_HTTP_STATUS,      /* upgrade answered with non-101; aux = status */
    PS_REASON_BAD_ACCEPT,       /* wrong Sec-WebSocket-Accept */
    PS_REASON_HANDSHAKE,        /* other handshake failure */
    PS_REASON_PROTOCOL,         /* framing violation: dropped by lws */
    PS_REASON_TOO_BIG,          /* message over max_message */
    PS_REASON_BAD_UTF8,         /* invalid UTF-8 in a text frame */
    PS_REASON_RESET,            /* connection reset / EOF mid-stream */
    PS_REASON_SERVER_CLOSE,     /* server sent Close; aux = code */
    PS_REASON_CLIENT_CLOSE,     /* we closed (disconnect command or stop) */
    PS_REASON_PONG_TIMEOUT,     /* no pong within deadline: we closed */
    PS_REASON_HB_TIMEOUT,       /* no heartbeat reply: we closed */
    PS_REASON_NO_STATUS,        /* close frame without status code */
    PS_REASON_OTHER,
    PS_REASON_COUNT
};
const char *ps_reason_name(uint32_t reason);
const char *ps_ev_type_name(uint32_t type);

struct ps_event {
    uint32_t conn;               /* global connection id */
    uint32_t type;               /* enum ps_ev_type */
    int64_t  ts;                 /* agent wall clock, us */
    uint64_t val;
    uint32_t aux;
};

struct ps_events {
    uint32_t agent_id;
    uint32_t thread;
    uint64_t seq;                /* per (agent, thread), from 1, contiguous */
    uint32_t run_id;
    uint32_t n;
    struct ps_event ev[PS_EVENTS_MAX];
};

/* ---- encoding ---- */
int ps_proto_encode_hello(msgpack_sbuffer *out, const struct ps_hello *m);
int ps_proto_encode_welcome(msgpack_sbuffer *out, const struct ps_welcome *m);
int ps_proto_encode_tick(msgpack_sbuffer *out, const struct ps_tick *m);
int ps_proto_encode_reply(msgpack_sbuffer *out, const struct ps_reply *m);
int ps_proto_encode_events(msgpack_sbuffer *out, const struct ps_events *m);

/* ---- decoding: peek the type, then decode into the matching struct ---- */
int ps_proto_peek_type(const void *buf, size_t len, uint32_t *type, char *err, size_t errlen);
int ps_proto_decode_hello(const void *buf, size_t len, struct ps_hello *m, char *err, size_t errlen);
int ps_proto_decode_welcome(const void *buf, size_t len, struct ps_welcome *m, char *err, size_t errlen);
int ps_proto_decode_tick(const void *buf, size_t len, struct ps_tick *m, char *err, size_t errlen);
int ps_proto_decode_reply(const void *buf, size_t len, struct ps_reply *m, char *err, size_t errlen);
int ps_proto_decode_events(const void *buf, size_t len, struct ps_events *m, char *err, size_t errlen);

/* ---- the token embedded in every pushed message ----
 * Text form: "~ps.<run>.<msg>.<t_send_us>~" using only characters that JSON,
 * URL-encoding-free bodies and most wrappers leave alone. The agent finds it with
 * a streaming matcher (ps_token_scan) that keeps its state in a few bytes of the
 * connection, so a token split across frame fragments is still found. */
#define PS_TOKEN_MAX 64
int ps_token_format(char *buf, size_t len, uint32_t run, uint32_t msg, int64_t t_send_us);

struct ps_token_state {
    uint64_t acc;                /* digits of the field being read */
    uint32_t run;                /* run id, once read */
    uint32_t msg;                /* message id, once read */
    uint8_t  phase;              /* position in the token grammar */
};
struct ps_token { uint32_t run; uint32_t msg; int64_t t_send_us; };
/* Scan data; on each complete token found call cb(ctx, &token). Returns tokens found.
 * Call ps_token_reset at the start of each message. */
void ps_token_reset(struct ps_token_state *st);
int  ps_token_scan(struct ps_token_state *st, const char *data, size_t len,
                   void (*cb)(void *ctx, const struct ps_token *tok), void *ctx);

#endif
