/* wsc_peer.h: what the native engine's socket tests share
 * (test_wsc_engine.c, test_wsc_engine_close.c): a one-slot worker on a real
 * uv loop whose ws:// target is a server inside the test, on 127.0.0.1, that
 * the test moves one step at a time.
 *
 * The worker is real as far as the engine reaches: conn.c, conn_open.c,
 * session.c and the event batch report what the engine told them, so a test
 * asserts on the failed, connected and closed events and the counters the
 * controller would see. Only the worker's thread, its own timer and lws are
 * missing; the engine's prepare and timer handles run on the test's loop.
 *
 * The server is a non-blocking listening socket and the one connection it
 * accepts: read the request head, answer it (in pieces if asked), write
 * frames, read the client's frames exactly. Every wait pumps the loop
 * (UV_RUN_NOWAIT) so that the engine moves meanwhile, and fails the test
 * after two seconds.
 *
 * send() is wrapped at link time (-Wl,--wrap=send, Makefile): the engine's
 * calls are counted per socket, so a test can tell one write from two. */
#ifndef TEST_WSC_PEER_H
#define TEST_WSC_PEER_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <cmocka.h>

#include "agent.h"
#include "ps_time.h"
#include "wsc_internal.h"

#define RUN 7
#define FIRST 100
#define WAIT_US 2000000

/* ---------- send(), counted ---------- */

ssize_t __real_send(int fd, const void *buf, size_t len, int flags);

static struct { int fd; unsigned calls; } sends;   /* the socket watched, its send() calls */

ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags)
{
    if (fd == sends.fd)
        sends.calls++;
    return __real_send(fd, buf, len, flags);
}

/* ---------- the worker ---------- */

struct fixture {
    struct agent ag;
    struct agent_worker w;
    int lfd;          /* the server's listening socket */
    int sfd;          /* the connection it accepted, -1 = none */
    int port;
};

static inline void pump(struct fixture *f)
{
    uv_run(&f->w.loop, UV_RUN_NOWAIT);
}

/* Runs the loop until cond holds, or fails the test after WAIT_US. cond is
 * evaluated once per turn (it may read or accept). */
#define PUMP_UNTIL(f, cond)                                                     \
    do {                                                                        \
        int64_t until_ = ps_time_mono_us() + WAIT_US;                           \
        int ok_;                                                                \
        while (!(ok_ = !!(cond)) && ps_time_mono_us() < until_) {               \
            pump(f);                                                            \
            usleep(100);                                                        \
        }                                                                       \
        if (!ok_)                                                               \
            fail_msg("%s: not so after %d ms (slot 0: phase %u, tail %u)", #cond, \
                     WAIT_US / 1000, (f)->w.wsc.conns[0].phase,                 \
                     (f)->w.wsc.conns[0].buf_len);                              \
    } while (0)

static inline void pump_for(struct fixture *f, int ms)
{
    int64_t until = ps_time_mono_us() + ms * 1000LL;
    while (ps_time_mono_us() < until) {
        pump(f);
        usleep(100);
    }
}

static inline struct agent_wsc *wsc0(struct fixture *f)
{
    return &f->w.wsc.conns[0];
}

static inline int listen_local(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A worker with one ws:// slot (connection id FIRST) on the native engine,
 * its target the test's server; steps, when given, are its session script. */
static inline struct fixture *fixture_new(const struct ps_session_step *steps, uint32_t n_steps)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->sfd = -1;
    f->lfd = listen_local(&f->port);
    struct ps_assign *a = &f->ag.assign.a;
    f->ag.n_workers = 1;
    f->ag.opts.engine = AGENT_ENGINE_NATIVE;
    a->run_id = RUN;
    a->conn_first = FIRST;
    a->conn_count = 1;
    a->n_targets = 1;
    snprintf(a->targets[0], sizeof a->targets[0], "ws://127.0.0.1:%d/feed?c={conn}", f->port);
    a->max_message = 1 << 20;
    a->max_inflight = 4;
    for (uint32_t i = 0; i < n_steps; i++)
        a->steps[i] = steps[i];
    a->n_steps = n_steps;
    struct agent_target *t = &f->ag.assign.targets[0];
    snprintf(t->host, sizeof t->host, "127.0.0.1");
    snprintf(t->addr, sizeof t->addr, "127.0.0.1");
    t->port = f->port;
    char err[PS_REASON_MAX];
    assert_int_equal(agent_script_prepare(&f->ag.assign.script, a, err, sizeof err), 0);
    agent_worker_init(&f->w, &f->ag, 0);
    assert_int_equal(uv_loop_init(&f->w.loop), 0);
    f->w.n_conns = 1;
    f->w.max_inflight = 4;
    f->w.conns = calloc(1, sizeof *f->w.conns);
    assert_non_null(f->w.conns);
    assert_int_equal(agent_session_alloc(&f->w), 0);
    assert_int_equal(agent_wsc_assign(&f->w), 0);
    assert_non_null(f->w.wsc.conns);
    assert_true(agent_wsc_native(&f->w, 0));
    agent_wsc_start(&f->w);
    memset(&sends, 0, sizeof sends);
    sends.fd = -1;
    return f;
}

