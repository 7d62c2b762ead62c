# A threshold that cannot pass makes the run exit 1, with the verdict printed.
source "$(dirname "$0")/lib.sh"
need_agent
DB=$T/thr.db
WS=$(free_port); CTL=$(free_port)
start_refpush "$WS"
cat >"$T/strict.yaml" <<YAML
name: strict
targets:
  - {ws: "ws://127.0.0.1:$WS/ws?uid={conn}", push: "http://127.0.0.1:$WS/push?uid={conn}"}
agents: {expect: 1, wait: 20s}
connections: {total: 50}
phases:
  - ramp: {to: 50, rate: 500/s}
  - push: {count: 20, rate: 100/s}
thresholds:
  push_latency_p99: "< 1us"
YAML
rc=0; "$BIN/pushstorm" run "$T/strict.yaml" --db "$DB" --local-agents 1 --agent-threads 1 \
  --listen "tcp://127.0.0.1:$CTL" >"$T/out.txt" 2>&1 || rc=$?
cat "$T/out.txt"
expect_eq "failed threshold exit" 1 "$rc"
grep -q "push_latency_p99.*FAIL" "$T/out.txt"

stop_pid "$RP"
