# Shared helpers for the integration tests: a private temp dir, free ports,
# refpush started and stopped by PID, assertions that print what they compared.
# Every process a test starts is recorded and stopped on exit, whatever happens.
#
# A test that runs campaigns against refpush on loopback starts with
# `campaign_setup NAME.db`, runs the controller with ctl_run (foreground) or
# ctl_start + ctl_wait (background, with agents started by agent_start), and
# reads the results with last_run, q and fig.
#
# Skips (exit 77) are for what this machine lacks (a tool, root), never for
# what the build should have made: under `make test` (PS_TEST_STRICT=1, set by
# tests/run-all.sh) a missing program fails the test.
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
    # a port (and its +1, the controller's data port) handed out earlier in this
    # script is taken even before its server starts listening
    if [ -n "${T:-}" ] && [ -f "$T/ports" ] &&
       grep -qx -e "$((p-1))" -e "$p" -e "$((p+1))" "$T/ports"; then continue; fi
    if ! ss -Htan "sport = :$p or sport = :$((p+1))" | grep -q .; then
      [ -n "${T:-}" ] && printf '%s\n' "$p" >>"$T/ports"
      echo "$p"; return
    fi
  done
  echo "no free port" >&2; return 1
}

# wait_ready PID TENTHS CHECK...: the wait of every server a test starts
# (here and in servers_*.sh): runs CHECK every 0.1 s until it succeeds, at most
# TENTHS times. Fails (1) at once when PID, the server, has exited, so that its
# log, which the caller prints, says why rather than a timeout later.
wait_ready() {
  local pid=$1 tenths=$2; shift 2
  for _ in $(seq "$tenths"); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# port_listens PORT: a socket listens on TCP PORT (a CHECK for wait_ready, for
# servers that do not say so in their log).
port_listens() { ss -Htln "sport = :$1" | grep -q .; }

# start_listening VAR LOG CMD...: runs CMD in the background with its output
# in LOG, records its PID in PIDS and in the variable VAR, and waits until LOG
# says "listening". Not called as $(...): the PID must stay a child of this
# shell (for cleanup, and for `wait` in stop_pid).
start_listening() {
  local var=$1 log=$2; shift 2
  "$@" >"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  printf -v "$var" %s "$pid"
  wait_ready "$pid" 100 grep -qs "listening" "$log" && return 0
  cat "$log" >&2; echo "did not start: $*" >&2; return 1
}

# start_refpush PORT [args...]: starts refpush (or $REFPUSH), waits until it listens, sets RP
# to its PID.
start_refpush() {
  local port=$1; shift
  start_listening RP "$T/refpush-$port.log" "${REFPUSH:-$BIN/refpush}" --port "$port" --quiet "$@"
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

fail() { echo "FAIL: $*" >&2; exit 1; }

skip() { echo "SKIP: $*"; exit 77; }

# need_build [FILE...]: the three programs (and FILEs) must have been built;
# a test run by hand on a partial build is skipped, under `make test` it fails.
need_build() {
  local f
  for f in "$BIN/pushstorm" "$BIN/refpush" "$BIN/pushstorm-agent" "$@"; do
    [ -x "$f" ] && continue
    [ -z "${PS_TEST_STRICT:-}" ] || fail "$f is not built (make test builds it)"
    skip "$f is not built"
  done
}

need_cmd() { command -v "$1" >/dev/null || skip "$1 is not installed"; }

# need_dep CMD: a tool scripts/install-deps.sh installs for the build; under
# `make test` (which runs that script first) its absence is a failure.
need_dep() {
  command -v "$1" >/dev/null && return
  [ -z "${PS_TEST_STRICT:-}" ] || fail "$1 is not installed (make test installs it)"
  skip "$1 is not installed (make deps installs it)"
}

# campaign_setup DBNAME: programs built; WS, refpush's port, with refpush (RP)
# listening on it; CTL, the controller's; DB=$T/DBNAME; TARGET, the plan's
# target entry for that refpush.
campaign_setup() {
  need_build
  WS=$(free_port); CTL=$(free_port)
  start_refpush "$WS"
  DB=$T/$1
  TARGET="{ws: \"ws://127.0.0.1:$WS/ws?uid={conn}\", push: \"http://127.0.0.1:$WS/push?uid={conn}\"}"
}

# ctl_run PLAN [ARGS...]: `pushstorm run PLAN` into $DB, controller on $CTL;
# its exit status in RC (the caller redirects its output).
ctl_run() {
  RC=0
  "$BIN/pushstorm" run "$1" --db "$DB" --listen "tcp://127.0.0.1:$CTL" "${@:2}" || RC=$?
}

# ctl_start PLAN [ARGS...]: the same in the background, output in $T/run.out;
# CP is its PID. ctl_wait WANT [WHAT]: waits for it, prints its output and
# expects exit status WANT.
ctl_start() {
  "$BIN/pushstorm" run "$1" --db "$DB" --listen "tcp://127.0.0.1:$CTL" "${@:2}" >"$T/run.out" 2>&1 &
  CP=$!; PIDS+=("$CP")
}
ctl_wait() {
  wait_rc "$CP"
  cat "$T/run.out"
  expect_eq "${2:-run exit}" "$1" "$RC"
}

# agent_start NAME [ARGS...]: an agent joining $CTL once, in the background,
# output in $T/agent-NAME.log; AP is its PID.
agent_start() {
  local name=$1; shift
  "$BIN/pushstorm-agent" --controller "tcp://127.0.0.1:$CTL" --name "$name" --once "$@" \
    >"$T/agent-$name.log" 2>&1 &
  AP=$!; PIDS+=("$AP")
}

wait_rc() { RC=0; wait "$1" || RC=$?; }   # wait_rc PID: its exit status in RC

# wait_out PATTERN [SECONDS]: waits (default 60 s) until the background run's
# output ($T/run.out) has a line matching PATTERN; fails showing it otherwise,
# at once when the run (CP) has ended without it.
wait_out() {
  local tenths=$(( ${2:-60} * 10 ))
  for _ in $(seq "$tenths"); do
    grep -q -- "$1" "$T/run.out" && return 0
    kill -0 "$CP" 2>/dev/null || break
    sleep 0.1
  done
  grep -q -- "$1" "$T/run.out" && return 0
  cat "$T/run.out" >&2; fail "no \"$1\" in the run's output (within ${2:-60} s, or before it ended)"
}

last_run() { RUN=$(q "SELECT max(id) FROM runs"); }

# expect_exact_delivery UNICAST CONNS BROADCASTS: the ledger of run $RUN says each of
# UNICAST unicast pushes was answered 200 and reached its own connection once and
# no other, each of BROADCASTS broadcasts reached CONNS connections once, and
# nothing was duplicated or lost.
expect_exact_delivery() {
  local bc
  bc=$(for _ in $(seq "$3"); do printf '%s ' "$2"; done); bc=${bc% }
  expect_eq "unicast pushes answered 200" "$1" \
    "$(q "SELECT count(*) FROM pushes WHERE run_id=$RUN AND mode='unicast' AND http_status=200")"
  expect_eq "unicast delivered exactly once to its uid" "$1" "$(q "
    SELECT count(*) FROM pushes p WHERE run_id=$RUN AND mode='unicast' AND
     (SELECT count(*) FROM deliveries d WHERE d.run_id=p.run_id AND d.msg_id=p.msg_id AND d.conn=p.conn)=1 AND
     (SELECT count(*) FROM deliveries d WHERE d.run_id=p.run_id AND d.msg_id=p.msg_id)=1")"
  expect_eq "broadcasts reached every connection once" "$bc" "$(q "
    SELECT group_concat(n, ' ') FROM (SELECT count(DISTINCT d.conn) AS n FROM pushes p JOIN deliveries d
     ON d.run_id=p.run_id AND d.msg_id=p.msg_id WHERE p.run_id=$RUN AND p.mode='broadcast' GROUP BY p.msg_id)")"
  expect_eq "duplicates" 0 "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN AND duplicate=1")"
  expect_eq "lost" 0 "$(q "SELECT sum(lost) FROM pushes WHERE run_id=$RUN")"
}

fig() { q "SELECT CAST(value AS INT) FROM figures WHERE run_id=$RUN AND name='$1'"; }