/* QUIT as the worker does it, then every handle must be gone: nothing leaks. */
static inline void fixture_free(struct fixture *f)
{
    agent_wsc_quit(&f->w);
    uv_run(&f->w.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->w.loop), 0);
    agent_worker_close(&f->w);
    agent_script_free(&f->ag.assign.script);
    if (f->sfd >= 0)
        close(f->sfd);
    if (f->lfd >= 0)
        close(f->lfd);
    free(f);
}

static inline int count_events(const struct fixture *f, uint32_t type)
{
    int n = 0;
    for (uint32_t i = 0; i < f->w.batch.n; i++)
        n += f->w.batch.ev[i].type == type;
    return n;
}

/* The last event of that type (an attempt's end is the last of its kind). */
static inline const struct ps_event *last_event(const struct fixture *f, uint32_t type)
{
    for (uint32_t i = f->w.batch.n; i-- > 0;)
        if (f->w.batch.ev[i].type == type)
            return &f->w.batch.ev[i];
    fail_msg("no %s event", ps_ev_type_name(type));
    return NULL;
}

/* Starts slot 0's attempt as the ramp does; its socket's send() calls count. */
static inline void open_slot(struct fixture *f)
{
    assert_false(agent_wsc_holds(&f->w, 0));    /* the last attempt has ended */
    PUMP_UNTIL(f, !agent_wsc_busy(&f->w, 0));   /* and its handle is closed */
    agent_conn_open(&f->w, 0);
    assert_int_equal(f->w.conns[0].state, AGENT_CONN_CONNECTING);
    sends.fd = wsc0(f)->fd;
}

/* ---------- the server ---------- */

static inline void srv_accept(struct fixture *f)
{
    if (f->sfd >= 0)
        close(f->sfd);
    f->sfd = -1;
    PUMP_UNTIL(f, (f->sfd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0);
}

static inline void srv_hangup(struct fixture *f)
{
    close(f->sfd);
    f->sfd = -1;
}

/* Exactly n bytes from the client. */
static inline void srv_read(struct fixture *f, void *buf, size_t n)
{
    size_t got = 0;
    PUMP_UNTIL(f, ({
        ssize_t k = recv(f->sfd, (char *)buf + got, n - got, 0);
        if (k > 0)
            got += (size_t)k;
        got == n;
    }));
}

/* Bytes the client has sent and the test has not read (0: none within ms). */
static inline size_t srv_pending(struct fixture *f, int ms)
{
    char b[256];
    pump_for(f, ms);
    ssize_t k = recv(f->sfd, b, sizeof b, MSG_PEEK);
    return k > 0 ? (size_t)k : 0;
}

/* The client closed its socket without sending anything more. */
static inline void srv_expect_eof(struct fixture *f)
{
    char b[64];
    ssize_t k = -1;
    PUMP_UNTIL(f, (k = recv(f->sfd, b, sizeof b, 0)) >= 0 || errno == ECONNRESET);
    assert_true(k <= 0);
}

/* The request head, up to and with its blank line, read byte by byte so
 * that whatever follows stays in the socket; returns its length. */
static inline size_t srv_read_head(struct fixture *f, char *head, size_t cap)
{
    size_t n = 0;
    while (n < 4 || memcmp(head + n - 4, "\r\n\r\n", 4)) {
        assert_true(n + 1 < cap);
        srv_read(f, head + n, 1);
        n++;
    }
    head[n] = 0;
    return n;
}

/* Writes all of it (the client's loop runs while the socket is full). */
static inline void srv_send(struct fixture *f, const void *buf, size_t n)
{
    size_t at = 0;
    PUMP_UNTIL(f, ({
        ssize_t k = send(f->sfd, (const char *)buf + at, n - at, MSG_NOSIGNAL);
        if (k > 0)
            at += (size_t)k;
        at == n;
    }));
}

/* A header's value in a request head ("" if absent), for checking its shape. */
static inline void head_value(const char *head, const char *name, char *out, size_t cap)
{
    out[0] = 0;
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (!strncasecmp(line, name, nl) && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            size_t len = (size_t)(strstr(v, "\r\n") - v);
            snprintf(out, cap, "%.*s", (int)len, v);
            return;
        }
    }
}

