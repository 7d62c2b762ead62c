# Socket.IO against the real server (issue 13): the socket.io npm package (4.x)
# on node, through tests/servers/socketio/server.js, which maps POST /push to
# an emit to that user's room and POST /broadcast to every socket.
# 1. 2,000 connections over 2 agents, `protocol: socketio`, each connecting the
#    namespace with auth {"user":"<conn>"}; 1,000 unicast pushes that ask for
#    an ack (the agent answers 43<id>[]), 2 broadcasts that do not: every
#    delivery exactly once, none lost, and the server's own counters agree
#    (sockets connected, events emitted, acks received, every socket gone
#    with our "41" at the end); the server pinged and was answered.
# 2. A server that refuses the auth (a token it wants, the plan sends a wrong
#    one): every connection fails proto_refused, as many as the server refused.
# 3. A server that stops pinging: every connection closes proto_keepalive once
#    pingInterval + pingTimeout have passed without a ping.
# 4. A server that ends the sockets at the Socket.IO level ("41"): proto_close.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/servers_socketio.sh"
sio_need
need_build
SP=$(free_port); CTL=$(free_port)
sio_start "$SP" --ping-interval 2000 --ping-timeout 3000
DB=$T/socketio.db
N=2000 U=1000 B=2
{ sio_plan_head it-socketio "$SP" "&ack=1" '{"user":"{conn}"}'; cat <<YAML
agents: {expect: 2, wait: 20s}
connections: {total: $N}
phases:
  - ramp: {to: $N, rate: 1000/s}
  - hold: 3s
  - push: {mode: unicast, count: $U, rate: 500/s, body: '{"id":"{msg}","text":"hello"}'}
  - push: {mode: broadcast, count: $B, rate: 2/s}
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
YAML
} >"$T/plan.yaml"
ctl_run "$T/plan.yaml" --local-agents 2 --agent-threads 1 --quiet >"$T/run.out" 2>"$T/run.err"
cat "$T/run.out"
expect_eq "run exit" 0 "$RC"
last_run
expect_exact_delivery "$U" "$N" "$B"
expect_eq "connections online" "$N" "$(q "SELECT count(DISTINCT conn) FROM conn_events
  WHERE run_id=$RUN AND type=(SELECT type FROM event_types WHERE name='connected')")"
expect_eq "protocol failures" 0 "$(q "SELECT count(*) FROM conn_events e JOIN reasons r ON r.reason=e.val
  WHERE e.run_id=$RUN AND e.type IN (2,3) AND r.name LIKE 'proto_%'")"
expect_eq "server: namespace connects" "$N" "$(sio_stats "$SP" connects)"
expect_eq "server: refused" 0 "$(sio_stats "$SP" refused)"
expect_eq "server: push calls" "$U" "$(sio_stats "$SP" pushes)"
expect_eq "server: broadcast calls" "$B" "$(sio_stats "$SP" broadcasts)"
expect_eq "server: events emitted = deliveries" "$(sio_stats "$SP" emitted)" \
  "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN")"
expect_eq "server: events emitted" $((U + B * N)) "$(sio_stats "$SP" emitted)"
expect_eq "server: acks asked" "$U" "$(sio_stats "$SP" acks_asked)"
expect_eq "server: acks received" "$U" "$(sio_stats "$SP" acks)"
expect_eq "server: ack timeouts" 0 "$(sio_stats "$SP" ack_timeouts)"
q "SELECT conn, count(*) FROM deliveries WHERE run_id=$RUN GROUP BY conn" >"$T/per_conn"
expect_eq "server's events per user = deliveries per connection (users, differing)" "$N 0" \
  "$(curl -sf "http://127.0.0.1:$SP/stats?users=1" | python3 -c '
