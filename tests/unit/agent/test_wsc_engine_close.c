/* test_wsc_engine_close.c: the native engine (agent/wsc.c, agent/wsc_io.c)
 * through a real socket, against the test's server of wsc_peer.h: writes the
 * kernel does not take whole, the closes of either side, kills and the two
 * deadlines. test_wsc_engine.c has the upgrade and the frames read.
 *
 * What must hold: what the kernel does not take stays as the connection's
 * tail, later frames queue behind it without a send() of their own, a
 * writeable callback asked for meanwhile waits for the tail to drain, and
 * the server reads every byte in order; the server's Close is answered with
 * its code and ends the connection with it (no code: no_status), an answer
 * behind a tail goes after it before the socket closes, and its EOF
 * or reset ends it as a reset; our close sends a Close with our code and
 * ends at the server's, or at the close deadline (AGENT_WSC_CLOSE_S) when
 * none comes; a kill, in the handshake or online, is asynchronous and sends
 * nothing; an upgrade never answered ends at the connect deadline
 * (AGENT_WSC_CONNECT_S) as a timeout. The deadlines
 * are checked where the engine put them, then moved 50 ms ahead through the
 * engine's own list functions, so the timer is seen firing without waiting
 * seconds. */
#include "wsc_peer.h"

#define BIG (1u << 20)

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 7 % 251);
}

/* The deadline slot 0 is listed with, checked, then brought to 50 ms from now. */
static int64_t deadline_soon(struct fixture *f, int64_t expect_s)
{
    struct agent_wsc *s = wsc0(f);
    int64_t now = ps_time_mono_us();
    assert_true(s->flags & WSC_F_LIST);
    assert_true(s->due_us > now + (expect_s - 1) * 1000000);
    assert_true(s->due_us <= now + expect_s * 1000000);
    agent_wsc_list_del(&f->w, s);
    agent_wsc_list_add(&f->w, s, now + 50000);
    return now;
}

/* A 1 MiB binary frame written with a 4 KB send buffer while the server
 * reads nothing, so that most of it stays as the tail; the frame's buffer,
 * which the caller frees. (The server's receive buffer stays as it is: a
 * tiny one stalls TCP.) */
static unsigned char *write_big(struct fixture *f)
{
    int small = 4096;
    struct agent_wsc *s = wsc0(f);
    assert_int_equal(setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    unsigned char *big = malloc(AGENT_WSC_HEAD_MAX + BIG);
    assert_non_null(big);
    for (size_t i = 0; i < BIG; i++)
        big[AGENT_WSC_HEAD_MAX + i] = pattern(i);
    assert_int_equal(agent_wsc_write(&f->w, 0, big + AGENT_WSC_HEAD_MAX, BIG, AGENT_CONN_BINARY), 0);
    assert_true(s->buf_len > 0);
    assert_true(s->buf_len < BIG);
    return big;
}

/* The server reads write_big()'s frame whole, every byte in order. */
static void read_big(struct fixture *f, unsigned char *got)
{
    size_t len, bad = 0;
    assert_int_equal(srv_read_frame(f, got, BIG, &len), AGENT_WSC_BINARY);
    assert_int_equal(len, BIG);
    while (bad < BIG && got[bad] == pattern(bad))
        bad++;
    assert_int_equal(bad, BIG);
}

static void test_partial_write(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, 0);
    upgrade(f);
    struct agent_wsc *s = wsc0(f);
    unsigned char *big = write_big(f), *got = malloc(BIG);
    assert_non_null(got);
    assert_int_equal(s->events, UV_READABLE | UV_WRITABLE);
    uint32_t tail = s->buf_len;

    unsigned char more[AGENT_WSC_HEAD_MAX + 8];
    memcpy(more + AGENT_WSC_HEAD_MAX, "after", 5);
    unsigned calls = sends.calls;
    assert_int_equal(agent_wsc_write(&f->w, 0, more + AGENT_WSC_HEAD_MAX, 5, AGENT_CONN_TEXT), 0);
    assert_int_equal(sends.calls, calls);   /* behind the tail, never ahead of it */
    assert_int_equal(s->buf_len, tail + 6 + 5);
    agent_conn_ping(&f->w, 0);              /* its writeable callback waits for the drain */
    pump_for(f, 5);
    assert_int_equal(f->w.c.pings, 0);

    size_t len;
    read_big(f, got);
    assert_int_equal(srv_read_frame(f, got, BIG, &len), AGENT_WSC_TEXT);
    assert_int_equal(len, 5);
    assert_memory_equal(got, "after", 5);
    assert_int_equal(srv_read_frame(f, got, BIG, &len), AGENT_WSC_PING);
    assert_memory_equal(got, "ps", 2);
    assert_int_equal(f->w.c.pings, 1);
    assert_int_equal(s->buf_len, 0);        /* drained: back to reading only */
    assert_null(s->buf);
    assert_int_equal(s->events, UV_READABLE);
    assert_int_equal(srv_pending(f, 10), 0);
    assert_int_equal(f->w.conns[0].state, AGENT_CONN_OPEN);
    free(big);
    free(got);
    fixture_free(f);
}

