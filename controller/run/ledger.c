/* ledger: connection and message accounting (see ledger.h for the rules).
 *
 * The up_list makes a random pick of a connected connection O(1): connections
 * are swap-removed when they go down. Unicast recipients are chosen among
 * connections with no push in flight, so that two pushes to one uid are never
 * concurrent and delivery order is meaningful. Broadcast delivery is tracked in
 * a bitmap per broadcast so that duplicates are detected exactly. */
#include "ledger.h"

#include <stdlib.h>
#include <string.h>

#include "plan.h"

_Static_assert(sizeof(struct ledger_conn) <= 32, "ledger_conn grew past its 32 bytes");

int ledger_init(struct ledger *l, uint32_t n_conns, uint64_t seed)
{
    memset(l, 0, sizeof *l);
    l->n_conns = n_conns;
    l->conns = calloc(n_conns ? n_conns : 1, sizeof *l->conns);
    l->up_list = calloc(n_conns ? n_conns : 1, sizeof *l->up_list);
    l->rng = seed | 1;
    ps_hist_init(&l->latency);
    ps_hist_init(&l->latency_sec);
    ps_hist_init(&l->handshake);
    ps_hist_init(&l->session_ready);
    if (!l->conns || !l->up_list) {
        ledger_close(l);
        return -1;
    }
    return 0;
}

void ledger_close(struct ledger *l)
{
    for (uint32_t i = 0; i < l->n_bitmaps; i++)
        free(l->bitmaps[i]);
    free(l->bitmaps);
    free(l->rcpt);
    free(l->rcpt_got);
    free(l->msgs);
    free(l->up_list);
    free(l->conns);
    memset(l, 0, sizeof *l);
}

uint32_t ledger_n_conns(const struct ledger *l)
{
    return l->n_conns;
}

uint32_t ledger_n_up(const struct ledger *l)
{
    return l->n_up;
}

uint32_t ledger_n_msgs(const struct ledger *l)
{
    return l->n_msgs;
}

int ledger_conn_is_up(const struct ledger *l, uint32_t conn)
{
    return conn < l->n_conns && l->conns[conn].up;
}

int ledger_conn_ever_up(const struct ledger *l, uint32_t conn)
{
    return conn < l->n_conns && l->conns[conn].up_at != 0;
}

int ledger_conn_times(const struct ledger *l, uint32_t conn, int64_t *up_at, int64_t *down_at)
{
    if (conn >= l->n_conns) {
        *up_at = *down_at = 0;
        return 0;
    }
    *up_at = l->conns[conn].up_at;
    *down_at = l->conns[conn].down_at;
    return l->conns[conn].up;
}

uint64_t ledger_n_ever_up(const struct ledger *l)
{
    uint64_t n = 0;
    for (uint32_t c = 0; c < l->n_conns; c++)
        n += l->conns[c].up_at != 0;
    return n;
}

const struct ledger_totals *ledger_totals(const struct ledger *l)
{
    return &l->t;
}

const struct ps_hist *ledger_latency(const struct ledger *l)
{
    return &l->latency;
}

const struct ps_hist *ledger_latency_second(const struct ledger *l)
{
    return &l->latency_sec;
}

const struct ps_hist *ledger_handshake(const struct ledger *l)
{
    return &l->handshake;
}

const struct ps_hist *ledger_session_ready(const struct ledger *l)
{
    return &l->session_ready;
}

void ledger_session_ready_note(struct ledger *l, uint32_t ready_us)
{
    ps_hist_record(&l->session_ready, ready_us);
}

void ledger_second_reset(struct ledger *l)
{
    ps_hist_init(&l->latency_sec);
}

void ledger_foreign(struct ledger *l)
{
    l->t.foreign++;
}

static uint64_t ledger_rand(struct ledger *l)
{
    /* xorshift64*: plenty for picking recipients, no global state. */
    l->rng ^= l->rng >> 12;
    l->rng ^= l->rng << 25;
    l->rng ^= l->rng >> 27;
    return l->rng * 0x2545F4914F6CDD1DULL;
}

void ledger_assign(struct ledger *l, uint32_t first, uint32_t count, uint16_t agent_slot)
{
    for (uint32_t c = first; c < first + count && c < l->n_conns; c++)
        l->conns[c].agent = agent_slot;
}

void ledger_conn_up(struct ledger *l, uint32_t conn, int64_t ts, uint32_t handshake_us)
{
    if (conn >= l->n_conns)
        return;
    struct ledger_conn *c = &l->conns[conn];
    l->t.opened++;
    ps_hist_record(&l->handshake, handshake_us);
    c->up_at = ts;
    if (c->up)
        return;
    c->up = 1;
    c->up_pos = l->n_up;
    l->up_list[l->n_up++] = conn;
}

