# The hostile-server tests, part two (part one: test_hostile.sh): bad input
# after the upgrade, while a session script runs, and TLS servers with bad
# certificates, all in ONE run next to well-behaved connections, so that what
# is asserted is also that the agent is unharmed by the rest.
#
# bin/hostile serves the WebSocket targets (its paths: tests/hostile/behave.c);
# openssl s_server (not ours) serves the TLS ones, one per bad certificate made
# here: self-signed, signed by a CA the plan does not trust, for another host
# name (reached by name: 62, and by IP address: 64), expired and not yet valid
# (signed with `openssl ca` and dates in the past, or the future).
#
# The plan-wide session: wait for the welcome (others ignored), send a login,
# expect hostile's ack of it (others fail). Targets with their own script
# refuse the first frame that is not the welcome (others: fail) or wait only
# 1 s. Every connection of a target must end with the named reason and the
# session step (failed events: aux = step; tls_verify: aux = X509_V_ERR_*), the
# ready targets must stay up through the hold and answer every ping, and the
# sanitized agent and controller, and the sanitized hostile, print nothing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/hostile_lib.sh"
HOSTILE=${HOSTILE_BIN:-$ROOT/bin/hostile}
need_build "$HOSTILE"
need_dep openssl

# ---- certificates
ossl() { openssl "$@" >>"$T/openssl.log" 2>&1 || { cat "$T/openssl.log" >&2; fail "openssl $1"; }; }
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
ossl req -x509 "${ec[@]}" -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 -subj "/CN=hostile test CA"
ossl req -x509 "${ec[@]}" -keyout "$T/other.key" -out "$T/other.pem" -days 2 -subj "/CN=untrusted CA"
ossl req -x509 "${ec[@]}" -keyout "$T/self.key" -out "$T/self.pem" -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost"
mkdir -p "$T/ca.d"; : >"$T/ca.d/index.txt"; echo 01 >"$T/ca.d/serial"
leaf() { # leaf NAME ISSUER SAN [openssl ca date options]: a server certificate NAME.pem
  local name=$1 issuer=$2 san=$3; shift 3
  cat >"$T/$name.cnf" <<CNF
[ca]
default_ca = test
[test]
dir = $T/ca.d
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
default_md = sha256
default_days = 2
policy = any
x509_extensions = leaf
[any]
commonName = supplied
[leaf]
subjectAltName = $san
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
CNF
  ossl req "${ec[@]}" -keyout "$T/$name.key" -out "$T/$name.csr" -subj "/CN=$name"
  ossl ca -batch -config "$T/$name.cnf" -cert "$T/$issuer.pem" -keyfile "$T/$issuer.key" \
    -in "$T/$name.csr" -out "$T/$name.pem" "$@"
}
leaf unknown other "IP:127.0.0.1,DNS:localhost"
leaf wrongname ca "DNS:push.example.com"
leaf expired ca "IP:127.0.0.1,DNS:localhost" -startdate 20200101000000Z -enddate 20200201000000Z
leaf notyet ca "IP:127.0.0.1,DNS:localhost" -startdate 20990101000000Z -enddate 20991231000000Z

# ---- servers
HP=$(free_port); CTL=$(free_port)
start_listening HS "$T/hostile.log" "$HOSTILE" --port "$HP" --verbose
fds_idle=$(ls "/proc/$HS/fd" | wc -l)
declare -A TLSPORT
for cert in self unknown wrongname expired notyet; do
  port=$(free_port); TLSPORT[$cert]=$port
  # -www: s_server answers by itself, nothing is read from stdin
  openssl s_server -accept "127.0.0.1:$port" -cert "$T/$cert.pem" -key "$T/$cert.key" -www \
    </dev/null >"$T/s_server-$cert.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 100); do grep -q ACCEPT "$T/s_server-$cert.log" && break; sleep 0.1; done
  grep -q ACCEPT "$T/s_server-$cert.log" || { cat "$T/s_server-$cert.log" >&2; fail "s_server $cert"; }
done

