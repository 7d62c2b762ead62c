/* test_stomp_wire.c: STOMP 1.2 frames (agent/stomp_wire.c) and the pending-ack
 * store (agent/stomp_acks.c).
 *
 * The reader is fed what WebSocket hands over, so what must hold is that the
 * cut does not matter: a stream of frames read whole, cut at every byte, or a
 * byte at a time yields the same events (heart-beats, but not the EOL that
 * pads a frame's end, headers, body bytes
 * between one first and one final piece, frame ends). Hostile input (unknown
 * commands, lines and frames past the limits, bad escapes, bare CRs, lengths
 * that lie) is refused with its own reason, and stays refused. The encoders'
 * bytes are checked exactly, escapes included, and a value that cannot be
 * said is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stomp_wire.h"

#define LOG_MAX 8192

/* Events as text: H heart-beat, h<hdr>=<value>, B[<body>] (first opens, final
 * closes, pieces in between), F<cmd>, E<err>. */
struct log {
    char s[LOG_MAX];
    size_t n;
    int err;
};

static void log_add(struct log *l, const char *s, size_t len)
{
    assert_true(l->n + len < LOG_MAX);
    memcpy(l->s + l->n, s, len);
    l->n += len;
    l->s[l->n] = '\0';
}

static void log_ev(struct log *l, const struct stomp_ev *ev)
{
    char t[160];
    switch (ev->type) {
    case STOMP_EV_HEARTBEAT: log_add(l, "H", 1); break;
    case STOMP_EV_HEADER:
        log_add(l, t, (size_t)snprintf(t, sizeof t, "h%u%s=", ev->hdr, ev->trunc ? "~" : ""));
        assert_int_equal(strlen(ev->data), ev->len);   /* NUL-terminated for the caller */
        log_add(l, ev->data, ev->len);
        log_add(l, ";", 1);
        break;
    case STOMP_EV_BODY:
        if (ev->first)
            log_add(l, "B[", 2);
        for (size_t i = 0; i < ev->len; i++)
            log_add(l, ev->data[i] ? ev->data + i : "0", 1);
        if (ev->final)
            log_add(l, "]", 1);
        break;
    case STOMP_EV_FRAME: log_add(l, t, (size_t)snprintf(t, sizeof t, "F%u", ev->cmd)); break;
    case STOMP_EV_ERROR:
        l->err = ev->err;
        log_add(l, t, (size_t)snprintf(t, sizeof t, "E%u", ev->err));
        break;
    }
}

/* Feeds s[0..len) to rd in one run; stops logging after an error. */
static void feed_run(struct stomp_rd *rd, struct log *l, const char *s, size_t len)
{
    struct stomp_ev ev;
    if (l->err)
        return;
    for (;;) {
        size_t n = stomp_rd_feed(rd, s, len, &ev);
        assert_true(n <= len);
        s += n;
        len -= n;
        if (ev.type == STOMP_EV_MORE) {
            assert_int_equal(len, 0);
            return;
        }
        log_ev(l, &ev);
        if (ev.type == STOMP_EV_ERROR)
            return;
    }
}

/* The stream cut into runs of `step` bytes (0 = whole). */
static void read_all(const char *s, size_t len, size_t step, uint32_t body_max, struct log *l)
{
    struct stomp_rd rd;
    stomp_rd_init(&rd, body_max);
    memset(l, 0, sizeof *l);
    if (!step)
        step = len ? len : 1;
    for (size_t at = 0; at < len; at += step)
        feed_run(&rd, l, s + at, len - at < step ? len - at : step);
}

/* The same events however the stream is cut: whole, at every byte, a byte at a time. */
static void expect_events(const char *s, size_t len, const char *want)
{
    struct log whole, l;
    read_all(s, len, 0, 1 << 20, &whole);
    assert_string_equal(whole.s, want);
    read_all(s, len, 1, 1 << 20, &l);
    assert_string_equal(l.s, want);
    for (size_t cut = 1; cut < len; cut++) {
        struct stomp_rd rd;
        stomp_rd_init(&rd, 1 << 20);
        memset(&l, 0, sizeof l);
        feed_run(&rd, &l, s, cut);
        feed_run(&rd, &l, s + cut, len - cut);
        if (strcmp(l.s, want) != 0)
            fail_msg("cut at %zu: %s\nwanted %s", cut, l.s, want);
    }
}

