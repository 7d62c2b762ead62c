/* test_wsc_engine.c: the native engine (agent/wsc.c, agent/wsc_io.c) through
 * a real socket: the upgrade and what the frames do, against the test's own
 * server of wsc_peer.h. Its codec has tests of its own (test_wsc_frame.c,
 * test_wsc_http.c); these are about the bytes on the socket and what the
 * engine tells conn.c. test_wsc_engine_close.c has the writes the kernel does
 * not take whole, the closes, the kills and the deadlines.
 *
 * What must hold: the request is one GET of the target's path with Host (and
 * its port), Upgrade, Connection, a 16-byte key new at every attempt and
 * version 13, sent once even when the answer comes a byte at a time and is
 * longer than the first buffer; only a 101 with the right Accept makes the
 * connection online (one connected event), and frames right behind the
 * answer, in the same read or the next, are read; an offered subprotocol is
 * in the request and an answer picking another fails; a non-101, a wrong
 * Accept, a non-HTTP answer and a hang-up each fail the attempt with their
 * own reason, and a refused connect is `refused` (libuv reports its POLLERR
 * as UV_EBADF); the agent's source address is the connection's, and one that
 * is no address fails the attempt at once without touching fd 0; a server
 * Ping is answered with one masked write of a Pong with its payload, and a
 * Pong counts against our own Ping; a message fragmented across frames and
 * reads, with a Ping between its frames, is matched whole and in order, and
 * a masked server frame drops the connection as a protocol error without a
 * Close. */
#include "wsc_peer.h"

static void test_upgrade_request(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, 0);
    char head[2048], ans[512], v[256], want[64];
    open_slot(f);
    assert_int_equal(wsc0(f)->phase, AGENT_WSC_TCP);
    srv_accept(f);
    size_t n = srv_read_head(f, head, sizeof head);
    assert_int_equal(strncmp(head, "GET /feed?c=100 HTTP/1.1\r\n", 26), 0);
    head_value(head, "Host", v, sizeof v);
    snprintf(want, sizeof want, "127.0.0.1:%d", f->port);
    assert_string_equal(v, want);
    head_value(head, "Upgrade", v, sizeof v);
    assert_string_equal(v, "websocket");
    head_value(head, "Connection", v, sizeof v);
    assert_string_equal(v, "Upgrade");
    head_value(head, "Sec-WebSocket-Version", v, sizeof v);
    assert_string_equal(v, "13");
    head_value(head, "Origin", v, sizeof v);
    assert_string_equal(v, "http://127.0.0.1");
    head_value(head, "Sec-WebSocket-Protocol", v, sizeof v);
    assert_string_equal(v, "");   /* none offered */
    head_value(head, "Sec-WebSocket-Key", v, sizeof v);
    unsigned char raw[32];
    assert_int_equal(strlen(v), 24);
    assert_int_equal(EVP_DecodeBlock(raw, (const unsigned char *)v, 24), 18);   /* 16 + "==" */
    assert_string_equal(v + 22, "==");
    /* one head: it ends at the first blank line */
    assert_int_equal(strstr(head, "\r\n\r\n") + 4 - head, (long)n);

    pump_for(f, 20);   /* no answer yet: still in flight, nothing else sent */
    assert_int_equal(wsc0(f)->phase, AGENT_WSC_UPGRADE);
    assert_int_equal(count_events(f, PS_EV_CONNECTED), 0);
    assert_int_equal(f->w.inflight, 1);
    assert_int_equal(srv_pending(f, 0), 0);

    /* the 101 and a first push in one write: both in the engine's first read */
    char tok[PS_TOKEN_MAX];
    int tn = ps_token_format(tok, sizeof tok, RUN, 43, ps_time_wall_us());
    assert_true(tn > 0);
    size_t an = (size_t)answer_101(head, ans, sizeof ans, 0);
    an += srv_frame((unsigned char *)ans + an, 1, AGENT_WSC_TEXT, tok, (size_t)tn, NULL);
    srv_send(f, ans, an);
    PUMP_UNTIL(f, count_events(f, PS_EV_MESSAGE) == 1);
    assert_int_equal(last_event(f, PS_EV_MESSAGE)->val, 43);
    assert_int_equal(count_events(f, PS_EV_CONNECTED), 1);
    assert_int_equal(f->w.conns[0].state, AGENT_CONN_OPEN);
    assert_int_equal(f->w.n_open, 1);
    assert_int_equal(f->w.inflight, 0);
    assert_int_equal(f->w.c.opened, 1);
    assert_int_equal(last_event(f, PS_EV_CONNECTED)->conn, FIRST);
    assert_int_equal(wsc0(f)->phase, AGENT_WSC_OPEN);
    assert_null(wsc0(f)->buf);   /* the handshake's buffer went with it */
    assert_int_equal(srv_pending(f, 20), 0);
    fixture_free(f);
}

