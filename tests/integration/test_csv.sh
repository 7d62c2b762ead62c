#!/usr/bin/env bash
# Per-connection data: a campaign whose WebSocket URL and push URL both take
# the user id from a CSV file (connections.data), with user ids that are not
# connection numbers (random 10-digit ids, shuffled). refpush routes a push
# by the uid it saw in the upgrade, so a push answered 200 and delivered to
# exactly its connection proves both sides used the same row; the stored push
# URLs are compared with the file row by row. The token column is written
# with CSV quoting (a comma, doubled quotes) and sent as a header; the pad
# column makes each agent's rows (~90 KiB) take several DATA pieces.
source "$(dirname "$0")/lib.sh"
campaign_setup csv.db
N=300
python3 - "$T/users.csv" "$N" <<'PY'
import random, sys
path, n = sys.argv[1], int(sys.argv[2])
ids = random.sample(range(10**9, 10**10), n)
with open(path, "w", newline="") as f:
    f.write("user_id,token,pad\r\n")
    for i, u in enumerate(ids):
        f.write('%d,"t-%d,""q""",%s\r\n' % (u, i, "p" * 600))
PY
cat >"$T/plan.yaml" <<YAML
name: it-csv
targets:
  - {ws: "ws://127.0.0.1:$WS/ws?uid={csv.user_id}", push: "http://127.0.0.1:$WS/push?uid={csv.user_id}"}
agents: {expect: 2, wait: 20s}
connections: {total: $N, data: users.csv, headers: {X-Token: "{csv.token}"}}
heartbeat: {ws_ping: 2s, pong_timeout: 2s}
phases:
  - ramp: {to: $N, rate: 600/s}
  - hold: 1s
  - push: {mode: unicast, rate: 300/s, count: $N, body: '{"id":"{msg}","for":"{csv.user_id}"}'}
  - push: {mode: multicast, recipients: 4, count: 20, rate: 100/s}
  - push: {mode: broadcast, count: 1, rate: 1/s}
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
YAML
"$BIN/pushstorm" check "$T/plan.yaml" >/dev/null
ctl_run "$T/plan.yaml" --local-agents 2 --agent-threads 1 >"$T/run.out"
cat "$T/run.out"
expect_eq "run exit" 0 "$RC"
grep -q "connections.data: 1[89][0-9].[0-9] KiB of values to 2 agents" "$T/run.out" ||
  fail "the controller did not report sending the ~190 KiB of values"
last_run
expect_eq "run status" pass "$(q "SELECT status FROM runs WHERE id=$RUN")"
expect_eq "distinct connections opened" $N \
  "$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=1")"
expect_eq "connection failures" 0 "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND type=2")"
expect_exact_delivery $N $N 1
# the URL of every unicast push carries its recipient's user id, row for row
python3 - "$T/users.csv" "$DB" <<'PY' >"$T/rows.sql"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))[1:]
print("CREATE TABLE users(conn INTEGER, user_id TEXT, token TEXT);")
for i, (u, t, _) in enumerate(rows):
    print("INSERT INTO users VALUES(%d, '%s', '%s');" % (i, u, t.replace("'", "''")))
PY
sqlite3 "$DB" <"$T/rows.sql"
expect_eq "unicast URLs with the recipient's CSV user id" $N "$(q "
  SELECT count(*) FROM pushes p JOIN users u ON u.conn = p.conn
   WHERE p.run_id=$RUN AND p.mode='unicast' AND p.url='http://127.0.0.1:$WS/push?uid=' || u.user_id")"
expect_eq "user ids that are also connection numbers" 0 "$(q "
  SELECT count(*) FROM users WHERE CAST(user_id AS INTEGER) < $N")"
expect_eq "multicast calls naming 4 CSV user ids" 20 "$(q "
  SELECT count(*) FROM pushes WHERE run_id=$RUN AND mode='multicast' AND
   url GLOB 'http://127.0.0.1:$WS/push?uid=[1-9]*,[1-9]*,[1-9]*,[1-9]*' AND expected=4 AND lost=0")"
expect_eq "multicast deliveries" 80 "$(q "
  SELECT count(*) FROM deliveries d JOIN pushes p ON p.run_id=d.run_id AND p.msg_id=d.msg_id
   WHERE p.run_id=$RUN AND p.mode='multicast'")"
# refpush saw those user ids: every push routed, none to a uid nobody dialed with
expect_eq "refpush pushes" $((N + 20)) "$(stats_field "$WS" pushes)"
expect_eq "refpush pushes_unrouted" 0 "$(stats_field "$WS" pushes_unrouted)"
expect_eq "refpush frames = deliveries" "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN")" \
  "$(stats_field "$WS" frames_delivered)"
expect_eq "refpush connections_total" $N "$(stats_field "$WS" connections_total)"
stop_pid "$RP"
echo "csv test passed"
