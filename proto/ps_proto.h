/* ps_proto: every message between agent and controller, encoded as msgpack.
 *
 * This is the one place that knows the wire format; docs/protocol.md describes it
 * message by message. Every message is a msgpack array whose first two elements
 * are the protocol version and the message type, so a peer of another version is
 * rejected with a clear error instead of being misread.
 *
 * Two channels (see docs/protocol.md):
 *   control  agent REQ -> controller REP: HELLO/WELCOME, then TICK/REPLY every
 *            200 ms (once a second when a REPLY says idle_ms) carrying stats,
 *            clock-sync timestamps, acks and commands.
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

#include "ps_auth.h"

#define PS_PROTO_VERSION   5
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
/* per-connection data (connections.data): columns, and the bytes of values one
 * DATA command carries (no bigger than an ASSIGN, so struct ps_cmd keeps its size) */
#define PS_CSV_COLS        16
#define PS_CSV_NAME_MAX    32
#define PS_DATA_CHUNK      32768
#define PS_MAX_TLS         8       /* distinct TLS settings in one plan (plan-wide + per target) */
#define PS_PATH_MAX        256     /* file or directory path (TLS files) */
/* client protocols (issue 13): what a target speaks over its WebSocket */
enum ps_protocol {
    PS_PROTOCOL_WEBSOCKET = 0,   /* today's: the messages are the pushes */
    PS_PROTOCOL_SOCKETIO,
    PS_PROTOCOL_MQTT,
    PS_PROTOCOL_STOMP,
    PS_PROTOCOL_COUNT
};
#define PS_PROTO_SUBSCRIBE_MAX 8   /* protocol_options.subscribe entries */
const char *ps_protocol_name(uint32_t protocol);   /* the plan's word; "unknown" past the end */

enum ps_msg_type {
    PS_MSG_HELLO   = 1, /* agent -> controller (control) */
    PS_MSG_WELCOME = 2, /* controller -> agent (control) */
    PS_MSG_TICK    = 3, /* agent -> controller (control) */
    PS_MSG_REPLY   = 4, /* controller -> agent (control) */
    PS_MSG_EVENTS  = 5, /* agent -> controller (data) */
    /* authentication (issue 11) */
    PS_MSG_CHALLENGE = 6, /* controller -> agent (control): answers a first HELLO */
};

/* ---- the field tables ----
 * Each message and each struct nested in one is declared once, as a list of
 * X(kind, name, args...) in wire order; the struct below, its encoder, its
 * decoder (type and range checks, arity) and the samples table of the store
 * (controller/store.c) are all expanded from the list. Kinds:
 *   U32, U64, I64        integers (msgpack picks the narrowest form)
 *   FLAG                 uint32_t, 0 or 1
 *   UMAX(max)            uint32_t, at most max
 *   SEQ                  uint64_t batch sequence, from 1
 *   X100(column)         uint32_t value * 100; the store keeps value / 100 as REAL `column`
 *   F64(lo, hi)          finite double in [lo, hi]
 *   STR(cap)             char[cap], NUL-terminated
 *   STRS(count, max, cap)       uint32_t count + char[max][cap]: one array of count strings
 *   U64S(count, max)            uint32_t count + uint64_t[max]: one array of count integers
 *   SUB(type)            struct ps_<type>, a nested array of its fields
 *   SUBS(count, max, type)      uint32_t count + struct ps_<type>[max]: array of nested arrays
 *   CMD                  struct ps_cmd: [id, kind, the kind's fields...]
 * Changing a list changes the wire: bump PS_PROTO_VERSION. */
#define PS_FIELD_DECL(kind, name, ...) PS_DECL_##kind(name, __VA_ARGS__)
#define PS_DECL_U32(name, ...)                uint32_t name;
#define PS_DECL_U64(name, ...)                uint64_t name;
#define PS_DECL_I64(name, ...)                int64_t name;
#define PS_DECL_FLAG(name, ...)               uint32_t name;
#define PS_DECL_UMAX(name, max)               uint32_t name;
#define PS_DECL_SEQ(name, ...)                uint64_t name;
#define PS_DECL_X100(name, column)            uint32_t name;
#define PS_DECL_F64(name, lo, hi)             double name;
#define PS_DECL_STR(name, cap)                char name[cap];
#define PS_DECL_STRS(name, count, max, cap)   uint32_t count; char name[max][cap];
#define PS_DECL_U64S(name, count, max)        uint32_t count; uint64_t name[max];
#define PS_DECL_SUB(name, type)               struct ps_##type name;
#define PS_DECL_SUBS(name, count, max, type)  uint32_t count; struct ps_##type name[max];
#define PS_DECL_CMD(name, ...)                struct ps_cmd name;

