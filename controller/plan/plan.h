/* plan: the YAML campaign plan, parsed and validated.
 *
 * plan_load() reads a file with libyaml, keeping the line and column of every
 * node so that each error names file:line:col and the key at fault. Unknown keys,
 * wrong types and impossible values are errors; nothing is silently defaulted
 * except the documented defaults below. The result is plain data owned by the
 * struct plan (fixed arrays, no pointers into the YAML document).
 *
 * Inside plan/: plan.c (these entry points and the file reader), plan_schema.c
 * (the table engine and its messages), plan_values.c (value parsers),
 * plan_sections.c (the table of each section and phase), plan_cross.c (rules
 * across sections), plan_split.c (the division among agents and targets),
 * yaml_doc.c (the node tree with positions); plan_schema.h is their private
 * header. */
#ifndef PS_PLAN_H
#define PS_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ps_proto.h"

#define PLAN_MAX_PHASES   64
#define PLAN_ERR_MAX      512
#define PLAN_RECIPIENTS_MAX 1024   /* connections named in one multicast call */
#define PLAN_AGENTS_MAX   1024     /* agents.expect: the controller's agent slots (run.c) */
#define PLAN_FILE_MAX     (1 << 20) /* bytes in a plan file (docs/plan.md) */
#define PLAN_PUSH_TIMEOUT_DEFAULT_US 10000000LL   /* push.timeout: one call's own */
#define PLAN_PUSH_TIMEOUT_MAX_US     600000000LL

struct plan_target {
    char ws[PS_URL_MAX];         /* ws URL template, e.g. ws://127.0.0.1:8080/ws?uid={conn} */
    char push[PS_URL_MAX];       /* unicast push URL template: {conn} {msg} */
    char broadcast[PS_URL_MAX];  /* broadcast URL; default derived from push: same origin + /broadcast */
    uint32_t tls;                /* index into plan.tls: its wss and https settings */
    uint32_t protocol;           /* enum ps_protocol (issue 13); 0 = websocket, the default */
};

/* Client protocols (issue 13): the plan-wide `protocol_options:`, read by the
 * targets' protocols (docs/plan.md says which key each reads). */
struct plan_protocol {
    int64_t  timeout_us;         /* the handshake's answer, and a keepalive's; default 10s */
    char     client_id[PS_HDR_MAX], user[PS_HDR_MAX], password[PS_HDR_MAX];   /* templates */
    char     auth[PS_TEXT_MAX];  /* template: Socket.IO connect auth JSON */
    char     ns[PS_HDR_MAX];     /* Socket.IO namespace; default "/" */
    char     vhost[PS_HDR_MAX];  /* STOMP host header; "" = the URL's host */
    uint32_t n_subscribe;
    char     subscribe[PS_PROTO_SUBSCRIBE_MAX][PS_HDR_MAX];   /* templates */
    uint32_t qos;                /* 0 or 1; default 0 */
    uint32_t ack_mode;           /* STOMP: 0 auto (default), 1 client, 2 client-individual */
    int64_t  keepalive_us;       /* default 30s; 0 = off */
    int64_t  server_hb_us;       /* default 0 = none */
    uint32_t clean;              /* MQTT clean session; default 1 */
    uint32_t mqtt_version;       /* 4 (3.1.1, default) or 5 */
};

enum plan_phase_kind {
    PLAN_PHASE_RAMP = 1,
    PLAN_PHASE_HOLD,
    PLAN_PHASE_PUSH,
    PLAN_PHASE_DISCONNECT,
    PLAN_PHASE_EXEC,
    PLAN_PHASE_WAIT_RECONNECT,
};

enum plan_push_mode { PLAN_PUSH_UNICAST = 1, PLAN_PUSH_BROADCAST, PLAN_PUSH_MULTICAST };

/* push adapters (issue 13): what a push phase's calls carry beyond URL and
 * body, per adapter (the URL's scheme picks it; docs/protocols.md). */
#define PLAN_GRPC_FIELDS_MAX 8
struct plan_grpc_field {
    uint32_t number;             /* protobuf field number, 1..2^29-1 */
    uint8_t  varint;             /* 1: an integer (varint), 0: a string (length-delimited) */
    char     tpl[PS_HDR_MAX];    /* template: {msg} {conn} {id} {csv.COL} */
};
struct plan_push_call {
    char     method[16];         /* http: default POST */
    uint32_t n_headers;          /* http */
    struct ps_header_tpl headers[PS_MAX_HEADERS];
    uint32_t qos;                /* mqtt: 0 (default) or 1 */
    uint32_t n_metadata;         /* grpc: metadata name -> value template */
    struct ps_header_tpl metadata[PS_MAX_HEADERS];
    uint32_t n_fields;           /* grpc: the request message; 0 = {1: "{conn}", 2: body} */
    struct plan_grpc_field fields[PLAN_GRPC_FIELDS_MAX];
};

