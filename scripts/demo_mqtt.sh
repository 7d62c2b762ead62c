#!/usr/bin/env bash
# `make demo PROTOCOL=mqtt`: the demo's campaign (plans/demo.yaml's shape:
# 10,000 connections from 2 local agents, a 10 s hold, 1,000 unicasts, 3
# broadcasts) against Debian's mosquitto instead of refpush. The agents speak
# MQTT 3.1.1 over WebSocket to its websockets listener, subscribed at QoS 1
# to users/{conn} and to the shared topic all; the controller pushes through
# its mqtt adapter (unicast to users/{conn} at QoS 1, broadcast to all). The
# broker runs from a config in a temp dir on free loopback ports
# (tests/integration/servers_mosquitto.sh) and is stopped by PID at the end,
# after its $SYS counters are printed beside the summary. Results in demo.db.
set -euo pipefail
cd "$(dirname "$0")/.."
for c in mosquitto mosquitto_sub mosquitto_passwd; do
  command -v "$c" >/dev/null || [ -x "/usr/sbin/$c" ] || {
    echo "demo: $c is not installed: it comes with the Debian packages mosquitto and" \
         "mosquitto-clients (scripts/install-deps.sh test installs them)" >&2
    exit 2
  }
done
PATH=$PATH:/usr/sbin
[ -x bin/pushstorm-agent ] || { echo "demo: bin/pushstorm-agent is not built; run make first" >&2; exit 2; }
export PUSHSTORM_BIN=$PWD/bin
source tests/integration/lib.sh
source tests/integration/servers_mosquitto.sh
DB=${DB:-$PWD/demo.db}
N=10000
MQ_CONNS_MAX=$((N + 1000)) mosquitto_ws_start
CTL=$(free_port)
cat >"$T/demo-mqtt.yaml" <<YAML
name: demo-mqtt
targets:
  - {ws: "ws://127.0.0.1:$MQ_WS/", protocol: mqtt,
     push: "mqtt://127.0.0.1:$MQ_PORT/users/{conn}", broadcast: "mqtt://127.0.0.1:$MQ_PORT/all"}
protocol_options: {subscribe: ["users/{conn}", "all"], qos: 1, keepalive: 30s}
agents: {expect: 2, wait: 20s}
connections: {total: $N}
phases:
  - ramp: {to: $N, rate: 2000/s}
  - hold: 10s
  - push: {mode: unicast, count: 1000, rate: 500/s, qos: 1, body: '{"id":"{msg}","text":"hello"}'}
  - push: {mode: broadcast, count: 3, rate: 1/s, qos: 1}
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
  push_latency_p99: "< 1s"
YAML
echo "demo: mosquitto $(mosquitto -h 2>/dev/null | head -1 | awk '{print $3}') on 127.0.0.1:$MQ_WS (websockets) and :$MQ_PORT (mqtt)"
start=$(date +%s%N)
rc=0
bin/pushstorm run "$T/demo-mqtt.yaml" --db "$DB" --local-agents 2 --agent-threads 1 \
  --listen "tcp://127.0.0.1:$CTL" || rc=$?
sleep 1.5   # $SYS is published once a second
echo
# (its publish/messages/sent leaves out what goes to websockets clients: not printed)
echo "mosquitto saw: $(mq_sys clients/maximum publish/messages/received |
  paste -sd ' ' | awk '{printf "clients at most %s, publishes received %s", $1, $2}')"
stop_pid "$MQ" || true
ms=$(( ($(date +%s%N) - start) / 1000000 ))
printf 'demo finished in %d.%01ds (exit %d); results in %s (see: bin/pushstorm runs --db %s)\n' \
  $((ms / 1000)) $((ms % 1000 / 100)) "$rc" "$DB" "$DB"
exit $rc
