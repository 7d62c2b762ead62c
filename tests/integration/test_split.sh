# agents.split: capacity gives each agent connections in proportion to what
# its hello says it can hold; an agent with a 600-fd limit gets a small share,
# and a plan the agents cannot hold is refused with the numbers (exit 2).
source "$(dirname "$0")/lib.sh"
need_cmd prlimit
campaign_setup s.db
plan() { # plan TOTAL
  cat <<YAML
name: split
targets:
  - $TARGET
agents: {expect: 2, wait: 20s, split: capacity}
connections: {total: $1}
phases:
  - ramp: {to: $1, rate: 2000/s}
  - push: {count: 50, rate: 200/s}
YAML
}
agents() {
  prlimit --nofile=600:600 "$BIN/pushstorm-agent" --controller "tcp://127.0.0.1:$CTL" --name small \
    --threads 1 --once --quiet >"$T/small.log" 2>&1 &
  PIDS+=("$!")
  agent_start big --threads 1 --quiet
}
plan 2000 >"$T/ok.yaml"
"$BIN/pushstorm" check "$T/ok.yaml" | grep -q "by capacity"
agents
ctl_run "$T/ok.yaml" >"$T/out.txt" 2>&1
cat "$T/out.txt"
expect_eq "run exit" 0 "$RC"
small=$(q "SELECT conn_count FROM agents WHERE name='small'")
big=$(q "SELECT conn_count FROM agents WHERE name='big'")
expect_eq "shares add up" 2000 $((small + big))
# capacity: small 600-256 = 344 fds; big ~19,744 (or its memory): small gets under 5%
[ "$small" -ge 1 ] && [ "$small" -le 100 ] || fail "small agent got $small"
expect_eq "every connection opened" 2000 "$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE type=1")"
echo "ok: split by capacity: small $small, big $big"
# more than both can hold: refused up front with the numbers
plan 1000000 >"$T/big.yaml"
agents
ctl_run "$T/big.yaml" >"$T/out2.txt" 2>&1
expect_eq "run exit when it cannot fit" 2 "$RC"
grep -q "the 2 agents can hold [0-9]* connections in all (fd limits, memory), the plan needs 1000000" "$T/out2.txt"
stop_pid "$RP"
echo "split test passed"
