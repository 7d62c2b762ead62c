# The controller killed with SIGKILL mid-hold (issue 11, item 2). Its agent
# must notice the closed control connection and close its load within 2 s,
# measured on refpush's own count of open connections; the run, which the
# dead controller never ended, must read as interrupted (exit code 2, ended
# at its last stored second) on the next open of the database: in
# `pushstorm runs`, `pushstorm report` (text and JUnit) and the runs table.
source "$(dirname "$0")/lib.sh"
campaign_setup ctlkill.db
cat >"$T/plan.yaml" <<YAML
name: it-controller-killed
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: 200}
phases:
  - ramp: {to: 200, rate: 1000/s}
  - hold: 60s
YAML
conns() { curl -sf "http://127.0.0.1:$WS/stats" | sed -n 's/.*"connections":\([0-9]*\).*/\1/p'; }
ctl_start "$T/plan.yaml"
agent_start a1 --threads 1; A1=$AP
for _ in $(seq 300); do grep -q "phase 2/2: hold" "$T/run.out" && break; sleep 0.1; done
grep -q "phase 2/2: hold" "$T/run.out" || { cat "$T/run.out"; fail "no hold phase"; }
sleep 2   # a few stored seconds of the hold
expect_eq "connections open at refpush before the kill" 200 "$(conns)"
STARTED=$(q "SELECT started_us FROM runs")
KILL_US=$(date +%s%6N)
kill -KILL "$CP"
wait "$CP" 2>/dev/null || true
GONE_US=0
for _ in $(seq 100); do
  if [ "$(conns)" = 0 ]; then GONE_US=$(date +%s%6N); break; fi
  sleep 0.05
done
[ "$GONE_US" -gt 0 ] || fail "refpush still holds $(conns) connections 5 s after the controller died"
D=$(( (GONE_US - KILL_US) / 1000 ))
echo "load closed ${D} ms after the controller's SIGKILL"
[ "$D" -lt 2000 ] || fail "the agent took ${D} ms (more than 2 s) to close its load"
wait_rc "$A1"
grep -q "the controller closed the control connection" "$T/agent-a1.log" ||
  { cat "$T/agent-a1.log"; fail "the agent did not say why it stopped"; }

# The next open (a read-only report) marks the run interrupted.
"$BIN/pushstorm" runs --db "$DB" >"$T/runs.out" 2>&1 || { cat "$T/runs.out"; fail "pushstorm runs failed"; }
cat "$T/runs.out"
grep -q "it-controller-killed .* interrupted$" "$T/runs.out" || fail "runs does not show the run interrupted"
last_run
expect_eq "status, exit code" "interrupted|2" "$(q "SELECT status, exit_code FROM runs WHERE id=$RUN")"
LAST=$(q "SELECT (max(second) + 1) * 1000000 FROM ctl_samples WHERE run_id=$RUN")
expect_eq "ended at the end of the last stored second" "$LAST" "$(q "SELECT ended_us FROM runs WHERE id=$RUN")"
[ "$LAST" -gt "$STARTED" ] && [ "$LAST" -le $(( KILL_US + 1000000 )) ] ||
  fail "last stored second $LAST is not between the start $STARTED and the kill $KILL_US"
"$BIN/pushstorm" report last --db "$DB" >"$T/report.out" 2>&1 || true
grep -q '"it-controller-killed": interrupted (exit 2)' "$T/report.out" ||
  { cat "$T/report.out"; fail "report does not show the run interrupted with exit 2"; }
grep -q "reason        interrupted: the controller (pid $CP on " "$T/report.out" ||
  { cat "$T/report.out"; fail "report does not name the dead controller"; }
"$BIN/pushstorm" report last --db "$DB" --junit "$T/junit.xml" >/dev/null 2>&1 || true
grep -q '<error type="run" message="interrupted: the controller' "$T/junit.xml" ||
  { cat "$T/junit.xml"; fail "JUnit does not carry the interruption as an error"; }
stop_pid "$RP"
echo "controller killed test passed"
