/* run_internal.h: what the files of one campaign share (private to run/).
 *
 * struct run is the one owner of everything a campaign holds: the store, the
 * ledger, the pusher, the sockets, the agent table and the state of the phase
 * under way. The files split it by concern, each with the run_ prefix:
 *  - run.c            the loop and the state machine, set-up and tear-down;
 *  - run_agents.c     agent registry, hello/tick, event ingest, loss, commands;
 *  - run_assign.c     connection ranges (even or by capacity) and shares;
 *  - run_data.c       per-connection data: the agents' rows, {csv.COL} in pushes;
 *  - phase_*.c        one table entry of struct run_phase_ops per phase kind;
 *  - run_analytics.c  start skew, reconnection curve, the per-second sample;
 *  - run_end.c        the end: every agent's final report, or who never sent it;
 *  - run_verdict.c    final figures and thresholds.
 * Other modules (ledger, pusher, metrics, progress, store) are reached only
 * through their functions. */
#ifndef PS_RUN_INTERNAL_H
#define PS_RUN_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <nng/nng.h>

#include "ledger.h"
#include "local.h"
#include "metrics.h"
#include "plan.h"
#include "plan_csv.h"
#include "progress.h"
#include "ps_proto.h"
#include "ps_tpl.h"
#include "pusher.h"
#include "run.h"
#include "run_auth.h"
#include "store.h"

#define RUN_MAX_AGENTS        PLAN_AGENTS_MAX   /* check refuses more (plan.h) */
#define RUN_MAX_MONITORS      64
#define RUN_MONITOR_BASE      1000000   /* monitor agents' ids: base + 1, + 2, ... */
#define RUN_CMD_QUEUE         16
#define RUN_START_LEAD_US     800000   /* start_at lead: > 2 ticks (200 ms) + slack */
#define RUN_IDLE_TICK_US      1000000  /* an idle agent's tick during a hold (run_idle_ms) */
#define RUN_AGENT_SUSPECT_US  5000000  /* no tick for this long: suspect (lost after agents.grace) */
#define RUN_DRAIN_MAX_US      5000000  /* longest wait for events after a deadline or a rejoin */
#define RUN_NO_RCPT_US        10000000 /* a push phase with nobody to push to this long ends */
/* A push phase settles after its drain; an agent that went silent during the
 * phase must be found suspect before that, or the messages it never reported
 * would be settled as service loss. The drain waits for every live agent to
 * tick, so a silent one holds it until it is suspect, provided the drain
 * waits at least that long; a suspect holds it until it rejoins or is lost
 * (run_link.c). */
_Static_assert(RUN_DRAIN_MAX_US >= RUN_AGENT_SUSPECT_US, "drain must outlast suspect detection");

/* A queued command (RAMP, DISCONNECT, STOP): only the kinds a phase queues,
 * so an agent's slot holds RUN_CMD_QUEUE of these and not of struct ps_cmd,
 * whose union is as big as an ASSIGN (58 KB: a megabyte per slot). */
struct run_cmd {
    uint32_t id, kind;
    union {
        struct ps_ramp       ramp;
        struct ps_disconnect disconnect;
    } u;
};