/* ---- HELLO: who the agent is and what it can hold (preflight). ---- */
#define PS_HELLO_FIELDS(X)                                                      \
    X(STR, name, PS_NAME_MAX)                                                   \
    X(STR, host, PS_NAME_MAX)                                                   \
    X(STR, version, 32)                                                         \
    X(U32, cores)                                                               \
    X(UMAX, threads, PS_MAX_THREADS)      /* event loops it will run */          \
    X(U64, fd_soft)                       /* RLIMIT_NOFILE after raising soft to hard */ \
    X(U64, fd_hard)                                                             \
    X(U64, mem_total)                     /* bytes */                           \
    X(U64, mem_available)                 /* bytes */                           \
    X(U32, port_lo)                       /* ip_local_port_range */             \
    X(U32, port_hi)                                                             \
    X(FLAG, monitor)                      /* 1 = monitor agent (holds no connections) */ \
    X(STRS, ips, n_ips, PS_MAX_IPS, PS_IP_MAX)  /* local or --source-ips addresses */ \
    X(I64, t_send)                        /* agent wall clock, us */        \
    /* authentication (issue 11): common/ps_auth.h */                          \
    X(STR, auth_nonce, PS_AUTH_HEX)       /* na: fresh per hello exchange */    \
    X(STR, auth_challenge, PS_AUTH_HEX)   /* nc from the CHALLENGE; "" = first hello */ \
    X(STR, auth_mac, PS_AUTH_HEX)         /* HMAC(K, agent, na, nc); "" = first hello */
struct ps_hello { PS_HELLO_FIELDS(PS_FIELD_DECL) };

/* ---- WELCOME: the controller registered the agent. ---- */
#define PS_WELCOME_FIELDS(X)                                                    \
    X(U32, agent_id)                      /* 0 = refused, see reason */         \
    X(I64, t_recv)                        /* controller wall clock, us */       \
    X(I64, t_send)                                                              \
    X(STR, reason, PS_REASON_MAX)
struct ps_welcome { PS_WELCOME_FIELDS(PS_FIELD_DECL) };

/* ---- CHALLENGE (authentication, issue 11): the controller's nonce and its
 * proof of the key; the agent answers with a second HELLO. ---- */
#define PS_CHALLENGE_FIELDS(X)                                                  \
    X(STR, nonce, PS_AUTH_HEX)            /* nc */                              \
    X(STR, mac, PS_AUTH_HEX)              /* HMAC(K, controller, na, nc) */     \
    X(FLAG, keyed)                        /* 0 = the controller has no key */
struct ps_challenge { PS_CHALLENGE_FIELDS(PS_FIELD_DECL) };

/* ---- per-second statistics an agent reports (one closed second); also the
 * columns of the store's samples table, after run_id and agent_id. ---- */
