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
# Usage: bench/proto_socketio.sh [N]   (env: HOLD, BCAST, RATE)
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

SP=$(free_port); CTL=$(free_port)
sio_start "$SP"
DB=$T/bench.db
{ sio_plan_head "bench-socketio-$N" "$SP" "" '{"user":"{conn}"}'; cat <<P
agents: {expect: 1, wait: 20s}
connections: {total: $N}
phases:
  - ramp: {to: $N, rate: $RATE/s, timeout: 120s}
  - hold: ${HOLD}s
  - push: {mode: broadcast, count: $BCAST, rate: 1/s, grace: 20s}
P
} >"$T/plan.yaml"
"$BIN/pushstorm" run "$T/plan.yaml" --db "$DB" --listen "tcp://127.0.0.1:$CTL" >"$T/ctl.log" 2>&1 &
CTLPID=$!; PIDS+=("$CTLPID")
"$BIN/pushstorm-agent" --controller "tcp://127.0.0.1:$CTL" --name bench --threads 1 --once --quiet \
  >"$T/agent.log" 2>&1 &
AGENT=$!; PIDS+=("$AGENT")
sample_proc "$T/samples" "$AGENT" "$SIO" &
SAMPLER=$!
rc=0; wait "$CTLPID" || rc=$?
wait "$AGENT" 2>/dev/null || true
emitted=$(sio_stats "$SP" emitted)
sio_stop
wait "$SAMPLER" 2>/dev/null || true
if [ "$rc" != 0 ]; then echo "bench: the run failed (exit $rc)" >&2; tail -30 "$T/ctl.log" >&2; exit 1; fi

python3 - "$DB" "$T/samples" "$AGENT" "$N" "$emitted" <<'PY'
import bisect, sqlite3, sys
db, samples, agent, n, emitted = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
HZ = 100                                  # clock ticks of /proc/PID/stat
c = sqlite3.connect(db)
run, = c.execute("select max(id) from runs").fetchone()
# the plan's three phases, in order: ramp, hold, broadcasts
ramp, hold, push = c.execute("select started_us, ended_us from phases where run_id=? order by idx",
                             (run,)).fetchall()[:3]
a = [(int(t), int(ticks), int(rss)) for t, p, ticks, rss, hwm, s in
     (l.split() for l in open(samples)) if p == agent]
times = [x[0] for x in a]
def at(t):          # the last sample at or before t
    return a[max(bisect.bisect_right(times, t) - 1, 0)]
def cpu(t0, t1): return (at(t1)[1] - at(t0)[1]) / HZ
nconn = c.execute("select count(distinct conn) from conn_events where run_id=? and type=1",
                  (run,)).fetchone()[0]
msgs = c.execute("select count(*) from deliveries where run_id=?", (run,)).fetchone()[0]
base, held = at(ramp[0])[2] * 1024, at(hold[1])[2] * 1024
hold_s, push_s = (hold[1] - hold[0]) / 1e6, (push[1] - push[0]) / 1e6
hold_cpu, push_cpu = cpu(hold[0], hold[1]), cpu(push[0], push[1])
per_msg = (push_cpu - hold_cpu / hold_s * push_s) / msgs * 1e6 if msgs else float("nan")
print(f"socketio benchmark: N={n}, one agent, 1 thread, socket.io {emitted} events emitted")
print(f"  connections online {nconn} of {n}; events received {msgs}")
print(f"  bytes per connection (RSS growth, end of hold)  {(held - base) / n:.0f} B")
print(f"  CPU holding N (25 s Engine.IO pings)            {hold_cpu / hold_s * 100:.2f}% of a core")
print(f"  CPU per received event                          {per_msg:.2f} us")
print(f"figure socketio_bytes_per_conn_{n} {(held - base) / n:.0f} B")
print(f"figure socketio_cpu_per_msg_{n} {per_msg:.2f} us")
if nconn != n or msgs != emitted:
    print(f"bench: {nconn} of {n} online, {msgs} of {emitted} events received", file=sys.stderr)
    sys.exit(1)
PY