struct run_agent {
    uint32_t id;                 /* slot + 1; 0 = free slot */
    struct ps_hello hello;
    int64_t  joined_at;          /* wall */
    int64_t  last_tick_mono;
    int64_t  last_tick_wall;
    int64_t  lost_at;            /* wall; 0 = alive */
    uint32_t conn_first, conn_count;
    uint32_t n_threads;
    uint64_t acked[PS_MAX_THREADS];
    uint64_t reported[PS_MAX_THREADS];
    int64_t  offset_us, offset_err_us;
    int64_t  ramp_begin;         /* wall: earliest first-connection attempt in this ramp, 0 = none */
    int64_t  start_skew_us;      /* worst (largest |x|) ramp start minus its start_at */
    int      has_skew;
    struct ps_stats stats;
    int64_t  stored_second;
    uint64_t tls_full, tls_resumed;   /* TLS handshakes, from its latest TICK */
    struct ps_assign assign;     /* command id 1 */
    uint32_t assign_cmds;        /* 1 + the DATA commands after it (ids 2..assign_cmds) */
    struct { uint32_t k, j; uint64_t at; } data_pos;  /* value (row k, column j) starts at byte at */
    uint32_t cmd_last;           /* id of the last queued command */
    uint32_t cmd_done;
    char     cmd_error[PS_REASON_MAX];
    struct run_cmd queue[RUN_CMD_QUEUE]; /* ids 2.., at [id % RUN_CMD_QUEUE] */
    uint32_t stopped;
    uint32_t pipe;               /* nng pipe id its last control request came on */
    int64_t  pipe_closed_mono;   /* that pipe closed at; 0 = open */
    /* verdict: seconds it reported itself saturated (its --lag-threshold), pongs seen */
    uint32_t saturated_s;
    uint64_t pongs;
    char     token[PS_AUTH_HEX]; /* session token of its hello (run_auth.h) */
    /* control-link liveness (run_link.c) */
    int64_t  suspect_since_mono; /* silent, kept for agents.grace; 0 = not suspect */
    uint64_t dropped_events;     /* its buffer discarded so far (its count) */
    /* the run's end (run_end.c) */
    int      final_due;          /* told STOP while live: its final report is awaited */
    int64_t  final_mono;         /* its final report is in (stopped, every batch stored); 0 = not */
};

/* Control pipes that closed, noted by nng's pipe callback (on an nng thread)
 * and read by the run loop (see run_agents.c). */
#define RUN_PIPES_CLOSED_MAX 256
struct run_pipes {
    pthread_mutex_t mu;
    uint32_t closed[RUN_PIPES_CLOSED_MAX];
    uint32_t n;
};

enum run_state { RUN_WAITING, RUN_ASSIGNING, RUN_PHASES, RUN_STOPPING, RUN_DONE };

struct run_phase_state {
    int64_t  started_mono, started_wall;
    int64_t  start_at;           /* wall, for agents */
    uint64_t sent;               /* push: messages created */
    uint32_t first_msg, last_msg;
    int64_t  last_deadline;      /* wall */
    int64_t  drain_from_mono;    /* 0 until the deadline has passed */
    uint64_t ramp_from;          /* connections up when the ramp started */
    uint32_t exec_pid;
    int      exec_status;        /* exec: exit status, -1 = killed by a signal */
    int64_t  exec_start_wall;    /* exec: when the command started (the fault) */
    int64_t  exec_done_wall;     /* exec: when it exited */
    uint64_t up_before;          /* exec: connections up before the fault */
    uint64_t *before;            /* exec: bitmap of those connections */
    int      reached;            /* wait_reconnect: the fraction was reached */
    int64_t  no_rcpt_since_mono; /* push: no connection to push to since; 0 = found one */
    char     cut[160];           /* why the phase was cut short ("" = it ended by itself) */
};

/* A monitor agent (pushstorm-agent --monitor) on a server under test: it holds
 * no connections and takes no commands; it joins at any time and its host and
 * process figures are stored each second and shown in the progress line. */
struct run_monitor {
    uint32_t id;
    char     name[PS_NAME_MAX];
    int64_t  last_second;        /* controller-clock second of the last stored sample */
    int64_t  last_tick_mono;
    struct ps_hostmon last;
    int      told_over;          /* answered "run over" while stopping (--monitor --once exits) */
    char     token[PS_AUTH_HEX]; /* session token of its hello (run_auth.h) */
};

