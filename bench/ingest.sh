#!/usr/bin/env bash
# bench/ingest.sh: how fast a real controller takes the agents' events in.
#
# `pushstorm run` with a plan of CONNS connections, joined by AGENTS synthetic
# agents of one fakefleet process (bench/ingest/fakefleet.c): they speak the
# agents' wire (hello with its challenge, ticks, event batches with the
# session token) and report connects, deliveries and closes as fast as the
# controller acknowledges them; no WebSocket is opened. The plan's push API is
# the fleet's own trivial HTTP endpoint (fanout.c), so the receipts of a push
# come from the synthetic agents that own its recipients. The campaign: ramp
# to CONNS (every connect at once), hold, UNICAST unicast pushes, one
# broadcast to all, then STOP closes everything; the thresholds ask for every
# connection and no message lost, so a controller that drops events fails the
# run (and the bench says so).
#
# Figures (`figure NAME VALUE UNIT`; docs/performance.md "Controller ingest"):
#   ingest_connect_rate / ingest_close_rate / ingest_delivery_rate: events
#     the controller took into its ledger and SQLite per second, from the first
#     event of the kind sent to the acknowledgement of the last (the fleet's
#     clock, to within its 20 ms tick while unacknowledged)
#   ingest_peak_rate: the best second of the controller's own per-second
#     counters (ctl_samples: connects + closes + deliveries)
#   broadcast_accounted_s: the broadcast call until the controller had taken
#     its last receipt; broadcast_server_write_s: the call until the fleet had
#     sent its last receipt (the "server's" own time, stated apart);
#     broadcast_settled_s: the call until the push phase ended (settled)
#   ctl_bytes_per_conn: the controller's own (anonymous) memory with every
#     connection up minus before the ramp, per connection; ctl_anon_per_conn
#     and ctl_rss_per_conn: all of it (and its RSS, shared libraries too)
#     divided by the connections; ctl_bytes_per_msg: the memory the unicast
#     phase added, per message; ctl_rss_peak_mib; ctl_cpu_s; db_mib
# Usage: bench/ingest.sh   (env: CONNS=1000000 AGENTS=50 UNICAST=50000
#        UNICAST_RATE=20000 LIMIT=300: seconds before the run is stopped;
#        PERF=FILE: a perf record -g of the controller)
source "$(dirname "$0")/lib.sh"
CONNS=${CONNS:-1000000}
AGENTS=${AGENTS:-50}
UNICAST=${UNICAST:-50000}
UNICAST_RATE=${UNICAST_RATE:-20000}
LIMIT=${LIMIT:-300}
for b in pushstorm fakefleet; do
  [ -x "$BIN/$b" ] || { echo "bench: build first (make all bin/fakefleet)" >&2; exit 2; }
done

CTL=$(free_port)
HTTP=$(free_port)
cat >"$T/plan.yaml" <<EOF
name: bench-ingest-$CONNS
targets:
  - {ws: "ws://127.0.0.1:9/ws?uid={conn}", push: "http://127.0.0.1:$HTTP/push?uid={conn}"}
agents: {expect: $AGENTS, wait: 60s}
connections: {total: $CONNS}
phases:
  - ramp: {to: $CONNS, rate: 100000000/s}
  - hold: 2s
  - push: {mode: unicast, count: $UNICAST, rate: $UNICAST_RATE/s, concurrency: 64}
  - hold: 1s
  - push: {mode: broadcast, count: 1, grace: 60s}
thresholds: {connect_success: ">= 100%", push_lost: "== 0"}
EOF
DB=$T/ingest.db
"$BIN/pushstorm" run "$T/plan.yaml" --db "$DB" \
  --listen "tcp://127.0.0.1:$CTL" >"$T/ctl.log" 2>&1 &
CTLPID=$!; PIDS+=("$CTLPID")
"$BIN/fakefleet" --controller "tcp://127.0.0.1:$CTL" --agents "$AGENTS" --http "$HTTP" \
  >"$T/fleet.out" 2>"$T/fleet.err" &
FLEET=$!; PIDS+=("$FLEET")
# every 50 ms: wall_us cpu_ticks rss_kb hwm_kb anon_kb of the controller
# (anon: its own memory; rss also counts the shared libraries' pages)
python3 - "$T/samples" "$CTLPID" <<'PY' &
import sys, time
out, pid = sys.argv[1], sys.argv[2]
with open(out, "w") as f:
    while True:
        try:
            st = open(f"/proc/{pid}/stat").read()
            v = {l.split(":")[0]: int(l.split()[1]) for l in open(f"/proc/{pid}/status")
                 if l.startswith(("VmRSS", "VmHWM", "RssAnon"))}
        except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
            break
        fl = st[st.rindex(")") + 2:].split()
        f.write(f"{int(time.time() * 1e6)} {int(fl[11]) + int(fl[12])} {v['VmRSS']} {v['VmHWM']} {v['RssAnon']}\n")
        time.sleep(0.05)
PY
SAMPLER=$!
if [ -n "${PERF:-}" ]; then   # PERF=FILE: perf record -g of the controller into FILE
  perf record -q -F 499 -g -o "$PERF" -p "$CTLPID" >"$T/perf.log" 2>&1 &
fi
# bounded: past LIMIT the run is interrupted (it then fails, and so does the bench)
# (its sleep is ended with it, and holds no output pipe open meanwhile)
( exec >/dev/null 2>&1; sleep "$LIMIT" & s=$!; trap 'kill $s; exit 0' TERM; wait $s
  kill -INT "$CTLPID" ) &