#define S(lit) lit, sizeof(lit) - 1

static void test_stream(void **state)
{
    (void)state;
    static const char s[] =
        "\n"
        "CONNECTED\nversion:1.2\nserver:RabbitMQ/3.10.8\nheart-beat:0,10000\nsession:x\n\n\0"
        "\r\n\n"
        "MESSAGE\r\nsubscription:1\r\ndestination:/exchange/amq.topic/u.7\r\n"
        "message-id:T_1@@session-AbC@@1\r\nredelivered:false\r\nack:T_1@@session-AbC@@1\r\n"
        "content-length:20\r\n\r\n~ps.3.17.1700000000~\0"
        "MESSAGE\nsubscription:0\nack:T_0@@s@@2\n\nhello ~ps.3.18.1~ world\0\n"
        "RECEIPT\nreceipt-id:sub-1\n\n\0"
        "ERROR\nmessage:bad thing\ncontent-length:5\n\na\0b\0c\0";
    expect_events(s, sizeof s - 1,
        "H"
        "h8=1.2;h3=0,10000;B[]F1"
        "H"
        "h7=1;h5=T_1@@session-AbC@@1;h1=T_1@@session-AbC@@1;h2=20;B[~ps.3.17.1700000000~]F3"
        "h7=0;h1=T_0@@s@@2;B[hello ~ps.3.18.1~ world]F3"
        "h6=sub-1;B[]F4"
        "h4=bad thing;h2=5;B[a0b0c]F2");
}

/* 1.2 escapes in headers, but not in CONNECTED; a repeated header: the first counts. */
static void test_escapes_and_repeats(void **state)
{
    (void)state;
    expect_events(S("MESSAGE\nack:a\\cb\\\\c\\nd\\re\nack:second\nsubscription:\\c\n\n\0"),
                  "h1=a:b\\c\nd\re;h7=:;B[]F3");
    expect_events(S("CONNECTED\nheart-beat:1\\,2\nversion:1.2\n\n\0"),
                  "h3=1\\,2;h8=1.2;B[]F1");
    /* an escaped byte in a name is a name no known header has */
    expect_events(S("MESSAGE\nac\\ck:x\nack:y\n\n\0"), "h1=y;B[]F3");
    /* names that are prefixes or extensions of known ones are not them */
    expect_events(S("MESSAGE\nac:1\nacks:2\nmessage-idx:3\nmessage:4\n\n\0"), "h4=4;B[]F3");
}

/* A value longer than the buffer is handed on truncated, flagged. */
static void test_truncated_value(void **state)
{
    (void)state;
    char s[512], want[256];
    int n = snprintf(s, sizeof s, "ERROR\nmessage:%0200d\n\n", 7);
    int w = snprintf(want, sizeof want, "h4~=%0*d;B[]F2", STOMP_VAL_MAX - 1, 0);
    (void)w;
    struct log l;
    read_all(s, (size_t)n + 1, 0, 1024, &l);
    assert_string_equal(l.s, want);
}

static void expect_refused(const char *s, size_t len, uint32_t body_max, int err)
{
    for (size_t step = 0; step <= 3; step++) {
        struct log l;
        read_all(s, len, step, body_max, &l);
        if (l.err != err)
            fail_msg("step %zu: wanted error %d (%s), got %d: %s", step, err,
                     stomp_err_name(err), l.err, l.s);
    }
}

