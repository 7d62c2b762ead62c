# A final report that never comes (issue 12): two agents, 1,000 connections;
# agent "frozen" is stopped (SIGSTOP) as the last phase begins and never
# resumed. The run must end within agents.final_wait (4 s here) of the stop,
# name the agent and why (stderr, the run's reason), count it in
# agents_final_missing, say INCOMPLETE in the summary, and fail (exit 2,
# status failed): its 500 closes are missing, so the counts are no result.
# The other agent's end is complete: its 500 closes are all there.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/run_end_lib.sh"
run_end_start it-run-end-missing 1000 2000 1s "wait: 20s, final_wait: 4s" fine frozen
FINE=${APID[fine]}; FROZEN=${APID[frozen]}

run_end_freeze frozen 30
wait_out "stopping 2 agents; waiting up to 4s for their final reports" 10
STOPPED=$(date +%s%N)
ctl_wait 2 "run exit (an agent's final report is missing: incomplete counts are no result)"
ENDED=$(date +%s%N)
kill -KILL "$FROZEN"; wait "$FROZEN" 2>/dev/null || true
wait_rc "$FINE"
expect_eq "the other agent's exit" 0 "$RC"
MS=$(( (ENDED - STOPPED) / 1000000 ))
echo "the run ended $MS ms after the stop began (agents.final_wait 4s)"
[ "$MS" -ge 3500 ] && [ "$MS" -lt 9000 ] || fail "the end took $MS ms, not the 4 s bound"

last_run
run_end_agent frozen; V=$AGENT_ID
grep -q "agent $V (frozen) sent no final report within 4s (agents.final_wait): it has been silent for" \
  "$T/run.out" || fail "the missing agent is not named with why"
grep -q "^reason .*no final report from 1 of 2 agents within 4s (agents.final_wait): agent $V (frozen)" \
  "$T/run.out" || fail "the summary's reason does not name the agent"
grep -q "^INCOMPLETE    1 agent(s) sent no final report" "$T/run.out" || fail "no INCOMPLETE line"
expect_eq "agents_final_missing" 1 "$(fig agents_final_missing)"
expect_eq "run status, exit" "failed 2" "$(q "SELECT status || ' ' || exit_code FROM runs WHERE id=$RUN")"
run_end_agent fine
expect_eq "the complete agent's closes" "$CONN_COUNT" "$(q "SELECT count(*) FROM conn_events
  WHERE run_id=$RUN AND type=3 AND conn >= $CONN_FIRST AND conn < $CONN_FIRST + $CONN_COUNT")"
expect_eq "closes of the frozen agent" 0 \
  "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND type=3 AND agent_id=$V")"
# The summary and every report read it back, not only this run's output.
"$BIN/pushstorm" report "$RUN" --db "$DB" | grep -q "^INCOMPLETE" || fail "pushstorm report shows no INCOMPLETE"
stop_pid "$RP"
echo "run end missing test passed"
