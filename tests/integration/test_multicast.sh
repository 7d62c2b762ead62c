# Multicast: each push API call names `recipients` connections of one server
# (refpush: POST /push?uid=A,B,C). Every recipient gets the message exactly
# once, nobody else does, and when refpush swallows two calls exactly those two
# messages are lost, at every one of their recipients.
source "$(dirname "$0")/lib.sh"
campaign_setup mc.db
curl -sf -X POST "http://127.0.0.1:$WS/admin/drop?nth=5,23" | grep -q '"armed":2'
cat >"$T/mc.yaml" <<YAML
name: multicast
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: 400}
phases:
  - ramp: {to: 400, rate: 1000/s}
  - push: {mode: multicast, recipients: 9, count: 40, rate: 200/s, concurrency: 1, grace: 1s}
thresholds: {push_lost: "== 0"}
YAML
ctl_run "$T/mc.yaml" --local-agents 1 --agent-threads 1 >"$T/out.txt" 2>&1
cat "$T/out.txt"
expect_eq "exit (two messages lost)" 1 "$RC"
last_run
expect_eq "multicast calls" 40 "$(q "SELECT count(*) FROM pushes WHERE run_id=$RUN AND mode='multicast'")"
expect_eq "recipients per call (min-max)" 9-9 "$(q "SELECT min(expected) || '-' || max(expected) FROM pushes WHERE run_id=$RUN")"
expect_eq "every call names 9 uids" 40 \
  "$(q "SELECT count(*) FROM pushes WHERE run_id=$RUN AND length(url) - length(replace(url, ',', '')) = 8")"
expect_eq "deliveries" $((38 * 9)) "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN AND duplicate=0")"
expect_eq "duplicates" 0 "$(q "SELECT sum(duplicates) FROM pushes WHERE run_id=$RUN")"
grep -q "duplicates 0, out of order 0, misrouted 0, late 0" "$T/out.txt"
# each delivery went to a uid its call named
expect_eq "deliveries to a named uid" $((38 * 9)) "$(q "SELECT count(*) FROM deliveries d JOIN pushes p
  ON p.run_id=d.run_id AND p.msg_id=d.msg_id WHERE d.run_id=$RUN AND
  (',' || substr(p.url, instr(p.url, 'uid=') + 4) || ',') LIKE '%,' || d.conn || ',%'")"
expect_eq "lost: the 5th and 23rd call, 9 recipients each" "5:9 23:9" \
  "$(q "SELECT group_concat(msg_id || ':' || n, ' ') FROM (SELECT msg_id, count(*) n FROM undelivered
        WHERE run_id=$RUN AND kind='lost' GROUP BY msg_id ORDER BY msg_id)")"
expect_eq "refpush frames" $((38 * 9)) "$(stats_field "$WS" frames_delivered)"
stop_pid "$RP"
echo "multicast test passed"