#define PS_STATS_FIELDS(X)                                                      \
    X(I64, second)            /* agent wall-clock second this window covers; 0 = none yet */ \
    X(U32, connected)         /* gauge at end of second */                      \
    X(U32, connecting)        /* gauge: handshakes in flight */                 \
    X(U64, opened)            /* cumulative successful handshakes */            \
    X(U64, failed)            /* cumulative connect/handshake failures */       \
    X(U64, closed)            /* cumulative closes of established connections */ \
    X(U64, messages)          /* cumulative pushed messages recognised */       \
    X(U64, pings)             /* cumulative RFC 6455 heartbeat */               \
    X(U64, pongs)                                                               \
    X(U64, pong_missed)                                                         \
    X(U64, hb_sent)           /* cumulative app-level heartbeat */              \
    X(U64, hb_missed)                                                           \
    X(U32, rtt_p50_us)        /* ping RTT in this second */                     \
    X(U32, rtt_p99_us)                                                          \
    X(U32, hs_p50_us)         /* handshake time in this second */               \
    X(U32, hs_p99_us)                                                           \
    X(U32, lat_p50_us)        /* push latency seen by agent (offset-corrected) */ \
    X(U32, lat_p99_us)                                                          \
    X(U32, lag_max_us)        /* worst event-loop lag over threads */           \
    X(X100, cpu_pct_x100, cpu_pct)  /* process CPU, percent of one core * 100 */ \
    X(U64, rss_bytes)                                                           \
    X(FLAG, saturated)        /* 1 = loop lag above threshold */ \
    /* scripted sessions: the app heartbeat's round trip, like rtt for pings */ \
    X(U32, hb_rtt_p50_us)                                                       \
    X(U32, hb_rtt_p99_us)                                                       \
    X(U64, acks)              /* cumulative acks sent for received pushes */    \
    X(U64, acks_dropped)      /* cumulative: more pushes unacked than the queue holds */ \
    /* client protocols (issue 13): cumulative, from the dialects (agent/dialect.h) */ \
    X(U64, proto_duplicates)  /* redeliveries the protocol flagged (MQTT DUP) */  \
    X(U64, proto_acks)        /* protocol acks sent (MQTT PUBACK, STOMP ACK, Socket.IO ack) */ \
    X(U64, proto_pings)       /* server pings answered (Engine.IO ping -> pong) */
struct ps_stats { PS_STATS_FIELDS(PS_FIELD_DECL) };

/* ---- host and process metrics (one closed second), from every agent; the
 * ones from monitor agents (--monitor, on the servers under test) are stored. */
#define PS_HOSTMON_FIELDS(X)                                                    \
    X(U32, cpu_pct_x100)      /* whole machine busy, percent of all cores * 100 */ \
    X(U32, load1_x100)        /* 1-minute load average * 100 */                 \
    X(U64, mem_total)         /* bytes */                                       \
    X(U64, mem_available)                                                       \
    X(U32, tcp_inuse)         /* /proc/net/sockstat */                          \
    X(U32, tcp_orphan)                                                          \
    X(U32, tcp_tw)                                                              \
    X(U32, tcp_alloc)                                                           \
    X(U64, tcp_mem_bytes)     /* kernel memory of TCP sockets */                \
    X(U32, pid)               /* watched process; 0 = none (or not found) */    \
    X(U32, proc_cpu_pct_x100) /* percent of one core * 100 */                   \
    X(U64, proc_rss)          /* bytes */                                       \
    X(U32, proc_fds)                                                            \
    X(U32, proc_threads)
struct ps_hostmon { PS_HOSTMON_FIELDS(PS_FIELD_DECL) };

/* ---- TICK: agent -> controller every 200 ms. ---- */
#define PS_TICK_FIELDS(X)                                                       \
    X(U32, agent_id)                                                            \
    X(I64, t_send)            /* T1: agent wall clock */                        \
    X(I64, offset_us)         /* best clock offset estimate (controller - agent) */ \
    X(I64, offset_err_us)     /* its error bound (half the min RTT) */          \
    X(U32, cmd_done)          /* id of the last command applied (or refused) */ \
    X(STR, cmd_error, PS_REASON_MAX)  /* non-empty: that command was refused, why */ \
    X(U64S, batch_seq, n_threads, PS_MAX_THREADS)  /* last batch sequence sent, per thread */ \
    X(FLAG, stopped)          /* 1 = all connections closed and events flushed */ \
    X(SUB, stats, stats)                                                        \
    X(SUB, host, hostmon)                                                       \
    /* TLS session resumption: cumulative TLS handshakes finished this run */   \
    X(U64, tls_full)          /* a full handshake (certificate, key exchange) */ \
    X(U64, tls_resumed)       /* resumed from a ticket or session of the target */ \
    /* authentication (issue 11): the session token of this agent's hello */   \
    X(STR, token, PS_AUTH_HEX) \
    /* control-link liveness (issue 11): batches the agent's buffer (ASSIGN     \
     * buffer_bytes) discarded unacknowledged, oldest first; the controller     \
     * takes a thread's next batch after dropped_seq and counts the loss */    \
    X(U64S, dropped_seq, n_dropped, PS_MAX_THREADS)  /* highest sequence discarded, per thread */ \
    X(U64, dropped_batches)   /* cumulative, this run */                        \
    X(U64, dropped_events)
