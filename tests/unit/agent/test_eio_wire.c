/* test_eio_wire.c: the Engine.IO / Socket.IO reader and writers (agent/eio_wire.c).
 *
 * What must hold: a message reads the same whatever its split into pieces
 * (lws gives 128-byte pieces, so a header or an open packet is cut
 * anywhere); an event's data reaches the caller byte for byte, once, from its
 * '[' on; the open packet's numbers are kept; and everything a server may
 * not send (bad types, binary packets, another namespace, a namespace with
 * no comma, ack ids past 2^32-1, truncated or absurd open packets) is refused
 * with its own reason, the reader usable again at the next message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eio_wire.h"

struct result {
    int err;
    struct eio_rx_out last;      /* the final piece's */
    char data[512];              /* event data, concatenated */
    size_t n_data;
    int n_first;                 /* pieces flagged data_first */
};

/* Reads msg as one message cut into pieces of `step` bytes (0 = whole). */
static struct result feed_step(struct eio_rx *r, const char *nsp, const char *msg, size_t len,
                               size_t step, int binary)
{
    struct result res = { 0 };
    size_t at = 0;
    if (step == 0)
        step = len ? len : 1;
    do {
        size_t n = len - at < step ? len - at : step;
        struct eio_rx_out out;
        int final = at + n == len;
        res.err = eio_rx_piece(r, nsp, (const unsigned char *)msg + at, n, at == 0, final, binary,
                               &out);
        if (res.err)
            return res;
        if (out.len) {
            assert_true(res.n_data + out.len < sizeof res.data);
            memcpy(res.data + res.n_data, out.data, out.len);
            res.n_data += out.len;
        }
        res.n_first += out.data_first;
        if (final)
            res.last = out;
        at += n;
    } while (at < len);
    res.data[res.n_data] = '\0';
    return res;
}

static struct result feed(struct eio_rx *r, const char *nsp, const char *msg)
{
    return feed_step(r, nsp, msg, strlen(msg), 0, 0);
}

/* The error of msg read whole and in every split into 1..len-byte pieces: all the same. */
static int err_of(const char *nsp, const char *msg)
{
    struct eio_rx r = { 0 };
    size_t len = strlen(msg);
    int err = feed(&r, nsp, msg).err;
    for (size_t step = 1; step < len; step++) {
        struct eio_rx r2 = { 0 };
        assert_int_equal(feed_step(&r2, nsp, msg, len, step, 0).err, err);
    }
    return err;
}

static const char *OPEN =
    "0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[],\"pingInterval\":25000,"
    "\"pingTimeout\":20000,\"maxPayload\":1000000}";

/* msg read in every split into 1..len-byte pieces: each reads like the whole
 * (no error, the kind, done, the same data, flagged first once); returns the
 * whole read, with its reader's state in *r. */
static struct result every_split(struct eio_rx *r, const char *msg, int kind)
{
    size_t len = strlen(msg);
    *r = (struct eio_rx){ 0 };
    struct result whole = feed(r, "/", msg);
    for (size_t step = 1; step < len; step++) {
        struct eio_rx r2 = { 0 };
        struct result res = feed_step(&r2, "/", msg, len, step, 0);
        assert_int_equal(res.err, EIO_OK);
        assert_int_equal(res.last.kind, kind);
        assert_true(res.last.done);
        assert_string_equal(res.data, whole.data);
        assert_int_equal(res.n_first, whole.n_first);
        assert_memory_equal(&r2, r, sizeof r2);
    }
    return whole;
}

static void test_open_every_split(void **state)
{
    (void)state;
    struct eio_rx r;
    struct result res = every_split(&r, OPEN, EIO_K_OPEN);
    assert_int_equal(res.err, EIO_OK);
    assert_int_equal(res.n_data, 0);
    assert_int_equal(r.ping_interval_ms, 25000);
    assert_int_equal(r.ping_timeout_ms, 20000);
    assert_int_equal(r.max_payload, 1000000);
    /* other keys skipped whatever their values; keys in any order, whitespace */
    res = feed(&r, "/", "0 { \"upgrades\" : [\"websocket\", {\"a\":\"}]\\\"\"}],"
                             "\"pingTimeout\": 7 , \"x\\\"sid\":true, \"n\":-1.5e3, \"z\":null,"
                             "\"sid\":\"a\\\"b\", \"pingInterval\":1} ");
    assert_int_equal(res.err, EIO_OK);
    assert_int_equal(r.ping_interval_ms, 1);
    assert_int_equal(r.ping_timeout_ms, 7);
    assert_int_equal(r.max_payload, 0);   /* not said */
}

