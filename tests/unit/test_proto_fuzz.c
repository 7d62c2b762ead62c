/* test_proto_fuzz.c: fuzz-style input to every decoder of proto/.
 *
 * Every truncation of valid messages, random bytes and mutated messages go to
 * every decoder: a rejection must say why, an acceptance must decode to what
 * the encoder writes back; under ASan and UBSan any out-of-bounds read or
 * overflow fails the run. (tests/fuzz/fuzz_proto.c does the same unbounded.) */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