struct ps_tick { PS_TICK_FIELDS(PS_FIELD_DECL) };

/* ---- commands carried by REPLY ---- */
enum ps_cmd_kind {
    PS_CMD_NONE       = 0,
    PS_CMD_ASSIGN     = 1, /* connection range, targets, heartbeat: ps_assign */
    PS_CMD_RAMP       = 2, /* open connections up to `to` at `rate`, from start_at */
    PS_CMD_DISCONNECT = 3, /* close `fraction` of live connections (client side) */
    PS_CMD_STOP       = 4, /* close everything, flush events, report stopped */
    PS_CMD_DATA       = 5, /* per-connection data values, in order, after the ASSIGN: ps_data */
};

#define PS_HEADER_TPL_FIELDS(X)                                                 \
    X(STR, name, PS_HDR_MAX)                                                    \
    X(STR, value, PS_HDR_MAX)
struct ps_header_tpl { PS_HEADER_TPL_FIELDS(PS_FIELD_DECL) };

/* One set of TLS client settings (plan `tls:`); files are read on the agent. */
#define PS_TLS_FIELDS(X)                                                        \
    X(STR, ca_file, PS_PATH_MAX)      /* "" = the system's trust store */       \
    X(STR, ca_dir, PS_PATH_MAX)       /* hashed CA directory, or "" */          \
    X(FLAG, insecure)                 /* 1 = no certificate or name checks */   \
    X(STR, server_name, PS_NAME_MAX * 4)  /* SNI, verification and Host: name; "" = the URL's */ \
    X(STR, cert, PS_PATH_MAX)         /* client certificate (mTLS), or "" */    \
    X(STR, key, PS_PATH_MAX)                                                    \
    X(UMAX, min_version, 13)          /* 0 = library default, 12 = TLS 1.2, 13 = TLS 1.3 */
struct ps_tls { PS_TLS_FIELDS(PS_FIELD_DECL) };
/* ---- scripted sessions (issue 10): steps run after the upgrade, before a
 * connection counts as connected; docs/plan.md "session". A step belongs to a
 * set: 0 is the plan-wide script, t + 1 target t's own, which replaces it. ---- */
#define PS_SESSION_STEPS_MAX    16
#define PS_SESSION_CAPTURES_MAX 16
#define PS_SESSION_VARS_MAX     8
#define PS_VAR_NAME_MAX         32
#define PS_SESSION_VARS_BYTES_MAX 4096   /* captured values per connection */
enum ps_step_op {
    PS_STEP_SEND_TEXT = 1,  /* text: template */
    PS_STEP_SEND_BINARY,    /* text: the frame as hex */
    PS_STEP_EXPECT,         /* text: what to match, as `match` says */
};
enum ps_match {
    PS_MATCH_CONTAINS = 1,  /* substring */
    PS_MATCH_REGEX,         /* POSIX extended regular expression */
    PS_MATCH_JSON,          /* lines "path=value": every path equals its value */
};
#define PS_SESSION_STEP_FIELDS(X)                                               \
    X(UMAX, set, PS_MAX_TARGETS)                                                \
    X(UMAX, op, PS_STEP_EXPECT)       /* enum ps_step_op */                     \
    X(UMAX, match, PS_MATCH_JSON)     /* enum ps_match; expect only */          \
    X(FLAG, others_fail)              /* 1: a frame that does not match fails */ \
    X(U32, timeout_ms)                                                          \
    X(STR, text, PS_TEXT_MAX)
struct ps_session_step { PS_SESSION_STEP_FIELDS(PS_FIELD_DECL) };
#define PS_SESSION_CAPTURE_FIELDS(X)                                            \
    X(UMAX, step, PS_SESSION_STEPS_MAX - 1)  /* the expect step it reads */    \
    X(UMAX, var, PS_SESSION_VARS_MAX - 1)    /* index in session_vars */        \
    X(UMAX, match, PS_MATCH_JSON)     /* PS_MATCH_REGEX (group 1) or PS_MATCH_JSON (a path) */ \
    X(STR, from, PS_TEXT_MAX)
struct ps_session_capture { PS_SESSION_CAPTURE_FIELDS(PS_FIELD_DECL) };

