/* fakefleet: synthetic agents that load a real controller's ingest.
 *
 *   fakefleet --controller tcp://HOST:PORT --agents N --http PORT [--key FILE]
 *             [--tick-ms 200] [--fast-tick-ms 20]
 *
 * Every agent joins the way pushstorm-agent does (HELLO, CHALLENGE, HELLO with
 * the key's proof, then a TICK every tick-ms carrying the batch sequence, its
 * stats and the session token) and applies the commands the REPLYs carry:
 * ASSIGN (its range), RAMP (connect up to `to`), DISCONNECT (close a fraction)
 * and STOP (close all, then report stopped). Nothing is dialled: a connect is a
 * CONNECTED event, a close a CLOSED event, and a push the fanout (fanout.c)
 * receives becomes MESSAGE events of the connections it names. Events go out
 * in full batches (PS_EVENTS_MAX) on the data socket as fast as it takes them;
 * while batches are unacknowledged the agent ticks every fast-tick-ms, so the
 * time an acknowledgement arrives says when the controller took the events
 * into its ledger and store to within that.
 *
 * When the run is over (every agent stopped and told so, or the controller
 * gone) it prints, per kind of event, `fleet KIND events N first_us L last_sent_us
 * L acked_us L` (mono us; bench/ingest.sh makes the figures) and each broadcast's
 * call time. Exit 0, or 1 if an agent failed (what failed is printed), 2 on a
 * usage error. */
#include "fakefleet.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "ps_time.h"

static const char *ff_kind_names[FF_KINDS] = {"connect", "unicast", "broadcast", "close"};

static struct ps_auth_key ff_key;   /* read-only after main's start */

static int ff_fail(struct ff_agent *a, const char *fmt, const char *what)
{
    if (!a->failed) {
        a->failed = 1;
        snprintf(a->error, sizeof a->error, fmt, what);
    }
    return -1;
}

/* One request and its answer on the control socket; NULL after a timeout. */
static nng_msg *ff_rpc(struct ff_agent *a)
{
    nng_msg *m = NULL;
    if (nng_send(a->req, a->sb.data, a->sb.size, 0) || nng_recvmsg(a->req, &m, 0))
        return NULL;
    return m;
}

static int ff_hello(struct ff_agent *a)
{
    struct ps_hello h = {.cores = 1, .threads = 1, .fd_soft = 1 << 30, .fd_hard = 1 << 30,
                         .port_lo = 1024, .port_hi = 65535};
    snprintf(h.name, sizeof h.name, "fleet-%u", a->idx + 1);
    snprintf(h.host, sizeof h.host, "fakefleet");
    snprintf(h.version, sizeof h.version, "%s", PS_VERSION_STRING);
    char err[200];
    for (int attempt = 0; attempt < 60 && !atomic_load(&a->fleet->quit); attempt++) {
        ps_auth_nonce(h.auth_nonce);
        h.auth_challenge[0] = h.auth_mac[0] = 0;
        h.t_send = ps_time_wall_us();
        msgpack_sbuffer_clear(&a->sb);
        ps_proto_encode_hello(&a->sb, &h);
        nng_msg *m = ff_rpc(a);
        struct ps_challenge ch;
        if (!m)
            continue;   /* the controller is not listening yet */
        int bad = ps_proto_decode_challenge(nng_msg_body(m), nng_msg_len(m), &ch, err, sizeof err);
        nng_msg_free(m);
        if (bad)
            return ff_fail(a, "no challenge: %s", err);
        snprintf(h.auth_challenge, sizeof h.auth_challenge, "%s", ch.nonce);
        if (ff_key.len)
            ps_auth_mac(&ff_key, PS_AUTH_AGENT, h.auth_nonce, ch.nonce, h.auth_mac);
        msgpack_sbuffer_clear(&a->sb);
        ps_proto_encode_hello(&a->sb, &h);
        struct ps_welcome w;
        if (!(m = ff_rpc(a)))
            continue;
        bad = ps_proto_decode_welcome(nng_msg_body(m), nng_msg_len(m), &w, err, sizeof err);
        nng_msg_free(m);
        if (bad)
            return ff_fail(a, "no welcome: %s", err);
        if (!w.agent_id)
            return ff_fail(a, "refused: %s", w.reason);
        a->id = w.agent_id;
        ps_auth_mac(&ff_key, PS_AUTH_SESSION, h.auth_nonce, ch.nonce, a->token);
        return 0;
    }
    return ff_fail(a, "%s", "the controller never answered a hello");
}