WATCHDOG=$!; PIDS+=("$WATCHDOG")
rc=0; wait "$CTLPID" || rc=$?
kill "$WATCHDOG" 2>/dev/null || true
frc=0; wait "$FLEET" || frc=$?
wait "$SAMPLER" 2>/dev/null || true
grep -E "^(connections|deliveries|threshold|pushstorm:)" "$T/ctl.log" | sed 's/^/  /' || true
sed 's/^/  /' "$T/fleet.err"
[ "$rc" = 0 ] || echo "bench: the controller exited $rc (the run failed: the figures below are not a pass)" >&2
[ "$frc" = 0 ] || echo "bench: the fleet exited $frc" >&2
python3 - "$DB" "$T/samples" "$T/fleet.out" "$CONNS" "$UNICAST" <<'PY'
import os, sqlite3, sys
db, samples, fleet_out, conns, unicast = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
fleet, calls = {}, []
for line in open(fleet_out):
    w = line.split()
    if w[:1] == ["fleet"] and len(w) >= 10 and w[2] == "events":
        fleet[w[1]] = dict(n=int(w[3]), first=int(w[5]), last=int(w[7]), acked=int(w[9]))
    elif w[:2] == ["fleet", "broadcast_call"]:
        calls.append(int(w[4]))
def fig(name, value, unit):
    print(f"figure {name} {value:.6g} {unit}")
for kind, name in (("connect", "ingest_connect_rate"), ("close", "ingest_close_rate")):
    k = fleet.get(kind)
    if k and k["n"] and k["acked"] > k["first"]:
        fig(name, k["n"] / ((k["acked"] - k["first"]) / 1e6), "events/s")
b = fleet.get("broadcast")
if b and calls and b["acked"] > 0:
    fig("ingest_delivery_rate", b["n"] / ((b["acked"] - calls[0]) / 1e6), "events/s")
    fig("broadcast_accounted_s", (b["acked"] - calls[0]) / 1e6, "s")
    fig("broadcast_server_write_s", (b["last"] - calls[0]) / 1e6, "s")
c = sqlite3.connect(db)
run = c.execute("select max(id) from runs").fetchone()[0]
status = c.execute("select status from runs where id=?", (run,)).fetchone()[0]
prev, peak = None, 0
for row in c.execute("select second, opened + failed + closed + delivered from ctl_samples"
                     " where run_id=? order by second", (run,)):
    if prev and row[0] == prev[0] + 1:
        peak = max(peak, row[1] - prev[1])
    prev = row
fig("ingest_peak_rate", peak, "events/s")
bc = c.execute("select p.t_send_us, ph.ended_us, p.expected, p.delivered from pushes p join phases ph"
               " on ph.run_id=p.run_id and ph.kind='push' and ph.started_us<=p.t_send_us"
               " and ph.ended_us>=p.t_send_us where p.run_id=? and p.mode='broadcast'", (run,)).fetchone()
if bc:
    fig("broadcast_settled_s", (bc[1] - bc[0]) / 1e6, "s")
    print(f"broadcast: {bc[3]:,} of {bc[2]:,} expected delivered")
phases = c.execute("select idx, kind, started_us, ended_us from phases where run_id=? order by idx",
                   (run,)).fetchall()
s = [tuple(map(int, l.split())) for l in open(samples) if len(l.split()) == 5]
def at(t, col):   # the last sample at or before t (KiB)
    best = None
    for x in s:
        if x[0] <= t: best = x[col]
    return best
def top(t0, t1, col):
    v = [x[col] for x in s if t0 <= x[0] <= t1]
    return max(v) if v else None
ramp = next((p for p in phases if p[1] == "ramp"), None)
hold = next((p for p in phases if p[1] == "hold"), None)
uni = next((p for p in phases if p[1] == "push"), None)
if ramp and hold and at(ramp[2], 2) and top(hold[2], hold[3], 2):
    fig("ctl_rss_held_mib", top(hold[2], hold[3], 2) / 1024, "MiB")
    fig("ctl_anon_held_mib", top(hold[2], hold[3], 4) / 1024, "MiB")
    fig("ctl_bytes_per_conn", (top(hold[2], hold[3], 4) - at(ramp[2], 4)) * 1024 / conns, "B")
    fig("ctl_rss_per_conn", top(hold[2], hold[3], 2) * 1024 / conns, "B")
    fig("ctl_anon_per_conn", top(hold[2], hold[3], 4) * 1024 / conns, "B")
if uni and unicast and at(uni[2], 4) and at(uni[3], 4):
    fig("ctl_bytes_per_msg", (at(uni[3], 4) - at(uni[2], 4)) * 1024 / unicast, "B")
if s:
    fig("ctl_rss_peak_mib", max(x[3] for x in s) / 1024, "MiB")
    fig("ctl_cpu_s", (s[-1][1] - s[0][1]) / os.sysconf("SC_CLK_TCK"), "s")
fig("db_mib", os.path.getsize(db) / 2**20, "MiB")
t = dict(c.execute("select name, value from figures where run_id=?", (run,)).fetchall())
print(f"run {run}: {status}; opened {t.get('conn_opened', 0):,.0f} of {conns:,}, "
      f"lost {t.get('push_lost', 0):,.0f}, "
      f"events into the ledger: {sum(k['n'] for k in fleet.values()):,}")
PY
[ "$rc" = 0 ] && [ "$frc" = 0 ]
