#!/usr/bin/env bash
# bench/agent.sh: what one agent process costs, against refpush on loopback.
#
# One refpush, one agent (started by hand so its PID is known, --threads
# ${THREADS:-1}), one controller. The plan ramps N connections as fast as the
# agent's 256 handshakes in flight allow, holds them for HOLD seconds with 30 s
# RFC 6455 pings, then sends BCAST broadcasts (N messages each). A sampler
# reads the agent's /proc every 100 ms; the phases' start and end times come
# from the run's database, so each figure is the agent's own CPU/memory over
# exactly one phase:
#   RSS per connection      peak RSS / N, and (peak - RSS before the ramp) / N
#   whole tool per conn.    (agent peak RSS + controller RSS at the end of the
#                           hold) / N, and the two processes' PSS in the hold
#                           (shared libraries' pages counted once, not in each)
#                           / N: issue 12's goal, <= 2,000 B at 15,000
#   connect rate            connections per second from the first to the last
#                           completed handshake
#   CPU per 1,000 connects  agent CPU during the ramp / N * 1000
#   CPU holding N           agent CPU during the hold / hold time (% of a core)
#   CPU per message         (agent CPU during broadcasts - the holding cost for
#                           that time) / messages received
# Goals (issue 3): <= 2.0 KB/conn, >= 8,000 connects/s, <= 0.08 s per 1,000
# connects, <= 3% of a core holding, <= 8 us per message.
# With TLS=1 the connections are wss:// to refpush --tls-cert (a throwaway
# ECDSA P-256 certificate signed by a CA made here), every handshake a full
# one (bench/tls.sh compares the two). With RESUME=1 as well, the broadcasts
# are followed by a disconnect of every connection and their reconnection
# (1-2 s backoff), which resumes the TLS sessions:
#   CPU per 1,000 resumed   agent CPU from the disconnect to the last
#                           reconnection - the holding cost / reconnections
#                           (each one a close and a resumed connect)
# FIGS=FILE writes the figures as JSON too (bench/tls.sh reads them).
# ENGINE=lws|native gives the agent --engine ENGINE (its WebSocket engine);
# unset, the agent's default.
# Usage: bench/agent.sh [N]   (env: THREADS, HOLD, BCAST, RATE, SRC_IPS, TLS, RESUME, FIGS,
#        ENGINE)
source "$(dirname "$0")/lib.sh"
N=${1:-15000}
HOLD=${HOLD:-30}
BCAST=${BCAST:-5}
RATE=${RATE:-20000}
[ -x "$BIN/pushstorm-agent" ] || { echo "bench: build first (make)" >&2; exit 2; }

RPORT=$(free_port)
if [ "${TLS:-0}" = 1 ]; then
  make_test_certs "$T"
  API=$(free_port)
  start_refpush "$RPORT" --http-port "$API" --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
  TARGET="{ws: \"wss://127.0.0.1:$RPORT/ws?uid={conn}\", push: \"http://127.0.0.1:$API/push?uid={conn}\"}"
  TLS_KEY="tls: {ca_file: $T/ca.pem}"
else
  start_refpush "$RPORT"
  TARGET="{ws: \"ws://127.0.0.1:$RPORT/ws?uid={conn}\", push: \"http://127.0.0.1:$RPORT/push?uid={conn}\"}"
  TLS_KEY=""
fi
REFPUSH=$RP
RECONNECT=""; RESUME_PHASES=""
if [ "${RESUME:-0}" = 1 ]; then
  RECONNECT="reconnect: {min: 1s, max: 2s}"
  RESUME_PHASES="  - disconnect: {fraction: 100%}
  - wait_reconnect: {fraction: 100%, within: 120s}"
fi
CTL=$(free_port)
DB=$T/bench.db
cat >"$T/plan.yaml" <<P
name: bench-agent-$N
$TLS_KEY
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: $N}
heartbeat: {ws_ping: 30s}
$RECONNECT
phases:
  - ramp: {to: $N, rate: $RATE/s}
  - hold: ${HOLD}s
  - push: {mode: broadcast, count: $BCAST, rate: 1/s}