#define PS_ASSIGN_FIELDS(X)                                                     \
    X(U32, run_id)                                                              \
    X(U32, conn_first)        /* global id of this agent's first connection */  \
    X(U32, conn_count)        /* connections it owns (the ramps open up to this) */ \
    /* ws URL templates: {conn} {agent} {target} */                            \
    X(STRS, targets, n_targets, PS_MAX_TARGETS, PS_URL_MAX)                     \
    X(STR, subprotocol, PS_HDR_MAX)   /* may be empty */                        \
    X(SUBS, headers, n_headers, PS_MAX_HEADERS, header_tpl)                     \
    X(U32, ws_ping_ms)        /* 0 = off */                                     \
    X(U32, pong_timeout_ms)                                                     \
    X(STR, hb_text, PS_TEXT_MAX)      /* empty = no app heartbeat */            \
    X(STR, hb_expect, PS_TEXT_MAX)                                              \
    X(U32, hb_interval_ms)                                                      \
    X(U32, hb_timeout_ms)                                                       \
    X(U32, reconnect_min_ms)  /* 0 = no reconnect */                            \
    X(U32, reconnect_max_ms)                                                    \
    X(U32, reconnect_attempts) /* 0 = unlimited */                              \
    X(U32, max_inflight)      /* handshakes in flight per agent */              \
    X(U32, max_message)       /* bytes; larger messages close the connection */ \
    /* per-connection data: column names for {csv.NAME}; csv_rows rows of the  \
     * agent's range (row k for its connection k % csv_rows), csv_bytes bytes of \
     * values in DATA commands (0 = none) */                                  \
    X(STRS, csv_cols, n_csv_cols, PS_CSV_COLS, PS_CSV_NAME_MAX)                 \
    X(U32, csv_rows)                                                            \
    X(U32, csv_bytes)                                                           \
    /* TLS: the distinct settings, and which one each target uses (index) */    \
    X(SUBS, tls, n_tls, PS_MAX_TLS, tls)                                        \
    X(U64S, target_tls, n_target_tls, PS_MAX_TARGETS)                           \
    /* scripted sessions */                                                     \
    X(SUBS, steps, n_steps, PS_SESSION_STEPS_MAX, session_step)                 \
    X(SUBS, captures, n_captures, PS_SESSION_CAPTURES_MAX, session_capture)     \
    X(STRS, session_vars, n_session_vars, PS_SESSION_VARS_MAX, PS_VAR_NAME_MAX) \
    X(UMAX, vars_bytes, PS_SESSION_VARS_BYTES_MAX)  /* arena bytes per connection */ \
    X(UMAX, hb_match, PS_MATCH_JSON)  /* 0: hb_expect is the whole reply; else enum ps_match */ \
    X(STR, ack, PS_TEXT_MAX)          /* template sent for every push received; "" = none */ \
    /* acks of the service's own ids (issue 10): {msg_id} read from the message */ \
    X(UMAX, ack_id_match, PS_MATCH_JSON)  /* 0: the push token's id; PS_MATCH_REGEX or PS_MATCH_JSON */ \
    X(STR, ack_id_from, PS_TEXT_MAX)  /* the regex (group 1) or the JSON path */ \
    /* control-link liveness (issue 11): plan agents.grace and agents.buffer */ \
    X(U32, grace_ms)          /* no answer from the controller this long: stop the load */ \
    X(U64, buffer_bytes)      /* unacknowledged event batches kept for resending */ \
    /* client protocols (issue 13): plan `protocol:` per target and           \
     * `protocol_options:`; the dialects read them (agent/dialect.h) */         \
    X(U64S, target_protocol, n_target_protocol, PS_MAX_TARGETS)  /* enum ps_protocol per target; 0 = websocket */ \
    X(U32, proto_timeout_ms)          /* handshake answer deadline */           \
    X(STR, proto_client_id, PS_HDR_MAX)   /* template: MQTT client id */       \
    X(STR, proto_user, PS_HDR_MAX)        /* template: MQTT user, STOMP login */ \
    X(STR, proto_password, PS_HDR_MAX)    /* template: MQTT password, STOMP passcode */ \
    X(STR, proto_auth, PS_TEXT_MAX)       /* template: Socket.IO namespace-connect auth JSON ("" = none) */ \
    X(STR, proto_namespace, PS_HDR_MAX)   /* Socket.IO namespace, "/" default */ \
    X(STR, proto_vhost, PS_HDR_MAX)       /* STOMP host header ("" = the URL's host) */ \
    X(STRS, proto_subscribe, n_proto_subscribe, PS_PROTO_SUBSCRIBE_MAX, PS_HDR_MAX)  /* templates: MQTT topic filters, STOMP destinations */ \
    X(UMAX, proto_qos, 2)             /* MQTT SUBSCRIBE QoS (0 or 1; 2 refused at plan check) */ \
    X(UMAX, proto_ack_mode, 2)        /* STOMP: 0 auto, 1 client, 2 client-individual */ \
    X(U32, proto_keepalive_ms)        /* MQTT keepalive / STOMP client heart-beat (cx); 0 = off */ \
    X(U32, proto_server_hb_ms)        /* STOMP heart-beat wanted from the server (cy); 0 = none */ \
    X(FLAG, proto_clean)              /* MQTT clean session */                  \
    X(UMAX, proto_version, 5)         /* MQTT protocol level: 4 = 3.1.1 (default), 5 = 5.0 */
