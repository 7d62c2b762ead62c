# Reports, run history and the regression gate, read from a results database:
# `runs`, `report --html/--json/--csv/--junit`, `compare`, `run --baseline`, and
# bad input (unknown runs, a newer schema, a corrupted file: exit 2, no file
# replaced). The database schema is created by pushstorm itself (a run whose
# agents never come); finished runs are then written into it with sqlite3, so
# this test needs no agent. The HTML report is rendered in headless Chromium
# (screenshot kept in $ARTIFACTS, default build/artifacts) and its DOM checked
# for non-empty charts; without Chromium the test ends with exit 77 (skipped)
# after the other checks have passed.
source "$(dirname "$0")/lib.sh"
need_build
DB=$T/reports.db
ART=${ARTIFACTS:-$ROOT/build/artifacts}
PS=$BIN/pushstorm

# 1. The schema, from pushstorm: a run that fails for want of agents (run 1).
CTL=$(free_port)
cat >"$T/lonely.yaml" <<'YAML'
name: lonely
targets:
  - {ws: "ws://127.0.0.1:1/ws?uid={conn}", push: "http://127.0.0.1:1/push?uid={conn}"}
agents: {expect: 1, wait: 1s}
connections: {total: 10}
phases:
  - ramp: {to: 10, rate: 10/s}
thresholds:
  push_lost: "== 0"
YAML
rc=0; "$PS" run "$T/lonely.yaml" --db "$DB" --listen "tcp://127.0.0.1:$CTL" --quiet >"$T/out.txt" 2>&1 || rc=$?
expect_eq "run without agents" 2 "$rc"

# 2. Finished runs of plan "nightly": synth_run ID STATUS LATENCY_SCALE CONNECT_SUCCESS
PLAN_TEXT=$(cat <<'YAML'
name: nightly
targets:
  - {ws: "ws://127.0.0.1:8080/ws?uid={conn}", push: "http://127.0.0.1:8080/push?uid={conn}"}
agents: {expect: 2}
connections: {total: 1000}
reconnect: {min: 1s, max: 5s}
phases:
  - ramp: {to: 1000, rate: 100/s}
  - hold: 10s
  - push: {count: 100, rate: 10/s}
  - exec: {command: "true", expect_reconnect: 99%, within: 10s}
  - push: {count: 100, rate: 10/s}
thresholds:
  connect_success: ">= 99%"
  push_lost: "== 0"
  push_latency_p99: "< 10ms"
YAML
)
T0=1767225600000000   # 2026-01-01 00:00:00 UTC, in microseconds
synth_run() {
  local id=$1 status=$2 scale=$3 success=$4 start=$((T0 + ($1 - 2) * 86400000000))
  local p99; p99=$(python3 -c "print(int(6000*$scale))")
  local p99_pass=$([ "$p99" -lt 10000 ] && echo 1 || echo 0)
  local cs_pass=$(python3 -c "print(1 if $success >= 0.99 else 0)")
  sqlite3 -batch "$DB" <<SQL
BEGIN;
INSERT INTO runs VALUES($id, 'nightly', 'plans/nightly.yaml', '$(printf '%s' "$PLAN_TEXT" | sed "s/'/''/g")',
  $start, $start + 60000000, '$status', $([ "$status" = pass ] && echo 0 || echo 1), NULL, 1000);
INSERT INTO agents(run_id, agent_id, name, host, monitor, joined_us, conn_first, conn_count, offset_us,
  offset_err_us, start_skew_us, lost_us) VALUES
  ($id, 1, 'agent-a', 'load1', 0, $start, 0, 500, 1200, 40, 300, NULL),
  ($id, 2, 'agent-b', 'load2', 0, $start, 500, 500, -800, 55, 120, NULL);
INSERT INTO phases VALUES ($id, 1, 'ramp', 7, $start, $start + 10000000, '1000 connected of 1000'),
  ($id, 2, 'hold', 8, $start + 10000000, $start + 20000000, ''),
  ($id, 3, 'push', 9, $start + 20000000, $start + 35000000, '100 messages'),
  ($id, 4, 'exec', 10, $start + 35000000, $start + 40000000, ''),
  ($id, 5, 'push', 11, $start + 40000000, $start + 55000000, '100 messages');
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 59), a(id) AS (VALUES (1), (2))
INSERT INTO samples(run_id, agent_id, second, connected, connecting, opened, failed, closed, messages,
  lag_max_us, cpu_pct, rss_bytes, saturated)
  SELECT $id, a.id, $start / 1000000 + s.i,
    CASE WHEN s.i BETWEEN 36 AND 37 THEN 200 + (s.i - 36) * 150 ELSE min(s.i * 50, 500) END,
    0, min(s.i * 50, 500) + CASE WHEN s.i >= 36 THEN min((s.i - 35) * 150, 300) ELSE 0 END,
    min(s.i, 10) * a.id, CASE WHEN s.i >= 36 THEN 300 ELSE 0 END, s.i * 3, 200 * a.id, 12.5, 50000000, 0
  FROM s, a;
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 59)
INSERT INTO ctl_samples SELECT $id, $start / 1000000 + s.i,
  CASE WHEN s.i BETWEEN 36 AND 37 THEN 400 + (s.i - 36) * 300 ELSE min(s.i * 100, 1000) END,
  2, min(s.i * 100, 1000), 0, 0, 0, 0, 0, 0, 0 FROM s;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 29)
