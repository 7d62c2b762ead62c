# Why connections fail, as the database tells it (issue 11, item 7): a port
# nothing listens on is `refused` (aux = ECONNREFUSED, from the socket's error,
# where lws 4.1.6 only says "closed before established" and the reason used to
# be `other`); a server that answers the upgrade with bytes that are not HTTP
# is `handshake`; a Close frame with a code no endpoint may send (1005, 999) is
# `protocol`, aux the code the server sent (the native engine's; under
# --engine lws the aux is 1002: lws 4.1.6 replaces such a code with 1002
# before the agent sees it, see agent/conn_reason.c). 4 connections per case,
# one agent.
# Then, in a network namespace of its own (root; skipped otherwise, the rest
# still ran): an address with no route is `unreachable` (ENETUNREACH), one
# behind an `unreachable` route too (EHOSTUNREACH).
source "$(dirname "$0")/lib.sh"
HOSTILE=${HOSTILE_BIN:-$ROOT/bin/hostile}
need_build "$HOSTILE"

HP=$(free_port); CTL=$(free_port); DEAD=$(free_port)
start_listening HS "$T/hostile.log" "$HOSTILE" --port "$HP" --verbose
DB=$T/reasons.db
# connection c goes to target c mod 4
CASES=(refused garbage close1005 close999)
declare -A EXPECT=(
  [refused]="failed:refused:111"
  [garbage]="failed:handshake:0"
  [close1005]="closed:protocol:1005"
  [close999]="closed:protocol:999"
)
# plan FILE NAME CONNS WS_URL...: one agent, a ramp to CONNS over the targets
plan() {
  local f=$1 name=$2 n=$3 u; shift 3
  { echo "name: $name"; echo "targets:"
    for u in "$@"; do echo "  - {ws: \"$u?uid={conn}\", push: \"http://127.0.0.1:9/push\"}"; done
    echo "agents: {expect: 1, wait: 20s}"; echo "connections: {total: $n}"; echo "phases:"
    echo "  - ramp: {to: $n, rate: 200/s, timeout: 20s}"; echo "  - hold: 1s"; } >"$f"
}
plan "$T/plan.yaml" it-connect-reasons 16 "ws://127.0.0.1:$DEAD/ws" "ws://127.0.0.1:$HP/garbage" \
  "ws://127.0.0.1:$HP/close1005" "ws://127.0.0.1:$HP/close999"
ss -Htln "sport = :$DEAD" | grep -q . && fail "port $DEAD is taken; it must be dead"
ctl_run "$T/plan.yaml" --local-agents 1 --agent-threads 1 >"$T/run.out" 2>"$T/run.err"
cat "$T/run.out"
expect_eq "controller exit" 0 "$RC"
last_run

# ends CONN: the connection's failed/closed events, as type:reason:aux
ends() {
  q "SELECT group_concat(t.name || ':' || coalesce(r.name, e.val) || ':' || e.aux, ' ')
     FROM conn_events e JOIN event_types t ON t.type=e.type LEFT JOIN reasons r ON r.reason=e.val
     WHERE e.run_id=$RUN AND e.conn=$1 AND e.type IN (2,3)"
}
for k in 0 1 2 3; do
  for c in $k $((k + 4)) $((k + 8)) $((k + 12)); do
    expect_eq "${CASES[$k]} conn $c" "${EXPECT[${CASES[$k]}]}" "$(ends "$c")"
  done
done
expect_eq "connections reported as other" 0 "$(q "SELECT count(*) FROM conn_events
  WHERE run_id=$RUN AND type IN (2,3) AND val=(SELECT reason FROM reasons WHERE name='other')")"
expect_eq "summary names the refusals" 1 "$(grep -c "refused 4" "$T/run.out")"
san=$(grep -cE "AddressSanitizer|LeakSanitizer|runtime error" "$T/run.err" || true)
expect_eq "sanitizer reports" 0 "$san"
stop_pid "$HS"

# ---- unreachable: in a namespace with only loopback and one unreachable route
NS=psreach$(( $$ % 100000 ))
ns_cleanup() {
  cleanup
  for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
}
trap ns_cleanup EXIT
if [ "$(id -u)" != 0 ] || ! ip netns add "$NS" 2>/dev/null; then
  echo "SKIP (part): unreachable addresses need a network namespace (root and ip netns)"
  exit 0
fi
ip -n "$NS" link set lo up
ip -n "$NS" route add unreachable 203.0.113.0/24
DB=$T/unreach.db
plan "$T/unreach.yaml" it-unreachable 4 "ws://198.51.100.7:80/ws" "ws://203.0.113.7:80/ws"
RC=0
ip netns exec "$NS" "$BIN/pushstorm" run "$T/unreach.yaml" --db "$DB" --listen "tcp://127.0.0.1:$CTL" \
  --local-agents 1 --agent-threads 1 >"$T/unreach.out" 2>"$T/unreach.err" || RC=$?
cat "$T/unreach.out"
expect_eq "unreachable run exit" 0 "$RC"
last_run
# ENETUNREACH = 101, EHOSTUNREACH = 113
for c in 0 2; do expect_eq "no route, conn $c" "failed:unreachable:101" "$(ends "$c")"; done
for c in 1 3; do expect_eq "unreachable route, conn $c" "failed:unreachable:113" "$(ends "$c")"; done
echo "connect reasons test passed"
