# The mqtt push adapter against Debian's mosquitto: the controller publishes
# each unicast to users/{conn} at QoS 1 (complete on PUBACK) and each
# broadcast to the shared topic `all` at QoS 0 (complete when written), over
# the one broker connection it keeps. mosquitto_sub, subscribed to both,
# records what the broker delivered and forwards each message to refpush's
# HTTP push API, so the agents on refpush account for every message end to end.
# Then the broker is stopped: every call fails with the reason, push_failed
# counts them, the run fails; and a broker that refuses anonymous clients
# fails every call with its CONNACK reason code (135) as the status.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/servers_mosquitto.sh"
campaign_setup pushmqtt.db
MP=$(free_port)
mosquitto_start "$MP"
mqtt_bridge_start "$MP" "$WS" users all
N=300 U=400 B=10
cat >"$T/mqtt.yaml" <<YAML
name: push-mqtt
targets:
  - {ws: "ws://127.0.0.1:$WS/ws?uid={conn}", push: "mqtt://127.0.0.1:$MP/users/{conn}",
     broadcast: "mqtt://127.0.0.1:$MP/all"}
agents: {expect: 1, wait: 20s}
connections: {total: $N}
phases:
  - ramp: {to: $N, rate: 1000/s}
  - push: {count: $U, rate: 400/s, qos: 1, concurrency: 32, grace: 3s}
  - push: {mode: broadcast, count: $B, rate: 20/s, grace: 3s}
thresholds: {push_lost: "== 0", delivered_fraction: "== 100%"}
YAML
"$BIN/pushstorm" check "$T/mqtt.yaml" >/dev/null
ctl_run "$T/mqtt.yaml" --local-agents 1 --agent-threads 1 >"$T/out.txt" 2>&1
cat "$T/out.txt"
expect_eq "run exit" 0 "$RC"
last_run
expect_eq "push_failed" 0 "$(fig push_failed)"
expect_eq "calls of kind mqtt, status 0" "$((U + B))" \
  "$(q "SELECT count(*) FROM pushes WHERE run_id=$RUN AND status_kind='mqtt' AND status=0 AND error IS NULL")"
grep -q "^push calls    mqtt:0 $((U + B))\$" "$T/out.txt" || fail "summary lacks the calls by kind and status"
expect_eq "no HTTP status on mqtt calls" 0 \
  "$(q "SELECT count(*) FROM pushes WHERE run_id=$RUN AND http_status IS NOT NULL")"
expect_eq "unicast delivered exactly once to its uid" "$U" "$(q "
  SELECT count(*) FROM pushes p WHERE run_id=$RUN AND mode='unicast' AND
   (SELECT count(*) FROM deliveries d WHERE d.run_id=p.run_id AND d.msg_id=p.msg_id AND d.conn=p.conn)=1 AND
   (SELECT count(*) FROM deliveries d WHERE d.run_id=p.run_id AND d.msg_id=p.msg_id)=1")"
expect_eq "broadcast deliveries" "$((B * N))" \
  "$(q "SELECT count(*) FROM deliveries d JOIN pushes p ON p.run_id=d.run_id AND p.msg_id=d.msg_id
        WHERE d.run_id=$RUN AND p.mode='broadcast' AND d.duplicate=0")"
expect_eq "duplicates" 0 "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN AND duplicate=1")"
# what the broker delivered to the subscriber: each message once, on its topic
expect_eq "arrived at the broker's subscriber" "$((U + B))" "$(wc -l <"$T/arrived.txt")"
expect_eq "distinct tokens" "$((U + B))" "$(awk '{print $2}' "$T/arrived.txt" | sort -u | wc -l)"
q "SELECT CASE mode WHEN 'broadcast' THEN 'all' ELSE 'users/' || conn END || ' ~ps.$RUN.' || msg_id || '.'
   FROM pushes WHERE run_id=$RUN ORDER BY msg_id" >"$T/want.txt"
sed -E 's/^([^ ]+ ~ps\.[0-9]+\.[0-9]+\.).*/\1/' "$T/arrived.txt" | sort >"$T/got.txt"
sort "$T/want.txt" | diff - "$T/got.txt" >/dev/null || fail "topics or tokens differ: $(sort "$T/want.txt" | diff - "$T/got.txt" | head -5)"
echo "ok: every message arrived on its own topic"
expect_eq "refpush frames" "$((U + B * N))" "$(stats_field "$WS" frames_delivered)"

# the broker goes away: every call fails, with why, and the run fails
stop_pid "$MQ" || true
cat >"$T/down.yaml" <<YAML
name: push-mqtt-down
targets:
  - {ws: "ws://127.0.0.1:$WS/ws?uid={conn}", push: "mqtt://127.0.0.1:$MP/users/{conn}"}
agents: {expect: 1, wait: 20s}
connections: {total: 20}
phases:
  - ramp: {to: 20, rate: 1000/s}
  - push: {count: 15, rate: 50/s, qos: 1, grace: 1s}
YAML
ctl_run "$T/down.yaml" --local-agents 1 --agent-threads 1 >"$T/down.out" 2>&1
cat "$T/down.out"
expect_eq "run exit (broker down)" 1 "$RC"
last_run
expect_eq "push_failed" 15 "$(fig push_failed)"
expect_eq "failed mqtt calls with the reason" 15 \
  "$(q "SELECT count(*) FROM pushes WHERE run_id=$RUN AND status_kind='mqtt' AND status IS NULL
        AND error LIKE 'mqtt broker 127.0.0.1:$MP unreachable: %'")"
grep -q "^push calls    mqtt:none 15\$" "$T/down.out" || fail "summary lacks the failed calls"
grep -Eq "^threshold +push_failed +== 0 \(default\) +measured 15 +FAIL" "$T/down.out" ||
  fail "summary lacks the push_failed verdict"

# a broker that refuses the connection: every call fails with its CONNACK reason code
MA=$(free_port)
mosquitto_start "$MA" "allow_anonymous false"
sed "s/:$MP\//:$MA\//; s/push-mqtt-down/push-mqtt-refused/" "$T/down.yaml" >"$T/refused.yaml"
ctl_run "$T/refused.yaml" --local-agents 1 --agent-threads 1 >"$T/refused.out" 2>&1
cat "$T/refused.out"
expect_eq "run exit (broker refused)" 1 "$RC"
last_run
expect_eq "push_failed" 15 "$(fig push_failed)"
expect_eq "calls failed with CONNACK 135 (not authorized)" 15 \
  "$(q "SELECT count(*) FROM pushes WHERE run_id=$RUN AND status_kind='mqtt' AND status=135
        AND error LIKE 'mqtt broker 127.0.0.1:$MA refused the connection: % (CONNACK reason code 135)'")"
grep -q "^push calls    mqtt:135 15\$" "$T/refused.out" || fail "summary lacks the refused calls"
stop_pid "$MQ"
kill "$MB"
stop_pid "$RP"
echo "push mqtt test passed"
