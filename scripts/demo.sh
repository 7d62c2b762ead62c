#!/usr/bin/env bash
# `make demo`: a local campaign on this machine. Starts refpush on the plan's
# port, runs plans/demo.yaml with 2 local agents, prints progress and the
# summary, keeps the results in demo.db, and stops every process it started.
# `make demo PROTOCOL=NAME` runs the same campaign against a real server of that
# protocol instead (scripts/demo_NAME.sh: socketio, mqtt, stomp, grpc, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOCOL=${PROTOCOL:-websocket}
if [ "$PROTOCOL" != websocket ]; then
  [ -f "scripts/demo_$PROTOCOL.sh" ] || {
    echo "demo: no demo for PROTOCOL=$PROTOCOL (have: websocket$(ls scripts/demo_*.sh 2>/dev/null | sed 's|scripts/demo_\(.*\)\.sh| \1|' | tr -d '\n'))" >&2
    exit 2
  }
  exec bash "scripts/demo_$PROTOCOL.sh"
fi
PORT=8080
[ -x bin/pushstorm-agent ] || { echo "demo: bin/pushstorm-agent is not built; run make first" >&2; exit 2; }
DB=${DB:-demo.db}
if ss -Htln "sport = :$PORT or sport = :7700 or sport = :7701" | grep -q .; then
  echo "demo: port $PORT, 7700 or 7701 is already in use; stop what uses it and retry" >&2
  exit 2
fi
bin/refpush --port "$PORT" --quiet >refpush-demo.log 2>&1 &
RP=$!
trap 'kill $RP 2>/dev/null; wait $RP 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q listening refpush-demo.log && break; sleep 0.1; done
grep -q listening refpush-demo.log || { cat refpush-demo.log; exit 2; }
start=$(date +%s%N)
rc=0
bin/pushstorm run plans/demo.yaml --db "$DB" --local-agents 2 --agent-threads 1 \
  --listen tcp://127.0.0.1:7700 || rc=$?
echo
echo "refpush saw: $(curl -s http://127.0.0.1:$PORT/stats)"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
printf 'demo finished in %d.%01ds (exit %d); results in %s (see: bin/pushstorm runs --db %s)\n' \
  $((ms / 1000)) $((ms % 1000 / 100)) "$rc" "$DB" "$DB"
rm -f refpush-demo.log
exit $rc
