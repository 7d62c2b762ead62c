#!/usr/bin/env bash
# bench/soak.sh: a long campaign with churn, to show leaks as slopes.
#
# One refpush (under a restart loop of this script), two agents and one
# controller, all the optimised binaries, on loopback. The plan ramps N
# connections, then repeats a cycle: unicast pushes, a disconnect of a quarter
# of the connections and their reconnection, a broadcast, a hold. Halfway
# through, an exec phase kills refpush (SIGKILL) and the loop starts a new
# one: every connection drops and reconnects, and the run measures how fast.
# The plan has at most 64 phases, so a longer DURATION makes the cycles longer
# (mostly hold), not more numerous.
#
# Every SAMPLE seconds a sampler writes, for each process, VmRSS and the number
# of open file descriptors (/proc/PID/status, /proc/PID/fd) to soak.csv:
#   t_s,epoch_s,role,pid,rss_kb,fds
# At the end it prints the samples over time and, per process, the
# least-squares slope of RSS (KB/min) and fds (fds/min) over the samples
# taken inside hold phases after the first (see soak_report), and over all
# samples. Each refpush process gets its own slope. A process that leaks a little per connection or
# per push shows a steady positive slope that a longer DURATION makes
# clearer; a flat line over hours is the goal. Nothing is pass/fail except the
# run itself (its exit status is printed and returned).
#
# Usage: bench/soak.sh   (env: DURATION 10m (s, m or h), N 2000, PUSHES 300
#        per cycle, SAMPLE 10 (s), OUT (directory for soak.csv and the logs;
#        default the temp dir, removed unless KEEP_TMP=1), ENGINE=lws|native
#        (both agents' --engine; unset, the agent's default))
# bench/soak.sh --report DIR prints the figures of an earlier run's OUT again.
# Not part of `make test` or `make bench`; docs/performance.md has a result.
source "$(dirname "$0")/lib.sh"
# soak_report DIR: the samples of DIR/soak.csv over time, and per process the
# slopes over the steady samples: those taken inside a hold phase of the run
# in DIR/soak.db (2 s in from either end), after the first one. Every hold is
# the same state - all connections up, nothing sent - so a difference between
# holds is growth, not load. Also printed: the steady slope of the second half
# of those samples (a cache that warms up flattens there, a leak does not) and
# the slope over all samples.
soak_report() {
  python3 - "$1/soak.csv" "$1/soak.db" <<'PY'
import csv, math, sqlite3, sys
rows = list(csv.DictReader(open(sys.argv[1])))
db = sqlite3.connect(sys.argv[2])
run = db.execute("select max(id) from runs").fetchone()[0]
holds = [(s / 1e6 + 2, e / 1e6 - 2) for s, e in db.execute(
    "select started_us, ended_us from phases where run_id=? and kind='hold' and ended_us is not null "
    "order by idx", (run,))][1:]
procs = {}
for r in rows:
    procs.setdefault((r["role"], r["pid"]), []).append(
        (float(r["t_s"]), float(r["epoch_s"]), int(r["rss_kb"]), int(r["fds"])))
order = sorted(procs, key=lambda k: (k[0], procs[k][0][0]))
print("\nsamples (RSS KB / fds):")
names = [f"{role} {pid}" for role, pid in order]
print("  t_s   " + "".join(f"{n:>18}" for n in names))
by_t = {}
for k in order:
    for t, _, rss, fds in procs[k]:
        by_t.setdefault(t // 1, {})[k] = f"{rss}/{fds}"
for t in sorted(by_t):
    print(f"  {t:5.0f} " + "".join(f"{by_t[t].get(k, '-'):>18}" for k in order))
def slope(pts):
    n = len(pts)
    if n < 3:
        return math.nan
    mx = sum(x for x, _ in pts) / n; my = sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx if sxx else math.nan
print(f"\nleast-squares slopes per process, over the samples inside holds 2-{len(holds) + 1} "
      "(steady) and over all samples:")
print(f"  {'process':<20}{'steady':>7}{'RSS first':>10}{'RSS last':>9}{'KB/min':>8}{'2nd half':>10}{'fds':>11}"
      f"{'fds/min':>8}  {'all: KB/min':>11}{'fds/min':>8}")
for k, name in zip(order, names):
    all_pts = procs[k]
    pts = [p for p in all_pts if any(a <= p[1] <= b for a, b in holds)]
    if not pts:
        print(f"  {name:<20} no samples inside a hold")
        continue
    kb = slope([(p[0] / 60, p[2]) for p in pts])
    fd = slope([(p[0] / 60, p[3]) for p in pts])
    late = pts[len(pts) // 2:]
    hkb = slope([(p[0] / 60, p[2]) for p in late])
    akb = slope([(p[0] / 60, p[2]) for p in all_pts])
    afd = slope([(p[0] / 60, p[3]) for p in all_pts])
    print(f"  {name:<20}{len(pts):>7}{pts[0][2]:>10}{pts[-1][2]:>9}{kb:>8.1f}{hkb:>10.1f}"
          f"{str(pts[0][3]) + '-' + str(pts[-1][3]):>11}{fd:>8.2f}  {akb:>11.1f}{afd:>8.2f}")
PY
}
if [ "${1:-}" = --report ]; then soak_report "${2:?usage: bench/soak.sh --report DIR}"; exit; fi
[ -x "$BIN/pushstorm-agent" ] || { echo "soak: build first (make)" >&2; exit 2; }
dur=${DURATION:-10m}
case $dur in
  *h) DUR_S=$(( ${dur%h} * 3600 )) ;;
  *m) DUR_S=$(( ${dur%m} * 60 )) ;;
  *s) DUR_S=${dur%s} ;;
  *)  DUR_S=$dur ;;
