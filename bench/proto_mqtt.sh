#!/usr/bin/env bash
# bench/proto_mqtt.sh: what the mqtt dialect costs one agent process, against
# Debian's mosquitto on loopback (issue 13: bytes per connection and CPU per
# received message at 10,000 connections).
#
# One mosquitto (websockets listener for the agent, plain one for the
# controller's mqtt push adapter, tests/integration/servers_mosquitto.sh), one
# agent (--threads 1, started by hand so its PID is known), one controller.
# The plan ramps N MQTT 3.1.1 connections (CONNECT, CONNACK, SUBSCRIBE to
# users/{conn} and all at QoS ${QOS:-1}, SUBACK), holds them HOLD seconds
# (keepalive 30 s: no PINGREQ falls in the hold), then sends BCAST broadcasts
# to the shared topic at QoS ${QOS:-1} (N deliveries each, each owing a PUBACK
# at QoS 1). A sampler reads the agent's /proc every 100 ms; the phases'
# times come from the run's database:
#   state bytes               the dialect's per-connection state (struct agent_mqtt)
#   RSS per connection        (RSS at the end of the hold - RSS before the ramp) / N
#   CPU per received message  (agent CPU during the broadcasts - the holding
#                             cost for that time) / messages received, with
#                             the PUBACKs it wrote at QoS 1
#   CPU per 1,000 connects    agent CPU during the ramp / N * 1000 (the MQTT
#                             handshake included)
# Printed as `figure NAME VALUE UNIT` lines (bench/lib.sh). About 40 s.
# Usage: bench/proto_mqtt.sh [N]   (env: HOLD, BCAST, QOS, RATE, ENGINE: the
# agent's --engine, bench/lib.sh)
source "$(dirname "$0")/lib.sh"
source "$BENCH_ROOT/tests/integration/servers_mosquitto.sh"
N=${1:-10000}
HOLD=${HOLD:-10}
BCAST=${BCAST:-5}
QOS=${QOS:-1}
RATE=${RATE:-2500}
[ -x "$BIN/pushstorm-agent" ] || { echo "bench: build first (make)" >&2; exit 2; }
MQ_CONNS_MAX=$((N + 1000)) mosquitto_ws_start
cat >"$T/plan.yaml" <<P
name: bench-mqtt-$N
targets:
  - {ws: "ws://127.0.0.1:$MQ_WS/", protocol: mqtt,
     push: "mqtt://127.0.0.1:$MQ_PORT/users/{conn}", broadcast: "mqtt://127.0.0.1:$MQ_PORT/all"}
protocol_options: {subscribe: ["users/{conn}", "all"], qos: $QOS, keepalive: 30s}
agents: {expect: 1, wait: 20s}
connections: {total: $N}
heartbeat: {ws_ping: 30s}
phases:
  - ramp: {to: $N, rate: $RATE/s, timeout: 60s}
  - hold: ${HOLD}s
  - push: {mode: broadcast, count: $BCAST, rate: 1/s, qos: $QOS, grace: 5s}
P
mq_done() { stop_pid "$MQ" || true; }
proto_bench_run "$T/plan.yaml" mq_done "$MQ"
[ "$RUN_RC" = 0 ] || exit 1
grep -E "^(connections|deliveries|protocol|push latency) " "$T/ctl.log"
STATE=$(grep -o 'AGENT_MQTT_STATE_BYTES.*/\* [0-9]* \*/' "$BENCH_ROOT/agent/dialect_mqtt.c" | grep -o '[0-9]*' | tail -1)

proto_bench_figures "$N" "$MQ" qos="$QOS" state="${STATE:-0}" <<'R'
mqtt benchmark: N={n}, one agent (1 thread), mosquitto on loopback, QoS {qos}
  connections online {online} of {n}; broadcast deliveries {msgs}
  agent RSS per connection           {rss_per_conn:.0f} B (end of the hold - before the ramp)
  agent CPU per received message     {cpu_per_msg:.2f} us
  agent CPU per 1,000 connects       {ramp_cpu_per_1000:.3f} s (WebSocket + CONNECT/SUBSCRIBE)
  agent CPU holding N                {hold_cpu_pct:.2f}% of a core
  mosquitto CPU during the broadcasts {server_push_cpu:.2f} s for {push_s:.1f} s
figure proto_mqtt_q{qos}_state_bytes {state} B
figure proto_mqtt_q{qos}_rss_per_conn {rss_per_conn:.0f} B
figure proto_mqtt_q{qos}_cpu_per_msg {cpu_per_msg:.3f} us
figure proto_mqtt_q{qos}_cpu_per_1000_connects {ramp_cpu_per_1000:.4f} s
R
