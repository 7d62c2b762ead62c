# A campaign across network namespaces, one per "VM": three agents and two
# refpush servers each in their own namespace, joined by a bridge in the root
# namespace, where the controller runs. 3 agents x 300 connections over the 2
# servers, unicast and broadcast pushes. Asserts exactly-once delivery, that
# each agent's connections really come from its namespace's address (seen by
# the servers' sockets), and that each agent's clock offset bound and start
# skew are stored (goal: skew < 50 ms). Needs root (ip netns): skipped (exit
# 77) otherwise. Namespaces, veths and the bridge are deleted on exit,
# whatever happens.
source "$(dirname "$0")/lib.sh"
need_build
SUF=$(( $$ % 100000 ))
BR=psb$SUF
NSS=()
netns_cleanup() {
  # processes first (by PID; ip netns exec execs, so the PID is the program's),
  # then the namespaces, which takes their veth ends, then the bridge
  cleanup
  for ns in "${NSS[@]:-}"; do
    [ -n "$ns" ] || continue
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  ip link del "$BR" 2>/dev/null || true
}
trap netns_cleanup EXIT

ip netns add "ps${SUF}probe" 2>/dev/null || skip "cannot create network namespaces (needs root and ip netns)"
ip netns del "ps${SUF}probe"
ip link add "$BR" type bridge 2>/dev/null || skip "cannot create a bridge interface"

# A 10.x.y.0/24 no interface of this machine uses.
for _ in $(seq 20); do
  NET=10.$((200 + RANDOM % 50)).$((RANDOM % 250))
  ip -4 route | grep -q "^$NET\." || break
done
ip addr add "$NET.1/24" dev "$BR"
ip link set "$BR" up

# vm NAME HOSTNUM: a namespace with eth0 = NET.HOSTNUM, bridged to the root.
vm() {
  local ns=ps$SUF$1 v=ps$SUF$1r p=ps$SUF$1n
  ip netns add "$ns"; NSS+=("$ns")
  ip link add "$v" type veth peer name "$p"
  ip link set "$p" netns "$ns"
  ip -n "$ns" link set "$p" name eth0
  ip -n "$ns" addr add "$NET.$2/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip link set "$v" master "$BR" up
}
vm s1 21; vm s2 22; vm a1 11; vm a2 12; vm a3 13

# start_server N: refpush in namespace sN on NET.2N:8080, PID in RPN.
start_server() {
  start_listening "RP$1" "$T/refpush-s$1.log" \
    ip netns exec "ps${SUF}s$1" "$BIN/refpush" --bind "$NET.2$1" --port 8080 --quiet
}
start_server 1; start_server 2
ip netns exec "ps${SUF}a3" curl -sf -m 5 "http://$NET.21:8080/stats" >/dev/null ||
  fail "an agent namespace cannot reach a server namespace"

CTL=$(free_port)
DB=$T/netns.db
cat >"$T/plan.yaml" <<YAML
name: it-netns
targets:
  - {ws: "ws://$NET.21:8080/ws?uid={conn}", push: "http://$NET.21:8080/push?uid={conn}"}
  - {ws: "ws://$NET.22:8080/ws?uid={conn}", push: "http://$NET.22:8080/push?uid={conn}"}
agents: {expect: 3, wait: 30s}
connections: {total: 900}
heartbeat: {ws_ping: 2s, pong_timeout: 2s}
phases:
  - ramp: {to: 900, rate: 900/s}
  - hold: 2s
  - push: {mode: unicast, count: 300, rate: 300/s, grace: 2s}
  - push: {mode: broadcast, count: 2, rate: 2/s, grace: 2s}
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
  push_latency_p99: "< 1s"
YAML
"$BIN/pushstorm" run "$T/plan.yaml" --db "$DB" --listen "tcp://$NET.1:$CTL" >"$T/run.out" 2>&1 &
CP=$!; PIDS+=("$CP")
APIDS=()
for i in 1 2 3; do
  ip netns exec "ps${SUF}a$i" "$BIN/pushstorm-agent" --controller "tcp://$NET.1:$CTL" --name "vm$i" \
    --once --quiet --threads 1 >"$T/agent$i.log" 2>&1 &
  APIDS+=($!); PIDS+=($!)
done

