#!/usr/bin/env bash
# bench/fanout.sh: what one broadcast frame costs refpush to write and the
# agent to take in, N connections held by one agent on loopback.
#
# The plan ramps N connections, holds, then sends COUNT broadcasts one a
# second. Over the window from refpush's first delivered frame to its last
# (its /stats frames_delivered), the run time of every thread of refpush and
# of the agent (/proc/PID/task/*/schedstat) is divided by the frames written.
# On loopback the sender's send() also runs the receiver's TCP input in its
# softirq, so refpush's figure carries part of the kernel's receive work.
# Figures (bench/lib.sh's `figure` lines; `make bench` compares them):
#   fanout_refpush_us   refpush CPU per broadcast frame written
#   fanout_agent_us     agent CPU per broadcast frame received
# Usage: bench/fanout.sh [N]   (env: COUNT=20 SRC_IPS=127.1.90.2-127.1.90.5,
#        ENGINE=lws|native: the agent's --engine, unset the agent's default)
source "$(dirname "$0")/lib.sh"
N=${1:-15000}
COUNT=${COUNT:-20}
SRC_IPS=${SRC_IPS:-127.1.90.2-127.1.90.5}
[ -x "$BIN/pushstorm-agent" ] || { echo "bench: build first (make)" >&2; exit 2; }

port=$(free_port)
start_refpush "$port"
cat >"$T/plan.yaml" <<PLAN
name: bench-fanout-$N
targets:
  - {ws: "ws://127.0.0.1:$port/ws?uid={conn}", push: "http://127.0.0.1:$port/push?uid={conn}"}
agents: {expect: 1, wait: 30s}
connections: {total: $N}
phases:
  - ramp: {to: $N, rate: 10000/s}
  - hold: 3s
  - push: {mode: broadcast, count: $COUNT, rate: 1/s, grace: 20s}
thresholds: {push_lost: "== 0"}
PLAN
CTL=$(free_port)
"$BIN/pushstorm" run "$T/plan.yaml" --db "$T/fanout.db" --listen "tcp://127.0.0.1:$CTL" \
  >"$T/ctl.log" 2>&1 &
CTLPID=$!; PIDS+=("$CTLPID")
"$BIN/pushstorm-agent" --controller "tcp://127.0.0.1:$CTL" --name fanout --source-ips "$SRC_IPS" \
  ${ENGINE:+--engine "$ENGINE"} --once --quiet >"$T/agent.log" 2>&1 &
AGENT=$!; PIDS+=("$AGENT")

cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%d\n", s}'; }
frames() {
  curl -s "http://127.0.0.1:$port/stats" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["frames_delivered"])' 2>/dev/null ||
    echo 0
}
# wait_frames WANT: until refpush has written WANT frames, or the run ended
wait_frames() {
  while [ "$(frames)" -lt "$1" ]; do
    kill -0 "$CTLPID" 2>/dev/null || return 1
    sleep 0.05
  done
}
wait_frames 1 || { echo "bench: no broadcast frame was written" >&2; cat "$T/ctl.log" >&2; exit 1; }
rp0=$(cpu_ns "$RP"); ag0=$(cpu_ns "$AGENT"); f0=$(frames)
wait_frames $((N * COUNT)) || echo "bench: the run ended before all $((N * COUNT)) frames" >&2
rp1=$(cpu_ns "$RP"); ag1=$(cpu_ns "$AGENT"); f1=$(frames)
rc=0; wait "$CTLPID" || rc=$?
grep -E "^(deliveries|threshold)" "$T/ctl.log" | sed 's/^/  /'
python3 - "$f0" "$f1" "$rp0" "$rp1" "$ag0" "$ag1" <<'PY'
import sys
f0, f1, rp0, rp1, ag0, ag1 = map(int, sys.argv[1:])
n = f1 - f0
if n <= 0:
    sys.exit("bench: no frames in the window")
print(f"fanout: {n:,} broadcast frames timed")
print(f"figure fanout_refpush_us {(rp1 - rp0) / 1e3 / n:.2f} us")
print(f"figure fanout_agent_us {(ag1 - ag0) / 1e3 / n:.2f} us")
PY
exit $rc
