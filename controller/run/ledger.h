/* ledger: what the controller knows about every connection and every message.
 *
 * Connection state comes from the agents' events (timestamps already corrected to
 * the controller clock); message state from the pusher (send time, HTTP result)
 * and from delivery events. At the end of a push phase ledger_settle() decides,
 * for each message of the phase, who was expected to get it and classifies every
 * expected recipient that did not: *lost* (connected from send until the grace
 * deadline and never got it), *missed offline* (it was disconnected in between),
 * or *agent lost* (its agent died by the deadline; a unicast call that failed
 * because the recipient's agent was already gone counts here too, not as a
 * failed call). The ledger only decides: each verdict goes out through a
 * struct ledger_sink (the run writes them to the store), so the rules can be
 * tested without a database. Memory: 36 B per connection (its entry and its
 * place in the up-list), 64 B per message, plus one bitmap per broadcast
 * (one bit per connection). */
#ifndef PS_LEDGER_H
#define PS_LEDGER_H

#include <stdint.h>
#include "ps_hist.h"

#define LEDGER_NO_CONN UINT32_MAX

struct ledger_conn {
    int64_t  up_at;              /* last connected time, 0 = never */
    int64_t  down_at;            /* last close/failure time after being up, 0 = none */
    uint32_t last_msg;           /* highest message id delivered, for order checks */
    uint32_t up_pos;             /* index in ledger.up_list while up */
    uint16_t agent;              /* agent slot (index into the controller's agent table) */
    uint8_t  up;
    uint8_t  push_inflight;      /* a unicast push to it has not finished its HTTP call */
    uint32_t acks;               /* acks it sent, over its lives (the agents' acks events) */
};

struct ledger_msg {
    int64_t  t_send;
    int64_t  deadline;           /* t_send + grace */
    uint32_t conn;               /* unicast recipient or LEDGER_NO_CONN */
    uint32_t delivered, duplicates, out_of_order, misrouted;
    uint32_t bitmap;             /* broadcast: index into ledger.bitmaps + 1, 0 = none */
    uint32_t up_at_send;         /* broadcast: connections up when it was sent (early finish) */
    uint32_t rcpt_first, rcpt_n; /* multicast: its recipients in ledger.rcpt[] */
    uint16_t http_status;        /* 0 = in flight */
    uint8_t  mode;               /* enum plan_push_mode */
    uint8_t  failed;             /* push API call failed: nobody expected */
    uint8_t  settled;
};

struct ledger_totals {
    uint64_t opened, failed, closed;
    uint64_t pushes, push_failed;
    uint64_t expected, delivered, duplicates, out_of_order, misrouted, late, foreign;
    uint64_t lost, missed_offline, agent_lost;
    uint64_t conn_agent_lost;    /* connections up when their agent was lost */
    uint64_t push_failed_agent_lost; /* failed calls to a lost agent's connection (not in push_failed) */
};

struct ledger {
    uint32_t n_conns;
    struct ledger_conn *conns;
    uint32_t *up_list;           /* ids of connections currently up, for random picks */
    uint32_t n_up;
    uint32_t n_msgs, cap_msgs;   /* message ids are 1..n_msgs */
    struct ledger_msg *msgs;
    uint32_t n_bitmaps;
    uint64_t **bitmaps;
    uint32_t *rcpt;              /* multicast recipients, message after message */
    uint8_t  *rcpt_got;          /* parallel to rcpt: delivered yet */
    uint32_t n_rcpt, cap_rcpt;
    struct ps_hist latency;      /* whole run, us */
    struct ps_hist latency_sec;  /* current second, reset by the caller */
    struct ps_hist handshake;    /* whole run, us */
    struct ps_hist session_ready; /* whole run, us: connect start to the session's last step */
    struct ledger_totals t;
    uint64_t rng;
};

int  ledger_init(struct ledger *l, uint32_t n_conns, uint64_t seed);
void ledger_close(struct ledger *l);

void ledger_conn_up(struct ledger *l, uint32_t conn, int64_t ts, uint32_t handshake_us);
void ledger_conn_down(struct ledger *l, uint32_t conn, int64_t ts, int was_failure);
/* The connection's agent was lost at ts: it counts as down from then on (so it
 * is neither picked nor expected), but not as a close event. */