import json, sys
m = json.load(sys.stdin)["emitted_by_user"]
got = dict(l.strip().split("|") for l in open(sys.argv[1]))
print(len(m), sum(1 for u in set(m) | set(got) if str(m.get(u)) != got.get(u)))' "$T/per_conn")"
for _ in $(seq 50); do [ "$(sio_stats "$SP" connected)" = 0 ] && break; sleep 0.1; done
expect_eq "server: sockets left after the run" 0 "$(sio_stats "$SP" connected)"
expect_eq "server: disconnects" "$N" "$(sio_stats "$SP" disconnects)"
pings=$(fig proto_server_pings || true)
[ -n "$pings" ] && [ "$pings" -ge "$N" ] || fail "server pings answered: $pings, expected >= $N"
echo "ok: server pings answered = $pings"
# no hold after the last push: the final counters come with each agent's
# stopped tick, not a whole second later
acks=$(fig proto_acks_sent || true)
expect_eq "protocol acks the agents sent" "$U" "$acks"
san=$(grep -cE "AddressSanitizer|LeakSanitizer|runtime error" "$T/run.err" || true)
expect_eq "sanitizer reports" 0 "$san"
sio_stop

# ---- refusals and keepalive: one agent, a few connections each.
# ends_of REASON: how many of the run's connections ended (failed or closed) with it
ends_of() {
  q "SELECT count(DISTINCT e.conn) FROM conn_events e JOIN reasons r ON r.reason=e.val
     WHERE e.run_id=$RUN AND e.type IN (2,3) AND r.name='$1'"
}
small_plan() { # small_plan NAME AUTH PHASES...
  local name=$1 auth=$2; shift 2
  { sio_plan_head "$name" "$SP" "" "$auth"
    echo "agents: {expect: 1, wait: 20s}"; echo "connections: {total: 8}"; echo "phases:"
    printf '  - %s\n' "$@"; } >"$T/$name.yaml"
}

SP=$(free_port)
sio_start "$SP" --token right
small_plan refused '{"user":"{conn}","token":"wrong"}' "ramp: {to: 8, rate: 100/s, timeout: 5s}" "hold: 1s"
ctl_run "$T/refused.yaml" --local-agents 1 --agent-threads 1 --quiet >"$T/run.out" 2>"$T/run.err"
cat "$T/run.out"
last_run
expect_eq "refused: connections failed proto_refused" 8 "$(ends_of proto_refused)"
expect_eq "refused: before online, aux 0" "8 0" "$(q "SELECT count(*), max(aux) FROM conn_events
  WHERE run_id=$RUN AND type=2" | tr '|' ' ')"
expect_eq "refused: as the server counted" 8 "$(sio_stats "$SP" refused)"
expect_eq "refused: none connected" 0 "$(sio_stats "$SP" connects)"
sio_stop

SP=$(free_port)
sio_start "$SP" --ping-interval 500 --ping-timeout 500
small_plan keepalive '{"user":"{conn}"}' "ramp: {to: 8, rate: 100/s}" "hold: 2s" \
  "exec: {command: \"curl -sf -o /dev/null -X POST http://127.0.0.1:$SP/stop-pings\"}" "hold: 3s"
ctl_run "$T/keepalive.yaml" --local-agents 1 --agent-threads 1 --quiet >"$T/run.out" 2>"$T/run.err"
cat "$T/run.out"
last_run
expect_eq "keepalive: connections closed proto_keepalive" 8 "$(ends_of proto_keepalive)"
expect_eq "keepalive: each after pingInterval + pingTimeout (aux, ms since the last ping)" 1 \
  "$(q "SELECT min(aux) >= 1000 FROM conn_events WHERE run_id=$RUN AND type IN (2,3)")"
expect_eq "keepalive: no other ends before it" 8 "$(q "SELECT count(*) FROM conn_events
  WHERE run_id=$RUN AND type IN (2,3)")"
expect_eq "keepalive: the server had stopped" True "$(sio_stats "$SP" pings_stopped)"
sio_stop

SP=$(free_port)
sio_start "$SP"
small_plan close '{"user":"{conn}"}' "ramp: {to: 8, rate: 100/s}" "hold: 1s" \
  "exec: {command: \"curl -sf -o /dev/null -X POST http://127.0.0.1:$SP/disconnect\"}" "hold: 1s"
ctl_run "$T/close.yaml" --local-agents 1 --agent-threads 1 --quiet >"$T/run.out" 2>"$T/run.err"
cat "$T/run.out"
last_run
expect_eq "close: connections closed proto_close" 8 "$(ends_of proto_close)"
expect_eq "close: the server ended them" 8 "$(sio_stats "$SP" disconnects)"
sio_stop
echo "socketio test passed"
