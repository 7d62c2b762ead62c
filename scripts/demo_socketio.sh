#!/usr/bin/env bash
# `make demo PROTOCOL=socketio`: the demo's campaign (plans/demo.yaml's shape:
# 10k connections, 1,000 unicast pushes, 3 broadcasts, 2 local agents)
# against the real Socket.IO server, the socket.io npm package on node
# (tests/servers/socketio/server.js), every connection speaking Socket.IO v4
# (protocol: socketio) with auth {"user":"<conn>"}. Installs nothing: without
# node or the npm packages it says what installs them and exits 2. Prints the
# summary and the server's own counters, keeps the results in demo.db, and
# stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=8090
DIR=tests/servers/socketio
[ -x bin/pushstorm-agent ] || { echo "demo: bin/pushstorm-agent is not built; run make first" >&2; exit 2; }
command -v node >/dev/null || {
  echo "demo: node is not installed (package nodejs; scripts/install-deps.sh test installs it)" >&2; exit 2; }
[ -f "$DIR/node_modules/socket.io/package.json" ] || {
  echo "demo: the socket.io npm package is not in $DIR/node_modules (scripts/install-deps.sh test installs it)" >&2
  exit 2; }
DB=${DB:-demo.db}
if ss -Htln "sport = :$PORT or sport = :7700 or sport = :7701" | grep -q .; then
  echo "demo: port $PORT, 7700 or 7701 is already in use; stop what uses it and retry" >&2
  exit 2
fi
TMP=$(mktemp -d /tmp/pushstorm-demo-socketio.XXXXXX)
node "$DIR/server.js" --port "$PORT" >"$TMP/server.log" 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null; wait $SRV 2>/dev/null || true; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do grep -q listening "$TMP/server.log" && break; sleep 0.1; done
grep -q listening "$TMP/server.log" || { cat "$TMP/server.log"; exit 2; }
cat >"$TMP/plan.yaml" <<YAML
name: demo-socketio
targets:
  - ws: "ws://127.0.0.1:$PORT/socket.io/?EIO=4&transport=websocket"
    push: "http://127.0.0.1:$PORT/push?uid={conn}&ack=1"
    protocol: socketio
protocol_options: {auth: '{"user":"{conn}"}'}
agents: {expect: 2, wait: 20s}
connections:
  total: 10000
phases:
  - ramp: {to: 10000, rate: 2000/s}
  - hold: 10s
  - push: {mode: unicast, count: 1000, rate: 500/s, body: '{"id":"{msg}","text":"hello"}'}
  - push: {mode: broadcast, count: 3, rate: 1/s}
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
  push_latency_p99: "< 1s"
YAML
start=$(date +%s%N)
rc=0
bin/pushstorm run "$TMP/plan.yaml" --db "$DB" --local-agents 2 --agent-threads 1 \
  --listen tcp://127.0.0.1:7700 || rc=$?
echo
echo "socket.io server saw: $(curl -s http://127.0.0.1:$PORT/stats)"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
printf 'demo finished in %d.%01ds (exit %d); results in %s (see: bin/pushstorm runs --db %s)\n' \
  $((ms / 1000)) $((ms % 1000 / 100)) "$rc" "$DB" "$DB"
exit $rc
