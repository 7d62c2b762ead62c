/* test_plan.c: the plan parser, value by value and error by error.
 *
 * A plan using every key is checked field by field, a minimal plan checks every
 * documented default, and a table of broken plans checks that each class of
 * mistake is reported at the exact line:col with the right key path and a
 * message naming the problem. The real plans under plans/ are loaded from disk
 * (tests run from the repository root), so they cannot rot. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "plan.h"
#include "plan_bad.h"

static struct plan *parse_ok(const char *yaml)
{
    struct plan *p = calloc(1, sizeof(*p));
    char err[PLAN_ERR_MAX];
    assert_non_null(p);
    if (plan_parse("t.yaml", yaml, strlen(yaml), p, err, sizeof(err)) != 0) {
        print_error("unexpected error: %s\n", err);
        fail();
    }
    return p;
}

/* ------------------------------------------------------------ full plan */

static const char full_plan[] =
    "name: full\n"
    "targets:\n"
    "  - ws: \"ws://127.0.0.1:8080/ws?uid={conn}\"\n"
    "    push: \"http://127.0.0.1:8080/push?uid={conn}\"\n"
    "    broadcast: \"http://127.0.0.1:8080/bc\"\n"
    "  - ws: \"wss://10.0.0.2:9443/ws?uid={conn}\"\n"
    "    push: \"https://10.0.0.2:9444/api/push?uid={conn}\"\n"
    "agents: {expect: 3, wait: 45s, grace: 20s, buffer: 8M}\n"
    "connections:\n"
    "  total: 20k\n"
    "  subprotocol: chat\n"
    "  headers: {Authorization: \"Bearer {conn}\", X-Test: \"1\"}\n"
    "  max_message: 65536\n"
    "heartbeat: {ws_ping: 20s, pong_timeout: 5s, text: '{\"type\":\"ping\"}', expect: pong,"
    " interval: 15s, timeout: 3s}\n"
    "reconnect: {min: 500ms, max: 10s, attempts: 5}\n"
    "phases:\n"
    "  - ramp: {to: 10000, rate: 2000/s, timeout: 60s}\n"
    "  - ramp: {to: 20000, rate: 1k/s}\n"
    "  - hold: 10s\n"
    "  - hold: {duration: 1m}\n"
    "  - push: {mode: unicast, rate: 500/s, count: 1000, body: '{\"id\":\"{msg}\",\"text\":\"hi\"}',"
    " grace: 2s, url: \"http://127.0.0.1:8080/p?u={conn}\", method: PUT, headers: {X-K: v},"
    " concurrency: 32, timeout: 30s}\n"
    "  - push: {mode: broadcast, count: 3}\n"
    "  - push: {mode: multicast, count: 10, recipients: 50}\n"
    "  - disconnect: {fraction: 0.1, code: 4000}\n"
    "  - disconnect: {fraction: 50%}\n"
    "  - exec: {command: \"kill -HUP 1234\", expect_reconnect: 99%, within: 30s}\n"
    "  - exec: {command: \"true\"}\n"
    "  - wait_reconnect: {fraction: 99%, within: 45s}\n"
    "  - wait_reconnect: {fraction: 1}\n"
    "thresholds:\n"
    "  connect_success: \">= 99.9%\"\n"
    "  push_lost: \"== 0\"\n"
    "  push_latency_p99: \"< 500ms\"\n"
    "  push_latency_p50: \"<= 100ms\"\n"
    "  handshake_p99: \"> 1s\"\n";