static void ff_apply(struct ff_agent *a, const struct ps_cmd *c)
{
    if (c->id != a->cmd_done + 1)
        return;   /* a repeat of one applied, or the controller skipped one */
    a->cmd_done = c->id;
    switch (c->kind) {
    case PS_CMD_ASSIGN:
        a->run_id = c->u.assign.run_id;
        a->conn_first = c->u.assign.conn_first;
        a->conn_count = c->u.assign.conn_count;
        free(a->up);
        a->up = calloc(a->conn_count ? a->conn_count : 1, 1);
        if (!a->up)
            ff_fail(a, "%s", "out of memory for the range");
        atomic_store(&a->assigned, 1);
        break;
    case PS_CMD_RAMP:
        a->connect_to = c->u.ramp.to < a->conn_count ? c->u.ramp.to : a->conn_count;
        break;
    case PS_CMD_DISCONNECT:
        a->close_left = (uint32_t)(a->n_up * c->u.disconnect.fraction + 0.5);
        a->close_cursor = 0;
        break;
    case PS_CMD_STOP:
        a->stopping = 1;
        a->close_left = a->n_up;
        a->close_cursor = 0;
        break;
    default:
        break;   /* DATA: the bench's plans carry no per-connection data */
    }
}

/* 1 while batches are unacknowledged or events wait. */
static int ff_busy(const struct ff_agent *a)
{
    return a->acked < a->seq || a->close_left || a->next_connect < a->connect_to ||
           a->uni_head != a->uni_tail || a->bc_done < a->bc_n;
}

/* One TICK and its REPLY; 1 = the controller no longer knows this agent. */
static int ff_tick(struct ff_agent *a, int *timeouts)
{
    struct ps_tick t = {.agent_id = a->id, .t_send = ps_time_wall_us(), .cmd_done = a->cmd_done,
                        .n_threads = 1, .batch_seq = {a->seq}};
    t.stopped = a->stopping && !a->close_left && a->acked == a->seq;
    t.stats.second = t.t_send / 1000000 - 1;
    t.stats.connected = a->n_up;
    t.stats.opened = a->opened;
    t.stats.closed = a->closed;
    t.stats.messages = a->messages;
    snprintf(t.token, sizeof t.token, "%s", a->token);
    msgpack_sbuffer_clear(&a->sb);
    ps_proto_encode_tick(&a->sb, &t);
    nng_msg *m = ff_rpc(a);
    /* 10 unanswered ticks: the controller is gone; once stopped, one is enough
     * (the run ends when every agent has said so) */
    if (!m)
        return ++*timeouts >= (a->stopped ? 1 : 10);
    *timeouts = 0;
    struct ps_reply rep;
    char err[200];
    int bad = ps_proto_decode_reply(nng_msg_body(m), nng_msg_len(m), &rep, err, sizeof err);
    nng_msg_free(m);
    if (bad) {
        ff_fail(a, "bad reply: %s", err);
        return 1;
    }
    if (rep.unknown_agent)
        return 1;
    a->stopped = t.stopped;
    int64_t now = ps_time_mono_us();
    if (rep.n_acks && rep.acked_seq[0] > a->acked) {
        for (int k = 0; k < FF_KINDS; k++)
            if (a->span[k].last_seq > a->acked && a->span[k].last_seq <= rep.acked_seq[0])
                a->span[k].acked = now;
        a->acked = rep.acked_seq[0];
    }
    if (rep.cmd.id)
        ff_apply(a, &rep.cmd);
    return 0;
}

