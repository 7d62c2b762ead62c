/* refpush server: the one struct that owns everything refpush runs on, and the
 * interfaces between its files. See server.c for the life cycle. */
#ifndef REFPUSH_SERVER_H
#define REFPUSH_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>
#include <uv.h>

#include "ack.h"
#include "conn.h"
#include "json.h"
#include "msg.h"
#include "queue.h"
#include "ticket.h"

/* Largest push/broadcast body accepted; larger gets 413. */
#define REFPUSH_BODY_MAX    (64 * 1024)
/* lws reads WebSocket frames into a per-connection buffer this big: client
 * frames are tiny (heartbeats), and this is most of a connection's memory. */
#define REFPUSH_WS_RX_BUF   512
/* One send() may carry a whole frame: the biggest escaped body plus wrapping
 * (without it lws would cut sends to REFPUSH_WS_RX_BUF and copy the rest). */
#define REFPUSH_WS_TX_PACKET (6 * REFPUSH_BODY_MAX + 1024)
/* Room kept in front of an HTTP response body for its headers (http.c). */
#define REFPUSH_HTTP_HDR_MAX 512
/* Longest --welcome / --login-reply template, and what one expands to at most
 * ({uid} grows 5 bytes to 20 at most). */
#define REFPUSH_TPL_MAX     1024
#define REFPUSH_TPL_OUT_MAX (4 * REFPUSH_TPL_MAX + 64)
#define REFPUSH_WELCOME_DEFAULT     "{\"type\":\"welcome\",\"session\":\"{session}\"}"
#define REFPUSH_LOGIN_REPLY_DEFAULT \
    "{\"type\":\"login_ok\",\"uid\":{uid},\"session\":\"{session}\"}"
/* Dropped bodies kept for /stats (the count goes on beyond this). */
#define REFPUSH_DROP_KEEP   1024

struct refpush_config {
    const char *bind;            /* IPv4 or IPv6 address to listen on */
    int bind_v6;                 /* bind is an IPv6 address */
    int   port;                  /* WebSocket endpoint + HTTP API */
    int   http_port;             /* separate HTTP-only API listener, -1 for none */
    const char *hb_text;         /* app-level heartbeat the clients send */
    size_t hb_text_len;
    const char *hb_reply;        /* what refpush answers to it */
    size_t hb_reply_len;
    enum refpush_wrap wrap;
    int   quiet;
    /* strict mode: the session of a real service (session.c, docs/refpush.md) */
    const char *welcome;         /* template sent after the upgrade, or NULL */
    int   hb_json;               /* answer {"type":"ping","seq":N} with a JSON pong */
    int   require_login;
    const char *login_secret;    /* tokens are "<secret>-<uid>" */
    const char *login_reply;     /* template sent after a good login, NULL for none */
    uint32_t login_timeout_ms;
    int   require_ack;
    uint32_t ack_timeout_ms;
    uint32_t max_redeliver;
    uint32_t ack_window;
    const char *tls_cert;        /* PEM certificate (chain) for --port, or NULL: plain ws */
    const char *tls_key;         /* its private key */
    struct refpush_ticket_key tls_ticket_key;   /* --tls-ticket-key, or unset: random per process */
    uint32_t ws_ping_ms;         /* --ws-ping: server pings of silent connections, 0 = none */
};

struct refpush_stats {
    uint64_t connections_total;  /* WebSocket connections accepted */
    uint64_t closed_total;       /* ... and closed, for any reason */
    uint64_t pushes;             /* valid POST /push requests */
    uint64_t pushes_unrouted;    /* ... whose uid had no connection (404) */
    uint64_t broadcasts;         /* valid POST /broadcast requests */
    uint64_t frames_delivered;   /* push/broadcast frames written to sockets */
    uint64_t heartbeats;         /* app heartbeats received */
    uint64_t client_frames;      /* other client messages (ignored) */
    uint64_t kicked;             /* connections closed by /admin/kick */
    uint64_t dropped_overflow;   /* frames not queued: the connection's queue was full */
    uint64_t dropped_injected;   /* pushes swallowed by /admin/drop */
    /* strict mode */
    uint64_t welcomes;           /* welcome frames written */
    uint64_t logins;             /* good logins */
    uint64_t login_rejected;     /* closed: bad token, or another message than a login */
    uint64_t login_timeouts;     /* closed: no login in time */
    uint64_t client_invalid;     /* strict-mode frames that were not a valid JSON message */
    /* --ws-ping */
    uint64_t ws_pings;           /* RFC 6455 pings written */
    uint64_t ws_ping_hangups;    /* connections hung up: silent 3 times the interval */
};

