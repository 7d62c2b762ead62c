# The grpc push adapter against a real gRPC server (python3-grpcio, tests/servers/grpc):
# 2,000 connections over 2 agents on refpush; the controller pushes every
# unicast as a unary call push.v1.Push/Send over h2c (prior knowledge) with a
# metadata template and a field-number message {1: conn, 2: token, 3: id},
# every broadcast as push.v1.Push/Broadcast; the server decodes each message
# and forwards it to refpush's HTTP push API. Zero loss, each delivery exactly
# once, and the campaign's counts equal the server's own. Then, over grpcs://
# (TLS, ALPN), the server answers three calls UNAVAILABLE (Trailers-Only):
# push_failed counts them with status 14 and grpc-message, and the run fails.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/servers_grpc.sh"
campaign_setup grpc.db
GP=$(free_port)
grpc_server_start "$GP" "$WS" --expect-metadata x-tenant=t-
N=2000 U=2000 B=5
cat >"$T/grpc.yaml" <<YAML
name: push-grpc
targets:
  - {ws: "ws://127.0.0.1:$WS/ws?uid={conn}", push: "grpc://127.0.0.1:$GP/push.v1.Push/Send"}
agents: {expect: 2, wait: 20s}
connections: {total: $N}
phases:
  - ramp: {to: $N, rate: 2000/s}
  - push: {count: $U, rate: 800/s, concurrency: 64, grace: 3s,
           metadata: {X-Tenant: "t-{conn}"}, message: {1: "{conn}", 2: "{msg}", 3: {int: "{id}"}}}
  - push: {mode: broadcast, count: $B, rate: 10/s, grace: 5s, metadata: {x-tenant: t-all}}
thresholds: {push_lost: "== 0", delivered_fraction: "== 100%"}
YAML
"$BIN/pushstorm" check "$T/grpc.yaml" >/dev/null
ctl_run "$T/grpc.yaml" --local-agents 2 --agent-threads 1 >"$T/out.txt" 2>&1
cat "$T/out.txt"
expect_eq "run exit" 0 "$RC"
last_run
expect_eq "agents" 2 "$(q "SELECT count(*) FROM agents WHERE run_id=$RUN AND conn_count > 0")"
expect_eq "push_failed" 0 "$(fig push_failed)"
expect_eq "calls of kind grpc, status 0 (OK), over HTTP/2 200" "$((U + B))" \
  "$(q "SELECT count(*) FROM pushes WHERE run_id=$RUN AND status_kind='grpc' AND status=0 AND http_status=200")"
grep -q "^push calls    grpc:0 $((U + B))\$" "$T/out.txt" || fail "summary lacks the calls by kind and status"
expect_exact_delivery "$U" "$N" "$B"
expect_eq "refpush frames" "$((U + B * N))" "$(stats_field "$WS" frames_delivered)"
grpc_server_stop
expect_eq "server: calls" "$((U + B))" "$(grpc_stat "$GP" calls)"
expect_eq "server: forwarded unicast" "$U" "$(grpc_stat "$GP" forwarded_unicast)"
expect_eq "server: forwarded broadcast" "$B" "$(grpc_stat "$GP" forwarded_broadcast)"
expect_eq "server: calls with the metadata" "$((U + B))" "$(grpc_stat "$GP" metadata_seen)"
expect_eq "server: failed" 0 "$(grpc_stat "$GP" failed)"

# failing statuses: calls 3, 7 and 11 answered UNAVAILABLE, this time over
# grpcs:// (TLS, ALPN h2) with a throwaway certificate the target's tls trusts
need_dep openssl
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/g.key" \
  -out "$T/g.pem" -days 2 -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1" \
  >"$T/openssl.log" 2>&1 || { cat "$T/openssl.log" >&2; fail "openssl"; }
GP=$(free_port)
grpc_server_start "$GP" "$WS" --fail-nth 3,7,11 --fail-status UNAVAILABLE \
  --tls-cert "$T/g.pem" --tls-key "$T/g.key"
cat >"$T/fail.yaml" <<YAML
name: push-grpc-fail
targets:
  - {ws: "ws://127.0.0.1:$WS/ws?uid={conn}", push: "grpcs://127.0.0.1:$GP/push.v1.Push/Send",
     tls: {ca_file: "$T/g.pem"}}
agents: {expect: 1, wait: 20s}
connections: {total: 50}
phases:
  - ramp: {to: 50, rate: 1000/s}
  - push: {count: 20, rate: 50/s, concurrency: 1, grace: 1s}
YAML
ctl_run "$T/fail.yaml" --local-agents 1 --agent-threads 1 >"$T/fail.out" 2>&1
cat "$T/fail.out"
expect_eq "run exit (three calls failed)" 1 "$RC"
last_run
expect_eq "push_failed" 3 "$(fig push_failed)"
expect_eq "failed calls: status 14 with grpc-message" "3 7 11" \
  "$(q "SELECT group_concat(msg_id, ' ') FROM (SELECT msg_id FROM pushes WHERE run_id=$RUN AND
        status_kind='grpc' AND status=14 AND error='grpc-status 14: injected failure' ORDER BY msg_id)")"
grep -q "^push calls    grpc:0 17, grpc:14 3\$" "$T/fail.out" || fail "summary lacks the failed statuses"
grep -Eq "^threshold +push_failed +== 0 \(default\) +measured 3 +FAIL" "$T/fail.out" ||
  fail "summary lacks the push_failed verdict"
expect_eq "delivered: the other 17" 17 "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN")"
grpc_server_stop
expect_eq "server: injected" 3 "$(grpc_stat "$GP" injected)"
expect_eq "server: forwarded" 17 "$(grpc_stat "$GP" forwarded_unicast)"
stop_pid "$RP"
echo "grpc test passed"
