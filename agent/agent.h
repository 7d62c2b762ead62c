/* agent.h: the pushstorm agent's objects and how they own each other.
 *
 *   struct agent          one per process (main.c). Owns the control channel
 *                         (ctl.c, runs on the main thread), the current
 *                         assignment and the workers.
 *   struct agent_worker   one per event loop / thread (worker.c). Owns a libuv
 *                         loop, an lws context on it (foreign loop), and a slice
 *                         of the connection table. Nothing in a worker is
 *                         touched by another thread except through its mailbox
 *                         (commands in), its outbox (event batches out) and its
 *                         published per-second stats, each behind the worker's
 *                         mutex.
 *   struct agent_conn     one per WebSocket connection (conn.c), 64 bytes, in a
 *                         contiguous array owned by the worker. lws's per-session
 *                         user pointer points at it (ci.userdata), so lws
 *                         allocates nothing of ours.
 *
 * Connection slots are dealt round robin over the workers: agent-local index i
 * lives in worker i % T at slot i / T, and its global id is conn_first + i. A
 * ramp "to N" therefore opens the lowest ids first on every worker at once. */
#ifndef AGENT_H
#define AGENT_H

#include <pthread.h>
#include <regex.h>
#include <stdint.h>

#include <libwebsockets.h>
#include <msgpack.h>
#include <nng/nng.h>
#include <uv.h>

#include "ps_hist.h"
#include "ps_link.h"
#include "ps_proto.h"
#include "ps_tpl.h"

#include "agent_session.h"
#include "dialect.h"
#include "wsc.h"

#define AGENT_TICK_MS          10      /* worker timer while busy: ramp, pings, sweeps */
#define AGENT_BATCH_FLUSH_US   50000   /* an event batch waits at most this long */
#define AGENT_KA_BATCH_MAX_MS  100     /* keepalive work gathers at most this long (keepalive.c) */
#define AGENT_RESEND_US        2000000 /* unacknowledged batches go again after this */
#define AGENT_RETAIN_MAX       (64u << 20)  /* event buffer until an ASSIGN sets agents.buffer */
#define AGENT_STOP_GRACE_US    5000000 /* clean closes get this long, then are cut */
#define AGENT_STOP_BATCH       500     /* closes started per 10 ms tick when stopping */
#define AGENT_FD_MARGIN        256     /* fds beyond the connections: nng, lws, stdio */
#define AGENT_TX_MAX           (PS_TEXT_MAX + PS_SESSION_VARS_BYTES_MAX + 256)

/* ---------- one connection: 64 bytes ---------- */

enum agent_conn_state {
    AGENT_CONN_IDLE = 0,    /* never opened (beyond the ramp so far) */
    AGENT_CONN_CONNECTING,
    AGENT_CONN_OPEN,
    AGENT_CONN_WAITING,     /* closed, reconnect due at due_us */
    AGENT_CONN_DONE,        /* closed for good (no reconnect, attempts used, stopping) */
    AGENT_CONN_SESSION,     /* upgraded, running its session script (session.c) */
};

enum agent_conn_flag {
    AGENT_CF_PING_OUT   = 1 << 0,  /* RFC 6455 ping sent, pong not yet seen */
    AGENT_CF_HB_OUT     = 1 << 1,  /* app heartbeat sent, reply not yet seen */
    AGENT_CF_WANT_PING  = 1 << 2,  /* send a ping at the next writeable */
    AGENT_CF_WANT_HB    = 1 << 3,
    AGENT_CF_WANT_CLOSE = 1 << 4,  /* close with close_code at the next writeable */
    AGENT_CF_TEXT       = 1 << 5,  /* current message is text (validate UTF-8) */
    AGENT_CF_HB_CAND    = 1 << 6,  /* current message may still be the heartbeat reply */
    AGENT_CF_WANT_SEND  = 1 << 7,  /* SESSION: the current send step; OPEN: queued acks */
};