static void test_full_plan(void **state)
{
    (void)state;
    struct plan *p = parse_ok(full_plan);

    assert_string_equal(p->path, "t.yaml");
    assert_string_equal(p->name, "full");
    assert_int_equal(p->n_targets, 2);
    assert_string_equal(p->targets[0].ws, "ws://127.0.0.1:8080/ws?uid={conn}");
    assert_string_equal(p->targets[0].push, "http://127.0.0.1:8080/push?uid={conn}");
    assert_string_equal(p->targets[0].broadcast, "http://127.0.0.1:8080/bc");
    assert_string_equal(p->targets[1].ws, "wss://10.0.0.2:9443/ws?uid={conn}");
    assert_string_equal(p->targets[1].push, "https://10.0.0.2:9444/api/push?uid={conn}");
    assert_string_equal(p->targets[1].broadcast, "https://10.0.0.2:9444/broadcast");

    assert_int_equal(p->agents.expect, 3);
    assert_int_equal(p->agents.wait_us, 45000000);
    assert_int_equal(p->link.grace_us, 20000000);
    assert_int_equal(p->link.buffer_bytes, 8000000);

    assert_int_equal(p->connections.total, 20000);
    assert_string_equal(p->connections.subprotocol, "chat");
    assert_int_equal(p->connections.n_headers, 2);
    assert_string_equal(p->connections.headers[0].name, "Authorization");
    assert_string_equal(p->connections.headers[0].value, "Bearer {conn}");
    assert_string_equal(p->connections.headers[1].name, "X-Test");
    assert_string_equal(p->connections.headers[1].value, "1");
    assert_int_equal(p->connections.max_message, 65536);

    assert_int_equal(p->heartbeat.ws_ping_us, 20000000);
    assert_int_equal(p->heartbeat.pong_timeout_us, 5000000);
    assert_string_equal(p->heartbeat.text, "{\"type\":\"ping\"}");
    assert_string_equal(p->heartbeat.expect, "pong");
    assert_int_equal(p->heartbeat.interval_us, 15000000);
    assert_int_equal(p->heartbeat.timeout_us, 3000000);

    assert_int_equal(p->reconnect.min_us, 500000);
    assert_int_equal(p->reconnect.max_us, 10000000);
    assert_int_equal(p->reconnect.attempts, 5);

    assert_int_equal(p->n_phases, 13);
    const struct plan_phase *ph = p->phases;
    assert_int_equal(ph[0].kind, PLAN_PHASE_RAMP);
    assert_int_equal(ph[0].line, 17);
    assert_int_equal(ph[0].u.ramp.to, 10000);
    assert_true(ph[0].u.ramp.rate == 2000);
    assert_int_equal(ph[0].u.ramp.timeout_us, 60000000);
    assert_int_equal(ph[1].kind, PLAN_PHASE_RAMP);
    assert_int_equal(ph[1].line, 18);
    assert_int_equal(ph[1].u.ramp.to, 20000);
    assert_true(ph[1].u.ramp.rate == 1000);
    assert_int_equal(ph[1].u.ramp.timeout_us, 2 * 20 * 1000000 + 10000000);   /* 2*to/rate+10s */

    assert_int_equal(ph[2].kind, PLAN_PHASE_HOLD);
    assert_int_equal(ph[2].u.hold.duration_us, 10000000);
    assert_int_equal(ph[3].kind, PLAN_PHASE_HOLD);
    assert_int_equal(ph[3].u.hold.duration_us, 60000000);

    assert_int_equal(ph[4].kind, PLAN_PHASE_PUSH);
    assert_int_equal(ph[4].line, 21);
    assert_int_equal(ph[4].u.push.mode, PLAN_PUSH_UNICAST);
    assert_true(ph[4].u.push.rate == 500);
    assert_int_equal(ph[4].u.push.count, 1000);
    assert_string_equal(ph[4].u.push.body, "{\"id\":\"{msg}\",\"text\":\"hi\"}");
    assert_int_equal(ph[4].u.push.grace_us, 2000000);
    assert_string_equal(ph[4].u.push.url, "http://127.0.0.1:8080/p?u={conn}");
    assert_string_equal(ph[4].u.push.call.method, "PUT");
    assert_int_equal(ph[4].u.push.call.n_headers, 1);
    assert_string_equal(ph[4].u.push.call.headers[0].name, "X-K");
    assert_string_equal(ph[4].u.push.call.headers[0].value, "v");
    assert_int_equal(ph[4].u.push.concurrency, 32);
    assert_int_equal(ph[4].u.push.timeout_us, 30000000);
    assert_int_equal(ph[5].u.push.timeout_us, PLAN_PUSH_TIMEOUT_DEFAULT_US);

    assert_int_equal(ph[5].u.push.mode, PLAN_PUSH_BROADCAST);
    assert_int_equal(ph[5].u.push.count, 3);
    assert_string_equal(ph[5].u.push.url, "");           /* each target's broadcast URL */
    assert_int_equal(ph[6].u.push.mode, PLAN_PUSH_MULTICAST);
    assert_int_equal(ph[6].u.push.count, 10);
    assert_int_equal(ph[6].u.push.recipients, 50);

    assert_int_equal(ph[7].kind, PLAN_PHASE_DISCONNECT);
    assert_true(ph[7].u.disconnect.fraction == 0.1);
    assert_int_equal(ph[7].u.disconnect.code, 4000);
    assert_true(ph[8].u.disconnect.fraction == 0.5);
    assert_int_equal(ph[8].u.disconnect.code, 1000);

    assert_int_equal(ph[9].kind, PLAN_PHASE_EXEC);
    assert_string_equal(ph[9].u.exec.command, "kill -HUP 1234");
    assert_true(ph[9].u.exec.expect_reconnect == 0.99);
    assert_int_equal(ph[9].u.exec.within_us, 30000000);
    assert_string_equal(ph[10].u.exec.command, "true");
    assert_true(ph[10].u.exec.expect_reconnect == 0);

    assert_int_equal(ph[11].kind, PLAN_PHASE_WAIT_RECONNECT);
    assert_true(ph[11].u.wait_reconnect.fraction == 0.99);
    assert_int_equal(ph[11].u.wait_reconnect.within_us, 45000000);
    assert_true(ph[12].u.wait_reconnect.fraction == 1);
    assert_int_equal(ph[12].u.wait_reconnect.within_us, 60000000);

    const struct plan_threshold *t = &p->thresholds.connect_success;
    assert_true(t->set);
    assert_int_equal(t->cmp, PLAN_CMP_GE);
    assert_true(t->value == 0.999);
    assert_string_equal(t->text, ">= 99.9%");
    t = &p->thresholds.push_lost;
    assert_true(t->set && t->cmp == PLAN_CMP_EQ && t->value == 0);
    t = &p->thresholds.push_latency_p99;
    assert_true(t->set && t->cmp == PLAN_CMP_LT && t->value == 500000);
    t = &p->thresholds.push_latency_p50;
    assert_true(t->set && t->cmp == PLAN_CMP_LE && t->value == 100000);
    t = &p->thresholds.handshake_p99;
    assert_true(t->set && t->cmp == PLAN_CMP_GT && t->value == 1000000);

    assert_int_equal(plan_max_connections(p), 20000);
    free(p);
}

