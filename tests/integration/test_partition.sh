# A control-link partition of 20 s during a push phase (issue 11, item 3).
# Three network namespaces: the controller (c), the agent (a) and refpush (s),
# joined pairwise by veths, so the agent's control link (c-a) can be cut
# while its WebSocket load (a-s) and the controller's push calls (c-s) go on.
# The agent's control veth goes down 2 s into a unicast push phase and comes
# back 20 s later. Asserts: the controller shows the agent suspect, then
# rejoined, never lost; the agent kept its load (refpush saw 200 connections
# and no reconnects) and dialed afresh; zero events lost: every push
# delivered exactly once, the deliveries the agent received during the cut
# stored after its resend, no duplicates and nothing undelivered, and the
# same count of frames as refpush says it sent. Needs root (ip netns):
# skipped (exit 77) otherwise. Namespaces go on exit, whatever happens.
source "$(dirname "$0")/lib.sh"
need_build
SUF=$(( $$ % 100000 ))
NSC=psp${SUF}c NSA=psp${SUF}a NSS=psp${SUF}s
netns_cleanup() {
  cleanup
  for ns in "$NSC" "$NSA" "$NSS"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}
trap netns_cleanup EXIT
ip netns add "$NSC" 2>/dev/null || skip "cannot create network namespaces (needs root and ip netns)"
ip netns add "$NSA"; ip netns add "$NSS"

