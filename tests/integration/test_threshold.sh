# A threshold that cannot pass makes the run exit 1, with the verdict printed.
source "$(dirname "$0")/lib.sh"
campaign_setup thr.db
cat >"$T/strict.yaml" <<YAML
name: strict
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: 50}
phases:
  - ramp: {to: 50, rate: 500/s}
  - push: {count: 20, rate: 100/s}
thresholds:
  push_latency_p99: "< 1us"
YAML
ctl_run "$T/strict.yaml" --local-agents 1 --agent-threads 1 >"$T/out.txt" 2>&1
cat "$T/out.txt"
expect_eq "failed threshold exit" 1 "$RC"
grep -q "push_latency_p99.*FAIL" "$T/out.txt"
last_run
expect_eq "run status" fail "$(q "SELECT status FROM runs WHERE id=$RUN")"
expect_eq "threshold verdict" "push_latency_p99|< 1us|0" \
  "$(q "SELECT name, expr, pass FROM thresholds WHERE run_id=$RUN")"

stop_pid "$RP"
