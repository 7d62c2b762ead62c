# wss and https end to end, with throwaway certificates made here by openssl:
# a test CA signs an ECDSA P-256 server certificate for 127.0.0.1/localhost.
#  1. refpush --tls-cert: a campaign over wss with pushes over https, both
#     trusting the test CA through the plan's tls block: every connection up,
#     every push delivered once; then half of them are closed and reconnect:
#     the first connects were full TLS handshakes, every reconnection resumed
#     (session resumption), and the summary says so.
#  2. one run, one target per failure: a CA that did not sign the server
#     (tls_verify, unknown CA), a server name the certificate does not carry
#     (tls_verify, hostname), a plain-HTTP port (tls_handshake); and an
#     insecure target that connects, which the summary reports.
#  3. nginx from Debian (not ours) terminating TLS in front of a plain refpush,
#     WebSocket upgrade proxied: wss and https through it, reconnections
#     resumed with nginx's own session tickets; and a second nginx
#     server speaking TLS 1.2 only and requiring a client certificate: the
#     plan's cert/key get through (mTLS), no certificate is nginx's 400, and
#     min_version 1.3 is refused with a TLS alert (tls_alert).
source "$(dirname "$0")/lib.sh"
# the sanitized agents run under the controller: their reports land in its output
clean() { ! grep -q "Sanitizer" "$1" || fail "sanitizer report in $1"; }
need_build
need_dep openssl
need_dep nginx

# ---- certificates
ossl() { openssl "$@" >>"$T/openssl.log" 2>&1 || { cat "$T/openssl.log" >&2; fail "openssl $1"; }; }
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
ossl req -x509 "${ec[@]}" -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 -subj "/CN=pushstorm test CA"
ossl req -x509 "${ec[@]}" -keyout "$T/other-ca.key" -out "$T/other-ca.pem" -days 2 \
  -subj "/CN=some other CA"
ossl req "${ec[@]}" -keyout "$T/srv.key" -out "$T/srv.csr" -subj "/CN=localhost"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
  >"$T/srv.ext"
ossl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
  -out "$T/srv.pem" -days 2 -extfile "$T/srv.ext"
ossl req "${ec[@]}" -keyout "$T/client.key" -out "$T/client.csr" -subj "/CN=pushstorm agent"
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >"$T/client.ext"
ossl x509 -req -in "$T/client.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
  -out "$T/client.pem" -days 2 -extfile "$T/client.ext"

WS=$(free_port); API=$(free_port); CTL=$(free_port)
start_refpush "$WS" --http-port "$API" --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
grep -q "listening on wss://" "$T/refpush-$WS.log" || fail "refpush does not say wss"
DB=$T/tls.db
stats() { curl -sf --cacert "$T/ca.pem" "https://127.0.0.1:$1/stats" |
          python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }

# Per target of the last run (target = conn mod NT): each connection's terminal
# event as reason:aux, the failure events, the connections that came up.
ends() { q "SELECT DISTINCT r.name || ':' || e.aux FROM conn_events e JOIN reasons r ON r.reason=e.val
            WHERE e.run_id=$RUN AND e.type=2 AND e.conn % $NT = $1"; }
fails() { q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND type=2 AND conn % $NT = $1"; }
ups() { q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=1 AND conn % $NT = $1"; }

# The last run's TLS handshakes: the first connects full, every reconnection
# (a connected event beyond the first of its connection) resumed.
# Sets UPS: every connect of the run.
resumed() {
  local first=$1 out=$2
  UPS=$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND type=1")
  expect_eq "$3: full TLS handshakes = first connects" "$first" "$(fig tls_handshakes_full)"
  [ "$UPS" -gt "$first" ] || fail "$3: nothing reconnected ($UPS connects)"
  expect_eq "$3: resumed TLS handshakes = reconnections" "$((UPS - first))" "$(fig tls_handshakes_resumed)"
  grep -q "^TLS           handshakes full $first, resumed $((UPS - first))$" "$out" ||
    fail "$3: the summary lacks the handshakes line"
}

# ---- 1. wss + https, CA from the plan
cat >"$T/ok.yaml" <<YAML
name: tls-ok
tls: {ca_file: ca.pem, min_version: 1.2}
targets:
  - {ws: "wss://127.0.0.1:$WS/ws?uid={conn}", push: "https://127.0.0.1:$WS/push?uid={conn}"}
  - {ws: "wss://localhost:$WS/ws?uid={conn}", push: "https://localhost:$WS/push?uid={conn}",
     broadcast: "https://127.0.0.1:$WS/broadcast"}
agents: {expect: 1, wait: 20s}
connections: {total: 200}
heartbeat: {ws_ping: 1s, pong_timeout: 2s}
reconnect: {min: 100ms, max: 300ms}
phases:
  - ramp: {to: 200, rate: 400/s}
  - hold: 1s
  - push: {mode: unicast, rate: 200/s, count: 200, body: '{"id":"{msg}"}'}
  - push: {mode: broadcast, count: 1}
  - disconnect: {fraction: 50%}
  - wait_reconnect: {fraction: 100%, within: 10s}
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
YAML
ctl_run "$T/ok.yaml" --local-agents 1 --agent-threads 2 >"$T/ok.out" 2>&1
cat "$T/ok.out"
expect_eq "wss run exit" 0 "$RC"
clean "$T/ok.out"
last_run
expect_eq "wss connections opened" 200 \
  "$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=1")"
expect_eq "wss failures" 0 "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND type=2")"
expect_eq "https pushes answered 200" 200 \
  "$(q "SELECT count(*) FROM pushes WHERE run_id=$RUN AND mode='unicast' AND http_status=200")"
expect_eq "unicast delivered exactly once to its uid" 200 "$(q "
  SELECT count(*) FROM pushes p WHERE run_id=$RUN AND mode='unicast' AND
   (SELECT count(*) FROM deliveries d WHERE d.run_id=p.run_id AND d.msg_id=p.msg_id AND d.conn=p.conn)=1")"
expect_eq "deliveries (200 unicast + 200 broadcast)" 400 \
  "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN AND duplicate=0")"
