/* test_wsc_encode.c: the client side of the native engine's frame codec
 * (agent/wsc_frame.c): the frame encoder and the masking-key pool.
 *
 * What must hold: a frame is FIN, the opcode, the mask bit, the minimal
 * length form (the boundaries 125/126, 65535/65536 are where it changes),
 * the key, then the payload XOR the key, byte i with key[i % 4], whatever the
 * payload's address and length around the encoder's 8-byte steps. The frames
 * are read back by a parser of the test's own, not by the decoder, which
 * refuses masked frames as a client must. Keys come from getrandom() 1,024
 * at a time, in order, and the pool refills only when it is used up. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wsc_frame.h"

/* The test's own reading of a client frame (RFC 6455 5.2): the payload unmasked into out. */
static size_t parse_client_frame(const unsigned char *f, size_t n, int *op, unsigned char *out)
{
    assert_true(n >= 6);
    assert_int_equal(f[0] & 0xf0, 0x80);                 /* FIN, no RSV */
    *op = f[0] & 0x0f;
    assert_true(f[1] & 0x80);                            /* masked */
    size_t len = f[1] & 0x7f, h = 2;
    if (len == 126) {
        len = (size_t)f[2] << 8 | f[3];
        h = 4;
        assert_true(len >= 126);                         /* minimal */
    } else if (len == 127) {
        len = 0;
        for (int i = 2; i < 10; i++)
            len = len << 8 | f[i];
        h = 10;
        assert_true(len > 0xffff);
    }
    const unsigned char *mask = f + h;
    h += 4;
    assert_int_equal(n, h + len);
    for (size_t i = 0; i < len; i++)
        out[i] = f[h + i] ^ mask[i % 4];
    return len;
}

static void test_frame_lengths(void **state)
{
    (void)state;
    static const struct { size_t len; size_t h; const char *head; } cases[] = {
        { 0, 6, "\x81\x80" },
        { 1, 6, "\x81\x81" },
        { 125, 6, "\x81\xfd" },
        { 126, 8, "\x81\xfe\x00\x7e" },
        { 127, 8, "\x81\xfe\x00\x7f" },
        { 65535, 8, "\x81\xfe\xff\xff" },
        { 65536, 14, "\x81\xff\x00\x00\x00\x00\x00\x01\x00\x00" },
        { 100000, 14, "\x81\xff\x00\x00\x00\x00\x00\x01\x86\xa0" },
    };
    const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t len = cases[c].len;
        unsigned char *buf = malloc(AGENT_WSC_HEAD_MAX + len + 1), *orig = malloc(len + 1),
                      *back = malloc(len + 1);
        for (size_t i = 0; i < len; i++)
            orig[i] = (unsigned char)(i * 7 + 3);
        memcpy(buf + AGENT_WSC_HEAD_MAX, orig, len);
        buf[AGENT_WSC_HEAD_MAX + len] = 0xee;           /* nothing written past the payload */
        size_t h = agent_wsc_frame(buf + AGENT_WSC_HEAD_MAX, len, AGENT_WSC_TEXT, mask);
        assert_int_equal(h, cases[c].h);
        unsigned char *f = buf + AGENT_WSC_HEAD_MAX - h;
        assert_memory_equal(f, cases[c].head, h - 4);
        assert_memory_equal(f + h - 4, mask, 4);
        assert_int_equal(buf[AGENT_WSC_HEAD_MAX + len], 0xee);
        int op;
        assert_int_equal(parse_client_frame(f, h + len, &op, back), len);
        assert_int_equal(op, AGENT_WSC_TEXT);
        if (len)
            assert_memory_equal(back, orig, len);
        if (len >= 4)                                   /* masked: not the plain bytes */
            assert_memory_not_equal(f + h, orig, len);
        free(buf);
        free(orig);
        free(back);
    }
}

/* Every opcode, payloads from unaligned addresses and of every length around the 8-byte
 * steps: the bytes on the wire are the payload XOR the key, byte i with key[i % 4]. */
static void test_frame_masking(void **state)
{
    (void)state;
    static const int ops[] = { AGENT_WSC_TEXT, AGENT_WSC_BINARY, AGENT_WSC_CLOSE, AGENT_WSC_PING,
                               AGENT_WSC_PONG };
    unsigned char buf[AGENT_WSC_HEAD_MAX + 3 + 40], orig[40], back[40];
    const uint8_t mask[4] = { 0x01, 0x80, 0xff, 0x5a };
    for (size_t o = 0; o < 3; o++)
        for (size_t len = 0; len <= 33; len++) {
            for (size_t i = 0; i < len; i++)
                orig[i] = (unsigned char)(0xa5 ^ (i * 13));
            unsigned char *p = buf + AGENT_WSC_HEAD_MAX + o;
            memcpy(p, orig, len);
            int want_op = ops[(o + len) % 5];
            size_t h = agent_wsc_frame(p, len, (enum agent_wsc_op)want_op, mask);
            assert_int_equal(h, 6);
            for (size_t i = 0; i < len; i++)
                assert_int_equal(p[i], orig[i] ^ mask[i % 4]);
            int op;
            assert_int_equal(parse_client_frame(p - h, h + len, &op, back), len);
            assert_int_equal(op, want_op);
            if (len)
                assert_memory_equal(back, orig, len);
        }
}

static void test_keys(void **state)
{
    (void)state;
    struct agent_wsc_keys *k = malloc(sizeof *k);
    agent_wsc_keys_init(k);
    assert_int_equal(k->pos, sizeof k->buf);            /* empty: nothing read yet */
    uint8_t key[4], first[4];
    assert_int_equal(agent_wsc_key(k, first), 0);
    assert_int_equal(k->pos, 4);
    assert_memory_equal(first, k->buf, 4);
    int same = 0;
    for (int i = 1; i < 1024; i++) {
        assert_int_equal(agent_wsc_key(k, key), 0);
        assert_memory_equal(key, k->buf + 4 * i, 4);
        same += !memcmp(key, first, 4);
    }
    assert_true(same < 3);                              /* 1,023 draws of 32 bits */
    assert_int_equal(k->pos, sizeof k->buf);
    uint8_t old[16];
    memcpy(old, k->buf, sizeof old);
    assert_int_equal(agent_wsc_key(k, key), 0);         /* the 1,025th refills */
    assert_int_equal(k->pos, 4);
    assert_memory_not_equal(old, k->buf, sizeof old);
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_lengths),
        cmocka_unit_test(test_frame_masking),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
