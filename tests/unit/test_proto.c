/* test_proto.c: wire format round trips and hostile input for proto/.
 *
 * Round trips fill every field of every message (longest strings, fullest
 * arrays, extreme integers) and compare the decoded struct byte for byte.
 * Malformed input is hand-packed with msgpack-c so each rejection is checked
 * with its message. The fuzz-style tests feed every truncation of valid
 * messages, random bytes and mutated messages to every decoder; under ASan and
 * UBSan any out-of-bounds read or overflow fails the run. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "ps_proto.h"

#define ERR_LEN 256

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Fills a char[cap] with cap-1 characters derived from seed: the longest string that fits. */
static void fill_str(char *dst, size_t cap, unsigned seed)
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


static void make_hello(struct ps_hello *m)
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

static void make_welcome(struct ps_welcome *m)
{
    memset(m, 0, sizeof *m);
    m->agent_id = 4000000000u;
    m->t_recv = INT64_MAX;
    m->t_send = -1;
    fill_str(m->reason, sizeof m->reason, 5);
}

static void make_challenge(struct ps_challenge *m)
{
    memset(m, 0, sizeof *m);
    fill_str(m->nonce, sizeof m->nonce, 85);
    fill_str(m->mac, sizeof m->mac, 86);
    m->keyed = 1;
}

static void make_tick(struct ps_tick *m)
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

static void make_assign(struct ps_assign *a)
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

static void make_reply(struct ps_reply *m, uint32_t kind)
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

static void make_events(struct ps_events *m, uint32_t n, uint64_t seed)
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

/* ------------------------------------------------------------- round trips */

static void test_hello_roundtrip(void **state)
{
    struct ps_hello *in = malloc(sizeof *in), *out = malloc(sizeof *out);
    msgpack_sbuffer sb;
    char err[ERR_LEN] = "";
    uint32_t type = 0;

    (void)state;
    msgpack_sbuffer_init(&sb);
    make_hello(in);
    assert_int_equal(ps_proto_encode_hello(&sb, in), 0);
    assert_int_equal(ps_proto_peek_type(sb.data, sb.size, &type, err, sizeof err), 0);
    assert_int_equal(type, PS_MSG_HELLO);
    memset(out, 0xa5, sizeof *out);
    if (ps_proto_decode_hello(sb.data, sb.size, out, err, sizeof err)) fail_msg("%s", err);
    assert_memory_equal(in, out, sizeof *in);

    /* no IPs at all, empty strings */
    memset(in, 0, sizeof *in);
    assert_int_equal(ps_proto_encode_hello(&sb, in), 0);
    if (ps_proto_decode_hello(sb.data, sb.size, out, err, sizeof err)) fail_msg("%s", err);
    assert_memory_equal(in, out, sizeof *in);

    msgpack_sbuffer_destroy(&sb);
    free(in);
    free(out);
}

static void test_welcome_roundtrip(void **state)
{
    struct ps_welcome in, out;
    msgpack_sbuffer sb;
    char err[ERR_LEN] = "";

    (void)state;
    msgpack_sbuffer_init(&sb);
    make_welcome(&in);
    assert_int_equal(ps_proto_encode_welcome(&sb, &in), 0);
    memset(&out, 0xa5, sizeof out);
    if (ps_proto_decode_welcome(sb.data, sb.size, &out, err, sizeof err)) fail_msg("%s", err);
    assert_memory_equal(&in, &out, sizeof in);
    msgpack_sbuffer_destroy(&sb);
}

static void test_challenge_roundtrip(void **state)
{
    struct ps_challenge in, out;
    msgpack_sbuffer sb;
    char err[ERR_LEN] = "";
    uint32_t type = 0;

    (void)state;
    msgpack_sbuffer_init(&sb);
    make_challenge(&in);
    assert_int_equal(ps_proto_encode_challenge(&sb, &in), 0);
    assert_int_equal(ps_proto_peek_type(sb.data, sb.size, &type, err, sizeof err), 0);
    assert_int_equal(type, PS_MSG_CHALLENGE);
    memset(&out, 0xa5, sizeof out);
    if (ps_proto_decode_challenge(sb.data, sb.size, &out, err, sizeof err)) fail_msg("%s", err);
    assert_memory_equal(&in, &out, sizeof in);
    /* a welcome is not a challenge: the agent tells them apart by type */
    assert_int_equal(ps_proto_decode_welcome(sb.data, sb.size, &(struct ps_welcome){0}, err,
                                             sizeof err), -1);
    assert_non_null(strstr(err, "expected a welcome message (type 2), got challenge (type 6)"));
    msgpack_sbuffer_destroy(&sb);
}

static void test_tick_roundtrip(void **state)
{
    struct ps_tick in, out;
    msgpack_sbuffer sb;
    char err[ERR_LEN] = "";

    (void)state;
    msgpack_sbuffer_init(&sb);
    make_tick(&in);
    assert_int_equal(ps_proto_encode_tick(&sb, &in), 0);
    memset(&out, 0xa5, sizeof out);
    if (ps_proto_decode_tick(sb.data, sb.size, &out, err, sizeof err)) fail_msg("%s", err);
    assert_memory_equal(&in, &out, sizeof in);
    msgpack_sbuffer_destroy(&sb);
}

static void test_reply_roundtrip_every_kind(void **state)
{
    static const uint32_t kinds[] = { PS_CMD_NONE, PS_CMD_ASSIGN, PS_CMD_RAMP, PS_CMD_DISCONNECT, PS_CMD_STOP };
    struct ps_reply *in = malloc(sizeof *in), *out = malloc(sizeof *out);
    msgpack_sbuffer sb;
    char err[ERR_LEN] = "";
    size_t k;

    (void)state;
    msgpack_sbuffer_init(&sb);
    for (k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        make_reply(in, kinds[k]);
        assert_int_equal(ps_proto_encode_reply(&sb, in), 0);
        memset(out, 0xa5, sizeof *out);
        if (ps_proto_decode_reply(sb.data, sb.size, out, err, sizeof err))
            fail_msg("kind %u: %s", kinds[k], err);
        assert_memory_equal(in, out, sizeof *in);
    }
    msgpack_sbuffer_destroy(&sb);
    free(in);
    free(out);
}

/* Field by field: struct ps_event has tail padding the decoder need not zero. */
static void assert_events_equal(const struct ps_events *a, const struct ps_events *b)
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

static void test_events_roundtrip(void **state)
{
    static const uint32_t sizes[] = { 0, 1, 7, PS_EVENTS_MAX };
    struct ps_events *in = malloc(sizeof *in), *out = malloc(sizeof *out);
    msgpack_sbuffer sb;
    char err[ERR_LEN] = "";
    size_t k;

    (void)state;
    msgpack_sbuffer_init(&sb);
    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        make_events(in, sizes[k], 1000 + k);
        assert_int_equal(ps_proto_encode_events(&sb, in), 0);
        memset(out, 0xa5, sizeof *out);
        if (ps_proto_decode_events(sb.data, sb.size, out, err, sizeof err))
            fail_msg("%u events: %s", sizes[k], err);
        assert_events_equal(in, out);
    }
    msgpack_sbuffer_destroy(&sb);
    free(in);
    free(out);
}