/* ------------------------------------------------------------ defaults */

static void test_defaults(void **state)
{
    (void)state;
    struct plan *p = parse_ok(
        "name: min\n"
        "targets:\n"
        "  - {ws: \"ws://h:1/ws\", push: \"http://h:2/push?uid={conn}\"}\n"
        "connections: {total: 10}\n"
        "phases:\n"
        "  - ramp: {to: 10, rate: 5/s}\n"
        "  - push: {count: 1}\n"
        "  - disconnect: {fraction: 0.5}\n"
        "  - exec: {command: x}\n");

    assert_string_equal(p->targets[0].broadcast, "http://h:2/broadcast");
    assert_int_equal(p->agents.expect, 1);
    assert_int_equal(p->agents.wait_us, 30000000);
    assert_int_equal(p->link.grace_us, 30000000);
    assert_int_equal(p->link.buffer_bytes, 64ull << 20);
    assert_int_equal(p->end.expect_line, 0);              /* not in the plan */
    assert_int_equal(p->end.final_wait_us, 30000000);     /* 30 s + 1 s per 10,000: 10 */
    assert_string_equal(p->connections.subprotocol, "");
    assert_int_equal(p->connections.n_headers, 0);
    assert_int_equal(p->connections.max_message, 1 << 20);
    assert_int_equal(p->heartbeat.ws_ping_us, 30000000);
    assert_int_equal(p->heartbeat.pong_timeout_us, 10000000);
    assert_string_equal(p->heartbeat.text, "");
    assert_string_equal(p->heartbeat.expect, "");
    assert_int_equal(p->heartbeat.interval_us, 30000000);
    assert_int_equal(p->heartbeat.timeout_us, 10000000);
    assert_int_equal(p->reconnect.min_us, 0);            /* off */
    assert_int_equal(p->reconnect.max_us, 0);
    assert_int_equal(p->reconnect.attempts, 0);

    assert_int_equal(p->n_phases, 4);
    assert_int_equal(p->phases[0].u.ramp.timeout_us, 14000000);   /* 2*10/5 s + 10 s */
    const struct plan_phase *ph = &p->phases[1];
    assert_int_equal(ph->u.push.mode, PLAN_PUSH_UNICAST);
    assert_true(ph->u.push.rate == 100);
    assert_int_equal(ph->u.push.count, 1);
    assert_int_equal(ph->u.push.recipients, 10);
    assert_string_equal(ph->u.push.body, "{msg}");
    assert_string_equal(ph->u.push.url, "");
    assert_string_equal(ph->u.push.call.method, "POST");
    assert_int_equal(ph->u.push.call.n_headers, 0);
    assert_int_equal(ph->u.push.concurrency, 64);
    assert_int_equal(ph->u.push.grace_us, 5000000);
    assert_int_equal(p->phases[2].u.disconnect.code, 1000);
    assert_true(p->phases[3].u.exec.expect_reconnect == 0);
    assert_int_equal(p->phases[3].u.exec.within_us, 60000000);
    assert_false(p->thresholds.connect_success.set);
    assert_false(p->thresholds.push_lost.set);
    assert_false(p->thresholds.push_latency_p99.set);
    assert_false(p->thresholds.push_latency_p50.set);
    assert_false(p->thresholds.handshake_p99.set);
    assert_int_equal(plan_max_connections(p), 10);
    free(p);
}

/* The same without connections, so a case can write its own. */
#define BASE_NC \
    "name: t\n" \
    "targets:\n" \
    "  - {ws: \"ws://h:1/ws\", push: \"http://h:2/push\"}\n" \
    "phases:\n" \
    "  - ramp: {to: 100, rate: 10/s}\n"

/* the run's end: agents.final_wait given or from the connections, and
 * whether agents.expect was in the plan (run --local-agents reads it) */
static void test_run_end_keys(void **state)
{
    (void)state;
    /* the connections a ramp opens count, not connections.total */
    struct plan *p = parse_ok(BASE_NC "  - ramp: {to: 204000, rate: 10k/s}\n"
                              "connections: {total: 1M}\n");
    assert_int_equal(p->end.final_wait_us, 50000000);    /* 30 s + 20 s */
    assert_int_equal(p->end.expect_line, 0);
    free(p);
    p = parse_ok(BASE_NC "connections: {total: 1M}\nagents:\n  expect: 4\n  final_wait: 2m\n");
    assert_int_equal(p->end.final_wait_us, 120000000);
    assert_int_equal(p->end.expect_line, 8);
    assert_int_equal(p->agents.expect, 4);
    free(p);
}