esac
N=${N:-2000}
PUSHES=${PUSHES:-300}
SAMPLE=${SAMPLE:-10}
OUT=${OUT:-$T}
mkdir -p "$OUT"
[ "$DUR_S" -ge 120 ] 2>/dev/null || { echo "soak: DURATION must be at least 2m" >&2; exit 2; }

# cycles of about 50 s at 10 minutes; 1 + 5 * 12 + 1 phases fit in 64
CYCLES=$(( DUR_S / 50 )); [ $CYCLES -gt 12 ] && CYCLES=12; [ $CYCLES -lt 2 ] && CYCLES=2
CYCLE_S=$(( DUR_S / CYCLES ))
# the busy part of a cycle: pushes at 100/s with 2 s grace, reconnection, a broadcast
BUSY_S=$(( PUSHES / 100 + 10 ))
HOLD_S=$(( CYCLE_S > BUSY_S + 1 ? CYCLE_S - BUSY_S : 1 ))

RPORT=$(free_port)
CTL=$(free_port)
DB=$OUT/soak.db
rm -f "$DB" "$DB-wal" "$DB-shm" "$OUT/soak.csv"
# refpush under a restart loop; refpush.pid always names the live one
( while [ ! -e "$T/stop" ]; do
    "$BIN/refpush" --port "$RPORT" --quiet >>"$OUT/refpush.log" 2>&1 &
    echo $! >"$T/refpush.pid.new"; mv "$T/refpush.pid.new" "$T/refpush.pid"
    wait $! || true    # a killed refpush is what the exec phase does (set -e is on)
    sleep 1
  done ) &
LOOP=$!; PIDS+=("$LOOP")
# on any exit: end the loop first, then the live refpush (not a child of this shell)
soak_cleanup() {
  touch "$T/stop"
  [ -s "$T/refpush.pid" ] && kill "$(cat "$T/refpush.pid")" 2>/dev/null || true
  cleanup
}
trap soak_cleanup EXIT
trap "exit 143" TERM INT   # so that a timeout or ^C still runs the cleanup
for _ in $(seq 100); do grep -q listening "$OUT/refpush.log" 2>/dev/null && break; sleep 0.1; done

