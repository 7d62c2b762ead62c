/* refpush conn: the per-WebSocket-connection state, and the uid index that
 * finds connections by uid. See uidmap.c. */
#ifndef REFPUSH_CONN_H
#define REFPUSH_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "ack.h"
#include "queue.h"

struct lws;

enum refpush_conn_state {
    REFPUSH_CONN_NONE = 0,   /* session memory not yet set up (lws zeroes it) */
    REFPUSH_CONN_LIVE,
    REFPUSH_CONN_KICKING,    /* close 1001 requested; gets no more pushes */
    /* strict mode (session.c): */
    REFPUSH_CONN_LOGIN,      /* waiting for its login: written to, but gets no pushes */
    REFPUSH_CONN_REJECTED,   /* close 1008 on its way: another message than a login */
    REFPUSH_CONN_BAD_TOKEN,  /* close 1008 on its way: a login with a wrong token */
    REFPUSH_CONN_TIMED_OUT,  /* close 1008 on its way: no login in time */
};

/* lws's per-session memory for the WebSocket protocol: allocated and freed by
 * lws, so a connection costs no allocation of ours. 112 bytes (64 before the
 * unacked list of --require-ack, 88 before --ws-ping's queue; next to lws's
 * 512-byte rx buffer). */
struct refpush_conn {
    struct lws           *wsi;
    struct refpush_conn  *next;    /* uid index chain */
    struct refpush_conn **pprev;   /* what points at us in the chain */
    struct refpush_queue  queue;
    uint8_t               state;   /* enum refpush_conn_state */
    uint8_t               ping_due;   /* --ws-ping: a ping waits for the socket */
    uint32_t              session; /* the {session} of its templates */
    uint64_t              uid;
    struct refpush_acks   acks;    /* --require-ack: pushes written, not yet acked */
    /* --ws-ping (ping.c): the queue of connections by their next check */
    struct refpush_conn  *idle_prev, *idle_next;
    uint32_t              quiet_since;   /* loop ms of the last frame or pong heard */
    uint32_t              queued_at;     /* loop ms it was queued; checked P later */
};
_Static_assert(sizeof(struct refpush_conn) <= 112, "a connection's state grew: measure it "
               "(docs/performance.md) before raising this");

/* uid -> connections: a chained hash table whose chains run through the
 * connections themselves. Several connections may share a uid. */
struct refpush_uidmap {
    struct refpush_conn **buckets;
    size_t   nbuckets;   /* a power of two */
    unsigned shift;      /* 64 - log2(nbuckets) */
    size_t   count;      /* connections indexed */
};

int  refpush_uidmap_init(struct refpush_uidmap *m);
void refpush_uidmap_free(struct refpush_uidmap *m);   /* the connections are not touched */
/* Indexes c under c->uid. Growing the table may fail (-1); c is indexed anyway. */
int  refpush_uidmap_add(struct refpush_uidmap *m, struct refpush_conn *c);
void refpush_uidmap_remove(struct refpush_uidmap *m, struct refpush_conn *c);
/* First connection with this uid, or NULL; continue with refpush_uidmap_next. */
struct refpush_conn *refpush_uidmap_find(const struct refpush_uidmap *m, uint64_t uid);
struct refpush_conn *refpush_uidmap_next(const struct refpush_conn *c);

/* Visits every connection; fn must not add or remove connections. */
void refpush_uidmap_each(const struct refpush_uidmap *m,
                         void (*fn)(struct refpush_conn *c, void *ctx), void *ctx);

#endif
