/* dialect_fake.h: what the dialect framework's unit tests share (test_dialect.c,
 * test_dialect_life.c): lws replaced at link time, a fake protocol ("fk"), and a
 * one-connection worker driven through conn.c's lws callback.
 *
 * lws: the few functions conn.c, conn_open.c, session.c and dialect.c call are
 * defined here, so the test executable's definitions win over the shared
 * library's: writes are recorded, writeable requests counted, a connect
 * records the subprotocol it offers, and the fragment flags of a received
 * piece are set by the test.
 *
 * fk is a line protocol that exercises every op: open() says "HELLO <conn>",
 * "OK" is the handshake's answer and "NO <code>" a refusal, "MSG <body>"
 * carries a push (its body streamed out as payload pieces, so a body may span
 * WebSocket pieces and messages), "DUP <body>" one flagged as a redelivery
 * and acked with "A", "PING" from the server is answered "PONG", "PONG"
 * answers our keepalive, "BYE <code>" ends the session, and a 0x01 byte
 * anywhere is malformed. Its goodbye is "QUIT", session sends are framed as
 * "SAY <text>", and its watchdog (at the pace a test sets) fails a
 * connection silent for longer than 100 ms. Included once per test program. */
#ifndef TEST_DIALECT_FAKE_H
#define TEST_DIALECT_FAKE_H

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

static inline struct fixture *fixture_new(int steps)
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

static inline void fixture_free(struct fixture *f)
{
    agent_worker_close(&f->w);
    agent_script_free(&f->ag.assign.script);
    free(f);
}

static inline struct lws *fake_wsi(struct fixture *f)
{
    return (struct lws *)&f->ag;   /* never dereferenced: lws is the fake above */
}

static inline int callback(struct fixture *f, enum lws_callback_reasons reason, const void *in, size_t len)
{
    return agent_conn_callback(fake_wsi(f), reason, &f->w.conns[0], (void *)in, len);
}

/* The upgrade of slot 0 is done: the attempt as conn_open.c starts it, then ESTABLISHED. */
static inline void establish(struct fixture *f)
{
    struct agent_conn *c = &f->w.conns[0];
    c->state = AGENT_CONN_CONNECTING;
    c->mark_us = ps_time_mono_us();
    f->w.inflight++;
    f->w.n_live++;
    assert_int_equal(callback(f, LWS_CALLBACK_CLIENT_ESTABLISHED, NULL, 0), 0);
}

/* lws has a writeable callback for slot 0: its return value (-1 = close now). */
static inline int writeable(struct fixture *f)
{
    return callback(f, LWS_CALLBACK_CLIENT_WRITEABLE, NULL, 0);
}

/* One WebSocket message, handed over in pieces cut at the offsets given. */
static inline void receive(struct fixture *f, const char *msg, const size_t *cuts, size_t n_cuts)
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

static inline void receive1(struct fixture *f, const char *msg)
{
    receive(f, msg, NULL, 0);
}

/* A close under way goes out at the next writeable (-1), then lws reports the connection closed. */
static inline void finish_close(struct fixture *f)
{
    assert_int_equal(writeable(f), -1);
    callback(f, LWS_CALLBACK_CLIENT_CLOSED, NULL, 0);
}

static inline int count_events(const struct fixture *f, uint32_t type)
{
    int n = 0;
    for (uint32_t i = 0; i < f->w.batch.n; i++)
        n += f->w.batch.ev[i].type == type;
    return n;
}

static inline const struct ps_event *event_of(const struct fixture *f, uint32_t type)
{
    for (uint32_t i = 0; i < f->w.batch.n; i++)
        if (f->w.batch.ev[i].type == type)
            return &f->w.batch.ev[i];
    fail_msg("no event of type %s", ps_ev_type_name(type));
    return NULL;
}

/* The handshake's frame goes out and the answer makes the connection online. */
static inline void handshake(struct fixture *f)
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

#endif