{
  echo "name: soak-$N-${DUR_S}s"
  echo "targets:"
  echo "  - {ws: \"ws://127.0.0.1:$RPORT/ws?uid={conn}\", push: \"http://127.0.0.1:$RPORT/push?uid={conn}\"}"
  echo "agents: {expect: 2, wait: 20s}"
  echo "connections: {total: $N}"
  echo "heartbeat: {ws_ping: 20s, pong_timeout: 10s}"
  echo "reconnect: {min: 200ms, max: 3s}"
  echo "phases:"
  echo "  - ramp: {to: $N, rate: 1000/s}"
  for c in $(seq "$CYCLES"); do
    echo "  - push: {mode: unicast, count: $PUSHES, rate: 100/s, grace: 2s}"
    echo "  - disconnect: {fraction: 25%}"
    echo "  - wait_reconnect: {fraction: 99%, within: 60s}"
    echo "  - push: {mode: broadcast, count: 1, rate: 1/s, grace: 3s}"
    if [ "$c" = $(( CYCLES / 2 )) ]; then
      echo "  - exec: {command: \"kill -KILL \$(cat $T/refpush.pid)\", expect_reconnect: 99%, within: 60s}"
    fi
    echo "  - hold: ${HOLD_S}s"
  done
} >"$OUT/plan.yaml"
"$BIN/pushstorm" check "$OUT/plan.yaml" >/dev/null || exit 2

"$BIN/pushstorm" run "$OUT/plan.yaml" --db "$DB" --listen "tcp://127.0.0.1:$CTL" \
  >"$OUT/ctl.log" 2>&1 &
CTLPID=$!; PIDS+=("$CTLPID")
AGENTS=()
for i in 1 2; do
  "$BIN/pushstorm-agent" --controller "tcp://127.0.0.1:$CTL" --name "soak$i" --threads 1 \
    --source-ips "127.4.$i.2-127.4.$i.5" ${ENGINE:+--engine "$ENGINE"} --once --quiet \
    >"$OUT/agent$i.log" 2>&1 &
  AGENTS+=($!); PIDS+=($!)
done

# the sampler: until the stop file, every SAMPLE s, a row per live process
python3 - "$OUT/soak.csv" "$SAMPLE" "$T/stop" "$T/refpush.pid" \
  "controller=$CTLPID" "agent1=${AGENTS[0]}" "agent2=${AGENTS[1]}" <<'PY' &
import os, sys, time
out, every, stop, rp_file, fixed = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
roles = [r.split("=") for r in fixed]
t0 = time.time()
with open(out, "w") as f:
    f.write("t_s,epoch_s,role,pid,rss_kb,fds\n")
    while not os.path.exists(stop):
        now = time.time()
        procs = list(roles)
        try:
            procs.append(["refpush", open(rp_file).read().strip()])
        except OSError:
            pass
        for role, pid in procs:
            try:
                rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS:"))
                fds = len(os.listdir(f"/proc/{pid}/fd"))
            except (OSError, StopIteration):
                continue        # gone (refpush between a kill and its restart)
            f.write(f"{now - t0:.1f},{now:.1f},{role},{pid},{rss},{fds}\n")
        f.flush()
        time.sleep(max(0.0, every - (time.time() - now)))
PY
SAMPLER=$!; PIDS+=("$SAMPLER")

echo "soak: $N connections, $CYCLES cycles of ${CYCLE_S}s (hold ${HOLD_S}s), refpush killed in cycle $(( CYCLES / 2 )); samples every ${SAMPLE}s in $OUT/soak.csv"
rc=0; wait "$CTLPID" || rc=$?
for a in "${AGENTS[@]}"; do wait "$a" 2>/dev/null || true; done
touch "$T/stop"
wait "$SAMPLER" 2>/dev/null || true
kill "$(cat "$T/refpush.pid")" 2>/dev/null || true
wait "$LOOP" 2>/dev/null || true
tail -25 "$OUT/ctl.log"
echo "soak: the run exited $rc"

soak_report "$OUT"
exit $rc