struct ps_assign { PS_ASSIGN_FIELDS(PS_FIELD_DECL) };

/* DATA: the next piece of the values, row-major, each value ended by 0x1f
 * (the ASCII unit separator, which values may not contain). Pieces come in
 * order; offset says where this one starts, so a lost or repeated piece is
 * caught instead of shifting every later value. */
#define PS_DATA_FIELDS(X)                                                       \
    X(U32, offset)                                                              \
    X(STR, chunk, PS_DATA_CHUNK + 1)
struct ps_data { PS_DATA_FIELDS(PS_FIELD_DECL) };
_Static_assert(sizeof(struct ps_data) <= sizeof(struct ps_assign), "a DATA command must not grow ps_cmd");

#define PS_RAMP_FIELDS(X)                                                       \
    X(U32, to)                /* agent-local count */                           \
    X(F64, rate, 0, INFINITY)                                                   \
    X(I64, start_at)
struct ps_ramp { PS_RAMP_FIELDS(PS_FIELD_DECL) };

#define PS_DISCONNECT_FIELDS(X)                                                 \
    X(F64, fraction, 0, 1)                                                      \
    X(U32, close_code)                                                          \
    X(I64, start_at)
struct ps_disconnect { PS_DISCONNECT_FIELDS(PS_FIELD_DECL) };

struct ps_cmd {
    uint32_t id;                 /* increasing per agent; 0 = no command */
    uint32_t kind;               /* enum ps_cmd_kind */
    union {
        struct ps_assign     assign;
        struct ps_ramp       ramp;
        struct ps_disconnect disconnect;
        struct ps_data       data;
    } u;
};

/* ---- REPLY: controller -> agent, answers each TICK. ---- */
#define PS_REPLY_FIELDS(X)                                                      \
    X(I64, t_recv)            /* T2: controller wall clock */                   \
    X(I64, t_send)            /* T3 */                                          \
    X(U64S, acked_seq, n_acks, PS_MAX_THREADS)  /* highest contiguous batch seq per thread */ \
    X(FLAG, unknown_agent)    /* 1 = controller does not know this agent: say hello again */ \
    X(CMD, cmd)               /* next command not yet done, or id 0 */          \
    /* idle ticks (issue 12) */                                                 \
    X(U32, idle_ms)           /* no command can come this long: tick once a second, not 5 times */