static void test_section_defaults(void **state)
{
    (void)state;
    /* An empty reconnect section turns reconnect on with its defaults. */
    struct plan *p = parse_ok(BASE "reconnect: {}\nheartbeat: {ws_ping: off}\n");
    assert_int_equal(p->reconnect.min_us, 1000000);
    assert_int_equal(p->reconnect.max_us, 30000000);
    assert_int_equal(p->reconnect.attempts, 0);
    assert_int_equal(p->heartbeat.ws_ping_us, 0);
    assert_int_equal(p->heartbeat.interval_us, 30000000);
    free(p);

    /* App heartbeat interval follows ws_ping when not given; hold as a map; 0 ping = off. */
    p = parse_ok(BASE "  - hold: {duration: 2s}\nheartbeat: {ws_ping: 20s, text: hi}\n");
    assert_int_equal(p->heartbeat.interval_us, 20000000);
    assert_int_equal(p->phases[1].u.hold.duration_us, 2000000);
    free(p);
    p = parse_ok(BASE "heartbeat: {ws_ping: 0}\n");
    assert_int_equal(p->heartbeat.ws_ping_us, 0);
    free(p);

    /* Broadcast URL derivation keeps scheme, host and port, drops path and query. */
    p = parse_ok("name: b\ntargets:\n  - {ws: \"wss://x/ws\", push: \"https://x?uid={conn}\"}\n"
                 "connections: {total: 1}\nphases:\n  - ramp: {to: 1, rate: 1/s}\n");
    assert_string_equal(p->targets[0].broadcast, "https://x/broadcast");
    free(p);
}

/* deadlines: every phase gets nominal + max(30s, nominal/2), `deadline:`
 * overrides it, and the run's default covers agents.wait, every phase and a
 * minute; the verdict-fault thresholds parse in their units. */
static void test_deadlines(void **state)
{
    (void)state;
    struct plan *p = parse_ok(BASE "  - push: {count: 20, rate: 10/s, grace: 5s}\n"
                              "  - hold: 2m\n"
                              "  - exec: {command: \"sleep 1\", deadline: 3s}\n"
                              "  - hold: {duration: 1s, deadline: 4s}\n"
                              "thresholds: {agents_lost: \"== 0\", push_failed: \"<= 2\", "
                              "delivered_fraction: \">= 99.5%\", saturated_seconds: \"== 0\", "
                              "rtt_p50: \"< 2ms\", rtt_p99: \"< 20ms\"}\n");
    /* ramp to 100 at 10/s: timeout 2 * 10s + 10s = 30s, margin 30s */
    assert_int_equal(p->phases[0].deadline_us, 60000000);
    /* push: 2s of sending + 5s grace + 5s drain + 10s HTTP = 22s, + 30s */
    assert_int_equal(plan_phase_nominal_us(&p->phases[1]), 22000000);
    assert_int_equal(p->phases[1].deadline_us, 52000000);
    /* hold 2m: margin is half of it */
    assert_int_equal(p->phases[2].deadline_us, 180000000);
    assert_int_equal(p->phases[3].deadline_us, 3000000);
    assert_int_equal(p->phases[4].deadline_us, 4000000);
    /* agents.wait 30s + 60s + the phases' 60 + 52 + 180 + 3 + 4 s */
    assert_int_equal(p->deadline_us, (30 + 60 + 60 + 52 + 180 + 3 + 4) * 1000000LL);
    assert_true(p->thresholds.agents_lost.set);
    assert_int_equal(p->thresholds.push_failed.cmp, PLAN_CMP_LE);
    assert_true(p->thresholds.delivered_fraction.value > 0.994 &&
                p->thresholds.delivered_fraction.value < 0.996);
    assert_int_equal((int64_t)p->thresholds.rtt_p99.value, 20000);
    assert_int_equal((int64_t)p->thresholds.rtt_p50.value, 2000);
    assert_true(p->thresholds.saturated_seconds.set);
    free(p);
    p = parse_ok(BASE "deadline: 90s\n");
    assert_int_equal(p->deadline_us, 90000000);
    free(p);
}

/* ------------------------------------------------------------ errors */