static void test_hostile(void **state)
{
    (void)state;
    expect_refused(S("SEND\ndestination:x\n\n\0"), 64, STOMP_ERR_COMMAND);
    expect_refused(S("MESSAGEX\n\n\0"), 64, STOMP_ERR_COMMAND);
    expect_refused(S("MESSAG\n\n\0"), 64, STOMP_ERR_COMMAND);
    expect_refused(S("ERROR\0\n\n\0"), 64, STOMP_ERR_COMMAND);
    expect_refused(S("\0"), 64, STOMP_ERR_COMMAND);
    expect_refused(S("\r\r"), 64, STOMP_ERR_CR);
    expect_refused(S("MESSAGE\r\r\n"), 64, STOMP_ERR_CR);
    expect_refused(S("MESSAGE\nack:x\ry\n\n\0"), 64, STOMP_ERR_CR);
    expect_refused(S("MESSAGE\nack:x\n\r\0"), 64, STOMP_ERR_CR);
    expect_refused(S("MESSAGE\nnocolon\n\n\0"), 64, STOMP_ERR_HEADER);
    expect_refused(S("MESSAGE\n:value\n\n\0"), 64, STOMP_ERR_HEADER);
    expect_refused(S("MESSAGE\nack:a\0b\n\n\0"), 64, STOMP_ERR_HEADER);
    expect_refused(S("MESSAGE\nack:a\\tb\n\n\0"), 64, STOMP_ERR_ESCAPE);
    expect_refused(S("MESSAGE\nack:ab\\\n\n\0"), 64, STOMP_ERR_ESCAPE);
    expect_refused(S("MESSAGE\ncontent-length:12x\n\n\0"), 64, STOMP_ERR_LENGTH);
    expect_refused(S("MESSAGE\ncontent-length:\n\n\0"), 64, STOMP_ERR_LENGTH);
    expect_refused(S("MESSAGE\ncontent-length:65\n\n\0"), 64, STOMP_ERR_LENGTH);
    expect_refused(S("MESSAGE\ncontent-length:99999999999999999999\n\n\0"), 64, STOMP_ERR_LENGTH);
    expect_refused(S("MESSAGE\ncontent-length:2\n\nabc\0"), 64, STOMP_ERR_NUL);
    expect_refused(S("MESSAGE\n\n0123456789\0"), 9, STOMP_ERR_BODY);

    /* a line one byte past the limit, as a command, a name and a value */
    char *big = malloc(3 * STOMP_LINE_MAX);
    assert_non_null(big);
    memset(big, 'A', STOMP_LINE_MAX + 1);
    big[STOMP_LINE_MAX + 1] = '\n';
    expect_refused(big, STOMP_LINE_MAX + 2, 64, STOMP_ERR_COMMAND);
    int n = snprintf(big, 3 * STOMP_LINE_MAX, "MESSAGE\nx%0*d:1\n\n", STOMP_LINE_MAX, 0);
    expect_refused(big, (size_t)n + 1, 64, STOMP_ERR_LINE);
    n = snprintf(big, 3 * STOMP_LINE_MAX, "MESSAGE\nack:%0*d\n\n", STOMP_LINE_MAX - 3, 0);
    expect_refused(big, (size_t)n + 1, 64, STOMP_ERR_LINE);
    n = snprintf(big, 3 * STOMP_LINE_MAX, "MESSAGE\nack:%0*d\n\n", STOMP_LINE_MAX - 4, 0);
    struct log l;
    read_all(big, (size_t)n + 1, 7, 64, &l);
    assert_int_equal(l.err, 0);               /* exactly at the limit: read */
    free(big);

    /* one header line past the count limit */
    char hs[16 * (STOMP_HDRS_MAX + 2)];
    size_t at = (size_t)snprintf(hs, sizeof hs, "MESSAGE\n");
    for (int k = 0; k <= STOMP_HDRS_MAX; k++)
        at += (size_t)snprintf(hs + at, sizeof hs - at, "x%d:y\n", k);
    expect_refused(hs, at, 64, STOMP_ERR_HEADERS);
    read_all(hs, at - 6, 0, 64, &l);          /* STOMP_HDRS_MAX lines: read */
    assert_int_equal(l.err, 0);

    /* refused once, refused for good: a valid frame after it is not read */
    struct stomp_rd rd;
    struct stomp_ev ev;
    stomp_rd_init(&rd, 64);
    memset(&l, 0, sizeof l);
    feed_run(&rd, &l, S("BOGUS\n"));
    assert_int_equal(l.err, STOMP_ERR_COMMAND);
    assert_int_equal(stomp_rd_feed(&rd, S("RECEIPT\n\n\0"), &ev), 0);
    assert_int_equal(ev.type, STOMP_EV_ERROR);
    assert_string_equal(stomp_err_name(STOMP_ERR_COMMAND), "unknown server command");
    assert_string_equal(stomp_err_name(250), "unknown");
}

