/* wsc_io.c: the native engine's bytes: the upgrade, frames in, frames out.
 *
 * Reading: one recv() into the worker's 64 KiB buffer, through the frame
 * decoder (wsc_frame.c) into conn.c as pieces, like lws's; a Ping is answered
 * from the read callback with one send().
 * Writing: each frame goes straight to the socket, masked with a key from the
 * worker's pool. Only a write the kernel does not take whole leaves a tail in
 * buf and makes the poll watch for writable; until it has drained, a slot's
 * writeable callbacks wait. So a connection's poll events change only around
 * a connect and a full socket buffer, never per message (libuv 1.44 pays an
 * epoll_ctl DEL and ADD for each change). */
#include "agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ps_time.h"
#include "wsc_internal.h"

/* ---------- writing ---------- */

int agent_wsc_watch(struct agent_wsc *s, uint8_t events)
{
    if (s->events == events)
        return 0;
    s->events = events;
    return uv_poll_start(&s->poll, events, agent_wsc_on_poll);
}

/* Sends bytes, or keeps what the kernel did not take as the tail (behind any
 * tail already there). -1: the connection is gone (ended here). */
static int wsc_send(struct agent_worker *w, struct agent_wsc *s, const unsigned char *p, size_t n)
{
    if (!s->buf_len) {
        ssize_t k = send(s->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            agent_wsc_end(w, s, PS_REASON_RESET, (uint32_t)errno);
            return -1;
        }
        if (k > 0) {
            p += k;
            n -= (size_t)k;
        }
        if (!n)
            return 0;
    }
    if (s->buf_len - s->buf_off + n > AGENT_WSC_TAIL_MAX) {
        agent_wsc_end(w, s, PS_REASON_OTHER, 0);   /* the server has stopped reading */
        return -1;
    }
    unsigned char *b = realloc(s->buf, s->buf_len + n);
    if (!b) {
        agent_wsc_end(w, s, PS_REASON_OTHER, ENOMEM);
        return -1;
    }
    memcpy(b + s->buf_len, p, n);
    s->buf = b;
    s->buf_len += (uint32_t)n;
    agent_wsc_watch(s, UV_READABLE | UV_WRITABLE);
    return 0;
}

/* A frame of ours: payload (at most 125 bytes, control frames) copied behind a header. */
static int wsc_send_control(struct agent_worker *w, struct agent_wsc *s, enum agent_wsc_op op,
                            const unsigned char *payload, size_t len)
{
    unsigned char frame[AGENT_WSC_HEAD_MAX + AGENT_WSC_CTL_MAX];
    uint8_t key[4];
    if (agent_wsc_key(w->wsc.keys, key) < 0) {
        agent_wsc_end(w, s, PS_REASON_OTHER, 0);
        return -1;
    }
    memcpy(frame + AGENT_WSC_HEAD_MAX, payload, len);
    size_t h = agent_wsc_frame(frame + AGENT_WSC_HEAD_MAX, len, op, key);
    return wsc_send(w, s, frame + AGENT_WSC_HEAD_MAX - h, h + len);
}

int agent_wsc_write(struct agent_worker *w, uint32_t slot, unsigned char *p, size_t len, int kind)
{
    static const enum agent_wsc_op ops[] = {
        [AGENT_CONN_TEXT] = AGENT_WSC_TEXT,
        [AGENT_CONN_BINARY] = AGENT_WSC_BINARY,
        [AGENT_CONN_PING] = AGENT_WSC_PING,
    };
    struct agent_wsc *s = agent_wsc_of(w, slot);
    uint8_t key[4];
    if (s->phase != AGENT_WSC_OPEN || agent_wsc_key(w->wsc.keys, key) < 0)
        return -1;
    size_t h = agent_wsc_frame(p, len, ops[kind], key);
    return wsc_send(w, s, p - h, h + len);
}

/* OPEN -> CLOSING: on the close list, which ends it at the close timeout. */
static void wsc_closing(struct agent_worker *w, struct agent_wsc *s)
{
    agent_wsc_list_del(w, s);
    s->phase = AGENT_WSC_CLOSING;
    agent_wsc_list_add(w, s, ps_time_mono_us() + AGENT_WSC_CLOSE_S * 1000000LL);
}

