#!/usr/bin/env bash
# Connections from a link-local IPv6 source address (fe80::/10), with each
# engine: bind() needs the interface's scope id beside such an address. lws
# finds it in its interface walk; the native engine takes the one the agent
# looked up at start-up (srcaddr.c), and without it every connect fails with
# EINVAL. Two namespaces joined by a veth pair: the agent and the controller
# in one (its end carries only fe80::77:1 and the link-local address the
# kernel gives it, plus a route to fd77::/64), refpush in the other on
# [fd77::1]. Each engine's run must connect every connection, deliver every
# unicast once, and the server must see every connection come from
# fe80::77:1. Needs root (ip netns): skipped (exit 77) otherwise.
source "$(dirname "$0")/lib.sh"
need_build
SUF=$(( $$ % 100000 ))
NA=psll${SUF}a NB=psll${SUF}b
ll_cleanup() {
  cleanup
  for ns in "$NA" "$NB"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}
trap ll_cleanup EXIT
ip netns add "$NA" 2>/dev/null || skip "cannot create network namespaces (needs root and ip netns)"
ip netns add "$NB"
ip -n "$NA" link set lo up
ip -n "$NB" link set lo up
ip -n "$NA" link add va type veth peer name vb netns "$NB"
ip -n "$NA" link set va up
ip -n "$NB" link set vb up
ip -n "$NA" addr add fe80::77:1/64 dev va nodad
ip -n "$NB" addr add fd77::1/64 dev vb nodad
ip -n "$NA" route add fd77::/64 dev va
# and an IPv4 address: nng resolves the controller's tcp://127.0.0.1 with
# AI_ADDRCONFIG, which a namespace whose only other addresses are IPv6 fails
ip -n "$NA" addr add 192.0.2.1/24 dev va

start_listening RP "$T/refpush.log" ip netns exec "$NB" "$BIN/refpush" --bind fd77::1 --port 8080 --quiet
DB=$T/ll.db
N=40
cat >"$T/plan.yaml" <<YAML
name: it-linklocal
targets:
  - {ws: "ws://[fd77::1]:8080/ws?uid={conn}", push: "http://[fd77::1]:8080/push?uid={conn}"}
agents: {expect: 1, wait: 20s}
connections: {total: $N}
phases:
  - ramp: {to: $N, rate: 200/s}
  - hold: 1s
  - push: {mode: unicast, count: 20, rate: 100/s, grace: 2s}
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
YAML

# run ENGINE: one campaign with the agent on ENGINE; the server's view of its
# connections' sources while they are held goes to $T/peers-ENGINE.txt
run() {
  local engine=$1 ctl
  ctl=$(free_port)
  ip netns exec "$NA" "$BIN/pushstorm" run "$T/plan.yaml" --db "$DB" --listen "tcp://127.0.0.1:$ctl" \
    >"$T/run-$engine.out" 2>&1 &
  local cp=$!; PIDS+=("$cp")
  ip netns exec "$NA" "$BIN/pushstorm-agent" --controller "tcp://127.0.0.1:$ctl" --name "ll-$engine" \
    --once --threads 1 --engine "$engine" --source-ips fe80::77:1 >"$T/agent-$engine.log" 2>&1 &
  local ap=$!; PIDS+=("$ap")
  : >"$T/peers-$engine.txt"
  for _ in $(seq 100); do
    ip netns exec "$NB" ss -Htn state established "( sport = :8080 )" | awk '{print $4}' \
      >"$T/peers-$engine.txt"
    [ "$(wc -l <"$T/peers-$engine.txt")" -ge "$N" ] && break
    kill -0 "$cp" 2>/dev/null || break
    sleep 0.1
  done
  wait_rc "$cp"
  cat "$T/run-$engine.out"
  [ "$RC" = 0 ] || { cat "$T/agent-$engine.log" >&2; fail "$engine: the run exited $RC"; }
  wait_rc "$ap"
  expect_eq "$engine: agent exit" 0 "$RC"
  last_run
  expect_eq "$engine: connections opened" "$N" \
    "$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=1")"
  expect_eq "$engine: failed attempts" 0 \
    "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND type=2")"
  expect_exact_delivery 20 "$N" 0
  expect_eq "$engine: connections the server saw from fe80::77:1" "$N" \
    "$(grep -c '^\[fe80::77:1\]' "$T/peers-$engine.txt" || true)"
}
run native
run lws
echo "ok: both engines connect from a link-local source"