/* A 101 longer than the first buffer (1 KiB), a byte per read, and a push
 * right behind its blank line in the same stream. */
static void test_upgrade_in_pieces(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, 0);
    char head[2048], ans[4096 + 256], tok[PS_TOKEN_MAX], msg[128];
    take_request(f, head, sizeof head);
    size_t hn = (size_t)answer_101(head, ans, sizeof ans, 3000), n = hn;
    int tn = ps_token_format(tok, sizeof tok, RUN, 42, ps_time_wall_us());
    assert_true(tn > 0);
    int mn = snprintf(msg, sizeof msg, "push %s end", tok);
    n += srv_frame((unsigned char *)ans + n, 1, AGENT_WSC_TEXT, msg, (size_t)mn, NULL);
    unsigned sent_before = sends.calls;
    for (size_t i = 0; i < n; i++) {
        srv_send(f, ans + i, 1);
        pump(f);
        if (i + 1 < hn)   /* the head's last byte has not gone */
            assert_int_equal(wsc0(f)->phase, AGENT_WSC_UPGRADE);
    }
    PUMP_UNTIL(f, count_events(f, PS_EV_MESSAGE) == 1);
    assert_int_equal(count_events(f, PS_EV_CONNECTED), 1);
    assert_int_equal(last_event(f, PS_EV_MESSAGE)->val, 42);
    assert_int_equal(last_event(f, PS_EV_MESSAGE)->aux, RUN);
    assert_int_equal(f->w.c.messages, 1);
    /* the request went once: nothing more on the wire, no send() since */
    assert_int_equal(srv_pending(f, 20), 0);
    assert_int_equal(sends.calls, sent_before);
    fixture_free(f);
}

/* Answers that are not an upgrade: each attempt fails with its reason. */
static void test_bad_answers(void **state)
{
    (void)state;
    static const struct {
        const char *answer;   /* NULL: the server hangs up on the request */
        uint8_t reason;
        uint32_t aux;
    } cases[] = {
        {"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", PS_REASON_HTTP_STATUS, 403},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n", PS_REASON_BAD_ACCEPT, 0},
        {"SSH-2.0-OpenSSH_9.2\r\n\r\n", PS_REASON_HANDSHAKE, 0},
        {NULL, PS_REASON_HANDSHAKE, 0},
    };
    struct fixture *f = fixture_new(NULL, 0);
    char head[2048], keys[sizeof cases / sizeof cases[0]][64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        take_request(f, head, sizeof head);
        head_value(head, "Sec-WebSocket-Key", keys[i], sizeof keys[i]);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(keys[i], keys[k]);   /* a new key per attempt */
        if (cases[i].answer)
            srv_send(f, cases[i].answer, strlen(cases[i].answer));
        else
            srv_hangup(f);
        PUMP_UNTIL(f, count_events(f, PS_EV_FAILED) == (int)i + 1);
        const struct ps_event *e = last_event(f, PS_EV_FAILED);
        assert_int_equal(e->val, cases[i].reason);
        assert_int_equal(e->aux, cases[i].aux);
        assert_int_equal(f->w.conns[0].state, AGENT_CONN_DONE);
        assert_int_equal(wsc0(f)->phase, AGENT_WSC_FREE);
        assert_int_equal(f->w.inflight, 0);
        assert_int_equal(f->w.n_live, 0);
        if (cases[i].answer)
            srv_expect_eof(f);   /* the client hung up, having sent nothing more */
    }
    assert_int_equal(count_events(f, PS_EV_CONNECTED), 0);
    assert_int_equal(f->w.c.failed, 4);
    fixture_free(f);
}

/* An offered subprotocol: in the request, and the answer must pick it. */
static void test_subprotocol(void **state)
{
    (void)state;
    static const char *picked[] = {"chat.v1", "other.v2"};
    struct fixture *f = fixture_new(NULL, 0);
    snprintf(f->ag.assign.a.subprotocol, sizeof f->ag.assign.a.subprotocol, "chat.v1");
    char head[2048], ans[512], v[64];
    for (int i = 0; i < 2; i++) {
        take_request(f, head, sizeof head);
        head_value(head, "Sec-WebSocket-Protocol", v, sizeof v);
        assert_string_equal(v, "chat.v1");
        int n = answer_101(head, ans, sizeof ans, 0) - 2;   /* less its blank line */
        n += snprintf(ans + n, sizeof ans - (size_t)n, "Sec-WebSocket-Protocol: %s\r\n\r\n",
                      picked[i]);
        srv_send(f, ans, (size_t)n);
        PUMP_UNTIL(f, f->w.conns[0].state != AGENT_CONN_CONNECTING);
        if (f->w.conns[0].state == AGENT_CONN_OPEN)
            agent_conn_kill(&f->w, 0, PS_REASON_CLIENT_CLOSE);
        PUMP_UNTIL(f, !agent_wsc_holds(&f->w, 0));
    }
    assert_int_equal(count_events(f, PS_EV_CONNECTED), 1);   /* the first */
    assert_int_equal(count_events(f, PS_EV_FAILED), 1);      /* one not offered */
    assert_int_equal(last_event(f, PS_EV_FAILED)->val, PS_REASON_HANDSHAKE);
    fixture_free(f);
}

