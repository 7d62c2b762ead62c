# A run's end is complete (issue 12): six agents hold 18,000 connections to
# one refpush; one of them ("slow") is frozen (SIGSTOP) as the last phase
# begins and thawed 24 s later, well after the stop, so its 3,000 closes come
# late, as the last closes of a big run come from busy agents. The controller
# must wait for every agent's final report (agents.final_wait, default 30 s +
# 1 s per 10,000 connections = 31 s here) and count every close: closes ==
# connections opened, one close event per connection, none accounted as
# agent lost. The five agents that finish first exit (--once) while the run
# still waits; that is the end of their run, not a loss: agents_lost 0.
# (Before: the stop gave up after a fixed 20 s without a word, the summary
# said closes 15000, and the five agents that had exited were counted lost.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/run_end_lib.sh"
run_end_start it-run-end 18000 6000 2s "wait: 30s, grace: 45s" a1 a2 a3 a4 a5 slow
SLOW=${APID[slow]}

run_end_freeze slow
wait_out "all phases done; stopping agents" 10
sleep 22
kill -CONT "$SLOW"
THAWED=$(date +%s%N)
ctl_wait 0 "run exit (every final report came within agents.final_wait)"
DONE=$(date +%s%N)
wait_rc "$SLOW"
expect_eq "slow agent exit" 0 "$RC"

last_run
expect_eq "connections opened" 18000 "$(fig conn_opened)"
expect_eq "closes (summary figure)" 18000 "$(fig conn_closed_events)"
expect_eq "one close event per connection" "18000 18000" \
  "$(q "SELECT count(*) || ' ' || count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=3")"
run_end_agent slow
expect_eq "the slow agent's closes" "$CONN_COUNT" \
  "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND type=3 AND agent_id=$AGENT_ID")"
expect_eq "connections accounted as agent lost" 0 "$(fig conn_agent_lost)"
expect_eq "agents lost (those that exited after their final report are not)" 0 "$(fig agents_lost)"
expect_eq "agents lost, agents table" 0 "$(q "SELECT count(*) FROM agents WHERE run_id=$RUN AND lost_us IS NOT NULL")"
echo "run ended $(( (DONE - THAWED) / 1000000 )) ms after the slow agent was thawed"
[ $(( DONE - THAWED )) -lt 15000000000 ] || fail "the run did not end soon after the last final report"
grep -q "stopping 6 agents; waiting up to 31s for their final reports (agents.final_wait)" \
  "$T/run.out" || fail "the stop does not say how long it waits"
grep -q "final reports of all 6 agents in after" "$T/run.out" || fail "no line for the final reports"
grep -q "INCOMPLETE" "$T/run.out" && fail "a complete end says INCOMPLETE"
expect_eq "agents_final_missing" 0 "$(fig agents_final_missing)"
W=$(fig end_wait_s)
[ "$W" -ge 20 ] && [ "$W" -le 31 ] || fail "end_wait_s $W: the end waited for the slow agent 20-31 s"
expect_eq "run status" "pass 0" "$(q "SELECT status || ' ' || exit_code FROM runs WHERE id=$RUN")"
expect_eq "agents closed their connections" 0 "$(stats_field "$WS" connections)"
stop_pid "$RP"
echo "run end test passed"
