#!/usr/bin/env bash
# `make demo PROTOCOL=stomp`: the demo's campaign (plans/demo.yaml: 10,000
# connections over 2 local agents, 1,000 unicast pushes, 3 broadcasts) spoken
# in STOMP 1.2 over WebSocket to a real broker: Debian's RabbitMQ with its
# web-stomp plugin, started here on loopback from a temp dir (its own node
# name, epmd and ports; the system's service is never used) and stopped by PID
# at the end. Each connection subscribes in client ack mode to its own
# destination and a shared one; pushes go through the broker's management API
# (POST /api/exchanges/%2F/amq.topic/publish) with the http push adapter. At
# the end it prints the summary and the broker's own counters. DEMO_N sets
# the number of connections. Installs nothing: without rabbitmq-server it says
# so and exits 2.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x bin/pushstorm-agent ] || { echo "demo: bin/pushstorm-agent is not built; run make first" >&2; exit 2; }
export PUSHSTORM_BIN=$PWD/bin
source tests/integration/lib.sh
source tests/integration/servers_rabbitmq.sh
rabbitmq_need || {
  echo "demo: RabbitMQ is not installed (Debian package rabbitmq-server; scripts/install-deps.sh test installs it)" >&2
  exit 2
}
N=${DEMO_N:-10000}
DB=${DB:-demo-stomp.db}
CTL=$(free_port)
echo "demo: starting RabbitMQ (web-stomp + management) in $T ..."
rabbitmq_start
echo "demo: RabbitMQ ready in $RMQ_START_MS ms; web-stomp ws://127.0.0.1:$RMQ_STOMP_PORT/ws"
{ rabbitmq_stomp_plan demo-stomp "$N"
  cat <<EOF
agents: {expect: 2, wait: 20s}
phases:
  - ramp: {to: $N, rate: 1000/s, timeout: 60s}
  - hold: 10s
  - push: {mode: unicast, count: 1000, rate: 500/s, $RMQ_AUTH, body: $(rabbitmq_body 'u.{conn}')}
  - push: {mode: broadcast, count: 3, rate: 1/s, $RMQ_AUTH, body: $(rabbitmq_body all)}
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
  # RabbitMQ fans each broadcast out to 10,000 subscriber queues: measured on
  # the 2-core demo machine, p99 4.8 s (the websocket demo's refpush: 0.2 s)
  push_latency_p99: "< 10s"
EOF
} >"$T/demo-stomp.yaml"
start=$(date +%s%N)
rc=0
bin/pushstorm run "$T/demo-stomp.yaml" --db "$DB" --local-agents 2 --agent-threads 1 \
  --listen "tcp://127.0.0.1:$CTL" || rc=$?
echo
# the broker samples its statistics every 500 ms: wait (at most 10 s) until
# they count every call and every ack, then print them
for _ in $(seq 50); do
  rabbitmq_api /api/overview | python3 -c '
import json, sys
m = json.load(sys.stdin).get("message_stats", {})
sys.exit(0 if m.get("publish", 0) >= 1003 and m.get("ack", 0) >= 3 * '"$N"' + 1000 else 1)' && break
  sleep 0.2
done
rabbitmq_api /api/overview | python3 -c '
import json, sys
d = json.load(sys.stdin); m = d.get("message_stats", {})
print("RabbitMQ %s saw: published %s, delivered %s, acked %s, redelivered %s" % (d["rabbitmq_version"],
      m.get("publish", 0), m.get("deliver_get", 0), m.get("ack", 0), m.get("redeliver", 0)))' || true
rabbitmq_stop
ms=$(( ($(date +%s%N) - start) / 1000000 ))
printf 'demo finished in %d.%01ds (exit %d); results in %s (see: bin/pushstorm runs --db %s)\n' \
  $((ms / 1000)) $((ms % 1000 / 100)) "$rc" "$DB" "$DB"
exit $rc