/* The documented wire form, byte for byte, and the documented size of a full batch
 * (a message event on a connection from 100,000 with a message id below 65,536
 * is 20 bytes, the batch head 12), so docs/protocol.md cannot drift silently. */
static void test_events_wire_form(void **state)
{
    static const unsigned char want[] = {
        0x98, 0x05, 0x05, 0x03, 0x02, 0x01, 0x09,     /* [5, 5, agent 3, thread 2, seq 1, run 9, */
        0xa0,                                         /*  token "" (none), */
        0x91, 0x95, 0x0a, 0x04, 0xff, 0x2a, 0x00,     /*  [[10, message, -1, 42, 0]]] */
    };
    struct ps_events *m = calloc(1, sizeof *m);
    msgpack_sbuffer sb;
    uint32_t i;

    (void)state;
    msgpack_sbuffer_init(&sb);
    m->agent_id = 3;
    m->thread = 2;
    m->seq = 1;
    m->run_id = 9;
    m->n = 1;
    m->ev[0] = (struct ps_event){ .conn = 10, .type = PS_EV_MESSAGE, .ts = -1, .val = 42, .aux = 0 };
    assert_int_equal(ps_proto_encode_events(&sb, m), 0);
    assert_int_equal(sb.size, sizeof want);
    assert_memory_equal(sb.data, want, sizeof want);

    m->seq = 12345;
    memset(m->token, 'f', PS_AUTH_HEX - 1);          /* a session token: str8 of 64 */
    m->n = PS_EVENTS_MAX;
    for (i = 0; i < PS_EVENTS_MAX; i++)
        m->ev[i] = (struct ps_event){ .conn = 100000 + i, .type = PS_EV_MESSAGE,
                                      .ts = 1764583200000000LL + i, .val = 50000 + i, .aux = 3 };
    assert_int_equal(ps_proto_encode_events(&sb, m), 0);
    assert_int_equal(sb.size, 12 + 66 + 20 * PS_EVENTS_MAX);
    msgpack_sbuffer_destroy(&sb);
    free(m);
}

/* FNV-1a: a fingerprint of an encoding, so a test can hold every message's bytes. */
static uint64_t fnv1a(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    while (n--) h = (h ^ *b++) * 0x100000001b3ull;
    return h;
}

/* Every message, filled by the makers above, against the bytes the encoders wrote
 * before the field tables of ps_proto.h replaced the hand-written codec: the
 * wire is unchanged but for what versions 2 and 3 added (the version byte, the
 * per-connection data fields, TLS settings and scripted sessions of ASSIGN,
 * the app heartbeat RTT of TICK; 3: acks of the service's own ids in ASSIGN,
 * the acks event, TLS handshakes full/resumed of TICK, the authentication
 * fields of HELLO, TICK and EVENTS, and CHALLENGE; control-link liveness:
 * grace and buffer in ASSIGN, the discarded batches in TICK; 4: idle ticks, idle_ms of
 * REPLY; 5: client protocols (issue 13), their ASSIGN block and TICK counters). A change to the wire
 * must show up here and
 * in PS_PROTO_VERSION. */
/* PS_FUZZ_SEEDS=tests/fuzz/corpus/proto bin/tests/test_proto rewrites the wire
 * fuzzer's seeds of these messages after a wire change ("reply none" goes to
 * reply-none-full, "events 7" to events-7), so they pass the version check. */
static void golden_write_seed(const char *what, const msgpack_sbuffer *sb)
{
    const char *dir = getenv("PS_FUZZ_SEEDS");
    char name[64], path[512];
    if (!dir)
        return;
    snprintf(name, sizeof name, "%s%s", what, strncmp(what, "events", 6) ? "-full" : "");
    for (char *c = name; *c; c++)
        if (*c == ' ')
            *c = '-';
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(sb->data, 1, sb->size, f), sb->size);
    fclose(f);
}

