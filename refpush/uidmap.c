/* refpush uidmap: O(1) uid -> connections.
 *
 * A chained hash table whose chains are intrusive: each connection carries its
 * own `next` and `pprev` (the address of whatever points at it), so adding and
 * removing a connection allocate nothing and removal needs no search. The
 * bucket array is the only allocation; it doubles when there are more
 * connections than buckets (load factor <= 1), which happens log2(N) times
 * while the connection count climbs, never per message.
 *
 * The hash is Fibonacci hashing (multiply by 2^64/phi, keep the top bits):
 * consecutive uids - the usual case, connection ids from an agent - land in
 * different buckets, and all connections of one uid land in the same chain, so
 * a unicast push walks one short chain.
 *
 * Iteration (broadcast, kick) walks the bucket array in order: O(buckets +
 * connections) = O(connections). */
#include "conn.h"

#include <stdlib.h>

#define REFPUSH_UIDMAP_MIN_BITS 10

static size_t refpush_uidmap_slot(unsigned shift, uint64_t uid)
{
    return (size_t)((uid * UINT64_C(0x9E3779B97F4A7C15)) >> shift);
}

int refpush_uidmap_init(struct refpush_uidmap *m)
{
    m->nbuckets = (size_t)1 << REFPUSH_UIDMAP_MIN_BITS;
    m->shift = 64 - REFPUSH_UIDMAP_MIN_BITS;
    m->count = 0;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    return m->buckets ? 0 : -1;
}

void refpush_uidmap_free(struct refpush_uidmap *m)
{
    free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = 0;
    m->count = 0;
}

static void refpush_uidmap_link(struct refpush_conn **head, struct refpush_conn *c)
{
    c->next = *head;
    if (c->next)
        c->next->pprev = &c->next;
    c->pprev = head;
    *head = c;
}

/* Keeps a connection's chain neighbours next to each other: connections of one
 * uid stay contiguous, so refpush_uidmap_next can stop at the first other uid. */
static void refpush_uidmap_insert(struct refpush_uidmap *m, struct refpush_conn *c)
{
    struct refpush_conn **head = &m->buckets[refpush_uidmap_slot(m->shift, c->uid)];
    for (struct refpush_conn *o = *head; o; o = o->next) {
        if (o->uid == c->uid) {
            refpush_uidmap_link(o->pprev, c);
            return;
        }
    }
    refpush_uidmap_link(head, c);
}

static int refpush_uidmap_grow(struct refpush_uidmap *m)
{
    size_t n = m->nbuckets * 2;
    struct refpush_conn **nb = calloc(n, sizeof *nb);
    if (!nb)
        return -1;
    struct refpush_conn **old = m->buckets;
    size_t old_n = m->nbuckets;
    m->buckets = nb;
    m->nbuckets = n;
    m->shift--;
    for (size_t i = 0; i < old_n; i++) {
        struct refpush_conn *c = old[i];
        while (c) {
            struct refpush_conn *next = c->next;
            refpush_uidmap_insert(m, c);
            c = next;
        }
    }
    free(old);
    return 0;
}

int refpush_uidmap_add(struct refpush_uidmap *m, struct refpush_conn *c)
{
    int rc = 0;
    if (m->count >= m->nbuckets)
        rc = refpush_uidmap_grow(m);   /* on failure chains just get longer */
    refpush_uidmap_insert(m, c);
    m->count++;
    return rc;
}

void refpush_uidmap_remove(struct refpush_uidmap *m, struct refpush_conn *c)
{
    if (!c->pprev)
        return;
    *c->pprev = c->next;
    if (c->next)
        c->next->pprev = c->pprev;
    c->next = NULL;
    c->pprev = NULL;
    m->count--;
}

struct refpush_conn *refpush_uidmap_find(const struct refpush_uidmap *m, uint64_t uid)
{
    struct refpush_conn *c = m->buckets[refpush_uidmap_slot(m->shift, uid)];
    while (c && c->uid != uid)
        c = c->next;
    return c;
}

struct refpush_conn *refpush_uidmap_next(const struct refpush_conn *c)
{
    struct refpush_conn *n = c->next;
    return n && n->uid == c->uid ? n : NULL;
}

void refpush_uidmap_each(const struct refpush_uidmap *m,
                         void (*fn)(struct refpush_conn *c, void *ctx), void *ctx)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct refpush_conn *c = m->buckets[i];
        while (c) {
            struct refpush_conn *next = c->next;
            fn(c, ctx);
            c = next;
        }
    }
}