static void test_heart_beat(void **state)
{
    (void)state;
    uint32_t sx, sy, send, expect;
    assert_int_equal(stomp_parse_heart_beat("0,10000", &sx, &sy), 0);
    assert_int_equal(sx, 0);
    assert_int_equal(sy, 10000);
    assert_int_equal(stomp_parse_heart_beat("4294967295,1", &sx, &sy), 0);
    assert_int_equal(sx, UINT32_MAX);
    static const char *const bad[] = {"", ",", "1,", ",1", "1", "1,2,", "1;2", "a,1", "1,2 ",
                                      "-1,2", "4294967296,0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(stomp_parse_heart_beat(bad[i], &sx, &sy), -1);

    /* cx, cy (ours), sx, sy (the server's) -> send every, expect every */
    static const uint32_t t[][6] = {
        {10000, 10000, 0, 0, 0, 0},
        {10000, 5000, 2000, 20000, 20000, 5000},
        {4000, 0, 1000, 1000, 4000, 0},
        {0, 3000, 9000, 1000, 0, 9000},
        {500, 500, 500, 500, 500, 500},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        stomp_hb_negotiate(t[i][0], t[i][1], t[i][2], t[i][3], &send, &expect);
        assert_int_equal(send, t[i][4]);
        assert_int_equal(expect, t[i][5]);
    }
}

static void expect_frame(int n, const char *out, const char *want, size_t want_len)
{
    assert_int_equal(n, (int)want_len);
    assert_memory_equal(out, want, want_len);
}

static void test_encoders(void **state)
{
    (void)state;
    char out[512];
    int n = stomp_enc_connect(out, sizeof out, "/", "guest", "p:w", 10000, 5000);
    expect_frame(n, out, S("CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:p:w\n"
                           "heart-beat:10000,5000\n\n\0"));
    n = stomp_enc_connect(out, sizeof out, "", "", NULL, 0, 0);
    expect_frame(n, out, S("CONNECT\naccept-version:1.2\nheart-beat:0,0\n\n\0"));
    assert_int_equal(stomp_enc_connect(out, sizeof out, "h", "a\nb", "", 0, 0), -1);
    assert_int_equal(stomp_enc_connect(out, sizeof out, "h", "a", "b\rc", 0, 0), -1);
    n = stomp_enc_subscribe(out, sizeof out, 3, "/exchange/amq.topic/a:b\\c", "client", "s-3");
    expect_frame(n, out, S("SUBSCRIBE\nid:3\ndestination:/exchange/amq.topic/a\\cb\\\\c\n"
                           "ack:client\nreceipt:s-3\n\n\0"));
    n = stomp_enc_subscribe(out, sizeof out, 0, "/topic/x\ny", NULL, NULL);
    expect_frame(n, out, S("SUBSCRIBE\nid:0\ndestination:/topic/x\\ny\n\n\0"));
    n = stomp_enc_ack(out, sizeof out, "T_1@@s:1\r", 9);
    expect_frame(n, out, S("ACK\nid:T_1@@s\\c1\\r\n\n\0"));
    assert_int_equal(stomp_enc_ack(out, sizeof out, "a\0b", 3), -1);
    n = stomp_enc_disconnect(out, sizeof out, "bye");
    expect_frame(n, out, S("DISCONNECT\nreceipt:bye\n\n\0"));

    /* a frame that does not fit by one byte is refused, never cut */
    n = stomp_enc_disconnect(out, sizeof out, "bye");
    assert_int_equal(stomp_enc_disconnect(out, (size_t)n - 1, "bye"), -1);
    n = stomp_enc_ack(out, sizeof out, "abc", 3);
    for (int cap = 0; cap < n; cap++)
        assert_int_equal(stomp_enc_ack(out, (size_t)cap, "abc", 3), -1);
}

/* Reads ACK frames back: the ids, ';'-separated. */
static void ack_ids(const char *s, size_t len, char *ids, size_t cap)
{
    size_t n = 0;
    while (len) {
        assert_memory_equal(s, "ACK\nid:", 7);
        const char *end = memchr(s + 7, '\n', len - 7);
        assert_non_null(end);
        for (const char *c = s + 7; c < end; c++)
            ids[n++] = *c;
        ids[n++] = ';';
        assert_true(n < cap);
        assert_memory_equal(end, "\n\n\0", 3);
        len -= (size_t)(end + 3 - s);
        s = end + 3;
    }
    ids[n] = '\0';
}

static void test_acks(void **state)
{
    (void)state;
    struct stomp_acks q;
    char out[4096], ids[4096], id[64], want[4096];
    size_t wn = 0;
    memset(&q, 0, sizeof q);
    /* RabbitMQ-like ids share a long prefix: many fit in the store */
    int k;
    for (k = 1;; k++) {
        int n = snprintf(id, sizeof id, "T_1@@session-Zm9vYmFyYmF6cXV1eA@@%d", k);
        if (stomp_acks_push(&q, (uint8_t)(k % 2), id, (size_t)n, 0) < 0)
            break;
        wn += (size_t)snprintf(want + wn, sizeof want - wn, "%s;", id);
    }
    assert_true(k > 12);
    int w = stomp_acks_write(&q, out, sizeof out);
    ack_ids(out, (size_t)w, ids, sizeof ids);
    assert_string_equal(ids, want);
    assert_int_equal(q.n, 0);
    assert_int_equal(stomp_acks_write(&q, out, sizeof out), 0);

    /* written a few at a time, in order, with nothing lost or repeated */
    memset(&q, 0, sizeof q);
    wn = 0;
    for (k = 1; k <= 10; k++) {
        int n = snprintf(id, sizeof id, "ID-host-1-%d", k * 7);
        assert_int_equal(stomp_acks_push(&q, 0, id, (size_t)n, 0), 0);
        wn += (size_t)snprintf(want + wn, sizeof want - wn, "%s;", id);
    }
    size_t got = 0;
    ids[0] = '\0';
    while (q.n) {
        char part[512];
        w = stomp_acks_write(&q, out, 50);    /* room for two frames */
        assert_true(w > 0);
        ack_ids(out, (size_t)w, part, sizeof part);
        got += (size_t)snprintf(ids + got, sizeof ids - got, "%s", part);
        /* a new id after a partial write still shares against the right one */
        if (q.n == 6) {
            assert_int_equal(stomp_acks_push(&q, 0, "ID-host-1-99", 12, 0), 0);
            wn += (size_t)snprintf(want + wn, sizeof want - wn, "ID-host-1-99;");
        }
    }
    assert_string_equal(ids, want);

    /* client mode: a newer id of the same subscription replaces those at the tail */
    memset(&q, 0, sizeof q);
    assert_int_equal(stomp_acks_push(&q, 1, "a1", 2, 1), 0);
    assert_int_equal(stomp_acks_push(&q, 2, "b1", 2, 1), 0);
    assert_int_equal(stomp_acks_push(&q, 2, "b2", 2, 1), 0);
    assert_int_equal(stomp_acks_push(&q, 2, "b3", 2, 1), 0);
    w = stomp_acks_write(&q, out, sizeof out);
    ack_ids(out, (size_t)w, ids, sizeof ids);
    assert_string_equal(ids, "a1;b3;");

    /* full: refused, what is in stays intact; an id too long for the store */
    memset(&q, 0, sizeof q);
    char longid[STOMP_VAL_MAX];
    memset(longid, 'x', sizeof longid);
    assert_int_equal(stomp_acks_push(&q, 0, longid, STOMP_ACK_ID_MAX + 1, 0), -1);
    assert_int_equal(stomp_acks_push(&q, 0, longid, STOMP_ACK_ID_MAX, 0), 0);
    assert_int_equal(stomp_acks_push(&q, 0, "y", 1, 0), -1);
    assert_int_equal(q.n, 1);
    w = stomp_acks_write(&q, out, sizeof out);
    assert_int_equal(w, 7 + STOMP_ACK_ID_MAX + 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_escapes_and_repeats),
        cmocka_unit_test(test_truncated_value),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_heart_beat),
        cmocka_unit_test(test_encoders),
        cmocka_unit_test(test_acks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
