#!/usr/bin/env bash
# A campaign over IPv6 loopback: refpush listens on [::1], the plan's ws and
# push URLs are bracketed literals, and the agents bind their connections to
# the IPv6 source address ::1 (--source-ips). Asserts the same exact accounting
# as test_campaign.sh: every connection opened, every unicast push delivered
# once to its uid, every broadcast to every connection, and refpush agrees.
# refpush (lws) accepts a Host header without brackets, so a second, one-
# connection run dials a bare socket listener (a few lines of Python, not
# ours to bend) that records the upgrade request: Host and Origin must carry
# the address in brackets, and Host its port (RFC 6455 4.1: the port unless it
# is the default; the native engine sends it, lws 4.1.6 leaves it out, so that
# run uses --engine lws too and expects lws's Host).
source "$(dirname "$0")/lib.sh"
need_build
ip -6 addr show lo 2>/dev/null | grep -q "inet6 ::1/128" ||
  skip "this machine has no IPv6 loopback (::1 not on lo)"
WS=$(free_port); CTL=$(free_port)
start_refpush "$WS" --bind ::1
grep -q "listening on ws://\[::1\]:$WS/ws" "$T/refpush-$WS.log" || fail "refpush did not say [::1]"
DB=$T/v6.db
cat >"$T/plan.yaml" <<YAML
name: it-ipv6
targets:
  - {ws: "ws://[::1]:$WS/ws?uid={conn}", push: "http://[::1]:$WS/push?uid={conn}",
     broadcast: "http://[::1]:$WS/broadcast"}
agents: {expect: 2, wait: 20s}
connections: {total: 300}
heartbeat: {ws_ping: 2s, pong_timeout: 2s}
phases:
  - ramp: {to: 300, rate: 600/s}
  - hold: 1s
  - push: {mode: unicast, rate: 300/s, count: 150}
  - push: {mode: broadcast, count: 2, rate: 2/s}
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
YAML
ctl_start "$T/plan.yaml"
agent_start a1 --threads 1 --source-ips ::1
agent_start a2 --threads 1 --source-ips ::1
ctl_wait 0
last_run
v6stat() { curl -sf "http://[::1]:$WS/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
expect_eq "run status" pass "$(q "SELECT status FROM runs WHERE id=$RUN")"
expect_eq "distinct connections opened" 300 \
  "$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=1")"
expect_eq "connection failures" 0 "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND type=2")"
expect_exact_delivery 150 300 2
expect_eq "refpush pushes" 150 "$(v6stat pushes)"
expect_eq "refpush frames = deliveries" "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN")" \
  "$(v6stat frames_delivered)"
expect_eq "refpush connections_total" 300 "$(v6stat connections_total)"
stop_pid "$RP"

CAP=$(free_port)
cat >"$T/cap.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::1", int(sys.argv[1])))
s.listen(8)
print("listening", flush=True)
c, _ = s.accept()
data = b""
while b"\r\n\r\n" not in data:
    d = c.recv(4096)
    if not d:
        break
    data += d
open(sys.argv[2], "wb").write(data)
c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
c.close()
PY
cat >"$T/cap.yaml" <<YAML
name: it-ipv6-host
targets:
  - {ws: "ws://[::1]:$CAP/ws?uid={conn}", push: "http://[::1]:$CAP/push?uid={conn}"}
connections: {total: 1}
phases:
  - ramp: {to: 1, rate: 10/s}
  - hold: 1s
YAML
DB=$T/host.db
for engine in native lws; do
  start_listening CP6 "$T/cap-$engine.log" python3 "$T/cap.py" "$CAP" "$T/request.txt"
  ctl_run "$T/cap.yaml" --local-agents 1 --agent-threads 1 --agent-args "--engine $engine" >"$T/cap-run.out"
  wait_rc "$CP6"
  host="Host: [::1]:$CAP"
  [ "$engine" = lws ] && host="Host: [::1]"
  expect_eq "$engine: upgrade request line" "GET /ws?uid=0 HTTP/1.1" "$(head -1 "$T/request.txt" | tr -d '\r')"
  expect_eq "$engine: Host header" "$host" "$(grep -i '^Host:' "$T/request.txt" | tr -d '\r')"
  expect_eq "$engine: Origin header" "Origin: http://[::1]" "$(grep -i '^Origin:' "$T/request.txt" | tr -d '\r')"
done
echo "ipv6 test passed"
