/* test_dialect_socketio.c: the socketio dialect (agent/dialect_socketio.c)
 * in the dialect framework, driven through conn.c's lws callback with lws
 * replaced (tests/unit/agent/dialect_fake.h).
 *
 * What must hold: nothing is written before the server's open packet; the
 * namespace connect carries the auth template expanded for the connection
 * (and the namespace); the connect ack makes it online; an event split
 * anywhere is one delivery, and one asking for an ack is answered 43<id>[]
 * after the pong owed for a ping; our clean close says 41 first; and each
 * server misbehaviour ends the attempt once with its own reason: connect_error
 * proto_refused, an event before the connect ack or a binary event proto_error
 * with the detail, a 41 or an Engine.IO close proto_close, a server silent past
 * pingInterval + pingTimeout proto_keepalive. At ASSIGN, a URL that is not
 * Engine.IO 4 on websocket and an auth that is not an object are refused. */
#include "dialect_fake.h"
#include "dialect.h"
#include "eio_wire.h"

static const struct agent_dialect *const sio_table[PS_PROTOCOL_COUNT] = {
    [PS_PROTOCOL_SOCKETIO] = &agent_dialect_socketio,
};

static const char *OPEN = "0{\"sid\":\"s1\",\"upgrades\":[],\"pingInterval\":100,"
                          "\"pingTimeout\":100,\"maxPayload\":1000000}";

static struct fixture *sio_new(const char *nsp)
{
    struct fixture *f = fixture_new(0);
    struct ps_assign *a = &f->ag.assign.a;
    a->target_protocol[0] = PS_PROTOCOL_SOCKETIO;
    snprintf(a->proto_auth, sizeof a->proto_auth, "{\"user\":\"{conn}\"}");
    snprintf(a->proto_namespace, sizeof a->proto_namespace, "%s", nsp);
    assert_int_equal(agent_dialect_alloc(&f->w, sio_table), 0);
    return f;
}

/* The upgrade, the open packet, our connect (checked), and the answer given. */
static void sio_connect(struct fixture *f, const char *connect, const char *answer)
{
    establish(f);
    assert_int_equal(writeable(f), 0);
    assert_int_equal(lw.n_frames, 0);               /* the server speaks first */
    receive1(f, OPEN);
    assert_int_equal(writeable(f), 0);
    assert_int_equal(lw.n_frames, 1);
    assert_string_equal(lw.frames[0], connect);
    receive1(f, answer);
}

static const struct ps_event *end_event(struct fixture *f, uint32_t type, uint8_t reason)
{
    finish_close(f);
    assert_int_equal(count_events(f, PS_EV_FAILED) + count_events(f, PS_EV_CLOSED), 1);
    const struct ps_event *e = event_of(f, type);
    assert_int_equal(e->val, reason);
    return e;
}

static void test_online_events_acks_goodbye(void **state)
{
    (void)state;
    struct fixture *f = sio_new("");
    sio_connect(f, "40{\"user\":\"100\"}", "40{\"sid\":\"x\"}");
    assert_int_equal(count_events(f, PS_EV_CONNECTED), 1);
    static const size_t cuts[] = {1, 3, 20};
    receive(f, "4217[\"push\",\"{\\\"id\\\":\\\"~ps.7.42.1~\\\"}\"]", cuts, 3);
    receive1(f, "2");
    assert_int_equal(count_events(f, PS_EV_MESSAGE), 1);
    assert_int_equal(event_of(f, PS_EV_MESSAGE)->val, 42);
    assert_int_equal(writeable(f), 0);               /* the pong first, then the ack */
    assert_int_equal(writeable(f), 0);
    assert_string_equal(lw.frames[lw.n_frames - 2], "3");
    assert_string_equal(lw.frames[lw.n_frames - 1], "4317[]");
    assert_false(lw.binary[lw.n_frames - 1]);
    receive1(f, "42[\"push\",\"~ps.7.43.1~\"]");     /* no ack asked: none sent */
    assert_int_equal(count_events(f, PS_EV_MESSAGE), 2);
    assert_int_equal(f->w.c.proto_pings, 1);
    assert_int_equal(f->w.c.proto_acks, 1);
    agent_conn_close(&f->w, 0, PS_REASON_CLIENT_CLOSE, 1000);
    assert_int_equal(writeable(f), 0);
    assert_string_equal(lw.frames[lw.n_frames - 1], "41");
    end_event(f, PS_EV_CLOSED, PS_REASON_CLIENT_CLOSE);
    fixture_free(f);
}

static void test_namespace(void **state)
{
    (void)state;
    struct fixture *f = sio_new("/chat");
    sio_connect(f, "40/chat,{\"user\":\"100\"}", "40/chat,{\"sid\":\"x\"}");
    assert_int_equal(count_events(f, PS_EV_CONNECTED), 1);
    receive1(f, "42/chat,3[\"push\",\"~ps.7.5.1~\"]");
    assert_int_equal(writeable(f), 0);
    assert_string_equal(lw.frames[lw.n_frames - 1], "43/chat,3[]");
    receive1(f, "42[\"push\",\"~ps.7.6.1~\"]");      /* the default namespace: not ours */
    assert_int_equal(end_event(f, PS_EV_CLOSED, PS_REASON_PROTO_ERROR)->aux, EIO_ERR_NSP);
    assert_int_equal(count_events(f, PS_EV_MESSAGE), 1);
    fixture_free(f);
}