struct run {
    const struct plan *plan;
    const struct run_opts *opts;
    struct store store;
    struct ledger ledger;
    struct pusher pusher;
    struct local_agents local;
    nng_socket rep, pull;
    int rep_fd, pull_fd;
    uint32_t run_id;
    enum run_state state;
    int64_t  state_since_mono;
    int64_t  started_wall, started_mono;
    uint32_t n_agents;
    struct run_agent *agents;    /* RUN_MAX_AGENTS slots */
    int64_t *agent_lost_at;      /* per slot, for the ledger */
    uint32_t phase;              /* index into plan->phases */
    struct run_phase_state ps;
    int      failed;             /* exit 2 with reason */
    char     reason[512];
    uint64_t reasons[PS_REASON_COUNT];  /* failures + closes by reason */
    uint64_t tls_verify[PS_TLS_CAUSE_COUNT];  /* tls_verify failures by cause */
    uint64_t bogus_events;
    int64_t  last_second;        /* wall second of the last progress line */
    uint64_t last_opened, last_delivered, last_pushes;
    msgpack_sbuffer sbuf;
    struct ps_events *events;    /* decode buffer (large: heap) */
    int      stop_requested;
    int64_t  start_skew_max;     /* worst |start skew| over agents and ramps, us */
    uint32_t n_monitors;
    struct run_monitor monitors[RUN_MAX_MONITORS];
    struct progress progress;    /* everything the run prints while it runs */
    struct plan_csv csv;         /* connections.data; n_cols 0 = none (run_data.c) */
    struct metrics metrics;      /* --metrics: Prometheus scrapes */
    struct run_pipes pipes;
    uint32_t cur_pipe;           /* pipe of the control request being handled */
    /* verdict: the agents' per-second ping RTT quantiles, saturated agent-seconds,
     * phases cut short (deadline, no recipient: each one fails the verdict) */
    struct ps_hist rtt_p50, rtt_p99;
    uint64_t saturated_s;
    uint32_t phases_cut;
    struct run_auth auth;        /* --auth-key, pending challenges, complaints (run_auth.c) */
    struct {                     /* control-link liveness (run_link.c) */
        uint32_t suspects, rejoined;
        uint64_t batches_skipped;    /* batches agents discarded that were never stored */
        int64_t  rejoined_mono;      /* the last rejoin */
    } link;
    struct {                     /* the run's end (run_end.c) */
        int64_t  since_mono;         /* STOP queued */
        int64_t  took_us;            /* until the last final report, or the wait given up */
        uint32_t due, missing;       /* agents told STOP; of them, final reports not in */
    } end;
};

/* The clocks a phase step sees: taken once per step. */
struct run_now {
    int64_t mono, wall;
    int64_t elapsed;             /* since the phase started, us */
};

/* One phase kind, as a table entry (run.c holds the table, indexed by
 * enum plan_phase_kind). start sends the agents their commands; step is
 * called every loop turn and returns 1 when the phase is done; end writes the
 * phase's note (for the phases table) and its figures. start and end may be
 * NULL. */
struct run_phase_ops {
    void (*start)(struct run *r, const struct plan_phase *ph);
    int  (*step)(struct run *r, const struct plan_phase *ph, const struct run_now *now);
    void (*end)(struct run *r, const struct plan_phase *ph, char *note, size_t len);
};

extern const struct run_phase_ops phase_ramp_ops, phase_hold_ops, phase_push_ops,
    phase_disconnect_ops, phase_exec_ops, phase_wait_reconnect_ops;