/* Our Close, with the code conn.c chose; then the server's is awaited. */
static void wsc_send_close(struct agent_worker *w, struct agent_wsc *s)
{
    const struct agent_conn *c = &w->conns[agent_wsc_slot(w, s)];
    unsigned char code[2] = {(unsigned char)(c->close_code >> 8), (unsigned char)c->close_code};
    if (wsc_send_control(w, s, AGENT_WSC_CLOSE, code, c->close_code ? 2 : 0) < 0)
        return;
    wsc_closing(w, s);
}

/* One writeable callback, as lws would give it. */
void agent_wsc_writeable(struct agent_worker *w, struct agent_wsc *s)
{
    s->flags &= (uint8_t)~WSC_F_WANT;
    uint32_t slot = agent_wsc_slot(w, s);
    if (agent_conn_writeable(w, slot) >= 0 || s->phase != AGENT_WSC_OPEN)
        return;
    if (w->conns[slot].flags & AGENT_CF_WANT_CLOSE)
        wsc_send_close(w, s);
    else
        agent_wsc_end(w, s, PS_REASON_RESET, 0);
}

/* ---------- reading ---------- */

struct wsc_rx_ctx {
    struct agent_worker *w;
    struct agent_wsc *s;
    uint32_t slot;
};

static int wsc_rx_data(void *ctx, const struct agent_wsc_piece *wp)
{
    struct wsc_rx_ctx *x = ctx;
    struct agent_conn *c = &x->w->conns[x->slot];
    if ((c->state != AGENT_CONN_OPEN && c->state != AGENT_CONN_SESSION) || c->reason)
        return 0;   /* closing: the rest of the message no longer matters */
    struct agent_conn_piece p = {
        .in = wp->in, .len = wp->len, .remaining = (size_t)wp->remaining,
        .first = wp->first, .final = wp->final, .binary = wp->binary,
    };
    agent_conn_rx(x->w, x->slot, &p);
    return x->s->phase != AGENT_WSC_OPEN && x->s->phase != AGENT_WSC_CLOSING;
}

static int wsc_rx_control(void *ctx, enum agent_wsc_op op, const unsigned char *payload, size_t len)
{
    struct wsc_rx_ctx *x = ctx;
    struct agent_wsc *s = x->s;
    switch (op) {
    case AGENT_WSC_PING:
        if (s->phase == AGENT_WSC_OPEN && wsc_send_control(x->w, s, AGENT_WSC_PONG, payload, len) < 0)
            return 1;
        return 0;
    case AGENT_WSC_PONG:
        agent_conn_pong(x->w, x->slot);
        return 0;
    case AGENT_WSC_CLOSE:
        agent_conn_peer_close(x->w, x->slot, payload, len);
        /* the server's Close ends it: answered with its code unless ours went first */
        if (s->phase == AGENT_WSC_OPEN && wsc_send_control(x->w, s, AGENT_WSC_CLOSE, payload,
                                                           len >= 2 ? 2 : 0) < 0)
            return 1;
        if (s->buf_len) {
            /* the answer is queued behind a tail: both go before the socket
             * closes (RFC 6455 5.5.1), within the close timeout */
            if (s->phase == AGENT_WSC_OPEN)   /* ours, still in the tail, keeps its deadline */
                wsc_closing(x->w, s);
            s->flags |= WSC_F_DRAIN;
            return 1;
        }
        agent_wsc_end(x->w, s, PS_REASON_SERVER_CLOSE, 0);
        return 1;
    default:
        return 0;
    }
}

static const struct agent_wsc_rx_cb wsc_rx_cb = {wsc_rx_data, wsc_rx_control};

static int wsc_feed(struct agent_worker *w, struct agent_wsc *s, const unsigned char *in, size_t n)
{
    struct wsc_rx_ctx x = {w, s, agent_wsc_slot(w, s)};
    int r = agent_wsc_rx_feed(&s->rx, in, n, &wsc_rx_cb, &x);
    if (r < 0)   /* a frame no server may send: as lws, drop it without a Close */
        agent_wsc_end(w, s, PS_REASON_PROTOCOL, 0);
    return r;
}