static void ff_event(struct ff_agent *a, enum ff_kind k, uint32_t conn, uint32_t type,
                     uint64_t val, uint32_t aux, int64_t ts)
{
    a->ev.ev[a->ev.n++] = (struct ps_event){.conn = conn, .type = type, .ts = ts, .val = val,
                                            .aux = aux};
    struct ff_span *s = &a->span[k];
    if (!s->n++)
        s->first_send = ps_time_mono_us();
    s->last_seq = a->seq + 1;   /* the batch being filled */
}

/* Fills one batch from the waiting work: deliveries first (as a server's
 * fanout would come while connections come and go), then closes, connects. */
static void ff_fill(struct ff_agent *a)
{
    int64_t ts = ps_time_wall_us();
    a->ev.n = 0;
    pthread_mutex_lock(&a->mu);
    while (a->ev.n < PS_EVENTS_MAX && a->uni_head != a->uni_tail) {
        uint32_t at = a->uni_head++ % FF_UNICAST_RING, c = a->uni_conn[at] - a->conn_first;
        if (a->up[c]) {
            ff_event(a, FF_UNICAST, a->uni_conn[at], PS_EV_MESSAGE, a->uni_msg[at], a->run_id, ts);
            a->messages++;
        }
    }
    uint32_t bc_n = a->bc_n;
    pthread_mutex_unlock(&a->mu);
    while (a->ev.n < PS_EVENTS_MAX && a->bc_done < bc_n) {
        for (; a->bc_cursor < a->conn_count && a->ev.n < PS_EVENTS_MAX; a->bc_cursor++)
            if (a->up[a->bc_cursor]) {
                ff_event(a, FF_BCAST, a->conn_first + a->bc_cursor, PS_EV_MESSAGE,
                         a->bc_msg[a->bc_done], a->run_id, ts);
                a->messages++;
            }
        if (a->bc_cursor == a->conn_count) {
            a->bc_done++;
            a->bc_cursor = 0;
        }
    }
    for (; a->close_left && a->ev.n < PS_EVENTS_MAX && a->close_cursor < a->conn_count;
         a->close_cursor++) {
        uint32_t c = a->close_cursor;
        if (!a->up[c])
            continue;
        a->up[c] = 0;
        a->n_up--;
        a->close_left--;
        a->closed++;
        ff_event(a, FF_CLOSE, a->conn_first + c, PS_EV_CLOSED, PS_REASON_CLIENT_CLOSE, 1000, ts);
    }
    if (a->close_cursor == a->conn_count)
        a->close_left = 0;   /* fewer up than asked: nothing more to close */
    while (!a->stopping && a->ev.n < PS_EVENTS_MAX && a->next_connect < a->connect_to) {
        uint32_t c = a->next_connect++;
        if (a->up[c])
            continue;
        a->up[c] = 1;
        a->n_up++;
        a->opened++;
        ff_event(a, FF_CONNECT, a->conn_first + c, PS_EV_CONNECTED, 900, 0, ts);
    }
}

/* Sends the filled batch, ticking while the data socket is full. */
static int ff_send(struct ff_agent *a, int64_t *next_tick, int *timeouts)
{
    a->ev.agent_id = a->id;
    a->ev.thread = 0;
    a->ev.seq = a->seq + 1;
    a->ev.run_id = a->run_id;
    snprintf(a->ev.token, sizeof a->ev.token, "%s", a->token);
    msgpack_sbuffer_clear(&a->sb);
    ps_proto_encode_events(&a->sb, &a->ev);
    for (;;) {
        int rc = nng_send(a->push, a->sb.data, a->sb.size, NNG_FLAG_NONBLOCK);
        if (rc == 0)
            break;
        if (rc != NNG_EAGAIN)
            return ff_fail(a, "data socket: %s", nng_strerror(rc));
        int64_t now = ps_time_mono_us();
        if (now >= *next_tick) {
            /* the tick reuses sb: encode the batch again after it */
            if (ff_tick(a, timeouts))
                return ff_fail(a, "%s", "the controller went away mid-batch");
            *next_tick = now + a->fleet->fast_tick_ms * 1000;
            msgpack_sbuffer_clear(&a->sb);
            ps_proto_encode_events(&a->sb, &a->ev);
        }
        nng_msleep(1);
    }
    int64_t now = ps_time_mono_us();
    a->seq++;
    for (int k = 0; k < FF_KINDS; k++)
        if (a->span[k].last_seq == a->seq)
            a->span[k].last_send = now;
    return 0;
}