struct plan_phase {
    enum plan_phase_kind kind;
    int line;                    /* where it was written, for messages */
    /* deadlines: past this the phase is ended and fails the verdict; default
     * from its parameters (plan_phase_nominal_us) plus a margin */
    int64_t deadline_us;
    union {
        struct { uint64_t to; double rate; int64_t timeout_us; } ramp;  /* timeout default: to/rate*2+10s */
        struct { int64_t duration_us; } hold;
        struct {
            enum plan_push_mode mode;
            double   rate;       /* per second; default 100/s */
            uint64_t count;      /* messages (unicast) or broadcasts */
            uint32_t recipients; /* multicast: uids per message (default 10, <= PLAN_RECIPIENTS_MAX) */
            char     body[PS_URL_MAX];     /* template; must contain {msg}; default "{msg}" */
            char     url[PS_URL_MAX];      /* overrides the target's push/broadcast URL; "" = use the target's */
            struct plan_push_call call;    /* method, headers, qos, metadata, message */
            uint32_t concurrency;          /* calls in flight (mqtt: QoS 1 PUBACKs awaited); default 64 */
            int64_t  grace_us;             /* delivery deadline after send; default 5s */
            int64_t  timeout_us;           /* each call's own timeout, every adapter; default 10s */
        } push;
        struct { double fraction; uint32_t code; } disconnect;          /* code default 1000 */
        struct { char command[PS_URL_MAX]; double expect_reconnect; int64_t within_us; } exec;
        struct { double fraction; int64_t within_us; } wait_reconnect;
    } u;
};

/* Scripted sessions: the form ASSIGN carries (ps_proto.h), steps of every
 * script in one list; set 0 is the plan-wide script, t + 1 target t's. */
struct plan_session {
    uint32_t n_steps;
    struct ps_session_step steps[PS_SESSION_STEPS_MAX];
    uint32_t n_captures;
    struct ps_session_capture captures[PS_SESSION_CAPTURES_MAX];
    uint32_t n_vars;
    char vars[PS_SESSION_VARS_MAX][PS_VAR_NAME_MAX];
    uint32_t vars_bytes;         /* captured values per connection; default 64 */
    char ack[PS_TEXT_MAX];       /* sent for every push received; "" = none */
    uint32_t ack_id_match;       /* 0: {msg_id} is the push token's; else enum ps_match */
    char ack_id_from[PS_TEXT_MAX];   /* where in the message the service's own id is */
};

enum plan_cmp { PLAN_CMP_GE = 1, PLAN_CMP_GT, PLAN_CMP_LE, PLAN_CMP_LT, PLAN_CMP_EQ };

struct plan_threshold {
    int      set;
    enum plan_cmp cmp;
    double   value;              /* fraction for percentages, us for durations, count otherwise */
    char     text[64];           /* as written, for reports */
};

struct plan {
    char     path[PS_URL_MAX];
    char     name[PS_NAME_MAX];
    uint32_t n_targets;
    struct plan_target targets[PS_MAX_TARGETS];
    uint32_t n_tls;              /* tls[0] = plan-wide `tls:` (defaults when absent); then per target */
    struct ps_tls tls[PS_MAX_TLS];
    struct { uint32_t expect; int64_t wait_us; int by_capacity; } agents; /* default 1, 30s, even */
    /* the run's end (controller/run/run_end.c): the line of agents.expect (0 =
     * not in the plan, so `run --local-agents N` sets it), and agents.final_wait,
     * how long the end waits for every agent's final report */
    struct { int expect_line; int64_t final_wait_us; } end;
    /* control-link liveness: agents.grace (suspect, not lost, this long) and
     * agents.buffer (bytes of unacknowledged events each agent keeps) */
    struct { int64_t grace_us; uint64_t buffer_bytes; } link;
    struct {
        uint64_t total;
        char subprotocol[PS_HDR_MAX];
        uint32_t n_headers;
        struct ps_header_tpl headers[PS_MAX_HEADERS];
        uint32_t max_message;                                          /* default 1 MiB */
        /* per-connection data (plan_data.c): a CSV file, resolved against the
         * plan's directory; "" = none. data_wrap: row i % rows, else rows must
         * cover every connection. */
        char     data[PS_URL_MAX];
        uint32_t data_wrap;
    } connections;
    struct {
        int64_t ws_ping_us;      /* default 30s; 0 = off ("off") */
        int64_t pong_timeout_us; /* default 10s */
        char text[PS_TEXT_MAX];  /* app heartbeat, empty = off */
        char expect[PS_TEXT_MAX];
        uint32_t expect_match;   /* 0: expect is the whole reply; else enum ps_match */
        int64_t interval_us;     /* app heartbeat interval; default = ws_ping or 30s */
        int64_t timeout_us;      /* default 10s */
    } heartbeat;
    struct { int64_t min_us, max_us; uint32_t attempts; } reconnect;     /* default off (min_us == 0);
                                  * a reconnect section defaults to 1s, 30s, attempts 0 = unlimited */
    struct plan_session session;
    struct plan_protocol protocol;   /* client protocols (issue 13) */
    uint32_t n_phases;
    struct plan_phase phases[PLAN_MAX_PHASES];
    struct {
        struct plan_threshold connect_success;    /* fraction */
        struct plan_threshold push_lost;          /* count */
        struct plan_threshold push_latency_p99;   /* us */
        struct plan_threshold push_latency_p50;   /* us */
        struct plan_threshold handshake_p99;      /* us */
        struct plan_threshold session_ready_p99;  /* us, connect start to the last step */
        /* verdict faults: agent loss, failed push calls, agent saturation, ping RTT */
        struct plan_threshold agents_lost;        /* count */
        struct plan_threshold push_failed;        /* count; default "== 0" with push phases */
        struct plan_threshold delivered_fraction; /* fraction */
        struct plan_threshold saturated_seconds;  /* count of agent-seconds */
        struct plan_threshold rtt_p50;            /* us */
        struct plan_threshold rtt_p99;            /* us */
    } thresholds;
    /* deadlines: the whole run's; default agents.wait + every phase's deadline + 60s */
    int64_t deadline_us;
};