expect_eq "lost" 0 "$(q "SELECT sum(lost) FROM pushes WHERE run_id=$RUN")"
resumed 200 "$T/ok.out" "refpush"
expect_eq "refpush saw the TLS connections (200 and the reconnections)" "$UPS" \
  "$(stats "$WS" connections_total)"
grep -q "TLS INSECURE" "$T/ok.out" && fail "a verified run is reported insecure"
"$BIN/pushstorm" report "$RUN" --db "$DB" --json "$T/ok.json" >/dev/null 2>&1 ||
  fail "report --json failed"
grep -q '"tls_handshakes_resumed"' "$T/ok.json" || fail "the JSON report lacks tls_handshakes_resumed"

# ---- 2. one target per failure, and one insecure
cat >"$T/bad.yaml" <<YAML
name: tls-bad
tls: {ca_file: $T/ca.pem}
targets:
  - {ws: "wss://127.0.0.1:$WS/ws?uid={conn}", push: "http://127.0.0.1:$API/push?uid={conn}",
     tls: {ca_file: other-ca.pem}}
  - {ws: "wss://127.0.0.1:$WS/ws?uid={conn}", push: "http://127.0.0.1:$API/push?uid={conn}",
     tls: {insecure: true}}
  - {ws: "wss://127.0.0.1:$WS/ws?uid={conn}", push: "http://127.0.0.1:$API/push?uid={conn}",
     tls: {ca_file: ca.pem, server_name: push.example.com}}
  - {ws: "wss://127.0.0.1:$API/ws?uid={conn}", push: "http://127.0.0.1:$API/push?uid={conn}"}
agents: {expect: 1, wait: 20s}
connections: {total: 40}
phases:
  - ramp: {to: 40, rate: 400/s}
  - hold: 1s
YAML
ctl_run "$T/bad.yaml" --local-agents 1 >"$T/bad.out" 2>&1
cat "$T/bad.out"
expect_eq "failing run exit" 0 "$RC"
clean "$T/bad.out"
last_run
NT=4   # target = conn mod NT
expect_eq "wrong CA: every connection failed" 10 "$(fails 0)"
expect_eq "wrong CA: none up" 0 "$(ups 0)"
expect_eq "wrong CA: tls_verify, unable to get local issuer (20)" "tls_verify:20" "$(ends 0)"
expect_eq "insecure: all up" 10 "$(ups 1)"
expect_eq "insecure: no failures" 0 "$(fails 1)"
expect_eq "wrong name: every connection failed" 10 "$(fails 2)"
expect_eq "wrong name: tls_verify, hostname mismatch (62)" "tls_verify:62" "$(ends 2)"
expect_eq "plain port: every connection failed" 10 "$(fails 3)"
expect_eq "plain port: tls_handshake" "tls_handshake:0" "$(ends 3)"
grep -Eq "^closes/fails .*tls_verify_unknown_ca 10" "$T/bad.out" || fail "summary lacks tls_verify_unknown_ca"
grep -Eq "^closes/fails .*tls_verify_hostname 10" "$T/bad.out" || fail "summary lacks tls_verify_hostname"
grep -Eq "^closes/fails .*tls_handshake 10" "$T/bad.out" || fail "summary lacks tls_handshake"
grep -q "^TLS INSECURE .* 1 target" "$T/bad.out" || fail "summary does not report the insecure target"
"$BIN/pushstorm" report "$RUN" --db "$DB" | grep -q "^TLS INSECURE" || fail "report lacks TLS INSECURE"
stop_pid "$RP"