static void test_golden_bytes(void **state)
{
    static const struct { const char *what; size_t size; uint64_t fnv; } want[] = {
        { "hello", 3434, 0xd96eaaf558cbb9daull },
        { "welcome", 179, 0x2ffcf5b41177c6aaull },
        { "tick", 1143, 0x90d0b20d0880fff8ull },
        { "reply none", 607, 0x319e18e949c11f3full },
        { "reply assign", 61702, 0xaa83aca35392240full },
        { "reply ramp", 628, 0xc493aa172772a206ull },
        { "reply disconnect", 620, 0xd68b301946122a8full },
        { "reply stop", 607, 0xf6d4b10ac9d8220bull },
        { "events 0", 82, 0xc64ed8294bef6533ull },
        { "events 1", 112, 0x52bbde13005f8a99ull },
        { "events 7", 292, 0x056849ce17dbcc56ull },
        { "events 1024", 27902, 0x9cc813dae5abf30aull },
        /* authentication (issue 11) */
        { "challenge", 136, 0x25f9362cec6dfc54ull },
    };
    static const uint32_t kinds[] = { PS_CMD_NONE, PS_CMD_ASSIGN, PS_CMD_RAMP, PS_CMD_DISCONNECT,
                                      PS_CMD_STOP };
    static const uint32_t sizes[] = { 0, 1, 7, PS_EVENTS_MAX };
    struct all_msgs *m = malloc(sizeof *m);
    msgpack_sbuffer sb;
    size_t k;
    int bad = 0;

    (void)state;
    msgpack_sbuffer_init(&sb);
    for (k = 0; k < sizeof want / sizeof want[0]; k++) {
        int rc;
        if (k == 0) {
            make_hello(&m->hello);
            rc = ps_proto_encode_hello(&sb, &m->hello);
        } else if (k == 1) {
            make_welcome(&m->welcome);
            rc = ps_proto_encode_welcome(&sb, &m->welcome);
        } else if (k == 2) {
            make_tick(&m->tick);
            rc = ps_proto_encode_tick(&sb, &m->tick);
        } else if (k < 8) {
            make_reply(&m->reply, kinds[k - 3]);
            rc = ps_proto_encode_reply(&sb, &m->reply);
        } else if (k < 12) {
            make_events(&m->events, sizes[k - 8], 1000 + k);
            rc = ps_proto_encode_events(&sb, &m->events);
        } else {
            make_challenge(&m->challenge);
            rc = ps_proto_encode_challenge(&sb, &m->challenge);
        }
        assert_int_equal(rc, 0);
        golden_write_seed(want[k].what, &sb);
        if (sb.size != want[k].size || fnv1a(sb.data, sb.size) != want[k].fnv) {
            print_message("%s: %zu bytes, fnv 0x%016llxull\n", want[k].what, sb.size,
                          (unsigned long long)fnv1a(sb.data, sb.size));
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    msgpack_sbuffer_destroy(&sb);
    free(m);
}

static void test_encoder_clears_buffer(void **state)
{
    struct ps_welcome w;
    msgpack_sbuffer sb;
    size_t first;

    (void)state;
    msgpack_sbuffer_init(&sb);
    make_welcome(&w);
    assert_int_equal(ps_proto_encode_welcome(&sb, &w), 0);
    first = sb.size;
    assert_int_equal(ps_proto_encode_welcome(&sb, &w), 0);
    assert_int_equal(sb.size, first);
    msgpack_sbuffer_destroy(&sb);
}

static void test_encoder_refuses_bad_structs(void **state)
{
    struct ps_hello *h = malloc(sizeof *h);
    struct ps_reply *r = malloc(sizeof *r);
    struct ps_events *e = malloc(sizeof *e);
    struct ps_tick t;
    struct ps_welcome w;
    msgpack_sbuffer sb;

    (void)state;
    msgpack_sbuffer_init(&sb);
    make_hello(h);
    h->n_ips = PS_MAX_IPS + 1;
    assert_int_equal(ps_proto_encode_hello(&sb, h), -1);
    make_hello(h);
    memset(h->name, 'x', sizeof h->name);         /* no NUL */
    assert_int_equal(ps_proto_encode_hello(&sb, h), -1);
    make_welcome(&w);
    memset(w.reason, 'x', sizeof w.reason);
    assert_int_equal(ps_proto_encode_welcome(&sb, &w), -1);
    make_tick(&t);
    t.n_threads = PS_MAX_THREADS + 1;
    assert_int_equal(ps_proto_encode_tick(&sb, &t), -1);
    make_reply(r, PS_CMD_RAMP);
    r->n_acks = 1000;
    assert_int_equal(ps_proto_encode_reply(&sb, r), -1);
    make_reply(r, 9);
    assert_int_equal(ps_proto_encode_reply(&sb, r), -1);
    make_reply(r, PS_CMD_ASSIGN);
    r->cmd.u.assign.n_headers = PS_MAX_HEADERS + 1;
    assert_int_equal(ps_proto_encode_reply(&sb, r), -1);
    make_reply(r, PS_CMD_ASSIGN);
    r->cmd.u.assign.n_targets = PS_MAX_TARGETS + 1;
    assert_int_equal(ps_proto_encode_reply(&sb, r), -1);
    make_events(e, 1, 1);
    e->n = PS_EVENTS_MAX + 1;
    assert_int_equal(ps_proto_encode_events(&sb, e), -1);
    msgpack_sbuffer_destroy(&sb);
    free(h);
    free(r);
    free(e);
}

/* ---------------------------------------------------------- hand-packed input */

struct raw {
    msgpack_sbuffer sb;
    msgpack_packer pk;
};

static void raw_begin(struct raw *r, size_t arity, uint64_t version, uint64_t type)
{
    msgpack_sbuffer_init(&r->sb);
    msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
    msgpack_pack_array(&r->pk, arity);
    msgpack_pack_uint64(&r->pk, version);
    msgpack_pack_uint64(&r->pk, type);
}

static void raw_str(struct raw *r, const char *s, size_t n)
{
    msgpack_pack_str(&r->pk, n);
    msgpack_pack_str_body(&r->pk, s, n);
}

/* Decodes r with dec and checks the error contains want. */
static void expect_err(const struct raw *r, int (*dec)(const void *, size_t, void *, char *, size_t),
                       void *m, const char *want)
{
    char err[ERR_LEN] = "";
    int rc = dec(r->sb.data, r->sb.size, m, err, sizeof err);
    if (rc != -1 || !strstr(err, want))
        fail_msg("rc %d, error \"%s\", want \"%s\"", rc, err, want);
}

static int dec_welcome(const void *b, size_t l, void *m, char *e, size_t el) { return ps_proto_decode_welcome(b, l, m, e, el); }
static int dec_hello(const void *b, size_t l, void *m, char *e, size_t el)   { return ps_proto_decode_hello(b, l, m, e, el); }
static int dec_tick(const void *b, size_t l, void *m, char *e, size_t el)    { return ps_proto_decode_tick(b, l, m, e, el); }
static int dec_reply(const void *b, size_t l, void *m, char *e, size_t el)   { return ps_proto_decode_reply(b, l, m, e, el); }
static int dec_events(const void *b, size_t l, void *m, char *e, size_t el)  { return ps_proto_decode_events(b, l, m, e, el); }

static void test_wrong_version_and_type(void **state)
{
    struct ps_welcome w;
    struct ps_hello *h = malloc(sizeof *h);
    struct raw r;
    msgpack_sbuffer sb;
    char err[ERR_LEN];
    uint32_t type;

    (void)state;
    raw_begin(&r, 6, 7, PS_MSG_WELCOME);
    msgpack_pack_uint32(&r.pk, 1);
    msgpack_pack_int64(&r.pk, 2);
    msgpack_pack_int64(&r.pk, 3);
    raw_str(&r, "", 0);
    expect_err(&r, dec_welcome, &w, "protocol version 7, expected 5");
    assert_int_equal(ps_proto_peek_type(r.sb.data, r.sb.size, &type, err, sizeof err), -1);
    assert_string_equal(err, "protocol version 7, expected 5");
    msgpack_sbuffer_destroy(&r.sb);

    /* a future version with a completely different shape still gets the version error */
    raw_begin(&r, 2, PS_PROTO_VERSION + 1, 99);
    expect_err(&r, dec_hello, h, "protocol version 6, expected 5");
    msgpack_sbuffer_destroy(&r.sb);

    raw_begin(&r, 2, PS_PROTO_VERSION, 99);
    assert_int_equal(ps_proto_peek_type(r.sb.data, r.sb.size, &type, err, sizeof err), -1);
    assert_string_equal(err, "unknown message type 99");
    msgpack_sbuffer_destroy(&r.sb);

    /* a hello handed to the welcome decoder */
    msgpack_sbuffer_init(&sb);
    make_hello(h);
    assert_int_equal(ps_proto_encode_hello(&sb, h), 0);
    assert_int_equal(ps_proto_decode_welcome(sb.data, sb.size, &w, err, sizeof err), -1);
    assert_string_equal(err, "expected a welcome message (type 2), got hello (type 1)");
    msgpack_sbuffer_destroy(&sb);

    /* not an array, or too short to hold a version */
    assert_int_equal(ps_proto_decode_welcome("\x01", 1, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "expected a msgpack array"));
    assert_int_equal(ps_proto_decode_welcome("\x91\x01", 2, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "no version and type"));
    assert_int_equal(ps_proto_decode_welcome("\x92\xa1x\x02", 4, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "version is not an unsigned integer"));
    assert_int_equal(ps_proto_decode_welcome("", 0, &w, err, sizeof err), -1);
    assert_string_equal(err, "empty message");
    assert_int_equal(ps_proto_peek_type(NULL, 0, &type, err, sizeof err), -1);
    free(h);
}

static void test_arity_and_trailing(void **state)
{
    struct ps_welcome w, ok;
    struct raw r;
    msgpack_sbuffer sb;
    char err[ERR_LEN], *buf;

    (void)state;
    raw_begin(&r, 4, PS_PROTO_VERSION, PS_MSG_WELCOME);
    msgpack_pack_uint32(&r.pk, 1);
    msgpack_pack_int64(&r.pk, 2);
    expect_err(&r, dec_welcome, &w, "welcome: expected 6 elements, got 4");
    msgpack_sbuffer_destroy(&r.sb);

    raw_begin(&r, 7, PS_PROTO_VERSION, PS_MSG_WELCOME);
    msgpack_pack_uint32(&r.pk, 1);
    msgpack_pack_int64(&r.pk, 2);
    msgpack_pack_int64(&r.pk, 3);
    raw_str(&r, "", 0);
    msgpack_pack_nil(&r.pk);
    expect_err(&r, dec_welcome, &w, "welcome: expected 6 elements, got 7");
    msgpack_sbuffer_destroy(&r.sb);

    msgpack_sbuffer_init(&sb);
    make_welcome(&ok);
    assert_int_equal(ps_proto_encode_welcome(&sb, &ok), 0);
    buf = malloc(sb.size + 3);
    memcpy(buf, sb.data, sb.size);
    memcpy(buf + sb.size, "\x01\x02\x03", 3);
    assert_int_equal(ps_proto_decode_welcome(buf, sb.size + 1, &w, err, sizeof err), -1);
    assert_string_equal(err, "1 trailing byte(s) after the message");
    assert_int_equal(ps_proto_decode_welcome(buf, sb.size + 3, &w, err, sizeof err), -1);
    assert_string_equal(err, "3 trailing byte(s) after the message");
    assert_int_equal(ps_proto_decode_welcome(buf, sb.size - 1, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "truncated"));
    free(buf);
    msgpack_sbuffer_destroy(&sb);
}

static void test_field_errors(void **state)
{
    struct ps_welcome w;
    struct raw r;
    char reason[PS_REASON_MAX + 1];

    (void)state;
    /* negative where unsigned */
    raw_begin(&r, 6, PS_PROTO_VERSION, PS_MSG_WELCOME);
    msgpack_pack_int64(&r.pk, -1);
    msgpack_pack_int64(&r.pk, 2);
    msgpack_pack_int64(&r.pk, 3);
    raw_str(&r, "", 0);
    expect_err(&r, dec_welcome, &w, "welcome.agent_id: expected an unsigned integer, got -1");
    msgpack_sbuffer_destroy(&r.sb);

    /* 32-bit field overflow */
    raw_begin(&r, 6, PS_PROTO_VERSION, PS_MSG_WELCOME);
    msgpack_pack_uint64(&r.pk, 1ull << 32);
    msgpack_pack_int64(&r.pk, 2);
    msgpack_pack_int64(&r.pk, 3);
    raw_str(&r, "", 0);
    expect_err(&r, dec_welcome, &w, "welcome.agent_id: 4294967296 out of range (max 4294967295)");
    msgpack_sbuffer_destroy(&r.sb);

    /* int64 field given a u64 above INT64_MAX */
    raw_begin(&r, 6, PS_PROTO_VERSION, PS_MSG_WELCOME);
    msgpack_pack_uint32(&r.pk, 1);
    msgpack_pack_uint64(&r.pk, UINT64_MAX);
    msgpack_pack_int64(&r.pk, 3);
    raw_str(&r, "", 0);
    expect_err(&r, dec_welcome, &w, "welcome.t_recv: 18446744073709551615 out of range");
    msgpack_sbuffer_destroy(&r.sb);

    /* wrong msgpack types */
    raw_begin(&r, 6, PS_PROTO_VERSION, PS_MSG_WELCOME);
    msgpack_pack_uint32(&r.pk, 1);
    raw_str(&r, "soon", 4);
    msgpack_pack_int64(&r.pk, 3);
    raw_str(&r, "", 0);
    expect_err(&r, dec_welcome, &w, "welcome.t_recv: expected an integer, got a string");
    msgpack_sbuffer_destroy(&r.sb);

    raw_begin(&r, 6, PS_PROTO_VERSION, PS_MSG_WELCOME);
    msgpack_pack_uint32(&r.pk, 1);
    msgpack_pack_int64(&r.pk, 2);
    msgpack_pack_int64(&r.pk, 3);
    msgpack_pack_uint32(&r.pk, 5);
    expect_err(&r, dec_welcome, &w, "welcome.reason: expected a string, got 5");
    msgpack_sbuffer_destroy(&r.sb);

    raw_begin(&r, 6, PS_PROTO_VERSION, PS_MSG_WELCOME);
    msgpack_pack_double(&r.pk, 1.5);
    msgpack_pack_int64(&r.pk, 2);
    msgpack_pack_int64(&r.pk, 3);
    raw_str(&r, "", 0);
    expect_err(&r, dec_welcome, &w, "welcome.agent_id: expected an unsigned integer, got 1.5");
    msgpack_sbuffer_destroy(&r.sb);

    /* string one byte longer than the destination allows */
    memset(reason, 'r', sizeof reason);
    raw_begin(&r, 6, PS_PROTO_VERSION, PS_MSG_WELCOME);
    msgpack_pack_uint32(&r.pk, 1);
    msgpack_pack_int64(&r.pk, 2);
    msgpack_pack_int64(&r.pk, 3);
    raw_str(&r, reason, PS_REASON_MAX);
    expect_err(&r, dec_welcome, &w, "welcome.reason: string of 160 bytes is too long (max 159)");
    msgpack_sbuffer_destroy(&r.sb);

    /* embedded NUL */
    raw_begin(&r, 6, PS_PROTO_VERSION, PS_MSG_WELCOME);
    msgpack_pack_uint32(&r.pk, 1);
    msgpack_pack_int64(&r.pk, 2);
    msgpack_pack_int64(&r.pk, 3);
    raw_str(&r, "a\0b", 3);
    expect_err(&r, dec_welcome, &w, "welcome.reason: string contains a NUL byte");
    msgpack_sbuffer_destroy(&r.sb);

    /* the same string as bin is not a string */
    raw_begin(&r, 6, PS_PROTO_VERSION, PS_MSG_WELCOME);
    msgpack_pack_uint32(&r.pk, 1);
    msgpack_pack_int64(&r.pk, 2);
    msgpack_pack_int64(&r.pk, 3);
    msgpack_pack_bin(&r.pk, 2);
    msgpack_pack_bin_body(&r.pk, "ab", 2);
    expect_err(&r, dec_welcome, &w, "welcome.reason: expected a string, got binary data");
    msgpack_sbuffer_destroy(&r.sb);
}

/* Packs an EVENTS header; the caller packs the event array. */
static void raw_events_head(struct raw *r, uint64_t thread, uint64_t seq)
{
    raw_begin(r, 8, PS_PROTO_VERSION, PS_MSG_EVENTS);
    msgpack_pack_uint32(&r->pk, 1);
    msgpack_pack_uint64(&r->pk, thread);
    msgpack_pack_uint64(&r->pk, seq);
    msgpack_pack_uint32(&r->pk, 1);
    raw_str(r, "", 0);   /* token */
}

static void raw_event(struct raw *r, uint32_t type)
{
    msgpack_pack_array(&r->pk, 5);
    msgpack_pack_uint32(&r->pk, 1);
    msgpack_pack_uint32(&r->pk, type);
    msgpack_pack_int64(&r->pk, 3);
    msgpack_pack_uint64(&r->pk, 4);
    msgpack_pack_uint32(&r->pk, 5);
}

static void test_events_errors(void **state)
{
    struct ps_events *m = malloc(sizeof *m);
    struct raw r;
    int i;

    (void)state;
    raw_events_head(&r, 0, 1);
    msgpack_pack_array(&r.pk, PS_EVENTS_MAX + 1);
    for (i = 0; i < PS_EVENTS_MAX + 1; i++) raw_event(&r, PS_EV_MESSAGE);
    expect_err(&r, dec_events, m, "events.ev: 1025 elements, at most 1024 allowed");
    msgpack_sbuffer_destroy(&r.sb);

    raw_events_head(&r, PS_MAX_THREADS, 1);
    msgpack_pack_array(&r.pk, 0);
    expect_err(&r, dec_events, m, "events.thread: 64 out of range (max 63)");
    msgpack_sbuffer_destroy(&r.sb);

    raw_events_head(&r, 0, 0);
    msgpack_pack_array(&r.pk, 0);
    expect_err(&r, dec_events, m, "events.seq: 0 out of range");
    msgpack_sbuffer_destroy(&r.sb);

    raw_events_head(&r, 0, 1);
    msgpack_pack_array(&r.pk, 2);
    raw_event(&r, PS_EV_MESSAGE);
    raw_event(&r, PS_EV_LAST + 1);
    expect_err(&r, dec_events, m, "events.ev.1.type: unknown event type 11");
    msgpack_sbuffer_destroy(&r.sb);

    raw_events_head(&r, 0, 1);
    msgpack_pack_array(&r.pk, 1);
    msgpack_pack_array(&r.pk, 4);
    for (i = 0; i < 4; i++) msgpack_pack_uint32(&r.pk, 1);
    expect_err(&r, dec_events, m, "events.ev.0: expected 5 elements, got 4");
    msgpack_sbuffer_destroy(&r.sb);

    raw_events_head(&r, 0, 1);
    msgpack_pack_array(&r.pk, 1);
    msgpack_pack_map(&r.pk, 0);
    expect_err(&r, dec_events, m, "events.ev.0: expected an array, got a map");
    msgpack_sbuffer_destroy(&r.sb);
    free(m);
}

static void test_reply_errors(void **state)
{
    struct ps_reply *m = malloc(sizeof *m);
    struct raw r;
    int i;

    (void)state;
    /* unknown command kind */
    raw_begin(&r, 8, PS_PROTO_VERSION, PS_MSG_REPLY);
    msgpack_pack_int64(&r.pk, 1);
    msgpack_pack_int64(&r.pk, 2);
    msgpack_pack_array(&r.pk, 0);
    msgpack_pack_uint32(&r.pk, 0);
    msgpack_pack_array(&r.pk, 2);
    msgpack_pack_uint32(&r.pk, 5);
    msgpack_pack_uint32(&r.pk, 9);
    msgpack_pack_uint32(&r.pk, 0);   /* idle_ms */
    expect_err(&r, dec_reply, m, "reply.cmd.kind: unknown command kind 9");
    msgpack_sbuffer_destroy(&r.sb);

    /* RAMP without its fields */
    raw_begin(&r, 8, PS_PROTO_VERSION, PS_MSG_REPLY);
    msgpack_pack_int64(&r.pk, 1);
    msgpack_pack_int64(&r.pk, 2);
    msgpack_pack_array(&r.pk, 0);
    msgpack_pack_uint32(&r.pk, 0);
    msgpack_pack_array(&r.pk, 2);
    msgpack_pack_uint32(&r.pk, 5);
    msgpack_pack_uint32(&r.pk, PS_CMD_RAMP);
    msgpack_pack_uint32(&r.pk, 0);   /* idle_ms */
    expect_err(&r, dec_reply, m, "reply.cmd: expected 5 elements for this kind, got 2");
    msgpack_sbuffer_destroy(&r.sb);

    /* DISCONNECT of more than everything */
    raw_begin(&r, 8, PS_PROTO_VERSION, PS_MSG_REPLY);
    msgpack_pack_int64(&r.pk, 1);
    msgpack_pack_int64(&r.pk, 2);
    msgpack_pack_array(&r.pk, 0);
    msgpack_pack_uint32(&r.pk, 0);
    msgpack_pack_array(&r.pk, 5);
    msgpack_pack_uint32(&r.pk, 5);
    msgpack_pack_uint32(&r.pk, PS_CMD_DISCONNECT);
    msgpack_pack_double(&r.pk, 1.5);
    msgpack_pack_uint32(&r.pk, 1000);
    msgpack_pack_int64(&r.pk, 0);
    msgpack_pack_uint32(&r.pk, 0);   /* idle_ms */
    expect_err(&r, dec_reply, m, "reply.cmd.fraction: 1.5 out of range [0, 1]");
    msgpack_sbuffer_destroy(&r.sb);

    /* RAMP at a NaN rate */
    raw_begin(&r, 8, PS_PROTO_VERSION, PS_MSG_REPLY);
    msgpack_pack_int64(&r.pk, 1);
    msgpack_pack_int64(&r.pk, 2);
    msgpack_pack_array(&r.pk, 0);
    msgpack_pack_uint32(&r.pk, 0);
    msgpack_pack_array(&r.pk, 5);
    msgpack_pack_uint32(&r.pk, 5);
    msgpack_pack_uint32(&r.pk, PS_CMD_RAMP);
    msgpack_pack_uint32(&r.pk, 10);
    msgpack_pack_double(&r.pk, NAN);
    msgpack_pack_int64(&r.pk, 0);
    msgpack_pack_uint32(&r.pk, 0);   /* idle_ms */
    expect_err(&r, dec_reply, m, "reply.cmd.rate: nan out of range");
    msgpack_sbuffer_destroy(&r.sb);

    /* too many acks; a flag that is not 0/1 */
    raw_begin(&r, 8, PS_PROTO_VERSION, PS_MSG_REPLY);
    msgpack_pack_int64(&r.pk, 1);
    msgpack_pack_int64(&r.pk, 2);
    msgpack_pack_array(&r.pk, PS_MAX_THREADS + 1);
    for (i = 0; i <= PS_MAX_THREADS; i++) msgpack_pack_uint32(&r.pk, 1);
    msgpack_pack_uint32(&r.pk, 0);
    msgpack_pack_array(&r.pk, 2);
    msgpack_pack_uint32(&r.pk, 0);
    msgpack_pack_uint32(&r.pk, 0);
    msgpack_pack_uint32(&r.pk, 0);   /* idle_ms */
    expect_err(&r, dec_reply, m, "reply.acked_seq: 65 elements, at most 64 allowed");
    msgpack_sbuffer_destroy(&r.sb);

    raw_begin(&r, 8, PS_PROTO_VERSION, PS_MSG_REPLY);
    msgpack_pack_int64(&r.pk, 1);
    msgpack_pack_int64(&r.pk, 2);
    msgpack_pack_array(&r.pk, 0);
    msgpack_pack_uint32(&r.pk, 2);
    msgpack_pack_array(&r.pk, 2);
    msgpack_pack_uint32(&r.pk, 0);
    msgpack_pack_uint32(&r.pk, 0);
    msgpack_pack_uint32(&r.pk, 0);   /* idle_ms */
    expect_err(&r, dec_reply, m, "reply.unknown_agent: 2 out of range (max 1)");
    msgpack_sbuffer_destroy(&r.sb);
    free(m);
}

/* A raw tick: agent fields, then the batch_seq array (a second element of
 * -7 when bad_seq), stats with n_stats elements and host with n_host. */
static void raw_tick(struct raw *r, int bad_seq, int n_stats, int n_host)
{
    int i;

    raw_begin(r, 18, PS_PROTO_VERSION, PS_MSG_TICK);
    msgpack_pack_uint32(&r->pk, 1);
    msgpack_pack_int64(&r->pk, 2);
    msgpack_pack_int64(&r->pk, -3);
    msgpack_pack_int64(&r->pk, 4);
    msgpack_pack_uint32(&r->pk, 5);
    raw_str(r, "", 0);
    msgpack_pack_array(&r->pk, bad_seq ? 2 : 1);
    msgpack_pack_uint32(&r->pk, 7);
    if (bad_seq) msgpack_pack_int32(&r->pk, -7);
    msgpack_pack_uint32(&r->pk, 0);
    msgpack_pack_array(&r->pk, n_stats);
    for (i = 0; i < n_stats; i++) msgpack_pack_uint32(&r->pk, 1);
    msgpack_pack_array(&r->pk, n_host);
    for (i = 0; i < n_host; i++) msgpack_pack_uint32(&r->pk, 1);
    msgpack_pack_uint64(&r->pk, 8);   /* TLS handshakes full, resumed */
    msgpack_pack_uint64(&r->pk, 9);
    raw_str(r, "", 0);   /* token */
    /* control-link liveness: dropped_seq, dropped_batches, dropped_events */
    msgpack_pack_array(&r->pk, 1);
    msgpack_pack_uint32(&r->pk, 0);
    msgpack_pack_uint32(&r->pk, 0);
    msgpack_pack_uint32(&r->pk, 0);
}

static void test_tick_errors(void **state)
{
    struct ps_tick m;
    struct raw r;

    (void)state;
    raw_tick(&r, 0, 28, 14);
    expect_err(&r, dec_tick, &m, "tick.stats: expected 29 elements, got 28");
    msgpack_sbuffer_destroy(&r.sb);

    raw_tick(&r, 1, 29, 14);
    expect_err(&r, dec_tick, &m, "tick.batch_seq.1: expected an unsigned integer, got -7");
    msgpack_sbuffer_destroy(&r.sb);

    /* the host metrics are checked like the rest */
    raw_tick(&r, 0, 29, 13);
    expect_err(&r, dec_tick, &m, "tick.host: expected 14 elements, got 13");
    msgpack_sbuffer_destroy(&r.sb);
}

/* An assign with one header that is not a [name, value] pair. */
static void test_assign_header_shape(void **state)
{
    struct ps_reply *in = malloc(sizeof *in), *m = malloc(sizeof *m);
    msgpack_sbuffer sb;
    char err[ERR_LEN];
    char *hit;

    (void)state;
    msgpack_sbuffer_init(&sb);
    make_reply(in, PS_CMD_ASSIGN);
    in->cmd.u.assign.n_headers = 1;
    strcpy(in->cmd.u.assign.headers[0].name, "NNNN");
    strcpy(in->cmd.u.assign.headers[0].value, "VVVV");
    assert_int_equal(ps_proto_encode_reply(&sb, in), 0);
    /* [ "NNNN", "VVVV" ] becomes [ ["NNN"], "VVVV" ]: same length, wrong shape. */
    hit = memmem(sb.data, sb.size, "\x92\xa4NNNN\xa4VVVV", 11);
    assert_non_null(hit);
    hit[1] = (char)0x91;
    hit[2] = (char)0xa3;
    assert_int_equal(ps_proto_decode_reply(sb.data, sb.size, m, err, sizeof err), -1);
    assert_string_equal(err, "reply.cmd.headers.0.name: expected a string, got an array of 1");
    msgpack_sbuffer_destroy(&sb);
    free(in);
    free(m);
}

/* A target naming TLS settings that were not sent, or a count that does not
 * match the targets, is refused: the agent indexes its vhosts with it. */
static void test_assign_tls_index(void **state)
{
    struct ps_reply *m = malloc(sizeof *m), *out = malloc(sizeof *out);
    msgpack_sbuffer sb;
    char err[ERR_LEN];

    (void)state;
    msgpack_sbuffer_init(&sb);
    make_reply(m, PS_CMD_ASSIGN);
    assert_int_equal(ps_proto_encode_reply(&sb, m), 0);
    assert_int_equal(ps_proto_decode_reply(sb.data, sb.size, out, err, sizeof err), 0);
    assert_int_equal(out->cmd.u.assign.target_tls[9], 9 % PS_MAX_TLS);
    m->cmd.u.assign.n_tls = 3;   /* target 3 names settings 3 */
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(ps_proto_encode_reply(&sb, m), 0);
    assert_int_equal(ps_proto_decode_reply(sb.data, sb.size, out, err, sizeof err), -1);
    assert_non_null(strstr(err, "index 3 past the 3 TLS settings"));
    make_reply(m, PS_CMD_ASSIGN);
    m->cmd.u.assign.n_target_tls = 2;
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(ps_proto_encode_reply(&sb, m), 0);
    assert_int_equal(ps_proto_decode_reply(sb.data, sb.size, out, err, sizeof err), -1);
    assert_non_null(strstr(err, "2 entries for 64 targets"));
    msgpack_sbuffer_destroy(&sb);
    free(m);
    free(out);
}

/* msgpack-c allocates an array's element table when it reads the header; a
 * 5-byte array32 claiming 2^32-1 elements must be refused before that. */
static void test_hostile_sizes(void **state)
{
    static const unsigned char huge_top[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, PS_PROTO_VERSION, 0x05 };
    static const unsigned char huge_inner[] = {
        0x98, PS_PROTO_VERSION, 0x05, 0x01, 0x00, 0x01, 0x01, 0xa0, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x95,
    };
    static const unsigned char huge_map[] = {
        0x98, PS_PROTO_VERSION, 0x05, 0x01, 0x00, 0x01, 0x01, 0xa0, 0xdf, 0x7f, 0xff, 0xff, 0xff,
    };
    static const unsigned char huge_str[] = {
        0x96, PS_PROTO_VERSION, 0x02, 0x01, 0x01, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xf0, 'a',
    };
    struct ps_events *m = malloc(sizeof *m);
    struct ps_welcome w;
    char err[ERR_LEN];

    (void)state;
    assert_int_equal(ps_proto_decode_events(huge_top, sizeof huge_top, m, err, sizeof err), -1);
    assert_int_equal(ps_proto_decode_events(huge_inner, sizeof huge_inner, m, err, sizeof err), -1);
    assert_non_null(strstr(err, "truncated"));
    assert_int_equal(ps_proto_decode_events(huge_map, sizeof huge_map, m, err, sizeof err), -1);
    assert_non_null(strstr(err, "truncated"));
    assert_int_equal(ps_proto_decode_welcome(huge_str, sizeof huge_str, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "truncated"));
    free(m);
}

/* Nesting far deeper than msgpack-c's parser stack. */
static void test_deep_nesting(void **state)
{
    enum { DEPTH = 5000 };
    unsigned char *buf = malloc(DEPTH + 64);
    struct ps_hello *h = malloc(sizeof *h);
    size_t n = 0;
    int i;
    char err[ERR_LEN];

    (void)state;
    buf[n++] = 0xdc;
    buf[n++] = 0x00;
    buf[n++] = 16;                 /* hello arity */
    buf[n++] = PS_PROTO_VERSION;
    buf[n++] = PS_MSG_HELLO;
    for (i = 0; i < DEPTH; i++) buf[n++] = 0x91;
    buf[n++] = 0x01;
    for (i = 0; i < 13; i++) buf[n++] = 0x00;
    assert_int_equal(ps_proto_decode_hello(buf, n, h, err, sizeof err), -1);
    free(buf);
    free(h);
}

/* --------------------------------------------------------------- fuzz-style */

struct sample { unsigned char *buf; size_t len; };

/* Valid encodings of every message, sized so that every truncation is cheap. */
static int make_samples(struct sample *s, int max)
{
    static const uint32_t kinds[] = { PS_CMD_NONE, PS_CMD_ASSIGN, PS_CMD_RAMP, PS_CMD_DISCONNECT, PS_CMD_STOP };
    struct ps_hello *h = malloc(sizeof *h);
    struct ps_welcome w;
    struct ps_tick t;
    struct ps_reply *r = malloc(sizeof *r);
    struct ps_events *e = malloc(sizeof *e);
    msgpack_sbuffer sb;
    int n = 0;
    size_t k;

    msgpack_sbuffer_init(&sb);
#define KEEP() do { assert_true(n < max); s[n].buf = malloc(sb.size); \
        memcpy(s[n].buf, sb.data, sb.size); s[n].len = sb.size; n++; } while (0)
    make_hello(h);
    h->n_ips = 3;
    assert_int_equal(ps_proto_encode_hello(&sb, h), 0);
    KEEP();
    make_welcome(&w);
    assert_int_equal(ps_proto_encode_welcome(&sb, &w), 0);
    KEEP();
    make_tick(&t);
    assert_int_equal(ps_proto_encode_tick(&sb, &t), 0);
    KEEP();
    for (k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        make_reply(r, kinds[k]);
        if (kinds[k] == PS_CMD_ASSIGN) {
            struct ps_assign *a = &r->cmd.u.assign;
            a->n_targets = 2;
            a->n_headers = 2;
            a->n_tls = 2;
            a->n_target_tls = 2;
            strcpy(a->targets[0], "ws://127.0.0.1:8080/ws?uid={conn}");
            strcpy(a->targets[1], "ws://127.0.0.2:8080/ws?uid={conn}");
            strcpy(a->hb_text, "ping");
            strcpy(a->hb_expect, "pong");
        }
        assert_int_equal(ps_proto_encode_reply(&sb, r), 0);
        KEEP();
    }
    make_events(e, 20, 5);
    assert_int_equal(ps_proto_encode_events(&sb, e), 0);
    KEEP();
#undef KEEP
    msgpack_sbuffer_destroy(&sb);
    free(h);
    free(r);
    free(e);
    return n;
}

/* One decoder's verdict: a rejection must say why. */
static int decoded(int rc, const char *err)
{
    if (rc != 0 && err[0] == 0) fail_msg("input rejected without a reason");
    return rc == 0;
}

/* Runs every decoder; returns how many accepted the input. */
static int decode_all(const void *buf, size_t len, struct all_msgs *m)
{
    char err[ERR_LEN];
    uint32_t type;
    int ok = 0;

    err[0] = 0;
    ok += decoded(ps_proto_decode_hello(buf, len, &m->hello, err, sizeof err), err);
    err[0] = 0;
    ok += decoded(ps_proto_decode_welcome(buf, len, &m->welcome, err, sizeof err), err);
    err[0] = 0;
    ok += decoded(ps_proto_decode_tick(buf, len, &m->tick, err, sizeof err), err);
    err[0] = 0;
    ok += decoded(ps_proto_decode_reply(buf, len, &m->reply, err, sizeof err), err);
    err[0] = 0;
    ok += decoded(ps_proto_decode_events(buf, len, &m->events, err, sizeof err), err);
    err[0] = 0;
    (void)decoded(ps_proto_peek_type(buf, len, &type, err, sizeof err), err);
    /* every error is a terminated string */
    assert_true(strlen(err) < sizeof err);
    return ok;
}

static void test_every_truncation(void **state)
{
    struct sample s[16];
    struct all_msgs *m = malloc(sizeof *m);
    int n = make_samples(s, 16), i;
    size_t len;

    (void)state;
    for (i = 0; i < n; i++) {
        /* A copy of exactly len bytes, so ASan catches any read past the end. */
        for (len = 0; len < s[i].len; len++) {
            unsigned char *cut = malloc(len ? len : 1);
            memcpy(cut, s[i].buf, len);
            if (decode_all(cut, len, m) != 0)
                fail_msg("sample %d truncated to %zu of %zu bytes was accepted", i, len, s[i].len);
            free(cut);
        }
        assert_int_equal(decode_all(s[i].buf, s[i].len, m), 1);
        free(s[i].buf);
    }
    free(m);
}

static void test_random_bytes(void **state)
{
    struct all_msgs *m = malloc(sizeof *m);
    uint64_t seed = 0x1234567887654321ull;
    int round;

    (void)state;
    for (round = 0; round < 20000; round++) {
        size_t len = rng_next(&seed) % 300, i;
        unsigned char *buf = malloc(len ? len : 1);
        for (i = 0; i < len; i++) buf[i] = (unsigned char)rng_next(&seed);
        /* half the time, a plausible head so the decoders get past the first checks */
        if (round % 2 && len >= 3) {
            buf[0] = (unsigned char)(0x90 | (rng_next(&seed) % 16));
            buf[1] = PS_PROTO_VERSION;
            buf[2] = (unsigned char)(1 + rng_next(&seed) % 5);
        }
        if (decode_all(buf, len, m) != 0)
            fail_msg("random input of %zu bytes (round %d) was accepted", len, round);
        free(buf);
    }
    free(m);
}

/* Mutated valid messages: may be accepted (a changed number is still a number),
 * but must never crash; what is rejected says why, and what is accepted must
 * be exactly what it decodes to again once re-encoded: no field dropped,
 * changed or left over from an earlier message on the way. */
static void test_mutations(void **state)
{
    struct sample s[16];
    struct all_msgs *m = malloc(sizeof *m), *m2 = malloc(sizeof *m2);
    int n = make_samples(s, 16), i, round, accepted = 0;
    uint64_t seed = 42;
    msgpack_sbuffer sb;

    (void)state;
    msgpack_sbuffer_init(&sb);
    for (i = 0; i < n; i++) {
        unsigned char *buf = malloc(s[i].len);
        for (round = 0; round < 3000; round++) {
            int flips = 1 + (int)(rng_next(&seed) % 3), f;
            memcpy(buf, s[i].buf, s[i].len);
            for (f = 0; f < flips; f++)
                buf[rng_next(&seed) % s[i].len] = (unsigned char)rng_next(&seed);
            if (decode_all(buf, s[i].len, m)) {
                char err[ERR_LEN];
                uint32_t type;
                accepted++;
                assert_int_equal(ps_proto_peek_type(buf, s[i].len, &type, err, sizeof err), 0);
                /* the second decode starts from other bytes, so a field it does not write shows */
                memset(m2, 0x5a, sizeof *m2);
                switch (type) {
                case PS_MSG_HELLO:
                    assert_int_equal(ps_proto_encode_hello(&sb, &m->hello), 0);
                    assert_int_equal(ps_proto_decode_hello(sb.data, sb.size, &m2->hello, err, sizeof err), 0);
                    assert_memory_equal(&m->hello, &m2->hello, sizeof m->hello);
                    break;
                case PS_MSG_WELCOME:
                    assert_int_equal(ps_proto_encode_welcome(&sb, &m->welcome), 0);
                    assert_int_equal(ps_proto_decode_welcome(sb.data, sb.size, &m2->welcome, err, sizeof err), 0);
                    assert_memory_equal(&m->welcome, &m2->welcome, sizeof m->welcome);
                    break;
                case PS_MSG_TICK:
                    assert_int_equal(ps_proto_encode_tick(&sb, &m->tick), 0);
                    assert_int_equal(ps_proto_decode_tick(sb.data, sb.size, &m2->tick, err, sizeof err), 0);
                    assert_memory_equal(&m->tick, &m2->tick, sizeof m->tick);
                    break;
                case PS_MSG_REPLY:
                    assert_int_equal(ps_proto_encode_reply(&sb, &m->reply), 0);
                    assert_int_equal(ps_proto_decode_reply(sb.data, sb.size, &m2->reply, err, sizeof err), 0);
                    assert_memory_equal(&m->reply, &m2->reply, sizeof m->reply);
                    break;
                default:
                    assert_int_equal(ps_proto_encode_events(&sb, &m->events), 0);
                    assert_int_equal(ps_proto_decode_events(sb.data, sb.size, &m2->events, err, sizeof err), 0);
                    /* only the used events are written, so compare those */
                    assert_events_equal(&m->events, &m2->events);
                    break;
                }
            }
        }
        free(buf);
        free(s[i].buf);
    }
    /* the test means something only if some mutations survive and some do not */
    assert_true(accepted > 0);
    assert_true(accepted < n * 3000);
    msgpack_sbuffer_destroy(&sb);
    free(m);
    free(m2);
}

/* ------------------------------------------------------------------- names */

static void test_names(void **state)
{
    uint32_t i;

    (void)state;
    assert_string_equal(ps_reason_name(PS_REASON_REFUSED), "refused");
    assert_string_equal(ps_reason_name(PS_REASON_TIMEOUT), "timeout");
    assert_string_equal(ps_reason_name(PS_REASON_HTTP_STATUS), "http_status");
    assert_string_equal(ps_reason_name(PS_REASON_SERVER_CLOSE), "server_close");
    assert_string_equal(ps_reason_name(PS_REASON_OTHER), "other");
    assert_string_equal(ps_reason_name(PS_REASON_PROTO_REFUSED), "proto_refused");   /* issue 13 */
    assert_string_equal(ps_reason_name(PS_REASON_PROTO_ERROR), "proto_error");
    assert_string_equal(ps_reason_name(PS_REASON_PROTO_TIMEOUT), "proto_timeout");
    assert_string_equal(ps_reason_name(PS_REASON_PROTO_KEEPALIVE), "proto_keepalive");
    assert_string_equal(ps_reason_name(PS_REASON_PROTO_CLOSE), "proto_close");
    assert_string_equal(ps_protocol_name(PS_PROTOCOL_WEBSOCKET), "websocket");
    assert_string_equal(ps_protocol_name(PS_PROTOCOL_STOMP), "stomp");
    assert_string_equal(ps_protocol_name(PS_PROTOCOL_COUNT), "unknown");
    assert_string_equal(ps_reason_name(PS_REASON_COUNT), "unknown");
    assert_string_equal(ps_reason_name(UINT32_MAX), "unknown");
    for (i = 0; i < PS_REASON_COUNT; i++) {
        const char *n = ps_reason_name(i);
        assert_non_null(n);
        assert_string_not_equal(n, "unknown");
    }
    assert_string_equal(ps_ev_type_name(PS_EV_CONNECTED), "connected");
    assert_string_equal(ps_ev_type_name(PS_EV_FAILED), "failed");
    assert_string_equal(ps_ev_type_name(PS_EV_PONG_MISSED), "pong_missed");
    assert_string_equal(ps_ev_type_name(PS_EV_FOREIGN), "foreign");
    assert_string_equal(ps_ev_type_name(0), "unknown");
    assert_string_equal(ps_ev_type_name(PS_EV_LAST + 1), "unknown");
    assert_string_equal(ps_ev_type_name(UINT32_MAX), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_roundtrip),
        cmocka_unit_test(test_welcome_roundtrip),
        cmocka_unit_test(test_challenge_roundtrip),
        cmocka_unit_test(test_tick_roundtrip),
        cmocka_unit_test(test_reply_roundtrip_every_kind),
        cmocka_unit_test(test_events_roundtrip),
        cmocka_unit_test(test_events_wire_form),
        cmocka_unit_test(test_golden_bytes),
        cmocka_unit_test(test_encoder_clears_buffer),
        cmocka_unit_test(test_encoder_refuses_bad_structs),
        cmocka_unit_test(test_wrong_version_and_type),
        cmocka_unit_test(test_assign_tls_index),
        cmocka_unit_test(test_arity_and_trailing),
        cmocka_unit_test(test_field_errors),
        cmocka_unit_test(test_events_errors),
        cmocka_unit_test(test_reply_errors),
        cmocka_unit_test(test_tick_errors),
        cmocka_unit_test(test_assign_header_shape),
        cmocka_unit_test(test_hostile_sizes),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
