/* fakefleet: synthetic agents for bench/ingest.sh (see fakefleet.c).
 *
 * One process plays many agents. Each agent is a thread with its own control
 * (req0) and data (push0) sockets, so the controller sees exactly what it sees
 * of real agents; what the agents report is made up, as fast as the controller
 * takes it. fanout.c is the trivial push API the plan's targets point at: a
 * call's token becomes delivery events of the agents that own the recipients. */
#ifndef FAKEFLEET_H
#define FAKEFLEET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <nng/nng.h>

#include "ps_auth.h"
#include "ps_proto.h"

#define FF_UNICAST_RING 65536    /* unicast deliveries waiting, per agent */
#define FF_BCAST_MAX    16       /* broadcasts a run may call */

/* What a figure is measured over: one kind of event. */
enum ff_kind { FF_CONNECT, FF_UNICAST, FF_BCAST, FF_CLOSE, FF_KINDS };

/* One kind's events of one agent: how many, the first sent, the last sent and
 * when the controller acknowledged the batch holding the last (mono us). */
struct ff_span {
    uint64_t n;
    uint64_t last_seq;
    int64_t  first_send, last_send, acked;
};

struct ff_agent {
    struct ff_fleet *fleet;
    uint32_t idx;
    pthread_t thread;
    nng_socket req, push;
    uint32_t id;                       /* the controller's agent id, 0 = not joined */
    char token[PS_AUTH_HEX];
    uint32_t run_id, conn_first, conn_count;
    atomic_uint assigned;              /* 1 once conn_first/conn_count are set */
    uint32_t cmd_done;
    uint8_t *up;                       /* per connection of the range */
    uint32_t n_up, connect_to, next_connect;
    uint32_t close_left, close_cursor; /* a DISCONNECT's closes still to send */
    int stopping, stopped;
    uint64_t seq, acked;
    uint64_t opened, closed, messages;
    struct ff_span span[FF_KINDS];
    /* deliveries the fanout hands over (under mu) */
    pthread_mutex_t mu;
    uint32_t uni_conn[FF_UNICAST_RING], uni_msg[FF_UNICAST_RING];
    uint32_t uni_head, uni_tail;
    uint32_t bc_msg[FF_BCAST_MAX], bc_n;   /* broadcasts called */
    uint32_t bc_done, bc_cursor;           /* delivering bc_msg[bc_done] from bc_cursor */
    struct ps_events ev;
    msgpack_sbuffer sb;
    int failed;
    char error[256];
};

struct ff_fleet {
    const char *controller;
    char data_url[600];
    uint32_t n_agents;
    struct ff_agent *agents;
    int tick_ms, fast_tick_ms;
    atomic_int quit;
    /* fanout: broadcast calls (mono us when called) */
    pthread_mutex_t mu;
    int64_t bc_call[FF_BCAST_MAX];
    uint32_t n_bc;
    uint64_t calls, bad_calls;
};

/* fanout.c: the push API on 127.0.0.1:port, served by its own thread. */
int  ff_fanout_start(struct ff_fleet *f, int port, pthread_t *th);
/* Hands a delivery to the agent that owns conn (0 = ok, -1 = nobody owns it). */
int  ff_deliver_unicast(struct ff_fleet *f, uint32_t conn, uint32_t msg);
void ff_deliver_broadcast(struct ff_fleet *f, uint32_t msg, int64_t call_mono);

#endif
