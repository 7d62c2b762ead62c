/* refpush queue: what each connection still has to send.
 *
 * A connection's queue is a singly linked list of {message, next} nodes, with
 * head, tail and length embedded in the connection (no per-connection
 * allocation, and an idle connection costs 24 bytes for it). Nodes come from one
 * pool owned by the server: slabs of REFPUSH_QSLAB_NODES nodes are allocated
 * when the free list runs dry and are kept for reuse, so a steady push load
 * allocates no nodes at all; a broadcast to N connections takes N nodes from
 * the pool once and returns them as the frames are written. Slabs are freed only
 * when the server closes.
 *
 * The queue is capped at REFPUSH_QUEUE_CAP frames per connection: a client that
 * stops reading cannot make the server grow without bound; the caller counts
 * what did not fit as dropped. */
#include "queue.h"

#include <stdlib.h>

#define REFPUSH_QSLAB_NODES 4096

struct refpush_qslab {
    struct refpush_qslab *next;
    struct refpush_qnode  nodes[REFPUSH_QSLAB_NODES];
};

void refpush_qpool_init(struct refpush_qpool *p)
{
    p->free = NULL;
    p->slabs = NULL;
    p->nodes_total = 0;
    p->nodes_used = 0;
}

void refpush_qpool_free(struct refpush_qpool *p)
{
    struct refpush_qslab *s = p->slabs;
    while (s) {
        struct refpush_qslab *next = s->next;
        free(s);
        s = next;
    }
    refpush_qpool_init(p);
}

static int refpush_qpool_grow(struct refpush_qpool *p)
{
    struct refpush_qslab *s = malloc(sizeof *s);
    if (!s)
        return -1;
    s->next = p->slabs;
    p->slabs = s;
    for (size_t i = 0; i < REFPUSH_QSLAB_NODES; i++) {
        s->nodes[i].msg = NULL;
        s->nodes[i].next = p->free;
        p->free = &s->nodes[i];
    }
    p->nodes_total += REFPUSH_QSLAB_NODES;
    return 0;
}

int refpush_queue_push(struct refpush_qpool *p, struct refpush_queue *q, struct refpush_msg *m,
                       uint64_t arg)
{
    if (q->len >= REFPUSH_QUEUE_CAP)
        return -1;
    if (!p->free && refpush_qpool_grow(p))
        return -1;
    struct refpush_qnode *n = p->free;
    p->free = n->next;
    p->nodes_used++;
    refpush_msg_ref(m);
    n->msg = m;
    n->arg = arg;
    n->next = NULL;
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    q->len++;
    return 0;
}

struct refpush_msg *refpush_queue_pop(struct refpush_qpool *p, struct refpush_queue *q,
                                      uint64_t *arg)
{
    struct refpush_qnode *n = q->head;
    if (!n)
        return NULL;
    q->head = n->next;
    if (!q->head)
        q->tail = NULL;
    q->len--;
    struct refpush_msg *m = n->msg;
    if (arg)
        *arg = n->arg;
    n->msg = NULL;
    n->next = p->free;
    p->free = n;
    p->nodes_used--;
    return m;
}

void refpush_queue_clear(struct refpush_qpool *p, struct refpush_queue *q)
{
    struct refpush_msg *m;
    while ((m = refpush_queue_pop(p, q, NULL)))
        refpush_msg_unref(m);
}