static void wsc_read_open(struct agent_worker *w, struct agent_wsc *s)
{
    for (int i = 0; i < 4 && (s->phase == AGENT_WSC_OPEN || s->phase == AGENT_WSC_CLOSING); i++) {
        ssize_t n = recv(s->fd, w->wsc.rxbuf, AGENT_WSC_READ, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n <= 0) {   /* EOF or reset: during our close, the end of it */
            agent_wsc_end(w, s, PS_REASON_RESET, n < 0 ? (uint32_t)errno : 0);
            return;
        }
        if (wsc_feed(w, s, w->wsc.rxbuf, (size_t)n) || (size_t)n < AGENT_WSC_READ)
            return;
    }
}

void agent_wsc_read_now(struct agent_worker *w, uint32_t slot)
{
    struct agent_wsc *s = agent_wsc_of(w, slot);
    if (s->phase == AGENT_WSC_OPEN || s->phase == AGENT_WSC_CLOSING)
        wsc_read_open(w, s);
}

/* ---------- the handshake ---------- */

static uint8_t wsc_hs_reason(enum agent_wsc_hs hs)
{
    switch (hs) {
    case AGENT_WSC_HS_STATUS: return PS_REASON_HTTP_STATUS;
    case AGENT_WSC_HS_ACCEPT: return PS_REASON_BAD_ACCEPT;
    default: return PS_REASON_HANDSHAKE;
    }
}

/* The head is whole: online, or the reason it is not. */
static void wsc_upgraded(struct agent_worker *w, struct agent_wsc *s, size_t end)
{
    char *head = agent_wsc_head(s);
    char key[AGENT_WSC_KEY_LEN + 1];
    memcpy(key, s->buf, AGENT_WSC_KEY_LEN);
    key[AGENT_WSC_KEY_LEN] = 0;
    const char *offered = (const char *)s->buf + AGENT_WSC_KEY_LEN;
    int status = 0;
    enum agent_wsc_hs hs = agent_wsc_http_check(head, end, key, offered[0] ? offered : NULL, &status);
    if (hs != AGENT_WSC_HS_OK) {
        agent_wsc_end(w, s, wsc_hs_reason(hs), hs == AGENT_WSC_HS_STATUS ? (uint32_t)status : 0);
        return;
    }
    /* what followed the head are the first frames: they move to the read buffer */
    size_t extra = s->buf_len - end;
    memcpy(w->wsc.rxbuf, head + end, extra);
    free(s->buf);
    s->buf = NULL;
    s->buf_len = s->buf_off = 0;
    agent_wsc_list_del(w, s);
    s->phase = AGENT_WSC_OPEN;
    agent_wsc_rx_init(&s->rx);
    if (agent_conn_established(w, agent_wsc_slot(w, s)) < 0) {
        agent_wsc_end(w, s, PS_REASON_OTHER, 0);
        return;
    }
    if (extra && s->phase == AGENT_WSC_OPEN)
        wsc_feed(w, s, w->wsc.rxbuf, extra);
}