static const struct bad_case bad_cases[] = {
    { "unknown top-level key", BASE "nmae: x\n",
      "t.yaml:7:1: nmae: ",
      "unknown key \"nmae\"; did you mean \"name\"? (allowed: name, targets, agents, connections, heartbeat, reconnect, "
      "session, phases, thresholds, tls, deadline, protocol_options)" },
    { "unknown key in a phase", "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"http://h:2/p\"}\n"
      "connections: {total: 100}\nphases:\n  - ramp: {to: 100, rat: 10/s}\n",
      "t.yaml:6:21: phases[0].ramp.rat: ", "unknown key \"rat\"; did you mean \"rate\"? (allowed: to, rate, timeout, deadline)" },
    { "map where a string is expected", "name: {a: 1}\n",
      "t.yaml:1:7: name: ", "expected a string, got a map" },
    { "list where a map is expected", BASE "agents: [1, 2]\n",
      "t.yaml:7:9: agents: ", "expected a map like {expect: 2, wait: 30s}, got a list" },
    { "bad rate", "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"http://h:2/p\"}\n"
      "connections: {total: 100}\nphases:\n  - ramp: {to: 100, rate: fast}\n",
      "t.yaml:6:27: phases[0].ramp.rate: ", "expected a rate like 2000/s, 500/m or 20k/s, got \"fast\"" },
    { "zero rate", "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"http://h:2/p\"}\n"
      "connections: {total: 100}\nphases:\n  - ramp: {to: 100, rate: 0/s}\n",
      "t.yaml:6:27: phases[0].ramp.rate: ", "must be more than zero" },
    { "ramp above total", "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"http://h:2/p\"}\n"
      "connections: {total: 100}\nphases:\n  - ramp: {to: 200, rate: 10/s}\n",
      "t.yaml:6:16: phases[0].ramp.to: ", "200 is above connections.total (100)" },
    { "ramp going down", BASE "  - ramp: {to: 50, rate: 10/s}\n",
      "t.yaml:7:16: phases[1].ramp.to: ", "50 is not above the previous ramp's 100 (phases[0])" },
    { "expect 0", BASE "agents: {expect: 0}\n",
      "t.yaml:7:18: agents.expect: ", "must be more than zero, got \"0\"" },
    { "fraction above 1", BASE "  - disconnect: {fraction: 1.5}\n",
      "t.yaml:7:28: phases[1].disconnect.fraction: ", "must be between 0 and 1" },
    { "fraction 0", BASE "  - disconnect: {fraction: 0%}\n",
      "t.yaml:7:28: phases[1].disconnect.fraction: ", "must be more than zero" },
    { "max below min", BASE "reconnect: {min: 10s, max: 1s}\n",
      "t.yaml:7:28: reconnect.max: ", "max (1s) is below min (10s)" },
    { "min above default max", BASE "reconnect: {min: 1m}\n",
      "t.yaml:7:18: reconnect.min: ", "max (30s, the default) is below min (1m00s)" },
    { "empty phases", "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"http://h:2/p\"}\n"
      "connections: {total: 100}\nphases: []\n",
      "t.yaml:5:9: phases: ", "needs at least one phase" },
    { "phase with two keys", BASE "  - hold: 1s\n    push: {count: 1}\n",
      "t.yaml:7:5: phases[1]: ", "a phase is a map with one key, got 2 keys" },
    { "phase with no key", BASE "  - {}\n",
      "t.yaml:7:5: phases[1]: ", "got an empty map" },
    { "phase not a map", BASE "  - hold\n",
      "t.yaml:7:5: phases[1]: ", "expected a phase like {hold: 10s}" },
    { "unknown phase kind", BASE "  - hlod: 10s\n",
      "t.yaml:7:5: phases[1].hlod: ",
      "unknown phase kind \"hlod\"; did you mean \"hold\"? (allowed: ramp, hold, push, disconnect, exec, wait_reconnect)" },
    { "duplicate key", "name: t\nconnections: {total: 100, total: 200}\n",
      "t.yaml:2:27: connections.total: ", "duplicate key (first given at 2:15)" },
    { "duplicate top-level key", BASE "name: u\n",
      "t.yaml:7:1: name: ", "duplicate key (first given at 1:1)" },
    { "missing required key in a phase", "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"http://h:2/p\"}\n"
      "connections: {total: 100}\nphases:\n  - ramp: {rate: 10/s}\n",
      "t.yaml:6:11: phases[0].ramp: ", "missing required key \"to\"" },
    { "missing name", "targets:\n  - {ws: \"ws://h:1/ws\", push: \"http://h:2/p\"}\n",
      "t.yaml:1:1: (top level): ", "missing required key \"name\"" },
    { "missing push in a target", "name: t\ntargets:\n  - ws: \"ws://h:1/ws\"\n",
      "t.yaml:3:5: targets[0]: ", "missing required key \"push\"" },
    { "syntax error", "name: t\n  bad: x\n",
      "t.yaml:2:6: syntax error: ", "mapping values are not allowed" },
    { "unclosed flow map", "name: t\nagents: {expect: 2\nphases: []\n",
      "t.yaml:3:7: syntax error: ", "did not find expected ',' or '}' (while parsing a flow mapping at 2:9)" },
    { "unquoted threshold", BASE "thresholds:\n  connect_success: >= 99%\n",
      "t.yaml:8:21: syntax error: ", "must be quoted" },
    { "anchor", BASE "agents: &a {expect: 1}\n",
      "t.yaml:7:9: unsupported YAML: ", "anchors (&a) are not supported" },
    { "second document", BASE "---\nname: u\n",
      "t.yaml:7:1: unsupported YAML: ", "only one YAML document" },
    { "empty file", "",
      "t.yaml:1:1: (top level): ", "the plan is empty" },
    { "top level is a list", "- a\n- b\n",
      "t.yaml:1:1: (top level): ", "expected a map of plan keys" },
    { "ws URL scheme", "name: t\ntargets:\n  - {ws: \"http://h/ws\", push: \"http://h:2/p\"}\n",
      "t.yaml:3:10: targets[0].ws: ", "expected a URL starting with ws:// or wss://, got \"http://h/ws\"" },
    { "push URL without host", "name: t\ntargets:\n  - {ws: \"ws://h/ws\", push: \"http:///p\"}\n",
      "t.yaml:3:29: targets[0].push: ", "URL has no host" },
    { "no targets", "name: t\ntargets: []\n",
      "t.yaml:2:10: targets: ", "needs at least one target" },
    { "body without {msg}", BASE "  - push: {count: 1, body: hello}\n",
      "t.yaml:7:28: phases[1].push.body: ", "must contain {msg}" },
    { "push call timeout above 10m", BASE "  - push: {count: 1, timeout: 11m}\n",
      "t.yaml:7:31: phases[1].push.timeout: ", "want 1ms..10m: how long one push call may take" },
    { "push without count", BASE "  - push: {rate: 5/s}\n",
      "t.yaml:7:11: phases[1].push: ", "missing required key \"count\"" },
    { "recipients outside multicast", BASE "  - push: {count: 1, recipients: 5}\n",
      "t.yaml:7:22: phases[1].push.recipients: ", "only applies to mode: multicast" },
    { "multicast recipients above total", BASE "  - push: {mode: multicast, count: 1, recipients: 500}\n",
      "t.yaml:7:51: phases[1].push.recipients: ", "500 is above connections.total (100)" },
    { "multicast recipients above the per-call cap",
      "name: t\ntargets:\n  - {ws: \"ws://h/ws\", push: \"http://h/p\"}\n"
      "connections: {total: 5000}\nphases:\n  - ramp: {to: 10, rate: 1/s}\n"
      "  - push: {mode: multicast, count: 1, recipients: 2000}\n",
      "t.yaml:7:51: phases[1].push.recipients: ", "2000" },
    { "bad agents.split",
      "name: t\ntargets:\n  - {ws: \"ws://h/ws\", push: \"http://h/p\"}\nagents: {split: fastest}\n",
      "t.yaml:4:17: agents.split: ", "expected even or capacity, got \"fastest\"" },
    { "bad push mode", BASE "  - push: {mode: anycast, count: 1}\n",
      "t.yaml:7:18: phases[1].push.mode: ", "expected unicast, broadcast or multicast, got \"anycast\"" },
    { "bad close code", BASE "  - disconnect: {fraction: 0.5, code: 1006}\n",
      "t.yaml:7:39: phases[1].disconnect.code: ", "got 1006" },
    { "expect without text", BASE "heartbeat: {expect: pong}\n",
      "t.yaml:7:13: heartbeat.expect: ", "needs heartbeat.text" },
    { "wait_reconnect without reconnect", BASE "  - wait_reconnect: {fraction: 99%}\n",
      "t.yaml:7:32: phases[1].wait_reconnect.fraction: ", "no reconnect section" },
    { "within without expect_reconnect", BASE "  - exec: {command: x, within: 5s}\n",
      "t.yaml:7:24: phases[1].exec.within: ", "only applies with expect_reconnect" },
    { "no ramp", "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"http://h:2/p\"}\n"
      "connections: {total: 100}\nphases:\n  - hold: 1s\n",
      "t.yaml:6:3: phases: ", "no ramp phase" },
    { "threshold without operator", BASE "thresholds: {connect_success: \"99%\"}\n",
      "t.yaml:7:31: thresholds.connect_success: ", "expected a comparison like \">= 99.9%\"" },
    { "threshold of the wrong unit", BASE "thresholds: {push_latency_p99: \"< 99%\"}\n",
      "t.yaml:7:32: thresholds.push_latency_p99: ", "expected a duration like 250ms" },
    { "threshold that can never pass", BASE "thresholds: {push_lost: \"< 0\"}\n",
      "t.yaml:7:25: thresholds.push_lost: ", "can never pass" },
    { "unknown threshold", BASE "thresholds: {p99: \"< 1s\"}\n",
      "t.yaml:7:14: thresholds.p99: ", "allowed: connect_success, push_lost, push_latency_p99" },
    { "too many headers", BASE_NC "connections: {total: 100, headers: {a: 1, b: 1, c: 1, d: 1, e: 1, "
      "f: 1, g: 1, h: 1, i: 1}}\n",
      "t.yaml:6:85: connections.headers.i: ", "too many headers: at most 8" },
    { "duplicate header, other case", BASE_NC "connections: {total: 100, headers: {X-A: 1, x-a: 2}}\n",
      "t.yaml:6:45: connections.headers.x-a: ", "duplicate header" },
    { "reserved header", BASE_NC "connections: {total: 100, headers: {Sec-WebSocket-Protocol: chat}}\n",
      "t.yaml:6:37: connections.headers.Sec-WebSocket-Protocol: ", "connections.subprotocol" },
    { "count with m", BASE_NC "connections: {total: 1m}\n",
      "t.yaml:6:22: connections.total: ", "ambiguous with minutes" },
    { "name too long", "name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
      "t.yaml:1:7: name: ", "too long: 64 bytes, at most 63" },
    { "empty name", "name: \"\"\n",
      "t.yaml:1:7: name: ", "must not be empty" },
    { "hold of nothing", BASE "  - hold:\n",
      "t.yaml:7:10: phases[1].hold: ", "got nothing" },
    { "non-string key", BASE "[a]: 1\n",
      "t.yaml:7:1: (top level): ", "keys must be names, got a list" },
    { "control character in a URL", "name: t\ntargets:\n  - {ws: \"ws://h/a b\", push: \"http://h:2/p\"}\n",
      "t.yaml:3:10: targets[0].ws: ", "spaces or control characters" },
    { "newline in a key is echoed safely", BASE "\"a\\nb\": 1\n",
      "t.yaml:7:1: a?b: ", "unknown key \"a?b\" (allowed: name," },
    { "unknown key far from any allowed one", BASE "colour: blue\n",
      "t.yaml:7:1: colour: ", "unknown key \"colour\" (allowed: name," },
    { "duration beyond 30 days", BASE "heartbeat: {ws_ping: 1000h}\n",
      "t.yaml:7:22: heartbeat.ws_ping: ", "too long: \"1000h\", at most 720h" },
    { "long values are cut in messages", BASE "agents: {expect: "
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx}\n",
      "t.yaml:7:18: agents.expect: ", "got \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"" },
    { "long keys are cut in paths", BASE "agents: {yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy: 1}\n",
      "t.yaml:7:10: agents.yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy...: ", "(allowed: expect, wait, split, grace, buffer, final_wait)" },
    /* control-link liveness */
    { "grace too short", BASE "agents: {grace: 500ms}\n",
      "t.yaml:7:17: agents.grace: ", "must be between 1s and 1h, got \"500ms\"" },
    { "grace too long", BASE "agents: {grace: 2h}\n",
      "t.yaml:7:17: agents.grace: ", "must be between 1s and 1h, got \"2h\"" },
    { "grace not a duration", BASE "agents: {grace: soon}\n",
      "t.yaml:7:17: agents.grace: ", "soon" },
    { "buffer too small", BASE "agents: {buffer: 100k}\n",
      "t.yaml:7:18: agents.buffer: ", "must be between 1M and 4000M bytes, got \"100k\"" },
    { "buffer too large", BASE "agents: {buffer: 5000M}\n",
      "t.yaml:7:18: agents.buffer: ", "must be between 1M and 4000M bytes, got \"5000M\"" },
    /* the run's end */
    { "final_wait too short", BASE "agents: {final_wait: 100ms}\n",
      "t.yaml:7:22: agents.final_wait: ", "must be between 1s and 1h, got \"100ms\"" },
    { "final_wait too long", BASE "agents: {final_wait: 90m}\n",
      "t.yaml:7:22: agents.final_wait: ", "must be between 1s and 1h, got \"90m\"" },
    { "final_wait not a duration", BASE "agents: {final_wait: -3}\n",
      "t.yaml:7:22: agents.final_wait: ", "-3" },
    { "bad method", BASE "  - push: {count: 1, method: post}\n",
      "t.yaml:7:30: phases[1].push.method: ", "upper case" },
    { "concurrency above the pusher's limit", BASE "  - push: {count: 1, concurrency: 5000}\n",
      "t.yaml:7:35: phases[1].push.concurrency: ", "at most 1024" },
};

