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
# Usage: bench/proto_mqtt.sh [N]   (env: HOLD, BCAST, QOS, RATE)
source "$(dirname "$0")/lib.sh"
source "$BENCH_ROOT/tests/integration/servers_mosquitto.sh"
N=${1:-10000}
HOLD=${HOLD:-10}
BCAST=${BCAST:-5}
QOS=${QOS:-1}
RATE=${RATE:-2500}
[ -x "$BIN/pushstorm-agent" ] || { echo "bench: build first (make)" >&2; exit 2; }
MQ_CONNS_MAX=$((N + 1000)) mosquitto_ws_start
CTL=$(free_port)
DB=$T/bench.db
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
"$BIN/pushstorm" run "$T/plan.yaml" --db "$DB" --listen "tcp://127.0.0.1:$CTL" >"$T/ctl.log" 2>&1 &
CTLPID=$!; PIDS+=("$CTLPID")
"$BIN/pushstorm-agent" --controller "tcp://127.0.0.1:$CTL" --name bench --threads 1 --once --quiet \
  >"$T/agent.log" 2>&1 &
AGENT=$!; PIDS+=("$AGENT")
sample_proc "$T/samples" "$AGENT" "$MQ" &
SAMPLER=$!
rc=0; wait "$CTLPID" || rc=$?
wait "$AGENT" 2>/dev/null || true
stop_pid "$MQ" || true
wait "$SAMPLER" 2>/dev/null || true
if [ "$rc" != 0 ]; then echo "bench: the run failed (exit $rc)" >&2; tail -30 "$T/ctl.log" >&2; exit 1; fi
grep -E "^(connections|deliveries|protocol|push latency) " "$T/ctl.log"
STATE=$(grep -o 'AGENT_MQTT_STATE_BYTES.*/\* [0-9]* \*/' "$BENCH_ROOT/agent/dialect_mqtt.c" | grep -o '[0-9]*' | tail -1)

python3 - "$DB" "$T/samples" "$AGENT" "$MQ" "$N" "$QOS" "${STATE:-0}" <<'PY'
import sqlite3, sys
db, samples, agent, broker, n, qos, state = sys.argv[1:8]
n = int(n)
HZ = 100
c = sqlite3.connect(db)
run = c.execute("select max(id) from runs").fetchone()[0]
ph = {k: (s, e) for k, s, e in c.execute(
    "select kind || idx, started_us, ended_us from phases where run_id=? order by idx", (run,))}
ramp, hold, push = ph["ramp1"], ph["hold2"], ph["push3"]
rows = [l.split() for l in open(samples)]
def series(pid): return [(int(t), int(ticks), int(rss)) for t, p, ticks, rss, hwm, sys_ in rows if p == pid]
a, b = series(agent), series(broker)
def at(s, t):
    best = s[0]
    for x in s:
        if x[0] <= t: best = x
    return best
def cpu(s, t0, t1): return (at(s, t1)[1] - at(s, t0)[1]) / HZ
msgs = c.execute("select count(*) from deliveries where run_id=?", (run,)).fetchone()[0]
opened = c.execute("select count(distinct conn) from conn_events where run_id=? and type=1", (run,)).fetchone()[0]
base = at(a, ramp[0])[2] * 1024
held = at(a, hold[1])[2] * 1024
hold_s = (hold[1] - hold[0]) / 1e6
hold_cpu = cpu(a, hold[0], hold[1])
push_s = (push[1] - push[0]) / 1e6
per_msg = (cpu(a, push[0], push[1]) - hold_cpu / hold_s * push_s) / msgs * 1e6 if msgs else float("nan")
ramp_cpu = cpu(a, ramp[0], ramp[1])
print(f"mqtt benchmark: N={n}, one agent (1 thread), mosquitto on loopback, QoS {qos}")
print(f"  connections online {opened} of {n}; broadcast deliveries {msgs}")
print(f"  agent RSS per connection           {(held - base) / n:.0f} B (end of the hold - before the ramp)")
print(f"  agent CPU per received message     {per_msg:.2f} us")
print(f"  agent CPU per 1,000 connects       {ramp_cpu / n * 1000:.3f} s (WebSocket + CONNECT/SUBSCRIBE)")
print(f"  agent CPU holding N                {hold_cpu / hold_s * 100:.2f}% of a core")
print(f"  mosquitto CPU during the broadcasts {cpu(b, push[0], push[1]):.2f} s for {push_s:.1f} s")
tag = f"mqtt_q{qos}"
print(f"figure proto_{tag}_state_bytes {state} B")
print(f"figure proto_{tag}_rss_per_conn {(held - base) / n:.0f} B")
print(f"figure proto_{tag}_cpu_per_msg {per_msg:.3f} us")
print(f"figure proto_{tag}_cpu_per_1000_connects {ramp_cpu / n * 1000:.4f} s")
PY
