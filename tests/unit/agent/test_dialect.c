/* test_dialect.c: the client-protocol framework (agent/dialect.c) driven
 * through conn.c's lws callback, with a fake protocol defined here.
 *
 * The fake ("fk") is a line protocol that exercises every op: open() says
 * "HELLO <conn>", "OK" is the handshake's answer and "NO <code>" a refusal,
 * "MSG <body>" carries a push (its body streamed out as payload pieces, so a
 * body may span WebSocket pieces and messages), "DUP <body>" one flagged as
 * a redelivery and acked with "A", "PING" from the server is answered
 * "PONG", "PONG" answers our keepalive, "BYE <code>" ends the session, and a
 * 0x01 byte anywhere is malformed. Its goodbye is "QUIT", session sends are
 * framed as "SAY <text>", and its watchdog (at the pace a test sets) fails a
 * connection silent for longer than 100 ms.
 *
 * lws is replaced at link time by the few functions conn.c, session.c and
 * dialect.c call (the executable's definitions win over the shared
 * library's): writes are recorded, writeable requests counted, and the
 * fragment flags of a received piece are set by the test. What must hold:
 * the handshake keeps the connection in flight until ready, then it is
 * online with one connected event; a refusal, a handshake timeout, a missed
 * keepalive, a silent server, a malformed byte mid-message and a protocol
 * close each end the attempt with exactly one failed or closed event naming
 * the reason and the protocol's code; a token split across pieces and
 * messages is one delivery; our clean close writes the goodbye before the
 * Close and a failure does not; the counters reach the worker's stats; and
 * an assignment without protocols allocates nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent.h"
#include "ps_time.h"

#define RUN 7
#define FIRST 100

/* ---------- lws, as far as the agent's callbacks use it ---------- */

static struct {
    struct agent_worker *w;
    char frames[16][64];        /* what lws_write was given, in order */
    int binary[16];
    int n_frames;
    int writable;               /* lws_callback_on_writable calls */
    int close_status;           /* lws_close_reason's */
    int first, final, is_binary;
    size_t remaining;
    char protocol[64];          /* the subprotocol a connect offered */
} lw;

struct lws_context *lws_get_context(const struct lws *wsi)
{
    (void)wsi;
    return (struct lws_context *)&lw;
}
void *lws_context_user(struct lws_context *context)
{
    (void)context;
    return lw.w;
}
SSL *lws_get_ssl(struct lws *wsi)
{
    (void)wsi;
    return NULL;
}
int lws_callback_on_writable(struct lws *wsi)
{
    (void)wsi;
    lw.writable++;
    return 1;
}
int lws_write(struct lws *wsi, unsigned char *buf, size_t len, enum lws_write_protocol wp)
{
    (void)wsi;
    if (lw.n_frames < 16) {
        snprintf(lw.frames[lw.n_frames], sizeof lw.frames[0], "%.*s", (int)len, (const char *)buf);
        lw.binary[lw.n_frames++] = (wp & 0x1f) == LWS_WRITE_BINARY;
    }
    return (int)len;
}
void lws_close_reason(struct lws *wsi, enum lws_close_status status, unsigned char *buf, size_t len)
{
    (void)wsi;
    (void)buf;
    (void)len;
    lw.close_status = (int)status;
}
void lws_set_timeout(struct lws *wsi, enum pending_timeout reason, int secs)
{
    (void)wsi;
    (void)reason;
    (void)secs;
}
lws_sockfd_type lws_get_socket_fd(struct lws *wsi)
{
    (void)wsi;
    return -1;
}
size_t lws_remaining_packet_payload(struct lws *wsi)
{
    (void)wsi;
    return lw.remaining;
}
int lws_is_first_fragment(struct lws *wsi)
{
    (void)wsi;
    return lw.first;
}
int lws_is_final_fragment(struct lws *wsi)
{
    (void)wsi;
    return lw.final;
}
int lws_frame_is_binary(struct lws *wsi)
{
    (void)wsi;
    return lw.is_binary;
}
struct lws *lws_client_connect_via_info(const struct lws_client_connect_info *ci)
{
    snprintf(lw.protocol, sizeof lw.protocol, "%s", ci->protocol ? ci->protocol : "(none)");
    return (struct lws *)&lw;
}

