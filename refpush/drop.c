/* refpush drop: the /admin/drop test switch, a deliberate, recorded loss.
 *
 * A harness that claims to measure loss must be shown to catch it. Arming the
 * switch with ordinals (3,17,40) makes the 3rd, 17th and 40th unicast push
 * requests received afterwards look delivered to the caller (200
 * {"delivered":1}) while nothing is sent; their bodies are kept so a test can
 * check that exactly those messages were reported lost.
 *
 * The ordinals are sorted, so each request costs one comparison against the next
 * armed ordinal. Arming again replaces the schedule and restarts the count; the
 * record of swallowed bodies accumulates for the life of the process (bounded by
 * REFPUSH_DROP_KEEP; the count in /stats goes on). */
#include "server.h"

#include <stdlib.h>
#include <string.h>

void refpush_drop_init(struct refpush_drop *d)
{
    memset(d, 0, sizeof *d);
}

void refpush_drop_free(struct refpush_drop *d)
{
    free(d->nth);
    for (size_t i = 0; i < d->n_bodies; i++)
        free(d->bodies[i].body);
    free(d->bodies);
    refpush_drop_init(d);
}

void refpush_drop_arm(struct refpush_drop *d, uint64_t *nth, size_t n)
{
    free(d->nth);
    d->nth = nth;
    d->n_nth = n;
    d->next = 0;
    d->seen = 0;
}

int refpush_drop_take(struct refpush_drop *d)
{
    d->seen++;
    if (d->next < d->n_nth && d->nth[d->next] == d->seen) {
        d->next++;
        return 1;
    }
    return 0;
}

void refpush_drop_record(struct refpush_drop *d, const char *body, size_t len)
{
    if (d->n_bodies >= REFPUSH_DROP_KEEP)
        return;
    if (d->n_bodies == d->cap_bodies) {
        size_t cap = d->cap_bodies ? d->cap_bodies * 2 : 16;
        struct refpush_dropped *b = realloc(d->bodies, cap * sizeof *b);
        if (!b)
            return;
        d->bodies = b;
        d->cap_bodies = cap;
    }
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return;
    if (len)
        memcpy(copy, body, len);
    d->bodies[d->n_bodies].body = copy;
    d->bodies[d->n_bodies].len = len;
    d->n_bodies++;
}