static void test_open_hostile(void **state)
{
    (void)state;
    /* truncated JSON, at several places */
    assert_int_equal(err_of("/", "0"), EIO_ERR_OPEN_JSON);
    assert_int_equal(err_of("/", "0{\"sid\":\"a\",\"pingInterval\":25000,\"pingTimeout\":20"),
                     EIO_ERR_OPEN_JSON);
    assert_int_equal(err_of("/", "0{\"sid\":\"a\",\"pingInterval\":1,\"pingTimeout\":1,"),
                     EIO_ERR_OPEN_JSON);
    assert_int_equal(err_of("/", "0{\"sid\":\"a"), EIO_ERR_OPEN_JSON);
    assert_int_equal(err_of("/", "0{\"sid\":\"a\",\"u\":[[[\"]\"]]"), EIO_ERR_OPEN_JSON);
    assert_int_equal(err_of("/", "0[1]"), EIO_ERR_OPEN_JSON);
    assert_int_equal(err_of("/", "0{\"sid\":\"a\",\"pingInterval\":1,\"pingTimeout\":1}x"),
                     EIO_ERR_OPEN_JSON);
    assert_int_equal(err_of("/", "0{\"sid\" \"a\"}"), EIO_ERR_OPEN_JSON);
    /* fields missing or of the wrong kind */
    assert_int_equal(err_of("/", "0{}"), EIO_ERR_OPEN_FIELD);
    assert_int_equal(err_of("/", "0{\"sid\":\"a\",\"pingInterval\":25000}"), EIO_ERR_OPEN_FIELD);
    assert_int_equal(err_of("/", "0{\"sid\":1,\"pingInterval\":1,\"pingTimeout\":1}"),
                     EIO_ERR_OPEN_FIELD);
    assert_int_equal(err_of("/", "0{\"sid\":\"a\",\"pingInterval\":\"25000\",\"pingTimeout\":1}"),
                     EIO_ERR_OPEN_FIELD);
    assert_int_equal(err_of("/", "0{\"sid\":\"a\",\"pingInterval\":-1,\"pingTimeout\":1}"),
                     EIO_ERR_OPEN_FIELD);
    /* absurd numbers */
    assert_int_equal(err_of("/", "0{\"sid\":\"a\",\"pingInterval\":0,\"pingTimeout\":1}"),
                     EIO_ERR_OPEN_RANGE);
    assert_int_equal(err_of("/", "0{\"sid\":\"a\",\"pingInterval\":3600001,\"pingTimeout\":1}"),
                     EIO_ERR_OPEN_RANGE);
    assert_int_equal(err_of("/", "0{\"sid\":\"a\",\"pingInterval\":99999999999999999999999,"
                                 "\"pingTimeout\":1}"), EIO_ERR_OPEN_RANGE);
    assert_int_equal(err_of("/", "0{\"sid\":\"a\",\"pingInterval\":1,\"pingTimeout\":0}"),
                     EIO_ERR_OPEN_RANGE);
    assert_int_equal(err_of("/", "0{\"sid\":\"a\",\"pingInterval\":1,\"pingTimeout\":1,"
                                 "\"maxPayload\":0}"), EIO_ERR_OPEN_RANGE);
    assert_int_equal(err_of("/", "0{\"sid\":\"a\",\"pingInterval\":3600000,\"pingTimeout\":1}"),
                     EIO_OK);
    /* nesting deeper than the scanner counts */
    char deep[600] = "0{\"a\":";
    for (int i = 0; i < 300; i++)
        strcat(deep, "[");
    assert_int_equal(err_of("/", deep), EIO_ERR_OPEN_JSON);
}