INSERT INTO conn_events SELECT $id, 1 + i % 2, i, $start + 1000000 + i * 10000, 2, CASE WHEN i < 20 THEN 1 ELSE 2 END, 0 FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 299)
INSERT INTO conn_events SELECT $id, 1 + i % 2, i, $start + 35500000 + i * 1000, 3, 10, 1001 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
INSERT INTO pushes SELECT $id, i, 'unicast', i * 5, $start + CASE WHEN i <= 100 THEN 20000000 + i * 100000
  ELSE 40000000 + (i - 100) * 100000 END, 'http://127.0.0.1:8080/push?uid=' || (i * 5), 200, 900, NULL,
  1, 1, 0, 0, 0, 0, 'http', 200 FROM n;
INSERT INTO deliveries SELECT $id, msg_id, conn, t_send_us + CAST((1000 + (msg_id * 37) % 5000) * $scale AS INTEGER),
  CAST((1000 + (msg_id * 37) % 5000) * $scale AS INTEGER), 50, 0, 0 FROM pushes WHERE run_id = $id;
INSERT INTO figures VALUES ($id, 'conn_target', 1000), ($id, 'conn_opened', 1000 * $success),
  ($id, 'connect_success', $success), ($id, 'conn_failed_events', 30), ($id, 'conn_closed_events', 300),
  ($id, 'handshakes', 1300), ($id, 'handshake_p50_us', 2000), ($id, 'handshake_p99_us', 9000),
  ($id, 'pushes_sent', 200), ($id, 'push_failed', 0), ($id, 'push_expected', 200),
  ($id, 'push_delivered', 200), ($id, 'push_lost', 0), ($id, 'push_missed_offline', 0),
  ($id, 'push_agent_lost', 0), ($id, 'push_duplicates', 0), ($id, 'push_latency_p50_us', 3500 * $scale),
  ($id, 'push_latency_p99_us', $p99), ($id, 'push_latency_max_us', 6100 * $scale),
  ($id, 'agents', 2), ($id, 'agents_lost', 0), ($id, 'reason_server_close', 300),
  ($id, 'phase4_reconnect_p50_s', 0.8), ($id, 'phase4_reconnect_p90_s', 1.6),
  ($id, 'phase4_reconnect_p99_s', 2.9), ($id, 'phase4_reconnect_p100_s', 4.2);