# During the hold: which addresses hold the servers' established sockets.
for _ in $(seq 300); do grep -q "phase 2/4: hold" "$T/run.out" && break; sleep 0.1; done
grep -q "phase 2/4: hold" "$T/run.out" || { cat "$T/run.out"; fail "no hold phase"; }
for s in 1 2; do
  ip netns exec "ps${SUF}s$s" ss -Htn state established "sport = :8080" |
    awk '{print $4}' | sed 's/:[0-9]*$//' | sort | uniq -c | awk '{print $2, $1}' | tr '\n' ' ' \
    >"$T/peers-s$s"
  echo "server s$s peers: $(cat "$T/peers-s$s")"
done

ctl_wait 0
for i in 0 1 2; do
  wait_rc "${APIDS[$i]}"
  expect_eq "agent vm$((i + 1)) exit" 0 "$RC"
done
for s in 1 2; do
  # each agent holds 150 connections to each server (connection i -> target i mod 2)
  expect_eq "server s$s established peers" "$NET.11 150 $NET.12 150 $NET.13 150 " "$(cat "$T/peers-s$s")"
done
last_run
expect_eq "agents, their addresses and shares" \
  "vm1 127.0.0.1,$NET.11 300;vm2 127.0.0.1,$NET.12 300;vm3 127.0.0.1,$NET.13 300" "$(q "
  SELECT group_concat(x, ';') FROM (SELECT name || ' ' || ips || ' ' || conn_count AS x FROM agents
   WHERE run_id=$RUN ORDER BY name)")"
expect_eq "connections per target" "0 450;1 450" "$(q "
  SELECT group_concat(x, ';') FROM (SELECT aux || ' ' || count(DISTINCT conn) AS x FROM conn_events
   WHERE run_id=$RUN AND type=1 GROUP BY aux ORDER BY aux)")"
expect_eq "unicast delivered exactly once to its uid" 300 "$(q "
  SELECT count(*) FROM pushes p WHERE run_id=$RUN AND mode='unicast' AND http_status=200 AND
   (SELECT count(*) FROM deliveries d WHERE d.run_id=p.run_id AND d.msg_id=p.msg_id AND d.conn=p.conn)=1 AND
   (SELECT count(*) FROM deliveries d WHERE d.run_id=p.run_id AND d.msg_id=p.msg_id)=1")"
expect_eq "broadcasts reached every connection once" "900 900" "$(q "
  SELECT group_concat(n, ' ') FROM (SELECT count(DISTINCT d.conn) AS n FROM pushes p JOIN deliveries d
   USING(run_id, msg_id) WHERE p.run_id=$RUN AND p.mode='broadcast' GROUP BY p.msg_id ORDER BY p.msg_id)")"
expect_eq "duplicates, undelivered" "0 0" "$(q "
  SELECT (SELECT count(*) FROM deliveries WHERE run_id=$RUN AND duplicate=1) || ' ' ||
         (SELECT count(*) FROM undelivered WHERE run_id=$RUN)")"
FRAMES=0
for s in 1 2; do
  f=$(curl -sf "http://$NET.2$s:8080/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["frames_delivered"])')
  FRAMES=$((FRAMES + f))
done
expect_eq "frames the servers sent = deliveries" "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN")" "$FRAMES"

# Clock offset bound and start skew per agent.
q "SELECT name, offset_us, offset_err_us, start_skew_us FROM agents WHERE run_id=$RUN ORDER BY name" |
  while IFS='|' read -r n off err skew; do echo "agent $n: offset ${off}us +-${err}us, start skew ${skew}us"; done
expect_eq "agents with an error bound in (0, 5 ms]" 3 \
  "$(q "SELECT count(*) FROM agents WHERE run_id=$RUN AND offset_err_us > 0 AND offset_err_us <= 5000")"
expect_eq "agents with a start skew under 50 ms" 3 \
  "$(q "SELECT count(*) FROM agents WHERE run_id=$RUN AND start_skew_us IS NOT NULL AND abs(start_skew_us) < 50000")"
SKEW=$(fig start_skew_max_us)
expect_eq "start_skew_max_us = worst agent" "$SKEW" "$(q "SELECT max(abs(start_skew_us)) FROM agents WHERE run_id=$RUN")"
echo "start spread: $(q "SELECT value FROM figures WHERE run_id=$RUN AND name='phase1_start_spread_us'")us"
stop_pid "$RP1"; stop_pid "$RP2"
echo "netns test passed"