static void test_bad_plans(void **state)
{
    (void)state;
    plan_bad_run(bad_cases, sizeof(bad_cases) / sizeof(bad_cases[0]));
}

static void test_error_truncated_buffer(void **state)
{
    (void)state;
    struct plan *p = calloc(1, sizeof(*p));
    char err[16];
    const char *y = "name: {a: 1}\n";
    assert_int_equal(plan_parse("t.yaml", y, strlen(y), p, err, sizeof(err)), -1);
    assert_string_equal(err, "t.yaml:1:7: nam");
    assert_int_equal(plan_parse("t.yaml", y, strlen(y), p, NULL, 0), -1);
    free(p);
}

/* ------------------------------------------------------------ thresholds */

static struct plan_threshold thr(enum plan_cmp cmp, double v)
{
    struct plan_threshold t = { .set = 1, .cmp = cmp, .value = v };
    return t;
}

static void test_threshold_check(void **state)
{
    (void)state;
    struct plan_threshold t = thr(PLAN_CMP_GE, 0.999);
    assert_true(plan_threshold_check(&t, 0.999));
    assert_true(plan_threshold_check(&t, 999.0 / 1000.0));
    assert_true(plan_threshold_check(&t, 1.0));
    assert_false(plan_threshold_check(&t, 0.998));
    assert_false(plan_threshold_check(&t, NAN));
    t = thr(PLAN_CMP_GT, 10);
    assert_true(plan_threshold_check(&t, 10.5));
    assert_false(plan_threshold_check(&t, 10));
    t = thr(PLAN_CMP_LE, 100000);
    assert_true(plan_threshold_check(&t, 100000));
    assert_false(plan_threshold_check(&t, 100001));
    t = thr(PLAN_CMP_LT, 500000);
    assert_true(plan_threshold_check(&t, 499999));
    assert_false(plan_threshold_check(&t, 500000));
    t = thr(PLAN_CMP_EQ, 0);
    assert_true(plan_threshold_check(&t, 0));
    assert_false(plan_threshold_check(&t, 1));
    struct plan_threshold unset = { 0 };
    assert_true(plan_threshold_check(&unset, 12345));

    /* Parsed thresholds compare in the units the runner measures in. */
    struct plan *p = parse_ok(BASE "thresholds: {connect_success: \">=100%\", handshake_p99: \"<  1.5s\"}\n");
    assert_true(plan_threshold_check(&p->thresholds.connect_success, 1.0));
    assert_false(plan_threshold_check(&p->thresholds.connect_success, 0.9999));
    assert_true(plan_threshold_check(&p->thresholds.handshake_p99, 1499999));
    assert_false(plan_threshold_check(&p->thresholds.handshake_p99, 1500000));
    assert_string_equal(p->thresholds.handshake_p99.text, "<  1.5s");
    free(p);
}

