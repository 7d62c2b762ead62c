# The seed's service end to end: refpush in strict mode (docs/refpush.md) - a
# welcome of its own, a login with a per-user token within a timeout, its JSON
# heartbeat with a server timestamp, and redelivery of every push not acked in
# time - against a plan that does all of it with no code of its own:
#   session   expect the welcome, capture its session id, send the login with
#             the user's token from the CSV column (and the captured id), expect
#             the login_ok (anything else fails the connection)
#   heartbeat {"type":"ping","seq":N}, the pong matched by a regex
#   acks      {"type":"ack","id":K} with refpush's own id K, read from each push
#             (session.ack_id)
# Three campaigns:
#   1. ws,  acks by JSON path:  every connection ready, every message delivered
#      exactly once, refpush redelivered nothing and saw an ack for each, and the
#      acks the agent sent equal the deliveries in total and per connection
#      (the acks events), shown in the summary, JSON and HTML reports
#   2. wss (refpush --tls-cert, a throwaway CA), acks by regex: the same
#   3. ws,  acks off: each message comes 1 + max_redeliver times, and the
#      ledger's duplicates are exactly refpush's redeliveries (the hold outlasts
#      (max_redeliver + 1) x ack_timeout so every redelivery happens in the run)
source "$(dirname "$0")/lib.sh"
need_build
need_dep openssl

N=60; UNI=60; BC=2; SECRET=s3cret
DELIVERIES=$((UNI + BC * N))
CTL=$(free_port)

# ---- a throwaway CA and a server certificate for 127.0.0.1
ossl() { openssl "$@" >>"$T/openssl.log" 2>&1 || { cat "$T/openssl.log" >&2; fail "openssl $1"; }; }
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
ossl req -x509 "${ec[@]}" -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 -subj "/CN=strict test CA"
ossl req "${ec[@]}" -keyout "$T/srv.key" -out "$T/srv.csr" -subj "/CN=127.0.0.1"
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$T/srv.ext"
ossl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
  -out "$T/srv.pem" -days 2 -extfile "$T/srv.ext"

# ---- the users: uids that are not connection numbers, each with its token
python3 - "$T/users.csv" "$N" "$SECRET" <<'PY'
import sys
path, n, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write("user_id,token\n")
    for i in range(n):
        uid = 5000 + 37 * i
        f.write("%d,%s-%d\n" % (uid, secret, uid))
PY

# plan SCHEME WS API ACKS NAME: the campaign's plan (ACKS: the session's ack
# lines, or nothing for acks off)
plan() {
  cat <<YAML
name: $5
targets:
  - {ws: "$1://127.0.0.1:$2/ws?uid={csv.user_id}", push: "http://127.0.0.1:$3/push?uid={csv.user_id}",
     broadcast: "http://127.0.0.1:$3/broadcast"}
tls: {ca_file: ca.pem}
agents: {expect: 1, wait: 20s}
connections: {total: $N, data: users.csv}
session:
  vars_bytes: 32
$4
  steps:
    - expect: {json: {type: welcome, hello.v: 2}}
      timeout: 5s
      capture: {sid: {json: hello.session}}
    - send: '{"type":"login","token":"{csv.token}","session":"{sid}"}'
    - expect: {json: {type: login_ok}}
      others: fail
      timeout: 5s
heartbeat:
  ws_ping: 30s
  text: '{"type":"ping","seq":{seq}}'
  expect: {regex: '^\{"type":"pong","seq":[0-9]+,"ts":[0-9]{13}\}$'}
  interval: 400ms
  timeout: 3s
phases:
  - ramp: {to: $N, rate: 600/s}
  - push: {mode: unicast, count: $UNI, rate: 300/s, grace: 4s}
  - push: {mode: broadcast, count: $BC, rate: 10/s, grace: 4s}
  - hold: $6
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
YAML
}

# strict_refpush WS API ACK_TIMEOUT [args...]: refpush strict, pushes and /stats on API
strict_refpush() {
  local ws=$1 api=$2 to=$3; shift 3
  start_refpush "$ws" --http-port "$api" --strict \
    --welcome '{"type":"welcome","hello":{"v":2,"session":"{session}","uid":{uid}}}' \
    --require-login --login-secret "$SECRET" --login-timeout 5s --heartbeat-json \
    --require-ack --ack-timeout "$to" --max-redeliver 2 "$@"
}

# run_pass LABEL PLAN: runs the campaign and checks what holds with or without acks
run_pass() {
  ctl_run "$2" --local-agents 1 --agent-threads 2 >"$T/$1.out" 2>&1
  cat "$T/$1.out"
  expect_eq "$1: exit status" 0 "$RC"
  last_run
  expect_eq "$1: connections ready (session passed)" "$N" "$(fig session_ready)"
  expect_eq "$1: connections opened" "$N" "$(fig conn_opened)"
  expect_eq "$1: failed connection events" 0 "$(fig conn_failed_events)"
  expect_eq "$1: refpush welcomes" "$N" "$(stats_field "$API" welcomes)"
  expect_eq "$1: refpush logins (per-user tokens)" "$N" "$(stats_field "$API" logins)"
  expect_eq "$1: refpush logins rejected or timed out" "0 0" \
    "$(stats_field "$API" login_rejected) $(stats_field "$API" login_timeouts)"
  expect_eq "$1: refpush client_invalid" 0 "$(stats_field "$API" client_invalid)"
  expect_eq "$1: heartbeats missed" 0 "$(q "SELECT max(hb_missed) FROM samples WHERE run_id=$RUN")"
  [ "$(stats_field "$API" heartbeats)" -gt 0 ] || fail "$1: refpush saw no JSON heartbeat"
  [ "$(q "SELECT count(*) FROM samples WHERE run_id=$RUN AND hb_rtt_p50_us > 0")" -gt 0 ] ||
    fail "$1: no app heartbeat round trip was measured (the pong regex never matched)"
  expect_eq "$1: lost" 0 "$(fig push_lost)"
  expect_eq "$1: delivered" "$DELIVERIES" "$(fig push_delivered)"
  echo "figure: $1: session ready p50 $(fig session_ready_p50_us) us, p99 $(fig session_ready_p99_us) us"
}

