# Clock-skew correction: one agent whose wall clock runs 3 s ahead of the
# controller's (PS_TEST_CLOCK_SKEW_US, read by sanitizer/test builds of the agent
# only). The controller must estimate the agent's offset as about -3 s, within
# the error bound it stores, and every corrected delivery latency must be small
# and positive. Without the correction every latency would be about +3 s (and
# with the sign wrong about -3 s), so the assertions below fail on either bug.
source "$(dirname "$0")/lib.sh"
SKEW_US=3000000
campaign_setup skew.db
cat >"$T/plan.yaml" <<YAML
name: it-clock-skew
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: 100}
phases:
  - ramp: {to: 100, rate: 500/s}
  - hold: 3s
  - push: {mode: unicast, count: 200, rate: 200/s}
  - push: {mode: broadcast, count: 2, rate: 2/s}
thresholds:
  push_lost: "== 0"
YAML
ctl_start "$T/plan.yaml" --quiet
PS_TEST_CLOCK_SKEW_US=+$SKEW_US agent_start skewed --quiet --threads 1
ctl_wait 0
wait_rc "$AP"
expect_eq "agent exit" 0 "$RC"
last_run

# The stored offset is controller - agent: -3 s, give or take the stored bound
# (plus 5 ms for what the bound cannot see: scheduling between the timestamps).
read -r OFF ERR <<<"$(q "SELECT offset_us, offset_err_us FROM agents WHERE run_id=$RUN" | tr '|' ' ')"
echo "stored offset ${OFF}us, error bound ${ERR}us"
[ "$ERR" -gt 0 ] || fail "error bound $ERR is not positive"
DEV=$(( OFF + SKEW_US )); DEV=${DEV#-}
[ "$DEV" -le $(( ERR + 5000 )) ] ||
  fail "offset $OFF is $DEV us away from -$SKEW_US, bound $ERR us + 5 ms"
echo "ok: offset within ${DEV}us of -${SKEW_US}us (bound ${ERR}us)"

# Every latency was corrected: none below minus its bound, p99 and max small.
expect_eq "deliveries" 400 "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN")"
expect_eq "deliveries below minus their error bound" 0 \
  "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN AND latency_us < -err_us")"
expect_eq "deliveries without an error bound" 0 \
  "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN AND (err_us IS NULL OR err_us <= 0)")"
P99=$(q "SELECT latency_us FROM deliveries WHERE run_id=$RUN ORDER BY latency_us
         LIMIT 1 OFFSET (SELECT count(*)*99/100 FROM deliveries WHERE run_id=$RUN)")
MAXL=$(q "SELECT max(latency_us) FROM deliveries WHERE run_id=$RUN")
echo "corrected latency p99 ${P99}us, max ${MAXL}us"
[ "$P99" -lt 100000 ] || fail "corrected p99 ${P99}us is not below 100 ms"
[ "$MAXL" -lt 500000 ] || fail "corrected max ${MAXL}us is not below 500 ms"
# The connection events were corrected too: they fall inside the run.
expect_eq "connect events outside the run's time" 0 "$(q "
  SELECT count(*) FROM conn_events e JOIN runs r ON r.id=e.run_id WHERE e.run_id=$RUN
   AND (e.ts_us < r.started_us OR e.ts_us > r.ended_us)")"
stop_pid "$RP"
echo "clock skew test passed"