struct agent_conn {
    struct lws *wsi;              /* NULL unless CONNECTING or OPEN */
    struct ps_token_state tok;    /* token matcher inside the current message */
    int64_t  mark_us;             /* CONNECTING: start (mono); WAITING: reconnect due (mono) */
    uint32_t ping_sent;           /* worker-relative mono us, wraps; valid with PING_OUT */
    uint32_t hb_sent;             /* same for the app heartbeat */
    uint32_t msg_bytes;           /* bytes so far of the current message */
    uint16_t close_code;          /* ours to send, or the server's */
    uint16_t attempt;             /* reconnect attempts since the last success */
    uint8_t  state;               /* enum agent_conn_state */
    uint8_t  flags;               /* enum agent_conn_flag */
    uint8_t  reason;              /* enum ps_reason for the close under way (0 = unknown yet) */
    uint8_t  utf8;                /* UTF-8 validator state across fragments */
    uint16_t sess;                /* SESSION: its entry in the worker's session pool */
    uint16_t hb_seq;              /* app heartbeats sent: {seq} of the heartbeat template */
};

/* ---------- what the controller assigned (shared, read-only while a run is on) ---------- */

struct agent_target {
    char scheme_tls;              /* 1 = wss */
    char host[256];               /* as written (for Host:) */
    char addr[PS_IP_MAX];         /* numeric, resolved once */
    int  port;
};


struct agent_assign {
    struct ps_assign a;           /* as received */
    struct agent_script script;
    uint32_t agent_id;
    /* Targets whose URL has no {conn}/{agent} in the host part are resolved once
     * here; per-connection paths are expanded at connect time. */
    struct agent_target targets[PS_MAX_TARGETS];
    char token[PS_AUTH_HEX];      /* the session token its event batches carry (auth.c) */
};

/* per-connection data (csv.c): one arena per agent, filled by the ASSIGN's
 * DATA commands; connection k of the range reads row k % n_rows */
struct agent_csv {
    uint32_t *rows;               /* n_rows offsets into vals; the arena's start (owner) */
    char     *vals;               /* values, NUL-terminated, row-major (inside the arena) */
    uint32_t n_rows, n_cols, bytes, got;
    int      ready;               /* every byte arrived and the rows add up */
    char     cols[PS_CSV_COLS][PS_CSV_NAME_MAX];
};
struct agent_csv_ref {            /* a ps_tpl source's context: whose row */
    const struct agent_csv *csv;
    uint32_t local;               /* connection id - conn_first */
};

/* ---------- per-worker statistics ---------- */

struct agent_counters {
    uint64_t opened, failed, closed, messages, foreign;
    uint64_t pings, pongs, pong_missed, hb_sent, hb_missed, reconnects;
    uint64_t acks, acks_dropped;
    uint64_t tls_full, tls_resumed;   /* TLS handshakes done, by kind (tls.c) */
    uint64_t proto_duplicates, proto_acks, proto_pings;   /* client protocols (dialect.h) */
};

struct agent_second {
    int64_t  second;              /* wall second these cover; 0 = none yet */
    uint32_t connected, connecting;
    struct agent_counters c;      /* cumulative */
    uint32_t lag_max_us;
    struct ps_hist rtt, hs, lat, hb_rtt;  /* this second only */
};

/* ---------- one event batch on its way to the controller ---------- */

struct agent_blob {
    struct agent_blob *next;
    uint64_t seq;
    uint32_t n_events;            /* counted when the buffer discards it */
    int64_t  sent_us;             /* mono; 0 = not sent yet */
    size_t   len;
    char     data[];
};


/* ---------- worker ---------- */

enum agent_wcmd {
    AGENT_W_NONE = 0,
    AGENT_W_ASSIGN,
    AGENT_W_RAMP,
    AGENT_W_DISCONNECT,
    AGENT_W_STOP,
    AGENT_W_QUIT,
};

struct agent;

struct agent_worker {
    struct agent *agent;
    uint32_t index;
    pthread_t thread;
    int started;