/* The server's Close, with a code and without: echoed, and the end names it. */
static void test_server_close(void **state)
{
    (void)state;
    static const struct {
        unsigned char payload[8];
        size_t len;
        uint8_t reason;
        uint16_t code;
    } cases[] = {
        {{0x0f, 0xa1, 'b', 'y', 'e'}, 5, PS_REASON_SERVER_CLOSE, 4001},
        {{0}, 0, PS_REASON_NO_STATUS, 0},
    };
    struct fixture *f = fixture_new(NULL, 0);
    unsigned char frame[32], got[32];
    size_t len;
    for (size_t i = 0; i < 2; i++) {
        upgrade(f);
        size_t n = srv_frame(frame, 1, AGENT_WSC_CLOSE, cases[i].payload, cases[i].len, NULL);
        srv_send(f, frame, n);
        assert_int_equal(srv_read_frame(f, got, sizeof got, &len), AGENT_WSC_CLOSE);
        assert_int_equal(len, cases[i].len ? 2 : 0);   /* its code, not its text */
        assert_memory_equal(got, cases[i].payload, len);
        srv_expect_eof(f);
        PUMP_UNTIL(f, count_events(f, PS_EV_CLOSED) == (int)i + 1);
        assert_int_equal(last_event(f, PS_EV_CLOSED)->val, cases[i].reason);
        assert_int_equal(last_event(f, PS_EV_CLOSED)->aux, cases[i].code);
        assert_int_equal(wsc0(f)->phase, AGENT_WSC_FREE);
        assert_int_equal(f->w.n_open, 0);
        assert_int_equal(f->w.conns[0].state, AGENT_CONN_DONE);
    }
    fixture_free(f);
}

/* The server's Close while a tail waits: the answer goes behind the tail,
 * both before the socket closes, and only then does the connection end. */
static void test_server_close_behind_tail(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, 0);
    upgrade(f);
    struct agent_wsc *s = wsc0(f);
    unsigned char *big = write_big(f), *got = malloc(BIG);
    assert_non_null(got);
    static const unsigned char bye[] = {0x0f, 0xa1};
    unsigned char frame[16];
    srv_send(f, frame, srv_frame(frame, 1, AGENT_WSC_CLOSE, bye, 2, NULL));
    pump_for(f, 20);
    assert_int_equal(count_events(f, PS_EV_CLOSED), 0);   /* not before the tail has gone */
    assert_int_equal(s->phase, AGENT_WSC_CLOSING);
    assert_true(s->flags & WSC_F_LIST);                   /* under the close timeout */

    size_t len;
    read_big(f, got);
    assert_int_equal(srv_read_frame(f, got, BIG, &len), AGENT_WSC_CLOSE);
    assert_int_equal(len, 2);
    assert_memory_equal(got, bye, 2);
    srv_expect_eof(f);
    PUMP_UNTIL(f, count_events(f, PS_EV_CLOSED) == 1);
    assert_int_equal(last_event(f, PS_EV_CLOSED)->val, PS_REASON_SERVER_CLOSE);
    assert_int_equal(last_event(f, PS_EV_CLOSED)->aux, 4001);
    assert_int_equal(s->phase, AGENT_WSC_FREE);
    free(big);
    free(got);
    fixture_free(f);
}

/* The server goes without a Close: an EOF, then a reset (RST, a POLLERR). */
static void test_server_gone(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, 0);
    for (int rst = 0; rst < 2; rst++) {
        upgrade(f);
        if (rst) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            assert_int_equal(setsockopt(f->sfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
        }
        srv_hangup(f);
        PUMP_UNTIL(f, count_events(f, PS_EV_CLOSED) == rst + 1);
        assert_int_equal(last_event(f, PS_EV_CLOSED)->val, PS_REASON_RESET);
        assert_int_equal(wsc0(f)->phase, AGENT_WSC_FREE);
        assert_int_equal(f->w.n_open, 0);
    }
    fixture_free(f);
}

