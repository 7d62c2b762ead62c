/* conn_open.c: starting a connection attempt, and what identifies it.
 *
 * A slot's connection id, its target (id mod the number of targets) and its
 * template variables ({conn}, {agent}, {target}, {csv.*}, captures) are built
 * here, for the URL and subprotocol at connect time and for conn.c's headers
 * and heartbeats. A target speaking a client protocol offers its dialect's
 * subprotocol when the plan names none (dialect.c). agent_conn_open() expands the URL, hands lws a connect_info
 * that points into the slot (userdata, pwsi) and a numeric address resolved
 * once per target (target.c), and binds to the agent's next source address.
 * A connect() that fails at once ends the attempt through agent_conn_ended(),
 * like every other failure (conn.c). */
#include "agent.h"

#include <stdio.h>
#include <string.h>

#include "ps_time.h"
#include "ps_tpl.h"

static const lws_retry_bo_t agent_conn_no_retry;   /* all zero: no lws validity timer */

/* Connection id i goes to target i mod n_targets. */
uint32_t agent_conn_target(const struct agent_worker *w, uint32_t slot)
{
    const struct ps_assign *a = &w->agent->assign.a;
    return a->n_targets ? agent_worker_conn_id(w, slot) % a->n_targets : 0;
}

char *agent_conn_vars(const struct agent_worker *w, uint32_t slot)
{
    return w->vars ? w->vars + (size_t)slot * w->agent->assign.script.vars_bytes : NULL;
}

void agent_conn_tpl_init(struct agent_conn_tpl *t, const struct agent_worker *w, uint32_t slot)
{
    snprintf(t->conn, sizeof t->conn, "%u", agent_worker_conn_id(w, slot));
    snprintf(t->agent, sizeof t->agent, "%u", w->agent->assign.agent_id);
    snprintf(t->target, sizeof t->target, "%u", agent_conn_target(w, slot));
    t->vars[0] = (struct ps_tpl_var){"conn", t->conn};
    t->vars[1] = (struct ps_tpl_var){"agent", t->agent};
    t->vars[2] = (struct ps_tpl_var){"target", t->target};
    t->row.csv = &w->agent->csv;
    t->row.local = agent_worker_conn_id(w, slot) - w->agent->assign.a.conn_first;
    t->src.get = agent_csv_get;
    t->src.ctx = &t->row;
    t->n = 3;
    const char *region = agent_conn_vars(w, slot);
    const struct agent_script *sc = &w->agent->assign.script;
    for (uint32_t i = 0; region && i < sc->n_vars; i++)
        t->vars[t->n++] = (struct ps_tpl_var){w->agent->assign.a.session_vars[i],
                                              agent_script_var(sc, region, i)};
}

/* The plan's extra headers, each "Name: value\r\n" after its templates: the
 * bytes written, -1 when they do not fit. (Under lws, conn.c adds them one
 * by one from its handshake callback.) */
static int agent_conn_header_lines(const struct agent_worker *w, const struct agent_conn_tpl *tpl,
                                   char *out, size_t cap)
{
    const struct ps_assign *a = &w->agent->assign.a;
    size_t at = 0;
    char value[PS_HDR_MAX * 2];
    out[0] = 0;
    for (uint32_t i = 0; i < a->n_headers; i++) {
        int n = ps_tpl_expand_src(value, sizeof value, a->headers[i].value, tpl->vars, tpl->n, &tpl->src);
        if (n < 0)
            return -1;
        int k = snprintf(out + at, cap - at, "%s: %s\r\n", a->headers[i].name, value);
        if (k < 0 || (size_t)k >= cap - at)
            return -1;
        at += (size_t)k;
    }
    return (int)at;
}

/* The slot's source address, the same for either engine: the agent's
 * --source-ips dealt round robin by connection id, NULL without them. */
static int agent_conn_src_index(const struct agent_worker *w, uint32_t slot)
{
    const struct agent *ag = w->agent;
    if (!ag->opts.n_src)
        return -1;
    return (int)((agent_worker_conn_id(w, slot) - ag->assign.a.conn_first) % ag->opts.n_src);
}

static const char *agent_conn_src(const struct agent_worker *w, uint32_t slot)
{
    int i = agent_conn_src_index(w, slot);
    return i < 0 ? NULL : w->agent->opts.src_ips[i];
}

/* A connect() that failed before any callback ends the attempt with the
 * reason its errno says (no route, usually), whichever engine tried it. */
static void agent_conn_failed_at_once(struct agent_worker *w, uint32_t slot, int err)
{
    struct agent_conn_why why = {.sock_err = err};
    uint32_t aux;
    uint8_t r = agent_conn_classify(&why, &aux);
    agent_conn_ended(w, slot, r, aux);
}

