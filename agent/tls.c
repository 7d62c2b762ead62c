/* tls.c: a worker's TLS client settings, one lws vhost per plan `tls:` block.
 *
 * The assignment carries the plan's distinct TLS settings (at most PS_MAX_TLS)
 * and, per target, which one it uses. What lives in an OpenSSL SSL_CTX (trust
 * store, client certificate, minimum version) is per vhost in lws, so each
 * worker makes one client-only vhost per setting on its own context, when the
 * assignment arrives and only if some target is wss; connections pick theirs
 * through ci.vhost. What lws decides per connection (skipping verification,
 * the name for SNI and verification) comes from agent_tls_conn().
 *
 * A vhost survives from one run to the next when its settings did not change
 * (the usual case for an agent serving many runs); otherwise it is destroyed
 * (no connection is live between runs) and made again. A CA directory goes
 * in through lws's "load extra client verify certs" callback, which runs
 * inside lws_create_vhost(): w->tls_loading tells it which setting it is for.
 *
 * Session resumption: lws 4.1 keeps no client sessions, so the worker keeps
 * one per target (w->tls_sess, emptied at every assignment: a run's first
 * connect to a target is a full handshake). OpenSSL hands every new session
 * (a TLS 1.3 ticket, or a TLS 1.2 session) to agent_tls_keep(); the next
 * reconnection to that target offers it from the info callback at handshake start,
 * the one moment between lws's SSL_new() and the ClientHello that lws lets us
 * see. Both find the connection from the SSL's socket (wsi_from_fd) and the
 * worker from the SSL_CTX (an ex_data slot set when the vhost is made). The
 * same callback counts finished handshakes, full or resumed. */
#include "agent.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The server's alerts: lws 4.1.6 reports every handshake failure as
 * "error:00000001:lib(0)::reason(1)" and its own SSL_INFO callback crashes on
 * client connections, so the context's info callback notes a received alert
 * on the SSL object itself (an ex_data slot: OpenSSL hands out its indexes
 * process-wide, once), where the connection-error callback reads it. The
 * SSL_CTX's slot holds the worker whose vhost made it. */
static pthread_once_t agent_tls_once = PTHREAD_ONCE_INIT;
static int agent_tls_idx = -1, agent_tls_ctx_idx = -1;

static void agent_tls_index(void)
{
    agent_tls_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    agent_tls_ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static struct agent_worker *agent_tls_worker(const SSL *ssl)
{
    return agent_tls_ctx_idx >= 0 ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), agent_tls_ctx_idx)
                                  : NULL;
}

/* The connection on this SSL's socket and its target; NULL if it is none of ours. */
static struct agent_conn *agent_tls_conn_of(struct agent_worker *w, const SSL *ssl,
                                            uint32_t *target)
{
    struct lws *wsi = w && w->ctx ? wsi_from_fd(w->ctx, SSL_get_fd(ssl)) : NULL;
    struct agent_conn *c = wsi ? lws_wsi_user(wsi) : NULL;
    if (!c || c < w->conns || c >= w->conns + w->n_conns)
        return NULL;
    *target = agent_conn_target(w, (uint32_t)(c - w->conns));
    return *target < PS_MAX_TARGETS ? c : NULL;
}

/* OpenSSL's new-session callback: a copy of the latest session of a target
 * replaces the one kept. A copy, because OpenSSL marks a connection's own
 * session not resumable when that connection ends without a close_notify
 * (as every connection of a disconnect storm may), which would turn the
 * reconnections into full handshakes until another ticket came in. */
static int agent_tls_keep(SSL *ssl, SSL_SESSION *sess)
{
    struct agent_worker *w = agent_tls_worker(ssl);
    uint32_t target;
    SSL_SESSION *copy;
    if (!agent_tls_conn_of(w, ssl, &target) || !(copy = SSL_SESSION_dup(sess)))
        return 0;
    if (w->tls_sess[target])
        SSL_SESSION_free(w->tls_sess[target]);
    w->tls_sess[target] = copy;
    return 0;
}

/* Only a reconnection (attempt > 0) offers the target's session: a first
 * connect is a new client, which has none, so a ramp costs the server what a
 * crowd of new clients would, and only a reconnect storm is cheaper. Each
 * connection gets its own copy (the SSL holds the reference): the kept one is
 * never a connection's own, so no connection's bad end can spoil it. */
static void agent_tls_offer(SSL *ssl)
{
    struct agent_worker *w = agent_tls_worker(ssl);
    uint32_t target;
    const struct agent_conn *c = agent_tls_conn_of(w, ssl, &target);
    SSL_SESSION *copy;
    if (!c || !c->attempt || !w->tls_sess[target] || !(copy = SSL_SESSION_dup(w->tls_sess[target])))
        return;
    SSL_set_session(ssl, copy);
    SSL_SESSION_free(copy);
}

static void agent_tls_info(const SSL *ssl, int where, int ret)
{
    if ((where & SSL_CB_READ_ALERT) == SSL_CB_READ_ALERT && agent_tls_idx >= 0)
        SSL_set_ex_data((SSL *)ssl, agent_tls_idx, (void *)(uintptr_t)(0x100 | (ret & 0xff)));
    if (where & SSL_CB_HANDSHAKE_START) {
        agent_tls_offer((SSL *)ssl);
    } else if (where & SSL_CB_HANDSHAKE_DONE) {
        struct agent_worker *w = agent_tls_worker(ssl);
        if (w && SSL_session_reused((SSL *)ssl))
            w->c.tls_resumed++;
        else if (w)
            w->c.tls_full++;
    }
}

static void agent_tls_forget(struct agent_worker *w)
{
    for (uint32_t t = 0; t < PS_MAX_TARGETS; t++) {
        if (w->tls_sess[t])
            SSL_SESSION_free(w->tls_sess[t]);
        w->tls_sess[t] = NULL;
    }
}