/* No listener on the port: the connect is refused, reported through the poll. */
static void test_refused(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, 0);
    close(f->lfd);   /* the target's port has no listener now */
    f->lfd = -1;
    open_slot(f);
    assert_int_equal(wsc0(f)->phase, AGENT_WSC_TCP);   /* EINPROGRESS: the poll decides */
    PUMP_UNTIL(f, count_events(f, PS_EV_FAILED) == 1);
    assert_int_equal(last_event(f, PS_EV_FAILED)->val, PS_REASON_REFUSED);
    assert_int_equal(last_event(f, PS_EV_FAILED)->aux, ECONNREFUSED);
    assert_int_equal(wsc0(f)->phase, AGENT_WSC_FREE);
    fixture_free(f);
}

/* The agent's source address is the connection's, with the port the kernel picks. */
static void test_source_address(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, 0);
    f->ag.opts.n_src = 1;
    snprintf(f->ag.opts.src_ips[0], sizeof f->ag.opts.src_ips[0], "127.0.0.2");
    upgrade(f);
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    char ip[INET_ADDRSTRLEN];
    assert_int_equal(getpeername(f->sfd, (struct sockaddr *)&peer, &len), 0);
    assert_string_equal(inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip), "127.0.0.2");
    assert_true(ntohs(peer.sin_port) != 0);
    assert_int_equal(count_events(f, PS_EV_CONNECTED), 1);
    fixture_free(f);

    /* one that is no address fails the attempt at once (EINVAL), whatever
     * errno was before: never a socket of 0, which is stdin */
    if (fcntl(0, F_GETFD) < 0)
        assert_int_equal(open("/dev/null", O_RDONLY), 0);
    f = fixture_new(NULL, 0);
    f->ag.opts.n_src = 1;
    snprintf(f->ag.opts.src_ips[0], sizeof f->ag.opts.src_ips[0], "not-an-address");
    errno = 0;
    agent_conn_open(&f->w, 0);
    assert_int_equal(f->w.conns[0].state, AGENT_CONN_DONE);
    assert_int_equal(count_events(f, PS_EV_FAILED), 1);
    assert_int_equal(last_event(f, PS_EV_FAILED)->val, PS_REASON_OTHER);
    assert_int_equal(wsc0(f)->phase, AGENT_WSC_FREE);
    assert_int_equal(wsc0(f)->fd, -1);
    assert_true(fcntl(0, F_GETFD) >= 0);   /* stdin is still open */
    fixture_free(f);
}

static void test_ping_pong(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, 0);
    static const char *payloads[] = {"ping-payload-0123", ""};
    unsigned char frame[160], got[160];
    size_t len;
    upgrade(f);
    for (size_t i = 0; i < 2; i++) {
        size_t pl = strlen(payloads[i]);
        unsigned before = sends.calls;
        srv_send(f, frame, srv_frame(frame, 1, AGENT_WSC_PING, payloads[i], pl, NULL));
        assert_int_equal(srv_read_frame(f, got, sizeof got, &len), AGENT_WSC_PONG);
        assert_int_equal(len, pl);
        assert_memory_equal(got, payloads[i], pl);
        assert_int_equal(sends.calls - before, 1);   /* header and payload in one write */
    }
    assert_int_equal(f->w.c.pongs, 0);   /* the server's pings are not answers to ours */

    agent_conn_ping(&f->w, 0);   /* ours: out from the pending list, its Pong counted */
    assert_int_equal(srv_read_frame(f, got, sizeof got, &len), AGENT_WSC_PING);
    assert_int_equal(len, 2);
    assert_memory_equal(got, "ps", 2);
    srv_send(f, frame, srv_frame(frame, 1, AGENT_WSC_PONG, "ps", 2, NULL));
    PUMP_UNTIL(f, f->w.c.pongs == 1);
    assert_int_equal(f->w.c.pings, 1);
    assert_int_equal(f->w.conns[0].state, AGENT_CONN_OPEN);
    fixture_free(f);
}

/* A session's expects see whole messages: the first one comes in three
 * frames with a Ping between them, the stream cut at odd places. */
