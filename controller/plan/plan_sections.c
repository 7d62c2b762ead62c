/* plan_sections: the tables that say what a plan may contain.
 *
 * One function per section (targets, agents, connections, heartbeat,
 * reconnect, thresholds) and per phase kind, each holding the field table of
 * its map: key, value parser, destination, flags. Reading a section is
 * plan_map() over that table; what is left is the few rules between keys of
 * the same map (ramps only go up, recipients only with multicast, heartbeat
 * keys that need heartbeat.text, ...), checked right after the map, so they
 * can point at the key in question.
 *
 * Defaults: plan_sections_defaults() sets the plan-wide ones before the walk,
 * sections and phases set their own before their map is read, and whatever is
 * written overwrites them. The only derived defaults (broadcast URL, ramp
 * timeout, app heartbeat interval) are computed once their inputs are known.
 * docs/plan.md lists every key and default; keep the two in step.
 *
 * Phases remember, in struct plan_ctx, the nodes that later rules need
 * (ramp "to", multicast recipients, reconnection waits) for plan_cross.c. */
#include "plan_schema.h"

#include <stdio.h>
#include <string.h>

#include "ps_units.h"

static const char *const plan_phase_names[] = {
    [PLAN_PHASE_RAMP] = "ramp",
    [PLAN_PHASE_HOLD] = "hold",
    [PLAN_PHASE_PUSH] = "push",
    [PLAN_PHASE_DISCONNECT] = "disconnect",
    [PLAN_PHASE_EXEC] = "exec",
    [PLAN_PHASE_WAIT_RECONNECT] = "wait_reconnect",
};
#define PLAN_PHASE_LIST "ramp, hold, push, disconnect, exec, wait_reconnect"

/* ------------------------------------------------------------ sections */

static int plan_v_targets(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                          const struct plan_field *f)
{
    (void)f;
    struct plan *p = c->p;
    if (plan_want_list(c, v, path, "a list of targets like - {ws: \"ws://...\", push: \"http://...\"}") < 0)
        return -1;
    if (v->n == 0)
        return plan_fail(c, v, path, "needs at least one target");
    for (size_t i = 0; i < v->n; i++) {
        char ipath[PLAN_PATH_MAX];
        plan_path_index(ipath, path, i);
        if (i >= PS_MAX_TARGETS)
            return plan_fail(c, v->items[i], ipath, "too many targets: at most %d", PS_MAX_TARGETS);
        struct plan_target *t = &p->targets[i];
        uint32_t session_set = (uint32_t)i + 1;
        struct plan_field tf[] = {
            PLAN_FIELD("ws", plan_v_ws_url, t->ws, sizeof(t->ws), PLAN_F_REQUIRED, NULL),
            PLAN_FIELD("push", plan_v_push_url, t->push, sizeof(t->push), PLAN_F_REQUIRED, NULL),
            PLAN_FIELD("broadcast", plan_v_push_url, t->broadcast, sizeof(t->broadcast), 0, NULL),
            PLAN_FIELD("tls", plan_v_tls_target, &t->tls, 0, 0, NULL),
            PLAN_FIELD("session", plan_v_session, NULL, 0, 0, &session_set),
            PLAN_FIELD("protocol", plan_v_protocol, &t->protocol, 0, 0, NULL),   /* issue 13 */
        };
        if (plan_map(c, v->items[i], ipath, tf, NFIELDS(tf), "a map with ws, push, broadcast, tls, "
                     "session and protocol") < 0)
            return -1;
        c->protocol_node[i] = tf[5].node;
        if (!tf[2].node) {
            char ppath[PLAN_PATH_MAX];
            plan_path_key(ppath, ipath, "push");
            if (plan_push_derive_broadcast(c, tf[1].node, ppath, t) < 0)
                return -1;
        }
        p->n_targets = (uint32_t)(i + 1);
    }
    return 0;
}

/* A value its parser (rc) took, checked against [lo, hi]; range names them. */
static int plan_in_range(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                         int rc, uint64_t x, uint64_t lo, uint64_t hi, const char *range)
{
    if (rc < 0)
        return -1;
    if (x < lo || x > hi)
        return plan_fail(c, v, path, "must be between %s, got \"%s\"", range, v->value);
    return 0;
}