/* --ws-ping's queue (ping.c): every open connection, the longest-queued first. */
struct refpush_pinger {
    uv_timer_t timer;            /* at the head's check, or later */
    struct refpush_conn *head, *tail;
    uint32_t interval_ms;        /* 0: off */
    int started;
};

/* The /admin/drop test switch: which unicast push requests to swallow. */
struct refpush_dropped {
    char  *body;
    size_t len;
};

struct refpush_drop {
    uint64_t *nth;               /* armed ordinals, sorted, owned */
    size_t    n_nth;
    size_t    next;              /* index of the next ordinal to match */
    uint64_t  seen;              /* unicast push requests since arming */
    struct refpush_dropped *bodies;   /* owned, with their bodies */
    size_t    n_bodies;
    size_t    cap_bodies;
};

void refpush_drop_init(struct refpush_drop *d);
void refpush_drop_free(struct refpush_drop *d);
/* Replaces the schedule; takes ownership of nth (sorted, unique, may be NULL). */
void refpush_drop_arm(struct refpush_drop *d, uint64_t *nth, size_t n);
/* Counts one unicast push request; 1 if it is to be swallowed. */
int  refpush_drop_take(struct refpush_drop *d);
/* Keeps a copy of a swallowed body (up to REFPUSH_DROP_KEEP of them). */
void refpush_drop_record(struct refpush_drop *d, const char *body, size_t len);

/* A POST body being received; pooled, see http.c. */
struct refpush_body {
    struct refpush_body *next_free;
    char data[REFPUSH_BODY_MAX];
};

struct refpush_server {
    struct refpush_config cfg;
    uv_loop_t *loop;
    void *foreign_loops[1];
    struct lws_context *ctx;
    struct lws_vhost *ws_vhost;        /* --port: /ws and the API */
    struct lws_vhost *api_vhost;       /* --http-port: API only, or NULL */
    struct lws_protocols ws_protocols[3];
    struct lws_protocols api_protocols[2];
    struct lws_protocol_vhost_options pvo_default, pvo_ws;
    struct refpush_pinger pinger;      /* --ws-ping */
    uv_signal_t sig_term, sig_int;
    int signals_started;
    int listening;                     /* start succeeded */
    int stopping;

    struct refpush_uidmap conns;       /* live WebSocket connections by uid */
    struct refpush_qpool  qpool;       /* every queue node */
    struct refpush_msg   *hb_reply;    /* shared by all heartbeat answers */
    struct refpush_stats  stats;
    struct refpush_drop   drop;
    struct refpush_jbuf   out;         /* HTTP response being built */
    struct refpush_body  *body_free;   /* pool of POST body buffers */
    size_t body_free_n;

    /* strict mode (session.c) */
    struct refpush_msg   *welcome;     /* templates, or NULL when off */
    struct refpush_msg   *login_reply;
    struct refpush_msg   *pong;
    struct refpush_acktab acks;        /* --require-ack: every unacked push */
    uv_timer_t ack_timer;              /* at the earliest ack deadline */
    int ack_timer_started;
    unsigned char tpl_out[LWS_PRE + REFPUSH_TPL_OUT_MAX];   /* a template frame being written */
};

/* server.c: init (memory only) -> start (listen) -> stop (on signal) -> close. */
int  refpush_server_init(struct refpush_server *s, const struct refpush_config *cfg, uv_loop_t *loop);
int  refpush_server_start(struct refpush_server *s);
void refpush_server_stop(struct refpush_server *s);
void refpush_server_close(struct refpush_server *s);
/* the wss vhost's OpenSSL context, once lws made it (session tickets) */
int  refpush_server_tls_ctx(struct refpush_server *s, SSL_CTX *ctx);

