# STOMP 1.2 over WebSocket against a real broker (issue 13): Debian's RabbitMQ
# with its web-stomp plugin, started once for every case (its start takes
# 4-8 s here), pushed to through its management API's publish call with the
# plain http push adapter.
#
# 1. 2,000 connections over 2 agents, each subscribed in client ack mode to
#    its own destination (/exchange/amq.topic/u.{conn}) and a shared one
#    (/exchange/amq.topic/all): 600 unicast pushes and 2 broadcasts arrive
#    exactly once each, nothing lost; the broker's own counters agree (the
#    exchange's publishes in, the acks it got: one per delivery, since every
#    MESSAGE is acked), and no message is left unacked in any queue.
# 2. a bad passcode: every connection fails proto_refused (RabbitMQ's ERROR
#    frame before CONNECTED), none online.
# 3. the broker frozen (SIGSTOP) under 100 connections with 1 s server
#    heart-beats: each fails proto_keepalive, 2-4 s after its last byte.
# 4. the broker stopped under 200 online connections: each one ends with a
#    reason that names it (RabbitMQ resets them), none is left as `other`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/servers_rabbitmq.sh"
need_build
if ! rabbitmq_need; then
  [ -z "${PS_TEST_STRICT:-}" ] || fail "rabbitmq-server is not installed (make test installs it)"
  skip "rabbitmq-server is not installed (scripts/install-deps.sh test)"
fi
CTL=$(free_port)
rabbitmq_start
echo "rabbitmq: ready in $RMQ_START_MS ms (web-stomp $RMQ_STOMP_PORT, management $RMQ_HTTP_PORT)"
DB=$T/stomp.db

# plan FILE NAME CONNS PASSCODE PHASES...: the STOMP target on the broker (SRV_HB: its heart-beat)
plan() {
  local f=$1 name=$2 n=$3 pass=$4 p; shift 4
  { rabbitmq_stomp_plan "$name" "$n" "$pass" "" "${SRV_HB:-10s}"
    echo "agents: {expect: 2, wait: 20s}"
    echo 'thresholds: {connect_success: ">= 100%", push_lost: "== 0"}'
    echo "phases:"
    for p in "$@"; do echo "  - $p"; done; } >"$f"
}
# reasons [SQL]: "reason count, ..." of the run's failed and closed events (SQL: more conditions)
reasons() {
  q "SELECT group_concat(n || ' ' || c, ', ') FROM (SELECT coalesce(r.name, e.val) AS n, count(*) AS c
     FROM conn_events e LEFT JOIN reasons r ON r.reason=e.val
     WHERE e.run_id=$RUN AND e.type IN (2,3) ${1:-} GROUP BY n ORDER BY n)"
}
# broker PATH EXPR: a figure from the management API (python expression over d)
broker() {
  rabbitmq_api "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"
}

# ---- 1. exact delivery, 2,000 connections, unicast + broadcast, client acks
N=2000; U=600; B=2
plan "$T/exact.yaml" it-stomp-exact $N guest \
  "ramp: {to: $N, rate: 1000/s, timeout: 30s}" "hold: 1s" \
  "push: {mode: unicast, count: $U, rate: 400/s, body: $(rabbitmq_body 'u.{conn}'), $RMQ_AUTH}" \
  "push: {mode: broadcast, count: $B, rate: 2/s, body: $(rabbitmq_body all), $RMQ_AUTH}"
ctl_run "$T/exact.yaml" --local-agents 2 >"$T/run.out" 2>"$T/run.err"
cat "$T/run.out"
expect_eq "controller exit" 0 "$RC"
last_run
expect_exact_delivery $U $N $B
expect_eq "connections online" $N "$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=1")"
expect_eq "failures, and closes not ours" "" "$(reasons "AND NOT (e.type=3 AND r.name='client_close')")"
# the broker's counters (its statistics are sampled each second: wait for them)
want_pub=$((U + B)); want_ack=$((U + B * N))
# (the queues' totals are a gauge of their own, sampled apart from the counters:
# wait for it too, up to 10 s more)
for _ in $(seq 100); do
  got_pub=$(broker /api/exchanges/%2F/amq.topic "d.get('message_stats',{}).get('publish_in',0)")
  got_ack=$(broker /api/overview "d.get('message_stats',{}).get('ack',0)")
  got_left=$(broker /api/overview "d.get('queue_totals',{}).get('messages',0)")
  [ "$got_pub" = "$want_pub" ] && [ "$got_ack" = "$want_ack" ] && [ "$got_left" = 0 ] && break
  sleep 0.2
