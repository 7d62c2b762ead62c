# Runs that cannot be carried out exit 2 with a clear message; a failed
# threshold exits 1; a bad plan writes nothing.
source "$(dirname "$0")/lib.sh"
need_build
DB=$T/err.db
# bad plan: file:line:col, exit 2, no database created
cat >"$T/bad.yaml" <<'YAML'
name: bad
targets:
  - ws: "ws://127.0.0.1:1/ws?uid={conn}"
    push: "http://127.0.0.1:1/push?uid={conn}"
connections: {total: 10}
phases:
  - ramp: {to: 10, rate: fast}
YAML
rc=0; "$BIN/pushstorm" run "$T/bad.yaml" --db "$DB" 2>"$T/err.txt" || rc=$?
expect_eq "bad plan exit" 2 "$rc"
grep -q "bad.yaml:7:" "$T/err.txt" || { cat "$T/err.txt"; exit 1; }
grep -q "rate" "$T/err.txt"
[ ! -e "$DB" ] || { echo "FAIL: a bad plan created the database"; exit 1; }
echo "ok: bad plan -> $(cat "$T/err.txt")"

rc=0; "$BIN/pushstorm" check "$T/bad.yaml" 2>/dev/null || rc=$?
expect_eq "check of a bad plan" 2 "$rc"

# no agents within agents.wait: exit 2, run recorded as failed
CTL=$(free_port)
cat >"$T/noagents.yaml" <<'YAML'
name: lonely
targets:
  - {ws: "ws://127.0.0.1:1/ws?uid={conn}", push: "http://127.0.0.1:1/push?uid={conn}"}
agents: {expect: 1, wait: 1s}
connections: {total: 10}
phases:
  - ramp: {to: 10, rate: 10/s}
YAML
rc=0; "$BIN/pushstorm" run "$T/noagents.yaml" --db "$DB" --listen "tcp://127.0.0.1:$CTL" >"$T/out.txt" 2>&1 || rc=$?
expect_eq "no agents exit" 2 "$rc"
grep -q "0 of 1 agents joined" "$T/out.txt"
expect_eq "failed run recorded" failed "$(q "SELECT status FROM runs ORDER BY id DESC LIMIT 1")"

# report on an unknown run / a file that is not a database
rc=0; "$BIN/pushstorm" report 999 --db "$DB" 2>"$T/e.txt" || rc=$?
expect_eq "unknown run exit" 2 "$rc"; grep -q "no run 999" "$T/e.txt"
echo "not a database" >"$T/junk.db"
rc=0; "$BIN/pushstorm" runs --db "$T/junk.db" 2>"$T/e.txt" || rc=$?
expect_eq "junk database exit" 2 "$rc"; cat "$T/e.txt"
expect_eq "junk database untouched" "not a database" "$(cat "$T/junk.db")"

# a write the database refuses mid-run (its phases table dropped behind the
# controller's back during the hold): exit 2 with one line that names the file
# and SQLite's error, the run recorded as failed, what was committed kept
campaign_setup dbfail.db
cat >"$T/dbfail.yaml" <<YAML
name: dbfail
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: 10}
phases:
  - ramp: {to: 10, rate: 100/s}
  - hold: 3s
YAML
"$BIN/pushstorm" run "$T/dbfail.yaml" --db "$DB" --local-agents 1 --agent-threads 1 \
  --listen "tcp://127.0.0.1:$CTL" >"$T/dbfail.out" 2>"$T/dbfail.err" &
RUN=$!
PIDS+=("$RUN")
for _ in $(seq 200); do grep -q "phase 2/2" "$T/dbfail.out" && break; sleep 0.1; done
grep -q "phase 2/2" "$T/dbfail.out" || { cat "$T/dbfail.out" "$T/dbfail.err"; exit 1; }
sqlite3 -batch "$DB" ".timeout 10000" "DROP TABLE phases"
rc=0; wait "$RUN" || rc=$?
cat "$T/dbfail.err"
expect_eq "refused write exit" 2 "$rc"
expect_eq "one line for it" 1 "$(grep -c "$DB: database write failed: no such table: phases" "$T/dbfail.err")"
expect_eq "run recorded as failed" failed "$(q "SELECT status FROM runs ORDER BY id DESC LIMIT 1")"
q "SELECT reason FROM runs ORDER BY id DESC LIMIT 1" | grep -q "no such table: phases"
expect_eq "agent row kept" 1 "$(q "SELECT count(*) FROM agents")"
[ "$(q "SELECT count(*) FROM conn_events")" -ge 10 ] || { echo "FAIL: events lost"; exit 1; }
stop_pid "$RP"