# ---- 3. nginx terminates TLS in front of a plain refpush
PLAIN=$(free_port); NG=$(free_port); MTLS=$(free_port)
start_refpush "$PLAIN"
mkdir -p "$T/nginx"
cat >"$T/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log $T/nginx/access.log;
  client_body_temp_path $T/nginx/body;
  proxy_temp_path $T/nginx/proxy;
  fastcgi_temp_path $T/nginx/fastcgi;
  uwsgi_temp_path $T/nginx/uwsgi;
  scgi_temp_path $T/nginx/scgi;
  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:$NG ssl;
    ssl_certificate $T/srv.pem;
    ssl_certificate_key $T/srv.key;
    ssl_session_tickets on;   # what the reconnections resume with (nginx's default)
    location / {
      proxy_pass http://127.0.0.1:$PLAIN;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_read_timeout 300s;
    }
  }
  server {
    listen 127.0.0.1:$MTLS ssl;
    ssl_certificate $T/srv.pem;
    ssl_certificate_key $T/srv.key;
    ssl_protocols TLSv1.2;
    ssl_verify_client on;
    ssl_client_certificate $T/ca.pem;
    location / {
      proxy_pass http://127.0.0.1:$PLAIN;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
    }
  }
}
NGINX
nginx -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" >"$T/nginx/stdout.log" 2>&1 &
NGP=$!; PIDS+=("$NGP")
for _ in $(seq 100); do
  curl -sf --cacert "$T/ca.pem" "https://127.0.0.1:$NG/stats" >/dev/null && break
  kill -0 "$NGP" 2>/dev/null || { cat "$T/nginx/error.log" "$T/nginx/stdout.log" >&2; fail "nginx did not start"; }
  sleep 0.1
done
cat >"$T/nginx.yaml" <<YAML
name: tls-nginx
tls: {ca_file: ca.pem}
targets:
  - {ws: "wss://localhost:$NG/ws?uid={conn}", push: "https://localhost:$NG/push?uid={conn}"}
agents: {expect: 1, wait: 20s}
connections: {total: 100}
reconnect: {min: 100ms, max: 300ms}
phases:
  - ramp: {to: 100, rate: 200/s}
  - hold: 1s
  - push: {mode: unicast, rate: 100/s, count: 100, body: '{"id":"{msg}"}'}
  - disconnect: {fraction: 50%}
  - wait_reconnect: {fraction: 100%, within: 10s}
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
YAML
ctl_run "$T/nginx.yaml" --local-agents 1 >"$T/nginx.out" 2>&1
cat "$T/nginx.out"
expect_eq "wss through nginx run exit" 0 "$RC"
clean "$T/nginx.out"
last_run
expect_eq "through nginx: connections opened" 100 \
  "$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=1")"
expect_eq "through nginx: delivered once" 100 \
  "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN AND duplicate=0")"
resumed 100 "$T/nginx.out" "through nginx"
expect_eq "refpush behind nginx saw them (100 and the reconnections)" "$UPS" \
  "$(stats_field "$PLAIN" connections_total)"
grep -q '"GET /ws?uid=' "$T/nginx/access.log" || fail "nginx did not carry the upgrades"

cat >"$T/mtls.yaml" <<YAML
name: tls-mtls
tls: {ca_file: ca.pem}
targets:
  - {ws: "wss://localhost:$MTLS/ws?uid={conn}", push: "http://127.0.0.1:$PLAIN/push?uid={conn}",
     tls: {ca_file: ca.pem, cert: client.pem, key: client.key}}
  - {ws: "wss://localhost:$MTLS/ws?uid={conn}", push: "http://127.0.0.1:$PLAIN/push?uid={conn}"}
  - {ws: "wss://localhost:$MTLS/ws?uid={conn}", push: "http://127.0.0.1:$PLAIN/push?uid={conn}",
     tls: {ca_file: ca.pem, cert: client.pem, key: client.key, min_version: 1.3}}
agents: {expect: 1, wait: 20s}
connections: {total: 30}
phases:
  - ramp: {to: 30, rate: 300/s}
  - hold: 1s
YAML
ctl_run "$T/mtls.yaml" --local-agents 1 >"$T/mtls.out" 2>&1
cat "$T/mtls.out"
expect_eq "mTLS run exit" 0 "$RC"
clean "$T/mtls.out"
last_run
NT=3
expect_eq "client certificate: all up" 10 "$(ups 0)"
expect_eq "client certificate: no failures" "" "$(ends 0)"
expect_eq "no client certificate: nginx answers 400" "http_status:400" "$(ends 1)"
expect_eq "TLS 1.3 against a TLS 1.2 server: alert protocol_version (70)" "tls_alert:70" "$(ends 2)"
kill -TERM "$NGP"; wait "$NGP" || true
[ ! -e "$T/nginx/nginx.pid" ] || fail "nginx did not stop"
stop_pid "$RP"
echo "tls test passed"
