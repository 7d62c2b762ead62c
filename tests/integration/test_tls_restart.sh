# TLS session resumption across a restart of the server (issue 10): a wss
# campaign against refpush holds 100 connections; refpush is killed (-9) in
# the middle of the hold and started again on the same port, and every
# connection comes back.
#  1. with --tls-ticket-key FILE on both refpush processes, the tickets the
#     first one issued open sessions on the second: the first connects were
#     full handshakes, every reconnection resumed.
#  2. without it (a random ticket key per process) the old tickets no longer
#     decrypt: the reconnections are full handshakes. Not every one of them:
#     the agent keeps one session per target, so a reconnection that starts
#     after the first ones got the new process's ticket resumes with that
#     (measured: 98/2 and 84/16 full/resumed of 100). What is certain is
#     that the first reconnection was full and that not all resumed.
#  3. refpush refuses a key file of the wrong size or readable by others.
source "$(dirname "$0")/lib.sh"
clean() { ! grep -q "Sanitizer" "$1" || fail "sanitizer report in $1"; }
need_build
need_dep openssl

ossl() { openssl "$@" >>"$T/openssl.log" 2>&1 || { cat "$T/openssl.log" >&2; fail "openssl $1"; }; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" \
  -out "$T/srv.pem" -days 2 -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1" \
  -addext "basicConstraints=critical,CA:TRUE"
(umask 077 && openssl rand 80 >"$T/ticket.key")
N=100

# pass NAME [REFPUSH ARGS...]: the campaign, with refpush killed and restarted
# once all N are up; leaves RUN and the controller's output in $T/NAME.out.
pass() {
  local name=$1; shift
  WS=$(free_port); CTL=$(free_port); DB=$T/$name.db
  local tls=(--tls-cert "$T/srv.pem" --tls-key "$T/srv.key" "$@")
  start_refpush "$WS" "${tls[@]}"
  cat >"$T/$name.yaml" <<YAML
name: tls-restart-$name
tls: {ca_file: srv.pem}
targets:
  - {ws: "wss://127.0.0.1:$WS/ws?uid={conn}", push: "https://127.0.0.1:$WS/push?uid={conn}"}
agents: {expect: 1, wait: 20s}
connections: {total: $N}
reconnect: {min: 100ms, max: 300ms}
phases:
  - ramp: {to: $N, rate: 500/s}
  - hold: 6s
  - wait_reconnect: {fraction: 100%, within: 15s}
YAML
  ctl_start "$T/$name.yaml" --local-agents 1
  local up=0
  for _ in $(seq 100); do
    up=$(curl -sf --cacert "$T/srv.pem" "https://127.0.0.1:$WS/stats" |
         python3 -c "import json,sys; print(json.load(sys.stdin)['connections_total'])" || echo 0)
    [ "$up" -ge "$N" ] && break
    sleep 0.1
  done
  expect_eq "$name: connections up before the restart" "$N" "$up"
  kill -9 "$RP"; wait "$RP" 2>/dev/null || true
  start_refpush "$WS" "${tls[@]}"
  ctl_wait 0 "$name: run exit"
  mv "$T/run.out" "$T/$name.out"
  clean "$T/$name.out"
  last_run
  expect_eq "$name: every connection came back (two connects each)" "$((2 * N))" \
    "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND type=1")"
  expect_eq "$name: distinct connections" "$N" \
    "$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=1")"
  expect_eq "$name: the restarted refpush saw the reconnections" "$N" \
    "$(curl -sf --cacert "$T/srv.pem" "https://127.0.0.1:$WS/stats" |
       python3 -c "import json,sys; print(json.load(sys.stdin)['connections_total'])")"
  stop_pid "$RP"
}

# ---- 1. a shared ticket key: the reconnections resume
pass keyed --tls-ticket-key "$T/ticket.key"
expect_eq "keyed: full TLS handshakes = first connects" "$N" "$(fig tls_handshakes_full)"
expect_eq "keyed: resumed TLS handshakes = reconnections" "$N" "$(fig tls_handshakes_resumed)"
grep -q "^TLS           handshakes full $N, resumed $N$" "$T/keyed.out" ||
  fail "keyed: the summary lacks the handshakes line"

# ---- 2. a random key per process: the reconnections are full handshakes
pass random
FULL=$(fig tls_handshakes_full); RES=$(fig tls_handshakes_resumed)
expect_eq "random: handshakes = every connect" "$((2 * N))" "$((FULL + RES))"
[ "$FULL" -gt "$N" ] || fail "random: no reconnection was a full handshake ($FULL full)"
[ "$RES" -lt "$N" ] ||
  fail "random: $RES of $N reconnections resumed with a per-process ticket key"
echo "ok: random: reconnections full $((FULL - N)), resumed $RES (old tickets refused)"

# ---- 3. bad key files, refused before listening
P=$(free_port)
bad() { # bad WHAT FILE MESSAGE
  local rc=0
  "$BIN/refpush" --port "$P" --tls-cert "$T/srv.pem" --tls-key "$T/srv.key" \
    --tls-ticket-key "$2" >"$T/bad.log" 2>&1 || rc=$?
  expect_eq "$1: refpush exit" 2 "$rc"
  grep -qF -- "$3" "$T/bad.log" || { cat "$T/bad.log" >&2; fail "$1: no message \"$3\""; }
}
(umask 077 && openssl rand 48 >"$T/short.key")
cp "$T/ticket.key" "$T/open.key"; chmod 644 "$T/open.key"
bad "48 bytes" "$T/short.key" "48 bytes, expected 80"
bad "mode 644" "$T/open.key" "mode 644 lets group or others at the key"
bad "missing file" "$T/none.key" "none.key: No such file or directory"
rc=0; "$BIN/refpush" --port "$P" --tls-ticket-key "$T/ticket.key" >"$T/bad.log" 2>&1 || rc=$?
expect_eq "ticket key without TLS: refpush exit" 2 "$rc"
grep -q "has no effect without --tls-cert" "$T/bad.log" || fail "ticket key without TLS: no message"
echo "tls restart test passed"
