/* stomp_acks.c: the ack ids a STOMP connection owes, waiting for its
 * writeable callback (client and client-individual ack modes).
 *
 * They live in the dialect's per-connection state, so the store is a fixed
 * STOMP_ACKS_BYTES of bytes, front-coded: an entry is the number of bytes its
 * id shares with the one before, its own tail and its subscription. A broker
 * numbers one session's messages under one prefix (RabbitMQ's ack ids are
 * T_<sub>@@session-<id>@@<tag>), so after the first an entry costs a few
 * bytes, and a burst of MESSAGEs in one read fits. In client mode an ACK is
 * cumulative (it covers its subscription's earlier messages), so a new id
 * replaces the same subscription's ids at the tail. A store that is full is
 * the caller's refusal (STOMP_ERR_ACK_FULL), never a silent drop. The writer
 * puts as many ACK frames as fit into one WebSocket message. */
#include "stomp_wire.h"

#include <string.h>

/* Entry layout: [shared][tail length][subscription][tail bytes]. */
#define ACK_ENTRY_HDR 3

/* Walks to the last entry: its id into id (STOMP_VAL_MAX), its offset and length. */
static size_t acks_last(const struct stomp_acks *q, char *id, size_t *off)
{
    size_t at = 0, len = 0;
    *off = 0;
    for (unsigned k = 0; k < q->n; k++) {
        const uint8_t *h = q->buf + at;
        memcpy(id + h[0], h + ACK_ENTRY_HDR, h[1]);
        len = (size_t)h[0] + h[1];
        *off = at;
        at += ACK_ENTRY_HDR + h[1];
    }
    return len;
}

int stomp_acks_push(struct stomp_acks *q, uint8_t sub, const char *id, size_t len, int cumulative)
{
    char last[STOMP_VAL_MAX];
    size_t off, llen;
    if (len > STOMP_ACK_ID_MAX)
        return -1;
    while (cumulative && q->n) {       /* the new ACK covers its subscription's older ones */
        acks_last(q, last, &off);
        if (q->buf[off + 2] != sub)
            break;
        q->used = (uint8_t)off;
        q->n--;
    }
    llen = acks_last(q, last, &off);
    size_t shared = 0;
    while (shared < len && shared < llen && last[shared] == id[shared])
        shared++;
    size_t need = ACK_ENTRY_HDR + len - shared;
    if (need > sizeof q->buf - q->used)
        return -1;
    uint8_t *h = q->buf + q->used;
    h[0] = (uint8_t)shared;
    h[1] = (uint8_t)(len - shared);
    h[2] = sub;
    memcpy(h + ACK_ENTRY_HDR, id + shared, len - shared);
    q->used = (uint8_t)(q->used + need);
    q->n++;
    return 0;
}

int stomp_acks_write(struct stomp_acks *q, char *out, size_t cap)
{
    char id[STOMP_VAL_MAX];
    size_t at = 0, n = 0, idlen = 0;
    unsigned done = 0;
    while (done < q->n) {
        const uint8_t *h = q->buf + at;
        memcpy(id + h[0], h + ACK_ENTRY_HDR, h[1]);
        idlen = (size_t)h[0] + h[1];
        int w = stomp_enc_ack(out + n, cap - n, id, idlen);
        if (w < 0)
            break;
        n += (size_t)w;
        at += ACK_ENTRY_HDR + h[1];
        done++;
    }
    if (done == q->n) {
        q->used = 0;
        q->n = 0;
        return (int)n;
    }
    if (done) {
        /* The new first entry shares nothing: spell its id out in full. It
         * fits: the entries dropped held at least the bytes it shared. */
        uint8_t rest[STOMP_ACKS_BYTES];
        const uint8_t *h = q->buf + at;
        size_t shared = h[0], tail = h[1], after = at + ACK_ENTRY_HDR + tail;
        size_t n_rest = q->used - after;
        memcpy(rest, q->buf + after, n_rest);
        uint8_t *f = q->buf;
        memmove(f + ACK_ENTRY_HDR + shared, h + ACK_ENTRY_HDR, tail);
        memcpy(f + ACK_ENTRY_HDR, id, shared);
        f[2] = h[2];
        f[1] = (uint8_t)(shared + tail);
        f[0] = 0;
        memcpy(f + ACK_ENTRY_HDR + shared + tail, rest, n_rest);
        q->used = (uint8_t)(ACK_ENTRY_HDR + shared + tail + n_rest);
        q->n = (uint8_t)(q->n - done);
    }
    return (int)n;
}
