/* refpush queue: per-connection FIFO of message pointers, nodes from a shared
 * pool. See queue.c. */
#ifndef REFPUSH_QUEUE_H
#define REFPUSH_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

/* Frames one connection may have waiting; beyond this a push to it is dropped. */
#define REFPUSH_QUEUE_CAP 1024

struct refpush_qnode {
    struct refpush_msg   *msg;
    struct refpush_qnode *next;
    uint64_t              arg;   /* per-recipient value of a template frame (a pong's seq) */
};

struct refpush_qslab;

/* Owns every node; nodes are recycled through the free list, never freed one
 * by one. */
struct refpush_qpool {
    struct refpush_qnode *free;
    struct refpush_qslab *slabs;
    size_t nodes_total;    /* nodes allocated (all slabs) */
    size_t nodes_used;     /* nodes in some queue */
};

/* Embedded in each connection (24 bytes). */
struct refpush_queue {
    struct refpush_qnode *head;
    struct refpush_qnode *tail;
    uint16_t len;
};

void refpush_qpool_init(struct refpush_qpool *p);
void refpush_qpool_free(struct refpush_qpool *p);   /* all queues must be drained */

/* Appends m (taking a reference) with its per-recipient arg. Returns 0, or -1
 * when the queue is at REFPUSH_QUEUE_CAP or no node could be allocated. */
int  refpush_queue_push(struct refpush_qpool *p, struct refpush_queue *q, struct refpush_msg *m,
                        uint64_t arg);
/* The head's message, or NULL when empty (still queued). */
static inline struct refpush_msg *refpush_queue_peek(const struct refpush_queue *q)
{
    return q->head ? q->head->msg : NULL;
}
/* Removes the head and returns its message (the caller now owns that
 * reference) and, when arg is not NULL, its arg; NULL when empty. */
struct refpush_msg *refpush_queue_pop(struct refpush_qpool *p, struct refpush_queue *q,
                                      uint64_t *arg);
/* Drops every entry, releasing their references. */
void refpush_queue_clear(struct refpush_qpool *p, struct refpush_queue *q);

#endif
