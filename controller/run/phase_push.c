/* phase_push: the phase that calls the push API (unicast, multicast, broadcast).
 *
 * Calls are paced at the planned rate (the run loop wakes for the next one)
 * with at most `concurrency` in flight. A unicast goes to a random connected
 * connection without a push in flight, a multicast to a group of them on one
 * server, a broadcast to every distinct broadcast URL (one per server). Every
 * message gets a token (run id, message id, send time) that comes back in the
 * delivery events. When all are sent and answered, the phase waits for the
 * grace deadline of its last message (or ends early once every message is
 * accounted for) and for every agent to have flushed the events of that time
 * (acked == last reported sequence), then settles the phase's messages. */
#include "run_internal.h"

#include <stdio.h>
#include <string.h>

#include "ps_tpl.h"

void run_on_push_done(void *ctx, const struct pusher_result *res)
{
    struct run *r = ctx;
    ledger_msg_http(&r->ledger, res->msg_id, res->status, res->ok);
    struct store_push_call c = {r->run_id, res->msg_id, pusher_kind_name(res->kind), res->status,
                                res->kind == PUSHER_MQTT ? -1 : res->http_status,
                                res->duration_us, res->error};
    store_push_call(&r->store, &c);
}

/* A call that never started: failed like one that did, with its adapter's kind. */
static void phase_push_unsent(struct run *r, uint32_t id, const char *url, const char *why)
{
    int kind = pusher_kind_of(url, NULL);
    run_on_push_done(r, &(struct pusher_result){id, kind < 0 ? PUSHER_HTTP : kind, -1, 0, 0, 0,
                                                why});
}

static int phase_push_one(struct run *r, const struct plan_phase *ph, int64_t now_wall)
{
    const struct plan *p = r->plan;
    int mode = ph->u.push.mode;
    uint32_t conn = LEDGER_NO_CONN, group[PLAN_RECIPIENTS_MAX], n_group = 0;
    if (mode == PLAN_PUSH_UNICAST) {
        conn = ledger_pick_up(&r->ledger);
        if (conn == LEDGER_NO_CONN)
            return -1; /* nobody to push to right now: the caller retries */
    } else if (mode == PLAN_PUSH_MULTICAST) {
        /* one call names several connections of one server */
        n_group = ledger_pick_group(&r->ledger, ph->u.push.recipients, p->n_targets, group);
        if (!n_group)
            return -1;
    }
    uint32_t id = ledger_msg_new(&r->ledger, mode, mode == PLAN_PUSH_MULTICAST ? LEDGER_NO_CONN : conn,
                                 now_wall, ph->u.push.grace_us);
    if (!id || (n_group && ledger_msg_recipients(&r->ledger, id, group, n_group) != 0)) {
        run_fail(r, "out of memory for message %llu", (unsigned long long)r->ps.sent + 1);
        return -1;
    }
    if (!r->ps.first_msg)
        r->ps.first_msg = id;
    r->ps.last_msg = id;
    r->ps.last_deadline = now_wall + ph->u.push.grace_us;
    r->ps.sent++;

    /* {conn}: the connection id, or for a multicast the comma-separated ids */
    char token[PS_TOKEN_MAX], conn_s[PLAN_RECIPIENTS_MAX * 11], msg_s[16], body[PUSHER_BODY_MAX],
         url[PS_URL_MAX];
    ps_token_format(token, sizeof token, r->run_id, id, now_wall);
    if (n_group) {
        size_t used = 0;
        for (uint32_t i = 0; i < n_group; i++)
            used += (size_t)snprintf(conn_s + used, sizeof conn_s - used, "%s%u", i ? "," : "",
                                     group[i]);
        conn = group[0];   /* picks the target below */
    } else {
        snprintf(conn_s, sizeof conn_s, "%u", conn);
    }
    snprintf(msg_s, sizeof msg_s, "%u", id);
    struct ps_tpl_var body_vars[] = {{"msg", token}, {"conn", conn_s}, {"id", msg_s}};
    struct ps_tpl_var url_vars[] = {{"conn", conn_s}, {"msg", msg_s}};
    /* {csv.COL}: the recipient's row of connections.data (run_data.c) */
    struct run_data_tpl data;
    struct ps_tpl_source csv;
    run_data_source(&data, r, n_group ? group : &conn, n_group ? n_group : mode != PLAN_PUSH_BROADCAST,
                    &csv);
    int blen = ps_tpl_expand_src(body, sizeof body, ph->u.push.body, body_vars, 3, &csv);

    /* A broadcast goes to every distinct broadcast URL (one per server), a
     * unicast or multicast to the target that owns the connection(s). */
    uint32_t n_calls = mode != PLAN_PUSH_BROADCAST || ph->u.push.url[0] ? 1 : p->n_targets;
    for (uint32_t t = 0; t < n_calls; t++) {
        const char *tpl = ph->u.push.url[0]       ? ph->u.push.url
                          : mode != PLAN_PUSH_BROADCAST ? p->targets[conn % p->n_targets].push
                                                      : p->targets[t].broadcast;
        int dup_url = 0;
        for (uint32_t u = 0; u < t && !ph->u.push.url[0]; u++)
            dup_url |= strcmp(p->targets[u].broadcast, tpl) == 0;
        if (dup_url)
            continue;
        int ulen = ps_tpl_expand_src(url, sizeof url, tpl, url_vars, 2, &csv);
        struct store_push_row row = {r->run_id, id, mode,
                                     conn == LEDGER_NO_CONN || n_group ? -1 : (int64_t)conn,
                                     now_wall, url};
        if (t == 0)
            store_push(&r->store, &row);
        if (blen < 0 || ulen < 0) {
            phase_push_unsent(r, id, tpl, "URL or body too long");
            continue;
        }
        /* the target's tls block covers its push and broadcast URLs; a
         * phase's own url gets the plan-wide block */
        const struct ps_tls *tls = &p->tls[ph->u.push.url[0] ? 0
                                           : p->targets[mode != PLAN_PUSH_BROADCAST
                                                            ? conn % p->n_targets : t].tls];
        struct pusher_req rq = {id, url, body, (size_t)blen, &ph->u.push.call, tls,
                                body_vars, 3, &csv};
        if (pusher_send(&r->pusher, &rq) != 0)
            phase_push_unsent(r, id, url, "no free push slot");
    }
    return 0;
}

