#!/usr/bin/env bash
# Reports stay aggregate as runs grow: two runs of the same length, agents
# and phases, 1,000 and 100,000 connections (with a unicast push to each and
# a broadcast), written by bin/bigdb through the store's own functions. The
# HTML, JSON, JUnit and text summary of the large run must be about the size
# of the small run's (series per second, one row per agent, phase and
# threshold, never per connection or message) and under fixed bounds; the CSV
# export is the one format that is whole tables, and its deliveries.csv must
# hold every delivery. Sizes and row counts, not times: nothing here is timed.
source "$(dirname "$0")/lib.sh"
GEN=$ROOT/bin/bigdb
need_build "$GEN"
need_dep sqlite3
PS=$BIN/pushstorm
DB=$T/size.db
for n in 1000 100000; do
  "$GEN" "$DB" --conns $n --unicast $n --agents 55 --seconds 300 --plan "$ROOT/plans/example-1m.yaml"
done
expect_eq "deliveries of the large run" 199900 "$(q "SELECT count(*) FROM deliveries WHERE run_id=2")"

for r in 1 2; do
  "$PS" report $r --db "$DB" --html "$T/r$r.html" --json "$T/r$r.json" --junit "$T/r$r.xml" \
    --csv "$T/csv$r" 2>/dev/null
  "$PS" report $r --db "$DB" >"$T/r$r.txt"
done
"$PS" compare 1 2 --db "$DB" >"$T/cmp.txt" || true
size() { stat -c %s "$1"; }
rows() { grep -o "<tr" "$1" | wc -l; }
for f in html json xml txt; do
  small=$(size "$T/r1.$f") large=$(size "$T/r2.$f")
  echo "report .$f: 1,000 connections $small bytes, 100,000 connections $large bytes"
  # the same page with bigger numbers in it: a few per cent, never x100
  [ "$large" -le $((small * 5 / 4 + 2048)) ] ||
    fail ".$f grew with connections: $small -> $large bytes"
done
[ "$(size "$T/r2.html")" -lt $((300 * 1024)) ] || fail "HTML over 300 KB: $(size "$T/r2.html")"
[ "$(size "$T/r2.json")" -lt $((64 * 1024)) ] || fail "JSON over 64 KB: $(size "$T/r2.json")"
[ "$(size "$T/cmp.txt")" -lt 4096 ] || fail "compare output over 4 KB"
# table rows: one per agent, phase and threshold (plus headers), the same in both
expect_eq "HTML table rows, 100,000 vs 1,000 connections" "$(rows "$T/r1.html")" "$(rows "$T/r2.html")"
[ "$(rows "$T/r2.html")" -lt 100 ] || fail "$(rows "$T/r2.html") table rows for 55 agents"
# chart points: the per-pixel decimation bounds them whatever the data
pts=$(grep -o 'points="[^"]*"' "$T/r2.html" | tr ' ' '\n' | grep -c , || true)
[ "$pts" -lt 20000 ] || fail "$pts chart points"
python3 - "$T/r2.json" <<'PY' || fail "JSON shape"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["agents"]) == 55, len(d["agents"])
assert len(d["failures"]) <= 8, d["failures"]
assert d["figures"]["conn_opened"] == 100000
print("json: %d agents, %d phases, %d failure rows" % (len(d["agents"]), len(d["phases"]), len(d["failures"])))
PY
# CSV: counts per event type and reason; whole tables where the doc says so
[ "$(wc -l <"$T/csv2/conn_events_summary.csv")" -le 8 ] || fail "conn_events_summary.csv per connection"
expect_eq "deliveries.csv rows (header + every delivery)" 199901 "$(wc -l <"$T/csv2/deliveries.csv")"
echo "report size test passed"