struct ps_reply { PS_REPLY_FIELDS(PS_FIELD_DECL) };

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
    PS_EV_READY       = 9, /* session's last step passed: val = us since connect start */
    /* acks per connection (issue 10) */
    PS_EV_ACKS        = 10, /* the connection's life ended: val = acks it sent in that life */
};
#define PS_EV_LAST PS_EV_ACKS      /* the highest type a decoder accepts */

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
    /* TLS (wss): kept apart so a certificate problem never reads as a refusal */
    PS_REASON_TLS_VERIFY,       /* server certificate rejected; aux = OpenSSL X509_V_ERR_* code */
    PS_REASON_TLS_HANDSHAKE,    /* TLS handshake failed (no common version/cipher, not TLS) */
    PS_REASON_TLS_ALERT,        /* the server ended the handshake with a TLS alert */
    PS_REASON_SESSION_TIMEOUT,  /* a session step's expect timed out; aux = step */
    PS_REASON_SESSION_MISMATCH, /* a frame failed a step (others: fail); aux = step */
    /* connect failures by the socket's error (issue 11): refused and timeout above */
    PS_REASON_UNREACHABLE,      /* no route to the host or network; aux = errno */
    /* client protocols (issue 13): aux is the protocol's own code where it has one */
    PS_REASON_PROTO_REFUSED,    /* the server refused the protocol handshake; aux = its code, 0 = none */
    PS_REASON_PROTO_ERROR,      /* malformed packet or frame of the protocol; aux = the dialect's detail */
    PS_REASON_PROTO_TIMEOUT,    /* the handshake's answer never came (protocol_options.timeout) */
    PS_REASON_PROTO_KEEPALIVE,  /* the protocol's keepalive went unanswered, or the server's stopped */
    PS_REASON_PROTO_CLOSE,      /* the server ended the session at the protocol level; aux = code */
    PS_REASON_COUNT
};
const char *ps_reason_name(uint32_t reason);
/* The cause of a tls_verify failure, from its aux (the X509_V_ERR_* code). */
enum ps_tls_cause {
    PS_TLS_CAUSE_OTHER = 0,
    PS_TLS_CAUSE_UNKNOWN_CA,
    PS_TLS_CAUSE_SELF_SIGNED,
    PS_TLS_CAUSE_HOSTNAME,
    PS_TLS_CAUSE_EXPIRED,
    PS_TLS_CAUSE_NOT_YET_VALID,
    PS_TLS_CAUSE_COUNT
};
enum ps_tls_cause ps_tls_verify_cause(uint32_t x509_err);
const char *ps_tls_cause_name(uint32_t cause);
const char *ps_ev_type_name(uint32_t type);

#define PS_EVENT_FIELDS(X)                                                      \
    X(U32, conn)              /* global connection id */                        \
    X(U32, type)              /* enum ps_ev_type */                             \
    X(I64, ts)                /* agent wall clock, us */                        \
    X(U64, val)                                                                 \
    X(U32, aux)
struct ps_event { PS_EVENT_FIELDS(PS_FIELD_DECL) };

#define PS_EVENTS_FIELDS(X)                                                     \
    X(U32, agent_id)                                                            \
    X(UMAX, thread, PS_MAX_THREADS - 1)                                         \
    X(SEQ, seq)               /* per (agent, thread), from 1, contiguous */     \
    X(U32, run_id)                                                              \
    /* authentication (issue 11): the session token of this agent's hello */   \
    X(STR, token, PS_AUTH_HEX)                                                  \
    X(SUBS, ev, n, PS_EVENTS_MAX, event)
struct ps_events { PS_EVENTS_FIELDS(PS_FIELD_DECL) };

/* ---- encoding ---- */
int ps_proto_encode_hello(msgpack_sbuffer *out, const struct ps_hello *m);
int ps_proto_encode_welcome(msgpack_sbuffer *out, const struct ps_welcome *m);
int ps_proto_encode_tick(msgpack_sbuffer *out, const struct ps_tick *m);
int ps_proto_encode_reply(msgpack_sbuffer *out, const struct ps_reply *m);
int ps_proto_encode_events(msgpack_sbuffer *out, const struct ps_events *m);
int ps_proto_encode_challenge(msgpack_sbuffer *out, const struct ps_challenge *m);

/* ---- decoding: peek the type, then decode into the matching struct ---- */
int ps_proto_peek_type(const void *buf, size_t len, uint32_t *type, char *err, size_t errlen);
int ps_proto_decode_hello(const void *buf, size_t len, struct ps_hello *m, char *err, size_t errlen);
int ps_proto_decode_welcome(const void *buf, size_t len, struct ps_welcome *m, char *err, size_t errlen);
int ps_proto_decode_tick(const void *buf, size_t len, struct ps_tick *m, char *err, size_t errlen);
int ps_proto_decode_reply(const void *buf, size_t len, struct ps_reply *m, char *err, size_t errlen);
int ps_proto_decode_events(const void *buf, size_t len, struct ps_events *m, char *err, size_t errlen);
int ps_proto_decode_challenge(const void *buf, size_t len, struct ps_challenge *m, char *err,
                              size_t errlen);

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