/* A ws:// attempt on our own engine (wsc.c): same address, source address,
 * Host, Origin and subprotocol as lws would send. */
static void agent_conn_open_native(struct agent_worker *w, uint32_t slot,
                                   const struct agent_conn_tpl *tpl, const char *path,
                                   const char *protocol)
{
    struct agent *ag = w->agent;
    const struct agent_target *t = &ag->assign.targets[agent_conn_target(w, slot)];
    char host[sizeof t->host + 8], extra[PS_MAX_HEADERS * (PS_HDR_MAX * 3 + 4) + 1];
    if (t->port == 80)
        snprintf(host, sizeof host, "%s", t->host);
    else
        snprintf(host, sizeof host, "%s:%d", t->host, t->port);
    if (agent_conn_header_lines(w, tpl, extra, sizeof extra) < 0) {
        agent_conn_ended(w, slot, PS_REASON_OTHER, 0);
        return;
    }
    struct agent_wsc_req req = {
        .host = host, .path = path, .origin = t->host, .protocol = protocol,
        .extra = extra[0] ? extra : NULL,
    };
    int src = agent_conn_src_index(w, slot);
    int e = agent_wsc_open(w, slot, &req, t->addr, t->port, src < 0 ? NULL : ag->opts.src_ips[src],
                           src < 0 ? 0 : ag->opts.src_scope[src]);
    if (e)   /* the socket failed at once, with its errno */
        agent_conn_failed_at_once(w, slot, e);
}

void agent_conn_open(struct agent_worker *w, uint32_t slot)
{
    struct agent *ag = w->agent;
    const struct ps_assign *a = &ag->assign.a;
    struct agent_conn *c = &w->conns[slot];
    if (agent_wsc_busy(w, slot)) {   /* the last attempt's handle closes this loop turn */
        c->mark_us = ps_time_mono_us() + 1000;
        return;
    }
    if (c->state == AGENT_CONN_WAITING)
        w->n_waiting--;
    uint32_t target = agent_conn_target(w, slot);
    const struct agent_target *t = &ag->assign.targets[target];
    char url[PS_URL_MAX * 2], path[PS_URL_MAX * 2];
    struct agent_conn_tpl tpl;
    agent_conn_tpl_init(&tpl, w, slot);

    memset(&c->tok, 0, sizeof c->tok);
    c->hb_seq = 0;
    c->state = AGENT_CONN_CONNECTING;
    c->mark_us = ps_time_mono_us();
    c->flags = 0;
    c->reason = 0;
    c->close_code = 0;
    c->wsi = NULL;
    w->inflight++;
    w->n_live++;

    if (ps_tpl_expand_src(url, sizeof url, a->targets[target], tpl.vars, tpl.n, &tpl.src) < 0 ||
        agent_target_path(url, path, sizeof path)) {
        agent_conn_ended(w, slot, PS_REASON_OTHER, 0);
        return;
    }
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = w->ctx;
    ci.address = t->addr;
    ci.port = t->port;
    ci.path = path;
    ci.host = t->host;
    ci.origin = t->host;
    agent_tls_conn(w, target, &ci);
    char subprotocol[PS_HDR_MAX * 2];
    if (a->subprotocol[0] &&
        ps_tpl_expand_src(subprotocol, sizeof subprotocol, a->subprotocol, tpl.vars, tpl.n, &tpl.src) < 0) {
        agent_conn_ended(w, slot, PS_REASON_OTHER, 0);
        return;
    }
    ci.protocol = a->subprotocol[0] ? subprotocol : NULL;   /* lws copies it */
    const struct agent_dialect *dl = w->dl.conn ? agent_dialect_of(w, slot) : NULL;
    if (!ci.protocol && dl)
        ci.protocol = dl->subprotocol;   /* the client protocol's own, e.g. "mqtt" */
    if (agent_wsc_native(w, slot)) {
        agent_conn_open_native(w, slot, &tpl, path, ci.protocol);
        return;
    }
    ci.local_protocol_name = w->protocols[0].name;
    ci.userdata = c;
    ci.pwsi = &c->wsi;
    ci.retry_and_idle_policy = &agent_conn_no_retry;
    ci.ietf_version_or_minus_one = -1;
    ci.iface = agent_conn_src(w, slot);
    struct lws *wsi = agent_srcaddr_connect(&ci);
    if (!wsi && c->state == AGENT_CONN_CONNECTING) {
        /* connect() failed at once and lws closed the socket without a callback
         * or an errno we could trust: ask the kernel for the route, which is
         * what such a connect() fails on */
        c->wsi = NULL;
        agent_conn_failed_at_once(w, slot, agent_conn_route_errno(t->addr, t->port));
    }
}
