# MQTT over WebSocket end to end against Debian's mosquitto (issue 13): the
# agents speak MQTT to its websockets listener, the controller pushes through
# its mqtt push adapter to the plain listener, and every message is accounted
# for by the ledger and by mosquitto's own counters.
#
# 1. 2,000 connections over 2 agents, MQTT 3.1.1, subscribed at QoS 1 to
#    users/{conn} and to the shared topic all: 600 unicasts at QoS 1, one
#    broadcast at QoS 1 and one at QoS 0. Every delivery exactly once to the
#    right connection, none lost; the PUBACKs the agents counted are the ones
#    mosquitto's log received (one per QoS 1 delivery); $SYS says the broker
#    received the 602 publishes, sent the 4,600 deliveries and held 2,001
#    clients at once; the keepalive's PINGREQs were answered (RTT measured);
#    every agent connection said DISCONNECT on its way out.
# 2. MQTT 5, subscribed at QoS 0: the same accounting, and no PUBACK at all
#    (the broker downgrades the QoS 1 publishes to the subscription's QoS).
# 3. A broker with a password file: the password template gives target 1 the
#    right password and target 0 a wrong one; target 0's connections fail
#    proto_refused with CONNACK code 5 (not authorized), target 1's come up.
# 4. The broker killed (SIGKILL) under 3.1.1 connections, and stopped
#    (SIGTERM) under 5.0 ones: every connection ends, named `reset` (mosquitto
#    sends no DISCONNECT when it stops), none `other`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/servers_mosquitto.sh"
need_build
MQ_DEBUG=1 mosquitto_ws_start
CTL=$(free_port)
DB=$T/mqtt.db
N=2000 U=600

# plan FILE NAME CONNS AGENTS OPTIONS PHASES...: one mqtt target on the broker started last
plan() {
  local f=$1 name=$2 n=$3 agents=$4 opts=$5 p; shift 5
  { echo "name: $name"; echo "targets:"
    echo "  - {ws: \"ws://127.0.0.1:$MQ_WS/\", protocol: mqtt,"
    echo "     push: \"mqtt://127.0.0.1:$MQ_PORT/users/{conn}\", broadcast: \"mqtt://127.0.0.1:$MQ_PORT/all\"}"
    echo "protocol_options: $opts"
    echo "agents: {expect: $agents, wait: 20s}"; echo "connections: {total: $n}"; echo "phases:"
    for p in "$@"; do echo "  - $p"; done; } >"$f"
}
# exact UNICAST CONNS BROADCASTS: the ledger of run $RUN, every push delivered exactly once
exact() {
  expect_eq "mqtt calls completed (status 0)" "$(($1 + $3))" \
    "$(q "SELECT count(*) FROM pushes WHERE run_id=$RUN AND status_kind='mqtt' AND status=0 AND error IS NULL")"
  expect_eq "unicast delivered exactly once to its uid" "$1" "$(q "
    SELECT count(*) FROM pushes p WHERE run_id=$RUN AND mode='unicast' AND
     (SELECT count(*) FROM deliveries d WHERE d.run_id=p.run_id AND d.msg_id=p.msg_id AND d.conn=p.conn)=1 AND
     (SELECT count(*) FROM deliveries d WHERE d.run_id=p.run_id AND d.msg_id=p.msg_id)=1")"
  local bc; bc=$(for _ in $(seq "$3"); do printf '%s ' "$2"; done); bc=${bc% }
  expect_eq "broadcasts reached every connection once" "$bc" "$(q "
    SELECT group_concat(n, ' ') FROM (SELECT count(DISTINCT d.conn) AS n, count(*) AS k FROM pushes p
     JOIN deliveries d ON d.run_id=p.run_id AND d.msg_id=p.msg_id
     WHERE p.run_id=$RUN AND p.mode='broadcast' GROUP BY p.msg_id HAVING n=k)")"
  expect_eq "deliveries" "$(($1 + $2 * $3))" "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN")"
  expect_eq "duplicates" 0 "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN AND duplicate=1")"
  expect_eq "lost" 0 "$(q "SELECT sum(lost) FROM pushes WHERE run_id=$RUN")"
  expect_eq "DUP flags seen" 0 "$(fig proto_duplicates)"
}
# ends: the run's failed/closed events as "type:reason:aux count" lines
ends() {
  q "SELECT k || ' ' || n FROM (SELECT t.name || ':' || coalesce(r.name, e.val) || ':' || e.aux AS k,
     count(*) AS n FROM conn_events e JOIN event_types t ON t.type=e.type LEFT JOIN reasons r ON r.reason=e.val
     WHERE e.run_id=$RUN AND e.type IN (2,3) ${1:-} GROUP BY k ORDER BY k)"
}
log_count() { grep -c "$1" "$MQ_LOG" || true; }