# Three 10.x.y.0/24 subnets; namespaces have only these, so any free pick works.
B=10.$((200 + RANDOM % 50)).$((RANDOM % 80))
NET_CA=${B%.*}.$(( ${B##*.} * 3 )) NET_AS=${B%.*}.$(( ${B##*.} * 3 + 1 )) NET_CS=${B%.*}.$(( ${B##*.} * 3 + 2 ))
# link NS1 IF1 NS2 IF2 NET: a veth between two namespaces, NET.1 and NET.2
link() {
  ip link add "$2$SUF" type veth peer name "$4$SUF"
  ip link set "$2$SUF" netns "$1"; ip link set "$4$SUF" netns "$3"
  ip -n "$1" link set "$2$SUF" name "$2"; ip -n "$3" link set "$4$SUF" name "$4"
  ip -n "$1" addr add "$5.1/24" dev "$2"; ip -n "$3" addr add "$5.2/24" dev "$4"
  ip -n "$1" link set "$2" up; ip -n "$3" link set "$4" up
}
for ns in "$NSC" "$NSA" "$NSS"; do ip -n "$ns" link set lo up; done
link "$NSC" ca "$NSA" ac "$NET_CA"
link "$NSA" as "$NSS" sa "$NET_AS"
link "$NSC" cs "$NSS" sc "$NET_CS"

start_listening RP "$T/refpush.log" ip netns exec "$NSS" "$BIN/refpush" --bind 0.0.0.0 --port 8080 --quiet
stats() { ip netns exec "$NSC" curl -sf "http://$NET_CS.2:8080/stats"; }
stat_field() { stats | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
ip netns exec "$NSA" curl -sf -m 5 "http://$NET_AS.2:8080/stats" >/dev/null ||
  fail "the agent's namespace cannot reach refpush"

CTL=$(free_port)
DB=$T/partition.db
cat >"$T/plan.yaml" <<YAML
name: it-partition
targets:
  - {ws: "ws://$NET_AS.2:8080/ws?uid={conn}", push: "http://$NET_CS.2:8080/push?uid={conn}"}
agents: {expect: 1, wait: 20s, grace: 30s, buffer: 16M}
connections: {total: 200}
phases:
  - ramp: {to: 200, rate: 1000/s}
  - push: {mode: unicast, count: 600, rate: 25/s, grace: 2s}
  - push: {mode: broadcast, count: 2, rate: 1/s, grace: 2s}
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
YAML
ip netns exec "$NSC" "$BIN/pushstorm" run "$T/plan.yaml" --db "$DB" --listen "tcp://$NET_CA.1:$CTL" \
  >"$T/run.out" 2>&1 &
CP=$!; PIDS+=("$CP")
ip netns exec "$NSA" "$BIN/pushstorm-agent" --controller "tcp://$NET_CA.1:$CTL" --name a1 --once \
  --threads 1 >"$T/agent.log" 2>&1 &
AP=$!; PIDS+=("$AP")

for _ in $(seq 300); do grep -q "phase 2/3: push" "$T/run.out" && break; sleep 0.1; done
grep -q "phase 2/3: push" "$T/run.out" || { cat "$T/run.out"; fail "no push phase"; }
sleep 2
CUT_US=$(date +%s%6N)
ip -n "$NSA" link set ac down
ip netns exec "$NSA" timeout 1 bash -c "echo >/dev/tcp/$NET_CA.1/$CTL" 2>/dev/null &&
  fail "the control link is not cut: the agent's namespace still reaches the controller"
sleep 20
ip -n "$NSA" link set ac up
BACK_US=$(date +%s%6N)
echo "control link cut for $(( (BACK_US - CUT_US) / 1000 )) ms"

wait_rc "$CP"; cat "$T/run.out"
expect_eq "run exit" 0 "$RC"
wait_rc "$AP"; cat "$T/agent.log"
expect_eq "agent exit" 0 "$RC"
grep -q "agent 1 (a1) suspect: no word for" "$T/run.out" || fail "the agent was not shown suspect"
grep -q "agent 1 (a1) rejoined after" "$T/run.out" || fail "the agent was not shown rejoined"
grep -q "agent 1 (a1) lost" "$T/run.out" && fail "the agent was evicted"
grep -q "dialing it afresh" "$T/agent.log" || fail "the agent did not redial after the silence"
last_run
for f in "agents_suspect 1" "agents_rejoined 1" "agents_lost 0" "agent_batches_discarded 0" \
         "agent_events_discarded 0" "push_lost 0" "push_agent_lost 0" "push_duplicates 0"; do
  set -- $f; expect_eq "figure $1" "$2" "$(fig "$1")"
done
expect_eq "expected = delivered" "$(fig push_expected)" "$(fig push_delivered)"
expect_eq "unicast delivered exactly once to its uid" 600 "$(q "
  SELECT count(*) FROM pushes p WHERE run_id=$RUN AND mode='unicast' AND http_status=200 AND
   (SELECT count(*) FROM deliveries d WHERE d.run_id=p.run_id AND d.msg_id=p.msg_id AND d.conn=p.conn)=1 AND
   (SELECT count(*) FROM deliveries d WHERE d.run_id=p.run_id AND d.msg_id=p.msg_id)=1")"
expect_eq "broadcasts reached every connection once" "200 200" "$(q "
  SELECT group_concat(n, ' ') FROM (SELECT count(DISTINCT d.conn) AS n FROM pushes p JOIN deliveries d
   USING(run_id, msg_id) WHERE p.run_id=$RUN AND p.mode='broadcast' GROUP BY p.msg_id ORDER BY p.msg_id)")"
expect_eq "duplicates, undelivered" "0 0" "$(q "
  SELECT (SELECT count(*) FROM deliveries WHERE run_id=$RUN AND duplicate=1) || ' ' ||
         (SELECT count(*) FROM undelivered WHERE run_id=$RUN)")"
DURING=$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN AND t_recv_us > $CUT_US + 1000000
             AND t_recv_us < $BACK_US - 1000000")
echo "deliveries received during the cut, stored after the resend: $DURING"
[ "$DURING" -ge 400 ] || fail "only $DURING deliveries fall inside the cut: it did not cover the push phase"
expect_eq "frames refpush sent = deliveries" "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN")" \
  "$(stat_field frames_delivered)"
expect_eq "refpush connections_total (no reconnect through the cut)" 200 "$(stat_field connections_total)"
echo "partition test passed"
