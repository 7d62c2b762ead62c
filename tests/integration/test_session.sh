# Scripted sessions (docs/plan.md "session") against our own test server
# (bin/hostile): its /welcome path sends a noise frame, then a JSON welcome with
# a session id, and answers every text frame with "ack:" + the frame.
#   target 0  /welcome, the plan-wide script: wait for the welcome (ignoring
#             the noise), capture the id, log in with it, expect the ack that
#             echoes the captured id, send a binary frame (hostile answers with
#             a push token, which the agent acks): every connection ready, then
#             up until the stop
#   target 1  /ok with its own script: a welcome that never comes -> session_timeout, step 0
#   target 2  /ok, others: fail: a frame that is not the welcome -> session_mismatch, step 0
#   target 3  /welcome, others: fail on a wrong welcome -> session_mismatch, step 0
#   target 4  /welcome, right welcome, login, then a reply that does not come
#             with others: fail -> session_mismatch at step 2
# The app heartbeat on the ready connections is a template with the captured id
# and its reply (hostile's echo) is matched by a regex.
# Asserts the ready/connected events, the failure reasons with their step,
# the session_ready figures and threshold, heartbeats answered and timed, no
# sanitizer report, and no socket left open.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/hostile_lib.sh"
HOSTILE=${HOSTILE_BIN:-$ROOT/bin/hostile}
need_build "$HOSTILE"

N=5; TOTAL=$((4 * N))
HP=$(free_port); CTL=$(free_port)
start_listening HS "$T/hostile.log" "$HOSTILE" --port "$HP" --verbose
fds_idle=$(ls "/proc/$HS/fd" | wc -l)
DB=$T/session.db
U="ws://127.0.0.1:$HP"; P="http://127.0.0.1:$HP/push"
cat >"$T/plan.yaml" <<YAML
name: it-session
targets:
  - {ws: "$U/welcome?uid={conn}", push: "$P"}
  - ws: "$U/ok?uid={conn}"
    push: "$P"
    session: {steps: [{expect: {json: {type: welcome}}, timeout: 1s}]}
  - ws: "$U/ok?uid={conn}"
    push: "$P"
    session: {steps: [{expect: {json: {type: welcome}}, others: fail}]}
  - ws: "$U/welcome?uid={conn}"
    push: "$P"
    session: {steps: [{expect: {json: {type: hello}}, others: fail}]}
  - ws: "$U/welcome?uid={conn}"
    push: "$P"
    session:
      steps:
        - {expect: {json: {type: welcome}}}
        - send: '{"type":"login"}'
        - {expect: nope, others: fail, timeout: 5s}
agents: {expect: 1, wait: 20s}
connections: {total: $TOTAL}
session:
  vars_bytes: 32
  ack: '{"ack":{msg_id},"sid":"{sid}"}'
  steps:
    - expect: {json: {type: welcome}}
      others: ignore
      timeout: 5s
      capture: {sid: {json: session.id}}
    - send: '{"type":"login","sid":"{sid}","conn":{conn}}'
    - expect: {regex: '^ack:\{"type":"login","sid":"s-[0-9]+","conn":[0-9]+\}$'}
      others: fail
    - send: {hex: "00ff10"}
heartbeat:
  ws_ping: off
  text: '{"type":"hb","seq":{seq},"sid":"{sid}","t":{now_ms}}'
  expect: {regex: '^ack:\{"type":"hb","seq":[0-9]+,"sid":"s-[0-9]+","t":[0-9]{13}\}$'}
  interval: 300ms
  timeout: 250ms
thresholds: {session_ready_p99: "< 5s"}
phases:
  - ramp: {to: $TOTAL, rate: 200/s, timeout: 20s}
  - hold: 2s
YAML

ctl_run "$T/plan.yaml" --local-agents 1 --agent-threads 1 >"$T/run.out" 2>"$T/run.err"
cat "$T/run.out"
last_run

count_type() { # count_type TARGET TYPE: connections of that target with an event of that type
  q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=$2 AND conn % $N = $1"
}
declare -A WANT=([0]='closed:client_close:1000' [1]='failed:session_timeout:0'
                 [2]='failed:session_mismatch:0' [3]='failed:session_mismatch:0'
                 [4]='failed:session_mismatch:2')
check "controller exit code" 0 "$RC"
check "run status" pass "$(q "SELECT status FROM runs WHERE id=$RUN")"
for k in $(seq 0 $((N - 1))); do
  matched=0
  for c in $k $((k + N)) $((k + 2 * N)) $((k + 3 * N)); do
    e=$(ends "$c")
    if [ "$e" = "${WANT[$k]}" ]; then matched=$((matched + 1))
    else echo "  target $k conn $c ended with '${e:-nothing}', expected ${WANT[$k]}" >&2; fi
  done
  check "target $k connections ending as ${WANT[$k]}" 4 "$matched"
  up=0; [ "$k" = 0 ] && up=4
  check "target $k connections ready" "$up" "$(count_type "$k" 9)"
  check "target $k connections counted connected" "$up" "$(count_type "$k" 1)"
done
check "session_ready figure" 4 "$(fig session_ready)"
check "reason_session_timeout figure" 4 "$(fig reason_session_timeout)"
check "reason_session_mismatch figure" 12 "$(fig reason_session_mismatch)"
p99=$(fig session_ready_p99_us)
check "session_ready_p99_us above the handshake p50" yes \
  "$([ "${p99:-0}" -gt "$(fig handshake_p50_us)" ] && echo yes || echo no)"
check "session_ready_p99 threshold recorded as passed" 1 \
  "$(q "SELECT pass FROM thresholds WHERE run_id=$RUN AND name='session_ready_p99'")"
# the binary frame of the last step made hostile push one token: one delivery,
# and one ack carrying the message id and the captured id, per ready connection
check "pushed messages the agent recognised" 4 "$(q "SELECT max(messages) FROM samples
  WHERE run_id=$RUN")"
check "acks_sent figure" 4 "$(fig acks_sent)"
check "acks_dropped figure" 0 "$(fig acks_dropped)"
check "acks seen by hostile with the message id and session id" 4 \
  "$(grep -cE 'echo ack:\{"ack":1,"sid":"s-[0-9]+"\}' "$T/hostile.log" || true)"
grep -q "acks          sent 4, dropped 0" "$T/run.out" || { echo "FAIL: no acks line in the summary" >&2; failures=$((failures + 1)); }
# the app heartbeat, a template of {seq}, the captured {sid} and {now_ms},
# answered by hostile's echo and matched by regex: sent, never missed, timed
check "app heartbeats sent" yes "$(q "SELECT CASE WHEN max(hb_sent) >= 8 THEN 'yes' ELSE 'no' END
  FROM samples WHERE run_id=$RUN")"
check "app heartbeats missed" 0 "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND type=6")"
check "app heartbeat RTT measured" yes "$(q "SELECT CASE WHEN max(hb_rtt_p99_us) > 0 THEN 'yes'
  ELSE 'no' END FROM samples WHERE run_id=$RUN")"
hostile_unharmed
hostile_finish session