# acks_on_checks LABEL: exactly once, and the acks counted everywhere
acks_on_checks() {
  expect_exact_delivery "$UNI" "$N" "$BC"
  expect_eq "$1: refpush redelivered / expired / unacked / unknown" "0 0 0 0" \
    "$(stats_field "$API" redelivered) $(stats_field "$API" ack_expired) $(stats_field "$API" unacked) $(stats_field "$API" acks_unknown)"
  expect_eq "$1: refpush acked = deliveries" "$DELIVERIES" "$(stats_field "$API" acked)"
  expect_eq "$1: acks sent = deliveries" "$DELIVERIES" "$(fig acks_sent)"
  expect_eq "$1: acks dropped" 0 "$(fig acks_dropped)"
  expect_eq "$1: acks from the connections' acks events" "$DELIVERIES" "$(fig acks_conn_sum)"
  expect_eq "$1: connections that acked" "$N" "$(fig acks_conns)"
  expect_eq "$1: per connection, acks sent = its deliveries (connections that differ)" 0 "$(q "
    SELECT count(*) FROM (SELECT conn, count(*) AS n FROM deliveries WHERE run_id=$RUN GROUP BY conn) d
     LEFT JOIN (SELECT conn, sum(val) AS a FROM conn_events WHERE run_id=$RUN AND type=10 GROUP BY conn) e
     ON e.conn = d.conn WHERE e.a IS NULL OR e.a != d.n")"
  local lo hi
  lo=$(q "SELECT min(n) FROM (SELECT count(*) AS n FROM deliveries WHERE run_id=$RUN GROUP BY conn)")
  hi=$(q "SELECT max(n) FROM (SELECT count(*) AS n FROM deliveries WHERE run_id=$RUN GROUP BY conn)")
  grep -q "acks          sent $DELIVERIES, dropped 0; by $N connections, $lo to $hi each" "$T/$1.out" ||
    fail "$1: the summary has no acks line with the per-connection counts"
  "$BIN/pushstorm" report "$RUN" --db "$DB" --json "$T/$1.json" --html "$T/$1.html" 2>/dev/null ||
    fail "$1: report failed"
  python3 - "$T/$1.json" "$DELIVERIES" "$N" <<'PY' || fail "$1: the JSON report lacks the acks"
import json, sys
f = json.load(open(sys.argv[1]))["figures"]
assert f["acks_sent"] == int(sys.argv[2]) and f["acks_conns"] == int(sys.argv[3]), f
PY
  grep -q "acks sent" "$T/$1.html" && grep -q "acks per connection" "$T/$1.html" ||
    fail "$1: the HTML report shows no acks"
  echo "ok: $1: acks in the summary, JSON and HTML reports"
}

# ---- 1. ws, acks of refpush's own id by JSON path
WS=$(free_port); API=$(free_port); DB=$T/strict.db
strict_refpush "$WS" "$API" 1s
plan ws "$WS" "$API" "  ack: '{\"type\":\"ack\",\"id\":{msg_id}}'
  ack_id: {json: id}" it-strict-ws 1200ms >"$T/ws.yaml"
run_pass ws "$T/ws.yaml"
acks_on_checks ws
stop_pid "$RP" || fail "refpush (ws) did not stop cleanly"

# ---- 2. wss, the same acks by regex
WS=$(free_port); API=$(free_port)
strict_refpush "$WS" "$API" 1s --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
grep -q "listening on wss://" "$T/refpush-$WS.log" || fail "refpush does not say wss"
plan wss "$WS" "$API" "  ack: '{\"type\":\"ack\",\"id\":{msg_id}}'
  ack_id: {regex: '\"id\":([0-9]+)'}" it-strict-wss 1200ms >"$T/wss.yaml"
run_pass wss "$T/wss.yaml"
acks_on_checks wss
stop_pid "$RP" || fail "refpush (wss) did not stop cleanly"

# ---- 3. ws, acks off: (2 + 1) x 300ms = 900ms of redeliveries, held 1500ms
WS=$(free_port); API=$(free_port)
strict_refpush "$WS" "$API" 300ms
plan ws "$WS" "$API" "" it-strict-noack 1500ms >"$T/noack.yaml"
run_pass noack "$T/noack.yaml"
expect_eq "noack: refpush redelivered every message twice" $((2 * DELIVERIES)) \
  "$(stats_field "$API" redelivered)"
expect_eq "noack: ledger duplicates = refpush's redeliveries" "$(stats_field "$API" redelivered)" \
  "$(fig push_duplicates)"
expect_eq "noack: refpush acked nothing" 0 "$(stats_field "$API" acked)"
expect_eq "noack: acks sent" 0 "$(fig acks_sent)"
stop_pid "$RP" || fail "refpush (noack) did not stop cleanly"
echo "strict campaign test passed"
