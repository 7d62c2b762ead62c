#!/usr/bin/env bash
# `make demo PROTOCOL=grpc`: the demo campaign (plans/demo_grpc.yaml) pushed
# through the grpc adapter: refpush on 127.0.0.1:8080 for the WebSocket side,
# the gRPC push service of the tests (tests/servers/grpc/server.py on Debian's
# python3-grpcio) on 127.0.0.1:50051 forwarding each call to refpush, 2 local
# agents. Prints the summary and both servers' counts, keeps the results in
# demo.db, stops what it started by PID. Installs nothing: without
# python3-grpcio it says so and exits 2.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=8080 GRPC=50051
DB=${DB:-demo.db}
[ -x bin/pushstorm-agent ] || { echo "demo: bin/pushstorm-agent is not built; run make first" >&2; exit 2; }
/usr/bin/python3 -c "import grpc" 2>/dev/null || {
  echo "demo: the gRPC server needs Debian's python3-grpcio (scripts/install-deps.sh test installs it)" >&2
  exit 2
}
if ss -Htln "sport = :$PORT or sport = :$GRPC or sport = :7700 or sport = :7701" | grep -q .; then
  echo "demo: port $PORT, $GRPC, 7700 or 7701 is already in use; stop what uses it and retry" >&2
  exit 2
fi
TMP=$(mktemp -d /tmp/pushstorm-demo-grpc.XXXXXX)
RP= GS=
stop() {
  [ -n "$GS" ] && kill "$GS" 2>/dev/null && wait "$GS" 2>/dev/null || true
  [ -n "$RP" ] && kill "$RP" 2>/dev/null && wait "$RP" 2>/dev/null || true
  rm -rf "$TMP"
}
trap stop EXIT
# wait_listening LOG PID WHAT
wait_listening() {
  for _ in $(seq 100); do grep -q listening "$1" && return 0; kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
  cat "$1" >&2; echo "demo: $3 did not start" >&2; exit 2
}
bin/refpush --port "$PORT" --quiet >"$TMP/refpush.log" 2>&1 &
RP=$!
wait_listening "$TMP/refpush.log" "$RP" refpush
/usr/bin/python3 tests/servers/grpc/server.py --port "$GRPC" --refpush "127.0.0.1:$PORT" \
  --stats "$TMP/grpc-stats.json" >"$TMP/grpc.log" 2>&1 &
GS=$!
wait_listening "$TMP/grpc.log" "$GS" "the gRPC server"
start=$(date +%s%N)
rc=0
bin/pushstorm run plans/demo_grpc.yaml --db "$DB" --local-agents 2 --agent-threads 1 \
  --listen tcp://127.0.0.1:7700 || rc=$?
echo
echo "refpush saw: $(curl -s http://127.0.0.1:$PORT/stats)"
kill "$GS"; wait "$GS" 2>/dev/null || true; GS=
echo "gRPC server saw: $(cat "$TMP/grpc-stats.json" 2>/dev/null)"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
printf 'demo finished in %d.%01ds (exit %d); results in %s (see: bin/pushstorm runs --db %s)\n' \
  $((ms / 1000)) $((ms % 1000 / 100)) "$rc" "$DB" "$DB"
exit $rc