static void test_engine_types(void **state)
{
    (void)state;
    struct eio_rx r = { 0 };
    assert_int_equal(feed(&r, "/", "2").last.kind, EIO_K_PING);
    assert_int_equal(feed(&r, "/", "2probe").last.kind, EIO_K_PING);
    assert_int_equal(feed(&r, "/", "3").last.kind, EIO_K_PONG);
    assert_int_equal(feed(&r, "/", "1").last.kind, EIO_K_CLOSE);
    assert_int_equal(feed(&r, "/", "6").last.kind, EIO_K_NOOP);
    assert_int_equal(err_of("/", "5"), EIO_ERR_TYPE);
    assert_int_equal(err_of("/", "7"), EIO_ERR_TYPE);
    assert_int_equal(err_of("/", "x2"), EIO_ERR_TYPE);
    assert_int_equal(err_of("/", "\xff"), EIO_ERR_TYPE);
    assert_int_equal(err_of("/", ""), EIO_ERR_EMPTY);
    assert_int_equal(err_of("/", "4"), EIO_ERR_SIO_EMPTY);
    assert_int_equal(err_of("/", "47"), EIO_ERR_SIO_TYPE);
    assert_int_equal(err_of("/", "4a"), EIO_ERR_SIO_TYPE);
    assert_int_equal(err_of("/", "451-[\"push\",{\"_placeholder\":true,\"num\":0}]"), EIO_ERR_BINARY);
    assert_int_equal(err_of("/", "461-0[{\"_placeholder\":true,\"num\":0}]"), EIO_ERR_BINARY);
    /* a binary message is an attachment: refused as well */
    assert_int_equal(feed_step(&r, "/", "42[\"a\"]", 7, 0, 1).err, EIO_ERR_BINARY);
    /* after a refusal the next message reads normally */
    assert_int_equal(feed(&r, "/", "2").last.kind, EIO_K_PING);
}

static void test_event_data_every_split(void **state)
{
    (void)state;
    const char *msg = "42[\"push\",\"{\\\"id\\\":\\\"~ps.7.4242.1700000000123456~\\\"}\"]";
    struct eio_rx r;
    struct result res = every_split(&r, msg, EIO_K_EVENT);
    assert_int_equal(res.err, EIO_OK);
    assert_false(res.last.has_ack);
    assert_string_equal(res.data, msg + 2);
    assert_int_equal(res.n_first, 1);
    /* with an ack id, and in a namespace */
    res = feed(&r, "/", "4217[\"push\",\"x\"]");
    assert_int_equal(res.err, EIO_OK);
    assert_true(res.last.has_ack);
    assert_int_equal(res.last.ack_id, 17);
    assert_string_equal(res.data, "[\"push\",\"x\"]");
    res = feed(&r, "/chat", "42/chat,4294967295[\"push\"] ");
    assert_int_equal(res.err, EIO_OK);
    assert_int_equal(res.last.ack_id, 4294967295u);
    assert_string_equal(res.data, "[\"push\"] ");
    res = feed(&r, "/", "42/,[\"a\"]");     /* the default namespace said out loud */
    assert_int_equal(res.err, EIO_OK);
}

static void test_event_hostile(void **state)
{
    (void)state;
    assert_int_equal(err_of("/", "424294967296[\"push\"]"), EIO_ERR_ACK_ID);
    assert_int_equal(err_of("/", "4299999999999999999999999999[\"push\"]"), EIO_ERR_ACK_ID);
    assert_int_equal(err_of("/", "42"), EIO_ERR_EVENT);
    assert_int_equal(err_of("/", "4212"), EIO_ERR_EVENT);
    assert_int_equal(err_of("/", "42{\"a\":1}"), EIO_ERR_EVENT);
    assert_int_equal(err_of("/", "42[\"a\""), EIO_ERR_EVENT);
    assert_int_equal(err_of("/", "42\"a\"]"), EIO_ERR_EVENT);
    /* namespaces */
    assert_int_equal(err_of("/chat", "42[\"a\"]"), EIO_ERR_NSP);
    assert_int_equal(err_of("/chat", "42/chatx,[\"a\"]"), EIO_ERR_NSP);
    assert_int_equal(err_of("/chat", "42/cha,[\"a\"]"), EIO_ERR_NSP);
    assert_int_equal(err_of("/", "42/chat,[\"a\"]"), EIO_ERR_NSP);
    assert_int_equal(err_of("/chat", "42/chat[\"a\"]"), EIO_ERR_NSP_COMMA);
    /* a NUL in the packet is not the end of the namespace connected (found by fuzz_eio) */
    assert_int_equal(feed_step(&(struct eio_rx){ 0 }, "/chat", "42/chat\0\0\0,[\"a\"]", 14, 0, 0).err,
                     EIO_ERR_NSP);
    assert_int_equal(err_of("/chat", "42/cha"), EIO_ERR_NSP_COMMA);
    assert_int_equal(err_of("/", "41/x"), EIO_ERR_NSP_COMMA);
    assert_int_equal(err_of("/chat", "41"), EIO_ERR_NSP);
    assert_int_equal(err_of("/chat", "41/chat,"), EIO_OK);
    /* acks without an id */
    assert_int_equal(err_of("/", "43[]"), EIO_ERR_ACK_ID);
    assert_int_equal(err_of("/", "43"), EIO_ERR_ACK_ID);
}

