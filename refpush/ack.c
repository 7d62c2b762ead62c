/* refpush ack: what --require-ack keeps for every unacked message.
 *
 * A real push service keeps a message until the client acknowledges it and
 * sends it again when the ack does not come; a client that does not ack then
 * sees duplicates, which is what pushstorm's ledger must be able to count. So
 * in --require-ack mode every pushed frame a connection writes gets an entry:
 * the message (a reference, not a copy), the id written into the frame, the
 * deadline and how often it was sent. The client's {"type":"ack","id":K}
 * releases it. At the deadline an entry with redeliveries left becomes "due"
 * and its connection writes it again, same id, before anything new; after
 * --max-redeliver redeliveries it is given up (counted as expired).
 *
 * Bounded and allocation-free in steady state: entries come from slabs kept
 * in a free list (like queue.c's nodes), and a connection may have at most
 * --ack-window entries; when its window is full it writes no further pushes
 * until an ack or an expiry frees a slot (the messages wait in its queue).
 *
 * Timing: the timeout is the same for every entry, so the table's deadline
 * list is in deadline order just by appending, and one timer set to its head
 * serves every connection (ws.c re-arms it). An ack unlinks in O(1) from the
 * deadline list; finding the entry scans the connection's list, which is at
 * most a window long and usually answered at its head (clients ack in order).
 *
 * Times are milliseconds from any monotonic origin the caller chooses. */
#include "ack.h"

#include <stdlib.h>

#define REFPUSH_ACKSLAB_N 1024

struct refpush_ackslab {
    struct refpush_ackslab *next;
    struct refpush_ack      e[REFPUSH_ACKSLAB_N];
};

void refpush_acktab_init(struct refpush_acktab *t, uint64_t timeout_ms, unsigned max_redeliver,
                         unsigned window)
{
    *t = (struct refpush_acktab){ .timeout_ms = timeout_ms, .max_redeliver = max_redeliver,
                                  .window = window };
}

void refpush_acktab_free(struct refpush_acktab *t)
{
    struct refpush_ackslab *s = t->slabs;
    while (s) {
        struct refpush_ackslab *next = s->next;
        free(s);
        s = next;
    }
    t->slabs = NULL;
    t->free = NULL;
}

static struct refpush_ack *refpush_acktab_get(struct refpush_acktab *t)
{
    if (!t->free) {
        struct refpush_ackslab *s = malloc(sizeof *s);
        if (!s)
            return NULL;
        s->next = t->slabs;
        t->slabs = s;
        for (size_t i = 0; i < REFPUSH_ACKSLAB_N; i++) {
            s->e[i].cnext = t->free;
            t->free = &s->e[i];
        }
    }
    struct refpush_ack *e = t->free;
    t->free = e->cnext;
    t->used++;
    return e;
}

static void refpush_acktab_wait(struct refpush_acktab *t, struct refpush_ack *e, uint64_t now_ms)
{
    e->deadline_ms = now_ms + t->timeout_ms;
    e->due = 0;
    e->dnext = NULL;
    e->dprev = t->dtail;
    if (t->dtail)
        t->dtail->dnext = e;
    else
        t->dhead = e;
    t->dtail = e;
}

static void refpush_acktab_unwait(struct refpush_acktab *t, struct refpush_ack *e)
{
    if (e->dprev)
        e->dprev->dnext = e->dnext;
    else
        t->dhead = e->dnext;
    if (e->dnext)
        e->dnext->dprev = e->dprev;
    else
        t->dtail = e->dprev;
    e->dprev = e->dnext = NULL;
}

struct refpush_ack *refpush_acks_track(struct refpush_acktab *t, struct refpush_acks *a,
                                       struct refpush_msg *m, uint64_t now_ms)
{
    if (!refpush_acks_room(t, a))
        return NULL;
    struct refpush_ack *e = refpush_acktab_get(t);
    if (!e)
        return NULL;
    refpush_msg_ref(m);
    e->msg = m;
    e->owner = a;
    e->cnext = NULL;
    e->id = ++a->next_id;
    if (e->id == 0)
        e->id = ++a->next_id;   /* after 2^32 sends: 0 is never an id */
    e->sends = 1;
    if (a->tail)
        a->tail->cnext = e;
    else
        a->head = e;
    a->tail = e;
    a->n++;
    refpush_acktab_wait(t, e, now_ms);
    return e;
}

struct refpush_ack *refpush_acks_due(const struct refpush_acks *a)
{
    if (!a->n_due)
        return NULL;
    for (struct refpush_ack *e = a->head; e; e = e->cnext)
        if (e->due)
            return e;
    return NULL;
}

void refpush_acks_resent(struct refpush_acktab *t, struct refpush_ack *e, uint64_t now_ms)
{
    if (!e->due)
        return;
    e->owner->n_due--;
    e->sends++;
    t->stats.redelivered++;
    refpush_acktab_wait(t, e, now_ms);
}

/* Unlinks e (whose predecessor on its owner's list is prev) and frees it. */
static void refpush_acks_release(struct refpush_acktab *t, struct refpush_ack *prev,
                                 struct refpush_ack *e)
{
    struct refpush_acks *a = e->owner;
    if (prev)
        prev->cnext = e->cnext;
    else
        a->head = e->cnext;
    if (a->tail == e)
        a->tail = prev;
    a->n--;
    if (e->due)
        a->n_due--;
    else
        refpush_acktab_unwait(t, e);
    refpush_msg_unref(e->msg);
    e->msg = NULL;
    e->owner = NULL;
    e->cnext = t->free;
    t->free = e;
    t->used--;
}

int refpush_acks_take(struct refpush_acktab *t, struct refpush_acks *a, uint64_t id)
{
    struct refpush_ack *prev = NULL;
    for (struct refpush_ack *e = a->head; e; prev = e, e = e->cnext) {
        if (e->id == id) {
            refpush_acks_release(t, prev, e);
            t->stats.acked++;
            return 0;
        }
    }
    t->stats.acks_unknown++;
    return -1;
}

void refpush_acks_clear(struct refpush_acktab *t, struct refpush_acks *a)
{
    while (a->head)
        refpush_acks_release(t, NULL, a->head);
}

void refpush_acktab_expire(struct refpush_acktab *t, uint64_t now_ms,
                           void (*touched)(struct refpush_acks *a, void *ctx), void *ctx)
{
    while (t->dhead && t->dhead->deadline_ms <= now_ms) {
        struct refpush_ack *e = t->dhead;
        struct refpush_acks *a = e->owner;
        if (e->sends <= t->max_redeliver) {
            refpush_acktab_unwait(t, e);
            e->due = 1;
            a->n_due++;
        } else {
            struct refpush_ack *prev = NULL;
            for (struct refpush_ack *p = a->head; p != e; p = p->cnext)
                prev = p;
            refpush_acks_release(t, prev, e);
            t->stats.expired++;
        }
        if (touched)
            touched(a, ctx);
    }
}
