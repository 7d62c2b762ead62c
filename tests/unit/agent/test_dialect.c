/* test_dialect.c: the client-protocol framework (agent/dialect.c) driven
 * through conn.c's lws callback, with the fake protocol of dialect_fake.h:
 * the handshake, what arrives, and the assignment.
 *
 * What must hold: the handshake keeps the connection in flight until ready,
 * then it is online with one connected event; a refusal and a handshake
 * timeout each end the attempt with exactly one failed event naming the
 * reason and the protocol's code, and what follows a failure changes
 * nothing; a token split across pieces and messages is one delivery, and a
 * payload is held to max_message across messages each within it; the plan's
 * session steps run after the handshake, sends framed by the protocol and
 * expects matched against payloads; the dialect's subprotocol is offered when
 * the plan names none; prepare runs once per protocol and refuses a protocol
 * not built in; and an assignment without protocols allocates nothing.
 * test_dialect_life.c has the keepalive, watchdog, goodbye and failures of
 * online connections. */
#include "dialect_fake.h"

/* ---------- tests ---------- */

static void test_handshake_ok(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    handshake(f);
    assert_int_equal(f->w.conns[0].state, AGENT_CONN_OPEN);
    assert_int_equal(f->w.inflight, 0);
    assert_int_equal(f->w.n_open, 1);
    assert_int_equal(count_events(f, PS_EV_CONNECTED), 1);
    assert_int_equal(count_events(f, PS_EV_READY), 1);   /* the protocol's ready time */
    assert_int_equal(count_events(f, PS_EV_FAILED), 0);
    assert_int_equal(f->w.c.opened, 1);
    fixture_free(f);
}

static void test_handshake_refused(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    establish(f);
    writeable(f);
    receive1(f, "NO 5\nOK\n");   /* what follows a failure in the same piece changes nothing */
    assert_int_equal(f->w.conns[0].reason, PS_REASON_PROTO_REFUSED);
    finish_close(f);
    assert_int_equal(lw.close_status, 1000);
    assert_int_equal(lw.n_frames, 1);   /* no goodbye: the close was not ours */
    assert_int_equal(count_events(f, PS_EV_FAILED), 1);
    const struct ps_event *e = event_of(f, PS_EV_FAILED);
    assert_int_equal(e->val, PS_REASON_PROTO_REFUSED);
    assert_int_equal(e->aux, 5);
    assert_int_equal(count_events(f, PS_EV_CONNECTED), 0);
    assert_int_equal(f->w.inflight, 0);
    assert_int_equal(f->w.n_live, 0);
    /* lws's last word on the wsi adds nothing */
    callback(f, LWS_CALLBACK_WSI_DESTROY, NULL, 0);
    assert_int_equal(count_events(f, PS_EV_FAILED) + count_events(f, PS_EV_CLOSED), 1);
    fixture_free(f);
}

static void test_handshake_timeout(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    f->ag.assign.a.proto_timeout_ms = 1;
    establish(f);
    writeable(f);
    agent_session_tick(&f->w);   /* not yet */
    assert_int_equal(f->w.conns[0].reason, 0);
    usleep(3000);
    agent_session_tick(&f->w);
    assert_int_equal(f->w.conns[0].reason, PS_REASON_PROTO_TIMEOUT);
    agent_session_tick(&f->w);   /* once */
    receive1(f, "OK\n");         /* too late: ignored while closing */
    finish_close(f);
    assert_int_equal(lw.close_status, 1001);
    assert_int_equal(count_events(f, PS_EV_FAILED), 1);
    assert_int_equal(event_of(f, PS_EV_FAILED)->val, PS_REASON_PROTO_TIMEOUT);
    assert_int_equal(count_events(f, PS_EV_CONNECTED), 0);
    fixture_free(f);
}

static void test_payload_split(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    handshake(f);
    /* one packet over two WebSocket messages, the token cut in both */
    static const size_t cuts[] = {2, 9, 13};
    receive(f, "MSG pre~ps.7.4", cuts, 3);
    receive(f, "2.1700000000000000~post\nMSG x~ps.7.43.1~\n", (const size_t[]){1, 30}, 2);
    assert_int_equal(count_events(f, PS_EV_MESSAGE), 2);
    assert_int_equal(f->w.batch.ev[f->w.batch.n - 2].val, 42);
    assert_int_equal(f->w.batch.ev[f->w.batch.n - 1].val, 43);
    /* a token of another run is foreign, a token cut by a payload's end is none */
    receive1(f, "MSG ~ps.8.1.1~\nMSG ~ps.7.5\nMSG 0.1~\n");
    assert_int_equal(count_events(f, PS_EV_FOREIGN), 1);
    assert_int_equal(count_events(f, PS_EV_MESSAGE), 2);
    /* the payload alone is held to max_message, over messages each within it */
    f->ag.assign.a.max_message = 12;
    receive1(f, "MSG 01234567");
    assert_int_equal(f->w.conns[0].reason, 0);
    receive1(f, "89abcdef\n");
    assert_int_equal(f->w.conns[0].reason, PS_REASON_TOO_BIG);
    finish_close(f);
    assert_int_equal(lw.close_status, 1009);
    assert_int_equal(count_events(f, PS_EV_CLOSED), 1);
    fixture_free(f);
}

