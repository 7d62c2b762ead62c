#!/usr/bin/env bash
# bench/reports.sh: how long the reports of a large run take and how big they
# are, at 100,000 and 1,000,000 connections, and what `pushstorm prune` costs.
#
# Each size is one run written by bin/bigdb through the store's own functions
# (the real schema; the shapes of the million campaign: 55 agents, a sample a
# second each, a connected and a closed event per connection plus 10%
# reconnecting, 100,000 unicast pushes and one broadcast to everyone). Then
# each format is made from it by the optimised bin/pushstorm, timed and sized;
# then a small run is added and `prune --keep 1` removes the large one (delete
# and VACUUM). Every command is bounded (timeout). Prints `figure NAME VALUE
# UNIT` lines; nothing here passes or fails on a time.
#   bench/reports.sh [SIZE...]      default: 100000 1000000
#   KEEP_TMP=1 keeps the databases
set -euo pipefail
source "$(dirname "$0")/lib.sh"
GEN=$BENCH_ROOT/bin/bigdb
PS=$PUSHSTORM_BIN/pushstorm
[ -x "$GEN" ] && [ -x "$PS" ] || { echo "bench/reports.sh: make all bin/bigdb first" >&2; exit 2; }
SIZES=${*:-100000 1000000}
LIMIT=${LIMIT:-300}

# tag 100000 -> 100k, 1000000 -> 1m
tag() { case $1 in *000000) echo "${1%000000}m" ;; *000) echo "${1%000}k" ;; *) echo "$1" ;; esac; }
figure() { printf 'figure %s %s %s\n' "$1" "$2" "$3"; }

# timed NAME CMD...: runs CMD bounded; figures NAME_time (s) and NAME_rss (MB)
timed() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$T/time.txt" timeout "$LIMIT" "$@" >"$T/out.txt" 2>"$T/err.txt" ||
    { cat "$T/err.txt" >&2; echo "bench/reports.sh: $name failed" >&2; exit 2; }
  read -r secs kb <"$T/time.txt"
  figure "${name}_time" "$secs" s
  figure "${name}_rss" "$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')" MB
}
kbytes() { du -sk --apparent-size "$1" | cut -f1; }

for n in $SIZES; do
  t=$(tag "$n") db=$T/r$t.db
  echo "== $n connections"
  timed "reports_gen_$t" "$GEN" "$db" --conns "$n" --plan "$BENCH_ROOT/plans/example-1m.yaml"
  cat "$T/out.txt"
  figure "reports_db_$t" "$(( $(kbytes "$db") / 1024 ))" MB
  for f in html json junit; do
    ext=$f; [ "$f" = junit ] && ext=xml
    timed "report_${f}_$t" "$PS" report 1 --db "$db" "--$f" "$T/r$t.$ext"
    figure "report_${f}_size_$t" "$(kbytes "$T/r$t.$ext")" KB
  done
  timed "report_csv_$t" "$PS" report 1 --db "$db" --csv "$T/csv$t"
  figure "report_csv_size_$t" "$(kbytes "$T/csv$t")" KB
  timed "report_summary_$t" "$PS" report 1 --db "$db"
  timed "report_compare_$t" "$PS" compare 1 1 --db "$db"
  # a small night after it, then prune the large one away
  "$GEN" "$db" --conns 100 --unicast 10 --agents 2 >/dev/null
  before=$(kbytes "$db")
  timed "prune_$t" "$PS" prune --db "$db" --keep 1
  sed -n '$p' "$T/out.txt"
  figure "prune_db_after_$t" "$(kbytes "$db")" KB
  [ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || { echo "bench/reports.sh: integrity" >&2; exit 2; }
  [ "$(kbytes "$db")" -lt "$before" ] || { echo "bench/reports.sh: prune did not shrink $db" >&2; exit 2; }
  rm -rf "$T/csv$t"
  [ -n "${KEEP_TMP:-}" ] || rm -f "$db" "$db-wal" "$db-shm"
done