void ledger_conn_agent_lost(struct ledger *l, uint32_t conn, int64_t ts);
void ledger_assign(struct ledger *l, uint32_t first, uint32_t count, uint16_t agent_slot);
/* A random connected connection without a push in flight, or LEDGER_NO_CONN. */
uint32_t ledger_pick_up(struct ledger *l);

/* Up to k distinct connected connections without a push in flight, all on the
 * same target (conn mod n_targets) as the first; returns how many (0: none). */
uint32_t ledger_pick_group(struct ledger *l, uint32_t k, uint32_t n_targets, uint32_t *out);
/* Multicast: the recipients of message msg (right after ledger_msg_new). */
int  ledger_msg_recipients(struct ledger *l, uint32_t msg, const uint32_t *conns, uint32_t n);

/* Registers a new message; returns its id (>0) or 0 when out of memory. */
uint32_t ledger_msg_new(struct ledger *l, int mode, uint32_t conn, int64_t t_send, int64_t grace_us);
void ledger_msg_http(struct ledger *l, uint32_t msg, int status, int ok);
/* A delivery event; returns flags through dup/ooo for storage. 0 = counted,
 * -1 = unknown message (counted foreign). */
int  ledger_delivery(struct ledger *l, uint32_t msg, uint32_t conn, int64_t t_recv,
                     int64_t *latency_us, int *dup, int *ooo);
/* What others read of the ledger (its fields are its own). */
uint32_t ledger_n_conns(const struct ledger *l);
uint32_t ledger_n_up(const struct ledger *l);
uint32_t ledger_n_msgs(const struct ledger *l);
int      ledger_conn_is_up(const struct ledger *l, uint32_t conn);
/* Has the connection ever been up (a later connect is then a reconnect)? */
int      ledger_conn_ever_up(const struct ledger *l, uint32_t conn);
/* Its last connect and last close after being up (0 = none); returns whether it is up. */
int      ledger_conn_times(const struct ledger *l, uint32_t conn, int64_t *up_at, int64_t *down_at);
/* Connections that were up at least once. */
uint64_t ledger_n_ever_up(const struct ledger *l);
const struct ledger_totals *ledger_totals(const struct ledger *l);
const struct ps_hist *ledger_latency(const struct ledger *l);         /* whole run */
const struct ps_hist *ledger_latency_second(const struct ledger *l);  /* since the last reset */
const struct ps_hist *ledger_handshake(const struct ledger *l);
const struct ps_hist *ledger_session_ready(const struct ledger *l);
void ledger_session_ready_note(struct ledger *l, uint32_t ready_us);
/* Acks per connection: what one life of conn sent; and over the connections
 * that were ever up, the total, how many acked, the fewest and most one sent. */
struct ledger_acks { uint64_t sum; uint32_t conns, min, max; };
void ledger_conn_acks(struct ledger *l, uint32_t conn, uint64_t n);
void ledger_acks(const struct ledger *l, struct ledger_acks *out);
void     ledger_second_reset(struct ledger *l);
/* A delivery carrying another run's token. */
void     ledger_foreign(struct ledger *l);
/* Has every message of [first, last] whose call did not fail reached as many
 * connections as it can (a unicast its one, a multicast its recipients, a
 * broadcast as many as were up when it was sent)? Who exactly got a broadcast
 * is only settled later; this is the early end of a push phase. */
int      ledger_msgs_complete(const struct ledger *l, uint32_t first, uint32_t last);

/* Why an expected recipient did not get a message. */
enum ledger_miss { LEDGER_MISS_LOST, LEDGER_MISS_OFFLINE, LEDGER_MISS_AGENT_LOST };
const char *ledger_miss_name(enum ledger_miss k);   /* "lost", "missed_offline", "agent_lost" */

/* A settled message's counts. */
struct ledger_settled {
    uint32_t expected, delivered, duplicates, lost, missed_offline, agent_lost;
};

/* Where ledger_settle hands its verdicts, in order: every miss of a message,
 * then its counts. Either function may be NULL. */
struct ledger_sink {
    void (*missed)(void *ctx, uint32_t msg, uint32_t conn, enum ledger_miss kind);
    void (*settled)(void *ctx, uint32_t msg, const struct ledger_settled *s);
    void *ctx;
};

/* Settles messages [first, last]; an agent slot with lost_at != 0 in agent_lost_at
 * makes its connections' misses "agent lost". sink may be NULL (totals only). */
void ledger_settle(struct ledger *l, uint32_t first, uint32_t last, const int64_t *agent_lost_at,
                   const struct ledger_sink *sink);

#endif
