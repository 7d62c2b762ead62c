# Shared helpers for the integration tests: a private temp dir, free ports,
# refpush started and stopped by PID, assertions that print what they compared.
# Every process a test starts is recorded and stopped on exit, whatever happens.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${PUSHSTORM_BIN:-$ROOT/bin/san}
T=$(mktemp -d /tmp/pushstorm-it.XXXXXX)
PIDS=()
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}

cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# A port with this one and the next one free (the controller uses two).
free_port() {
  local p
  for _ in $(seq 50); do
    # below the ephemeral range (32768+), so that no outgoing connection of an
    # earlier test holds the port; any socket state counts, not just listeners
    p=$((20000 + RANDOM % 12000))
    if ! ss -Htan "sport = :$p or sport = :$((p+1))" | grep -q .; then echo "$p"; return; fi
  done
  echo "no free port" >&2; return 1
}

# start_refpush PORT [args...]: starts refpush (or $REFPUSH), waits until it listens, sets RP
# to its PID (not through $(...): the PID must stay a child of this shell).
start_refpush() {
  local port=$1; shift
  "${REFPUSH:-$BIN/refpush}" --port "$port" --quiet "$@" >"$T/refpush-$port.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  RP=$pid
  for _ in $(seq 100); do
    grep -q "listening" "$T/refpush-$port.log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$T/refpush-$port.log" >&2; return 1; }
    sleep 0.1
  done
  echo "refpush did not start" >&2; return 1
}

# stop_pid PID: SIGTERM and wait; fails if it does not exit cleanly (ASan reports
# make the exit code non-zero).
stop_pid() {
  kill -TERM "$1"
  local rc=0
  wait "$1" || rc=$?
  return $rc
}

stats_field() { # stats_field PORT FIELD
  curl -sf "http://127.0.0.1:$1/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}

q() { sqlite3 -batch -noheader "$DB" "$1"; }

expect_eq() { # expect_eq WHAT EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then echo "FAIL: $1: expected $2, got $3" >&2; exit 1; fi
  echo "ok: $1 = $3"
}

# Tests that run campaigns need the agent; until it exists they are skipped
# (exit 77), and the runner counts them as skipped, never as passed.
need_agent() {
  [ -x "$BIN/pushstorm-agent" ] || { echo "SKIP: $BIN/pushstorm-agent is not built (agent/ has no sources yet)"; exit 77; }
}