    uv_loop_t loop;
    uv_timer_t timer;
    uv_timer_t start_timer;       /* one-shot at a ramp's or disconnect's start time */
    uv_async_t wake;
    struct lws_context *ctx;
    void *foreign_loops[1];
    struct lws_protocols protocols[2];
    /* tls.c: one client vhost per TLS setting of the assignment (NULL = unused) */
    struct lws_vhost *tls_vh[PS_MAX_TLS];
    struct ps_tls tls_have[PS_MAX_TLS];   /* what each was made with */
    const struct ps_tls *tls_loading;     /* during lws_create_vhost() only */
    int tls_load_failed;
    uint32_t tls_generation;              /* vhost names stay unique */
    SSL_SESSION *tls_sess[PS_MAX_TARGETS]; /* per target: the session the next connect offers */
    /* pings, heartbeats and session sends are built here: a template and every captured value fit */
    unsigned char txbuf[LWS_PRE + AGENT_TX_MAX];
    int64_t t0_us;                /* mono at start: base of the 32-bit conn times */
    int64_t timer_due_us;         /* mono: when the armed timer should fire (lag); 0 = not armed */
    int timer_on;                 /* the timer exists (not in unit tests, which have no loop) */

    /* connection slice */
    struct agent_conn *conns;
    uint32_t n_conns;             /* slots owned by this worker */
    uint32_t open_to;             /* ramp target in slots */
    uint32_t next_open;           /* next IDLE slot the ramp opens */
    uint32_t opened_by_ramp;      /* slots the current ramp has opened */
    double   ramp_rate;           /* per second, this worker's share */
    int64_t  ramp_start_us;       /* mono */
    uint32_t ramp_base;           /* next_open when the ramp started */
    uint32_t inflight, max_inflight;
    uint32_t n_open, n_waiting, n_live; /* live = CONNECTING + OPEN */
    int      stopping;
    uint32_t stop_pos;            /* next slot the stop closes (in batches per tick) */
    int64_t  stop_started_us;
    int      stopped;             /* all closed and flushed; published through mu */
    int      quitting;
    int      ready;               /* 1 = loop running, -1 = start failed (under mu) */

    /* scripted sessions: at most max_inflight run at once (a session counts as
     * in flight), so the pool has that many entries; the arena holds every
     * slot's captured variables, vars_bytes each */
    struct agent_session *sess;
    uint16_t *sess_free, *sess_active;
    uint32_t n_sess, n_sess_free, n_sess_active;
    char *vars;
    /* a heartbeat reply matched by regex or JSON needs the whole message: one
     * message at a time is gathered here (hb_owner: its slot, or UINT32_MAX) */
    uint32_t hb_owner, hb_len;
    char hb_buf[AGENT_SESSION_MSG_MAX + 1];
    /* acks (ack.c), only when on: per slot its ring's state and what it sent,
     * and the ring of AGENT_ACK_QUEUE ids: numbers (push tokens), or with
     * ack_id texts of AGENT_ACK_ID_MAX, read from messages gathered in one of
     * AGENT_ACK_GATHER buffers */
    struct agent_ack_conn *ackc;
    uint32_t *ack_ids;
    char *ack_text, *ack_gbuf;
    uint8_t ack_gfree[AGENT_ACK_GATHER];
    uint32_t ack_n_gfree;
    struct agent_dialect_set dl;  /* client protocols (dialect.c): empty for websocket only */
    struct agent_wsc_set wsc;     /* the native engine's connections (wsc.c): empty under lws */

    /* pending disconnect */
    double   disc_fraction;
    uint16_t disc_code;
    int64_t  disc_at_us;          /* mono; 0 = none */

    /* sweeps: ping and heartbeat cursors (absolute positions) */
    uint64_t ping_pos, ping_check_pos, hb_pos, hb_check_pos;
    int64_t  sweep_t0_us;
    uint32_t reconnect_scan;      /* ticks since the last reconnect scan */
    uint64_t rng;                 /* xorshift state for jitter */

    /* stats being gathered this second */
    struct agent_counters c;
    struct agent_second cur;
    int64_t cur_second;