/* ws.c: the WebSocket protocol and delivery. */
int    refpush_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                           void *in, size_t len);
size_t refpush_ws_count_uid(struct refpush_server *s, uint64_t uid);
size_t refpush_ws_send_uid(struct refpush_server *s, uint64_t uid, struct refpush_msg *m);
size_t refpush_ws_send_all(struct refpush_server *s, struct refpush_msg *m);
size_t refpush_ws_kick(struct refpush_server *s, double fraction);

/* session.c: strict mode - welcome, login, JSON heartbeat, acks. */
int    refpush_session_init(struct refpush_server *s);      /* in server init */
void   refpush_session_start(struct refpush_server *s);     /* in server start */
void   refpush_session_stop(struct refpush_server *s);
void   refpush_session_free(struct refpush_server *s);
/* A new connection: its session id, welcome, login timer. */
void   refpush_session_open(struct refpush_server *s, struct refpush_conn *c);
/* A complete client text frame the plain heartbeat did not take; 1 if the
 * session handled it (0: count it as an ordinary client frame). */
int    refpush_session_receive(struct refpush_server *s, struct refpush_conn *c,
                               const char *in, size_t len);
/* With --require-ack: writes c's next frame when the session has one (a
 * redelivery, or a push needing an ack id). -1 write failed, 0 not the
 * session's (ws.c writes the queue head), 1 written, 2 held (window full). */
int    refpush_session_write(struct refpush_server *s, struct refpush_conn *c);
/* The timer of c fired (login timeout, or a rejection's close): -1 to close. */
int    refpush_session_timer(struct refpush_server *s, struct refpush_conn *c);
void   refpush_session_closed(struct refpush_server *s, struct refpush_conn *c);
/* A template frame for c: expanded into s->tpl_out ({uid}, {session}, and
 * arg as {seq}); *start and the length as refpush_msg_frame gives them. */
size_t refpush_session_expand(struct refpush_server *s, struct refpush_conn *c,
                              struct refpush_msg *m, uint64_t arg, unsigned char **start);
/* Writes message m (from the queue, with its arg; id 0 or its ack id) to c.
 * -1 if the write failed. */
int    refpush_ws_write_msg(struct refpush_server *s, struct refpush_conn *c,
                            struct refpush_msg *m, uint64_t arg, uint32_t id);
int    refpush_ws_enqueue(struct refpush_server *s, struct refpush_conn *c,
                          struct refpush_msg *m, uint64_t arg);

/* ping.c: --ws-ping. start/stop with the server; open/heard/closed from
 * ws.c's callbacks; write when ping_due, before the connection's queue. */
void   refpush_ping_start(struct refpush_server *s);
void   refpush_ping_stop(struct refpush_server *s);
void   refpush_ping_open(struct refpush_server *s, struct refpush_conn *c);
void   refpush_ping_heard(struct refpush_server *s, struct refpush_conn *c);
void   refpush_ping_closed(struct refpush_server *s, struct refpush_conn *c);
int    refpush_ping_write(struct refpush_server *s, struct refpush_conn *c);
void   refpush_ping_due(uv_timer_t *t);

/* http.c: the HTTP protocol (request mechanics). */
int    refpush_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                             void *in, size_t len);
size_t refpush_http_session_size(void);     /* lws per-session memory per request */
void   refpush_http_pool_free(struct refpush_server *s);   /* frees pooled body buffers */

/* api.c: what each endpoint does. Each fills s->out with the JSON response
 * and returns the HTTP status. */
#define REFPUSH_PUSH_UIDS_MAX 256
unsigned refpush_api_push(struct refpush_server *s, const uint64_t *uids, uint32_t n_uids,
                          const char *body, size_t len);
unsigned refpush_api_broadcast(struct refpush_server *s, const char *body, size_t len);
unsigned refpush_api_stats(struct refpush_server *s);
unsigned refpush_api_kick(struct refpush_server *s, double fraction);
unsigned refpush_api_drop(struct refpush_server *s, uint64_t *nth, size_t n);
unsigned refpush_api_error(struct refpush_server *s, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline struct refpush_server *refpush_server_of(struct lws *wsi)
{
    return (struct refpush_server *)lws_context_user(lws_get_context(wsi));
}

#endif