$RESUME_PHASES
P
"$BIN/pushstorm" run "$T/plan.yaml" --db "$DB" --listen "tcp://127.0.0.1:$CTL" >"$T/ctl.log" 2>&1 &
CTLPID=$!; PIDS+=("$CTLPID")
"$BIN/pushstorm-agent" --controller "tcp://127.0.0.1:$CTL" --name bench --threads "${THREADS:-1}" \
  ${SRC_IPS:+--source-ips "$SRC_IPS"} ${ENGINE:+--engine "$ENGINE"} --once --quiet >"$T/agent.log" 2>&1 &
AGENT=$!; PIDS+=("$AGENT")
sample_proc "$T/samples" "$AGENT" "$REFPUSH" "$CTLPID" &
SAMPLER=$!
# PSS (shared libraries' pages divided among the processes that map them) of
# the agent and the controller once a second: the tool's share of the machine
( while kill -0 "$AGENT" 2>/dev/null; do
    for p in "$AGENT" "$CTLPID"; do
      awk -v t="$(date +%s%6N)" -v p="$p" '/^Pss:/ {print t, p, $2}' "/proc/$p/smaps_rollup" 2>/dev/null
    done
    sleep 1
  done ) >"$T/pss" &
PSSER=$!
rc=0; wait "$CTLPID" || rc=$?
wait "$AGENT" 2>/dev/null || true
kill "$REFPUSH" 2>/dev/null || true; wait "$REFPUSH" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
wait "$PSSER" 2>/dev/null || true
if [ "$rc" != 0 ]; then echo "bench: the run failed (exit $rc)" >&2; tail -30 "$T/ctl.log" >&2; exit 1; fi

python3 - "$DB" "$T/samples" "$AGENT" "$REFPUSH" "$N" "${THREADS:-1}" "${TLS:-0}" "${FIGS:-}" "$CTLPID" "$T/pss" <<'PY'
import json, sqlite3, sys
db, samples, agent, refpush, n, threads, tls, figs_out, ctl, pss_file = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6], sys.argv[7], sys.argv[8], sys.argv[9], sys.argv[10]
HZ = 100
c = sqlite3.connect(db)
run = c.execute("select max(id) from runs").fetchone()[0]
ph = {k: (s, e) for k, s, e in c.execute(
    "select kind || idx, started_us, ended_us from phases where run_id=? order by idx", (run,))}
ramp, hold, push = ph["ramp1"], ph["hold2"], ph["push3"]
rows = [l.split() for l in open(samples)]
def series(pid): return [(int(t), int(ticks), int(rss), int(hwm), int(sys_)) for t, p, ticks, rss, hwm, sys_ in rows if p == pid]
a, r, k = series(agent), series(refpush), series(ctl)
def at(s, t):       # last sample at or before t (first one if none)
    best = s[0]
    for x in s:
        if x[0] <= t: best = x
    return best
def cpu(s, t0, t1): return (at(s, t1)[1] - at(s, t0)[1]) / HZ
def sys_cpu(s, t0, t1): return (at(s, t1)[4] - at(s, t0)[4]) / HZ
# the ramp's connects: the ones before the broadcasts (reconnections come after)
first_conn, last_conn, nconn = c.execute(
    "select min(ts_us), max(ts_us), count(*) from conn_events where run_id=? and type=1 and ts_us<?",
    (run, push[0])).fetchone()
msgs = c.execute("select count(*) from deliveries where run_id=?", (run,)).fetchone()[0]
expected = c.execute("select sum(expected) from pushes where run_id=?", (run,)).fetchone()[0]
peak = max(x[3] for x in a) * 1024
base = at(a, ramp[0])[2] * 1024
ramp_s = (last_conn - first_conn) / 1e6 * n / max(nconn - 1, 1)   # first to last handshake
ramp_cpu = cpu(a, ramp[0], ramp[1])
hold_s = (hold[1] - hold[0]) / 1e6
hold_cpu = cpu(a, hold[0], hold[1])
push_s = (push[1] - push[0]) / 1e6
push_cpu = cpu(a, push[0], push[1])
per_msg = (push_cpu - hold_cpu / hold_s * push_s) / msgs * 1e6 if msgs else float("nan")
rp_ramp = cpu(r, ramp[0], ramp[1])
def line(name, value, goal, ok):
    print(f"  {name:<34} {value:<22} goal {goal:<12} {'met' if ok else 'MISSED'}")
print(f"agent benchmark: N={n}, {threads} thread(s), one agent process, refpush on loopback"
      f"{', wss (TLS, ECDSA P-256)' if tls == '1' else ''}")