    /* event batch being filled */
    struct ps_events batch;
    int64_t batch_first_us;
    uint64_t batch_seq;
    msgpack_sbuffer sbuf;

    /* shared with the control thread, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    enum agent_wcmd cmd;          /* command waiting for the worker */
    struct ps_cmd cmd_arg;
    uint32_t cmd_applied;         /* generation counters */
    uint32_t cmd_posted;
    char cmd_error[PS_REASON_MAX];
    struct agent_blob *out_head, *out_tail;   /* finished batches */
    struct agent_second published;
    int stopped_pub;
};

/* ---------- the agent process ---------- */

enum agent_engine { AGENT_ENGINE_NATIVE = 0, AGENT_ENGINE_LWS };   /* under ws:// (wsc.h) */

struct agent_opts {
    const char *controller;       /* tcp://host:port of the controller's control socket */
    char name[PS_NAME_MAX];
    uint32_t threads;
    uint32_t n_src;
    char src_ips[PS_MAX_IPS][PS_IP_MAX];
    uint32_t src_scope[PS_MAX_IPS];  /* a link-local IPv6 source's interface (bind needs it), else 0 */
    int once, quiet, monitor;
    int engine;                   /* enum agent_engine */
    uint32_t lag_threshold_us;
    struct ps_link_tls tls;       /* --tls-cert, --tls-ca, --tls-server-name (tls+tcp://) */
};

/* hostmon.c: one process's figures from /proc, and a CPU-rate meter over them */
struct agent_proc {
    uint64_t cpu_us;                 /* user + system CPU time so far */
    uint64_t rss;                    /* bytes */
    uint32_t threads;
};
struct agent_cpu_meter {
    uint64_t cpu_us;                 /* at the previous reading; 0 = none yet */
    int64_t  at_us;                  /* mono time of it */
};

struct agent_hostmon {               /* hostmon.c: state between samples */
    uint64_t cpu_total, cpu_idle;    /* /proc/stat jiffies at the last sample */
    uint32_t pid;                    /* watched process (0 = none) */
    char process[64];                /* --process NAME: re-resolved when the pid goes */
    struct agent_cpu_meter proc_cpu;
};

struct agent_retained {              /* per thread: batches sent, not yet acked */
    struct agent_blob *head, *tail;
    uint64_t last_seq;               /* last sequence handed to nng */
    uint64_t dropped_seq;            /* highest sequence the full buffer discarded */
};

/* --allow-targets (allow.c) */
#define AGENT_ALLOW_MAX 64
struct agent_allow_rule {
    int family;                   /* AF_INET, AF_INET6, 0 = a host name */
    unsigned char addr[16];
    int bits, has_bits;
    int port;                     /* 0 = any */
    char host[256];
};
struct agent_allow {
    int set;                      /* 0 = no list: any target */
    uint32_t n;
    struct agent_allow_rule rules[AGENT_ALLOW_MAX];
    char text[1024];              /* as given, for error messages */
};

struct agent {
    struct agent_opts opts;
    /* security (issue 11): the shared key, the session token of the last
     * hello, why the last controller was not joined, where load may go */
    struct ps_auth_key auth_key;
    char token[PS_AUTH_HEX];
    char ctl_refusal[PS_REASON_MAX];
    struct agent_allow allow;
    int64_t clock_skew_us;           /* test builds only: added to the wall clock */
    struct ps_hello hello;

    pthread_t ctl_thread;            /* woken by the workers with SIGUSR1 (ctl.c) */
    int ctl_wakeable;                /* ctl_thread is set: before the workers start */
    /* control channel (main thread only) */
    nng_socket req, push;
    msgpack_sbuffer sbuf;
    uint32_t agent_id;               /* 0 = not joined */
    uint32_t run_id;
    uint32_t cmd_done;
    char cmd_error[PS_REASON_MAX];
    int stop_done;                   /* the last STOP completed */
    int64_t last_reply_us;
    uint32_t idle_ms;                /* the last REPLY's: tick once a second meanwhile (ctl.c) */
    struct agent_retained retained[PS_MAX_THREADS];   /* ctl_buffer.c */
    size_t retained_bytes;
    uint64_t buffer_max;             /* agents.buffer of the run */
    uint64_t dropped_batches, dropped_events;
    /* control-link liveness (ctl_link.c) */
    int64_t grace_us;                /* agents.grace of the run: no answer this long, stop */
    int64_t pipe_closed_us;          /* mono; the control pipe closed (nng thread, __atomic) */
    uint32_t req_pipe, push_pipe;    /* newest pipes (nng thread, __atomic) */
    int64_t redial_us;               /* mono; the last redial after a silence */

