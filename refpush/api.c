/* refpush api: what each HTTP endpoint does, and the JSON it answers.
 *
 * http.c has already read and checked the request; each function here acts on
 * the server, writes the response body into s->out and returns the HTTP status.
 *
 *   POST /push?uid=N        200 {"delivered":K} | 404 {"delivered":0,"error":"uid not connected"}
 *   POST /push?uid=N,M,...  multicast (at most 256 uids): 404 only if none is connected
 *   POST /broadcast         200 {"delivered":K}
 *   GET  /stats             200 {counters..., "dropped_bodies":[...]}
 *   POST /admin/kick?fraction=F   200 {"kicked":K}
 *   POST /admin/drop?nth=3,17,40  200 {"armed":3}
 *   errors                  4xx {"error":"what is wrong"}
 *
 * A pushed body becomes one refpush_msg (one allocation, see msg.c) that every
 * recipient's queue shares; a unicast push to a uid with no connection
 * allocates nothing. K counts the connections the message was queued for; a
 * connection whose queue is full is skipped and counted in "dropped". */
#include "server.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

static unsigned refpush_api_out_of_memory(struct refpush_server *s)
{
    return refpush_api_error(s, 503, "out of memory for the message");
}

unsigned refpush_api_error(struct refpush_server *s, unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof msg)
        n = (int)sizeof msg - 1;
    refpush_jbuf_reset(&s->out);
    refpush_jbuf_append(&s->out, "{\"error\":", 9);
    refpush_jbuf_append_string(&s->out, msg, (size_t)n);
    refpush_jbuf_append(&s->out, "}\n", 2);
    return status;
}

unsigned refpush_api_push(struct refpush_server *s, const uint64_t *uids, uint32_t n_uids,
                          const char *body, size_t len)
{
    s->stats.pushes++;
    refpush_jbuf_reset(&s->out);
    if (refpush_drop_take(&s->drop)) {
        s->stats.dropped_injected++;
        refpush_drop_record(&s->drop, body, len);
        refpush_jbuf_appendf(&s->out, "{\"delivered\":1}\n");
        return 200;
    }
    size_t online = 0;
    for (uint32_t i = 0; i < n_uids; i++)
        online += refpush_ws_count_uid(s, uids[i]) > 0;
    if (online == 0) {
        s->stats.pushes_unrouted++;
        refpush_jbuf_appendf(&s->out, "{\"delivered\":0,\"error\":\"%s not connected\"}\n",
                             n_uids > 1 ? "no uid" : "uid");
        return 404;
    }
    /* one shared message for every recipient, as for a broadcast */
    struct refpush_msg *m = refpush_msg_new_push(body, len, s->cfg.wrap);
    if (!m)
        return refpush_api_out_of_memory(s);
    size_t k = 0;
    for (uint32_t i = 0; i < n_uids; i++)
        k += refpush_ws_send_uid(s, uids[i], m);
    refpush_msg_unref(m);
    refpush_jbuf_appendf(&s->out, "{\"delivered\":%zu}\n", k);
    return 200;
}

unsigned refpush_api_broadcast(struct refpush_server *s, const char *body, size_t len)
{
    s->stats.broadcasts++;
    refpush_jbuf_reset(&s->out);
    size_t k = 0;
    if (s->conns.count) {
        struct refpush_msg *m = refpush_msg_new_push(body, len, s->cfg.wrap);
        if (!m)
            return refpush_api_out_of_memory(s);
        k = refpush_ws_send_all(s, m);
        refpush_msg_unref(m);
    }
    refpush_jbuf_appendf(&s->out, "{\"delivered\":%zu}\n", k);
    return 200;
}

/* The strict-mode counters, in the middle of the /stats object. */
static void refpush_api_stats_strict(struct refpush_server *s)
{
    const struct refpush_stats *st = &s->stats;
    const struct refpush_ack_stats *ak = &s->acks.stats;
    struct refpush_jbuf *o = &s->out;
    refpush_jbuf_appendf(o, "\"welcomes\":%" PRIu64 ",\"logins\":%" PRIu64
                         ",\"login_rejected\":%" PRIu64 ",\"login_timeouts\":%" PRIu64
                         ",\"client_invalid\":%" PRIu64 ",", st->welcomes, st->logins,
                         st->login_rejected, st->login_timeouts, st->client_invalid);
    refpush_jbuf_appendf(o, "\"acked\":%" PRIu64 ",\"acks_unknown\":%" PRIu64
                         ",\"redelivered\":%" PRIu64 ",\"ack_expired\":%" PRIu64
                         ",\"unacked\":%zu,", ak->acked, ak->acks_unknown, ak->redelivered,
                         ak->expired, s->acks.used);
}

unsigned refpush_api_stats(struct refpush_server *s)
{
    const struct refpush_stats *st = &s->stats;
    struct refpush_jbuf *o = &s->out;
    refpush_jbuf_reset(o);
    refpush_jbuf_appendf(o, "{\"connections\":%zu,\"connections_total\":%" PRIu64
                         ",\"closed_total\":%" PRIu64, s->conns.count, st->connections_total,
                         st->closed_total);
    refpush_jbuf_appendf(o, ",\"pushes\":%" PRIu64 ",\"pushes_unrouted\":%" PRIu64
                         ",\"broadcasts\":%" PRIu64 ",\"frames_delivered\":%" PRIu64,
                         st->pushes, st->pushes_unrouted, st->broadcasts, st->frames_delivered);
    refpush_jbuf_appendf(o, ",\"heartbeats\":%" PRIu64 ",\"kicked\":%" PRIu64
                         ",\"dropped\":%" PRIu64 ",\"dropped_overflow\":%" PRIu64
                         ",\"dropped_injected\":%" PRIu64, st->heartbeats, st->kicked,
                         st->dropped_overflow + st->dropped_injected, st->dropped_overflow,
                         st->dropped_injected);
    refpush_jbuf_appendf(o, ",\"client_frames\":%" PRIu64 ",\"queued\":%zu"
                         ",\"drop_armed\":%zu,\"ws_pings\":%" PRIu64 ",\"ws_ping_hangups\":%" PRIu64
                         ",", st->client_frames, s->qpool.nodes_used, s->drop.n_nth - s->drop.next,
                         st->ws_pings, st->ws_ping_hangups);
    refpush_api_stats_strict(s);
    refpush_jbuf_append(o, "\"dropped_bodies\":[", sizeof "\"dropped_bodies\":[" - 1);
    for (size_t i = 0; i < s->drop.n_bodies; i++) {
        if (i)
            refpush_jbuf_append(o, ",", 1);
        refpush_jbuf_append_string(o, s->drop.bodies[i].body, s->drop.bodies[i].len);
    }
    refpush_jbuf_append(o, "]}\n", 3);
    return 200;
}

unsigned refpush_api_kick(struct refpush_server *s, double fraction)
{
    size_t k = refpush_ws_kick(s, fraction);
    s->stats.kicked += k;
    refpush_jbuf_reset(&s->out);
    refpush_jbuf_appendf(&s->out, "{\"kicked\":%zu}\n", k);
    return 200;
}

unsigned refpush_api_drop(struct refpush_server *s, uint64_t *nth, size_t n)
{
    refpush_drop_arm(&s->drop, nth, n);
    refpush_jbuf_reset(&s->out);
    refpush_jbuf_appendf(&s->out, "{\"armed\":%zu}\n", n);
    return 200;
}
