/* test_proto_golden.c: the wire byte for byte.
 *
 * Every message filled by proto_make.h's makers against a fingerprint of the
 * bytes its encoder wrote, and the events batch in its documented form and
 * size: a change to the wire fails here, printing the new values, and is then
 * a protocol version change (PS_PROTO_VERSION) made on purpose. */
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
/* PS_FUZZ_SEEDS=tests/fuzz/corpus/proto bin/tests/test_proto_golden rewrites the wire
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_wire_form),
        cmocka_unit_test(test_golden_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
