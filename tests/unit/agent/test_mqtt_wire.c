/* test_mqtt_wire.c: the MQTT codec (agent/mqtt_wire.c).
 *
 * What must hold: each packet the agent writes is the bytes the OASIS specs
 * give for it (3.1.1 and 5.0), and anything out of range is refused rather
 * than cut short. The reader finds the same things in a stream however it is
 * cut: every packet is checked whole, one byte at a time, and cut at every
 * single position, and the three readings must log the same events (payload
 * bytes joined, with their first/final marks) and end in the same error.
 * Each thing a server must not send a client, or that is no packet, stops the
 * reader with its own error, which stays; a callback can stop it. Random
 * bytes, cut at random, read the same as whole (no crash, same verdict). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mqtt_wire.h"

/* ---- writing */

static void expect_bytes(const unsigned char *got, int n, const char *want, size_t wn)
{
    if (n != (int)wn || memcmp(got, want, wn)) {
        fprintf(stderr, "got %d bytes:", n);
        for (int i = 0; i < n; i++)
            fprintf(stderr, " %02x", got[i]);
        fprintf(stderr, "\n");
        fail_msg("bytes differ (want %zu)", wn);
    }
}
#define EXPECT_BYTES(got, n, lit) expect_bytes(got, n, lit, sizeof lit - 1)

static void test_connect(void **state)
{
    (void)state;
    unsigned char b[512];
    struct mqtt_connect c = {MQTT_V311, 1, 30, "ps-1-7", "u", "pw"};
    int n = mqtt_put_connect(b, sizeof b, &c);
    EXPECT_BYTES(b, n, "\x10\x19\x00\x04MQTT\x04\xc2\x00\x1e\x00\x06ps-1-7\x00\x01u\x00\x02pw");
    c.version = MQTT_V5;
    c.clean = 0;
    c.user = c.password = NULL;
    n = mqtt_put_connect(b, sizeof b, &c);
    EXPECT_BYTES(b, n, "\x10\x13\x00\x04MQTT\x05\x00\x00\x1e\x00\x00\x06ps-1-7");
    c.password = "pw";                       /* 5.0 takes a password with no user */
    n = mqtt_put_connect(b, sizeof b, &c);
    EXPECT_BYTES(b, n, "\x10\x17\x00\x04MQTT\x05\x40\x00\x1e\x00\x00\x06ps-1-7\x00\x02pw");
    c.version = MQTT_V311;                   /* 3.1.1 does not */
    assert_int_equal(mqtt_put_connect(b, sizeof b, &c), -1);
    c.version = 3;
    c.password = NULL;
    assert_int_equal(mqtt_put_connect(b, sizeof b, &c), -1);
    c.version = MQTT_V311;
    assert_int_equal(mqtt_put_connect(b, 20, &c), 20);             /* exactly fits */
    assert_int_equal(mqtt_put_connect(b, 19, &c), -1);
    c.client_id = "";                        /* empty id: the server assigns one (or refuses) */
    n = mqtt_put_connect(b, sizeof b, &c);
    EXPECT_BYTES(b, n, "\x10\x0c\x00\x04MQTT\x04\x00\x00\x1e\x00\x00");

    /* a string over 65535 bytes; a body whose length takes 3 bytes */
    size_t big = 70000;
    char *s = malloc(big + 1);
    unsigned char *out = malloc(big + 64);
    memset(s, 'x', big);
    s[big] = 0;
    c.client_id = s;
    assert_int_equal(mqtt_put_connect(out, big + 64, &c), -1);
    s[20000] = 0;
    n = mqtt_put_connect(out, big + 64, &c);
    assert_int_equal(n, 1 + 3 + 12 + 20000);
    assert_memory_equal(out, "\x10\xac\x9c\x01", 4);     /* 20012 = 0x4e2c */
    free(out);
    free(s);
}