    /* clock sync: ring of (offset, delay) samples */
    int64_t clk_offset[64], clk_delay[64];
    uint32_t clk_n, clk_next;
    int64_t offset_us, offset_err_us;   /* best estimate; read by workers (atomic) */

    struct ps_stats stats_sum;       /* the workers' for the ticks, summed once a second */
    uint64_t stats_tls_full, stats_tls_resumed;
    int64_t stats_seen[PS_MAX_THREADS];
    /* this process's CPU and RSS for the stats (sampled once a second); host metrics */
    struct agent_cpu_meter self_cpu;
    uint32_t cpu_pct_x100;
    uint64_t rss_bytes;
    struct agent_hostmon hostmon;
    struct ps_hostmon host;          /* last second's sample */

    struct agent_assign assign;      /* written by ctl before ASSIGN is posted */
    struct agent_csv csv;            /* connections.data rows of the range (ctl writes, workers read) */
    struct agent_worker *workers;
    uint32_t n_workers;
};

/* auth.c: the hello handshake (ctl.c sends, these check and answer) */
void agent_auth_begin(struct agent *ag);
int  agent_auth_challenge(struct agent *ag, const void *buf, size_t len);
/* allow.c */
int  agent_allow_parse(struct agent_allow *al, const char *list, char *err, size_t errlen);
int  agent_allow_check(const struct agent_allow *al, const struct agent_target *t, const char *url,
                       char *err, size_t errlen);
/* ctl_buffer.c: event batches kept until acknowledged (main thread) */
void agent_buffer_reset(struct agent *ag, uint64_t max_bytes);
void agent_buffer_pump(struct agent *ag);
void agent_buffer_ack(struct agent *ag, uint32_t thread, uint64_t acked);
void agent_buffer_tick(const struct agent *ag, struct ps_tick *t);
int  agent_buffer_empty(const struct agent *ag);

/* ctl_link.c: is the controller still there? */
int  agent_link_start(struct agent *ag);
/* 1 when the run's load must stop: the control pipe closed and no answer
 * came since (the controller process is gone), or no answer for the grace;
 * after a shorter silence it dials the controller afresh, once. */
int  agent_link_lost(struct agent *ag, char *why, size_t len);
/* The control pipe closed since the last answer (it may be redialled already). */
int  agent_link_closed(const struct agent *ag);

/* clock.c */
int64_t agent_clock_wall(const struct agent *ag);
void    agent_clock_sample(struct agent *ag, int64_t t1, int64_t t2, int64_t t3, int64_t t4);
int64_t agent_clock_offset(const struct agent *ag);

/* preflight.c */
int  agent_preflight_hello(struct agent *ag, char *err, size_t errlen);
int  agent_preflight_assign(const struct agent *ag, const struct ps_assign *a, char *err,
                            size_t errlen);
int  agent_auto_ips(char ips[][PS_IP_MAX], uint32_t max, uint32_t *n, char *err, size_t errlen);
int  agent_parse_ips(const char *spec, char ips[][PS_IP_MAX], uint32_t max, uint32_t *n,
                     char *err, size_t errlen);

/* hostmon.c */
void agent_hostmon_sample(struct agent_hostmon *m, struct ps_hostmon *out);
int  agent_proc_read(uint32_t pid, struct agent_proc *p);   /* pid 0: this process */
uint32_t agent_cpu_meter_pct(struct agent_cpu_meter *m, uint64_t cpu_us); /* % of a core x100 */
void agent_meminfo(uint64_t *total, uint64_t *available);  /* bytes; 0 when unknown */

