# Verdicts under faults (issue 11, items 1, 4 and 5): each case is a run that
# used to give a wrong verdict or never end.
#  1. an agent killed (-9) during a ramp: its unopened share leaves the
#     connect_success denominator, and agents_lost fails on its own;
#  5. a dead push API (every call 404: uids nobody holds) and push calls
#     failing TLS (https to a plain port): the
#     default push_failed "== 0" fails the run, delivered_fraction is 0;
#  4. a push phase with no connection up ends with its reason, an exec phase
#     whose command hangs is cut at its deadline, and the run's deadline
#     stops a run that would go on.
source "$(dirname "$0")/lib.sh"
campaign_setup verdict.db
thr() { q "SELECT name || ' ' || pass FROM thresholds WHERE run_id=$RUN AND name='$1'"; }

# ---- 1. agent lost during a ramp
cat >"$T/lost.yaml" <<YAML
name: it-lost-in-ramp
targets:
  - $TARGET
agents: {expect: 2, wait: 20s}
connections: {total: 200}
phases:
  - ramp: {to: 200, rate: 40/s}
  - hold: 1s
thresholds:
  connect_success: ">= 100%"
  agents_lost: "== 0"
YAML
ctl_start "$T/lost.yaml"
agent_start keep --quiet --threads 1; A1=$AP
agent_start victim --quiet --threads 1; A2=$AP
for _ in $(seq 300); do grep -q "phase 1/2: ramp" "$T/run.out" && break; sleep 0.1; done
sleep 2
kill -KILL "$A2"
wait "$A2" 2>/dev/null || true
ctl_wait 1 "exit: agents_lost fails, nothing else"
wait_rc "$A1"
last_run
expect_eq "connect_success passes (lost agent's unopened share left out)" "connect_success 1" \
  "$(thr connect_success)"
expect_eq "agents_lost fails on its own" "agents_lost 0|1" \
  "$(q "SELECT pass || '|' || CAST(measured AS INT) FROM thresholds WHERE run_id=$RUN AND name='agents_lost'" |
     sed 's/^/agents_lost /')"
OPENED=$(fig conn_opened); UNOPENED=$(fig conn_unopened_agent_lost)
echo "opened $OPENED, never tried (agent lost) $UNOPENED"
expect_eq "opened + never tried = planned" 200 $((OPENED + UNOPENED))
[ "$UNOPENED" -gt 0 ] && [ "$UNOPENED" -lt 100 ] || fail "unopened share $UNOPENED"
grep -q "never tried: their agent was lost" "$T/run.out" || fail "summary does not say why"
grep -Eq "^threshold +agents_lost .*FAIL" "$T/run.out" || fail "summary lacks agents_lost FAIL"
"$BIN/pushstorm" report "$RUN" --db "$DB" --json "$T/lost.json" >/dev/null
grep -q '"agents_lost": 1' "$T/lost.json" || fail "JSON lacks the agents_lost figure"
grep -q '{"name": "agents_lost", "required": "== 0", "measured": 1, "pass": false}' "$T/lost.json" ||
  fail "JSON lacks the agents_lost threshold"
"$BIN/pushstorm" report "$RUN" --db "$DB" --junit "$T/lost.xml" --html "$T/lost.html" >/dev/null
grep -q 'name="agents_lost"' "$T/lost.xml" && grep -q '<failure type="threshold"' "$T/lost.xml" ||
  fail "JUnit lacks the agents_lost failure"
grep -q "agents lost" "$T/lost.html" || fail "HTML lacks agents lost"
echo "ok: agent lost in a ramp"

# ---- 5. a dead push API (404) and push calls failing TLS
cat >"$T/dead.yaml" <<YAML
name: it-dead-push
targets:
  - {ws: "ws://127.0.0.1:$WS/ws?uid={conn}", push: "http://127.0.0.1:$WS/push?uid=1000{conn}"}
  - {ws: "ws://127.0.0.1:$WS/ws?uid={conn}", push: "https://127.0.0.1:$WS/push?uid={conn}"}