INSERT INTO thresholds VALUES ($id, 'connect_success', '>= 99%', $success, $cs_pass),
  ($id, 'push_lost', '== 0', 0, 1), ($id, 'push_latency_p99', '< 10ms', $p99, $p99_pass);
COMMIT;
SQL
}
synth_run 2 pass 1.0 1.0     # the baseline
synth_run 3 pass 1.05 1.0    # 5% slower: within a 10% limit
synth_run 4 fail 1.7 0.95    # 70% slower, connect success 95%: a red night
expect_eq "runs in the database" 4 "$(q "SELECT count(*) FROM runs")"

# 3. pushstorm runs: id, name, start, duration, connections, verdict.
"$PS" runs --db "$DB" >"$T/runs.txt"
cat "$T/runs.txt"
grep -Eq '^2 +nightly +2026-01-01 00:00:00 +60.0s +1000/1000 +pass' "$T/runs.txt"
grep -Eq '^4 +nightly .* +950/1000 +fail' "$T/runs.txt"
grep -Eq '^1 +lonely .* failed' "$T/runs.txt"

# 4. One report in every format.
mkdir -p "$T/csv"
"$PS" report 2 --db "$DB" --html "$T/r2.html" --json "$T/r2.json" --junit "$T/r2.xml" --csv "$T/csv" 2>"$T/wrote.txt"
cat "$T/wrote.txt"
python3 - "$T/r2.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "pushstorm-report/1", d["format"]
assert d["run"]["id"] == 2 and d["run"]["status"] == "pass"
assert d["figures"]["push_latency_p99_us"] == 6000, d["figures"]
assert [t["pass"] for t in d["thresholds"]] == [True, True, True]
assert len(d["agents"]) == 2 and d["agents"][1]["offset_us"] == -800
assert {"event": "failed", "reason": "refused", "count": 20} in d["failures"], d["failures"]
print("ok: json report parses and carries figures, thresholds, agents, failures")
PY
expect_eq "junit test cases" 3 "$(grep -c '<testcase' "$T/r2.xml")"
expect_eq "junit failures of a passing run" 0 "$(grep -c '<failure' "$T/r2.xml")"
python3 -c "import sys, xml.dom.minidom as m; m.parse(sys.argv[1])" "$T/r2.xml"
for f in samples ctl_samples pushes deliveries undelivered conn_events_summary figures thresholds agents phases; do
  [ -s "$T/csv/$f.csv" ] || { echo "FAIL: $f.csv missing"; exit 1; }
done
expect_eq "samples.csv rows (header + 2 agents x 60 s)" 121 "$(wc -l <"$T/csv/samples.csv")"
expect_eq "deliveries.csv rows" 201 "$(wc -l <"$T/csv/deliveries.csv")"
grep -q '^2,closed,server_close,300,300,' "$T/csv/conn_events_summary.csv"
[ ! -e "$T/csv/monitor_samples.csv" ] || { echo "FAIL: monitor_samples.csv without the table"; exit 1; }
grep -q '<svg id="chart-connections"' "$T/r2.html"
grep -Eq '<polyline [^>]*points="[0-9.]+,[0-9.]+ [0-9.]+,[0-9.]+' "$T/r2.html"
! grep -Eiq '<script|<link|@import|url\(' "$T/r2.html" || { echo "FAIL: the HTML report is not self-contained"; exit 1; }
! grep -q 'id="server"' "$T/r2.html" || { echo "FAIL: server section without monitor_samples"; exit 1; }
echo "ok: html $(wc -c <"$T/r2.html") bytes, self-contained"

# --json without a file goes to stdout; nothing else is printed there.
"$PS" report 3 --db "$DB" --json | python3 -c "import json,sys; assert json.load(sys.stdin)['run']['id'] == 3"
echo "ok: --json to stdout"

