/* refpush server: life cycle of the one struct that owns everything.
 *
 *   init   memory only: uid index, queue pool, response buffer, the shared
 *          heartbeat reply, the protocol tables lws will point at.
 *   start  the lws context on our own uv loop (LWS_SERVER_OPTION_LIBUV with a
 *          foreign loop), one vhost per listener, SIGTERM/SIGINT watchers, and
 *          the "refpush listening on ws://ADDR:PORT/ws" line on stdout.
 *   stop   (from a signal, or after a failed start) closes the signal handles
 *          and calls lws_context_destroy() once: with a foreign libuv loop that
 *          only starts the teardown - lws closes every connection (each gets
 *          LWS_CALLBACK_CLOSED, which releases its queue) and its uv handles,
 *          whose close callbacks need the loop to keep running. uv_run() in
 *          main then returns when no handle is left.
 *   close  the second lws_context_destroy() finishes and frees the context (the
 *          sequence the lws maintainers give for foreign loops, issues #1969
 *          and #2595), then everything of ours is freed.
 *
 * Two vhosts on one context: "refpush" on --port serves /ws and the HTTP API;
 * "refpush-api" on --http-port (optional) serves the API only. Both list the
 * HTTP protocol first, because lws gives every plain HTTP request to
 * protocols[0]; on the first vhost the WebSocket protocol is made the default
 * (pvo "default") so clients that send no Sec-WebSocket-Protocol are bound to
 * it.
 *
 * Both vhosts get an all-zero retry/idle policy: lws would otherwise arm a
 * validity timer on every connection and re-insert it into a sorted list on
 * every frame, which costs O(connections) per frame at this scale (see
 * LWS-NOTES). --ws-ping's server pings are refpush's own (ping.c), O(1) per
 * frame. */
#include "server.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define REFPUSH_HTTP_KEEPALIVE_S 60

static const lws_retry_bo_t refpush_no_validity_timer;   /* all zero */

int refpush_server_init(struct refpush_server *s, const struct refpush_config *cfg, uv_loop_t *loop)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->loop = loop;
    refpush_qpool_init(&s->qpool);
    refpush_drop_init(&s->drop);
    refpush_jbuf_init(&s->out, LWS_PRE + REFPUSH_HTTP_HDR_MAX);
    if (refpush_uidmap_init(&s->conns))
        return -1;
    s->hb_reply = refpush_msg_new_text(cfg->hb_reply, cfg->hb_reply_len);
    if (!s->hb_reply || refpush_session_init(s))
        return -1;

    struct lws_protocols http = {
        .name = "http",
        .callback = refpush_http_callback,
        .per_session_data_size = refpush_http_session_size(),
    };
    struct lws_protocols ws = {
        .name = "refpush",
        .callback = refpush_ws_callback,
        .per_session_data_size = sizeof(struct refpush_conn),
        .rx_buffer_size = REFPUSH_WS_RX_BUF,
        .tx_packet_size = REFPUSH_WS_TX_PACKET,
    };
    s->ws_protocols[0] = http;
    s->ws_protocols[1] = ws;      /* [2] stays zero: the terminator */
    s->api_protocols[0] = http;   /* [1] stays zero */

    s->pvo_default.name = "default";
    s->pvo_default.value = "1";
    s->pvo_ws.name = "refpush";
    s->pvo_ws.value = "";
    s->pvo_ws.options = &s->pvo_default;
    return 0;
}

static void refpush_server_on_signal(uv_signal_t *h, int signum)
{
    struct refpush_server *s = h->data;
    if (!s->cfg.quiet)
        fprintf(stderr, "refpush: %s, stopping\n", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    refpush_server_stop(s);
}

static int refpush_server_signals(struct refpush_server *s)
{
    uv_signal_init(s->loop, &s->sig_term);
    uv_signal_init(s->loop, &s->sig_int);
    s->sig_term.data = s;
    s->sig_int.data = s;
    s->signals_started = 1;
    int rc = uv_signal_start(&s->sig_term, refpush_server_on_signal, SIGTERM);
    if (!rc)
        rc = uv_signal_start(&s->sig_int, refpush_server_on_signal, SIGINT);
    if (rc)
        fprintf(stderr, "refpush: cannot watch SIGTERM/SIGINT: %s\n", uv_strerror(rc));
    return rc ? -1 : 0;
}

/* Session resumption for reconnecting clients: stateless tickets (OpenSSL's
 * default, kept: the server stores nothing per session, so a reconnect storm
 * of N clients costs no memory), one per connection instead of OpenSSL's two
 * (a client resumes with one; the second is a second encryption here and a
 * second session parsed by every client). The ticket key is random per
 * process unless --tls-ticket-key gives one (ticket.c): only then do the
 * reconnections after a restart of refpush resume. */
int refpush_server_tls_ctx(struct refpush_server *s, SSL_CTX *ctx)
{
    if (!ctx)
        return 0;
    SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 1);
    return refpush_ticket_apply(ctx, &s->cfg.tls_ticket_key);
}