agents: {expect: 1, wait: 20s}
connections: {total: 20}
phases:
  - ramp: {to: 20, rate: 200/s}
  - push: {count: 20, rate: 100/s, grace: 1s}
thresholds:
  push_lost: "== 0"
YAML
ctl_run "$T/dead.yaml" --local-agents 1 --agent-threads 1 >"$T/dead.out" 2>&1
cat "$T/dead.out"
expect_eq "dead push API run exit" 1 "$RC"
last_run
expect_eq "every call failed" 20 "$(fig push_failed)"
# target = conn mod 2: target 0 answers 404, target 1's calls fail TLS (no status)
expect_eq "calls not failed as their target should" 0 "$(q "SELECT count(*) FROM pushes
  WHERE run_id=$RUN AND NOT ((conn % 2 = 0 AND http_status = 404) OR
                             (conn % 2 = 1 AND coalesce(http_status, 0) = 0 AND error <> ''))")"
expect_eq "both kinds of failure seen" 2 "$(q "SELECT count(DISTINCT conn % 2) FROM pushes WHERE run_id=$RUN")"
q "SELECT DISTINCT error FROM pushes WHERE run_id=$RUN AND conn % 2 = 1"
expect_eq "push_lost still passes" "push_lost 1" "$(thr push_lost)"
expect_eq "default push_failed threshold" "push_failed|== 0 (default)|20|0" \
  "$(q "SELECT name, expr, CAST(measured AS INT), pass FROM thresholds WHERE run_id=$RUN AND name='push_failed'")"
expect_eq "delivered fraction" 0 "$(fig delivered_fraction)"
grep -Eq "^threshold +push_failed +== 0 \(default\) +measured 20 +FAIL" "$T/dead.out" ||
  fail "summary lacks the push_failed verdict"
grep -q "delivered fraction 0.000%" "$T/dead.out" || fail "summary lacks the delivered fraction"
# delivered_fraction set: it replaces the default
sed -i 's/push_lost: "== 0"/delivered_fraction: ">= 99%"/' "$T/dead.yaml"
ctl_run "$T/dead.yaml" --local-agents 1 --agent-threads 1 --quiet >"$T/dead2.out" 2>&1
expect_eq "delivered_fraction run exit" 1 "$RC"
last_run
expect_eq "only delivered_fraction judged" "delivered_fraction|>= 99%|0" \
  "$(q "SELECT group_concat(name || '|' || expr || '|' || pass) FROM thresholds WHERE run_id=$RUN")"
echo "ok: failed push calls fail the verdict"

# ---- 4a. a push phase with no connection up
DEAD=$(free_port)
cat >"$T/nobody.yaml" <<YAML
name: it-nobody
targets:
  - {ws: "ws://127.0.0.1:$DEAD/ws?uid={conn}", push: "http://127.0.0.1:$DEAD/push?uid={conn}"}
agents: {expect: 1, wait: 20s}
connections: {total: 10}
phases:
  - ramp: {to: 10, rate: 100/s}
  - push: {count: 20, rate: 10/s}
YAML
S0=$(date +%s)
ctl_run "$T/nobody.yaml" --local-agents 1 --agent-threads 1 --quiet >"$T/nobody.out" 2>&1
S1=$(date +%s)
cat "$T/nobody.out"
expect_eq "no recipients run exit" 1 "$RC"
echo "no-recipient run took $((S1 - S0))s"
[ $((S1 - S0)) -le 25 ] || fail "the push phase with nobody to push to took $((S1 - S0))s"
last_run
expect_eq "phase note" "CUT SHORT: no connection up to push to for 10s (0 of 20 messages sent, 0 connected); 0 messages" \
  "$(q "SELECT note FROM phases WHERE run_id=$RUN AND idx=2")"
expect_eq "its failed row" "phase2_recipients 0" "$(thr phase2_recipients)"
grep -q "phase 2 (push, plan line 8) cut short: no connection up" "$T/nobody.out" || fail "no reason printed"
expect_eq "phases_cut" 1 "$(fig phases_cut)"
echo "ok: a push phase with nobody to push to ends with its reason"

