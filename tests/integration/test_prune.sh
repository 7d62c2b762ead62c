#!/usr/bin/env bash
# `pushstorm prune` on a nightly-style database: one real campaign (run 1,
# written by the controller against refpush) among runs written by
# bin/bigdb through the store's own functions: old nights, old failures, a
# run still under way (bigdb --hold, a live owner). Checks what each rule
# removes and keeps (--older-than, --keep, the latest pass of each plan, the
# running run), that every table loses the removed runs' rows, that the file
# shrinks (VACUUM, left out while a run is under way) and passes PRAGMA
# integrity_check, that the kept runs'
# reports still come out, and that bad input changes nothing (exit 2).
source "$(dirname "$0")/lib.sh"
GEN=$ROOT/bin/bigdb
campaign_setup prune.db
need_build "$GEN"
need_dep sqlite3
PS=$BIN/pushstorm

# 1. A real night of another plan, today (run 1).
cat >"$T/plan.yaml" <<YAML
name: it-prune
targets:
  - $TARGET
connections: {total: 50}
agents: {expect: 1, wait: 15s}
phases:
  - ramp: {to: 50, rate: 250/s}
  - push: {mode: broadcast, count: 2, rate: 10/s}
thresholds:
  push_lost: "== 0"
YAML
ctl_run "$T/plan.yaml" --local-agents 1 --agent-threads 1 >"$T/run.out" 2>&1 ||
  { cat "$T/run.out"; fail "campaign"; }
expect_eq "real run exit" 0 "$RC"

# 2. bigdb nights: 2-4 passed 60 days ago, 5-6 failed 40 days ago, 7-8 passed today.
"$GEN" "$DB" --conns 3000 --unicast 300 --runs 3 --days-ago 60 >/dev/null
"$GEN" "$DB" --conns 3000 --unicast 300 --runs 2 --days-ago 40 --status fail >/dev/null
"$GEN" "$DB" --conns 1000 --unicast 100 --runs 2 >/dev/null
# 9: under way, started 90 days ago, its owner (this bigdb) alive
"$GEN" "$DB" --conns 500 --unicast 10 --days-ago 90 --hold >"$T/hold.out" 2>&1 &
HOLD=$!; PIDS+=("$HOLD")
for _ in $(seq 100); do grep -q "holding run" "$T/hold.out" && break; sleep 0.1; done
expect_eq "held run" "holding run 9" "$(cat "$T/hold.out")"
runs() { q "SELECT group_concat(id, ' ') FROM (SELECT id FROM runs ORDER BY id)"; }
expect_eq "runs written" "1 2 3 4 5 6 7 8 9" "$(runs)"

# 3. Bad input: exit 2, the file untouched.
sum=$(md5sum <"$DB")
for args in "" "--keep" "--keep -1" "--keep x" "--older-than 30y" "--older-than -1d" \
            "--keep 1 run7" "--bogus"; do
  rc=0; "$PS" prune --db "$DB" $args >/dev/null 2>"$T/err.txt" || rc=$?
  expect_eq "prune $args: exit" 2 "$rc"
  [ -s "$T/err.txt" ] || fail "prune $args: no message"
done
rc=0; "$PS" prune --db "$T/none.db" --keep 1 2>"$T/err.txt" || rc=$?
expect_eq "missing database" 2 "$rc"
grep -q "none.db: no such database" "$T/err.txt" || fail "missing db: $(cat "$T/err.txt")"
[ ! -e "$T/none.db" ] || fail "prune created a database"
expect_eq "database unchanged by bad input" "$sum" "$(md5sum <"$DB")"

# 4. A dry run says what would go and removes nothing.
rc=0; "$PS" prune --db "$DB" --older-than 30d --dry-run >"$T/dry.txt" 2>&1 || rc=$?
cat "$T/dry.txt"
expect_eq "dry run exit (the running run kept)" 1 "$rc"
expect_eq "dry run lines" "would remove run 2;would remove run 3;would remove run 4;would remove run 5;would remove run 6;kept run 9" \
  "$(grep -o '^[a-z ]* run [0-9]*' "$T/dry.txt" | paste -sd';')"
expect_eq "runs after dry run" "1 2 3 4 5 6 7 8 9" "$(runs)"

# 5. --older-than 30d: the old nights go, 9 (running) stays; no VACUUM while
# it is under way (it would hold up the run's commits).
rc=0; "$PS" prune --db "$DB" --older-than 30d >"$T/p1.txt" 2>&1 || rc=$?
cat "$T/p1.txt"
expect_eq "prune exit (a selected run is running)" 1 "$rc"
grep -q "kept run 9 .*still running" "$T/p1.txt" || fail "the running run was not named"
grep -q "VACUUM could not run (run 9 is under way" "$T/p1.txt" || fail "VACUUM during a run"
grep -q "^removed 5 runs, [0-9]* rows (" "$T/p1.txt" || fail "no totals line"
expect_eq "runs after --older-than 30d" "1 7 8 9" "$(runs)"
for t in agents phases samples ctl_samples conn_events pushes deliveries undelivered figures \
         thresholds monitor_samples run_owners; do
  expect_eq "$t rows of removed runs" 0 "$(q "SELECT count(*) FROM $t WHERE run_id IN (2,3,4,5,6)")"
done
expect_eq "deliveries of kept run 7" "$(q "SELECT value FROM figures WHERE run_id=7 AND name='push_delivered'" | cut -d. -f1)" \
  "$(q "SELECT count(*) FROM deliveries WHERE run_id=7")"
expect_eq "integrity" ok "$(q "PRAGMA integrity_check")"

# 6. The run ends (its owner killed: interrupted); --keep 1 keeps it (the
# newest), 8 (bigdb's latest pass, the next --baseline last-pass) and 1
# (it-prune's latest pass), and removes 7.
kill "$HOLD"; wait "$HOLD" 2>/dev/null || true
expect_eq "held run after its owner died" interrupted "$("$PS" runs --db "$DB" | awk '$1 == 9 {print $NF}')"
before=$(stat -c %s "$DB")
rc=0; "$PS" prune --db "$DB" --keep 1 >"$T/p2.txt" 2>&1 || rc=$?
cat "$T/p2.txt"
expect_eq "prune --keep 1 exit" 0 "$rc"
expect_eq "runs after --keep 1" "1 8 9" "$(runs)"
# the pages of both prunes go back to the file system now
after=$(stat -c %s "$DB")
[ "$after" -lt $((before * 3 / 4)) ] || fail "the file did not shrink: $before -> $after bytes"
expect_eq "integrity after --keep" ok "$(q "PRAGMA integrity_check")"
expect_eq "nothing left to prune" "removed 0 runs, 0 rows" "$("$PS" prune --db "$DB" --keep 1 | head -1)"

# 7. Reports of the kept runs, the real one included.
for r in 1 8; do
  "$PS" report "$r" --db "$DB" --html "$T/r$r.html" --json "$T/r$r.json" --csv "$T/csv$r" 2>/dev/null ||
    fail "report of kept run $r"
  grep -q '"status": "pass"' "$T/r$r.json" || fail "run $r json"
  grep -q "<svg" "$T/r$r.html" || fail "run $r html has no chart"
done
expect_eq "real run's deliveries.csv (header + 2 x 50)" 101 "$(wc -l <"$T/csv1/deliveries.csv")"
"$PS" report 1 --db "$DB" | grep -q "deliveries    expected 100, delivered 100, lost 0" ||
  fail "summary of the real run"
echo "prune test passed"
