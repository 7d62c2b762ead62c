/* refpush ack: pushed messages waiting for the client's ack (--require-ack).
 * See ack.c. */
#ifndef REFPUSH_ACK_H
#define REFPUSH_ACK_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

/* Largest --ack-window: unacked messages one connection may have out. */
#define REFPUSH_ACK_WINDOW_MAX 1024

/* One delivered, not yet acked message of one connection. It is on its
 * connection's list from its first send until acked or given up, and on the
 * table's deadline list while waiting (not while due for redelivery). */
struct refpush_ack {
    struct refpush_msg  *msg;         /* a reference */
    struct refpush_acks *owner;
    struct refpush_ack  *cnext;       /* owner's list, in first-send order */
    struct refpush_ack  *dprev, *dnext;
    uint64_t deadline_ms;
    uint32_t id;
    uint16_t sends;                   /* times written (1 + redeliveries) */
    uint8_t  due;                     /* waiting to be written again */
};

/* Embedded in each connection (24 bytes). */
struct refpush_acks {
    struct refpush_ack *head, *tail;
    uint32_t next_id;                 /* last id handed out; ids start at 1 */
    uint16_t n;                       /* entries (<= window) */
    uint16_t n_due;
};

struct refpush_ackslab;

struct refpush_ack_stats {
    uint64_t acked;                   /* acks that matched a waiting message */
    uint64_t acks_unknown;            /* acks naming no waiting message */
    uint64_t redelivered;             /* frames written again for want of an ack */
    uint64_t expired;                 /* messages given up after the last redelivery */
};

/* The server's: the entry pool and the deadline list (oldest first; every
 * deadline is send time + timeout, so appending keeps it sorted). */
struct refpush_acktab {
    struct refpush_ack     *free;
    struct refpush_ackslab *slabs;
    struct refpush_ack     *dhead, *dtail;
    uint64_t timeout_ms;
    unsigned max_redeliver;           /* redeliveries before giving up */
    unsigned window;
    size_t   used;                    /* entries on some connection's list */
    struct refpush_ack_stats stats;
};

void refpush_acktab_init(struct refpush_acktab *t, uint64_t timeout_ms, unsigned max_redeliver,
                         unsigned window);
void refpush_acktab_free(struct refpush_acktab *t);    /* every connection must be cleared */

/* May the connection have one more message out? */
static inline int refpush_acks_room(const struct refpush_acktab *t, const struct refpush_acks *a)
{
    return a->n < t->window;
}

/* A first send of m at now_ms: a new entry with the connection's next id (the
 * id goes into the frame), waiting from now. NULL when out of memory or the
 * window is full. */
struct refpush_ack *refpush_acks_track(struct refpush_acktab *t, struct refpush_acks *a,
                                       struct refpush_msg *m, uint64_t now_ms);
/* The first entry due for redelivery, or NULL. */
struct refpush_ack *refpush_acks_due(const struct refpush_acks *a);
/* e was written again at now_ms: waiting once more; counted as redelivered. */
void refpush_acks_resent(struct refpush_acktab *t, struct refpush_ack *e, uint64_t now_ms);
/* The client acked id: 0 when it was out (entry released), -1 if unknown. */
int  refpush_acks_take(struct refpush_acktab *t, struct refpush_acks *a, uint64_t id);
/* Releases every entry of a closing connection. */
void refpush_acks_clear(struct refpush_acktab *t, struct refpush_acks *a);

/* Handles every deadline at or before now_ms: an entry with redeliveries left
 * becomes due, the others are given up; touched(a, ctx) is called for each
 * connection concerned (it has a frame to write, or a free window slot). */
void refpush_acktab_expire(struct refpush_acktab *t, uint64_t now_ms,
                           void (*touched)(struct refpush_acks *a, void *ctx), void *ctx);
/* The earliest waiting deadline, or 0 when nothing waits. */
static inline uint64_t refpush_acktab_next_deadline(const struct refpush_acktab *t)
{
    return t->dhead ? t->dhead->deadline_ms : 0;
}

#endif