/* run.c */
void run_fail(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ends the phase under way at its next step as failed: `what` names its
 * threshold row (phaseN_<what>), expr and measured what was required and seen,
 * and the message says why (stored in the phase's note and printed). */
void run_phase_cut(struct run *r, const char *what, const char *expr, double measured,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
const char *run_state_name(enum run_state s);

/* run_agents.c */
uint32_t run_live_agents(const struct run *r);
void run_store_agent(struct run *r, const struct run_agent *a);
struct run_cmd *run_cmd_push(struct run_agent *a, uint32_t kind);
void run_drain_control(struct run *r);
void run_drain_data(struct run *r);
/* Have all live agents flushed their events up to the time they last ticked,
 * with that tick after `since_wall`? run_agent_drained: agent a. */
int  run_drained(const struct run *r, int64_t since_wall);
int  run_agent_drained(const struct run_agent *a);

/* run_link.c: suspect, rejoined, lost */
void run_on_pipe_closed(nng_pipe p, nng_pipe_ev ev, void *arg);
void run_check_agents(struct run *r);
/* A tick from agent a, before its last_tick_mono is updated. */
void run_link_tick(struct run *r, struct run_agent *a, const struct ps_tick *t, int64_t now_mono);
uint32_t run_link_suspects(const struct run *r);
/* Must a drain that began at drain_from_mono, and is not drained, go on? */
int  run_drain_wait(const struct run *r, int64_t drain_from_mono, int64_t now_mono);
void run_link_figures(struct run *r);

/* phase_push.c: the pusher's completion callback */
void run_on_push_done(void *ctx, const struct pusher_result *res);

/* run_assign.c */
void run_assign(struct run *r);
/* total split over the live agents in proportion to their ranges. */
void run_split(const struct run *r, uint64_t total, uint64_t *share);

/* run_data.c: connections.data, loaded at start and kept until the end */
int  run_data_open(struct run *r, char *err, size_t errlen);
void run_data_close(struct run *r);
/* The csv fields of a's ASSIGN and a->assign_cmds; -1 (run failed) when a's rows are too many. */
int  run_data_assign(struct run *r, struct run_agent *a, struct ps_assign *as);
/* The assignment's deadline grown by the DATA commands of the agent with the most. */
int64_t run_data_timeout(int64_t base_us, uint32_t assign_cmds);
/* Says how much data went to the agents in how long (elapsed: us since the ASSIGNs). */
void run_data_sent(struct run *r, int64_t elapsed_us);
/* DATA command `id` (2..a->assign_cmds) of agent a. */
void run_data_cmd(const struct run *r, struct run_agent *a, uint32_t id, struct ps_cmd *out);
/* {csv.COL} for a push to conns[0..n) (a multicast joins the values with commas). */
struct run_data_tpl {
    const struct plan_csv *csv;
    const uint32_t *conns;
    uint32_t n;
    char   buf[8192];            /* joined values of a multicast */
    size_t used;
};
void run_data_source(struct run_data_tpl *t, const struct run *r, const uint32_t *conns, uint32_t n,
                     struct ps_tpl_source *src);

/* run_analytics.c */
/* A connect event of agent a (before the ledger sees it): during a ramp, the
 * first connect of a connection that was never up marks when the agent began. */
void run_skew_note(struct run *r, struct run_agent *a, uint32_t conn, int64_t connected_at,
                   uint32_t handshake_us);
void run_start_skew(struct run *r);
uint64_t run_exec_back(const struct run *r);
void run_reconnect_curve(struct run *r);
void run_second(struct run *r, int64_t now_wall);
/* A new per-second sample of agent a (before a->stats takes it): its ping
 * RTT and whether it was saturated go to the run's figures. */
void run_sample_note(struct run *r, struct run_agent *a, const struct ps_stats *s);

/* run_end.c: stopping the agents and waiting, bounded, for their final reports */
/* Queues STOP for every live agent that was given its assignment and starts the wait. */
void run_end_begin(struct run *r);
/* Is agent a's final report in? (it is no longer watched for loss then) */
int  run_end_final(const struct run_agent *a);
/* One step of the wait; returns 1 when it is over (every final report in, or
 * agents.final_wait passed: the missing ones are named and fail the run). */
int  run_end_step(struct run *r, int64_t now_mono);
void run_end_figures(struct run *r);

/* run_verdict.c */
void run_settle(struct run *r, uint32_t first, uint32_t last);
int  run_verdict(struct run *r);

#endif