static void test_session_steps(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(1);
    handshake(f);
    /* ready: the plan's steps run, the send framed by the protocol */
    assert_int_equal(f->w.conns[0].state, AGENT_CONN_SESSION);
    assert_int_equal(writeable(f), 0);
    assert_int_equal(lw.n_frames, 2);
    assert_string_equal(lw.frames[1], "SAY join 100\n");
    receive1(f, "MSG not yet\n");
    assert_int_equal(f->w.conns[0].state, AGENT_CONN_SESSION);
    static const size_t cuts[] = {6};
    receive(f, "MSG a welcome b\n", cuts, 1);   /* the expect matches the payload, whole */
    assert_int_equal(f->w.conns[0].state, AGENT_CONN_OPEN);
    assert_int_equal(count_events(f, PS_EV_CONNECTED), 1);
    fixture_free(f);
}

/* The dialect's subprotocol is offered when the plan names none. */
static void test_subprotocol(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    struct ps_assign *a = &f->ag.assign.a;
    snprintf(a->targets[0], sizeof a->targets[0], "ws://127.0.0.1:1/ws?u={conn}");
    snprintf(f->ag.assign.targets[0].addr, sizeof f->ag.assign.targets[0].addr, "127.0.0.1");
    f->ag.assign.targets[0].port = 1;
    agent_conn_open(&f->w, 0);
    assert_string_equal(lw.protocol, "fk.v1");
    agent_conn_kill(&f->w, 0, PS_REASON_CLIENT_CLOSE);
    agent_conn_ended(&f->w, 0, PS_REASON_CLIENT_CLOSE, 0);
    snprintf(a->subprotocol, sizeof a->subprotocol, "mine-{conn}");
    agent_conn_open(&f->w, 0);
    assert_string_equal(lw.protocol, "mine-100");
    agent_conn_ended(&f->w, 0, PS_REASON_CLIENT_CLOSE, 0);
    a->subprotocol[0] = 0;
    a->target_protocol[0] = PS_PROTOCOL_WEBSOCKET;   /* no dialect: none, as before */
    assert_int_equal(agent_dialect_alloc(&f->w, fk_table), 0);
    agent_conn_open(&f->w, 0);
    assert_string_equal(lw.protocol, "(none)");
    agent_conn_ended(&f->w, 0, PS_REASON_CLIENT_CLOSE, 0);
    assert_int_equal(count_events(f, PS_EV_FAILED), 3);
    fixture_free(f);
}

static void test_prepare_and_alloc(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    struct ps_assign *a = &f->ag.assign.a;
    char err[PS_REASON_MAX];
    fk_prepared = 0;
    a->n_target_protocol = 2;
    a->target_protocol[1] = PS_PROTOCOL_MQTT;   /* two targets, one prepare */
    assert_int_equal(agent_dialect_prepare(a, fk_table, err, sizeof err), 0);
    assert_int_equal(fk_prepared, 1);
    a->proto_qos = 2;
    assert_int_equal(agent_dialect_prepare(a, fk_table, err, sizeof err), -1);
    assert_string_equal(err, "protocol fk: qos 2 is not for fk");
    a->proto_qos = 0;
    a->target_protocol[1] = PS_PROTOCOL_STOMP;
    assert_int_equal(agent_dialect_prepare(a, fk_table, err, sizeof err), -1);
    assert_string_equal(err, "target 1: protocol stomp is not built into this agent");
    /* websocket only: nothing allocated, nothing to sweep */
    a->n_target_protocol = 1;
    a->target_protocol[0] = PS_PROTOCOL_WEBSOCKET;
    assert_int_equal(agent_dialect_prepare(a, fk_table, err, sizeof err), 0);
    assert_int_equal(agent_dialect_alloc(&f->w, fk_table), 0);
    assert_null(f->w.dl.conn);
    assert_null(f->w.dl.state);
    assert_null(agent_dialect_of(&f->w, 0));
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_ok),
        cmocka_unit_test(test_handshake_refused),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_payload_split),
        cmocka_unit_test(test_session_steps),
        cmocka_unit_test(test_subprotocol),
        cmocka_unit_test(test_prepare_and_alloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
