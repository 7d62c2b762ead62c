# Every phase kind in one campaign against refpush, with reconnection on:
# ramp, hold, push unicast and broadcast, disconnect (half the clients close,
# then come back), wait_reconnect, exec (a wrapper script kills refpush by its
# PID file and starts a new one on the same port; the agents reconnect and the
# reconnection curve is stored), then pushes to the new server. Asserts from
# the database. (Multicast pushes: test_multicast.sh.)
source "$(dirname "$0")/lib.sh"
campaign_setup phases.db
echo "$RP" >"$T/refpush.pid"
# The restarted refpush is not our child: stop it by its PID file on exit too.
trap 'kill "$(cat "$T/refpush.pid" 2>/dev/null)" 2>/dev/null || true; cleanup' EXIT

# restart.sh: the exec phase's fault. SIGTERM the server, wait until the port is
# free, start a new one, wait until it listens, record its PID.
cat >"$T/restart.sh" <<SH
#!/bin/sh
set -e
kill -TERM "\$(cat "$T/refpush.pid")"
i=0
while ss -Htln "sport = :$WS" | grep -q .; do
  i=\$((i+1)); [ \$i -lt 200 ] || { echo "old refpush still listening" >&2; exit 1; }
  sleep 0.05
done
: >"$T/refpush2.log"
setsid "$BIN/refpush" --port $WS --quiet >"$T/refpush2.log" 2>&1 </dev/null &
echo \$! >"$T/refpush.pid"
i=0
until grep -q listening "$T/refpush2.log"; do
  i=\$((i+1)); [ \$i -lt 200 ] || { cat "$T/refpush2.log" >&2; exit 1; }
  sleep 0.05
done
date +%s%6N >"$T/restarted_at"
SH
chmod +x "$T/restart.sh"

cat >"$T/plan.yaml" <<YAML
name: it-phases
targets:
  - $TARGET
agents: {expect: 2, wait: 20s}
connections: {total: 400}
heartbeat: {ws_ping: 2s, pong_timeout: 2s}
reconnect: {min: 100ms, max: 500ms}
phases:
  - ramp: {to: 200, rate: 1000/s}
  - ramp: {to: 400, rate: 1000/s}
  - hold: 1s
  - push: {mode: unicast, count: 200, rate: 400/s}
  - push: {mode: broadcast, count: 2, rate: 4/s, grace: 1s}
  - disconnect: {fraction: 50%, code: 4000}
  - wait_reconnect: {fraction: 100%, within: 20s}
  - exec: {command: "$T/restart.sh", expect_reconnect: 100%, within: 30s}
  - push: {mode: unicast, count: 100, rate: 400/s}
  - push: {mode: broadcast, count: 1, grace: 1s}
thresholds:
  push_lost: "== 0"
  connect_success: ">= 100%"
YAML
ctl_run "$T/plan.yaml" --local-agents 2 --agent-threads 1 >"$T/run.out" 2>&1
cat "$T/run.out"
expect_eq "run exit" 0 "$RC"
last_run
expect_eq "phases run, in order, all ended" \
  "ramp ramp hold push push disconnect wait_reconnect exec push push" \
  "$(q "SELECT group_concat(kind, ' ') FROM (SELECT kind FROM phases WHERE run_id=$RUN
        AND ended_us >= started_us ORDER BY idx)")"
expect_eq "ramps' notes" "200 connected of 200|400 connected of 400" \
  "$(q "SELECT group_concat(note, '|') FROM (SELECT note FROM phases WHERE run_id=$RUN AND kind='ramp' ORDER BY idx)")"
HOLD_US=$(q "SELECT ended_us - started_us FROM phases WHERE run_id=$RUN AND idx=3")
[ "$HOLD_US" -ge 1000000 ] && [ "$HOLD_US" -lt 1500000 ] || fail "hold lasted ${HOLD_US}us"

# disconnect: exactly half of the 400 closed by the client with code 4000,
# between the phase's start and end; each came back (a reconnect event, then a
# connected event after its close).
read -r DS DE <<<"$(q "SELECT started_us, ended_us FROM phases WHERE run_id=$RUN AND kind='disconnect'" | tr '|' ' ')"
expect_eq "client closes with code 4000 in the disconnect phase" 200 "$(q "
  SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=3 AND val=11 AND aux=4000
   AND ts_us BETWEEN $DS AND $DE")"
expect_eq "closed connections that reconnected after their close" 200 "$(q "
  SELECT count(*) FROM (SELECT conn, ts_us FROM conn_events WHERE run_id=$RUN AND type=3 AND aux=4000) c
   WHERE EXISTS (SELECT 1 FROM conn_events e WHERE e.run_id=$RUN AND e.conn=c.conn AND e.type=1
                 AND e.ts_us > c.ts_us)")"
