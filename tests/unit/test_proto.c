/* test_proto.c: wire format round trips and the encoders, and the names of
 * proto/'s enums.
 *
 * Round trips fill every field of every message (proto_make.h: longest
 * strings, fullest arrays, extreme integers) and compare the decoded struct
 * byte for byte; the encoders clear their buffer and refuse structs they could
 * not write back. The golden bytes are in test_proto_golden.c, hand-packed
 * hostile input in test_proto_hostile.c, fuzz-style input in
 * test_proto_fuzz.c. */
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
        cmocka_unit_test(test_encoder_clears_buffer),
        cmocka_unit_test(test_encoder_refuses_bad_structs),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