/* RFC 6455 4.2.2: base64(SHA-1(key + GUID)), computed here, not by the codec. */
static inline void accept_of(const char *key, char out[29])
{
    char cat[128];
    unsigned char md[SHA_DIGEST_LENGTH];
    int n = snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    SHA1((const unsigned char *)cat, (size_t)n, md);
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

/* The 101 that accepts this request head, with pad bytes of an extra header. */
static inline int answer_101(const char *head, char *out, size_t cap, size_t pad)
{
    char key[64], acc[29];
    head_value(head, "Sec-WebSocket-Key", key, sizeof key);
    accept_of(key, acc);
    int n = snprintf(out, cap, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nX-Pad: ", acc);
    assert_true(n > 0 && (size_t)n + pad + 4 < cap);
    memset(out + n, 'p', pad);
    memcpy(out + n + pad, "\r\n\r\n", 4);
    return n + (int)pad + 4;
}

/* Slot 0's attempt, its request read by the server and not answered yet. */
static inline size_t take_request(struct fixture *f, char *head, size_t cap)
{
    open_slot(f);
    srv_accept(f);
    return srv_read_head(f, head, cap);
}

/* Accept, read the request, answer 101: the connection is up on both sides. */
static inline void upgrade(struct fixture *f)
{
    char head[2048], ans[512];
    take_request(f, head, sizeof head);
    srv_send(f, ans, (size_t)answer_101(head, ans, sizeof ans, 0));
    PUMP_UNTIL(f, wsc0(f)->phase == AGENT_WSC_OPEN);
}

/* A server frame (never masked, unless mask is given to break the rule). */
static inline size_t srv_frame(unsigned char *out, int fin, int op, const void *payload,
                               size_t len, const uint8_t *mask)
{
    size_t h = 0;
    out[h++] = (unsigned char)((fin ? 0x80 : 0) | op);
    unsigned char m = mask ? 0x80 : 0;
    if (len < 126) {
        out[h++] = (unsigned char)(m | len);
    } else {
        assert_true(len <= 0xffff);
        out[h++] = (unsigned char)(m | 126);
        out[h++] = (unsigned char)(len >> 8);
        out[h++] = (unsigned char)len;
    }
    if (mask) {
        memcpy(out + h, mask, 4);
        h += 4;
    }
    for (size_t i = 0; i < len; i++)
        out[h + i] = ((const unsigned char *)payload)[i] ^ (mask ? mask[i % 4] : 0);
    return h + len;
}

/* One client frame, read exactly: it must be FIN and masked (RFC 6455 5.1, 5.3);
 * its opcode, and its payload unmasked into out (its length in *len). */
static inline int srv_read_frame(struct fixture *f, unsigned char *out, size_t cap, size_t *len)
{
    unsigned char h[14];
    srv_read(f, h, 2);
    assert_int_equal(h[0] & 0xf0, 0x80);
    assert_true(h[1] & 0x80);
    size_t n = h[1] & 0x7f, at = 2;
    if (n == 126) {
        srv_read(f, h + 2, 2);
        n = (size_t)h[2] << 8 | h[3];
        at = 4;
    } else if (n == 127) {
        srv_read(f, h + 2, 8);
        n = 0;
        for (int i = 2; i < 10; i++)
            n = n << 8 | h[i];
        at = 10;
    }
    srv_read(f, h + at, 4);
    assert_true(n <= cap);
    srv_read(f, out, n);
    for (size_t i = 0; i < n; i++)
        out[i] ^= h[at + i % 4];
    *len = n;
    return h[0] & 0x0f;
}

#endif