static void test_phase_names(void **state)
{
    (void)state;
    assert_string_equal(plan_phase_name(PLAN_PHASE_RAMP), "ramp");
    assert_string_equal(plan_phase_name(PLAN_PHASE_HOLD), "hold");
    assert_string_equal(plan_phase_name(PLAN_PHASE_PUSH), "push");
    assert_string_equal(plan_phase_name(PLAN_PHASE_DISCONNECT), "disconnect");
    assert_string_equal(plan_phase_name(PLAN_PHASE_EXEC), "exec");
    assert_string_equal(plan_phase_name(PLAN_PHASE_WAIT_RECONNECT), "wait_reconnect");
    assert_string_equal(plan_phase_name((enum plan_phase_kind)0), "unknown");
    assert_string_equal(plan_phase_name((enum plan_phase_kind)99), "unknown");
}

/* ------------------------------------------------------------ files */

static void test_plan_files(void **state)
{
    (void)state;
    struct plan *p = calloc(1, sizeof(*p));
    char err[PLAN_ERR_MAX];
    assert_non_null(p);

    if (plan_load("plans/demo.yaml", p, err, sizeof(err)) != 0) {
        print_error("%s\n", err);
        fail();
    }
    assert_string_equal(p->name, "demo");
    assert_int_equal(p->n_targets, 1);
    assert_string_equal(p->targets[0].ws, "ws://127.0.0.1:8080/ws?uid={conn}");
    assert_string_equal(p->targets[0].push, "http://127.0.0.1:8080/push?uid={conn}");
    assert_string_equal(p->targets[0].broadcast, "http://127.0.0.1:8080/broadcast");
    assert_int_equal(p->agents.expect, 2);
    assert_int_equal(p->agents.wait_us, 20000000);
    assert_int_equal(p->connections.total, 10000);
    assert_int_equal(p->heartbeat.ws_ping_us, 30000000);
    assert_int_equal(p->n_phases, 4);
    assert_int_equal(p->phases[0].kind, PLAN_PHASE_RAMP);
    assert_int_equal(p->phases[0].u.ramp.to, 10000);
    assert_true(p->phases[0].u.ramp.rate == 2000);
    assert_int_equal(p->phases[1].kind, PLAN_PHASE_HOLD);
    assert_int_equal(p->phases[1].u.hold.duration_us, 10000000);
    assert_int_equal(p->phases[2].u.push.mode, PLAN_PUSH_UNICAST);
    assert_int_equal(p->phases[2].u.push.count, 1000);
    assert_true(p->phases[2].u.push.rate == 500);
    assert_string_equal(p->phases[2].u.push.body, "{\"id\":\"{msg}\",\"text\":\"hello\"}");
    assert_int_equal(p->phases[3].u.push.mode, PLAN_PUSH_BROADCAST);
    assert_int_equal(p->phases[3].u.push.count, 3);
    assert_true(p->phases[3].u.push.rate == 1);
    assert_true(p->thresholds.connect_success.set && p->thresholds.connect_success.value == 1.0);
    assert_true(p->thresholds.push_lost.set && p->thresholds.push_lost.cmp == PLAN_CMP_EQ);
    assert_true(p->thresholds.push_latency_p99.set &&
                p->thresholds.push_latency_p99.value == 1000000);
    assert_int_equal(plan_max_connections(p), 10000);

    if (plan_load("plans/example-1m.yaml", p, err, sizeof(err)) != 0) {
        print_error("%s\n", err);
        fail();
    }
    assert_string_equal(p->name, "nightly-1m");
    assert_int_equal(p->n_targets, 2);
    assert_int_equal(p->agents.expect, 20);
    assert_int_equal(p->connections.total, 1000000);
    assert_int_equal(p->n_phases, 7);
    assert_int_equal(p->phases[5].kind, PLAN_PHASE_EXEC);
    assert_int_equal(plan_max_connections(p), 1000000);

    assert_int_equal(plan_load("plans/does-not-exist.yaml", p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "plans/does-not-exist.yaml: cannot open: No such file"));
    free(p);
}