static void test_refused(void **state)
{
    (void)state;
    struct fixture *f = sio_new("");
    sio_connect(f, "40{\"user\":\"100\"}", "44{\"message\":\"bad token\"}");
    assert_int_equal(end_event(f, PS_EV_FAILED, PS_REASON_PROTO_REFUSED)->aux, 0);
    assert_int_equal(count_events(f, PS_EV_CONNECTED), 0);
    fixture_free(f);
}

static void test_out_of_order_and_binary(void **state)
{
    (void)state;
    struct fixture *f = sio_new("");
    establish(f);
    receive1(f, OPEN);
    receive1(f, "42[\"push\",\"~ps.7.5.1~\"]");      /* before the connect ack */
    assert_int_equal(end_event(f, PS_EV_FAILED, PS_REASON_PROTO_ERROR)->aux, 100);
    fixture_free(f);

    f = sio_new("");
    establish(f);
    receive1(f, "2");                                 /* a ping before the open packet */
    assert_int_equal(end_event(f, PS_EV_FAILED, PS_REASON_PROTO_ERROR)->aux, 100);
    fixture_free(f);

    f = sio_new("");
    sio_connect(f, "40{\"user\":\"100\"}", "40{\"sid\":\"x\"}");
    receive1(f, "451-[\"push\",{\"_placeholder\":true,\"num\":0}]");
    assert_int_equal(end_event(f, PS_EV_CLOSED, PS_REASON_PROTO_ERROR)->aux, EIO_ERR_BINARY);
    fixture_free(f);

    f = sio_new("");
    establish(f);
    receive1(f, "0{\"sid\":\"a\",\"pingInterval\":0,\"pingTimeout\":1}");
    assert_int_equal(end_event(f, PS_EV_FAILED, PS_REASON_PROTO_ERROR)->aux, EIO_ERR_OPEN_RANGE);
    fixture_free(f);
}

static void test_server_closes(void **state)
{
    (void)state;
    const char *const closes[] = {"41", "1"};
    for (int i = 0; i < 2; i++) {
        struct fixture *f = sio_new("");
        sio_connect(f, "40{\"user\":\"100\"}", "40{\"sid\":\"x\"}");
        receive1(f, closes[i]);
        end_event(f, PS_EV_CLOSED, PS_REASON_PROTO_CLOSE);
        assert_int_equal(lw.n_frames, 1);             /* no goodbye to a server that left */
        fixture_free(f);
    }
}

static void test_watchdog(void **state)
{
    (void)state;
    struct fixture *f = sio_new("");
    sio_connect(f, "40{\"user\":\"100\"}", "40{\"sid\":\"x\"}");
    assert_int_equal(f->w.dl.watch_ms, 50);          /* pingTimeout / 2 */
    int64_t t0 = f->w.dl.watch_t0_us;
    agent_keepalive_step(&f->w, t0 + 50000);          /* pinged 50 ms ago at most: fine */
    assert_int_equal(f->w.conns[0].reason, 0);
    agent_keepalive_step(&f->w, t0 + 500000);         /* 500 ms > 100 + 100: silent */
    const struct ps_event *e = end_event(f, PS_EV_CLOSED, PS_REASON_PROTO_KEEPALIVE);
    assert_true(e->aux > 200);
    fixture_free(f);
}

static void test_prepare(void **state)
{
    (void)state;
    struct ps_assign *a = calloc(1, sizeof *a);
    assert_non_null(a);
    char err[PS_REASON_MAX];
    a->n_targets = a->n_target_protocol = 1;
    a->target_protocol[0] = PS_PROTOCOL_SOCKETIO;
    snprintf(a->targets[0], sizeof a->targets[0], "ws://h/socket.io/?EIO=4&transport=websocket");
    snprintf(a->proto_auth, sizeof a->proto_auth, " {\"user\":\"{conn}\"} ");
    assert_int_equal(agent_dialect_prepare(a, sio_table, err, sizeof err), 0);
    snprintf(a->proto_auth, sizeof a->proto_auth, "[\"{conn}\"]");
    assert_int_equal(agent_dialect_prepare(a, sio_table, err, sizeof err), -1);
    assert_non_null(strstr(err, "JSON object"));
    a->proto_auth[0] = '\0';
    snprintf(a->targets[0], sizeof a->targets[0], "ws://h/socket.io/?EIO=3&transport=websocket");
    assert_int_equal(agent_dialect_prepare(a, sio_table, err, sizeof err), -1);
    assert_non_null(strstr(err, "target 0: ws://h/socket.io/?EIO=3"));
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_online_events_acks_goodbye),
        cmocka_unit_test(test_namespace),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_out_of_order_and_binary),
        cmocka_unit_test(test_server_closes),
        cmocka_unit_test(test_watchdog),
        cmocka_unit_test(test_prepare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