/* ---------- the fake protocol ---------- */

enum { FK_HELLO = 1, FK_PONG = 2, FK_ACK = 4, FK_PING = 8 };
enum { FK_LINE = 0, FK_WORD, FK_BODY, FK_CODE, FK_SKIP };

struct fk_state {
    int64_t last_rx_us;
    uint32_t code;
    uint8_t mode, wlen, want, dup, body_first;
    char word[8];
};

static int fk_prepared;
static uint32_t fk_pace;   /* the watchdog's, asked for at OK; 0 = none */

static int fk_prepare(const struct ps_assign *a, char *err, size_t errlen)
{
    fk_prepared++;
    if (a->proto_qos > 1) {
        snprintf(err, errlen, "qos %u is not for fk", a->proto_qos);
        return -1;
    }
    return 0;
}

static void fk_open(void *st, struct agent_dialect_io *io)
{
    struct fk_state *s = st;
    s->want |= FK_HELLO;
    s->last_rx_us = agent_dialect_now_us(io);
    agent_dialect_want_write(io);
}

/* The end of a packet's first word: what it starts. */
static void fk_word(struct fk_state *s, struct agent_dialect_io *io)
{
    s->word[s->wlen] = 0;
    s->code = 0;
    if (!strcmp(s->word, "MSG") || !strcmp(s->word, "DUP")) {
        s->mode = FK_BODY;
        s->body_first = 1;
        s->dup = s->word[0] == 'D';
    } else if (!strcmp(s->word, "NO") || !strcmp(s->word, "BYE")) {
        s->mode = FK_CODE;
    } else {
        s->mode = FK_SKIP;   /* its line's end decides */
    }
    (void)io;
}

static void fk_line_end(struct fk_state *s, struct agent_dialect_io *io)
{
    const char *w = s->word;
    if (s->mode == FK_BODY) {
        agent_dialect_payload(io, "", 0, s->body_first, 1);
        if (s->dup) {
            agent_dialect_count(io, AGENT_DC_DUPLICATE);
            s->want |= FK_ACK;
            agent_dialect_want_write(io);
        }
    } else if (!strcmp(w, "OK")) {
        agent_dialect_watch_ms(io, fk_pace);
        agent_dialect_ready(io);
    } else if (!strcmp(w, "NO")) {
        agent_dialect_fail(io, PS_REASON_PROTO_REFUSED, s->code);
    } else if (!strcmp(w, "BYE")) {
        agent_dialect_fail(io, PS_REASON_PROTO_CLOSE, s->code);
    } else if (!strcmp(w, "PONG")) {
        agent_dialect_keepalive_answered(io);
    } else if (!strcmp(w, "PING")) {
        s->want |= FK_PONG;
        agent_dialect_count(io, AGENT_DC_SERVER_PING);
        agent_dialect_want_write(io);
    } else {
        agent_dialect_fail(io, PS_REASON_PROTO_ERROR, 1);
    }
    s->mode = FK_LINE;
    s->wlen = 0;
}

static void fk_rx(void *st, struct agent_dialect_io *io, const struct agent_conn_piece *p)
{
    struct fk_state *s = st;
    s->last_rx_us = agent_dialect_now_us(io);
    size_t body = 0;   /* start of the body bytes in this piece */
    for (size_t i = 0; i < p->len; i++) {
        unsigned char ch = p->in[i];
        if (ch == 1) {
            agent_dialect_fail(io, PS_REASON_PROTO_ERROR, 2);
            return;
        }
        if (s->mode == FK_BODY) {
            if (ch != '\n')
                continue;
            if (i > body) {
                agent_dialect_payload(io, p->in + body, i - body, s->body_first, 0);
                s->body_first = 0;
            }
            fk_line_end(s, io);
            continue;
        }
        if (ch == '\n') {
            if (s->mode == FK_LINE || s->mode == FK_WORD)
                s->word[s->wlen] = 0;
            fk_line_end(s, io);
        } else if (ch == ' ' && (s->mode == FK_LINE || s->mode == FK_WORD)) {
            fk_word(s, io);
            body = i + 1;
        } else if (s->mode == FK_CODE && ch >= '0' && ch <= '9') {
            s->code = s->code * 10 + (ch - '0');
        } else if (s->mode == FK_LINE || s->mode == FK_WORD) {
            s->mode = FK_WORD;
            if (s->wlen < sizeof s->word - 1)
                s->word[s->wlen++] = (char)ch;
        }
    }
    if (s->mode == FK_BODY && p->len > body) {
        agent_dialect_payload(io, p->in + body, p->len - body, s->body_first, 0);
        s->body_first = 0;
    }
}

