/* proto_make.h: the messages the proto tests build (tests/unit/test_proto*.c).
 *
 * Each maker fills every field of one message: the longest strings that fit,
 * the fullest arrays, extreme integers, so a round trip, a golden encoding or
 * a truncation covers the whole wire form of it. The test files split by
 * concern (round trips and encoders, golden bytes, hand-packed hostile input,
 * fuzz-style input) and share these; static inline, so a file that uses only
 * some of them compiles without warnings. Include it after cmocka.h (the
 * comparison helper asserts). */
#ifndef PS_TEST_PROTO_MAKE_H
#define PS_TEST_PROTO_MAKE_H

#include <stdint.h>
#include <string.h>

#include "ps_proto.h"

#define ERR_LEN 256

static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Fills a char[cap] with cap-1 characters derived from seed: the longest string that fits. */
static inline void fill_str(char *dst, size_t cap, unsigned seed)
{
    size_t i;
    for (i = 0; i + 1 < cap; i++) dst[i] = (char)('!' + (seed + i * 7) % 90);
    dst[cap - 1] = 0;
}

/* ------------------------------------------------------------ message makers */

struct all_msgs {
    struct ps_hello hello;
    struct ps_welcome welcome;
    struct ps_tick tick;
    struct ps_reply reply;
    struct ps_events events;
    struct ps_challenge challenge;
};


static inline void make_hello(struct ps_hello *m)
{
    uint32_t i;

    memset(m, 0, sizeof *m);
    fill_str(m->name, sizeof m->name, 1);
    fill_str(m->host, sizeof m->host, 2);
    fill_str(m->version, sizeof m->version, 3);
    m->cores = UINT32_MAX;
    m->threads = PS_MAX_THREADS;
    m->fd_soft = UINT64_MAX;
    m->fd_hard = UINT64_MAX - 1;
    m->mem_total = 1ull << 40;
    m->mem_available = 123456789012ull;
    m->port_lo = 32768;
    m->port_hi = 60999;
    m->monitor = 1;
    m->n_ips = PS_MAX_IPS;
    for (i = 0; i < PS_MAX_IPS; i++) fill_str(m->ips[i], sizeof m->ips[i], 10 + i);
    m->t_send = INT64_MIN;
    /* authentication (issue 11) */
    fill_str(m->auth_nonce, sizeof m->auth_nonce, 80);
    fill_str(m->auth_challenge, sizeof m->auth_challenge, 81);
    fill_str(m->auth_mac, sizeof m->auth_mac, 82);
}

static inline void make_welcome(struct ps_welcome *m)
{
    memset(m, 0, sizeof *m);
    m->agent_id = 4000000000u;
    m->t_recv = INT64_MAX;
    m->t_send = -1;
    fill_str(m->reason, sizeof m->reason, 5);
}

static inline void make_challenge(struct ps_challenge *m)
{
    memset(m, 0, sizeof *m);
    fill_str(m->nonce, sizeof m->nonce, 85);
    fill_str(m->mac, sizeof m->mac, 86);
    m->keyed = 1;
}

static inline void make_tick(struct ps_tick *m)
{
    uint32_t i;

    memset(m, 0, sizeof *m);
    m->agent_id = 17;
    m->t_send = 1700000000000000LL;
    m->offset_us = -2500;
    m->offset_err_us = 120;
    m->cmd_done = 9;
    fill_str(m->cmd_error, sizeof m->cmd_error, 6);
    m->n_threads = PS_MAX_THREADS;
    for (i = 0; i < PS_MAX_THREADS; i++) m->batch_seq[i] = (uint64_t)i * 0x0123456789abull + i;
    m->batch_seq[5] = UINT64_MAX;
    m->stopped = 1;
    m->stats.second = 1700000000;
    m->stats.connected = 1;
    m->stats.connecting = 2;
    m->stats.opened = 3;
    m->stats.failed = 4;
    m->stats.closed = 5;
    m->stats.messages = 6;
    m->stats.pings = 7;
    m->stats.pongs = 8;
    m->stats.pong_missed = 9;
    m->stats.hb_sent = 10;
    m->stats.hb_missed = 11;
    m->stats.rtt_p50_us = 12;
    m->stats.rtt_p99_us = 13;
    m->stats.hs_p50_us = 14;
    m->stats.hs_p99_us = 15;
    m->stats.lat_p50_us = 16;
    m->stats.lat_p99_us = 17;
    m->stats.lag_max_us = 18;
    m->stats.cpu_pct_x100 = 19;
    m->stats.rss_bytes = UINT64_MAX;
    m->stats.saturated = 1;
    m->stats.hb_rtt_p50_us = 700;
    m->stats.hb_rtt_p99_us = 70000;
    m->stats.acks = 1ull << 33;
    m->stats.acks_dropped = 3;
    /* client protocols (issue 13) */
    m->stats.proto_duplicates = 41;
    m->stats.proto_acks = 1ull << 33;
    m->stats.proto_pings = 43;
    m->host.cpu_pct_x100 = 20000;
    m->host.load1_x100 = 21;
    m->host.mem_total = 22ull << 30;
    m->host.mem_available = 23;
    m->host.tcp_inuse = 24;
    m->host.tcp_orphan = 25;
    m->host.tcp_tw = 26;
    m->host.tcp_alloc = 27;
    m->host.tcp_mem_bytes = UINT64_MAX - 1;
    m->host.pid = 4194304;
    m->host.proc_cpu_pct_x100 = 29;
    m->host.proc_rss = 30;
    m->host.proc_fds = 31;
    /* control-link liveness */
    m->n_dropped = PS_MAX_THREADS;
    for (i = 0; i < PS_MAX_THREADS; i++) m->dropped_seq[i] = (uint64_t)i * 977;
    m->dropped_seq[7] = UINT64_MAX;
    m->dropped_batches = 1ull << 40;
    m->dropped_events = 12345;
    m->host.proc_threads = 32;
    /* TLS session resumption */
    m->tls_full = 1ull << 40;
    m->tls_resumed = 33;
    fill_str(m->token, sizeof m->token, 83);   /* authentication (issue 11) */
}