/* UPGRADE: buf_len bytes of the head gathered in room for buf_off. */
static void wsc_read_head(struct agent_worker *w, struct agent_wsc *s)
{
    if (s->buf_len == s->buf_off) {   /* a long head: more room, up to the limit */
        uint32_t room = s->buf_off * 2 < AGENT_WSC_HEAD_LIMIT ? s->buf_off * 2 : AGENT_WSC_HEAD_LIMIT;
        size_t head_off = (size_t)(agent_wsc_head(s) - (char *)s->buf);
        unsigned char *b = realloc(s->buf, head_off + room);
        if (!b) {
            agent_wsc_end(w, s, PS_REASON_OTHER, ENOMEM);
            return;
        }
        s->buf = b;
        s->buf_off = room;
    }
    char *head = agent_wsc_head(s);
    ssize_t n = recv(s->fd, head + s->buf_len, s->buf_off - s->buf_len, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {   /* the server hung up on the request */
        agent_wsc_end(w, s, PS_REASON_HANDSHAKE, 0);
        return;
    }
    s->buf_len += (uint32_t)n;
    size_t end = agent_wsc_http_head_end(head, s->buf_len);
    if (end)
        wsc_upgraded(w, s, end);
    else if (s->buf_len >= AGENT_WSC_HEAD_LIMIT)
        agent_wsc_end(w, s, PS_REASON_HANDSHAKE, 0);   /* no HTTP answer is that long */
}

/* TCP is up (or failed): then the request goes, in as many writes as it takes. */
static void wsc_write_request(struct agent_worker *w, struct agent_wsc *s)
{
    if (!(s->flags & WSC_F_UP)) {
        int e = 0;
        socklen_t el = sizeof e;
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
            e = errno;
        if (e) {
            struct agent_conn_why why = {.sock_err = e};
            uint32_t aux;
            uint8_t r = agent_conn_classify(&why, &aux);
            agent_wsc_end(w, s, r, aux);
            return;
        }
        s->flags |= WSC_F_UP;
    }
    const char *req = agent_wsc_head(s);
    ssize_t k = send(s->fd, req + s->buf_off, s->buf_len - s->buf_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        agent_wsc_end(w, s, PS_REASON_HANDSHAKE, 0);
        return;
    }
    if (k > 0)
        s->buf_off += (uint32_t)k;
    if (s->buf_off < s->buf_len)
        return;
    /* all sent: the head area now gathers the answer, in the room the request had */
    s->buf_off = s->buf_len > WSC_HEAD_FIRST ? s->buf_len : WSC_HEAD_FIRST;
    s->buf_len = 0;
    s->phase = AGENT_WSC_UPGRADE;
    agent_wsc_watch(s, UV_READABLE);
}

/* ---------- the poll ---------- */

static void wsc_flush_tail(struct agent_worker *w, struct agent_wsc *s)
{
    ssize_t k = send(s->fd, s->buf + s->buf_off, s->buf_len - s->buf_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        agent_wsc_end(w, s, PS_REASON_RESET, (uint32_t)errno);
        return;
    }
    if (k > 0)
        s->buf_off += (uint32_t)k;
    if (s->buf_off < s->buf_len)
        return;
    free(s->buf);
    s->buf = NULL;
    s->buf_len = s->buf_off = 0;
    if (s->flags & WSC_F_DRAIN) {   /* the answer to the server's Close has gone */
        agent_wsc_end(w, s, PS_REASON_SERVER_CLOSE, 0);
        return;
    }
    agent_wsc_watch(s, UV_READABLE);
    if (s->flags & WSC_F_WANT)
        agent_wsc_pend(w, s);   /* the writeable callback it was owed */
}

void agent_wsc_on_poll(uv_poll_t *h, int status, int events)
{
    struct agent_worker *w = h->data;
    struct agent_wsc *s = agent_wsc_of_handle((uv_handle_t *)h);
    if (status < 0) {
        /* libuv 1.44 reports POLLERR as UV_EBADF: the socket's own error
         * says what happened (a refused connect, a reset) */
        if (s->phase == AGENT_WSC_TCP)
            wsc_write_request(w, s);
        else if (s->phase == AGENT_WSC_UPGRADE)
            agent_wsc_end(w, s, PS_REASON_HANDSHAKE, 0);
        else
            wsc_read_open(w, s);
        if (s->phase != AGENT_WSC_FREE)   /* nothing to read after all */
            agent_wsc_end(w, s, PS_REASON_RESET, 0);
        return;
    }
    switch (s->phase) {
    case AGENT_WSC_TCP:
        wsc_write_request(w, s);
        return;
    case AGENT_WSC_UPGRADE:
        if (events & UV_READABLE)
            wsc_read_head(w, s);
        return;
    case AGENT_WSC_OPEN:
    case AGENT_WSC_CLOSING:
        if ((events & UV_WRITABLE) && s->buf_len)
            wsc_flush_tail(w, s);
        if ((events & UV_READABLE) && s->phase != AGENT_WSC_FREE)
            wsc_read_open(w, s);
        return;
    default:
        return;
    }
}