static void test_subscribe_and_small(void **state)
{
    (void)state;
    unsigned char b[256];
    const char *f[] = {"users/7", "all"};
    int n = mqtt_put_subscribe(b, sizeof b, MQTT_V311, 1, f, 2, 1);
    EXPECT_BYTES(b, n, "\x82\x12\x00\x01\x00\x07users/7\x01\x00\x03" "all\x01");
    n = mqtt_put_subscribe(b, sizeof b, MQTT_V5, 0x1234, f, 1, 0);
    EXPECT_BYTES(b, n, "\x82\x0d\x12\x34\x00\x00\x07users/7\x00");
    assert_int_equal(mqtt_put_subscribe(b, sizeof b, MQTT_V311, 0, f, 2, 1), -1);   /* id 0 */
    assert_int_equal(mqtt_put_subscribe(b, sizeof b, MQTT_V311, 1, f, 0, 1), -1);   /* no filter */
    assert_int_equal(mqtt_put_subscribe(b, sizeof b, MQTT_V311, 1, f, 2, 3), -1);   /* QoS 3 */
    assert_int_equal(mqtt_put_subscribe(b, 18, MQTT_V311, 1, f, 2, 1), -1);
    const char *empty[] = {""};
    assert_int_equal(mqtt_put_subscribe(b, sizeof b, MQTT_V311, 1, empty, 1, 1), -1);

    n = mqtt_put_puback(b, sizeof b, 0xbeef);
    EXPECT_BYTES(b, n, "\x40\x02\xbe\xef");
    assert_int_equal(mqtt_put_puback(b, 3, 1), -1);
    assert_int_equal(mqtt_put_puback(b, sizeof b, 0), -1);
    n = mqtt_put_pingreq(b, sizeof b);
    EXPECT_BYTES(b, n, "\xc0\x00");
    n = mqtt_put_disconnect(b, sizeof b);
    EXPECT_BYTES(b, n, "\xe0\x00");
    assert_int_equal(mqtt_put_disconnect(b, 1), -1);
}

/* ---- reading */

struct rec {
    char log[4096];
    size_t n;
    int stop_at;          /* stop at this event (1-based); 0 = never */
    int events;
};