expect_eq "reconnect events after the disconnect" 1 "$(q "
  SELECT count(DISTINCT conn) >= 200 FROM conn_events WHERE run_id=$RUN AND type=7 AND ts_us >= $DS")"

# exec: the restart dropped every connection; all 400 are back, the curve is
# stored and ordered, and the new refpush holds 400 connections' worth of
# history (each connection reconnected once to it).
read -r ES EE <<<"$(q "SELECT started_us, ended_us FROM phases WHERE run_id=$RUN AND kind='exec'" | tr '|' ' ')"
expect_eq "connections that reconnected during exec" 400 "$(q "
  SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=1 AND ts_us BETWEEN $ES AND $EE")"
expect_eq "exec note" "exit 0; 400 of 400 back" "$(q "SELECT note FROM phases WHERE run_id=$RUN AND kind='exec'")"
expect_eq "wait_reconnect note" "reached; 400 connected" \
  "$(q "SELECT note FROM phases WHERE run_id=$RUN AND kind='wait_reconnect'")"
expect_eq "exec: up before, dropped, back" "400 400 400" "$(q "
  SELECT group_concat(CAST(value AS INT), ' ') FROM (SELECT value FROM figures WHERE run_id=$RUN AND name IN
   ('phase8_reconnect_before','phase8_reconnect_dropped','phase8_reconnect_back') ORDER BY
   CASE name WHEN 'phase8_reconnect_before' THEN 1 WHEN 'phase8_reconnect_dropped' THEN 2 ELSE 3 END)")"
# The curve (time from the command's start until 50/90/99/100% of the 400 are
# connected again) must match the connected events stored for the phase.
python3 - "$DB" "$RUN" "$ES" "$EE" <<'PY'
import math, sqlite3, sys
db, run, es, ee = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
c = sqlite3.connect(db)
fig = dict(c.execute("SELECT name, value FROM figures WHERE run_id=? AND name LIKE 'phase8_reconnect_p%_s'", (run,)))
v = [fig.get("phase8_reconnect_%s_s" % k) for k in ("p50", "p90", "p99", "p100")]
assert None not in v, ("curve points missing", fig)
ts = sorted(t - es for (t,) in c.execute(
    "SELECT max(ts_us) FROM conn_events WHERE run_id=? AND type=1 AND ts_us BETWEEN ? AND ? GROUP BY conn",
    (run, es, ee)))
assert len(ts) == 400, len(ts)
want = [ts[math.ceil(m * 400) - 1] / 1e6 for m in (0.5, 0.9, 0.99, 1.0)]
assert all(abs(a - b) < 1e-6 for a, b in zip(v, want)), ("curve", v, "events say", want)
assert all(0 < a <= b for a, b in zip(v, v[1:])), ("curve not ordered", v)
# the restart takes well under 5 s, the backoff is 100-500 ms
assert v[3] < 10, ("p100 too late", v)
print("ok: reconnection curve p50 %.3f p90 %.3f p99 %.3f p100 %.3fs matches the events" % tuple(v))
PY
# pushes before and after the restart: all delivered once, none lost.
expect_eq "unicast delivered exactly once" 300 "$(q "
  SELECT count(*) FROM pushes p WHERE run_id=$RUN AND mode='unicast' AND http_status=200 AND
   (SELECT count(*) FROM deliveries d WHERE d.run_id=p.run_id AND d.msg_id=p.msg_id AND d.conn=p.conn)=1")"
expect_eq "broadcast receivers" "400 400 400" "$(q "
  SELECT group_concat(n, ' ') FROM (SELECT count(DISTINCT d.conn) AS n FROM pushes p JOIN deliveries d
   USING(run_id, msg_id) WHERE p.run_id=$RUN AND p.mode='broadcast' GROUP BY p.msg_id ORDER BY p.msg_id)")"
expect_eq "lost / missed offline / duplicates" "0|0|0" "$(q "
  SELECT sum(lost), sum(missed_offline), sum(duplicates) FROM pushes WHERE run_id=$RUN")"
NEWPORT_PID=$(cat "$T/refpush.pid")
expect_eq "new refpush: connections_total, pushes, broadcasts" "400 100 1" "$(curl -sf \
  "http://127.0.0.1:$WS/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin);
print(s["connections_total"], s["pushes"], s["broadcasts"])')"
kill -TERM "$NEWPORT_PID"

echo "phases test passed"
