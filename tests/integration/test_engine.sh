# The native engine (agent/wsc*.c, the default under ws://) against servers we
# did not write and against lws on the same plan:
#  1. nginx + Nchan, pinging its subscribers every second: 1,000 connections,
#     agent pings answered, 300 unicasts through Nchan's publisher, each
#     delivered once to its own connection; once with --engine native, once
#     with --engine lws, the same figures.
#  2. refpush --ws-ping 1s, which hangs up a client that leaves its pings
#     unanswered for 3 s: 500 connections held 5 s, none hung up, and while
#     they answer 500 pings a second the agent changes no poll registration
#     (strace counts epoll_ctl: lws's path costs 4 per pong, docs/performance.md).
#  3. a server (a few lines of Python) whose 101 comes in three pieces, 50 ms
#     apart, with a 3,000-byte header: the head is gathered across reads and
#     its buffer grows past its first 1 KiB.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/servers_nchan.sh"
need_build
need_dep strace
NCH=$(free_port)
nchan_start "$NCH" 1
DB=$T/engine.db

nchan_run() {   # nchan_run ENGINE
  CTL=$(free_port)
  cat >"$T/plan-$1.yaml" <<YAML
name: it-engine-nchan-$1
targets:
  - {ws: "ws://127.0.0.1:$NCH/ws?uid={conn}", push: "http://127.0.0.1:$NCH/pub?uid={conn}"}
agents: {expect: 1, wait: 20s}
connections: {total: 1000}
heartbeat: {ws_ping: 1s, pong_timeout: 2s}
phases:
  - ramp: {to: 1000, rate: 2000/s}
  - hold: 2s
  - push: {mode: unicast, rate: 300/s, count: 300}
  - hold: 2s
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
YAML
  ctl_run "$T/plan-$1.yaml" --local-agents 1 --agent-args "--engine $1" >"$T/run-$1.out"
  cat "$T/run-$1.out"
  expect_eq "nchan, $1: run exit" 0 "$RC"
  last_run
  expect_eq "nchan, $1: connections opened" 1000 \
    "$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=1")"
  expect_eq "nchan, $1: failures" 0 "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND type=2")"
  expect_eq "nchan, $1: unicasts accepted by Nchan" 300 \
    "$(q "SELECT count(*) FROM pushes WHERE run_id=$RUN AND mode='unicast' AND http_status BETWEEN 200 AND 299")"
  expect_eq "nchan, $1: each delivered once, to its own connection" 300 "$(q "
    SELECT count(*) FROM pushes p WHERE run_id=$RUN AND
     (SELECT count(*) FROM deliveries d WHERE d.run_id=p.run_id AND d.msg_id=p.msg_id AND d.conn=p.conn)=1 AND
     (SELECT count(*) FROM deliveries d WHERE d.run_id=p.run_id AND d.msg_id=p.msg_id)=1")"
  expect_eq "nchan, $1: pongs received" yes \
    "$(q "SELECT CASE WHEN max(pongs) > 1000 THEN 'yes' ELSE 'no' END FROM samples WHERE run_id=$RUN")"
  expect_eq "nchan, $1: pongs missed" 0 "$(q "SELECT coalesce(max(pong_missed), 0) FROM samples WHERE run_id=$RUN")"
  expect_eq "nchan, $1: every close ours" "client_close 1000" "$(grep -o 'client_close [0-9]*' "$T/run-$1.out")"
}
nchan_run native
nchan_run lws
stop_pid "$NX" || true

# 2. refpush's pings, answered without a poll change per pong
WS=$(free_port); CTL=$(free_port)
start_refpush "$WS" --ws-ping 1s
cat >"$T/plan-ping.yaml" <<YAML
name: it-engine-pings
targets:
  - {ws: "ws://127.0.0.1:$WS/ws?uid={conn}", push: "http://127.0.0.1:$WS/push?uid={conn}"}
agents: {expect: 1, wait: 20s}
connections: {total: 500}
phases:
  - ramp: {to: 500, rate: 2000/s}
  - hold: 6s
YAML
"$BIN/pushstorm" run "$T/plan-ping.yaml" --db "$DB" --listen "tcp://127.0.0.1:$CTL" >"$T/run-ping.out" 2>&1 &
CP=$!; PIDS+=("$CP")
agent_start ping --engine native --threads 1
for _ in $(seq 100); do
  [ "$(stats_field "$WS" connections 2>/dev/null)" = 500 ] && break
  sleep 0.1
done
expect_eq "refpush holds the connections" 500 "$(stats_field "$WS" connections)"
sleep 1
strace -f -c -e trace=epoll_ctl,read -o "$T/strace.txt" -p "$AP" & ST=$!
sleep 3
kill -INT "$ST"; wait "$ST" || true
cat "$T/strace.txt"
ctl=$(awk '$NF == "epoll_ctl" {print $4}' "$T/strace.txt")
reads=$(awk '$NF == "read" {print $4}' "$T/strace.txt")
echo "epoll_ctl calls in 3 s of 1,500 answered pings: ${ctl:-0}; read calls: ${reads:-0}"
[ "${ctl:-0}" -lt 50 ] || fail "the agent changed poll registrations ${ctl} times answering 1,500 pings"
# masking keys come from getrandom() in 4 KiB refills, not a read per frame
[ "${reads:-0}" -lt 50 ] || fail "the agent made ${reads} read calls answering 1,500 pings"
wait_rc "$CP"; cat "$T/run-ping.out"
expect_eq "pings run exit" 0 "$RC"
last_run
expect_eq "no connection hung up by refpush's ping timeout" "client_close 500" \
  "$(grep -o 'client_close [0-9]*' "$T/run-ping.out")"
expect_eq "refpush counted the closes as the agent's" 0 "$(stats_field "$WS" connections)"

# 3. a head in pieces
CAP=$(free_port); CTL=$(free_port)
cat >"$T/slow101.py" <<'PY'
import base64, hashlib, socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
print("listening", flush=True)
c, _ = s.accept()
req = b""
while b"\r\n\r\n" not in req:
    req += c.recv(4096)
key = [l.split(b":", 1)[1].strip() for l in req.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key:")][0]
acc = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
head = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"X-Padding: " + b"p" * 3000 + b"\r\nSec-WebSocket-Accept: " + acc + b"\r\n\r\n")
for i in range(3):
    c.sendall(head[i * len(head) // 3:(i + 1) * len(head) // 3]); time.sleep(0.05)
c.sendall(b"\x81\x05hello")
while c.recv(4096):
    pass
PY
start_listening SL "$T/slow101.log" python3 "$T/slow101.py" "$CAP"
cat >"$T/plan-slow.yaml" <<YAML
name: it-engine-slow-head
targets:
  - {ws: "ws://127.0.0.1:$CAP/ws?uid={conn}", push: "http://127.0.0.1:$CAP/push"}
connections: {total: 1}
phases:
  - ramp: {to: 1, rate: 10/s}
  - hold: 1s
YAML
ctl_run "$T/plan-slow.yaml" --local-agents 1 --agent-threads 1 >"$T/run-slow.out" 2>&1
cat "$T/run-slow.out"
expect_eq "slow head: run exit" 0 "$RC"
last_run
expect_eq "slow head: connected" 1 "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND type=1")"
expect_eq "slow head: failures" 0 "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND type=2")"
echo "engine test passed"