static struct lws_vhost *refpush_server_vhost(struct refpush_server *s, const char *name, int port,
                                              struct lws_protocols *protocols,
                                              const struct lws_protocol_vhost_options *pvo, int tls)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.vhost_name = name;
    info.port = port;
    /* lws takes an interface name or an address; NULL listens on all */
    info.iface = strcmp(s->cfg.bind, "0.0.0.0") ? s->cfg.bind : NULL;
    info.protocols = protocols;
    info.pvo = pvo;
    /* IPv6 only when asked for: a v4 bind stays v4-only, as before */
    info.options = LWS_SERVER_OPTION_LIBUV |
                   (s->cfg.bind_v6 ? LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY | LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE
                                   : LWS_SERVER_OPTION_DISABLE_IPV6);
    info.keepalive_timeout = REFPUSH_HTTP_KEEPALIVE_S;
    info.retry_and_idle_policy = &refpush_no_validity_timer;
    if (tls) {
        /* lws reads this per vhost too: without it the vhost stays plain */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        /* the API speaks HTTP/1.1 only: offering h2 makes curl pick it and
         * get an empty reply */
        info.alpn = "http/1.1";
        info.ssl_cert_filepath = s->cfg.tls_cert;
        info.ssl_private_key_filepath = s->cfg.tls_key;
    }
    struct lws_vhost *vh = lws_create_vhost(s->ctx, &info);
    if (!vh && tls)
        fprintf(stderr, "refpush: cannot listen with TLS on %s:%d (port in use, or --tls-cert %s / "
                        "--tls-key %s not a matching PEM certificate and key)\n",
                s->cfg.bind, port, s->cfg.tls_cert, s->cfg.tls_key);
    else if (!vh)
        fprintf(stderr, "refpush: cannot listen on %s:%d (port in use, or not a local address)\n",
                s->cfg.bind, port);
    return vh;
}

int refpush_server_start(struct refpush_server *s)
{
    if (refpush_server_signals(s))
        return -1;
    refpush_session_start(s);
    refpush_ping_start(s);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    s->foreign_loops[0] = s->loop;
    info.foreign_loops = s->foreign_loops;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    if (s->cfg.tls_cert)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.user = s;
    info.server_string = "refpush";
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        fprintf(stderr, "refpush: cannot create the libwebsockets context (is the libuv "
                        "event library plugin installed?)\n");
        return -1;
    }

    s->ws_vhost = refpush_server_vhost(s, "refpush", s->cfg.port, s->ws_protocols, &s->pvo_ws,
                                        s->cfg.tls_cert != NULL);
    if (!s->ws_vhost)
        return -1;
    if (s->cfg.http_port >= 0) {
        s->api_vhost = refpush_server_vhost(s, "refpush-api", s->cfg.http_port, s->api_protocols,
                                            NULL, 0);
        if (!s->api_vhost)
            return -1;
    }

    int port = lws_get_vhost_listen_port(s->ws_vhost);
    if (!s->cfg.quiet) {
        fprintf(stderr, "refpush: wrap %s, heartbeat \"%s\" -> \"%s\", queue cap %d frames, "
                        "body limit %d bytes\n", s->cfg.wrap == REFPUSH_WRAP_JSON ? "json" : "raw",
                s->cfg.hb_text, s->cfg.hb_reply, REFPUSH_QUEUE_CAP, REFPUSH_BODY_MAX);
        if (s->api_vhost)
            fprintf(stderr, "refpush: push API also on http://%s%s%s:%d/\n", s->cfg.bind_v6 ? "[" : "",
                    s->cfg.bind, s->cfg.bind_v6 ? "]" : "", lws_get_vhost_listen_port(s->api_vhost));
    }
    printf("refpush listening on %s://%s%s%s:%d/ws\n", s->cfg.tls_cert ? "wss" : "ws",
           s->cfg.bind_v6 ? "[" : "", s->cfg.bind, s->cfg.bind_v6 ? "]" : "", port);
    fflush(stdout);
    s->listening = 1;
    return 0;
}

void refpush_server_stop(struct refpush_server *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    if (s->signals_started) {
        /* the handles live inside the server struct: nothing to free */
        uv_close((uv_handle_t *)&s->sig_term, NULL);
        uv_close((uv_handle_t *)&s->sig_int, NULL);
        s->signals_started = 0;
    }
    refpush_session_stop(s);
    refpush_ping_stop(s);
    if (s->ctx)
        lws_context_destroy(s->ctx);   /* first stage; see the top of the file */
}

void refpush_server_close(struct refpush_server *s)
{
    if (s->ctx) {
        lws_context_destroy(s->ctx);   /* second stage: frees the context */
        s->ctx = NULL;
    }
    if (!s->cfg.quiet && s->listening) {
        const struct refpush_stats *st = &s->stats;
        fprintf(stderr, "refpush: stopped; connections %" PRIu64 " accepted, %" PRIu64
                        " closed; pushes %" PRIu64 " (%" PRIu64 " unrouted), broadcasts %" PRIu64
                        ", frames %" PRIu64 ", dropped %" PRIu64 "\n",
                st->connections_total, st->closed_total, st->pushes, st->pushes_unrouted,
                st->broadcasts, st->frames_delivered, st->dropped_overflow + st->dropped_injected);
    }
    if (s->conns.count)
        fprintf(stderr, "refpush: %zu connections still indexed after lws teardown\n",
                s->conns.count);
    refpush_ticket_wipe(&s->cfg.tls_ticket_key);
    refpush_msg_unref(s->hb_reply);
    s->hb_reply = NULL;
    refpush_session_free(s);
    refpush_http_pool_free(s);
    refpush_jbuf_free(&s->out);
    refpush_drop_free(&s->drop);
    refpush_uidmap_free(&s->conns);
    refpush_qpool_free(&s->qpool);
}