static inline void make_assign(struct ps_assign *a)
{
    uint32_t i;

    a->run_id = 77;
    a->conn_first = 100000;
    a->conn_count = 50000;
    a->n_targets = PS_MAX_TARGETS;
    for (i = 0; i < PS_MAX_TARGETS; i++) fill_str(a->targets[i], sizeof a->targets[i], 100 + i);
    fill_str(a->subprotocol, sizeof a->subprotocol, 7);
    a->n_headers = PS_MAX_HEADERS;
    for (i = 0; i < PS_MAX_HEADERS; i++) {
        fill_str(a->headers[i].name, sizeof a->headers[i].name, 200 + i);
        fill_str(a->headers[i].value, sizeof a->headers[i].value, 300 + i);
    }
    a->ws_ping_ms = 20000;
    a->pong_timeout_ms = 10000;
    fill_str(a->hb_text, sizeof a->hb_text, 8);
    fill_str(a->hb_expect, sizeof a->hb_expect, 9);
    a->hb_interval_ms = 30000;
    a->hb_timeout_ms = 5000;
    a->reconnect_min_ms = 100;
    a->reconnect_max_ms = 30000;
    a->reconnect_attempts = UINT32_MAX;
    a->max_inflight = 512;
    a->max_message = 1 << 20;
    /* TLS settings */
    a->n_tls = PS_MAX_TLS;
    for (i = 0; i < PS_MAX_TLS; i++) {
        struct ps_tls *t = &a->tls[i];
        fill_str(t->ca_file, sizeof t->ca_file, 400 + i);
        fill_str(t->ca_dir, sizeof t->ca_dir, 410 + i);
        t->insecure = i & 1;
        fill_str(t->server_name, sizeof t->server_name, 420 + i);
        fill_str(t->cert, sizeof t->cert, 430 + i);
        fill_str(t->key, sizeof t->key, 440 + i);
        t->min_version = i % 2 ? 13 : 12;
    }
    a->n_target_tls = PS_MAX_TARGETS;
    for (i = 0; i < PS_MAX_TARGETS; i++) a->target_tls[i] = i % PS_MAX_TLS;
    a->n_steps = PS_SESSION_STEPS_MAX;
    for (i = 0; i < PS_SESSION_STEPS_MAX; i++) {
        a->steps[i].set = i % (PS_MAX_TARGETS + 1);
        a->steps[i].op = 1 + i % 3;
        a->steps[i].match = 1 + i % 3;
        a->steps[i].others_fail = i & 1;
        a->steps[i].timeout_ms = 1000 + i;
        fill_str(a->steps[i].text, sizeof a->steps[i].text, 400 + i);
    }
    a->n_captures = PS_SESSION_CAPTURES_MAX;
    for (i = 0; i < PS_SESSION_CAPTURES_MAX; i++) {
        a->captures[i].step = i % PS_SESSION_STEPS_MAX;
        a->captures[i].var = i % PS_SESSION_VARS_MAX;
        a->captures[i].match = i & 1 ? PS_MATCH_JSON : PS_MATCH_REGEX;
        fill_str(a->captures[i].from, sizeof a->captures[i].from, 500 + i);
    }
    a->n_session_vars = PS_SESSION_VARS_MAX;
    for (i = 0; i < PS_SESSION_VARS_MAX; i++)
        fill_str(a->session_vars[i], sizeof a->session_vars[i], 600 + i);
    a->vars_bytes = PS_SESSION_VARS_BYTES_MAX;
    a->hb_match = PS_MATCH_REGEX;
    fill_str(a->ack, sizeof a->ack, 700);
    a->ack_id_match = PS_MATCH_JSON;
    fill_str(a->ack_id_from, sizeof a->ack_id_from, 710);
    /* control-link liveness */
    a->grace_ms = 30000;
    a->buffer_bytes = 1ull << 36;
    /* client protocols (issue 13) */
    a->n_target_protocol = PS_MAX_TARGETS;
    for (i = 0; i < PS_MAX_TARGETS; i++) a->target_protocol[i] = i % PS_PROTOCOL_COUNT;
    a->proto_timeout_ms = 10000;
    fill_str(a->proto_client_id, sizeof a->proto_client_id, 800);
    fill_str(a->proto_user, sizeof a->proto_user, 801);
    fill_str(a->proto_password, sizeof a->proto_password, 802);
    fill_str(a->proto_auth, sizeof a->proto_auth, 803);
    fill_str(a->proto_namespace, sizeof a->proto_namespace, 804);
    fill_str(a->proto_vhost, sizeof a->proto_vhost, 805);
    a->n_proto_subscribe = PS_PROTO_SUBSCRIBE_MAX;
    for (i = 0; i < PS_PROTO_SUBSCRIBE_MAX; i++)
        fill_str(a->proto_subscribe[i], sizeof a->proto_subscribe[i], 810 + i);
    a->proto_qos = 1;
    a->proto_ack_mode = 2;
    a->proto_keepalive_ms = 60000;
    a->proto_server_hb_ms = 5000;
    a->proto_clean = 1;
    a->proto_version = 5;
}