/* Our close: the Close goes with our code, then the server's ends it, or the
 * close deadline does when it never comes. */
static void test_client_close(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, 0);
    unsigned char frame[32], got[32];
    size_t len;
    for (int answer = 1; answer >= 0; answer--) {
        upgrade(f);
        agent_conn_close(&f->w, 0, PS_REASON_CLIENT_CLOSE, 1000);
        assert_int_equal(srv_read_frame(f, got, sizeof got, &len), AGENT_WSC_CLOSE);
        assert_int_equal(len, 2);
        assert_int_equal(got[0] << 8 | got[1], 1000);
        assert_int_equal(wsc0(f)->phase, AGENT_WSC_CLOSING);
        int before = count_events(f, PS_EV_CLOSED);
        if (answer) {
            srv_send(f, frame, srv_frame(frame, 1, AGENT_WSC_CLOSE, got, 2, NULL));
        } else {
            pump_for(f, 20);   /* nothing ends it yet */
            assert_int_equal(wsc0(f)->phase, AGENT_WSC_CLOSING);
            int64_t t0 = deadline_soon(f, AGENT_WSC_CLOSE_S);
            PUMP_UNTIL(f, wsc0(f)->phase == AGENT_WSC_FREE);
            assert_true(ps_time_mono_us() - t0 >= 50000);   /* not before its deadline */
        }
        srv_expect_eof(f);
        PUMP_UNTIL(f, count_events(f, PS_EV_CLOSED) == before + 1);
        assert_int_equal(last_event(f, PS_EV_CLOSED)->val, PS_REASON_CLIENT_CLOSE);
        assert_int_equal(last_event(f, PS_EV_CLOSED)->aux, 1000);
        assert_false(wsc0(f)->flags & WSC_F_LIST);
    }
    fixture_free(f);
}

/* Kills send nothing and end from the pending list, not in the call. */
static void test_kill(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, 0);
    char head[2048];
    take_request(f, head, sizeof head);
    agent_conn_kill(&f->w, 0, PS_REASON_CLIENT_CLOSE);   /* a stop with handshakes in flight */
    assert_true(agent_wsc_holds(&f->w, 0));
    assert_int_equal(count_events(f, PS_EV_FAILED), 0);
    PUMP_UNTIL(f, count_events(f, PS_EV_FAILED) == 1);
    assert_int_equal(last_event(f, PS_EV_FAILED)->val, PS_REASON_CLIENT_CLOSE);
    srv_expect_eof(f);

    upgrade(f);
    agent_conn_kill(&f->w, 0, PS_REASON_PONG_TIMEOUT);
    assert_int_equal(wsc0(f)->phase, AGENT_WSC_OPEN);
    PUMP_UNTIL(f, count_events(f, PS_EV_CLOSED) == 1);
    assert_int_equal(last_event(f, PS_EV_CLOSED)->val, PS_REASON_PONG_TIMEOUT);
    srv_expect_eof(f);   /* no Close frame */
    assert_int_equal(f->w.n_live, 0);
    fixture_free(f);
}

/* Accepted, the request read, never answered: the connect deadline ends it. */
static void test_connect_deadline(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, 0);
    char head[2048];
    take_request(f, head, sizeof head);
    pump_for(f, 20);
    assert_int_equal(wsc0(f)->phase, AGENT_WSC_UPGRADE);
    int64_t t0 = deadline_soon(f, AGENT_WSC_CONNECT_S);
    PUMP_UNTIL(f, count_events(f, PS_EV_FAILED) == 1);
    assert_true(ps_time_mono_us() - t0 >= 50000);
    assert_int_equal(last_event(f, PS_EV_FAILED)->val, PS_REASON_TIMEOUT);
    assert_int_equal(wsc0(f)->phase, AGENT_WSC_FREE);
    srv_expect_eof(f);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partial_write),
        cmocka_unit_test(test_server_close),
        cmocka_unit_test(test_server_close_behind_tail),
        cmocka_unit_test(test_server_gone),
        cmocka_unit_test(test_client_close),
        cmocka_unit_test(test_kill),
        cmocka_unit_test(test_connect_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