done
expect_eq "broker: messages published into amq.topic" $want_pub "$got_pub"
expect_eq "broker: acks received (one per delivery)" $want_ack "$got_ack"
expect_eq "broker: deliveries" $want_ack "$(broker /api/overview "d['message_stats'].get('deliver_get',0)")"
expect_eq "broker: redeliveries" 0 "$(broker /api/overview "d['message_stats'].get('redeliver',0)")"
expect_eq "broker: messages unacked or waiting" 0 "$got_left"
san=$(grep -cE "AddressSanitizer|LeakSanitizer|runtime error" "$T/run.err" || true)
expect_eq "sanitizer reports" 0 "$san"

# ---- 2. bad login: ERROR before CONNECTED is proto_refused
plan "$T/refused.yaml" it-stomp-refused 20 wrong "ramp: {to: 20, rate: 100/s, timeout: 10s}" "hold: 1s"
ctl_run "$T/refused.yaml" --local-agents 2 >"$T/run.out" 2>"$T/run.err"
cat "$T/run.out"
last_run
expect_eq "bad passcode: every attempt refused by the broker" "proto_refused 20" \
  "$(q "SELECT group_concat(n || ' ' || c, ', ') FROM (SELECT r.name AS n, count(DISTINCT e.conn) AS c
        FROM conn_events e JOIN reasons r ON r.reason=e.val WHERE e.run_id=$RUN AND e.type=2 GROUP BY n)")"
expect_eq "bad passcode: online" 0 "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND type=1")"
expect_eq "bad passcode: the run fails (connect_success)" 1 "$RC"

# ---- 3. the broker frozen (SIGSTOP): its heart-beats stop, each connection
# fails proto_keepalive within twice the agreed 1 s, aux = the ms it was silent
BEAM=$(pgrep -P "$RMQ_PID" beam.smp) || fail "no beam.smp under the broker's script ($RMQ_PID)"
SRV_HB=1s plan "$T/frozen.yaml" it-stomp-frozen 100 guest "ramp: {to: 100, rate: 400/s, timeout: 10s}" "hold: 6s"
ctl_start "$T/frozen.yaml" --local-agents 2
wait_out "hold" 30
kill -STOP "$BEAM"
wait_rc "$CP"
kill -CONT "$BEAM"
cat "$T/run.out"
last_run
expect_eq "broker frozen: every connection closed proto_keepalive" "proto_keepalive 100" "$(reasons)"
expect_eq "broker frozen: silent between 2 and 4 s" 100 "$(q "SELECT count(*) FROM conn_events e
  JOIN reasons r ON r.reason=e.val WHERE e.run_id=$RUN AND e.type=3 AND e.aux BETWEEN 2000 AND 4000")"

# ---- 4. the broker stopped under online connections: each one ends with a
# reason that names it (RabbitMQ 3.10 resets the sockets: `reset`)
plan "$T/stopped.yaml" it-stomp-stopped 200 guest "ramp: {to: 200, rate: 400/s, timeout: 10s}" "hold: 8s"
ctl_start "$T/stopped.yaml" --local-agents 2
wait_out "hold" 30
rabbitmq_stop
wait_rc "$CP"
cat "$T/run.out"
last_run
echo "broker stopped: $(reasons)"
expect_eq "broker stopped: connections that ended" 200 \
  "$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type IN (2,3)")"
expect_eq "broker stopped: ends other than reset, server_close, proto_close" 0 \
  "$(q "SELECT count(*) FROM conn_events e JOIN reasons r ON r.reason=e.val WHERE e.run_id=$RUN
        AND e.type IN (2,3) AND r.name NOT IN ('reset', 'server_close', 'proto_close')")"
echo "ok: stomp against RabbitMQ $(basename /usr/lib/rabbitmq/lib/rabbitmq_server-*)"
