/* test_dialect_life.c: an online connection speaking a client protocol
 * (agent/dialect.c), with the fake protocol of dialect_fake.h.
 *
 * What must hold: the keepalive sweep sends the protocol's keepalive at its
 * interval, an answer records the round trip and a missing one closes with
 * proto_keepalive (an hb_missed event); the watchdog at the pace the dialect
 * asked fails a silent server; our clean close writes the goodbye before the
 * Close frame; a malformed byte mid-message ends the connection with one
 * closed event (proto_error, the protocol's detail) and nothing after it is
 * read; a protocol close names its code; and the duplicates, protocol acks
 * and server pings are counted into the worker's stats, one frame per
 * writeable callback. */
#include "dialect_fake.h"

static void test_keepalive(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    struct ps_assign *a = &f->ag.assign.a;
    a->proto_keepalive_ms = 1000;
    a->proto_timeout_ms = 1;
    handshake(f);
    int64_t t0 = ps_time_mono_us();
    f->w.sweep_t0_us = t0;
    assert_true(agent_keepalive_next(&f->w) <= t0 + 1000000);
    agent_keepalive_step(&f->w, t0 + 1000000);   /* due: sent, answered */
    assert_int_equal(writeable(f), 0);
    assert_string_equal(lw.frames[lw.n_frames - 1], "PING\n");
    assert_int_equal(f->w.c.hb_sent, 1);
    receive1(f, "PONG\n");
    assert_int_equal(f->w.cur.hb_rtt.count, 1);
    agent_keepalive_step(&f->w, t0 + 2000000);   /* sent, never answered */
    assert_int_equal(writeable(f), 0);
    assert_int_equal(f->w.c.hb_sent, 2);
    usleep(3000);
    agent_keepalive_step(&f->w, t0 + 2100000);   /* the check cursor, past the deadline */
    assert_int_equal(f->w.conns[0].reason, PS_REASON_PROTO_KEEPALIVE);
    assert_int_equal(f->w.c.hb_missed, 1);
    assert_int_equal(count_events(f, PS_EV_HB_MISSED), 1);
    finish_close(f);
    assert_int_equal(count_events(f, PS_EV_CLOSED), 1);
    assert_int_equal(event_of(f, PS_EV_CLOSED)->val, PS_REASON_PROTO_KEEPALIVE);
    assert_int_equal(f->w.cur.hb_rtt.count, 1);
    fixture_free(f);
}

static void test_watch(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    fk_pace = 50;
    handshake(f);   /* its OK asks for a 50 ms pace */
    assert_int_equal(f->w.dl.watch_ms, 50);
    int64_t t0 = f->w.dl.watch_t0_us;
    assert_true(agent_keepalive_next(&f->w) <= t0 + 50000);
    agent_keepalive_step(&f->w, t0 + 50000);     /* heard from just now: fine */
    assert_int_equal(f->w.conns[0].reason, 0);
    agent_keepalive_step(&f->w, t0 + 500000);    /* silent for 0.5 s: fails */
    assert_int_equal(f->w.conns[0].reason, PS_REASON_PROTO_KEEPALIVE);
    finish_close(f);
    assert_int_equal(count_events(f, PS_EV_CLOSED), 1);
    fixture_free(f);
}

static void test_goodbye_on_stop(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    handshake(f);
    agent_conn_close(&f->w, 0, PS_REASON_CLIENT_CLOSE, 1000);
    assert_int_equal(writeable(f), 0);   /* the goodbye, then the Close */
    assert_string_equal(lw.frames[lw.n_frames - 1], "QUIT\n");
    finish_close(f);
    assert_int_equal(lw.close_status, 1000);
    assert_string_equal(lw.frames[lw.n_frames - 1], "QUIT\n");
    assert_int_equal(count_events(f, PS_EV_CLOSED), 1);
    assert_int_equal(event_of(f, PS_EV_CLOSED)->val, PS_REASON_CLIENT_CLOSE);
    assert_int_equal(event_of(f, PS_EV_CLOSED)->aux, 1000);
    fixture_free(f);
}

static void test_fail_mid_message(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    handshake(f);
    static const size_t cuts[] = {11, 12};
    receive(f, "MSG ~ps.7.4\0012.1~\n", cuts, 2);   /* the bad byte cuts the token */
    assert_int_equal(f->w.conns[0].reason, PS_REASON_PROTO_ERROR);
    receive1(f, "MSG ~ps.7.9.1~\n");               /* nothing more is read */
    finish_close(f);
    assert_int_equal(lw.close_status, 1002);
    assert_int_equal(lw.n_frames, 1);               /* no goodbye after a failure */
    assert_int_equal(count_events(f, PS_EV_MESSAGE), 0);
    assert_int_equal(count_events(f, PS_EV_CLOSED), 1);
    const struct ps_event *e = event_of(f, PS_EV_CLOSED);
    assert_int_equal(e->val, PS_REASON_PROTO_ERROR);
    assert_int_equal(e->aux, 2);
    fixture_free(f);
}

static void test_protocol_close_and_counters(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    handshake(f);
    receive1(f, "DUP ~ps.7.3.1~\nPING\n");
    assert_int_equal(count_events(f, PS_EV_MESSAGE), 1);
    assert_int_equal(writeable(f), 0);   /* one frame per callback: the ack, then the pong */
    assert_int_equal(writeable(f), 0);
    assert_string_equal(lw.frames[lw.n_frames - 2], "A\n");
    assert_true(lw.binary[lw.n_frames - 2]);
    assert_string_equal(lw.frames[lw.n_frames - 1], "PONG\n");
    assert_int_equal(f->w.c.proto_duplicates, 1);
    assert_int_equal(f->w.c.proto_acks, 1);
    assert_int_equal(f->w.c.proto_pings, 1);
    receive1(f, "BYE 4\n");
    finish_close(f);
    assert_int_equal(count_events(f, PS_EV_CLOSED), 1);
    assert_int_equal(event_of(f, PS_EV_CLOSED)->val, PS_REASON_PROTO_CLOSE);
    assert_int_equal(event_of(f, PS_EV_CLOSED)->aux, 4);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_watch),
        cmocka_unit_test(test_goodbye_on_stop),
        cmocka_unit_test(test_fail_mid_message),
        cmocka_unit_test(test_protocol_close_and_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