# A failed threshold is a <failure>; a run that could not be carried out an <error>.
"$PS" report 4 --db "$DB" --junit "$T/r4.xml" 2>/dev/null
expect_eq "junit failures of run 4" 2 "$(grep -c '<failure type="threshold"' "$T/r4.xml")"
grep -q 'name="push_latency_p99".*' "$T/r4.xml"
"$PS" report 1 --db "$DB" --junit "$T/r1.xml" 2>/dev/null
grep -q '<error type="run" message="0 of 1 agents joined' "$T/r1.xml" || { cat "$T/r1.xml"; exit 1; }
echo "ok: junit failure and error elements"

# Server metrics appear once a monitor_samples table has rows for the run.
cp "$DB" "$T/mon.db"
# Three of its columns are filled; the others stay NULL and draw no chart.
sqlite3 "$T/mon.db" "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 59)
  INSERT INTO monitor_samples(run_id, agent_id, second, host_cpu_pct, proc_rss_bytes, tcp_inuse)
  SELECT 2, 3, $T0 / 1000000 + i, 20 + i % 7, 100000000 + i * 1000000, i * 17 FROM s;"
"$PS" report 2 --db "$T/mon.db" --html "$T/mon.html" --csv "$T/moncsv" 2>/dev/null
grep -q 'id="server"' "$T/mon.html"
expect_eq "server charts" 3 "$(grep -o '<svg id="chart-server-' "$T/mon.html" | wc -l)"
expect_eq "monitor_samples.csv rows" 61 "$(wc -l <"$T/moncsv/monitor_samples.csv")"
"$PS" report 3 --db "$T/mon.db" --html "$T/mon3.html" 2>/dev/null
! grep -q 'id="server"' "$T/mon3.html" || { echo "FAIL: server section for a run without monitor rows"; exit 1; }
echo "ok: server metrics only where monitor_samples has rows"

# 5. compare: exit 0 within the limit, 1 past it, 2 for an unknown run. The
# limit without the noise floor first (5% slower is within the default floor);
# then with it.
rc=0; "$PS" compare 2 3 --db "$DB" --noise-floor 0 --noise-floor-rel 0 >"$T/cmp.txt" || rc=$?
cat "$T/cmp.txt"; expect_eq "compare 5% slower" 0 "$rc"
grep -q 'push latency p99 .*worse, within limit' "$T/cmp.txt"
rc=0; "$PS" compare 2 3 --db "$DB" >"$T/cmp.txt" || rc=$?
expect_eq "compare 5% slower, default noise floor" 0 "$rc"
grep -q 'push latency p99 .*same (within noise)' "$T/cmp.txt"
rc=0; "$PS" compare 2 4 --db "$DB" >"$T/cmp.txt" || rc=$?
cat "$T/cmp.txt"; expect_eq "compare 70% slower" 1 "$rc"
grep -q 'push latency p99 .*REGRESSED' "$T/cmp.txt"
grep -q '^verdict: REGRESSION' "$T/cmp.txt"
rc=0; "$PS" compare 2 4 --db "$DB" --max-regression 80% >/dev/null || rc=$?
expect_eq "compare 70% slower, limit 80%" 0 "$rc"
rc=0; "$PS" compare 2 99 --db "$DB" >/dev/null 2>"$T/e.txt" || rc=$?
expect_eq "compare unknown run" 2 "$rc"; grep -q "no run 99" "$T/e.txt"
rc=0; "$PS" compare 2 --db "$DB" 2>/dev/null || rc=$?
expect_eq "compare with one run" 2 "$rc"
rc=0; "$PS" compare 2 3 --db "$DB" --max-regression 10 2>"$T/e.txt" || rc=$?
expect_eq "compare --max-regression 10 (no %)" 2 "$rc"; cat "$T/e.txt"