static int fk_write(void *st, struct agent_dialect_io *io, unsigned char *out, size_t cap, int *binary)
{
    struct fk_state *s = st;
    *binary = 0;
    if (s->want & FK_HELLO) {
        s->want &= (uint8_t)~FK_HELLO;
        char text[64];
        int n = agent_dialect_expand(io, "HELLO {conn}\n", text, sizeof text);
        if (n < 0 || (size_t)n > cap)
            return -1;
        memcpy(out, text, (size_t)n);
        return n;
    }
    if (s->want & FK_PING) {
        s->want &= (uint8_t)~FK_PING;
        agent_dialect_keepalive_sent(io);
        memcpy(out, "PING\n", 5);
        return 5;
    }
    if (s->want & FK_ACK) {
        s->want &= (uint8_t)~FK_ACK;
        agent_dialect_count(io, AGENT_DC_PROTO_ACK);
        memcpy(out, "A\n", 2);
        *binary = 1;
        return 2;
    }
    if (s->want & FK_PONG) {
        s->want &= (uint8_t)~FK_PONG;
        memcpy(out, "PONG\n", 5);
        return 5;
    }
    return 0;
}

static void fk_keepalive(void *st, struct agent_dialect_io *io)
{
    struct fk_state *s = st;
    s->want |= FK_PING;
    agent_dialect_want_write(io);
}

static void fk_watch(void *st, struct agent_dialect_io *io, int64_t now_us)
{
    struct fk_state *s = st;
    if (now_us - s->last_rx_us > 2 * 50000)
        agent_dialect_fail(io, PS_REASON_PROTO_KEEPALIVE, 0);
}

static int fk_goodbye(void *st, struct agent_dialect_io *io, unsigned char *out, size_t cap,
                      int *binary)
{
    (void)st;
    (void)io;
    (void)cap;
    *binary = 0;
    memcpy(out, "QUIT\n", 5);
    return 5;
}

static int fk_frame_send(void *st, struct agent_dialect_io *io, const char *text, size_t len,
                         unsigned char *out, size_t cap, int *binary)
{
    (void)st;
    (void)io;
    *binary = 0;
    int n = snprintf((char *)out, cap, "SAY %.*s\n", (int)len, text);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

static const struct agent_dialect fk = {
    .name = "fk", .subprotocol = "fk.v1", .state_bytes = sizeof(struct fk_state),
    .prepare = fk_prepare, .open = fk_open, .rx = fk_rx, .write = fk_write,
    .keepalive = fk_keepalive, .watch = fk_watch, .goodbye = fk_goodbye,
    .frame_send = fk_frame_send,
};
/* the fake takes MQTT's place in the table */
static const struct agent_dialect *const fk_table[PS_PROTOCOL_COUNT] = {[PS_PROTOCOL_MQTT] = &fk};

/* ---------- fixture ---------- */

struct fixture {
    struct agent ag;
    struct agent_worker w;
};

static struct fixture *fixture_new(int steps)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    struct ps_assign *a = &f->ag.assign.a;
    f->ag.n_workers = 1;
    a->run_id = RUN;
    a->conn_first = FIRST;
    a->conn_count = 1;
    a->n_targets = 1;
    a->n_target_protocol = 1;
    a->target_protocol[0] = PS_PROTOCOL_MQTT;
    a->proto_timeout_ms = 10000;
    a->max_message = 1 << 20;
    if (steps) {   /* after the handshake: send "join", expect a payload with "welcome" */
        a->n_steps = 2;
        a->steps[0] = (struct ps_session_step){.op = PS_STEP_SEND_TEXT, .text = "join {conn}"};
        a->steps[1] = (struct ps_session_step){.op = PS_STEP_EXPECT, .match = PS_MATCH_CONTAINS,
                                               .timeout_ms = 5000, .text = "welcome"};
    }
    char err[PS_REASON_MAX];
    assert_int_equal(agent_script_prepare(&f->ag.assign.script, a, err, sizeof err), 0);
    agent_worker_init(&f->w, &f->ag, 0);
    f->w.n_conns = 1;
    f->w.max_inflight = 4;
    f->w.conns = calloc(1, sizeof *f->w.conns);
    assert_non_null(f->w.conns);
    assert_int_equal(agent_dialect_alloc(&f->w, fk_table), 0);
    assert_int_equal(agent_session_alloc(&f->w), 0);
    memset(&lw, 0, sizeof lw);
    lw.w = &f->w;
    fk_pace = 0;
    return f;
}

