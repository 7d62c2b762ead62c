/* test_rx_tokens.c: push tokens found in received messages the way the agent
 * receives them (conn.c's agent_conn_rx, fed the pieces lws would hand it).
 *
 * lws gives a message in 128-byte pieces, so a token is routinely cut in two;
 * the matcher's state lives in the connection's slot. What must hold: a token
 * split at any byte, or fed a byte at a time, is one delivery event naming its
 * message and run; a token of another run is a "foreign" event, never a
 * delivery; the matcher restarts with each message, so halves of a token in
 * two messages match nothing; tokens in binary messages count as well; and
 * the expected heartbeat reply, even in pieces, answers the heartbeat instead
 * of being scanned. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent.h"

#define RUN 7

struct fixture {
    struct agent ag;
    struct agent_worker w;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->ag.n_workers = 1;
    f->ag.assign.a.run_id = RUN;
    f->ag.assign.a.conn_first = 100;
    agent_worker_init(&f->w, &f->ag, 0);
    f->w.n_conns = 2;
    f->w.conns = calloc(2, sizeof *f->w.conns);
    if (!f->w.conns)
        return -1;
    f->w.conns[0].state = f->w.conns[1].state = AGENT_CONN_OPEN;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    agent_worker_close(&f->w);
    free(f);
    return 0;
}

/* Feeds msg to slot as one message cut at the given offsets (ascending). */
static void feed(struct fixture *f, uint32_t slot, const char *msg, int binary,
                 const size_t *cuts, size_t n_cuts)
{
    size_t len = strlen(msg), at = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : len;
        struct agent_conn_piece p = {
            .in = (const unsigned char *)msg + at, .len = end - at, .remaining = 0,
            .first = (uint8_t)(i == 0), .final = (uint8_t)(i == n_cuts), .binary = (uint8_t)binary,
        };
        agent_conn_rx(&f->w, slot, &p);
        at = end;
    }
}

static void clear_events(struct fixture *f)
{
    f->w.batch.n = 0;
    memset(&f->w.c, 0, sizeof f->w.c);
}

static void assert_event(const struct ps_event *e, uint32_t conn, uint32_t type, uint64_t val,
                         uint32_t aux)
{
    assert_int_equal(e->conn, conn);
    assert_int_equal(e->type, type);
    assert_int_equal(e->val, val);
    assert_int_equal(e->aux, aux);
}

static void test_split_at_every_byte(void **state)
{
    struct fixture *f = *state;
    const char *msg = "{\"type\":\"push\",\"uid\":5,\"data\":\"{\\\"id\\\":\\\"~ps.7.4242.1700000000123456~\\\"}\"}";
    size_t len = strlen(msg);
    for (size_t cut = 0; cut <= len; cut++) {
        clear_events(f);
        feed(f, 1, msg, 0, &cut, 1);
        assert_int_equal(f->w.batch.n, 1);
        assert_event(&f->w.batch.ev[0], 101, PS_EV_MESSAGE, 4242, RUN);
        assert_int_equal(f->w.c.messages, 1);
        assert_int_equal(f->w.c.foreign, 0);
    }
    /* two cuts inside the token, and a byte at a time */
    size_t two[] = {40, 47};
    clear_events(f);
    feed(f, 1, msg, 0, two, 2);
    assert_int_equal(f->w.batch.n, 1);
    size_t every[256];
    for (size_t i = 0; i + 1 < len; i++)
        every[i] = i + 1;
    clear_events(f);
    feed(f, 0, msg, 0, every, len - 1);
    assert_int_equal(f->w.batch.n, 1);
    assert_event(&f->w.batch.ev[0], 100, PS_EV_MESSAGE, 4242, RUN);
}

static void test_foreign_and_several(void **state)
{
    struct fixture *f = *state;
    size_t cut = 20;
    clear_events(f);
    feed(f, 0, "a ~ps.8.11.1700000000000000~ b ~ps.7.12.1700000000000001~ ~ps.7.13.17~", 0, &cut, 1);
    assert_int_equal(f->w.batch.n, 3);
    assert_event(&f->w.batch.ev[0], 100, PS_EV_FOREIGN, 11, 8);
    assert_event(&f->w.batch.ev[1], 100, PS_EV_MESSAGE, 12, RUN);
    assert_event(&f->w.batch.ev[2], 100, PS_EV_MESSAGE, 13, RUN);
    assert_int_equal(f->w.c.foreign, 1);
    assert_int_equal(f->w.c.messages, 2);
}

static void test_restarts_with_each_message(void **state)
{
    struct fixture *f = *state;
    clear_events(f);
    feed(f, 0, "first half ~ps.7.99.", 0, NULL, 0);
    feed(f, 0, "1700000000000000~ second half", 0, NULL, 0);
    assert_int_equal(f->w.batch.n, 0);
    /* a half-token on one connection does not complete one on another */
    size_t cut = 10;
    feed(f, 0, "~ps.7.5.170", 0, &cut, 1);
    feed(f, 1, "0000000000000~", 0, NULL, 0);
    assert_int_equal(f->w.batch.n, 0);
    /* but across the pieces of one message it does, per connection */
    struct agent_conn_piece a = {(const unsigned char *)"xx ~ps.7.6.", 11, 0, 1, 0, 0};
    struct agent_conn_piece b = {(const unsigned char *)"~ps.7.77.1~ ", 12, 0, 1, 1, 0};
    struct agent_conn_piece c = {(const unsigned char *)"1700000000000000~", 17, 0, 0, 1, 0};
    agent_conn_rx(&f->w, 0, &a);
    agent_conn_rx(&f->w, 1, &b);
    agent_conn_rx(&f->w, 0, &c);
    assert_int_equal(f->w.batch.n, 2);
    assert_event(&f->w.batch.ev[0], 101, PS_EV_MESSAGE, 77, RUN);
    assert_event(&f->w.batch.ev[1], 100, PS_EV_MESSAGE, 6, RUN);
}

static void test_binary_message(void **state)
{
    struct fixture *f = *state;
    size_t cut = 9;
    clear_events(f);
    feed(f, 1, "\x01\x02~ps.7.31.1700000000000000~\x03", 1, &cut, 1);
    assert_int_equal(f->w.batch.n, 1);
    assert_event(&f->w.batch.ev[0], 101, PS_EV_MESSAGE, 31, RUN);
    assert_false(f->w.conns[1].flags & AGENT_CF_TEXT);
}

static void test_heartbeat_reply_in_pieces(void **state)
{
    struct fixture *f = *state;
    struct agent_conn *c = &f->w.conns[0];
    snprintf(f->ag.assign.a.hb_expect, sizeof f->ag.assign.a.hb_expect, "pong ~ps.7.1.1~");
    clear_events(f);
    c->flags |= AGENT_CF_HB_OUT;
    size_t cut = 8;
    feed(f, 0, "pong ~ps.7.1.1~", 0, &cut, 1);
    assert_false(c->flags & AGENT_CF_HB_OUT);   /* answered */
    assert_int_equal(f->w.batch.n, 0);           /* and not taken for a delivery */
    /* a message that only starts like the reply is scanned as usual, and
     * leaves the heartbeat outstanding */
    c->flags |= AGENT_CF_HB_OUT;
    feed(f, 0, "pong ~ps.7.1.1~ and more", 0, &cut, 1);
    assert_true(c->flags & AGENT_CF_HB_OUT);
    assert_int_equal(f->w.batch.n, 1);
    assert_event(&f->w.batch.ev[0], 100, PS_EV_MESSAGE, 1, RUN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_split_at_every_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_and_several, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restarts_with_each_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_reply_in_pieces, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
