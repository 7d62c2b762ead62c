/* test_proto_hostile.c: hand-packed malformed input to proto/'s decoders.
 *
 * Each message is packed with msgpack-c field by field, wrong in one way (a
 * version or type, an arity, trailing bytes, a field's kind or range, a batch
 * out of shape, sizes claiming more than there is, nesting deeper than the
 * parser's stack), and each rejection is checked with its message: a silent
 * -1 is a defect too. Under ASan and UBSan any out-of-bounds read fails. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "proto_make.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