/* agents.grace: long enough for a network blip, short enough that a load
 * nobody watches stops (the agent stops after it too). */
static int plan_v_agent_grace(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                              const struct plan_field *f)
{
    int rc = plan_v_duration(c, v, path, f);
    return plan_in_range(c, v, path, rc, rc < 0 ? 0 : (uint64_t)*(int64_t *)f->dst,
                         PLAN_GRACE_MIN_US, PLAN_GRACE_MAX_US, "1s and 1h");
}

/* agents.buffer: bytes, like 64M (decimal suffixes, as counts have). */
static int plan_v_agent_buffer(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                               const struct plan_field *f)
{
    int rc = plan_v_count64(c, v, path, f);
    return plan_in_range(c, v, path, rc, rc < 0 ? 0 : *(uint64_t *)f->dst, PLAN_BUFFER_MIN,
                         PLAN_BUFFER_MAX, "1M and 4000M bytes");
}

/* agents.final_wait: the run's end waits this long for the agents' final reports. */
static int plan_v_final_wait(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                             const struct plan_field *f)
{
    int rc = plan_v_duration(c, v, path, f);
    return plan_in_range(c, v, path, rc, rc < 0 ? 0 : (uint64_t)*(int64_t *)f->dst,
                         PLAN_GRACE_MIN_US, PLAN_GRACE_MAX_US, "1s and 1h");
}

static int plan_v_agents(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                         const struct plan_field *f)
{
    (void)f;
    struct plan *p = c->p;
    struct plan_field af[] = {
        PLAN_FIELD_MAX("expect", plan_v_count32, &p->agents.expect, 0, PLAN_AGENTS_MAX),
        PLAN_FIELD("wait", plan_v_duration, &p->agents.wait_us, 0, 0, NULL),
        PLAN_FIELD("split", plan_v_split, &p->agents.by_capacity, 0, 0, NULL),
        PLAN_FIELD("grace", plan_v_agent_grace, &p->link.grace_us, 0, 0, NULL),
        PLAN_FIELD("buffer", plan_v_agent_buffer, &p->link.buffer_bytes, 0, 0, NULL),
        /* the run's end */
        PLAN_FIELD("final_wait", plan_v_final_wait, &p->end.final_wait_us, 0, 0, NULL),
    };
    int rc = plan_map(c, v, path, af, NFIELDS(af), "a map like {expect: 2, wait: 30s}");
    p->end.expect_line = af[0].node ? af[0].node->line : 0;
    return rc;
}

