#!/usr/bin/env bash
# bench/scale.sh: >= 100,000 connections on this one machine, one broadcast.
#
# A process here may hold at most ~19,900 sockets (hard fd limit 20,000), so
# the campaign is spread the way it would be over VMs: AGENTS agent processes
# and SERVERS refpush processes, PER connections per agent. Each agent binds
# its connections to its own 127.0.X.1-4 source addresses (loopback answers
# on all of 127/8), as it would use its VM's addresses, so no source address
# runs short of ephemeral ports. The plan ramps everything, holds, sends one
# broadcast (fanned out to every server) and checks that every connection got
# it exactly once. Prints the connections held, the ramp time, the broadcast's
# delivery, and memory per process.
# Usage: bench/scale.sh   (env: AGENTS=6 SERVERS=6 PER=17000 RATE=8000,
#        ENGINE=lws|native: every agent's --engine, unset the agent's default)
source "$(dirname "$0")/lib.sh"
AGENTS=${AGENTS:-6}
SERVERS=${SERVERS:-6}
PER=${PER:-17000}
RATE=${RATE:-8000}
TOTAL=$((AGENTS * PER))
[ -x "$BIN/pushstorm-agent" ] || { echo "bench: build first (make)" >&2; exit 2; }

REFPUSHES=()
{
  echo "name: bench-scale-$TOTAL"
  echo "targets:"
  for s in $(seq "$SERVERS"); do
    port=$(free_port); start_refpush "$port"; REFPUSHES+=("$RP")
    echo "  - {ws: \"ws://127.0.0.1:$port/ws?uid={conn}\", push: \"http://127.0.0.1:$port/push?uid={conn}\"}"
  done
  echo "agents: {expect: $AGENTS, wait: 30s}"
  echo "connections: {total: $TOTAL}"
  echo "heartbeat: {ws_ping: 30s}"
  echo "phases:"
  echo "  - ramp: {to: $TOTAL, rate: $RATE/s}"
  echo "  - hold: 5s"
  echo "  - push: {mode: broadcast, count: 1, grace: 20s}"
  echo "thresholds: {connect_success: \">= 100%\", push_lost: \"== 0\"}"
} >"$T/plan.yaml"
CTL=$(free_port)
DB=$T/scale.db
"$BIN/pushstorm" run "$T/plan.yaml" --db "$DB" --listen "tcp://127.0.0.1:$CTL" >"$T/ctl.log" 2>&1 &
CTLPID=$!; PIDS+=("$CTLPID")
AGENT_PIDS=()
for a in $(seq "$AGENTS"); do
  "$BIN/pushstorm-agent" --controller "tcp://127.0.0.1:$CTL" --name "scale-$a" --threads 1 \
    --source-ips "127.0.$a.1-127.0.$a.4" ${ENGINE:+--engine "$ENGINE"} --once --quiet \
    >"$T/agent-$a.log" 2>&1 &
  AGENT_PIDS+=("$!"); PIDS+=("$!")
done
sample_proc "$T/samples" "${AGENT_PIDS[@]}" "${REFPUSHES[@]}" "$CTLPID" &
SAMPLER=$!
start=$(date +%s)
rc=0; wait "$CTLPID" || rc=$?
for p in "${AGENT_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
for p in "${REFPUSHES[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
wait "$SAMPLER" 2>/dev/null || true
grep -E "^(connections|deliveries|push latency|threshold)" "$T/ctl.log" | sed 's/^/  /'
python3 - "$DB" "$T/samples" "$CTLPID" "$TOTAL" "$AGENTS" "$SERVERS" "$(( $(date +%s) - start ))" \
  "${AGENT_PIDS[*]}" "${REFPUSHES[*]}" <<'PY'
import sqlite3, sys
db, samples, ctl, total, agents, servers, wall = sys.argv[1:8]
apids, rpids = sys.argv[8].split(), sys.argv[9].split()
c = sqlite3.connect(db)
run = c.execute("select max(id) from runs").fetchone()[0]
first, last, n = c.execute("select min(ts_us), max(ts_us), count(*) from conn_events where run_id=? and type=1", (run,)).fetchone()
exp, got = c.execute("select sum(expected), sum(delivered) from pushes where run_id=?", (run,)).fetchone()
lat = c.execute("select max(latency_us) from deliveries where run_id=?", (run,)).fetchone()[0]
peak = {}
for t, p, ticks, rss, hwm, sys_ in (l.split() for l in open(samples)):
    peak[p] = max(peak.get(p, 0), int(hwm))
a = sum(peak.get(p, 0) for p in apids) * 1024
r = sum(peak.get(p, 0) for p in rpids) * 1024
print(f"scale run: {agents} agents x {int(total)//int(agents)} connections, {servers} refpush servers, one machine")
print(f"  connections opened      {n:,} of {int(total):,} ({(n - 1) / ((last - first) / 1e6):,.0f}/s over {(last - first) / 1e6:.1f} s)")
print(f"  broadcast delivered     {got or 0:,} of {exp or 0:,}; last one {lat / 1e3 if lat else 0:.0f} ms after the call")
print(f"  agents' peak RSS        {a / 2**20:.0f} MiB in all, {a / n:,.0f} B per connection")
print(f"  refpush peak RSS        {r / 2**20:.0f} MiB in all, {r / n:,.0f} B per connection")
print(f"  controller peak RSS     {peak.get(ctl, 0) / 1024:.0f} MiB; wall time {wall} s")
PY
exit $rc