static void fixture_free(struct fixture *f)
{
    agent_worker_close(&f->w);
    agent_script_free(&f->ag.assign.script);
    free(f);
}

static struct lws *fake_wsi(struct fixture *f)
{
    return (struct lws *)&f->ag;   /* never dereferenced: lws is the fake above */
}

static int callback(struct fixture *f, enum lws_callback_reasons reason, const void *in, size_t len)
{
    return agent_conn_callback(fake_wsi(f), reason, &f->w.conns[0], (void *)in, len);
}

/* The upgrade of slot 0 is done: the attempt as conn_open.c starts it, then ESTABLISHED. */
static void establish(struct fixture *f)
{
    struct agent_conn *c = &f->w.conns[0];
    c->state = AGENT_CONN_CONNECTING;
    c->mark_us = ps_time_mono_us();
    f->w.inflight++;
    f->w.n_live++;
    assert_int_equal(callback(f, LWS_CALLBACK_CLIENT_ESTABLISHED, NULL, 0), 0);
}

/* lws has a writeable callback for slot 0: its return value (-1 = close now). */
static int writeable(struct fixture *f)
{
    return callback(f, LWS_CALLBACK_CLIENT_WRITEABLE, NULL, 0);
}

/* One WebSocket message, handed over in pieces cut at the offsets given. */
static void receive(struct fixture *f, const char *msg, const size_t *cuts, size_t n_cuts)
{
    size_t len = strlen(msg), at = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : len;
        lw.first = i == 0;
        lw.final = i == n_cuts;
        lw.remaining = 0;
        lw.is_binary = 0;
        callback(f, LWS_CALLBACK_CLIENT_RECEIVE, msg + at, end - at);
        at = end;
    }
}

static void receive1(struct fixture *f, const char *msg)
{
    receive(f, msg, NULL, 0);
}

/* A close under way goes out at the next writeable (-1), then lws reports the connection closed. */
static void finish_close(struct fixture *f)
{
    assert_int_equal(writeable(f), -1);
    callback(f, LWS_CALLBACK_CLIENT_CLOSED, NULL, 0);
}

static int count_events(const struct fixture *f, uint32_t type)
{
    int n = 0;
    for (uint32_t i = 0; i < f->w.batch.n; i++)
        n += f->w.batch.ev[i].type == type;
    return n;
}

static const struct ps_event *event_of(const struct fixture *f, uint32_t type)
{
    for (uint32_t i = 0; i < f->w.batch.n; i++)
        if (f->w.batch.ev[i].type == type)
            return &f->w.batch.ev[i];
    fail_msg("no event of type %s", ps_ev_type_name(type));
    return NULL;
}

/* The handshake's frame goes out and the answer makes the connection online. */
static void handshake(struct fixture *f)
{
    establish(f);
    assert_int_equal(f->w.conns[0].state, AGENT_CONN_SESSION);
    assert_int_equal(f->w.inflight, 1);   /* in flight until ready */
    assert_int_equal(writeable(f), 0);
    assert_int_equal(lw.n_frames, 1);
    assert_string_equal(lw.frames[0], "HELLO 100\n");
    assert_int_equal(writeable(f), 0);   /* nothing more: the flag clears */
    assert_int_equal(lw.n_frames, 1);
    receive1(f, "OK\n");
}

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
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_watch),
        cmocka_unit_test(test_goodbye_on_stop),
        cmocka_unit_test(test_fail_mid_message),
        cmocka_unit_test(test_protocol_close_and_counters),
        cmocka_unit_test(test_subprotocol),
        cmocka_unit_test(test_prepare_and_alloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