/* The split run.c assigns and `check` prints: ranges tile 0..total exactly
 * with the remainder on the first agents; proportional shares add up, never
 * exceed a weight, and give a zero weight (a lost agent) nothing. */
static void test_split(void **state)
{
    (void)state;
    uint64_t first, count, next = 0;
    for (uint32_t i = 0; i < 3; i++) {
        plan_agent_range(10, 3, i, &first, &count);
        assert_int_equal(first, next);
        assert_int_equal(count, i == 0 ? 4 : 3);
        next = first + count;
    }
    assert_int_equal(next, 10);
    uint64_t w[3] = {4, 3, 3}, share[3];
    plan_split(7, w, 3, share);
    assert_int_equal(share[0] + share[1] + share[2], 7);
    for (int i = 0; i < 3; i++)
        assert_true(share[i] <= w[i]);
    plan_split(10, w, 3, share);
    assert_int_equal(share[0], 4);
    assert_int_equal(share[1], 3);
    assert_int_equal(share[2], 3);
    uint64_t lost[3] = {4, 0, 3};
    plan_split(5, lost, 3, share);
    assert_int_equal(share[1], 0);
    assert_int_equal(share[0] + share[2], 5);
    uint64_t big[2] = {3000000000ULL, 3000000000ULL};
    plan_split(6000000000ULL, big, 2, share);  /* total * weight overflows 64 bits */
    assert_int_equal(share[0], 3000000000ULL);
    assert_int_equal(share[1], 3000000000ULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_plan),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_section_defaults),
        cmocka_unit_test(test_run_end_keys),
        cmocka_unit_test(test_deadlines),
        cmocka_unit_test(test_bad_plans),
        cmocka_unit_test(test_error_truncated_buffer),
        cmocka_unit_test(test_threshold_check),
        cmocka_unit_test(test_phase_names),
        cmocka_unit_test(test_plan_files),
        cmocka_unit_test(test_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