static void test_fragments_in_order(void **state)
{
    (void)state;
    const struct ps_session_step steps[] = {
        {.op = PS_STEP_SEND_TEXT, .text = "hello {conn}"},
        {.op = PS_STEP_EXPECT, .match = PS_MATCH_REGEX, .others_fail = 1, .timeout_ms = 5000,
         .text = "^alpha-beta-gamma$"},
        {.op = PS_STEP_EXPECT, .match = PS_MATCH_REGEX, .others_fail = 1, .timeout_ms = 5000,
         .text = "^omega$"},
    };
    struct fixture *f = fixture_new(steps, 3);
    unsigned char s[256], got[64];
    size_t n = 0, len;
    upgrade(f);
    assert_int_equal(f->w.conns[0].state, AGENT_CONN_SESSION);
    assert_int_equal(srv_read_frame(f, got, sizeof got, &len), AGENT_WSC_TEXT);
    assert_int_equal(len, 9);
    assert_memory_equal(got, "hello 100", 9);

    n += srv_frame(s + n, 0, AGENT_WSC_TEXT, "alpha-", 6, NULL);
    n += srv_frame(s + n, 1, AGENT_WSC_PING, "x", 1, NULL);
    n += srv_frame(s + n, 0, AGENT_WSC_CONT, "beta-", 5, NULL);
    n += srv_frame(s + n, 1, AGENT_WSC_CONT, "gamma", 5, NULL);
    n += srv_frame(s + n, 1, AGENT_WSC_TEXT, "omega", 5, NULL);
    static const size_t cuts[] = {1, 3, 7, 9, 10, 12, 16, 19, 20, 26, 30, 31};
    size_t at = 0;
    for (size_t i = 0; i <= sizeof cuts / sizeof cuts[0]; i++) {
        size_t end = i < sizeof cuts / sizeof cuts[0] ? cuts[i] : n;
        srv_send(f, s + at, end - at);
        pump_for(f, 1);
        at = end;
    }
    assert_int_equal(srv_read_frame(f, got, sizeof got, &len), AGENT_WSC_PONG);
    assert_int_equal(len, 1);
    assert_int_equal(got[0], 'x');
    PUMP_UNTIL(f, count_events(f, PS_EV_READY) == 1);
    assert_int_equal(count_events(f, PS_EV_CONNECTED), 1);
    assert_int_equal(count_events(f, PS_EV_FAILED), 0);
    assert_int_equal(f->w.conns[0].state, AGENT_CONN_OPEN);

    /* RFC 6455 5.1: a client closes on a masked frame; as lws, without a Close */
    static const uint8_t mask[4] = {1, 2, 3, 4};
    srv_send(f, s, srv_frame(s, 1, AGENT_WSC_TEXT, "masked", 6, mask));
    PUMP_UNTIL(f, count_events(f, PS_EV_CLOSED) == 1);
    assert_int_equal(last_event(f, PS_EV_CLOSED)->val, PS_REASON_PROTOCOL);
    assert_int_equal(wsc0(f)->phase, AGENT_WSC_FREE);
    srv_expect_eof(f);
    fixture_free(f);
}

/* After a stall of our own loop the keepalive's timer runs before the poll:
 * a Pong that came in time but sits unread is read then, and is no miss; a
 * Pong that never came still is one. */
static void test_pong_unread(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, 0);
    struct ps_assign *a = &f->ag.assign.a;
    unsigned char frame[16], got[16];
    size_t len;
    upgrade(f);
    a->ws_ping_ms = 60000;
    a->pong_timeout_ms = 50;
    for (int answered = 1; answered >= 0; answered--) {
        /* the ping cursor reaches the slot: our Ping goes out */
        f->w.sweep_t0_us = ps_time_mono_us() - 60001000LL * (2 - answered);
        agent_keepalive_step(&f->w, ps_time_mono_us());
        assert_int_equal(srv_read_frame(f, got, sizeof got, &len), AGENT_WSC_PING);
        if (answered)   /* in the socket before the deadline, and the loop never runs */
            srv_send(f, frame, srv_frame(frame, 1, AGENT_WSC_PONG, got, len, NULL));
        usleep(80000);
        agent_keepalive_step(&f->w, ps_time_mono_us());   /* the check cursor's turn */
        assert_int_equal(count_events(f, PS_EV_PONG_MISSED), !answered);
        assert_int_equal(f->w.c.pongs, 1);
        assert_int_equal(f->w.conns[0].reason, answered ? 0 : PS_REASON_PONG_TIMEOUT);
    }
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upgrade_request),
        cmocka_unit_test(test_upgrade_in_pieces),
        cmocka_unit_test(test_bad_answers),
        cmocka_unit_test(test_subprotocol),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_source_address),
        cmocka_unit_test(test_ping_pong),
        cmocka_unit_test(test_pong_unread),
        cmocka_unit_test(test_fragments_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