# ---- one target per case: PATH|own session (or "")|expected end TYPE:REASON:AUX
U="ws://127.0.0.1:$HP"
OWN_FAIL='{steps: [{expect: {json: {type: welcome}}, others: fail}]}'
CASES=(
  "$U/welcome||ready"
  "$U/silent|{steps: [{expect: {json: {type: welcome}}, timeout: 1s}]}|failed:session_timeout:0"
  "$U/junk||ready"
  "$U/junk|$OWN_FAIL|failed:session_mismatch:0"
  "$U/huge||ready"
  "$U/huge|$OWN_FAIL|failed:session_mismatch:0"
  "$U/deepjson||ready"
  "$U/deepjson|$OWN_FAIL|failed:session_mismatch:0"
  "$U/badutf8||failed:bad_utf8:0"
  "$U/oversize||failed:too_big:0"
  "$U/welcomeclose||failed:server_close:2"
  "$U/rstmidframe||failed:reset:0"
  "$U/close1011||failed:server_close:0"
  "wss://127.0.0.1:${TLSPORT[self]}/ws||failed:tls_verify:18"
  "wss://127.0.0.1:${TLSPORT[unknown]}/ws||failed:tls_verify:20"
  "wss://localhost:${TLSPORT[wrongname]}/ws||failed:tls_verify:62"
  "wss://127.0.0.1:${TLSPORT[wrongname]}/ws||failed:tls_verify:64"
  "wss://127.0.0.1:${TLSPORT[expired]}/ws||failed:tls_verify:10"
  "wss://127.0.0.1:${TLSPORT[notyet]}/ws||failed:tls_verify:9"
)
N=${#CASES[@]}; TOTAL=$((4 * N))
DB=$T/hostile-session.db
{
  echo "name: it-hostile-session"
  echo "tls: {ca_file: $T/ca.pem}"
  echo "targets:"
  for c in "${CASES[@]}"; do
    IFS='|' read -r url own _ <<<"$c"
    echo "  - ws: \"$url?uid={conn}\""
    echo "    push: \"http://127.0.0.1:$HP/push?uid={conn}\""
    [ -z "$own" ] || echo "    session: $own"
  done
  cat <<YAML
agents: {expect: 1, wait: 20s}
connections: {total: $TOTAL}
heartbeat: {ws_ping: 1s, pong_timeout: 2s}
session:
  steps:
    - {expect: {json: {type: welcome}}, timeout: 3s}
    - send: '{"type":"login","conn":{conn}}'
    - {expect: {regex: '^ack:\{"type":"login","conn":[0-9]+\}$'}, others: fail}
phases:
  - ramp: {to: $TOTAL, rate: 200/s, timeout: 20s}
  - hold: 3s
YAML
} >"$T/plan.yaml"

ctl_run "$T/plan.yaml" --local-agents 1 --agent-threads 1 >"$T/run.out" 2>"$T/run.err"
cat "$T/run.out"
last_run

check "controller exit code" 0 "$RC"
check "run status" pass "$(q "SELECT status FROM runs WHERE id=$RUN")"
check "connections attempted" "$TOTAL" "$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN")"
HOLD_END=$(q "SELECT ended_us FROM phases WHERE run_id=$RUN AND kind='hold'")
READY=()
for k in $(seq 0 $((N - 1))); do
  IFS='|' read -r url _ want <<<"${CASES[$k]}"
  what="${url#*127.0.0.1:}"
  conns="$k,$((k + N)),$((k + 2 * N)),$((k + 3 * N))"
  ready=$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=9 AND conn IN ($conns)")
  if [ "$want" = ready ]; then
    READY+=("$conns")
    check "$what (target $k): connections ready" 4 "$ready"
    # up until the stop: the only end is our own close at the stop
    check "$what (target $k): ends before the end of the hold" 0 "$(q "SELECT count(*) FROM conn_events
      WHERE run_id=$RUN AND conn IN ($conns) AND type IN (2,3) AND ts_us < ${HOLD_END:-0}")"
    want='closed:client_close:1000'
  else
    check "$what (target $k): connections ready" 0 "$ready"
  fi
  matched=0
  for c in ${conns//,/ }; do
    e=$(ends "$c")
    if [ "$e" = "$want" ]; then matched=$((matched + 1))
    else echo "  $what conn $c ended with '${e:-nothing}', expected $want" >&2; fi
  done
  check "$what (target $k): connections ending as $want" 4 "$matched"
done
up=$(IFS=,; echo "${READY[*]}")
check "missed pongs on the ready connections" 0 \
  "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND conn IN ($up) AND type=5")"
check "pongs received" yes "$(q "SELECT CASE WHEN max(pongs) > 0 THEN 'yes' ELSE 'no' END FROM samples
  WHERE run_id=$RUN")"
check "session_ready figure" $((4 * ${#READY[@]})) "$(fig session_ready)"
# the summary's sub-reasons; a name and an IP address mismatch are both "hostname"
declare -A CAUSES=([self_signed]=4 [unknown_ca]=4 [hostname]=8 [expired]=4 [not_yet_valid]=4)
for cause in "${!CAUSES[@]}"; do
  grep -Eq "^closes/fails .*tls_verify_$cause ${CAUSES[$cause]}( |,|$)" "$T/run.out" && r=yes || r=no
  check "summary counts tls_verify_$cause ${CAUSES[$cause]}" yes "$r"
done
check "hostile answered the logins of the ready connections" yes \
  "$([ "$(grep -c 'echo ack:{"type":"login"' "$T/hostile.log")" -ge $((4 * ${#READY[@]})) ] && echo yes || echo no)"

hostile_unharmed
hostile_finish "hostile session"