# ---- 1. 3.1.1, QoS 1 and 0, 2,000 connections over 2 agents
plan "$T/qos1.yaml" it-mqtt-qos1 $N 2 \
  '{subscribe: ["users/{conn}", "all"], qos: 1, keepalive: 2s, client_id: "it-{agent}-{conn}"}' \
  "ramp: {to: $N, rate: 2000/s}" "hold: 2500ms" \
  "push: {count: $U, rate: 600/s, qos: 1, concurrency: 32, grace: 3s}" \
  "push: {mode: broadcast, count: 1, qos: 1, grace: 3s}" \
  "push: {mode: broadcast, count: 1, qos: 0, grace: 3s}" "hold: 1500ms"
echo "thresholds: {connect_success: \">= 100%\", push_lost: \"== 0\", delivered_fraction: \"== 100%\"}" \
  >>"$T/qos1.yaml"
ctl_run "$T/qos1.yaml" --local-agents 2 --agent-threads 1 >"$T/qos1.out" 2>&1
cat "$T/qos1.out"
expect_eq "run exit" 0 "$RC"
last_run
expect_eq "run status" pass "$(q "SELECT status FROM runs WHERE id=$RUN")"
expect_eq "distinct connections online" $N \
  "$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=1")"
grep "exceeded timeout" "$MQ_LOG" | head -3 || true   # mosquitto closing a client that missed its keepalive
expect_eq "connection ends" "closed:client_close:1000 $N" "$(ends)"
exact $U $N 2
# QoS 1 deliveries: the 600 unicasts and the QoS 1 broadcast's 2,000; the QoS 0 broadcast none
expect_eq "PUBACKs the agents sent" $((U + N)) "$(fig proto_acks_sent)"
expect_eq "PUBACKs mosquitto received from the agents" $((U + N)) "$(log_count "Received PUBACK from it-")"
expect_eq "DISCONNECTs mosquitto received from the agents" $N "$(log_count "Received DISCONNECT from it-")"
pings=$(log_count "Received PINGREQ from it-")
[ "$pings" -ge $N ] || fail "PINGREQs: $pings for $N connections held 2.5 s at a 2 s keepalive"
echo "ok: PINGREQs received by mosquitto = $pings"
expect_eq "PINGRESPs mosquitto sent" "$pings" "$(log_count "Sending PINGRESP to it-")"
# the agents' count is their last per-second report: the pings of the stop's last moments are not in it
sent=$(q "SELECT sum(m) FROM (SELECT max(hb_sent) AS m FROM samples WHERE run_id=$RUN GROUP BY agent_id)")
[ "$sent" -ge $N ] && [ "$sent" -le "$pings" ] || fail "agents sent $sent PINGREQs, mosquitto received $pings"
echo "ok: agents' PINGREQs $sent (mosquitto received $pings)"
[ "$(q "SELECT max(hb_rtt_p99_us) FROM samples WHERE run_id=$RUN")" -gt 0 ] || fail "no keepalive RTT"
sleep 2     # $SYS is published once a second: the counts of the run's last second
read -r -d '' received maximum all_in all_out < <(mq_sys publish/messages/received clients/maximum \
  messages/received messages/sent; printf '\0') || true
expect_eq "\$SYS publish/messages/received (the adapter's publishes)" $((U + 2)) "$received"
expect_eq "\$SYS clients/maximum (agents' connections + the adapter's)" $((N + 1)) "$maximum"
deliveries=$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN")
expect_eq "PUBLISHes mosquitto's log sent to the agents (= the ledger's deliveries)" "$deliveries" \
  "$(log_count "Sending PUBLISH to it-")"
# $SYS counts every packet: what the agents sent is CONNECT, SUBSCRIBE, DISCONNECT each, the
# PINGREQs and the PUBACKs; the adapter sent its CONNECT and the publishes. What mosquitto sent:
# CONNACK and SUBACK each, the PINGRESPs and the deliveries; to the adapter its CONNACK and a
# PUBACK per QoS 1 publish (the unicasts and one broadcast).
# (and the adapter's DISCONNECT when the controller has said it before the last publication)
bye=$(log_count "Received DISCONNECT from pushstorm-")
expect_eq "PUBACKs by \$SYS messages/received" $((U + N)) $((all_in - 3 * N - pings - 1 - (U + 2) - bye))
# A PINGRESP mosquitto queues just before a connection's DISCONNECT is read is
# logged ("Sending PINGRESP") but dropped with the session, unwritten, so $SYS
# may count a few fewer than the log: what is left after the PINGRESPs is the
# deliveries, or up to one per connection pinged in the stop's last moment
# fewer (the deliveries themselves are checked exactly above, by the log).
by_sys=$((all_out - 2 * N - pings - 1 - (U + 1)))
[ "$by_sys" -le "$deliveries" ] && [ "$by_sys" -ge $((deliveries - 50)) ] ||
  fail "deliveries by \$SYS messages/sent: $by_sys, the ledger's $deliveries"
