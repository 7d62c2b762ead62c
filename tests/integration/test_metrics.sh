# --metrics: Prometheus text served during the run, with the live figures; a
# non-GET is refused; a bad address is a clear error before anything runs.
source "$(dirname "$0")/lib.sh"
campaign_setup m.db
MP=$(free_port)
cat >"$T/m.yaml" <<YAML
name: metrics
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: 200}
phases:
  - ramp: {to: 200, rate: 1000/s}
  - push: {count: 40, rate: 100/s}
  - hold: 3s
YAML
ctl_start "$T/m.yaml" --local-agents 1 --agent-threads 1 --metrics "127.0.0.1:$MP"
got=""
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$MP/metrics" >"$T/scrape.txt" 2>/dev/null || true
  if grep -q '^pushstorm_deliveries_total{run="1"} 40$' "$T/scrape.txt"; then got=1; break; fi
  sleep 0.1
done
[ -n "$got" ] || { cat "$T/scrape.txt" >&2; fail "never scraped 40 deliveries"; }
grep -q '^pushstorm_connections{run="1",plan="metrics"} 200$' "$T/scrape.txt"
grep -q '^pushstorm_connections_target{run="1"} 200$' "$T/scrape.txt"
grep -q '^# TYPE pushstorm_connects_total counter$' "$T/scrape.txt"
grep -q '^pushstorm_lost_total{run="1"} 0$' "$T/scrape.txt"
grep -q '^pushstorm_push_latency_seconds{run="1",quantile="0.99"} 0\.[0-9]*$' "$T/scrape.txt"
grep -q '^pushstorm_agents{run="1",state="live"} 1$' "$T/scrape.txt"
echo "ok: scraped live figures"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$MP/metrics")
expect_eq "POST refused" 405 "$code"
ctl_wait 0
rc=0; "$BIN/pushstorm" run "$T/m.yaml" --db "$T/bad.db" --metrics "nowhere:x" >"$T/bad.txt" 2>&1 || rc=$?
expect_eq "bad --metrics exit" 2 "$rc"
grep -q -- "--metrics nowhere:x: want PORT or IPV4:PORT" "$T/bad.txt"
stop_pid "$RP"
echo "metrics test passed"
