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
