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
# under the shared lock. Usage: bench/proto_stomp.sh [N]   (env: HOLD, BCAST)
source "$(dirname "$0")/lib.sh"
source "$BENCH_ROOT/tests/integration/servers_rabbitmq.sh"
N=${1:-10000}
HOLD=${HOLD:-15}
BCAST=${BCAST:-5}
[ -x "$BIN/pushstorm-agent" ] || { echo "bench: build first (make)" >&2; exit 2; }
rabbitmq_need || { echo "bench: rabbitmq-server is not installed (scripts/install-deps.sh test)" >&2; exit 2; }
rabbitmq_start
echo "rabbitmq: ready in $RMQ_START_MS ms"
CTL=$(free_port)
DB=$T/bench.db
{ rabbitmq_stomp_plan "bench-stomp-$N" "$N" guest '["/exchange/amq.topic/all"]'
  cat <<P
agents: {expect: 1, wait: 20s}
phases:
  - ramp: {to: $N, rate: 1000/s, timeout: 60s}
  - hold: ${HOLD}s
  - push: {mode: broadcast, count: $BCAST, rate: 1/s, grace: 20s, $RMQ_AUTH, body: $(rabbitmq_body all)}
P
} >"$T/plan.yaml"
"$BIN/pushstorm" run "$T/plan.yaml" --db "$DB" --listen "tcp://127.0.0.1:$CTL" >"$T/ctl.log" 2>&1 &
CTLPID=$!; PIDS+=("$CTLPID")
"$BIN/pushstorm-agent" --controller "tcp://127.0.0.1:$CTL" --name bench --threads 1 \
  --once --quiet >"$T/agent.log" 2>&1 &
AGENT=$!; PIDS+=("$AGENT")
BEAM=$(pgrep -P "$RMQ_PID" beam.smp || true)
sample_proc "$T/samples" "$AGENT" ${BEAM:+"$BEAM"} &
SAMPLER=$!
rc=0; wait "$CTLPID" || rc=$?
wait "$AGENT" 2>/dev/null || true
rabbitmq_stop
wait "$SAMPLER" 2>/dev/null || true
if [ "$rc" != 0 ]; then echo "bench: the run failed (exit $rc)" >&2; tail -30 "$T/ctl.log" >&2; fi

state=$(gdb -batch -ex 'print sizeof(struct stomp_conn)' "$BIN/pushstorm-agent" 2>/dev/null |
        sed -n 's/^\$1 = //p')
python3 - "$DB" "$T/samples" "$AGENT" "${BEAM:-0}" "$N" "${state:-?}" "$RMQ_START_MS" <<'PY'
import bisect, sqlite3, sys
db, samples, agent, beam, n, state, start_ms = sys.argv[1:8]
n = int(n); HZ = 100
c = sqlite3.connect(db)
run = c.execute("select max(id) from runs").fetchone()[0]
ramp, hold, push = c.execute("select started_us, ended_us from phases where run_id=? order by idx",
                             (run,)).fetchall()[:3]
rows = [l.split() for l in open(samples)]
def series(pid): return [(int(t), int(ticks), int(rss)) for t, p, ticks, rss, hwm, s in rows if p == pid]
a, b = series(agent), series(beam)
def at(s, t):        # the last sample at or before t
    return s[max(bisect.bisect_right([x[0] for x in s], t) - 1, 0)]
def cpu(s, t0, t1): return (at(s, t1)[1] - at(s, t0)[1]) / HZ
online = c.execute("select count(distinct conn) from conn_events where run_id=? and type=1", (run,)).fetchone()[0]
msgs = c.execute("select count(*) from deliveries where run_id=?", (run,)).fetchone()[0]
expected = c.execute("select sum(expected) from pushes where run_id=?", (run,)).fetchone()[0] or 0
base, held = at(a, ramp[0])[2] * 1024, at(a, hold[1])[2] * 1024
hold_s = (hold[1] - hold[0]) / 1e6; hold_cpu = cpu(a, hold[0], hold[1])
push_s = (push[1] - push[0]) / 1e6; push_cpu = cpu(a, push[0], push[1])
per_msg = (push_cpu - hold_cpu / hold_s * push_s) / msgs * 1e6 if msgs else float("nan")
acks = c.execute("select value from figures where run_id=? and name='proto_acks_sent'", (run,)).fetchone()
print(f"stomp benchmark: N={n}, one agent, 1 thread, RabbitMQ web-stomp on loopback")
print(f"  online {online} of {n}; broadcast deliveries {msgs} of {expected}; ACKs sent {acks[0] if acks else '?'}")
print(f"  broker: ready in {start_ms} ms, RSS {at(b, hold[1])[2] / 2**20:.2f} GiB holding" if b else "  broker: not sampled")
print(f"figure stomp_rss_per_conn {(held - base) / n:.0f} B")
print(f"figure stomp_state_bytes {state} B")
print(f"figure stomp_cpu_per_msg {per_msg:.2f} us")
print(f"figure stomp_hold_cpu {hold_cpu / hold_s * 100:.2f} %")
print(f"figure stomp_broker_start {start_ms} ms")
PY
exit $rc
