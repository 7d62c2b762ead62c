# Helpers of the tests that run the agent against bin/hostile (test_hostile.sh,
# test_hostile_session.sh, test_session.sh), sourced after lib.sh. These tests
# list every failed assertion before failing, so that one run shows all that
# the agent got wrong: check() counts, hostile_finish() decides.

failures=0
check() { # check WHAT EXPECTED ACTUAL: like expect_eq but carries on
  if [ "$2" != "$3" ]; then echo "FAIL: $1: expected $2, got $3" >&2; failures=$((failures + 1))
  else echo "ok: $1 = $3"; fi
}

ends() { # ends CONN: its failed/closed events of run $RUN as TYPE:REASON:AUX
  q "SELECT group_concat(t.name || ':' || coalesce(r.name, e.val) || ':' || e.aux, ' ')
     FROM conn_events e JOIN event_types t ON t.type=e.type LEFT JOIN reasons r ON r.reason=e.val
     WHERE e.run_id=$RUN AND e.conn=$1 AND e.type IN (2,3)"
}

# hostile_unharmed: nothing came to harm. No sanitizer report from the
# controller or the agent in $T/run.err (the agent's stderr is the
# controller's); the agent closed every socket (hostile, PID $HS, is back to
# its $fds_idle idle descriptors); hostile stops cleanly on SIGTERM.
hostile_unharmed() {
  local san
  san=$(grep -cE "AddressSanitizer|LeakSanitizer|runtime error|UndefinedBehaviorSanitizer" "$T/run.err" || true)
  check "sanitizer reports" 0 "$san"
  [ "$san" = 0 ] || head -60 "$T/run.err" >&2
  for _ in $(seq 50); do
    [ "$(ls "/proc/$HS/fd" | wc -l)" -le "$fds_idle" ] && break
    sleep 0.1
  done
  check "hostile sockets left open by the agent" 0 $(( $(ls "/proc/$HS/fd" | wc -l) - fds_idle ))
  local hrc=0
  stop_pid "$HS" || hrc=$?
  check "hostile exit status on SIGTERM" 0 "$hrc"
}

# hostile_finish NAME: exits 1 with the logs' tails if any check failed.
hostile_finish() {
  if [ "$failures" -gt 0 ]; then
    echo "== hostile log (tail)"; tail -30 "$T/hostile.log"
    echo "== controller/agent stderr (tail)"; tail -20 "$T/run.err"
    echo "$failures $1 assertions failed" >&2
    exit 1
  fi
  echo "$1 test passed"
}