# ---- 4b. a phase past its deadline (a hanging fault command)
cat >"$T/hang.yaml" <<YAML
name: it-hang
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: 10}
phases:
  - ramp: {to: 10, rate: 100/s}
  - exec: {command: "sleep 59.$$; true", deadline: 2s}
  - hold: 1s
YAML
ctl_run "$T/hang.yaml" --local-agents 1 --agent-threads 1 --quiet >"$T/hang.out" 2>&1
cat "$T/hang.out"
expect_eq "deadline run exit" 1 "$RC"
last_run
expect_eq "exec phase note" "CUT SHORT: deadline 2s reached; command killed" \
  "$(q "SELECT note FROM phases WHERE run_id=$RUN AND idx=2")"
D=$(q "SELECT ended_us - started_us FROM phases WHERE run_id=$RUN AND idx=2")
[ "$D" -ge 2000000 ] && [ "$D" -lt 3000000 ] || fail "exec phase lasted ${D}us"
expect_eq "deadline row" "phase2_deadline|<= 2s|0" \
  "$(q "SELECT name, expr, pass FROM thresholds WHERE run_id=$RUN AND name='phase2_deadline'")"
grep -Eq "^threshold +phase2_deadline +<= 2s +measured 2(\.[0-9]+)?s +FAIL" "$T/hang.out" ||
  fail "summary lacks the deadline verdict"
expect_eq "next phase ran" 3 "$(q "SELECT count(*) FROM phases WHERE run_id=$RUN")"
pgrep -f "sleep 59.$$" >/dev/null && fail "the hanging command was left running"
echo "ok: a phase past its deadline is cut and fails the verdict"

# ---- 4c. the run's deadline
cat >"$T/long.yaml" <<YAML
name: it-long
deadline: 4s
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: 10}
phases:
  - ramp: {to: 10, rate: 100/s}
  - hold: 60s
YAML
S0=$(date +%s)
ctl_run "$T/long.yaml" --local-agents 1 --agent-threads 1 --quiet >"$T/long.out" 2>&1
S1=$(date +%s)
cat "$T/long.out"
expect_eq "run deadline exit" 2 "$RC"
[ $((S1 - S0)) -le 12 ] || fail "a run with deadline 4s took $((S1 - S0))s"
last_run
expect_eq "run status and reason" "failed|run deadline 4s reached during phase 2 (hold)" \
  "$(q "SELECT status, reason FROM runs WHERE id=$RUN")"
stop_pid "$RP"
# ---- 4d. clients that do not come back within a wait_reconnect fail the run
# (a server of its own: the one above was stopped by part 5's restart checks)
NB=$(free_port); start_refpush "$NB"
cat >"$T/noback.yaml" <<YAML
name: it-noback
targets:
  - {ws: "ws://127.0.0.1:$NB/ws?uid={conn}", push: "http://127.0.0.1:$NB/push?uid={conn}"}
agents: {expect: 1, wait: 20s}
connections: {total: 10}
reconnect: {min: 20s, max: 20s}
phases:
  - ramp: {to: 10, rate: 100/s}
  - disconnect: {fraction: 100%, code: 4000}
  - wait_reconnect: {fraction: 100%, within: 2s}
  - hold: 1s
YAML
ctl_run "$T/noback.yaml" --local-agents 1 --agent-threads 1 --quiet >"$T/noback.out" 2>&1
cat "$T/noback.out"
expect_eq "reconnection not reached exit" 1 "$RC"
last_run
expect_eq "wait_reconnect note" "CUT SHORT: 100% not connected again within 2s: 0 of 10; timed out; 0 connected" \
  "$(q "SELECT note FROM phases WHERE run_id=$RUN AND idx=3")"
expect_eq "its failed row" "phase3_reconnect 0" "$(thr phase3_reconnect)"
expect_eq "next phase ran" 4 "$(q "SELECT count(*) FROM phases WHERE run_id=$RUN")"
echo "ok: a wait_reconnect that times out fails the verdict"

echo "verdict faults test passed"