echo "ok: deliveries by \$SYS messages/sent = $by_sys (the ledger's $deliveries)"
grep -q "^protocol .*protocol acks sent $((U + N))" "$T/qos1.out" ||
  fail "the summary has no protocol line with the acks"

# ---- 2. MQTT 5, subscribed at QoS 0: QoS 1 publishes arrive at QoS 0, nothing to ack
acks_before=$(log_count "Received PUBACK from")
plan "$T/v5.yaml" it-mqtt-v5 200 1 \
  '{subscribe: ["users/{conn}", "all"], qos: 0, mqtt_version: 5, client_id: "v5-{conn}"}' \
  "ramp: {to: 200, rate: 1000/s}" "push: {count: 100, rate: 500/s, qos: 1, grace: 2s}" \
  "push: {mode: broadcast, count: 1, grace: 2s}"
ctl_run "$T/v5.yaml" --local-agents 1 --agent-threads 1 >"$T/v5.out" 2>&1
cat "$T/v5.out"
expect_eq "v5 run exit" 0 "$RC"
last_run
expect_eq "v5 connection ends" "closed:client_close:1000 200" "$(ends)"
exact 100 200 1
expect_eq "v5: PUBACKs the agents sent" 0 "$(fig proto_acks_sent)"
expect_eq "v5: PUBACKs mosquitto received" "$acks_before" "$(log_count "Received PUBACK from")"
expect_eq "v5: clients connected at protocol level 5" 200 "$(log_count " as v5-[0-9]* (p5, c1, k30")"
stop_pid "$MQ"

# ---- 3. a password file: target 1 has the password, target 0 not
mosquitto_ws_start ps s1
cat >"$T/auth.yaml" <<YAML
name: it-mqtt-auth
targets:
  - {ws: "ws://127.0.0.1:$MQ_WS/", protocol: mqtt, push: "mqtt://ps:s1@127.0.0.1:$MQ_PORT/users/{conn}"}
  - {ws: "ws://127.0.0.1:$MQ_WS/", protocol: mqtt, push: "mqtt://ps:s1@127.0.0.1:$MQ_PORT/users/{conn}"}
protocol_options: {subscribe: ["users/{conn}"], user: ps, password: "s{target}"}
agents: {expect: 1, wait: 20s}
connections: {total: 20}
phases:
  - ramp: {to: 20, rate: 200/s, timeout: 10s}
  - hold: 1s
YAML
ctl_run "$T/auth.yaml" --local-agents 1 --agent-threads 1 >"$T/auth.out" 2>&1
cat "$T/auth.out"
last_run
expect_eq "target 0 (wrong password)" "failed:proto_refused:5 10" "$(ends "AND e.conn % 2 = 0")"
expect_eq "target 1 (right password)" "closed:client_close:1000 10" "$(ends "AND e.conn % 2 = 1")"
grep -q "proto_refused 10" "$T/auth.out" || fail "the summary does not name the refusals"

# ---- 4. the broker killed, then stopped, under held connections
down() { # down NAME VERSION SIGNAL
  plan "$T/$1.yaml" "it-mqtt-$1" 40 1 "{subscribe: [\"users/{conn}\"], mqtt_version: $2, user: ps, password: s1}" \
    "ramp: {to: 40, rate: 400/s}" "hold: 6s"
  local before; before=$(log_count "New client connected")
  ctl_start "$T/$1.yaml" --local-agents 1 --agent-threads 1
  for _ in $(seq 100); do
    [ "$(log_count "New client connected")" -ge $((before + 40)) ] && break
    sleep 0.1
  done
  sleep 0.5     # their SUBACKs
  kill "-$3" "$MQ"
  wait "$MQ" 2>/dev/null || true
  wait_rc "$CP"
  cat "$T/run.out"
  last_run
  DOWN=$(ends)
  echo "ends after SIG$3 (MQTT $2): $DOWN"
  expect_eq "connections that ended ($1)" 40 "$(q "SELECT count(DISTINCT conn) FROM conn_events
    WHERE run_id=$RUN AND type IN (2,3)")"
  expect_eq "ends named other ($1)" 0 "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND
    type IN (2,3) AND val=(SELECT reason FROM reasons WHERE name='other')")"
}
down killed 4 KILL
expect_eq "ends when the broker is killed" "closed:reset:0 40" "$DOWN"
MQ_DEBUG=0 mosquitto_ws_start ps s1
down stopped 5 TERM
# mosquitto 2.0.11 ends its sessions without a DISCONNECT when it stops: the sockets just close
expect_eq "ends when the broker is stopped" "closed:reset:0 40" "$DOWN"
echo "mqtt test passed"
