# The agent against a deliberately misbehaving server (bin/hostile): one target
# per misbehaviour, 4 connections each. Asserts from the database that every
# connection ended with the failure class the protocol promises (enum ps_reason),
# that the well-behaved /ok connections stayed up until the stop, that the run
# passes (no thresholds) and that the sanitized agent and controller print no
# sanitizer report. The full per-connection table is printed first, so a failing
# run shows what the agent actually reported.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/hostile_lib.sh"
HOSTILE=${HOSTILE_BIN:-$ROOT/bin/hostile}
need_build "$HOSTILE"

# Behaviour k gets connections k, k+N, k+2N, k+3N (connection i -> target i mod N).
BEHAVIOURS=(ok reject401 reject503 badaccept oversize badutf8 masked rstmidframe nohandshake
            closenostatus close1011 badopcode)
# The terminal event each behaviour must produce, as TYPE:REASON:AUX (a regex).
declare -A EXPECT=(
  [ok]='^closed:client_close:1000$'
  [reject401]='^failed:http_status:401$'
  [reject503]='^failed:http_status:503$'
  [badaccept]='^failed:(bad_accept|handshake):'
  [oversize]='^(failed|closed):too_big:'
  [badutf8]='^(failed|closed):(bad_utf8|protocol):'
  # RFC 6455 5.1 has a client fail the connection on a masked server frame:
  # the native engine does (lws 4.1.6 unmasks it and hands on the payload,
  # so under --engine lws the connection would stay up like /ok)
  [masked]='^closed:protocol:'
  [rstmidframe]='^(failed|closed):reset:'
  [nohandshake]='^(failed|closed):timeout:'
  [closenostatus]='^(failed|closed):no_status:'
  [close1011]='^(failed|closed):server_close:1011$'
  [badopcode]='^(failed|closed):protocol:'
)
# Behaviours whose handshake succeeds (a connected event first).
declare -A UPGRADES=([ok]=1 [oversize]=1 [badutf8]=1 [masked]=1 [rstmidframe]=1
                     [closenostatus]=1 [close1011]=1 [badopcode]=1)
# Behaviours whose connections must stay up through the hold, until the stop.
STAY_UP=(ok)
N=${#BEHAVIOURS[@]}
TOTAL=$((4 * N))

HP=$(free_port); CTL=$(free_port)
start_listening HS "$T/hostile.log" "$HOSTILE" --port "$HP" --verbose
fds_idle=$(ls "/proc/$HS/fd" | wc -l)
DB=$T/hostile.db
{
  echo "name: it-hostile"
  echo "targets:"
  for b in "${BEHAVIOURS[@]}"; do
    echo "  - {ws: \"ws://127.0.0.1:$HP/$b?uid={conn}\", push: \"http://127.0.0.1:$HP/push?uid={conn}\"}"
  done
  echo "agents: {expect: 1, wait: 20s}"
  echo "connections: {total: $TOTAL}"
  echo "heartbeat: {ws_ping: 1s, pong_timeout: 2s}"
  echo "phases:"
  # The ramp ends once nothing is connecting any more: after the handshake timeouts.
  echo "  - ramp: {to: $TOTAL, rate: 200/s, timeout: 30s}"
  echo "  - hold: 3s"
} >"$T/plan.yaml"

ctl_run "$T/plan.yaml" --local-agents 1 --agent-threads 1 >"$T/run.out" 2>"$T/run.err"
cat "$T/run.out"
last_run

echo "== what the agent reported, per connection (behaviour: conn events)"
for k in $(seq 0 $((N - 1))); do
  b=${BEHAVIOURS[$k]}
  for c in $k $((k + N)) $((k + 2 * N)) $((k + 3 * N)); do
    echo "$b $c: $(q "SELECT group_concat(ev, ' ') FROM (SELECT CASE WHEN e.type IN (2,3)
        THEN t.name || ':' || coalesce(r.name, e.val) || ':' || e.aux ELSE t.name END AS ev
        FROM conn_events e JOIN event_types t ON t.type=e.type
        LEFT JOIN reasons r ON r.reason=e.val
        WHERE e.run_id=$RUN AND e.conn=$c ORDER BY e.ts_us)")"
  done
done


check "controller exit code" 0 "$RC"
check "run status" pass "$(q "SELECT status FROM runs WHERE id=$RUN")"
check "connections attempted" "$TOTAL" "$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN")"
HOLD_END=$(q "SELECT ended_us FROM phases WHERE run_id=$RUN AND kind='hold'")

for k in $(seq 0 $((N - 1))); do
  b=${BEHAVIOURS[$k]}
  conns="$k,$((k + N)),$((k + 2 * N)),$((k + 3 * N))"
  # every connection ends exactly once, with the expected class
  matched=0
  for c in ${conns//,/ }; do
    ends=$(q "SELECT group_concat(t.name || ':' || coalesce(r.name, e.val) || ':' || e.aux, ' ')
              FROM conn_events e JOIN event_types t ON t.type=e.type LEFT JOIN reasons r ON r.reason=e.val
              WHERE e.run_id=$RUN AND e.conn=$c AND e.type IN (2,3)")
    if [[ "$ends" != *" "* && "$ends" =~ ${EXPECT[$b]} ]]; then matched=$((matched + 1))
    else echo "  /$b conn $c ended with '${ends:-nothing}', expected /${EXPECT[$b]}/" >&2; fi
  done
  check "/$b connections ending as /${EXPECT[$b]}/" 4 "$matched"
  want_up=0; [ -n "${UPGRADES[$b]:-}" ] && want_up=4
  check "/$b connections that completed the handshake" "$want_up" \
    "$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=1 AND conn IN ($conns)")"
done

# The control group, and what the agent accepts as well-behaved, stayed up
# through the hold and answered every ping.
for b in "${STAY_UP[@]}"; do
  for k in $(seq 0 $((N - 1))); do [ "${BEHAVIOURS[$k]}" = "$b" ] && break; done
  UP_CONNS="$k,$((k + N)),$((k + 2 * N)),$((k + 3 * N))"
  check "/$b closes before the end of the hold" 0 "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN
    AND conn IN ($UP_CONNS) AND type IN (2,3) AND ts_us < ${HOLD_END:-0}")"
  check "/$b missed pongs" 0 \
    "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND conn IN ($UP_CONNS) AND type=5")"
done
check "pongs received" yes "$(q "SELECT CASE WHEN max(pongs) > 0 THEN 'yes' ELSE 'no' END FROM samples
  WHERE run_id=$RUN")"

hostile_unharmed
hostile_finish hostile-server
