#!/usr/bin/env bash
# bench/proto_socketio.sh: what one agent costs speaking Socket.IO (issue 13),
# against the real socket.io server on loopback (tests/servers/socketio).
#
# One node server (pingInterval 25 s, its default), one agent (--threads 1,
# started by hand so its PID is known), one controller. The plan ramps N
# connections (each an Engine.IO open, a namespace connect with auth and its
# ack), holds them HOLD seconds, then sends BCAST broadcasts (N events each).
# A sampler reads the agent's /proc every 100 ms; the phases' times come
# from the run's database, so each figure is the agent's own over one phase:
#   bytes per connection   (agent RSS at the end of the hold - RSS before the
#                          ramp) / N: lws, the connection slot and the
#                          dialect's 68-byte state together
#   CPU per message        (agent CPU during the broadcasts - the holding cost
#                          for that time) / events received
# Usage: bench/proto_socketio.sh [N]   (env: HOLD, BCAST, RATE, ENGINE: the
# agent's --engine, bench/lib.sh)
# Needs the npm packages (scripts/install-deps.sh test). Run it under the
# shared lock on a shared machine.
source "$(dirname "$0")/lib.sh"
source "$BENCH_ROOT/tests/integration/servers_socketio.sh"
N=${1:-10000}
HOLD=${HOLD:-10}
BCAST=${BCAST:-5}
RATE=${RATE:-2000}
[ -x "$BIN/pushstorm-agent" ] || { echo "bench: build first (make)" >&2; exit 2; }
sio_need

SP=$(free_port)
sio_start "$SP"
{ sio_plan_head "bench-socketio-$N" "$SP" "" '{"user":"{conn}"}'; cat <<P
agents: {expect: 1, wait: 20s}
connections: {total: $N}
phases:
  - ramp: {to: $N, rate: $RATE/s, timeout: 120s}
  - hold: ${HOLD}s
  - push: {mode: broadcast, count: $BCAST, rate: 1/s, grace: 20s}
P
} >"$T/plan.yaml"
# the server's count of events emitted, read before it stops (its CPU and
# memory are sampled, not reported: the figures are the agent's)
sio_done() { emitted=$(sio_stats "$SP" emitted); sio_stop; }
proto_bench_run "$T/plan.yaml" sio_done "$SIO"
[ "$RUN_RC" = 0 ] || exit 1

proto_bench_figures "$N" 0 emitted="$emitted" expect_msgs="$emitted" <<'R'
socketio benchmark: N={n}, one agent, 1 thread, socket.io {emitted} events emitted
  connections online {online} of {n}; events received {msgs}
  bytes per connection (RSS growth, end of hold)  {rss_per_conn:.0f} B
  CPU holding N (25 s Engine.IO pings)            {hold_cpu_pct:.2f}% of a core
  CPU per received event                          {cpu_per_msg:.2f} us
figure socketio_bytes_per_conn_{n} {rss_per_conn:.0f} B
figure socketio_cpu_per_msg_{n} {cpu_per_msg:.2f} us
R
