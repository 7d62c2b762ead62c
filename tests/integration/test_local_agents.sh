# Many agents on one box (issue 12): `pushstorm run --local-agents N`.
#  1. --local-agents 2 with a plan that does not say agents.expect: 2 agents
#     are expected, 12,000 connections each (24,000 over two loopback refpush
#     servers: one process holds at most ~19,900 sockets here, agent or
#     server). Before, the plan's default expect 1 gave the first agent all
#     24,000 and it refused them (fd limit). Each agent binds its connections
#     to its own 127.101.I.x addresses (seen in the agents' hellos and in the
#     sockets themselves).
#  2. --local-agents 1 with 15,000 connections to one loopback refpush: more
#     than connect() finds from one address to one destination (half the
#     ephemeral range, less a margin: the agent's preflight refused it
#     before); with its own addresses it holds them all.
#  3. --agent-args reaches every local agent; its --source-ips replaces the
#     automatic addresses.
#  4. A plan's explicit agents.expect wins over --local-agents.
#  5. Bad --agent-args are refused naming what is wrong, and a local agent that
#     exits before the run starts fails the run at once (not after agents.wait).
source "$(dirname "$0")/lib.sh"
need_build
need_cmd ss
read -r PLO PHI </proc/sys/net/ipv4/ip_local_port_range
echo "ip_local_port_range $PLO-$PHI: connect() from one address to one destination finds ~$(( (PHI - PLO + 1) / 2 - 512 )) ports"
WS1=$(free_port); WS2=$(free_port); CTL=$(free_port)
start_refpush "$WS1"; RP1=$RP
start_refpush "$WS2"; RP2=$RP
DB=$T/local.db
target() { echo "{ws: \"ws://127.0.0.1:$1/ws?uid={conn}\", push: \"http://127.0.0.1:$1/push?uid={conn}\"}"; }
# plan FILE TOTAL RATE AGENTS-LINE TARGET...: ramp to TOTAL at RATE/s, hold 2s
plan() {
  local f=$1 total=$2 rate=$3 agents=$4; shift 4
  { echo "name: it-local-$total"; echo "targets:"
    for t in "$@"; do echo "  - $(target "$t")"; done
    [ -z "$agents" ] || echo "$agents"
    echo "connections: {total: $total}"
    echo "phases:"; echo "  - ramp: {to: $total, rate: $rate/s}"; echo "  - hold: 2s"
    echo "thresholds: {connect_success: \">= 100%\"}"; } >"$f"
}
# sources PORT...: established connections to these ports, counted by local address /24
sources() {
  local f="" p
  for p in "$@"; do f="$f${f:+ or }dport = :$p"; done
  ss -Htn state established "( $f )" | awk '{split($3, a, ":"); split(a[1], o, "."); print o[1] "." o[2] "." o[3] ".x"}' |
    sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ' | sed 's/ $//'
}
# during_hold: the sockets seen once the hold phase begins, into $T/sources
during_hold() {
  wait_out "phase 2/2: hold"
  sources "$@" >"$T/sources"
}

echo "== 1. --local-agents 2, no agents.expect in the plan: 24,000 connections"
plan "$T/p1.yaml" 24000 6000 "" "$WS1" "$WS2"
ctl_start "$T/p1.yaml" --local-agents 2 --agent-threads 1
during_hold "$WS1" "$WS2"
ctl_wait 0
last_run
expect_eq "agents joined" 2 "$(fig agents)"
expect_eq "connections opened" 24000 "$(fig conn_opened)"
expect_eq "each agent's share" "12000,12000" "$(q "SELECT group_concat(conn_count) FROM agents WHERE run_id=$RUN")"
expect_eq "their source addresses (hello)" "local-1:127.101.1.1,127.101.1.2;local-2:127.101.2.1,127.101.2.2" \
  "$(q "SELECT group_concat(name || ':' || ips, ';') FROM (SELECT * FROM agents WHERE run_id=$RUN ORDER BY name)")"
expect_eq "sockets by source address" "127.101.1.x=12000 127.101.2.x=12000" "$(cat "$T/sources")"
grep -q "local agents' source addresses (the targets are on loopback): 127.101.1.1-127.101.1.2 ... 127.101.2.1-127.101.2.2" \
  "$T/run.out" || fail "the run does not say which source addresses its local agents got"

echo "== 2. --local-agents 1: 15,000 connections to one loopback server"
plan "$T/p2.yaml" 15000 6000 "" "$WS1"
ctl_start "$T/p2.yaml" --local-agents 1 --agent-threads 1
during_hold "$WS1"
ctl_wait 0
last_run
expect_eq "connections opened" 15000 "$(fig conn_opened)"
expect_eq "sockets by source address" "127.101.1.x=15000" "$(cat "$T/sources")"
expect_eq "failures" 0 "$(fig conn_failed_events)"

echo "== 3. --agent-args, with its own --source-ips"
plan "$T/p3.yaml" 400 1000 "" "$WS1"
ctl_start "$T/p3.yaml" --local-agents 2 --agent-threads 1 \
  --agent-args "--source-ips '127.102.0.1-127.102.0.3'  --lag-threshold 2s"
during_hold "$WS1"
ctl_wait 0
last_run
expect_eq "both agents' source addresses (from --agent-args)" \
  "127.102.0.1,127.102.0.2,127.102.0.3;127.102.0.1,127.102.0.2,127.102.0.3" \
  "$(q "SELECT group_concat(ips, ';') FROM agents WHERE run_id=$RUN")"
expect_eq "sockets by source address" "127.102.0.x=400" "$(cat "$T/sources")"

echo "== 4. the plan's agents.expect wins"
plan "$T/p4.yaml" 300 1000 "agents: {expect: 1}" "$WS1"
ctl_start "$T/p4.yaml" --local-agents 3 --agent-threads 1
ctl_wait 0
grep -q "the plan expects 1 agent(s) (agents.expect, $T/p4.yaml line 4), which wins over --local-agents 3: starting 1" \
  "$T/run.out" || fail "no note that the plan's agents.expect wins"
last_run
expect_eq "agents joined" 1 "$(fig agents)"
expect_eq "refused hellos" 0 "$(grep -c "refused an agent" "$T/run.out" || true)"

echo "== 5. bad --agent-args"
bad() { # bad WANT-MESSAGE ARGS...: exit 2 and the message
  local want=$1; shift
  ctl_run "$T/p4.yaml" "$@" >"$T/bad.out" 2>&1
  expect_eq "exit of: $*" 2 "$RC"
  grep -qF -- "$want" "$T/bad.out" || { cat "$T/bad.out"; fail "no \"$want\" for: $*"; }
}
bad "--agent-args: --name is set by the controller" --local-agents 1 --agent-args "--name x"
bad "--agent-args: --controller=tcp://1.2.3.4:1 is set by the controller" --local-agents 1 \
  --agent-args "--controller=tcp://1.2.3.4:1"
bad "--agent-args: the ' quote at byte 17 is not closed" --local-agents 1 --agent-args "--lag-threshold '5s"
bad "--agent-args goes with --local-agents N" --agent-args "--lag-threshold 5s"
START=$(date +%s)
bad "local agent 1 (local-1) exited with status 2 before the run started" --local-agents 1 \
  --agent-args "--no-such-option"
grep -q "no-such-option" "$T/bad.out" || fail "the agent's own message is not shown"
[ $(( $(date +%s) - START )) -lt 10 ] || fail "the run waited for an agent that had exited"

stop_pid "$RP1"; stop_pid "$RP2"
echo "local agents test passed"