/* No connection to push to: a phase that finds nobody for RUN_NO_RCPT_US (or
 * its grace, if longer) cannot do what it was asked and is cut, saying so,
 * instead of waiting for its deadline. */
static void phase_push_no_rcpt(struct run *r, const struct plan_phase *ph, const struct run_now *now)
{
    if (r->failed)
        return;
    if (!r->ps.no_rcpt_since_mono) {
        r->ps.no_rcpt_since_mono = now->mono;
        return;
    }
    int64_t wait = ph->u.push.grace_us > RUN_NO_RCPT_US ? ph->u.push.grace_us : RUN_NO_RCPT_US;
    if (now->mono - r->ps.no_rcpt_since_mono < wait)
        return;
    run_phase_cut(r, "recipients", "a connection up", (double)ledger_n_up(&r->ledger),
                  "no connection up to push to for %.0fs (%llu of %llu messages sent, %u connected)",
                  wait / 1e6, (unsigned long long)r->ps.sent, (unsigned long long)ph->u.push.count,
                  ledger_n_up(&r->ledger));
}

static void phase_push_start(struct run *r, const struct plan_phase *ph)
{
    pusher_set_concurrency(&r->pusher, ph->u.push.concurrency);
    pusher_set_timeout(&r->pusher, (long)(ph->u.push.timeout_us / 1000));
}

static int phase_push_step(struct run *r, const struct plan_phase *ph, const struct run_now *now)
{
    uint64_t due = (uint64_t)(now->elapsed / 1e6 * ph->u.push.rate) + 1;
    if (due > ph->u.push.count)
        due = ph->u.push.count;
    while (r->ps.sent < due && pusher_can_send(&r->pusher) && !r->failed) {
        if (phase_push_one(r, ph, now->wall) != 0) {
            phase_push_no_rcpt(r, ph, now);
            break;
        }
        r->ps.no_rcpt_since_mono = 0;
    }
    if (r->ps.sent < ph->u.push.count || pusher_inflight(&r->pusher))
        return 0;
    /* All sent and answered. Early finish when every message is accounted for. */
    int complete = ledger_msgs_complete(&r->ledger, r->ps.first_msg, r->ps.last_msg);
    if (!complete && now->wall < r->ps.last_deadline)
        return 0;
    if (!r->ps.drain_from_mono)
        r->ps.drain_from_mono = now->mono;
    int64_t drain_since = complete ? r->ps.drain_from_mono : r->ps.last_deadline;
    if (!run_drained(r, drain_since > now->wall ? now->wall : drain_since) &&
        run_drain_wait(r, r->ps.drain_from_mono, now->mono))
        return 0;
    /* Broadcast completeness is only known after the drain. */
    run_settle(r, r->ps.first_msg, r->ps.last_msg);
    return 1;
}

static void phase_push_end(struct run *r, const struct plan_phase *ph, char *note, size_t len)
{
    (void)ph;
    snprintf(note, len, "%llu messages", (unsigned long long)r->ps.sent);
}

const struct run_phase_ops phase_push_ops = {phase_push_start, phase_push_step, phase_push_end};