# 6. Bad input: exit 2, clear message, no report file created or replaced.
echo "previous report" >"$T/keep.html"
rc=0; "$PS" report 99 --db "$DB" --html "$T/keep.html" 2>"$T/e.txt" || rc=$?
expect_eq "report of an unknown run" 2 "$rc"; grep -q "no run 99" "$T/e.txt"
expect_eq "unknown run: file kept" "previous report" "$(cat "$T/keep.html")"
rc=0; "$PS" report 99 --db "$DB" --csv "$T/nocsv" 2>/dev/null || rc=$?
expect_eq "csv of an unknown run" 2 "$rc"
[ ! -e "$T/nocsv" ] || { echo "FAIL: --csv of an unknown run created its directory"; exit 1; }

cp "$DB" "$T/newer.db"
sqlite3 "$T/newer.db" "UPDATE meta SET value='99' WHERE key='schema_version'"
sum_before=$(md5sum <"$T/newer.db")
for cmd in "runs" "report 2 --html $T/keep.html" "compare 2 3"; do
  rc=0; "$PS" $cmd --db "$T/newer.db" >/dev/null 2>"$T/e.txt" || rc=$?
  expect_eq "newer schema: $cmd" 2 "$rc"; grep -q "newer pushstorm (schema 99" "$T/e.txt"
done
expect_eq "newer schema: database untouched" "$sum_before" "$(md5sum <"$T/newer.db")"
expect_eq "newer schema: file kept" "previous report" "$(cat "$T/keep.html")"

# Damaged databases. meta.db: the page of the meta table (page 2) is garbage, so
# no command can even check the schema. data.db: pages of the big tables are
# garbage (a third to five sixths of the file); the runs table still reads, but every report that reads samples,
# deliveries or events must fail rather than report half a run.
cp "$DB" "$T/meta.db"; cp "$DB" "$T/data.db"
pages=$(( $(stat -c %s "$DB") / 4096 ))
head -c 4096 /dev/zero | tr '\0' g >"$T/garbage"   # page type 'g': never a valid b-tree page
dd if="$T/garbage" of="$T/meta.db" bs=4096 seek=1 count=1 conv=notrunc status=none
for p in $(seq $(( pages / 3 )) $(( pages * 5 / 6 ))); do
  dd if="$T/garbage" of="$T/data.db" bs=4096 seek="$p" count=1 conv=notrunc status=none
done
sum_meta=$(md5sum <"$T/meta.db"); sum_data=$(md5sum <"$T/data.db")
for cmd in "runs" "report 2" "report 2 --html $T/keep.html" "report 2 --junit $T/keep.html" \
           "report 2 --csv $T/keep-csv" "compare 2 3"; do
  rc=0; "$PS" $cmd --db "$T/meta.db" >/dev/null 2>"$T/e.txt" || rc=$?
  expect_eq "damaged meta page: $cmd" 2 "$rc"; grep -q "malformed" "$T/e.txt" || { cat "$T/e.txt"; exit 1; }
done
rc=0; "$PS" run "$T/lonely.yaml" --db "$T/meta.db" --listen "tcp://127.0.0.1:$CTL" >/dev/null 2>"$T/e.txt" || rc=$?
expect_eq "run into a damaged database" 2 "$rc"; grep -q "malformed" "$T/e.txt"
for fmt in "--html $T/keep.html" "--json $T/keep.html" "--csv $T/keep-csv"; do
  rc=0; "$PS" report 2 --db "$T/data.db" $fmt 2>"$T/e.txt" || rc=$?
  expect_eq "damaged data pages: report $fmt" 2 "$rc"; cat "$T/e.txt"
  grep -q "malformed" "$T/e.txt"
