/* run_assign: which connections each agent holds, and its share of a phase.
 *
 * Once every expected agent has joined, the plan's connections are cut into
 * one contiguous range per agent: evenly (plan_agent_range, the split
 * `pushstorm check` prints), or with agents.split: capacity in proportion to
 * what each agent said it can hold in its hello. The range goes out as the
 * agent's first command (ASSIGN, id 1), with everything it needs to open and
 * keep its connections. A phase's total (a ramp's target) is later shared in
 * proportion to the live agents' ranges, so a lost agent gets nothing. */
#include "run_internal.h"

#include <stdio.h>
#include <string.h>

void run_split(const struct run *r, uint64_t total, uint64_t *share)
{
    uint64_t weight[RUN_MAX_AGENTS];
    for (uint32_t i = 0; i < r->n_agents; i++)
        weight[i] = r->agents[i].lost_at ? 0 : r->agents[i].conn_count;
    plan_split(total, weight, r->n_agents, share);
}

/* What an agent can hold, from its hello: fds beyond a margin for its own
 * sockets, and memory at a generous 6 KB per connection (ours, lws's and the
 * kernel's); the same rules the agent applies before it accepts. */
static uint64_t run_agent_capacity(const struct ps_hello *h)
{
    uint64_t fds = h->fd_soft > 256 ? h->fd_soft - 256 : 0;
    uint64_t mem = h->mem_available ? h->mem_available / 6144 : fds;
    return fds < mem ? fds : mem;
}

/* Connection ranges: even, or in proportion to capacity (agents.split).
 * Returns -1 (run failed) if the agents cannot hold the plan. */
static int run_ranges(struct run *r, uint64_t total, uint64_t *first, uint64_t *count)
{
    uint32_t n = r->n_agents;
    if (!r->plan->agents.by_capacity) {
        for (uint32_t i = 0; i < n; i++)
            plan_agent_range(total, n, i, &first[i], &count[i]);
        return 0;
    }
    uint64_t cap[RUN_MAX_AGENTS], sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += cap[i] = run_agent_capacity(&r->agents[i].hello);
    if (sum < total) {
        run_fail(r, "the %u agents can hold %llu connections in all (fd limits, memory), the plan "
                    "needs %llu", n, (unsigned long long)sum, (unsigned long long)total);
        return -1;
    }
    plan_split(total, cap, n, count);
    uint64_t at = 0;
    for (uint32_t i = 0; i < n; i++) {
        first[i] = at;
        at += count[i];
    }
    return 0;
}

/* Client protocols (issue 13): each target's, and the options they read. */
static void run_assign_protocol(const struct plan *p, struct ps_assign *as)
{
    const struct plan_protocol *pr = &p->protocol;
    as->n_target_protocol = p->n_targets;
    for (uint32_t t = 0; t < p->n_targets; t++)
        as->target_protocol[t] = p->targets[t].protocol;
    as->proto_timeout_ms = (uint32_t)(pr->timeout_us / 1000);
    snprintf(as->proto_client_id, sizeof as->proto_client_id, "%s", pr->client_id);
    snprintf(as->proto_user, sizeof as->proto_user, "%s", pr->user);
    snprintf(as->proto_password, sizeof as->proto_password, "%s", pr->password);
    snprintf(as->proto_auth, sizeof as->proto_auth, "%s", pr->auth);
    snprintf(as->proto_namespace, sizeof as->proto_namespace, "%s", pr->ns);
    snprintf(as->proto_vhost, sizeof as->proto_vhost, "%s", pr->vhost);
    as->n_proto_subscribe = pr->n_subscribe;
    memcpy(as->proto_subscribe, pr->subscribe, sizeof as->proto_subscribe);
    as->proto_qos = pr->qos;
    as->proto_ack_mode = pr->ack_mode;
    as->proto_keepalive_ms = (uint32_t)(pr->keepalive_us / 1000);
    as->proto_server_hb_ms = (uint32_t)(pr->server_hb_us / 1000);
    as->proto_clean = pr->clean;
    as->proto_version = pr->mqtt_version;
}