/* csv.c */
int  agent_csv_assign(struct agent_csv *d, const struct ps_assign *a, char *err, size_t errlen);
int  agent_csv_chunk(struct agent_csv *d, const struct ps_data *c, char *err, size_t errlen);
int  agent_csv_get(void *ctx, const char *name, size_t len, const char **val, size_t *vlen);
void agent_csv_free(struct agent_csv *d);

/* target.c */
int  agent_target_resolve(struct agent_target *t, const char *url_tpl, char *err, size_t errlen);
int  agent_target_path(const char *url, char *path, size_t len);

/* tls.c: the worker's vhosts for the assignment's TLS settings (worker thread) */
int  agent_tls_assign(struct agent_worker *w, char *err, size_t errlen);
void agent_tls_close(struct agent_worker *w);
void agent_tls_load_extra(struct agent_worker *w, SSL_CTX *ctx);
/* The description of the TLS alert the server sent on wsi's handshake, or -1. */
int  agent_tls_alert(struct lws *wsi);
void agent_tls_trim(struct lws *wsi);
/* Sets ci's TLS flags, vhost and (server_name) host for a connection to target. */
void agent_tls_conn(const struct agent_worker *w, uint32_t target,
                    struct lws_client_connect_info *ci);

/* worker_thread.c: the worker's thread and the control thread's hand-over */
int  agent_worker_init(struct agent_worker *w, struct agent *ag, uint32_t index);
int  agent_worker_start(struct agent_worker *w);
void agent_worker_post(struct agent_worker *w, enum agent_wcmd cmd, const struct ps_cmd *arg);
int  agent_worker_wait(struct agent_worker *w, uint32_t timeout_ms, char *err, size_t errlen);
void agent_worker_join(struct agent_worker *w);
void agent_worker_close(struct agent_worker *w);
/* worker.c: on the worker's loop. agent_worker_apply carries out one command
 * (err: "" or why it failed); agent_worker_arm sets the timer for due_us
 * (mono) unless it fires sooner already. */
void agent_worker_apply(struct agent_worker *w, enum agent_wcmd cmd, const struct ps_cmd *arg,
                        char *err, size_t errlen);
void agent_worker_arm(struct agent_worker *w, int64_t due_us);
void agent_worker_event(struct agent_worker *w, uint32_t slot, uint32_t type, uint64_t val,
                        uint32_t aux);
uint32_t agent_worker_conn_id(const struct agent_worker *w, uint32_t slot);
uint32_t agent_worker_slots_below(const struct agent_worker *w, uint32_t n);
/* keepalive.c: pings and app heartbeats due now, and their deadlines; when the
 * sweeps next have a slot to visit (mono us, INT64_MAX: never) */
void agent_keepalive_step(struct agent_worker *w, int64_t now);
int64_t agent_keepalive_next(const struct agent_worker *w);
int64_t agent_keepalive_batch_us(const struct agent_worker *w);
/* worker_due.c: is the timer polling work under way; when is the next (mono us) */
int  agent_worker_busy(const struct agent_worker *w, int64_t now);
int64_t agent_worker_next_due(const struct agent_worker *w, int64_t now, int64_t wall_us);
uint32_t agent_worker_ramp_due(const struct agent_worker *w, int64_t now);
uint32_t agent_worker_rand(struct agent_worker *w, uint32_t bound);

/* conn.c */
struct agent_conn_piece {           /* one piece of a received message */
    const unsigned char *in;
    size_t len;
    size_t remaining;               /* bytes of the frame still to come */
    uint8_t first, final, binary;   /* first / last piece of the message; binary frame */
};
/* The template variables of one connection: {conn}, {agent}, {target}, then
 * its captured session variables by name (other sources add theirs here). */
