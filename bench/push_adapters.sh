#!/usr/bin/env bash
# bench/push_adapters.sh [CALLS]: push calls per second the controller makes
# through each push adapter, on loopback, one campaign each: 500 connections
# on refpush, CALLS unicast calls (default 20000; grpc a fifth of it) asked at
# 500,000/s (so the adapter sets the pace) with 64 in flight, through
#   http        refpush's HTTP push API (keep-alive HTTP/1.1)
#   mqtt_qos0   Debian's mosquitto, topic users/{conn}, done when written
#   mqtt_qos1   the same at QoS 1, done on PUBACK
#   grpc        tests/servers/grpc/server.py (python3-grpcio), forwarding to refpush,
#               h2c: a connection per call on libcurl < 8.0 (docs/protocols.md, push adapters)
#   grpcs       the same server over TLS (ALPN h2): connections reused
# Calls/s = calls / (last answer - first send), read back from the pushes
# table; with it the median call duration and the controller's CPU per call.
# The mqtt runs have no subscriber (MQTT 5's "no matching subscribers" is a
# success), so their messages count as lost: only the call rate is the figure.
# The grpc figure is the Python server's rate, not the adapter's ceiling.
# ENGINE=lws|native: the local agent's --engine (through --agent-args);
# unset, the agent's default.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$BENCH_ROOT/tests/integration/servers_mosquitto.sh"
source "$BENCH_ROOT/tests/integration/servers_grpc.sh"
CALLS=${1:-20000}
need_build
WS=$(free_port); CTL=$(free_port); MP=$(free_port); GP=$(free_port); GT=$(free_port)
start_refpush "$WS"
mosquitto_start "$MP"
make_test_certs "$T"
grpc_server_start "$GP" "$WS" --workers 8
G1=$GS
grpc_server_start "$GT" "$WS" --workers 8 --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
G2=$GS
DB=$T/bench.db

# one NAME URL COUNT [PHASE KEYS] [TARGET KEYS]: a campaign pushing COUNT calls to URL
one() {
  local name=$1 url=$2 count=$3 extra=${4:-} textra=${5:-}
  cat >"$T/$name.yaml" <<YAML
name: bench-push-$name
targets:
  - {ws: "ws://127.0.0.1:$WS/ws?uid={conn}", push: "$url"$textra}
agents: {expect: 1, wait: 20s}
connections: {total: 500}
phases:
  - ramp: {to: 500, rate: 5000/s}
  - push: {count: $count, rate: 500000/s, concurrency: 64, grace: 1s$extra}
thresholds: {push_lost: "<= $count"}
YAML
  ctl_start "$T/$name.yaml" --local-agents 1 --agent-threads 1 ${ENGINE:+--agent-args "--engine $ENGINE"}
  local cp=$CP
  sample_proc "$T/$name.proc" "$cp" &
  local sp=$!
  wait_rc "$cp"
  wait "$sp" || true
  last_run
  local rate p50 cpu
  rate=$(q "SELECT CAST(count(*) / ((max(t_send_us + http_us) - min(t_send_us)) / 1e6) AS INT)
            FROM pushes WHERE run_id=$RUN AND error IS NULL")
  p50=$(q "SELECT http_us FROM pushes WHERE run_id=$RUN ORDER BY http_us
           LIMIT 1 OFFSET (SELECT count(*) / 2 FROM pushes WHERE run_id=$RUN)")
  # controller CPU over the whole run, per call: an upper bound (ramp, drain included)
  cpu=$(awk -v n="$count" 'NR == 1 {a = $3} {b = $3} END {printf "%.1f", (b - a) * 10000 / n}' "$T/$name.proc")
  echo "$name: $(q "SELECT count(*) FROM pushes WHERE run_id=$RUN AND error IS NULL") of $count calls ok;" \
       "$rate calls/s, median call ${p50}us, controller CPU ${cpu}us per call"
  figure "push_calls_per_s_$name" "$rate" calls/s
  figure "push_call_p50_us_$name" "$p50" us
  figure "push_ctl_cpu_us_per_call_$name" "$cpu" us
}

one http "http://127.0.0.1:$WS/push?uid={conn}" "$CALLS"
one mqtt_qos0 "mqtt://127.0.0.1:$MP/users/{conn}" "$CALLS"
one mqtt_qos1 "mqtt://127.0.0.1:$MP/users/{conn}" "$CALLS" ", qos: 1"
one grpc "grpc://127.0.0.1:$GP/push.v1.Push/Send" "$((CALLS / 5))"
one grpcs "grpcs://127.0.0.1:$GT/push.v1.Push/Send" "$((CALLS / 5))" "" ", tls: {ca_file: \"$T/ca.pem\"}"
stop_pid "$G1"
stop_pid "$G2"
stop_pid "$MQ" || true
stop_pid "$RP"
