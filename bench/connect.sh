#!/usr/bin/env bash
# bench/connect.sh: what one agent pays per connect and per held connection,
# against refpush or against nginx + Nchan (Debian's libnginx-mod-nchan, a
# server we did not write).
#
# One server, one controller, one agent (started by hand so that its PID is
# known, --threads ${THREADS:-default: one per core}, ${SRC_IPS} as its source
# addresses). The plan ramps N connections as fast as the agent's handshakes in
# flight allow and holds them HOLD seconds, with no pings and no pushes, so the
# agent's CPU in the ramp is its connect cost and its RSS at the end of the hold
# is what the connections hold. A sampler reads the agent's /proc every 100 ms;
# the phases' times come from the run's database.
#   CPU per 1,000 connects   agent CPU during the ramp / N * 1000 (user + system,
#                            and the kernel's share of it)
#   RSS per connection       (RSS at the end of the hold - RSS before the ramp) / N
# Each figure is also printed as `figure NAME VALUE UNIT` (make bench compares
# those lines with the previous run's); NAME is connect_cpu_${TAG} and
# conn_rss_${TAG}, TAG defaulting to SERVER_tTHREADS.
# PERF=FILE records the agent with `perf record -g` (cpu-clock, CLOCK_MONOTONIC
# timestamps) for the whole run and prints the `perf report --time` window of
# the ramp. Usage: bench/connect.sh [N]  (env: SERVER=refpush|nchan, THREADS,
# SRC_IPS, HOLD, RATE, TAG, PERF, ENGINE=lws|native: the agent's --engine, unset
# its default)
source "$(dirname "$0")/lib.sh"
source "$BENCH_ROOT/tests/integration/servers_nchan.sh"
N=${1:-15000}
SERVER=${SERVER:-refpush}
HOLD=${HOLD:-5}
RATE=${RATE:-20000}
THREADS=${THREADS:-}
TAG=${TAG:-${SERVER}_t${THREADS:-default}}
[ -x "$BIN/pushstorm-agent" ] || { echo "bench: build first (make)" >&2; exit 2; }

PORT=$(free_port)
case $SERVER in
refpush)
  start_refpush "$PORT"
  SRV=$RP
  TARGET="{ws: \"ws://127.0.0.1:$PORT/ws?uid={conn}\", push: \"http://127.0.0.1:$PORT/push?uid={conn}\"}"
  ;;
nchan)
  command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] ||
    { echo "bench: nginx with the nchan module is not installed (make test-deps installs libnginx-mod-nchan)" >&2; exit 2; }
  NCHAN_CONNS=19000 NCHAN_NOFILE=20000 NCHAN_BACKLOG=4096 nchan_start "$PORT"
  SRV=$NX
  TARGET="{ws: \"ws://127.0.0.1:$PORT/ws?uid={conn}\", push: \"http://127.0.0.1:$PORT/pub?uid={conn}\"}"
  ;;
*) echo "bench: SERVER=$SERVER: want refpush or nchan" >&2; exit 2 ;;
esac

CTL=$(free_port)
DB=$T/bench.db
cat >"$T/plan.yaml" <<P
name: bench-connect-$SERVER-$N
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: $N}
phases:
  - ramp: {to: $N, rate: $RATE/s}
  - hold: ${HOLD}s
P
"$BIN/pushstorm" run "$T/plan.yaml" --db "$DB" --listen "tcp://127.0.0.1:$CTL" >"$T/ctl.log" 2>&1 &
CTLPID=$!; PIDS+=("$CTLPID")
"$BIN/pushstorm-agent" --controller "tcp://127.0.0.1:$CTL" --name bench ${THREADS:+--threads "$THREADS"} \
  ${SRC_IPS:+--source-ips "$SRC_IPS"} ${ENGINE:+--engine "$ENGINE"} --once --quiet >"$T/agent.log" 2>&1 &
AGENT=$!; PIDS+=("$AGENT")
PERFPID=""
if [ -n "${PERF:-}" ]; then
  perf record -q -e cpu-clock -g -k CLOCK_MONOTONIC -p "$AGENT" -o "$PERF" >"$T/perf.log" 2>&1 &
  PERFPID=$!
fi
CLOCKS=$(python3 -c 'import time; print(time.time(), time.monotonic())')
sample_proc "$T/samples" "$AGENT" &
SAMPLER=$!
rc=0; wait "$CTLPID" || rc=$?
wait "$AGENT" 2>/dev/null || true
[ -z "$PERFPID" ] || { kill -INT "$PERFPID" 2>/dev/null || true; wait "$PERFPID" 2>/dev/null || true; }
kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
if [ "$rc" != 0 ]; then echo "bench: the run failed (exit $rc)" >&2; tail -30 "$T/ctl.log" >&2; exit 1; fi

python3 - "$DB" "$T/samples" "$AGENT" "$N" "$TAG" "$CLOCKS" "${PERF:-}" <<'PY'
import sqlite3, sys
db, samples, agent, n, tag, clocks, perf = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
HZ = 100
c = sqlite3.connect(db)
run = c.execute("select max(id) from runs").fetchone()[0]
ph = {k: (s, e) for k, s, e in c.execute(
    "select kind || idx, started_us, ended_us from phases where run_id=? order by idx", (run,))}
ramp, hold = ph["ramp1"], ph["hold2"]
rows = [l.split() for l in open(samples)]
a = [(int(t), int(ticks), int(rss), int(sys_)) for t, p, ticks, rss, hwm, sys_ in rows if p == agent]
def at(t):   # last sample at or before t (the first one if none)
    best = a[0]
    for x in a:
        if x[0] <= t: best = x
    return best
nconn = c.execute("select count(*) from conn_events where run_id=? and type=1", (run,)).fetchone()[0]
if nconn != n:
    print(f"bench: {nconn} of {n} connections opened", file=sys.stderr)
    sys.exit(1)
cpu = (at(ramp[1])[1] - at(ramp[0])[1]) / HZ
kern = (at(ramp[1])[3] - at(ramp[0])[3]) / HZ
base, held = at(ramp[0])[2] * 1024, at(hold[1])[2] * 1024
ramp_s = (ramp[1] - ramp[0]) / 1e6
print(f"connect benchmark {tag}: {nconn} of {n} connections, ramp {ramp_s:.2f} s ({n / ramp_s:,.0f}/s)")
print(f"  CPU per 1,000 connects   {cpu / n * 1000:.3f} s ({kern / max(cpu, 0.01) * 100:.0f}% kernel)")
print(f"  RSS per connection       {(held - base) / n:.0f} B (held; {base / 2**20:.1f} MiB before the ramp)")
print(f"figure connect_cpu_{tag} {cpu / n * 1000:.4f} s/1000")
print(f"figure conn_rss_{tag} {(held - base) / n:.0f} B")
if perf:
    wall0, mono0 = (float(x) for x in clocks.split())
    mono = lambda us: us / 1e6 - wall0 + mono0
    print(f"  perf: perf report -i {perf} --time {mono(ramp[0]):.6f},{mono(ramp[1]):.6f}")
PY
