# What the summary and the reports say (issue 11, item 9): "-" for what was
# not measured, the TTY warning from the agents' own --lag-threshold, ping RTT
# and saturation with their thresholds, "no threshold" said out loud, no
# reconnection figures for a fault phase that did not ask for them, a monitor
# with --once leaving when its run ends, and compare's noise floor.
source "$(dirname "$0")/lib.sh"
need_cmd script
campaign_setup report.db
cat >"$T/a.yaml" <<YAML
name: it-report
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: 20}
heartbeat: {ws_ping: 200ms, pong_timeout: 2s}
phases:
  - ramp: {to: 20, rate: 200/s}
  - exec: {command: "true"}
  - hold: 3s
thresholds:
  push_latency_p99: "< 1s"
  rtt_p99: "< 1s"
  saturated_seconds: "== 0"
YAML
# on a terminal; the agent calls every second saturated (--lag-threshold 1us)
script -qec "$BIN/pushstorm run $T/a.yaml --db $DB --listen tcp://127.0.0.1:$CTL" "$T/tty.out" \
  >/dev/null &
CP=$!; PIDS+=("$CP")
agent_start load --threads 1 --lag-threshold 1us; A1=$AP
agent_start mon --monitor; MON=$AP
wait_rc "$CP"
cat -v "$T/tty.out" | tail -22
expect_eq "run exit (saturated_seconds fails)" 1 "$RC"
grep -q "agents     1/1  WARNING: 1 agent saturated (event loop lag .* past --lag-threshold)" \
  "$T/tty.out" || fail "no saturation warning on the TTY"
wait_rc "$A1"
# the monitor (--once) leaves when the run ends, not when it is killed
for _ in $(seq 50); do kill -0 "$MON" 2>/dev/null || break; sleep 0.1; done
kill -0 "$MON" 2>/dev/null && fail "pushstorm-agent --monitor --once still running after its run ended"
wait_rc "$MON"
expect_eq "monitor exit" 0 "$RC"
last_run
"$BIN/pushstorm" report "$RUN" --db "$DB" >"$T/a.txt"
cat "$T/a.txt"
grep -q "^push latency  p50 -  p99 -  max -$" "$T/a.txt" || fail "unmeasured latency not printed as -"
grep -Eq "^threshold +push_latency_p99 +< 1s +measured - +FAIL" "$T/a.txt" ||
  fail "a threshold with nothing measured is not shown as - and FAIL"
grep -Eq "^ping rtt      p50 [0-9.]+(us|ms)  p99 [0-9.]+(us|ms)$" "$T/a.txt" || fail "no ping RTT"
grep -Eq "^threshold +rtt_p99 +< 1s +measured [0-9.]+(us|ms) +PASS" "$T/a.txt" || fail "rtt_p99 verdict"
S=$(fig saturated_seconds)
[ "$S" -ge 2 ] || fail "saturated_seconds $S"
grep -Eq "^saturation    $S agent-seconds past --lag-threshold \(1 agents\)$" "$T/a.txt" ||
  fail "summary lacks saturation"
grep -Eq "^threshold +saturated_seconds +== 0 +measured $S +FAIL" "$T/a.txt" || fail "saturated verdict"
expect_eq "reconnection figures of an exec that did not ask" 0 \
  "$(q "SELECT count(*) FROM figures WHERE run_id=$RUN AND name LIKE 'phase%reconnect%'")"
expect_eq "latency figures not stored (not measured)" 0 \
  "$(q "SELECT count(*) FROM figures WHERE run_id=$RUN AND name LIKE 'push_latency%'")"
"$BIN/pushstorm" report "$RUN" --db "$DB" --json "$T/a.json" --html "$T/a.html" >/dev/null
grep -Eq '"rtt_p99_us": [0-9]+' "$T/a.json" && grep -Eq '"saturated_seconds": [0-9]+' "$T/a.json" ||
  fail "JSON lacks RTT or saturation"
grep -q '{"name": "push_latency_p99", "required": "< 1s", "measured": null, "pass": false}' \
  "$T/a.json" || fail "JSON: unmeasured threshold is not null"
grep -q "ping RTT p99" "$T/a.html" && grep -q "saturated agent-seconds" "$T/a.html" ||
  fail "HTML lacks RTT or saturation"
echo "ok: not measured, RTT, saturation, lag warning, monitor --once"

# ---- no threshold at all: the summary says so
cat >"$T/b.yaml" <<YAML
name: it-nothing
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: 20}
phases:
  - ramp: {to: 20, rate: 10/s}
YAML
ctl_run "$T/b.yaml" --local-agents 1 --agent-threads 1 --quiet >"$T/b.out" 2>&1
expect_eq "no-threshold run exit" 0 "$RC"
grep -q "^thresholds    NONE: the plan sets no threshold; only failed push calls and phases cut short were checked" \
  "$T/b.out" || { cat "$T/b.out"; fail "no-threshold run does not say so"; }
B1=$(q "SELECT max(id) FROM runs")
ctl_run "$T/b.yaml" --local-agents 1 --agent-threads 1 --quiet >"$T/b2.out" 2>&1
expect_eq "second identical run exit" 0 "$RC"
B2=$(q "SELECT max(id) FROM runs")

# ---- compare: the noise floor
RC=0; "$BIN/pushstorm" compare "$B1" "$B2" --db "$DB" --max-regression 0% --noise-floor 10s \
  --noise-floor-rel 50% >"$T/cmp.out" 2>&1 || RC=$?
cat "$T/cmp.out"
expect_eq "identical runs within a wide noise floor" 0 "$RC"
grep -q "max regression 0%, noise floor 10s or 50%" "$T/cmp.out" || fail "compare does not show its floor"
grep -Eq "^handshake p50 .*(same|within noise)" "$T/cmp.out" || fail "handshake not judged as noise"
RC=0; "$BIN/pushstorm" compare "$B1" "$B2" --db "$DB" --noise-floor soon >"$T/cmp2.out" 2>&1 || RC=$?
expect_eq "bad --noise-floor exit" 2 "$RC"
grep -q "noise-floor: expected a duration such as 500us or 2ms, got \"soon\"" "$T/cmp2.out" ||
  { cat "$T/cmp2.out"; fail "bad --noise-floor message"; }
"$BIN/pushstorm" compare --help | grep -q -- "--noise-floor-rel" || fail "compare --help lacks the floor"
stop_pid "$RP"
echo "verdict report test passed"