/* Loads and validates. Returns 0, or -1 with one line "file:line:col: key.path: message"
 * in err (docs/plan.md). On error the content of *p is unspecified. struct plan is
 * large (~450 KB): allocate it on the heap, not the stack. */
int plan_load(const char *path, struct plan *p, char *err, size_t errlen);
/* Same, from a string (path used only in messages). */
int plan_parse(const char *path, const char *text, size_t len, struct plan *p, char *err, size_t errlen);
/* Same, with the text of the connections.data file given instead of read from
 * disk (whatever name the plan gives it): the whole parse from memory, for the
 * fuzz target (tests/fuzz/fuzz_plan.c). data NULL reads the file as plan_parse. */
int plan_parse_with_data(const char *path, const char *text, size_t len, const char *data,
                         size_t data_len, struct plan *p, char *err, size_t errlen);
/* The whole of a plan file, NUL-terminated, for the caller to free; *len is its
 * length. NULL with "path: ..." in err when it cannot be opened or read or has
 * more than PLAN_FILE_MAX bytes. Pipes and /dev/stdin work too. */
char *plan_read_file(const char *path, size_t *len, char *err, size_t errlen);
/* deadlines: what a phase takes when all goes to plan (a ramp its timeout, a
 * push count/rate + grace + drain and HTTP timeouts, ...), and the default
 * deadline: nominal + max(30s, nominal/2). */
int64_t plan_phase_nominal_us(const struct plan_phase *ph);
int64_t plan_phase_default_deadline_us(const struct plan_phase *ph);
/* Highest connection count any ramp asks for (the connections to assign). */
uint64_t plan_max_connections(const struct plan *p);
const char *plan_phase_name(enum plan_phase_kind k);
/* The split the controller makes, shared by `run` and `check`:
 * plan_agent_range gives agent i (0-based) of n_agents its connection ids,
 * an even split with the remainder one each to the first agents;
 * plan_split divides total in proportion to weight[0..n) (a share never
 * exceeds its weight when total <= the sum), adding up exactly;
 * plan_print_split prints, for agents.expect agents, each one's connection
 * ids, its count per target (up to 4 targets) and its share and rate in each
 * ramp - one line per agent, for `pushstorm check`. */
void plan_agent_range(uint64_t total, uint32_t n_agents, uint32_t i, uint64_t *first,
                      uint64_t *count);
void plan_split(uint64_t total, const uint64_t *weight, uint32_t n, uint64_t *share);
void plan_print_split(const struct plan *p, FILE *out);
/* Push adapters (issue 13, plan_push.c): the scheme of a push URL in lower
 * case ("http", "https", "mqtt", "mqtts", "grpc", "grpcs"; "" for no URL),
 * which names the adapter its calls go through; a target's, from its push URL
 * (its broadcast URL when it has none); and 1 when every target is a WebSocket
 * client pushed over HTTP(S) and no push phase names another adapter: the
 * plans of before issue 13, whose `check` output says nothing about either. */
const char *plan_push_scheme(const char *url, char *buf, size_t len);
const char *plan_target_push_scheme(const struct plan_target *t, char *buf, size_t len);
int plan_targets_plain(const struct plan *p);
/* What `pushstorm check` prints about a plan besides its split (plan_print.c):
 * unless plan_targets_plain, each target's protocol, push adapter and ws URL;
 * each phase's kind and line, with the adapter of a push phase that has its
 * own URL (again unless plan_targets_plain). */
void plan_print_targets(const struct plan *p, FILE *out);
void plan_print_phases(const struct plan *p, FILE *out);
/* Evaluate a threshold against a measured value: 1 pass, 0 fail. An unset threshold
 * passes; a NaN measurement (nothing measured) fails. */
int plan_threshold_check(const struct plan_threshold *t, double measured);

#endif