struct agent_conn_tpl {
    char conn[16], agent[16], target[16];
    struct ps_tpl_var vars[3 + PS_SESSION_VARS_MAX + 2];   /* + the heartbeat's seq, now_ms */
    size_t n;
    struct agent_csv_ref row;    /* {csv.COL}: this connection's row of connections.data */
    struct ps_tpl_source src;
};
void agent_conn_tpl_init(struct agent_conn_tpl *t, const struct agent_worker *w, uint32_t slot);
char *agent_conn_vars(const struct agent_worker *w, uint32_t slot);   /* NULL: no captures */
uint32_t agent_conn_target(const struct agent_worker *w, uint32_t slot);
void agent_conn_ready(struct agent_worker *w, uint32_t slot, int64_t hs_us, int64_t ready_us);
void agent_conn_ended(struct agent_worker *w, uint32_t slot, uint8_t fallback, uint32_t aux);
struct lws *agent_srcaddr_connect(const struct lws_client_connect_info *ci);   /* srcaddr.c */
void agent_srcaddr_scopes(struct agent_opts *o);   /* src_scope[] from one interface walk */
void agent_conn_rx(struct agent_worker *w, uint32_t slot, const struct agent_conn_piece *p);
/* A pushed message's bytes on an online connection: acks and the token scan (dialects' payloads). */
void agent_conn_deliver(struct agent_worker *w, uint32_t slot, const struct agent_conn_piece *p);
int  agent_conn_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len);
void agent_conn_open(struct agent_worker *w, uint32_t slot);
void agent_conn_close(struct agent_worker *w, uint32_t slot, uint8_t reason, uint16_t code);
void agent_conn_kill(struct agent_worker *w, uint32_t slot, uint8_t reason);
void agent_conn_ping(struct agent_worker *w, uint32_t slot);
void agent_conn_heartbeat(struct agent_worker *w, uint32_t slot);
/* The writeable callback of any engine: one frame; -1 = close (with close_code
 * when AGENT_CF_WANT_CLOSE is set, at once otherwise). */
int  agent_conn_writeable(struct agent_worker *w, uint32_t slot);
int  agent_conn_established(struct agent_worker *w, uint32_t slot);   /* -1: not connecting */
void agent_conn_peer_close(struct agent_worker *w, uint32_t slot, const unsigned char *in, size_t len);
void agent_conn_pong(struct agent_worker *w, uint32_t slot);

/* conn_io.c: what the layers above ask of the engine under a connection.
 * agent_conn_write: p has LWS_PRE bytes of headroom; 0, or -1 (gone). */
enum agent_conn_kind { AGENT_CONN_TEXT, AGENT_CONN_BINARY, AGENT_CONN_PING };
int  agent_conn_live(const struct agent_worker *w, uint32_t slot);
void agent_conn_want_write(struct agent_worker *w, uint32_t slot);
void agent_conn_read_now(struct agent_worker *w, uint32_t slot);
int  agent_conn_write(struct agent_worker *w, uint32_t slot, unsigned char *p, size_t len,
                      enum agent_conn_kind kind);

/* conn_reason.c: what a failed attempt's socket and lws said, and the reason
 * it makes (aux: the errno when the socket's error decided it, else 0). */
struct agent_conn_why {
    int         sock_err;        /* SO_ERROR, or errno once lws had closed the socket; 0 */
    int         syn_sent;        /* the TCP handshake was still waiting for the server */
    const char *msg;             /* lws's text, or NULL */
};
uint8_t agent_conn_classify(const struct agent_conn_why *why, uint32_t *aux);
int     agent_close_code_valid(uint32_t code);   /* may a server send it (RFC 6455 7.4)? */
uint8_t agent_close_reason(uint32_t code);        /* server_close, or protocol for a bad code */
/* The kernel's verdict on the route to a numeric address (ENETUNREACH...), 0 = a route. */
int     agent_conn_route_errno(const char *addr, int port);

/* ctl.c; agent_ctl_wake: from a worker, the control thread has something to send */
int  agent_ctl_start(struct agent *ag, char *err, size_t errlen);
void agent_ctl_wake(struct agent *ag);
int  agent_ctl_run(struct agent *ag);
void agent_ctl_close(struct agent *ag);

#endif