static void *ff_agent_main(void *arg)
{
    struct ff_agent *a = arg;
    int rc, timeouts = 0;
    if ((rc = nng_req0_open(&a->req)) || (rc = nng_push0_open(&a->push)) ||
        (rc = nng_dial(a->push, a->fleet->data_url, NULL, NNG_FLAG_NONBLOCK)) ||
        (rc = nng_dial(a->req, a->fleet->controller, NULL, NNG_FLAG_NONBLOCK))) {
        ff_fail(a, "nng: %s", nng_strerror(rc));
        return NULL;
    }
    nng_socket_set_ms(a->req, NNG_OPT_SENDTIMEO, 2000);
    nng_socket_set_ms(a->req, NNG_OPT_RECVTIMEO, 2000);
    nng_socket_set_ms(a->req, NNG_OPT_RECONNMINT, 100);
    nng_socket_set_ms(a->push, NNG_OPT_RECONNMINT, 100);
    nng_socket_set_int(a->push, NNG_OPT_SENDBUF, 64);
    if (ff_hello(a) != 0)
        return NULL;
    int64_t next_tick = 0;
    while (!atomic_load(&a->fleet->quit)) {
        int64_t now = ps_time_mono_us();
        if (now >= next_tick) {
            if (ff_tick(a, &timeouts))
                break;   /* the run is over for us */
            next_tick = now + (ff_busy(a) ? a->fleet->fast_tick_ms : a->fleet->tick_ms) * 1000;
        }
        if (!a->up) {
            nng_msleep(5);
            continue;
        }
        ff_fill(a);
        if (a->ev.n && ff_send(a, &next_tick, &timeouts) != 0)
            break;
        if (!a->ev.n) {
            if (ff_busy(a) && next_tick > now + a->fleet->fast_tick_ms * 1000)
                next_tick = now + a->fleet->fast_tick_ms * 1000;
            nng_msleep(1);
        }
    }
    if (!a->stopped && !a->failed)
        ff_fail(a, "%s", "the run ended before this agent had stopped");
    nng_close(a->req);
    nng_close(a->push);
    return NULL;
}

int ff_deliver_unicast(struct ff_fleet *f, uint32_t conn, uint32_t msg)
{
    for (uint32_t i = 0; i < f->n_agents; i++) {
        struct ff_agent *a = &f->agents[i];
        if (!atomic_load(&a->assigned) || conn < a->conn_first ||
            conn - a->conn_first >= a->conn_count)
            continue;
        for (;;) {
            pthread_mutex_lock(&a->mu);
            int room = a->uni_tail - a->uni_head < FF_UNICAST_RING;
            if (room) {
                uint32_t at = a->uni_tail++ % FF_UNICAST_RING;
                a->uni_conn[at] = conn;
                a->uni_msg[at] = msg;
            }
            pthread_mutex_unlock(&a->mu);
            if (room)
                return 0;
            nng_msleep(1);   /* the agent is behind: a server's send queue is full */
        }
    }
    return -1;
}

void ff_deliver_broadcast(struct ff_fleet *f, uint32_t msg, int64_t call_mono)
{
    pthread_mutex_lock(&f->mu);
    if (f->n_bc < FF_BCAST_MAX)
        f->bc_call[f->n_bc++] = call_mono;
    pthread_mutex_unlock(&f->mu);
    for (uint32_t i = 0; i < f->n_agents; i++) {
        struct ff_agent *a = &f->agents[i];
        pthread_mutex_lock(&a->mu);
        if (a->bc_n < FF_BCAST_MAX)
            a->bc_msg[a->bc_n++] = msg;
        pthread_mutex_unlock(&a->mu);
    }
}

