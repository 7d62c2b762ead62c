#!/usr/bin/env bash
# bench/proto_stomp.sh: what the STOMP dialect costs one agent, against a real
# broker (Debian's RabbitMQ, web-stomp plugin, tests/integration/servers_rabbitmq.sh).
#
# One agent (--threads 1, its PID sampled every 100 ms), N connections
# (default 10,000), each subscribed in client ack mode to one shared
# destination, heart-beats 10 s both ways; a hold, then BCAST broadcasts
# through the management API (N messages each, every one ACKed). Figures:
#   stomp_rss_per_conn       (agent RSS at the end of the hold - RSS before the
#                            ramp) / N: everything a STOMP connection costs
#                            (lws, the 64-byte slot, the dialect's state)
#   stomp_state_bytes        the dialect's own per-connection state (reader,
#                            pending acks, heart-beats), from the agent binary
#   stomp_cpu_per_msg        (agent CPU during the broadcasts - its holding
#                            cost for that time) / messages received: reading
#                            the MESSAGE frame, the token scan, writing the ACK
#   stomp_hold_cpu           agent CPU holding N, % of a core
# plus the broker's start-to-ready time and RSS. Bounded: the broker's start,
# the ramp (60 s timeout) and the broadcasts; a few minutes in all. Run it
# under the shared lock. Usage: bench/proto_stomp.sh [N]   (env: HOLD, BCAST,
# ENGINE: the agent's --engine, bench/lib.sh)
source "$(dirname "$0")/lib.sh"
source "$BENCH_ROOT/tests/integration/servers_rabbitmq.sh"
N=${1:-10000}
HOLD=${HOLD:-15}
BCAST=${BCAST:-5}
[ -x "$BIN/pushstorm-agent" ] || { echo "bench: build first (make)" >&2; exit 2; }
rabbitmq_need || { echo "bench: rabbitmq-server is not installed (scripts/install-deps.sh test)" >&2; exit 2; }
rabbitmq_start
echo "rabbitmq: ready in $RMQ_START_MS ms"
{ rabbitmq_stomp_plan "bench-stomp-$N" "$N" guest '["/exchange/amq.topic/all"]'
  cat <<P
agents: {expect: 1, wait: 20s}
phases:
  - ramp: {to: $N, rate: 1000/s, timeout: 60s}
  - hold: ${HOLD}s
  - push: {mode: broadcast, count: $BCAST, rate: 1/s, grace: 20s, $RMQ_AUTH, body: $(rabbitmq_body all)}
P
} >"$T/plan.yaml"
BEAM=$(pgrep -P "$RMQ_PID" beam.smp || true)
proto_bench_run "$T/plan.yaml" rabbitmq_stop ${BEAM:+"$BEAM"}

state=$(gdb -batch -ex 'print sizeof(struct stomp_conn)' "$BIN/pushstorm-agent" 2>/dev/null |
        sed -n 's/^\$1 = //p')
broker='  broker: ready in {start_ms} ms, RSS {server_held_gib:.2f} GiB holding'
[ -n "$BEAM" ] || broker='  broker: not sampled'
proto_bench_figures "$N" "${BEAM:-0}" state="${state:-?}" start_ms="$RMQ_START_MS" <<R
stomp benchmark: N={n}, one agent, 1 thread, RabbitMQ web-stomp on loopback
  online {online} of {n}; broadcast deliveries {msgs} of {expected}; ACKs sent {acks}
$broker
figure stomp_rss_per_conn {rss_per_conn:.0f} B
figure stomp_state_bytes {state} B
figure stomp_cpu_per_msg {cpu_per_msg:.2f} us
figure stomp_hold_cpu {hold_cpu_pct:.2f} %
figure stomp_broker_start {start_ms} ms
R
exit $RUN_RC