print(f"  connections opened                 {nconn} of {n}; broadcast deliveries {msgs} of {expected}")
line("peak RSS per connection", f"{peak / n:.0f} B (incl. {base/2**20:.1f} MiB base)", "<= 2048 B", peak / n <= 2048)
line("RSS growth per connection", f"{(peak - base) / n:.0f} B", "", True)
held = at(a, hold[1])[2] * 1024    # once the handshakes' transients are gone
line("  at the end of the hold", f"{(held - base) / n:.0f} B", "", True)
# the whole tool (issue 12): the agent's peak RSS and the controller's RSS with
# every connection up, both per connection (shared libraries' pages included)
ctl_held = at(k, hold[1])[2] * 1024
line("controller RSS per connection", f"{ctl_held / n:.0f} B ({ctl_held/2**20:.1f} MiB)", "", True)
line("whole tool per connection, RSS", f"{(peak + ctl_held) / n:.0f} B (agent peak + controller)", "", True)
# PSS at the last reading inside the hold: shared pages counted once
pss = {}
for l in open(pss_file):
    t, p, kb = l.split()
    if hold[0] <= int(t) <= hold[1]:
        pss[p] = int(kb) * 1024
tool_pss = pss.get(agent, 0) + pss.get(ctl, 0)
if len(pss) == 2:
    line("whole tool per connection, PSS", f"{tool_pss / n:.0f} B (agent {pss[agent] / n:.0f} + controller {pss[ctl] / n:.0f})", "<= 2000 B", tool_pss / n <= 2000)
line("connect rate", f"{n / ramp_s:,.0f}/s", ">= 8000/s", n / ramp_s >= 8000)
line("CPU per 1,000 connects", f"{ramp_cpu / n * 1000:.3f} s ({sys_cpu(a, ramp[0], ramp[1]) / max(ramp_cpu, 0.01) * 100:.0f}% kernel)", "<= 0.08 s", ramp_cpu / n * 1000 <= 0.08)
line("CPU holding N, 30 s pings", f"{hold_cpu / hold_s * 100:.2f}% of a core", "<= 3%", hold_cpu / hold_s * 100 <= 3)
line("CPU per received message", f"{per_msg:.2f} us", "<= 8 us", per_msg <= 8)
def fig(name):
    row = c.execute("select value from figures where run_id=? and name=?", (run, name)).fetchone()
    return row[0] if row else None
out = {"n": n, "tls": tls == "1", "rss_growth_per_conn": (peak - base) / n,
       "tool_per_conn": (peak + ctl_held) / n, "tool_pss_per_conn": tool_pss / n,
       "rss_held_per_conn": (held - base) / n,
       "ramp_cpu_per_1000": ramp_cpu / n * 1000, "cpu_per_msg_us": per_msg,
       "tls_full": fig("tls_handshakes_full"), "tls_resumed": fig("tls_handshakes_resumed")}
if tls == "1":
    print(f"  TLS handshakes                     full {out['tls_full']:.0f}, resumed {out['tls_resumed'] or 0:.0f}")
    line("full handshakes per agent core", f"{n / ramp_cpu:,.0f}/s (whole connect)", ">= 2000/s", n / ramp_cpu >= 2000)
disc = [k for k in ph if k.startswith("disconnect")]
if disc:
    d = ph[disc[0]]
    wr = ph[[k for k in ph if k.startswith("wait_reconnect")][0]]
    nrec = c.execute("select count(*) from conn_events where run_id=? and type=1 and ts_us>=?",
                     (run, d[0])).fetchone()[0]
    rec_cpu = cpu(a, d[0], wr[1]) - hold_cpu / hold_s * (wr[1] - d[0]) / 1e6
    out["reconnects"] = nrec
    out["reconnect_cpu_per_1000"] = rec_cpu / max(nrec, 1) * 1000
    print(f"  reconnections                      {nrec} of {n}")
    line("CPU per 1,000 reconnects", f"{out['reconnect_cpu_per_1000']:.3f} s (close + connect)", "", True)
    if tls == "1":
        line("resumed handshakes per agent core", f"{nrec / max(rec_cpu, 0.01):,.0f}/s (close + connect)", "", True)
print(f"  (refpush CPU during the ramp: {rp_ramp:.2f} s for {ramp_s:.2f} s: "
      f"{'the server is the limit' if rp_ramp / ramp_s > 0.9 else 'the server kept up'})")
if figs_out:
    json.dump(out, open(figs_out, "w"))
PY
