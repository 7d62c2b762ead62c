# Exact loss: refpush is armed (/admin/drop?nth=...) to swallow exactly three
# chosen unicast pushes: it answers them 200 {"delivered":1} and sends nothing.
# The run must name exactly those three messages as lost (undelivered, kind
# lost), no other message and no other cause, and exit 1 on push_lost "== 0".
# Pushes go one at a time (concurrency 1), so the nth request refpush receives
# is the nth message the controller created: message ids 7, 61 and 143. The
# bodies refpush kept give the same ids independently of that ordering.
source "$(dirname "$0")/lib.sh"
campaign_setup loss.db
DROP="7,61,143"
curl -sf -X POST "http://127.0.0.1:$WS/admin/drop?nth=$DROP" | grep -q '"armed":3'
cat >"$T/plan.yaml" <<YAML
name: it-exact-loss
targets:
  - $TARGET
agents: {expect: 2, wait: 20s}
connections: {total: 200}
phases:
  - ramp: {to: 200, rate: 1000/s}
  - push: {mode: unicast, count: 200, rate: 400/s, concurrency: 1, grace: 1s,
           body: '{"id":"{msg}"}'}
  - push: {mode: broadcast, count: 1, grace: 1s}
thresholds:
  push_lost: "== 0"
YAML
ctl_run "$T/plan.yaml" --local-agents 2 --agent-threads 1 --quiet >"$T/run.out" 2>&1
cat "$T/run.out"
expect_eq "exit status with push_lost == 0 failing" 1 "$RC"
last_run
grep -q "push_lost .*measured 3 .*FAIL" "$T/run.out"

expect_eq "lost messages named in undelivered" "7 61 143" \
  "$(q "SELECT group_concat(msg_id, ' ') FROM (SELECT msg_id FROM undelivered
        WHERE run_id=$RUN AND kind='lost' ORDER BY msg_id)")"
expect_eq "undelivered rows of any kind" 3 "$(q "SELECT count(*) FROM undelivered WHERE run_id=$RUN")"
expect_eq "lost recipients are the pushes' own connections" 3 "$(q "
  SELECT count(*) FROM undelivered u JOIN pushes p ON p.run_id=u.run_id AND p.msg_id=u.msg_id
   WHERE u.run_id=$RUN AND u.conn=p.conn AND p.lost=1 AND p.delivered=0 AND p.http_status=200")"
expect_eq "messages with lost > 0" 3 "$(q "SELECT count(*) FROM pushes WHERE run_id=$RUN AND lost>0")"
expect_eq "figure push_lost" 3 "$(fig push_lost)"
expect_eq "other messages delivered" "197 200" "$(q "
  SELECT (SELECT count(*) FROM pushes WHERE run_id=$RUN AND mode='unicast' AND delivered=1),
         (SELECT count(DISTINCT d.conn) FROM deliveries d JOIN pushes p USING(run_id, msg_id)
           WHERE p.run_id=$RUN AND p.mode='broadcast')" | tr '|' ' ')"
expect_eq "threshold verdict" "push_lost|== 0|3.0|0" \
  "$(q "SELECT name, expr, measured, pass FROM thresholds WHERE run_id=$RUN")"

# refpush's own record of what it swallowed names the same messages.
SWALLOWED=$(curl -sf "http://127.0.0.1:$WS/stats" | python3 -c '
import json, re, sys
s = json.load(sys.stdin)
ids = sorted(int(re.search(r"~ps\.\d+\.(\d+)\.\d+~", b).group(1)) for b in s["dropped_bodies"])
print(s["dropped_injected"], *ids)')
expect_eq "refpush swallowed (count, ids)" "3 7 61 143" "$SWALLOWED"

# The CSV export names them as well.
"$BIN/pushstorm" report "$RUN" --db "$DB" --csv "$T/csv" >/dev/null
expect_eq "undelivered.csv" "7 lost;61 lost;143 lost" "$(python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(";".join("%s %s" % (r["msg_id"], r["kind"]) for r in rows))' "$T/csv/undelivered.csv")"
stop_pid "$RP"
echo "exact loss test passed"
