# A small real campaign: 2 agents x 500 connections against refpush; asserts from
# the database that every connection opened, every push was delivered exactly
# once to the right uid, and that the counts match refpush's /stats.
source "$(dirname "$0")/lib.sh"
campaign_setup it.db
cat >"$T/plan.yaml" <<YAML
name: it-campaign
targets:
  - $TARGET
agents: {expect: 2, wait: 20s}
connections: {total: 1000}
heartbeat: {ws_ping: 2s, pong_timeout: 2s}
phases:
  - ramp: {to: 1000, rate: 1000/s}
  - hold: 2s
  - push: {mode: unicast, rate: 400/s, count: 400, body: '{"id":"{msg}","text":"hello \"world\""}'}
  - push: {mode: broadcast, count: 2, rate: 2/s}
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
  push_latency_p99: "< 2s"
YAML
ctl_run "$T/plan.yaml" --local-agents 2 --agent-threads 1 >"$T/run.out"
cat "$T/run.out"
expect_eq "run exit" 0 "$RC"
last_run
expect_eq "run status" pass "$(q "SELECT status FROM runs WHERE id=$RUN")"
expect_eq "distinct connections opened" 1000 \
  "$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=1")"
expect_eq "connection failures" 0 "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND type=2")"
expect_eq "unicast pushes stored" 400 "$(q "SELECT count(*) FROM pushes WHERE run_id=$RUN AND mode='unicast'")"
expect_exact_delivery 400 1000 2
# the server's own counts agree
expect_eq "refpush pushes" 400 "$(stats_field "$WS" pushes)"
expect_eq "refpush broadcasts" 2 "$(stats_field "$WS" broadcasts)"
expect_eq "refpush frames = deliveries" "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN")" \
  "$(stats_field "$WS" frames_delivered)"
expect_eq "refpush connections_total" 1000 "$(stats_field "$WS" connections_total)"
expect_eq "agents closed their connections" 0 "$(stats_field "$WS" connections)"
grep -q "threshold     push_lost" "$T/run.out"
# report reprints the same summary from the database
"$BIN/pushstorm" report "$RUN" --db "$DB" | grep -q "delivered 2400"
stop_pid "$RP"
echo "campaign test passed"