static void test_socketio_types(void **state)
{
    (void)state;
    struct eio_rx r = { 0 };
    struct result res = feed(&r, "/", "40{\"sid\":\"wZX3oN0bSVIhsaknAAAI\"}");
    assert_int_equal(res.err, EIO_OK);
    assert_int_equal(res.last.kind, EIO_K_CONNECT);
    assert_int_equal(res.n_data, 0);
    assert_int_equal(feed(&r, "/admin", "40/admin,{\"sid\":\"x\"}").last.kind, EIO_K_CONNECT);
    assert_int_equal(feed(&r, "/", "44{\"message\":\"refused\"}").last.kind, EIO_K_CONNECT_ERROR);
    assert_int_equal(feed(&r, "/", "41").last.kind, EIO_K_DISCONNECT);
    res = feed(&r, "/", "4312[\"ok\"]");
    assert_int_equal(res.last.kind, EIO_K_ACK);
    assert_int_equal(res.last.ack_id, 12);
    assert_int_equal(res.n_data, 0);         /* an ack's data is not a push */
    assert_int_equal(feed(&r, "/", "431").last.kind, EIO_K_ACK);
}

static void test_writers(void **state)
{
    (void)state;
    char b[64];
    assert_int_equal(eio_put_connect(b, sizeof b, "/", ""), 2);
    assert_string_equal(b, "40");
    assert_int_equal(eio_put_connect(b, sizeof b, "/chat", "{\"user\":\"7\"}"), 20);
    assert_string_equal(b, "40/chat,{\"user\":\"7\"}");
    assert_int_equal(eio_put_ack(b, sizeof b, "/", 4294967295u), 14);
    assert_string_equal(b, "434294967295[]");
    assert_int_equal(eio_put_ack(b, sizeof b, "/a", 0), 8);
    assert_string_equal(b, "43/a,0[]");
    assert_int_equal(eio_put_disconnect(b, sizeof b, "/"), 2);
    assert_string_equal(b, "41");
    assert_int_equal(eio_put_disconnect(b, sizeof b, "/a"), 5);
    assert_int_equal(eio_put_pong(b, sizeof b), 1);
    assert_string_equal(b, "3");
    /* what does not fit is refused, never cut */
    assert_int_equal(eio_put_connect(b, 20, "/chat", "{\"user\":\"7\"}"), -1);
    assert_int_equal(eio_put_connect(b, 21, "/chat", "{\"user\":\"7\"}"), 20);
    assert_int_equal(eio_put_ack(b, 4, "/", 1), -1);
    /* what the writers make, the reader takes */
    struct eio_rx r = { 0 };
    eio_put_ack(b, sizeof b, "/a", 99);
    struct result res = feed(&r, "/a", b);
    assert_int_equal(res.err, EIO_OK);
    assert_int_equal(res.last.ack_id, 99);
    assert_string_equal(eio_err_name(EIO_ERR_NSP_COMMA), "namespace without ','");
    assert_string_equal(eio_err_name(-1), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_every_split),
        cmocka_unit_test(test_open_hostile),
        cmocka_unit_test(test_engine_types),
        cmocka_unit_test(test_event_data_every_split),
        cmocka_unit_test(test_event_hostile),
        cmocka_unit_test(test_socketio_types),
        cmocka_unit_test(test_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