int agent_tls_alert(struct lws *wsi)
{
    SSL *ssl = lws_get_ssl(wsi);
    uintptr_t v = ssl && agent_tls_idx >= 0 ? (uintptr_t)SSL_get_ex_data(ssl, agent_tls_idx) : 0;
    return v ? (int)(v & 0xff) : -1;
}

static void agent_tls_drop(struct agent_worker *w, uint32_t i)
{
    if (w->tls_vh[i])
        lws_vhost_destroy(w->tls_vh[i]);
    w->tls_vh[i] = NULL;
    memset(&w->tls_have[i], 0, sizeof w->tls_have[i]);
}

static int agent_tls_make(struct agent_worker *w, uint32_t i, const struct ps_tls *t, char *err,
                          size_t errlen)
{
    struct lws_context_creation_info info;
    char name[32];
    memset(&info, 0, sizeof info);
    snprintf(name, sizeof name, "tls%u.%u", i, ++w->tls_generation);
    info.vhost_name = name;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = w->protocols;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.client_ssl_ca_filepath = t->ca_file[0] ? t->ca_file : NULL;
    info.client_ssl_cert_filepath = t->cert[0] ? t->cert : NULL;
    info.client_ssl_private_key_filepath = t->key[0] ? t->key : NULL;
    /* options are part of lws's fingerprint for sharing client contexts, so a
     * minimum version never leaks into a setting that did not ask for it */
    if (t->min_version >= 12)
        info.ssl_client_options_set |= SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
    if (t->min_version >= 13)
        info.ssl_client_options_set |= SSL_OP_NO_TLSv1_2;
    w->tls_loading = t;
    w->tls_load_failed = 0;
    w->tls_vh[i] = lws_create_vhost(w->ctx, &info);
    w->tls_loading = NULL;
    if (!w->tls_vh[i] || w->tls_load_failed) {
        snprintf(err, errlen, "TLS settings %u: cannot set up (CA %s%s, cert %s, key %s): unreadable "
                 "file, not PEM, or a key that does not match the certificate", i,
                 t->ca_file[0] ? t->ca_file : t->ca_dir[0] ? t->ca_dir : "system",
                 t->ca_dir[0] && t->ca_file[0] ? " + dir" : "", t->cert[0] ? t->cert : "none",
                 t->key[0] ? t->key : "none");
        agent_tls_drop(w, i);
        return -1;
    }
    w->tls_have[i] = *t;
    return 0;
}

int agent_tls_assign(struct agent_worker *w, char *err, size_t errlen)
{
    const struct agent_assign *as = &w->agent->assign;
    const struct ps_assign *a = &as->a;
    int any_wss = 0;
    agent_tls_forget(w);
    for (uint32_t t = 0; t < a->n_targets; t++)
        any_wss |= as->targets[t].scheme_tls;
    for (uint32_t i = 0; i < PS_MAX_TLS; i++) {
        int want = any_wss && i < a->n_tls;
        if (w->tls_vh[i] && (!want || memcmp(&w->tls_have[i], &a->tls[i], sizeof a->tls[i])))
            agent_tls_drop(w, i);
        if (want && !w->tls_vh[i] && agent_tls_make(w, i, &a->tls[i], err, errlen))
            return -1;
    }
    return 0;
}

void agent_tls_close(struct agent_worker *w)
{
    /* the context's destruction frees its vhosts: just forget them */
    agent_tls_forget(w);
    memset(w->tls_vh, 0, sizeof w->tls_vh);
    memset(w->tls_have, 0, sizeof w->tls_have);
}

/* Called from lws_create_vhost() for the setting being made. */
void agent_tls_load_extra(struct agent_worker *w, SSL_CTX *ctx)
{
    pthread_once(&agent_tls_once, agent_tls_index);
    SSL_CTX_set_info_callback(ctx, agent_tls_info);
    SSL_CTX_set_ex_data(ctx, agent_tls_ctx_idx, w);
    /* the client side of OpenSSL's cache only calls back: the worker stores */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, agent_tls_keep);
    const struct ps_tls *t = w ? w->tls_loading : NULL;
    if (t && t->ca_dir[0] && SSL_CTX_load_verify_locations(ctx, NULL, t->ca_dir) != 1)
        w->tls_load_failed = 1;
}

/* After the upgrade: OpenSSL keeps a connection's 16.7 KB read buffer
 * while the last record it read in is not followed by a read that found the
 * socket empty, which on an idle push connection can be for ever;
 * SSL_MODE_RELEASE_BUFFERS (set by lws) does not cover it. SSL_free_buffers()
 * frees both buffers when nothing is pending in them, and refuses otherwise. */
void agent_tls_trim(struct lws *wsi)
{
    SSL *ssl = lws_get_ssl(wsi);
    if (ssl)
        SSL_free_buffers(ssl);
}

void agent_tls_conn(const struct agent_worker *w, uint32_t target,
                    struct lws_client_connect_info *ci)
{
    const struct agent_assign *as = &w->agent->assign;
    if (!as->targets[target].scheme_tls)
        return;
    uint32_t i = as->a.n_target_tls ? (uint32_t)as->a.target_tls[target] : 0;
    ci->ssl_connection = LCCSCF_USE_SSL;
    if (!w->tls_vh[i])
        return;   /* no settings sent (an older controller): the default vhost */
    const struct ps_tls *t = &as->a.tls[i];
    ci->vhost = w->tls_vh[i];
    if (t->insecure)
        ci->ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                              LCCSCF_ALLOW_INSECURE | LCCSCF_ALLOW_EXPIRED;
    if (t->server_name[0])
        ci->host = t->server_name;   /* lws takes SNI and the name to verify from it */
}