/* Takes an up connection out of the up-list; counts nothing. */
static void ledger_mark_down(struct ledger *l, uint32_t conn, int64_t ts)
{
    struct ledger_conn *c = &l->conns[conn];
    if (!c->up)
        return;
    c->up = 0;
    c->down_at = ts;
    uint32_t last = l->up_list[--l->n_up];
    l->up_list[c->up_pos] = last;
    l->conns[last].up_pos = c->up_pos;
}

void ledger_conn_down(struct ledger *l, uint32_t conn, int64_t ts, int was_failure)
{
    if (conn >= l->n_conns)
        return;
    if (was_failure)
        l->t.failed++;
    else
        l->t.closed++;
    ledger_mark_down(l, conn, ts);
}

void ledger_conn_acks(struct ledger *l, uint32_t conn, uint64_t n)
{
    if (conn >= l->n_conns)
        return;
    uint64_t sum = l->conns[conn].acks + n;
    l->conns[conn].acks = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

void ledger_acks(const struct ledger *l, struct ledger_acks *out)
{
    *out = (struct ledger_acks){.min = UINT32_MAX};
    for (uint32_t c = 0; c < l->n_conns; c++) {
        const struct ledger_conn *k = &l->conns[c];
        if (!k->up_at && !k->acks)
            continue;
        out->sum += k->acks;
        out->conns += k->acks > 0;
        out->min = k->acks < out->min ? k->acks : out->min;
        out->max = k->acks > out->max ? k->acks : out->max;
    }
    if (out->min == UINT32_MAX)
        out->min = 0;
}

void ledger_conn_agent_lost(struct ledger *l, uint32_t conn, int64_t ts)
{
    if (conn >= l->n_conns || !l->conns[conn].up)
        return;
    /* Not a close the agent saw: counting it in t.closed would report closes
     * that never happened (the service may still hold the socket). */
    l->t.conn_agent_lost++;
    ledger_mark_down(l, conn, ts);
}

uint32_t ledger_pick_up(struct ledger *l)
{
    if (l->n_up == 0)
        return LEDGER_NO_CONN;
    /* A few random tries, then a scan from a random point: never loops forever. */
    for (int i = 0; i < 8; i++) {
        uint32_t c = l->up_list[ledger_rand(l) % l->n_up];
        if (!l->conns[c].push_inflight)
            return c;
    }
    uint32_t start = (uint32_t)(ledger_rand(l) % l->n_up);
    for (uint32_t i = 0; i < l->n_up; i++) {
        uint32_t c = l->up_list[(start + i) % l->n_up];
        if (!l->conns[c].push_inflight)
            return c;
    }
    return LEDGER_NO_CONN;
}

uint32_t ledger_pick_group(struct ledger *l, uint32_t k, uint32_t n_targets, uint32_t *out)
{
    uint32_t first = ledger_pick_up(l);
    if (first == LEDGER_NO_CONN || !k)
        return 0;
    uint32_t n = 0, nt = n_targets ? n_targets : 1;
    out[n++] = first;
    l->conns[first].push_inflight = 1;   /* so the picks below skip it; reset below */
    /* random picks; a bounded number of misses keeps a nearly empty target from
     * making this spin (a smaller group is sent rather than none) */
    for (uint32_t tries = 0; n < k && tries < 16 * k + 64; tries++) {
        uint32_t c = ledger_pick_up(l);
        if (c == LEDGER_NO_CONN)
            break;
        if (c % nt != first % nt)
            continue;
        l->conns[c].push_inflight = 1;
        out[n++] = c;
    }
    for (uint32_t i = 0; i < n; i++)
        l->conns[out[i]].push_inflight = 0;
    return n;
}

int ledger_msg_recipients(struct ledger *l, uint32_t msg, const uint32_t *conns, uint32_t n)
{
    if (msg == 0 || msg > l->n_msgs)
        return -1;
    if (l->n_rcpt + n > l->cap_rcpt) {
        uint32_t cap = l->cap_rcpt ? l->cap_rcpt : 4096;
        while (cap < l->n_rcpt + n)
            cap *= 2;
        uint32_t *r = realloc(l->rcpt, (size_t)cap * sizeof *r);
        if (!r)
            return -1;
        l->rcpt = r;
        uint8_t *g = realloc(l->rcpt_got, cap);
        if (!g)
            return -1;
        l->rcpt_got = g;
        l->cap_rcpt = cap;
    }
    struct ledger_msg *m = &l->msgs[msg];
    m->rcpt_first = l->n_rcpt;
    m->rcpt_n = n;
    for (uint32_t i = 0; i < n; i++) {
        l->rcpt[l->n_rcpt + i] = conns[i];
        l->rcpt_got[l->n_rcpt + i] = 0;
        if (conns[i] < l->n_conns)
            l->conns[conns[i]].push_inflight = 1;
    }
    l->n_rcpt += n;
    return 0;
}

/* Index of conn among a multicast's recipients, or -1. */
static int64_t ledger_rcpt_find(const struct ledger *l, const struct ledger_msg *m, uint32_t conn)
{
    for (uint32_t i = 0; i < m->rcpt_n; i++)
        if (l->rcpt[m->rcpt_first + i] == conn)
            return m->rcpt_first + i;
    return -1;
}

uint32_t ledger_msg_new(struct ledger *l, int mode, uint32_t conn, int64_t t_send, int64_t grace_us)
{
    if (l->n_msgs + 1 >= l->cap_msgs) {
        uint32_t cap = l->cap_msgs ? l->cap_msgs * 2 : 4096;
        struct ledger_msg *m = realloc(l->msgs, (size_t)cap * sizeof *m);
        if (!m)
            return 0;
        memset(m + l->cap_msgs, 0, (size_t)(cap - l->cap_msgs) * sizeof *m);
        l->msgs = m;
        l->cap_msgs = cap;
    }
    uint32_t id = ++l->n_msgs;
    struct ledger_msg *m = &l->msgs[id];
    memset(m, 0, sizeof *m);
    m->t_send = t_send;
    m->deadline = t_send + grace_us;
    m->conn = conn;
    m->mode = (uint8_t)mode;
    if (mode == PLAN_PUSH_BROADCAST) {
        uint64_t **b = realloc(l->bitmaps, (l->n_bitmaps + 1) * sizeof *b);
        if (!b)
            return 0;
        l->bitmaps = b;
        b[l->n_bitmaps] = calloc((l->n_conns + 63) / 64 + 1, sizeof(uint64_t));
        if (!b[l->n_bitmaps])
            return 0;
        m->bitmap = ++l->n_bitmaps;
        m->up_at_send = l->n_up;
    } else if (conn < l->n_conns) {
        l->conns[conn].push_inflight = 1;
    }
    l->t.pushes++;
    return id;
}

void ledger_msg_http(struct ledger *l, uint32_t msg, int status, int ok)
{
    if (msg == 0 || msg > l->n_msgs)
        return;
    struct ledger_msg *m = &l->msgs[msg];
    /* Broadcasts fan out to several targets: one failed call fails the message. */
    if (!m->http_status || !ok)
        m->http_status = (uint16_t)(status > 0 ? status : 1);
    if (!ok && !m->failed) {
        m->failed = 1;
        l->t.push_failed++;
    }
    if (m->conn < l->n_conns)
        l->conns[m->conn].push_inflight = 0;
    for (uint32_t i = 0; i < m->rcpt_n; i++)
        if (l->rcpt[m->rcpt_first + i] < l->n_conns)
            l->conns[l->rcpt[m->rcpt_first + i]].push_inflight = 0;
}

int ledger_delivery(struct ledger *l, uint32_t msg, uint32_t conn, int64_t t_recv,
                    int64_t *latency_us, int *dup, int *ooo)
{
    *dup = *ooo = 0;
    *latency_us = 0;
    if (msg == 0 || msg > l->n_msgs || conn >= l->n_conns) {
        l->t.foreign++;
        return -1;
    }
    struct ledger_msg *m = &l->msgs[msg];
    struct ledger_conn *c = &l->conns[conn];
    *latency_us = t_recv - m->t_send;
    if (m->bitmap) {
        uint64_t *bits = l->bitmaps[m->bitmap - 1];
        uint64_t bit = 1ULL << (conn & 63);
        *dup = (bits[conn >> 6] & bit) != 0;
        bits[conn >> 6] |= bit;
    } else if (m->rcpt_n) {
        int64_t at = ledger_rcpt_find(l, m, conn);
        if (at < 0) {
            m->misrouted++;
            l->t.misrouted++;
            return 0;
        }
        *dup = l->rcpt_got[at];
        l->rcpt_got[at] = 1;
    } else if (m->conn != conn) {
        m->misrouted++;
        l->t.misrouted++;
        return 0;
    } else {
        *dup = m->delivered > 0;
    }
    if (*dup) {
        m->duplicates++;
        l->t.duplicates++;
        return 0;
    }
    if (msg < c->last_msg && m->mode != PLAN_PUSH_BROADCAST) {
        *ooo = 1;
        m->out_of_order++;
        l->t.out_of_order++;
    }
    if (msg > c->last_msg)
        c->last_msg = msg;
    m->delivered++;
    l->t.delivered++;
    if (m->settled)
        l->t.late++;
    int64_t lat = *latency_us > 0 ? *latency_us : 0;
    ps_hist_record(&l->latency, (uint64_t)lat);
    ps_hist_record(&l->latency_sec, (uint64_t)lat);
    return 0;
}

int ledger_msgs_complete(const struct ledger *l, uint32_t first, uint32_t last)
{
    for (uint32_t id = first; id && id <= last && id <= l->n_msgs; id++) {
        const struct ledger_msg *m = &l->msgs[id];
        if (m->failed)
            continue;
        int done = m->bitmap ? m->delivered >= m->up_at_send
                   : m->rcpt_n ? m->delivered >= m->rcpt_n
                               : m->delivered > 0;
        if (!done)
            return 0;
    }
    return 1;
}

/* Was the connection connected at t and without interruption until deadline? */
enum ledger_presence { LEDGER_ABSENT, LEDGER_STAYED, LEDGER_LEFT };

static enum ledger_presence ledger_presence(const struct ledger_conn *c, int64_t t, int64_t deadline)
{
    if (c->up_at == 0 || (c->up_at > t && c->down_at < t))
        return LEDGER_ABSENT;     /* not yet connected at t (or down since before t) */
    if (!c->up && c->down_at < t)
        return LEDGER_ABSENT;
    if (c->up_at <= t && (c->up || c->down_at >= deadline))
        return LEDGER_STAYED;
    return LEDGER_LEFT;           /* was up at t, went down (maybe came back) before deadline */
}

const char *ledger_miss_name(enum ledger_miss k)
{
    return k == LEDGER_MISS_AGENT_LOST ? "agent_lost" : k == LEDGER_MISS_OFFLINE ? "missed_offline"
                                                                                  : "lost";
}

void ledger_settle(struct ledger *l, uint32_t first, uint32_t last, const int64_t *agent_lost_at,
                   const struct ledger_sink *sink)
{
    for (uint32_t id = first; id <= last && id <= l->n_msgs; id++) {
        struct ledger_msg *m = &l->msgs[id];
        if (m->settled || id == 0)
            continue;
        m->settled = 1;
        uint32_t expected = 0, lost = 0, offline = 0, agent_lost = 0;
        /* A unicast call that failed because the recipient's agent, and with it
         * the connection, was already gone (the service rightly answers "not
         * connected") is the agent's loss, not a failed call of the service. */
        if (m->failed && !m->bitmap && m->conn < l->n_conns && agent_lost_at) {
            int64_t alost = agent_lost_at[l->conns[m->conn].agent];
            if (alost && alost <= m->deadline) {
                m->failed = 0;
                l->t.push_failed--;
                l->t.push_failed_agent_lost++;
            }
        }
        /* who was meant to get it: every connection (broadcast), the
         * recipients (multicast), or the one (unicast) */
        uint32_t lo = m->bitmap ? 0 : m->rcpt_n ? 0 : m->conn;
        uint32_t hi = m->bitmap ? l->n_conns : m->rcpt_n ? m->rcpt_n : m->conn + 1;
        const uint64_t *bits = m->bitmap ? l->bitmaps[m->bitmap - 1] : NULL;
        for (uint32_t i = lo; !m->failed && i < hi; i++) {
            uint32_t c = m->rcpt_n ? l->rcpt[m->rcpt_first + i] : i;
            if (c >= l->n_conns)
                continue;
            const struct ledger_conn *lc = &l->conns[c];
            int got = bits ? (bits[c >> 6] >> (c & 63)) & 1
                      : m->rcpt_n ? l->rcpt_got[m->rcpt_first + i] : m->delivered > 0;
            enum ledger_presence p = ledger_presence(lc, m->t_send, m->deadline);
            /* A unicast recipient was chosen as connected: it is always expected. */
            if (!got && p == LEDGER_ABSENT && bits)
                continue;
            expected++;
            if (got)
                continue;
            enum ledger_miss kind;
            int64_t alost = agent_lost_at ? agent_lost_at[lc->agent] : 0;
            if (alost && alost <= m->deadline) {
                agent_lost++;
                kind = LEDGER_MISS_AGENT_LOST;
            } else if (p == LEDGER_STAYED) {
                lost++;
                kind = LEDGER_MISS_LOST;
            } else {
                offline++;
                kind = LEDGER_MISS_OFFLINE;
            }
            if (sink && sink->missed)
                sink->missed(sink->ctx, id, c, kind);
        }
        l->t.expected += expected;
        l->t.lost += lost;
        l->t.missed_offline += offline;
        l->t.agent_lost += agent_lost;
        const struct ledger_settled res = {expected, m->delivered, m->duplicates, lost, offline,
                                           agent_lost};
        if (sink && sink->settled)
            sink->settled(sink->ctx, id, &res);
    }
}