static inline void make_reply(struct ps_reply *m, uint32_t kind)
{
    uint32_t i;

    memset(m, 0, sizeof *m);
    m->t_recv = 1700000000000001LL;
    m->t_send = 1700000000000002LL;
    m->n_acks = PS_MAX_THREADS;
    for (i = 0; i < PS_MAX_THREADS; i++) m->acked_seq[i] = UINT64_MAX - i;
    m->unknown_agent = 1;
    m->cmd.id = 123;
    m->cmd.kind = kind;
    m->idle_ms = 1000;
    switch (kind) {
    case PS_CMD_ASSIGN:
        make_assign(&m->cmd.u.assign);
        break;
    case PS_CMD_RAMP:
        m->cmd.u.ramp.to = 50000;
        m->cmd.u.ramp.rate = 1234.5678;
        m->cmd.u.ramp.start_at = 1700000000500000LL;
        break;
    case PS_CMD_DISCONNECT:
        m->cmd.u.disconnect.fraction = 0.25;
        m->cmd.u.disconnect.close_code = 4001;
        m->cmd.u.disconnect.start_at = -5;
        break;
    default:
        break;
    }
}

static inline void make_events(struct ps_events *m, uint32_t n, uint64_t seed)
{
    uint32_t i;

    memset(m, 0, sizeof *m);
    m->agent_id = 3;
    m->thread = PS_MAX_THREADS - 1;
    m->seq = UINT64_MAX;
    m->run_id = 42;
    fill_str(m->token, sizeof m->token, 84);   /* authentication (issue 11) */
    m->n = n;
    for (i = 0; i < n; i++) {
        struct ps_event *e = &m->ev[i];
        e->conn = (uint32_t)rng_next(&seed);
        e->type = 1 + (uint32_t)(rng_next(&seed) % PS_EV_LAST);
        e->ts = (int64_t)(rng_next(&seed) >> 1) * (i % 2 ? 1 : -1);
        e->val = rng_next(&seed) >> (i % 64);
        e->aux = (uint32_t)rng_next(&seed);
    }
}

/* Field by field: struct ps_event has tail padding the decoder need not zero. */
static inline void assert_events_equal(const struct ps_events *a, const struct ps_events *b)
{
    uint32_t i;

    assert_int_equal(a->agent_id, b->agent_id);
    assert_int_equal(a->thread, b->thread);
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->run_id, b->run_id);
    assert_int_equal(a->n, b->n);
    for (i = 0; i < a->n; i++) {
        assert_int_equal(a->ev[i].conn, b->ev[i].conn);
        assert_int_equal(a->ev[i].type, b->ev[i].type);
        assert_int_equal(a->ev[i].ts, b->ev[i].ts);
        assert_int_equal(a->ev[i].val, b->ev[i].val);
        assert_int_equal(a->ev[i].aux, b->ev[i].aux);
    }
}

#endif