/* The ASSIGN command: the agent's range and the plan's connection settings. */
static void run_assign_cmd(const struct run *r, const struct run_agent *a, struct ps_assign *as)
{
    const struct plan *p = r->plan;
    memset(as, 0, sizeof *as);
    as->run_id = r->run_id;
    as->conn_first = a->conn_first;
    as->conn_count = a->conn_count;
    as->n_targets = p->n_targets;
    for (uint32_t t = 0; t < p->n_targets; t++)
        snprintf(as->targets[t], PS_URL_MAX, "%s", p->targets[t].ws);
    as->n_tls = p->n_tls;
    memcpy(as->tls, p->tls, sizeof as->tls[0] * p->n_tls);
    as->n_target_tls = p->n_targets;
    for (uint32_t t = 0; t < p->n_targets; t++)
        as->target_tls[t] = p->targets[t].tls;
    snprintf(as->subprotocol, sizeof as->subprotocol, "%s", p->connections.subprotocol);
    as->n_headers = p->connections.n_headers;
    memcpy(as->headers, p->connections.headers, sizeof as->headers);
    as->ws_ping_ms = (uint32_t)(p->heartbeat.ws_ping_us / 1000);
    as->pong_timeout_ms = (uint32_t)(p->heartbeat.pong_timeout_us / 1000);
    snprintf(as->hb_text, sizeof as->hb_text, "%s", p->heartbeat.text);
    snprintf(as->hb_expect, sizeof as->hb_expect, "%s", p->heartbeat.expect);
    as->hb_interval_ms = (uint32_t)(p->heartbeat.interval_us / 1000);
    as->hb_timeout_ms = (uint32_t)(p->heartbeat.timeout_us / 1000);
    as->reconnect_min_ms = (uint32_t)(p->reconnect.min_us / 1000);
    as->reconnect_max_ms = (uint32_t)(p->reconnect.max_us / 1000);
    as->reconnect_attempts = p->reconnect.attempts;
    as->max_inflight = 256;
    as->max_message = p->connections.max_message;
    as->grace_ms = (uint32_t)(p->link.grace_us / 1000);
    as->buffer_bytes = p->link.buffer_bytes;
    /* scripted sessions */
    as->n_steps = p->session.n_steps;
    memcpy(as->steps, p->session.steps, sizeof as->steps);
    as->n_captures = p->session.n_captures;
    memcpy(as->captures, p->session.captures, sizeof as->captures);
    as->n_session_vars = p->session.n_vars;
    memcpy(as->session_vars, p->session.vars, sizeof as->session_vars);
    as->vars_bytes = p->session.vars_bytes;
    as->hb_match = p->heartbeat.expect_match;
    snprintf(as->ack, sizeof as->ack, "%s", p->session.ack);
    as->ack_id_match = p->session.ack_id_match;
    snprintf(as->ack_id_from, sizeof as->ack_id_from, "%s", p->session.ack_id_from);
    run_assign_protocol(p, as);
}

void run_assign(struct run *r)
{
    uint64_t total = plan_max_connections(r->plan);
    uint64_t firsts[RUN_MAX_AGENTS], counts[RUN_MAX_AGENTS];
    if (run_ranges(r, total, firsts, counts) != 0)
        return;
    for (uint32_t i = 0; i < r->n_agents; i++) {
        struct run_agent *a = &r->agents[i];
        a->conn_first = (uint32_t)firsts[i];
        a->conn_count = (uint32_t)counts[i];
        ledger_assign(&r->ledger, a->conn_first, a->conn_count, (uint16_t)i);
        run_assign_cmd(r, a, &a->assign);
        if (run_data_assign(r, a, &a->assign) != 0)
            return;
        a->cmd_last = a->assign_cmds;
        run_store_agent(r, a);
    }
    if (!r->opts->quiet)
        progress_say(&r->progress, "assigned %llu connections to %u agents\n", (unsigned long long)total, r->n_agents);
}
