# An agent killed mid-run. Two agents started by hand; during the unicast push
# phase agent "victim" first stops answering (SIGSTOP: its connections stay open, so
# refpush keeps delivering into its sockets and nobody reports those messages)
# and 1.5 s later is killed with SIGKILL. The run must carry on with agent "keep",
# mark it lost with the time it fell silent, account every message it
# did not report as "agent lost" (never "lost", so push_lost "== 0" passes), and
# show keep's deliveries complete.
source "$(dirname "$0")/lib.sh"
campaign_setup killed.db
cat >"$T/plan.yaml" <<YAML
name: it-agent-killed
targets:
  - $TARGET
agents: {expect: 2, wait: 20s}
connections: {total: 300}
phases:
  - ramp: {to: 300, rate: 1000/s}
  - push: {mode: unicast, count: 1000, rate: 100/s, grace: 1s}
  - hold: 1s
  - push: {mode: broadcast, count: 2, rate: 2/s, grace: 1s}
thresholds:
  push_lost: "== 0"
  connect_success: ">= 100%"
YAML
ctl_start "$T/plan.yaml"
agent_start keep --quiet --threads 1; A1=$AP
agent_start victim --quiet --threads 1; A2=$AP

for _ in $(seq 300); do grep -q "phase 2/4: push" "$T/run.out" && break; sleep 0.1; done
grep -q "phase 2/4: push" "$T/run.out" || { cat "$T/run.out"; fail "no push phase"; }
sleep 3
STOP_US=$(date +%s%6N)
kill -STOP "$A2"
sleep 1.5
kill -KILL "$A2"
wait "$A2" 2>/dev/null || true

ctl_wait 0 "run exit (agent loss is not service loss)"
wait_rc "$A1"
expect_eq "surviving agent exit" 0 "$RC"
last_run
# Agent ids are given in HELLO order; find the victim by name.
V=$(q "SELECT agent_id FROM agents WHERE run_id=$RUN AND name='victim'")
grep -q "agent $V (victim) lost" "$T/run.out"
expect_eq "agent keep not lost" "" "$(q "SELECT lost_us FROM agents WHERE run_id=$RUN AND name='keep'")"
LOST_US=$(q "SELECT lost_us FROM agents WHERE run_id=$RUN AND agent_id=$V")
D=$(( LOST_US - STOP_US ))
echo "agent $V (victim) lost at ${LOST_US}us, ${D}us after SIGSTOP"
# lost_at is its last word: between the last tick before the stop (200 ms
# period) and the stop, plus the controller's poll slack.
[ "$D" -gt -700000 ] && [ "$D" -lt 300000 ] ||
  fail "lost time ${D}us from the stop"
expect_eq "figure agents_lost" 1 "$(fig agents_lost)"

# Its connections are accounted apart: not as closes nobody saw.
expect_eq "figures conn_agent_lost, conn_closed_events" "150 150" "$(q "
  SELECT (SELECT CAST(value AS INT) FROM figures WHERE run_id=$RUN AND name='conn_agent_lost') || ' ' ||
         (SELECT CAST(value AS INT) FROM figures WHERE run_id=$RUN AND name='conn_closed_events')")"
read -r F2 N2 <<<"$(q "SELECT conn_first, conn_count FROM agents WHERE run_id=$RUN AND agent_id=$V" | tr '|' ' ')"
IN2="conn >= $F2 AND conn < $F2 + $N2"
expect_eq "undelivered counted as service loss" 0 \
  "$(q "SELECT count(*) FROM undelivered WHERE run_id=$RUN AND kind='lost'")"
expect_eq "undelivered on keep's connections" 0 \
  "$(q "SELECT count(*) FROM undelivered WHERE run_id=$RUN AND NOT ($IN2)")"
AL=$(q "SELECT count(*) FROM undelivered WHERE run_id=$RUN AND kind='agent_lost' AND $IN2")
echo "agent-lost messages: $AL"
# ~1.5 s of unicast at 100/s, half to the victim, delivered to a frozen agent,
# plus the failed calls below
[ "$AL" -ge 20 ] || fail "only $AL messages accounted as agent lost"
expect_eq "undelivered kinds" "agent_lost" \
  "$(q "SELECT group_concat(DISTINCT kind) FROM undelivered WHERE run_id=$RUN")"
expect_eq "figure push_agent_lost" "$AL" "$(fig push_agent_lost)"
# After the SIGKILL refpush answers 404 (uid not connected) for its connections
# until the controller declares it lost: those calls are the agent's loss too,
# not failed calls of the service. The controller notices the dead agent's
# control connection close (about 1 s after the kill, instead of 5 s of
# silence), so at 100 pushes/s, half of them to its connections, there are
# some such calls but far fewer than 5 s would give (~250).
FA=$(fig push_failed_agent_lost)
echo "failed calls to its connections: $FA"
[ "$FA" -ge 10 ] || fail "only $FA failed calls to the dead agent's connections"
[ "$FA" -le 150 ] || fail "$FA failed calls: the lost agent was noticed late"
grep -q "lost: its connection to the controller closed" "$T"/*.err 2>/dev/null || \
  grep -rq "lost: its connection to the controller closed" "$T" || \
  fail "the loss was not noticed from the closed connection"
expect_eq "figure push_failed" 0 "$(fig push_failed)"
expect_eq "404 answers = failed calls reclassified" "$FA" \
  "$(q "SELECT count(*) FROM pushes WHERE run_id=$RUN AND http_status=404 AND $IN2")"
expect_eq "figure push_lost" 0 "$(fig push_lost)"
# Agent-lost messages were sent while it was frozen (or within grace before).
expect_eq "agent-lost messages sent before the freeze minus grace" 0 "$(q "
  SELECT count(*) FROM undelivered u JOIN pushes p USING(run_id, msg_id)
   WHERE u.run_id=$RUN AND p.t_send_us < $LOST_US - 1000000")"

# keep: every unicast the service accepted was delivered exactly once, and
# both broadcasts reached all of its connections.
expect_eq "keep unicast accepted but not delivered once" 0 "$(q "
  SELECT count(*) FROM pushes p WHERE run_id=$RUN AND mode='unicast' AND http_status=200
   AND NOT (p.conn >= $F2 AND p.conn < $F2 + $N2)
   AND (SELECT count(*) FROM deliveries d WHERE d.run_id=p.run_id AND d.msg_id=p.msg_id)<>1")"
expect_eq "keep unicast failed calls" 0 "$(q "
  SELECT count(*) FROM pushes p WHERE run_id=$RUN AND mode='unicast' AND http_status<>200
   AND NOT (p.conn >= $F2 AND p.conn < $F2 + $N2)")"
expect_eq "broadcasts: receivers, expected" "150 150;150 150" "$(q "
  SELECT group_concat(x, ';') FROM (SELECT (SELECT count(DISTINCT conn) FROM deliveries d
   WHERE d.run_id=p.run_id AND d.msg_id=p.msg_id) || ' ' || p.expected AS x
   FROM pushes p WHERE run_id=$RUN AND mode='broadcast' ORDER BY msg_id)")"
expect_eq "duplicates" 0 "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN AND duplicate=1")"
expect_eq "phases completed" 4 "$(q "SELECT count(*) FROM phases WHERE run_id=$RUN AND ended_us IS NOT NULL")"
stop_pid "$RP"
echo "agent killed test passed"