done
rc=0; "$PS" compare 2 3 --db "$T/data.db" >/dev/null 2>"$T/e.txt" || rc=$?
expect_eq "damaged data pages: compare" 2 "$rc"; grep -q "malformed" "$T/e.txt"
expect_eq "damaged databases: report file kept" "previous report" "$(cat "$T/keep.html")"
[ -z "$(ls "$T/keep-csv" 2>/dev/null)" ] || { echo "FAIL: CSV files from a damaged database"; exit 1; }
expect_eq "damaged meta page: database untouched" "$sum_meta" "$(md5sum <"$T/meta.db")"
expect_eq "damaged data pages: database untouched" "$sum_data" "$(md5sum <"$T/data.db")"
! ls "$T"/keep.html.tmp* "$T"/keep-csv/*.tmp* 2>/dev/null || { echo "FAIL: temporary file left behind"; exit 1; }

# 7. run --baseline: a baseline that does not exist fails before the run (no run
# recorded); last-pass without agents: the run fails (2) and nothing is compared.
n_before=$(q "SELECT count(*) FROM runs")
rc=0; "$PS" run "$T/lonely.yaml" --db "$DB" --baseline 999 --listen "tcp://127.0.0.1:$CTL" >/dev/null 2>"$T/e.txt" || rc=$?
expect_eq "run --baseline 999" 2 "$rc"; grep -q "no run 999" "$T/e.txt"
expect_eq "run --baseline 999 recorded nothing" "$n_before" "$(q "SELECT count(*) FROM runs")"
rc=0; "$PS" run "$T/lonely.yaml" --db "$DB" --baseline yesterday 2>"$T/e.txt" || rc=$?
expect_eq "run --baseline yesterday" 2 "$rc"; grep -q "expected last-pass or a run id" "$T/e.txt"
rc=0; "$PS" run "$T/lonely.yaml" --db "$DB" --baseline last-pass --listen "tcp://127.0.0.1:$CTL" --quiet >"$T/out.txt" 2>&1 || rc=$?
expect_eq "run --baseline last-pass without agents" 2 "$rc"
! grep -q "^compare:" "$T/out.txt" || { echo "FAIL: a failed run was compared"; exit 1; }

# 8. The HTML report in a real browser: screenshot kept, charts present and drawn.
mkdir -p "$ART"
cp "$T/r2.html" "$ART/report-run2.html"
# chromium is installed by `make test` (scripts/install-deps.sh test) when it can be.
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || skip "chromium is not installed (scripts/install-deps.sh test installs it; the other checks passed)"
CHROME_ARGS=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars
             --user-data-dir="$T/chrome" --no-first-run)
timeout 120 "$CHROMIUM" "${CHROME_ARGS[@]}" --window-size=1100,4200 --screenshot="$ART/report-run2.png" \
  "file://$T/r2.html" >"$T/chrome.log" 2>&1 || { cat "$T/chrome.log"; exit 1; }
[ -s "$ART/report-run2.png" ] || { echo "FAIL: no screenshot"; cat "$T/chrome.log"; exit 1; }
timeout 120 "$CHROMIUM" "${CHROME_ARGS[@]}" --dump-dom "file://$T/r2.html" >"$T/dom.html" 2>"$T/chrome.log" \
  || { cat "$T/chrome.log"; exit 1; }
python3 - "$T/dom.html" <<'PY'
import re, sys
dom = open(sys.argv[1]).read()
svgs = dict(re.findall(r'<svg id="([^"]+)"(.*?)</svg>', dom, re.S))
want = ["chart-connections", "chart-connect-rate", "chart-failures", "chart-reconnect",
        "chart-latency", "chart-histogram"]
for w in want:
    assert w in svgs, "chart %s missing from the rendered page (have %s)" % (w, sorted(svgs))
    body = svgs[w]
    shapes = re.findall(r'<polyline[^>]*points="([^"]*)"', body)
    rects = re.findall(r'<rect[^>]*width="([0-9.]+)"', body)
    drawn = sum(1 for p in shapes if len(p.split()) >= 2) + sum(1 for r in rects if float(r) > 0)
    assert drawn > 0, "chart %s is empty" % w
    print("ok: %s drawn (%d polylines, %d bars)" % (w, len(shapes), len(rects)))
PY
echo "ok: screenshot $ART/report-run2.png ($(stat -c %s "$ART/report-run2.png") bytes)"