/* Per kind: the events of every agent, the first sent, the last sent, the
 * last acknowledged. */
static void ff_report(const struct ff_fleet *f)
{
    for (int k = 0; k < FF_KINDS; k++) {
        uint64_t n = 0;
        int64_t first = 0, last = 0, acked = 0;
        for (uint32_t i = 0; i < f->n_agents; i++) {
            const struct ff_span *s = &f->agents[i].span[k];
            if (!s->n)
                continue;
            n += s->n;
            first = !first || s->first_send < first ? s->first_send : first;
            last = s->last_send > last ? s->last_send : last;
            if (!s->acked || acked < 0)
                acked = -1;   /* never acknowledged: no time for this kind */
            else if (s->acked > acked)
                acked = s->acked;
        }
        printf("fleet %s events %llu first_us %lld last_sent_us %lld acked_us %lld\n",
               ff_kind_names[k], (unsigned long long)n, (long long)first, (long long)last,
               (long long)acked);
    }
    for (uint32_t b = 0; b < f->n_bc; b++)
        printf("fleet broadcast_call %u at_us %lld\n", b + 1, (long long)f->bc_call[b]);
    printf("fleet push_calls %llu bad %llu\n", (unsigned long long)f->calls,
           (unsigned long long)f->bad_calls);
}

static int ff_usage(void)
{
    fprintf(stderr, "usage: fakefleet --controller tcp://HOST:PORT --agents N --http PORT "
                    "[--key FILE] [--tick-ms MS] [--fast-tick-ms MS]\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct ff_fleet f = {.tick_ms = 200, .fast_tick_ms = 20};
    int port = 0;
    const char *key = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--controller"))
            f.controller = argv[i + 1];
        else if (!strcmp(argv[i], "--agents"))
            f.n_agents = (uint32_t)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--http"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--key"))
            key = argv[i + 1];
        else if (!strcmp(argv[i], "--tick-ms"))
            f.tick_ms = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--fast-tick-ms"))
            f.fast_tick_ms = atoi(argv[i + 1]);
        else
            return ff_usage();
    }
    if (argc % 2 == 0 || !f.controller || !f.n_agents || f.n_agents > 1024 || port <= 0 ||
        f.tick_ms <= 0 || f.fast_tick_ms <= 0)
        return ff_usage();
    const char *colon = strrchr(f.controller, ':');
    if (!colon)
        return ff_usage();
    snprintf(f.data_url, sizeof f.data_url, "%.*s:%d", (int)(colon - f.controller), f.controller,
             atoi(colon + 1) + 1);
    char err[300];
    if (key && ps_auth_key_load(&ff_key, key, err, sizeof err)) {
        fprintf(stderr, "fakefleet: %s\n", err);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&f.mu, NULL);
    f.agents = calloc(f.n_agents, sizeof *f.agents);
    if (!f.agents)
        return 2;
    pthread_t http;
    if (ff_fanout_start(&f, port, &http) != 0)
        return 2;
    for (uint32_t i = 0; i < f.n_agents; i++) {
        struct ff_agent *a = &f.agents[i];
        a->fleet = &f;
        a->idx = i;
        pthread_mutex_init(&a->mu, NULL);
        msgpack_sbuffer_init(&a->sb);
        if (pthread_create(&a->thread, NULL, ff_agent_main, a) != 0) {
            fprintf(stderr, "fakefleet: cannot start agent %u\n", i + 1);
            return 2;
        }
    }
    int failed = 0;
    for (uint32_t i = 0; i < f.n_agents; i++) {
        pthread_join(f.agents[i].thread, NULL);
        if (f.agents[i].failed) {
            fprintf(stderr, "fakefleet: agent %u: %s\n", i + 1, f.agents[i].error);
            failed = 1;
        }
    }
    atomic_store(&f.quit, 1);
    pthread_join(http, NULL);
    ff_report(&f);
    for (uint32_t i = 0; i < f.n_agents; i++) {
        free(f.agents[i].up);
        msgpack_sbuffer_destroy(&f.agents[i].sb);
    }
    free(f.agents);
    return failed;
}