static int rec_add(struct rec *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(r->log + r->n, sizeof r->log - r->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        r->n += (size_t)k < sizeof r->log - r->n ? (size_t)k : sizeof r->log - r->n - 1;
    return ++r->events == r->stop_at;
}

static int rec_connack(void *ctx, uint8_t sp, uint8_t code)
{
    return rec_add(ctx, "connack %u %u;", sp, code);
}
static int rec_suback(void *ctx, uint16_t pid, uint32_t i, uint8_t code, int last)
{
    return rec_add(ctx, "suback %u #%u %u%s;", pid, i, code, last ? " last" : "");
}
static int rec_publish(void *ctx, uint8_t flags, uint16_t pid, uint32_t len)
{
    return rec_add(ctx, "publish f%u q%u id%u len%u ", flags, MQTT_PUB_QOS(flags), pid, len);
}
static int rec_payload(void *ctx, const unsigned char *p, size_t len, int first, int final)
{
    struct rec *r = ctx;
    if (first)
        rec_add(r, "[");
    for (size_t i = 0; i < len; i++)
        rec_add(r, p[i] >= 32 && p[i] < 127 ? "%c" : "\\x%02x", p[i]);
    if (final)
        rec_add(r, "];");
    /* a piece's events count once, whatever its length, so stop_at is split-proof only for
     * payload-free streams: the tests that stop do not stop inside payloads */
    return 0;
}
static int rec_pingresp(void *ctx)
{
    return rec_add(ctx, "pingresp;");
}
static int rec_disconnect(void *ctx, uint8_t reason)
{
    return rec_add(ctx, "disconnect %u;", reason);
}

static const struct mqtt_rd_ops rec_ops = {
    rec_connack, rec_suback, rec_publish, rec_payload, rec_pingresp, rec_disconnect
};

/* Feed in pieces: cut[] positions (ascending), then the end. */
static int feed_cut(uint8_t v, const void *s, size_t len, uint32_t max, const size_t *cut,
                    size_t ncut, struct rec *r, int stop_at, int *mid)
{
    struct mqtt_rd rd;
    mqtt_rd_init(&rd, v);
    memset(r, 0, sizeof *r);
    r->stop_at = stop_at;
    size_t off = 0;
    int err = 0;
    for (size_t k = 0; k <= ncut && !err; k++) {
        size_t end = k < ncut ? cut[k] : len;
        err = mqtt_rd_feed(&rd, (const unsigned char *)s + off, end - off, max, &rec_ops, r);
        off = end;
    }
    if (mid)
        *mid = mqtt_rd_mid_packet(&rd);
    /* an error stays */
    if (err)
        assert_int_equal(mqtt_rd_feed(&rd, (const unsigned char *)"\xd0\x00", 2, max, &rec_ops, r),
                         err);
    return err;
}

/* Whole, at each single cut, byte by byte: the same log and verdict. */
static void check_stream(uint8_t v, const void *s, size_t len, uint32_t max, int stop_at,
                         const char *want_log, int want_err, int want_mid)
{
    struct rec whole, part;
    int mid;
    int err = feed_cut(v, s, len, max, NULL, 0, &whole, stop_at, &mid);
    if (err != want_err || strcmp(whole.log, want_log))
        fail_msg("whole: err %d (%s) want %d, log \"%s\" want \"%s\"", err, mqtt_err_name(err),
                 want_err, whole.log, want_log);
    if (!want_err)             /* after an error, where it stopped does not matter */
        assert_int_equal(mid, want_mid);
    for (size_t c = 1; c < len; c++) {
        err = feed_cut(v, s, len, max, &c, 1, &part, stop_at, &mid);
        if (err != want_err || strcmp(part.log, want_log))
            fail_msg("cut at %zu: err %d want %d, log \"%s\" want \"%s\"", c, err, want_err,
                     part.log, want_log);
        if (!want_err)
            assert_int_equal(mid, want_mid);
    }
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    for (size_t c = 1; c < len; c++)
        cuts[c - 1] = c;
    err = feed_cut(v, s, len, max, cuts, len ? len - 1 : 0, &part, stop_at, &mid);
    free(cuts);
    if (err != want_err || strcmp(part.log, want_log))
        fail_msg("bytewise: err %d want %d, log \"%s\" want \"%s\"", err, want_err, part.log,
                 want_log);
}
#define STREAM(v, lit, log, err) check_stream(v, lit, sizeof lit - 1, 0, 0, log, err, 0)
#define BAD(v, lit, log, err, mid) check_stream(v, lit, sizeof lit - 1, 0, 0, log, err, mid)

static void test_read_311(void **state)
{
    (void)state;
    /* a session's packets, several to a frame as a server may send them */
    STREAM(MQTT_V311,
           "\x20\x02\x00\x00"                                   /* CONNACK accepted */
           "\x90\x04\x00\x01\x01\x80"                           /* SUBACK: QoS 1, refused */
           "\x30\x0a\x00\x03" "a/b" "hello"                     /* QoS 0 */
           "\x3b\x0c\x00\x03" "a/b" "\x12\x34" "~ps~x"          /* DUP, QoS 1, retain */
           "\x30\x04\x00\x02" "xy"                              /* empty payload */
           "\xd0\x00"                                           /* PINGRESP */
           "\x20\x02\x01\x05"                                   /* session present, code 5 */
           "\xe0\x00",                                          /* DISCONNECT */
           "connack 0 0;suback 1 #0 1;suback 1 #1 128 last;"
           "publish f0 q0 id0 len5 [hello];"
           "publish f11 q1 id4660 len5 [~ps~x];"
           "publish f0 q0 id0 len0 [];"
           "pingresp;connack 1 5;disconnect 0;", 0);

    /* a payload whose remaining length takes 2 bytes (200 = c8 01) */
    unsigned char big[3 + 200];
    memcpy(big, "\x30\xc8\x01\x00\x01t", 6);
    memset(big + 6, 'p', sizeof big - 6);
    char want[300];
    snprintf(want, sizeof want, "publish f0 q0 id0 len%d [%.*s];", 200 - 3, 200 - 3,
             (const char *)big + 6);
    check_stream(MQTT_V311, big, sizeof big, 0, 0, want, 0, 0);
    check_stream(MQTT_V311, big, sizeof big, 200, 0, want, 0, 0);          /* max is inclusive */
    check_stream(MQTT_V311, big, sizeof big, 199, 0, "", MQTT_E_TOO_BIG, 1);
}

static void test_read_v5(void **state)
{
    (void)state;
    BAD(MQTT_V5,
           "\x20\x09\x00\x00\x06\x22\x00\x0a\x21\x00\x14"       /* CONNACK + properties */
           "\x20\x02\x00\x87"                                   /* no property length (tolerated) */
           "\x90\x06\x00\x02\x02\x1f\x00\x01"                   /* SUBACK, a reason string prop */
           "\x32\x0d\x00\x01t\x00\x09\x03\x01\x01\x00" "~ps~"   /* QoS 1, props, payload */
           "\x30\x06\x00\x00\x03\x23\x00\x01"                   /* topic alias, empty topic */
           "\x30\x03\x00\x01t"                                  /* no property length: truncated */
           , "connack 0 0;connack 0 135;suback 2 #0 1 last;"
           "publish f2 q1 id9 len4 [~ps~];publish f0 q0 id0 len0 [];", MQTT_E_TRUNCATED, 1);
    STREAM(MQTT_V5, "\xe0\x00\xe0\x01\x8e\xe0\x03\x9c\x01\x00",
           "disconnect 0;disconnect 142;disconnect 156;", 0);
    /* a property length over 4 bytes; one longer than its packet */
    BAD(MQTT_V5, "\x30\x08\x00\x01t\xff\xff\xff\xff\x01", "", MQTT_E_LENGTH, 1);
    BAD(MQTT_V5, "\x30\x05\x00\x01t\x05\x00", "", MQTT_E_TRUNCATED, 1);
    BAD(MQTT_V5, "\x90\x04\x00\x01\x01\x00", "", MQTT_E_TRUNCATED, 1);   /* props eat the codes */
    /* 5.0 reason codes in SUBACK; 3.1.1 has only 0x80 */
    STREAM(MQTT_V5, "\x90\x05\x00\x01\x00\x87\x02", "suback 1 #0 135;suback 1 #1 2 last;", 0);
    BAD(MQTT_V311, "\x90\x03\x00\x01\x87", "", MQTT_E_CODE, 1);
    BAD(MQTT_V5, "\x90\x04\x00\x01\x00\x03", "", MQTT_E_CODE, 1);
    BAD(MQTT_V5, "\xf0\x00", "", MQTT_E_UNEXPECTED, 1);                /* AUTH */
}

static void test_read_hostile(void **state)
{
    (void)state;
    /* what only a client sends */
    BAD(MQTT_V311, "\x10\x00", "", MQTT_E_NOT_SERVER, 1);
    BAD(MQTT_V311, "\x00\x00", "", MQTT_E_NOT_SERVER, 1);
    BAD(MQTT_V311, "\x82\x00", "", MQTT_E_NOT_SERVER, 1);
    BAD(MQTT_V311, "\xa2\x00", "", MQTT_E_NOT_SERVER, 1);
    BAD(MQTT_V311, "\xc0\x00", "", MQTT_E_NOT_SERVER, 1);
    BAD(MQTT_V311, "\xf0\x00", "", MQTT_E_NOT_SERVER, 1);             /* reserved in 3.1.1 */
    /* what a subscriber at QoS <= 1 never gets */
    BAD(MQTT_V311, "\x20\x02\x00\x00\x40\x02\x00\x01", "connack 0 0;", MQTT_E_UNEXPECTED, 1);
    BAD(MQTT_V311, "\x50\x02\x00\x01", "", MQTT_E_UNEXPECTED, 1);
    BAD(MQTT_V311, "\x62\x02\x00\x01", "", MQTT_E_UNEXPECTED, 1);
    BAD(MQTT_V311, "\xb0\x02\x00\x01", "", MQTT_E_UNEXPECTED, 1);
    /* reserved flags */
    BAD(MQTT_V311, "\x21\x02\x00\x00", "", MQTT_E_FLAGS, 1);
    BAD(MQTT_V311, "\x20\x02\x02\x00", "", MQTT_E_FLAGS, 1);
    BAD(MQTT_V311, "\xd8\x00", "", MQTT_E_FLAGS, 1);
    BAD(MQTT_V311, "\x92\x03\x00\x01\x00", "", MQTT_E_FLAGS, 1);
    BAD(MQTT_V311, "\x36\x05\x00\x01t\x00\x01", "", MQTT_E_QOS3, 1);
    /* lengths */
    BAD(MQTT_V311, "\x30\xff\xff\xff\xff\x01", "", MQTT_E_LENGTH, 1);
    BAD(MQTT_V311, "\x30\xff\xff\xff\x7f", "", 0, 1);          /* max 0: the protocol's 256 MB */
    check_stream(MQTT_V311, "\x30\x81\x01", 3, 128, 0, "", MQTT_E_TOO_BIG, 1);
    BAD(MQTT_V311, "\x20\x03\x00\x00\x00", "", MQTT_E_SIZE, 1);
    BAD(MQTT_V311, "\x20\x01\x00", "", MQTT_E_SIZE, 1);
    BAD(MQTT_V5, "\x20\x01\x00", "", MQTT_E_SIZE, 1);
    BAD(MQTT_V311, "\xd0\x01\x00", "", MQTT_E_SIZE, 1);
    BAD(MQTT_V311, "\xe0\x01\x00", "", MQTT_E_SIZE, 1);
    /* fields past their packet */
    BAD(MQTT_V311, "\x30\x00", "", MQTT_E_TRUNCATED, 1);
    BAD(MQTT_V311, "\x30\x01\x00", "", MQTT_E_TRUNCATED, 1);
    BAD(MQTT_V311, "\x30\x04\x00\x03t", "", MQTT_E_TRUNCATED, 1);
    BAD(MQTT_V311, "\x30\x05\x00\x04toolong", "", MQTT_E_TRUNCATED, 1);
    BAD(MQTT_V311, "\x32\x03\x00\x01t", "", MQTT_E_TRUNCATED, 1);       /* QoS 1 without its id */
    BAD(MQTT_V311, "\x32\x04\x00\x01t\x00", "", MQTT_E_TRUNCATED, 1);
    BAD(MQTT_V311, "\x90\x02\x00\x01", "", MQTT_E_TRUNCATED, 1);        /* SUBACK without codes */
    BAD(MQTT_V311, "\x90\x01\x00", "", MQTT_E_TRUNCATED, 1);
    BAD(MQTT_V311, "\x90\x00", "", MQTT_E_TRUNCATED, 1);
    BAD(MQTT_V311, "\x30\x02\x00\x00", "", MQTT_E_EMPTY_TOPIC, 1);
    BAD(MQTT_V311, "\x32\x05\x00\x01t\x00\x00", "", MQTT_E_ZERO_ID, 1);
    BAD(MQTT_V311, "\x90\x03\x00\x00\x01", "", MQTT_E_ZERO_ID, 1);
    /* a stream that stops inside a packet: no error yet, but mid-packet */
    BAD(MQTT_V311, "\x30\x0a\x00\x03" "a/b" "hel", "publish f0 q0 id0 len5 [hel", 0, 1);
    BAD(MQTT_V311, "\x20", "", 0, 1);
    BAD(MQTT_V311, "\x30\x80", "", 0, 1);
    /* a callback stops the reader at its event, and the error stays */
    check_stream(MQTT_V311, "\xd0\x00\xd0\x00\xd0\x00", 6, 0, 2, "pingresp;pingresp;",
                 MQTT_E_STOPPED, 0);
    check_stream(MQTT_V311, "\x90\x05\x00\x01\x00\x01\x00", 7, 0, 1, "suback 1 #0 0;",
                 MQTT_E_STOPPED, 1);
    assert_string_equal(mqtt_err_name(MQTT_E_QOS3), "PUBLISH with QoS 3");
    assert_string_equal(mqtt_err_name(99), "unknown");
}

/* Random bytes, biased to packet-like ones, cut at random: the same as whole. */
static void test_read_random(void **state)
{
    (void)state;
    uint32_t seed = 12345;
    static const unsigned char heads[] = {0x20, 0x30, 0x32, 0x3a, 0x90, 0xd0, 0xe0, 0x34};
    for (int round = 0; round < 3000; round++) {
        unsigned char s[64];
        size_t len = 1 + round % sizeof s;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned v = seed >> 16;
            s[i] = v % 3 == 0 ? heads[(v >> 2) % sizeof heads] : v % 3 == 1 ? (unsigned char)(v % 8)
                                                                         : (unsigned char)(v >> 4);
        }
        uint8_t ver = round & 1 ? MQTT_V5 : MQTT_V311;
        struct rec whole, part;
        int e1 = feed_cut(ver, s, len, 40, NULL, 0, &whole, 0, NULL);
        size_t cuts[8], nc = 0, at = 0;
        while (nc < 8) {
            seed = seed * 1103515245u + 12345u;
            at += 1 + (seed >> 16) % 9;
            if (at >= len)
                break;
            cuts[nc++] = at;
        }
        int e2 = feed_cut(ver, s, len, 40, cuts, nc, &part, 0, NULL);
        assert_int_equal(e1, e2);
        assert_string_equal(whole.log, part.log);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect),
        cmocka_unit_test(test_subscribe_and_small),
        cmocka_unit_test(test_read_311),
        cmocka_unit_test(test_read_v5),
        cmocka_unit_test(test_read_hostile),
        cmocka_unit_test(test_read_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