static int plan_v_connections(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                              const struct plan_field *f)
{
    (void)f;
    struct plan *p = c->p;
    struct plan_field cf[] = {
        PLAN_FIELD("total", plan_v_count64, &p->connections.total, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("subprotocol", plan_v_string, p->connections.subprotocol,
           sizeof(p->connections.subprotocol), PLAN_F_ONELINE, NULL),
        PLAN_FIELD("headers", plan_v_ws_headers, p->connections.headers, 0, 0, &p->connections.n_headers),
        PLAN_FIELD("max_message", plan_v_count32, &p->connections.max_message, 0, 0, NULL),
        /* per-connection data: checked with the templates that use it in plan_data.c */
        PLAN_FIELD("data", plan_v_string, p->connections.data, sizeof(p->connections.data),
                   PLAN_F_NONEMPTY | PLAN_F_ONELINE, NULL),
        PLAN_FIELD("data_wrap", plan_v_bool, &p->connections.data_wrap, 0, 0, NULL),
    };
    return plan_map(c, v, path, cf, NFIELDS(cf), "a map like {total: 10000}");
}

static int plan_v_heartbeat(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                            const struct plan_field *f)
{
    (void)f;
    struct plan *p = c->p;
    struct plan_field hf[] = {
        PLAN_FIELD("ws_ping", plan_v_duration_off, &p->heartbeat.ws_ping_us, 0, 0, NULL),
        PLAN_FIELD("pong_timeout", plan_v_duration, &p->heartbeat.pong_timeout_us, 0, 0, NULL),
        PLAN_FIELD("text", plan_v_string, p->heartbeat.text, sizeof(p->heartbeat.text), 0, NULL),
        PLAN_FIELD("expect", plan_v_hb_expect, NULL, 0, 0, NULL),
        PLAN_FIELD("interval", plan_v_duration, &p->heartbeat.interval_us, 0, 0, NULL),
        PLAN_FIELD("timeout", plan_v_duration, &p->heartbeat.timeout_us, 0, 0, NULL),
    };
    if (plan_map(c, v, path, hf, NFIELDS(hf), "a map like {ws_ping: 30s}") < 0)
        return -1;
    c->hb_text_node = hf[2].node;
    if (!p->heartbeat.text[0]) {
        /* Without text there is no app heartbeat; these keys would silently do nothing. */
        const struct plan_field *orphan = NULL;
        if (p->heartbeat.expect[0])
            orphan = &hf[3];
        else if (hf[4].node)
            orphan = &hf[4];
        else if (hf[5].node)
            orphan = &hf[5];
        if (orphan) {
            char kpath[PLAN_PATH_MAX];
            plan_path_key(kpath, path, orphan->key);
            return plan_fail(c, orphan->key_node, kpath, "applies to the app heartbeat only, "
                             "which needs heartbeat.text (the message to send)");
        }
    }
    if (!hf[4].node)
        p->heartbeat.interval_us = p->heartbeat.ws_ping_us ? p->heartbeat.ws_ping_us : 30000000;
    return 0;
}

static int plan_v_reconnect(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                            const struct plan_field *f)
{
    (void)f;
    struct plan *p = c->p;
    p->reconnect.min_us = 1000000;
    p->reconnect.max_us = 30000000;
    p->reconnect.attempts = 0;
    struct plan_field rf[] = {
        PLAN_FIELD("min", plan_v_duration, &p->reconnect.min_us, 0, 0, NULL),
        PLAN_FIELD("max", plan_v_duration, &p->reconnect.max_us, 0, 0, NULL),
        PLAN_FIELD("attempts", plan_v_count32, &p->reconnect.attempts, 0, PLAN_F_ZERO_OK, NULL),
    };
    if (plan_map(c, v, path, rf, NFIELDS(rf), "a map like {min: 1s, max: 30s}") < 0)
        return -1;
    if (p->reconnect.max_us < p->reconnect.min_us) {
        char b1[32], b2[32], kpath[PLAN_PATH_MAX];
        const struct plan_field *at = rf[1].node ? &rf[1] : &rf[0];
        plan_path_key(kpath, path, at->key);
        return plan_fail(c, at->node, kpath, "max (%s%s) is below min (%s)",
                         ps_units_fmt_duration(p->reconnect.max_us, b1, sizeof(b1)),
                         rf[1].node ? "" : ", the default",
                         ps_units_fmt_duration(p->reconnect.min_us, b2, sizeof(b2)));
    }
    c->reconnect_set = 1;
    return 0;
}

static int plan_v_thresholds(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                             const struct plan_field *f)
{
    (void)f;
    struct plan *p = c->p;
    struct plan_field t[] = {
        PLAN_FIELD("connect_success", plan_v_thr_fraction, &p->thresholds.connect_success, 0, 0, NULL),
        PLAN_FIELD("push_lost", plan_v_thr_count, &p->thresholds.push_lost, 0, 0, NULL),
        PLAN_FIELD("push_latency_p99", plan_v_thr_duration, &p->thresholds.push_latency_p99, 0, 0, NULL),
        PLAN_FIELD("push_latency_p50", plan_v_thr_duration, &p->thresholds.push_latency_p50, 0, 0, NULL),
        PLAN_FIELD("handshake_p99", plan_v_thr_duration, &p->thresholds.handshake_p99, 0, 0, NULL),
        PLAN_FIELD("session_ready_p99", plan_v_thr_duration, &p->thresholds.session_ready_p99, 0, 0, NULL),
        /* verdict faults: agent loss, failed push calls, saturation, ping RTT */
        PLAN_FIELD("agents_lost", plan_v_thr_count, &p->thresholds.agents_lost, 0, 0, NULL),
        PLAN_FIELD("push_failed", plan_v_thr_count, &p->thresholds.push_failed, 0, 0, NULL),
        PLAN_FIELD("delivered_fraction", plan_v_thr_fraction, &p->thresholds.delivered_fraction, 0, 0, NULL),
        PLAN_FIELD("saturated_seconds", plan_v_thr_count, &p->thresholds.saturated_seconds, 0, 0, NULL),
        PLAN_FIELD("rtt_p50", plan_v_thr_duration, &p->thresholds.rtt_p50, 0, 0, NULL),
        PLAN_FIELD("rtt_p99", plan_v_thr_duration, &p->thresholds.rtt_p99, 0, 0, NULL),
    };
    return plan_map(c, v, path, t, NFIELDS(t), "a map of thresholds");
}

/* ------------------------------------------------------------ phases */

static int plan_phase_ramp(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                           struct plan_phase *ph, size_t idx)
{
    struct plan_field rf[] = {
        PLAN_FIELD("to", plan_v_count64, &ph->u.ramp.to, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("rate", plan_v_rate, &ph->u.ramp.rate, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("timeout", plan_v_duration, &ph->u.ramp.timeout_us, 0, 0, NULL),
        PLAN_FIELD("deadline", plan_v_duration, &ph->deadline_us, 0, 0, NULL),   /* deadlines */
    };
    if (plan_map(c, v, path, rf, NFIELDS(rf), "a map like {to: 10000, rate: 2000/s}") < 0)
        return -1;
    if (ph->u.ramp.to <= c->last_ramp_to) {
        char kpath[PLAN_PATH_MAX];
        plan_path_key(kpath, path, "to");
        return plan_fail(c, rf[0].node, kpath, "%llu is not above the previous ramp's %llu "
                         "(phases[%d]); ramps only go up, use disconnect to go down",
                         (unsigned long long)ph->u.ramp.to, (unsigned long long)c->last_ramp_to,
                         c->last_ramp_index);
    }
    c->last_ramp_to = ph->u.ramp.to;
    c->last_ramp_index = (int)idx;
    c->ramp_to[idx] = rf[0].node;
    if (!rf[2].node) {
        /* twice the nominal ramp time plus slack for the last handshakes */
        double us = 2.0 * (double)ph->u.ramp.to / ph->u.ramp.rate * 1e6 + 10e6;
        ph->u.ramp.timeout_us = us < (double)(INT64_MAX / 4) ? (int64_t)us : INT64_MAX / 4;
    }
    return 0;
}

static int plan_phase_hold(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                           struct plan_phase *ph)
{
    struct plan_field hf[] = {
        PLAN_FIELD("duration", plan_v_duration, &ph->u.hold.duration_us, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("deadline", plan_v_duration, &ph->deadline_us, 0, 0, NULL),   /* deadlines */
    };
    if (v->kind == YAML_DOC_SCALAR && !yaml_doc_is_null(v))
        return plan_v_duration(c, v, path, &hf[0]);
    return plan_map(c, v, path, hf, NFIELDS(hf), "a duration like 10s or a map like {duration: 10s}");
}

static int plan_phase_push(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                           struct plan_phase *ph, size_t idx)
{
    typeof(ph->u.push) *u = &ph->u.push;
    u->mode = PLAN_PUSH_UNICAST;
    u->rate = 100;
    u->recipients = 10;
    strcpy(u->body, "{msg}");
    strcpy(u->call.method, "POST");
    u->concurrency = 64;
    u->grace_us = 5000000;
    u->timeout_us = PLAN_PUSH_TIMEOUT_DEFAULT_US;
    struct plan_field pf[] = {
        PLAN_FIELD("mode", plan_v_push_mode, &u->mode, 0, 0, NULL),
        PLAN_FIELD("rate", plan_v_rate, &u->rate, 0, 0, NULL),
        PLAN_FIELD("count", plan_v_count64, &u->count, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD_MAX("recipients", plan_v_count32, &u->recipients, 0, PLAN_RECIPIENTS_MAX),
        PLAN_FIELD("body", plan_v_string, u->body, sizeof(u->body), PLAN_F_NONEMPTY, NULL),
        PLAN_FIELD("url", plan_v_push_url, u->url, sizeof(u->url), 0, NULL),
        PLAN_FIELD_MAX("concurrency", plan_v_count32, &u->concurrency, 0, PLAN_CONCURRENCY_MAX),
        PLAN_FIELD("grace", plan_v_duration, &u->grace_us, 0, 0, NULL),
        PLAN_FIELD("deadline", plan_v_duration, &ph->deadline_us, 0, 0, NULL),   /* deadlines */
        /* push adapters: in enum order from PLAN_PUSH_KEY_METHOD (plan_push.c) */
        PLAN_FIELD("method", plan_v_method, u->call.method, sizeof(u->call.method), 0, NULL),
        PLAN_FIELD("headers", plan_v_http_headers, u->call.headers, 0, 0, &u->call.n_headers),
        PLAN_FIELD("qos", plan_v_qos, &u->call.qos, 0, 0, NULL),
        PLAN_FIELD("metadata", plan_v_grpc_metadata, u->call.metadata, 0, 0, &u->call.n_metadata),
        PLAN_FIELD("message", plan_v_grpc_message, &u->call, 0, 0, NULL),
        PLAN_FIELD("timeout", plan_v_duration, &u->timeout_us, 0, 0, NULL),
    };
    if (plan_map(c, v, path, pf, NFIELDS(pf), "a map like {count: 1000, rate: 500/s}") < 0)
        return -1;
    char kpath[PLAN_PATH_MAX];
    if (u->timeout_us < 1000 || u->timeout_us > PLAN_PUSH_TIMEOUT_MAX_US) {
        plan_path_key(kpath, path, "timeout");
        return plan_fail(c, pf[NFIELDS(pf) - 1].node, kpath, "want 1ms..10m: how long one push "
                         "call may take before it counts as failed");
    }
    for (int k = 0; k < PLAN_PUSH_KEYS; k++)
        c->push_key[idx][k] = pf[9 + k].key_node;
    if (pf[3].node && u->mode != PLAN_PUSH_MULTICAST) {
        plan_path_key(kpath, path, "recipients");
        return plan_fail(c, pf[3].key_node, kpath, "only applies to mode: multicast");
    }
    if (!strstr(u->body, "{msg}")) {
        plan_path_key(kpath, path, "body");
        return plan_fail(c, pf[4].node, kpath, "must contain {msg}: the token that lets the "
                         "agents recognise each message");
    }
    if (u->mode == PLAN_PUSH_MULTICAST)
        c->recipients[idx] = pf[3].node ? pf[3].node : v;
    return 0;
}

static int plan_phase_disconnect(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                                 struct plan_phase *ph)
{
    ph->u.disconnect.code = 1000;
    struct plan_field df[] = {
        PLAN_FIELD("fraction", plan_v_fraction, &ph->u.disconnect.fraction, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("code", plan_v_close_code, &ph->u.disconnect.code, 0, 0, NULL),
        PLAN_FIELD("deadline", plan_v_duration, &ph->deadline_us, 0, 0, NULL),   /* deadlines */
    };
    return plan_map(c, v, path, df, NFIELDS(df), "a map like {fraction: 0.1}");
}

static int plan_phase_exec(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                           struct plan_phase *ph, size_t idx)
{
    ph->u.exec.within_us = 60000000;
    struct plan_field ef[] = {
        PLAN_FIELD("command", plan_v_string, ph->u.exec.command, sizeof(ph->u.exec.command),
                   PLAN_F_REQUIRED | PLAN_F_NONEMPTY, NULL),
        PLAN_FIELD("expect_reconnect", plan_v_fraction, &ph->u.exec.expect_reconnect, 0, 0, NULL),
        PLAN_FIELD("within", plan_v_duration, &ph->u.exec.within_us, 0, 0, NULL),
        PLAN_FIELD("deadline", plan_v_duration, &ph->deadline_us, 0, 0, NULL),   /* deadlines */
    };
    if (plan_map(c, v, path, ef, NFIELDS(ef), "a map like {command: \"...\"}") < 0)
        return -1;
    if (ef[2].node && !ef[1].node) {
        char kpath[PLAN_PATH_MAX];
        plan_path_key(kpath, path, "within");
        return plan_fail(c, ef[2].key_node, kpath, "only applies with expect_reconnect");
    }
    c->needs_reconnect[idx] = ef[1].node;
    return 0;
}

static int plan_phase_wait_reconnect(struct plan_ctx *c, const struct yaml_doc_node *v,
                                     const char *path, struct plan_phase *ph, size_t idx)
{
    ph->u.wait_reconnect.within_us = 60000000;
    struct plan_field wf[] = {
        PLAN_FIELD("fraction", plan_v_fraction, &ph->u.wait_reconnect.fraction, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("within", plan_v_duration, &ph->u.wait_reconnect.within_us, 0, 0, NULL),
        PLAN_FIELD("deadline", plan_v_duration, &ph->deadline_us, 0, 0, NULL),   /* deadlines */
    };
    if (plan_map(c, v, path, wf, NFIELDS(wf), "a map like {fraction: 99%, within: 60s}") < 0)
        return -1;
    c->needs_reconnect[idx] = wf[0].node;
    return 0;
}

/* One list item: a map with exactly one key, the phase kind. */
static int plan_phase(struct plan_ctx *c, const struct yaml_doc_node *item, const char *ipath, size_t idx)
{
    char g[PLAN_GOT_MAX];
    if (item->kind != YAML_DOC_MAP)
        return plan_fail(c, item, ipath, "expected a phase like {hold: 10s} (one of " PLAN_PHASE_LIST
                         "), got %s", plan_got(item, g, sizeof(g)));
    if (item->n != 1) {
        if (item->n == 0)
            return plan_fail(c, item, ipath, "a phase is a map with one key (" PLAN_PHASE_LIST
                             "), got an empty map");
        return plan_fail(c, item, ipath, "a phase is a map with one key, got %zu keys; start "
                         "each phase with its own \"- \"", item->n);
    }
    const struct yaml_doc_node *k = yaml_doc_key(item, 0), *v = yaml_doc_val(item, 0);
    if (k->kind != YAML_DOC_SCALAR || yaml_doc_is_null(k))
        return plan_fail(c, k, ipath, "expected a phase kind (" PLAN_PHASE_LIST "), got %s",
                         plan_got(k, g, sizeof(g)));
    char kpath[PLAN_PATH_MAX];
    plan_path_key(kpath, ipath, k->value);
    enum plan_phase_kind kind = 0;
    for (size_t i = 1; i < NFIELDS(plan_phase_names); i++)
        if (!strcmp(k->value, plan_phase_names[i]))
            kind = (enum plan_phase_kind)i;
    if (!kind) {
        char hint[48] = "";
        for (size_t i = 1; i < NFIELDS(plan_phase_names); i++)
            if (plan_typo_distance(k->value, plan_phase_names[i]) <= 2)
                snprintf(hint, sizeof(hint), "; did you mean \"%s\"?", plan_phase_names[i]);
        return plan_fail(c, k, kpath, "unknown phase kind %s%s (allowed: " PLAN_PHASE_LIST ")",
                         plan_got(k, g, sizeof(g)), hint);
    }
    struct plan_phase *ph = &c->p->phases[idx];
    ph->kind = kind;
    ph->line = k->line;
    int rc = -1;
    switch (kind) {
    case PLAN_PHASE_RAMP:           rc = plan_phase_ramp(c, v, kpath, ph, idx); break;
    case PLAN_PHASE_HOLD:           rc = plan_phase_hold(c, v, kpath, ph); break;
    case PLAN_PHASE_PUSH:           rc = plan_phase_push(c, v, kpath, ph, idx); break;
    case PLAN_PHASE_DISCONNECT:     rc = plan_phase_disconnect(c, v, kpath, ph); break;
    case PLAN_PHASE_EXEC:           rc = plan_phase_exec(c, v, kpath, ph, idx); break;
    case PLAN_PHASE_WAIT_RECONNECT: rc = plan_phase_wait_reconnect(c, v, kpath, ph, idx); break;
    }
    /* deadlines: computed once the phase's own keys are known (plan_deadline.c) */
    if (rc == 0 && !ph->deadline_us)
        ph->deadline_us = plan_phase_default_deadline_us(ph);
    return rc;
}

static int plan_v_phases(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                         const struct plan_field *f)
{
    (void)f;
    if (plan_want_list(c, v, path, "a list of phases") < 0)
        return -1;
    if (v->n == 0)
        return plan_fail(c, v, path, "needs at least one phase");
    c->phases_node = v;
    for (size_t i = 0; i < v->n; i++) {
        char ipath[PLAN_PATH_MAX];
        plan_path_index(ipath, path, i);
        if (i >= PLAN_MAX_PHASES)
            return plan_fail(c, v->items[i], ipath, "too many phases: at most %d", PLAN_MAX_PHASES);
        if (plan_phase(c, v->items[i], ipath, i) < 0)
            return -1;
        c->p->n_phases = (uint32_t)(i + 1);
    }
    return 0;
}

/* ------------------------------------------------------------ whole plan */

void plan_sections_defaults(struct plan *p)
{
    p->agents.expect = 1;
    p->agents.wait_us = 30000000;
    p->link.grace_us = 30000000;
    p->link.buffer_bytes = 64ull << 20;
    p->end.final_wait_us = -1;   /* from the connections, once they are read */
    p->connections.max_message = 1u << 20;
    p->n_tls = 1;
    p->heartbeat.ws_ping_us = 30000000;
    p->heartbeat.pong_timeout_us = 10000000;
    p->heartbeat.interval_us = 30000000;
    p->heartbeat.timeout_us = 10000000;
    p->session.vars_bytes = 64;
    /* client protocols (issue 13) */
    p->protocol.timeout_us = 10000000;
    strcpy(p->protocol.ns, "/");
    p->protocol.keepalive_us = 30000000;
    p->protocol.clean = 1;
    p->protocol.mqtt_version = 4;
}

int plan_sections_walk(struct plan_ctx *c, const struct yaml_doc_node *root)
{
    struct plan *p = c->p;
    struct plan_field top[] = {
        PLAN_FIELD("name", plan_v_string, p->name, sizeof(p->name),
                   PLAN_F_REQUIRED | PLAN_F_NONEMPTY | PLAN_F_ONELINE, NULL),
        PLAN_FIELD("targets", plan_v_targets, NULL, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("agents", plan_v_agents, NULL, 0, 0, NULL),
        PLAN_FIELD("connections", plan_v_connections, NULL, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("heartbeat", plan_v_heartbeat, NULL, 0, 0, NULL),
        PLAN_FIELD("reconnect", plan_v_reconnect, NULL, 0, 0, NULL),
        PLAN_FIELD("session", plan_v_session, NULL, 0, 0, NULL),
        PLAN_FIELD("phases", plan_v_phases, NULL, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("thresholds", plan_v_thresholds, NULL, 0, 0, NULL),
        PLAN_FIELD("tls", plan_v_tls_default, NULL, 0, 0, NULL),
        PLAN_FIELD("deadline", plan_v_duration, &p->deadline_us, 0, 0, NULL),   /* deadlines */
        /* client protocols (issue 13) */
        PLAN_FIELD("protocol_options", plan_v_protocol_options, NULL, 0, 0, NULL),
    };
    if (plan_map(c, root, PLAN_TOP, top, NFIELDS(top), "a map of plan keys (name, targets, "
                 "connections, phases, ...)") < 0)
        return -1;
    /* deadlines: the run's default covers waiting for the agents, every
     * phase's deadline and a minute for assigning and stopping */
    if (!top[10].node) {
        int64_t sum = p->agents.wait_us + 60000000;
        for (uint32_t i = 0; i < p->n_phases && sum < INT64_MAX / 4; i++)
            sum += p->phases[i].deadline_us;
        p->deadline_us = sum < INT64_MAX / 4 ? sum : INT64_MAX / 4;
    }
    /* the run's end: closing takes about 1 s per 10,000 connections on a busy
     * machine (204,000 took 13 s here, 24 processes on 2 cores), plus 30 s */
    if (p->end.final_wait_us < 0)
        p->end.final_wait_us = PLAN_FINAL_WAIT_BASE_US +
                               (int64_t)(plan_max_connections(p) / PLAN_FINAL_WAIT_CONNS_PER_S) * 1000000;
    return 0;
}

const char *plan_phase_name(enum plan_phase_kind k)
{
    if ((size_t)k < NFIELDS(plan_phase_names) && plan_phase_names[k])
        return plan_phase_names[k];
    return "unknown";
}
