# The nightly gate end to end with real campaigns against refpush:
# `run --baseline last-pass` on the first night has nothing to compare (exit as
# the run), the second night compares with the first and its exit status agrees
# with the comparison's verdict; a third night against a lossy refpush (three
# pushes swallowed by /admin/drop) passes its own thresholds and must be turned
# red (exit 1) by the gate alone; `--baseline RUN` names the base explicitly;
# the HTML report of a real run has drawn connection and latency charts.
source "$(dirname "$0")/lib.sh"
campaign_setup nightly.db
# nightly PLAN-FILE THRESHOLDS...: the night's plan; every night has the same
# name, so that last-pass finds the earlier nights
nightly() {
  local f=$1; shift
  cat >"$f" <<YAML
name: nightly
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: 200}
phases:
  - ramp: {to: 200, rate: 1000/s}
  - push: {count: 100, rate: 200/s}
thresholds:
YAML
  printf '  %s\n' "$@" >>"$f"
}
nightly "$T/nightly.yaml" 'push_lost: "== 0"'
night() { # night PLAN ARGS...: one run; sets RC and leaves its output in $T/night.txt
  ctl_run "$@" --local-agents 1 --agent-threads 1 --quiet >"$T/night.txt" 2>&1
  cat "$T/night.txt"
}

night "$T/nightly.yaml" --baseline last-pass
expect_eq "first night" 0 "$RC"
grep -q "no earlier passing run" "$T/night.txt"

# Two clean nights: loss and delivery cannot differ, timing figures may.
night "$T/nightly.yaml" --baseline last-pass --max-regression 50%
grep -q '^compare: base run 1 "nightly" (pass) -> run 2 "nightly"' "$T/night.txt"
grep -Eq '^push lost +0 +0 +0  same$' "$T/night.txt" || fail "push lost is not 0 on both nights"
grep -Eq '^push delivered +100\.000% +100\.000% +.*  same$' "$T/night.txt" ||
  fail "push delivered is not 100% on both nights"
if grep -q '^verdict: REGRESSION' "$T/night.txt"; then
  want=1
  grep -Eq '^verdict: REGRESSION: [0-9]+ figures? worse than base by more than 50%: ((connect rate|handshake p50|handshake p99|push latency p50|push latency p99)(, |$))+$' \
    "$T/night.txt" || fail "a clean night regressed on more than timing"
else
  want=0; grep -q '^verdict: no regression past 50%$' "$T/night.txt"
fi
expect_eq "second night's exit agrees with its verdict" "$want" "$RC"

# The lossy night: no loss threshold in its plan, so its own verdict is pass;
# the three lost messages (from none on the base) are what the gate must see,
# whatever the limit.
curl -sf -X POST "http://127.0.0.1:$WS/admin/drop?nth=10,20,30" | grep -q '"armed":3'
nightly "$T/lossy.yaml" 'connect_success: ">= 100%"'
night "$T/lossy.yaml" --baseline last-pass --max-regression 100%
last_run
expect_eq "lossy night: run" 3 "$RUN"
expect_eq "lossy night: its own verdict" pass "$(q "SELECT status FROM runs WHERE id=$RUN")"
expect_eq "lossy night: lost" 3 "$(fig push_lost)"
grep -q '^compare: base run 2 "nightly" (pass) -> run 3 "nightly" (pass)' "$T/night.txt"
grep -Eq '^push lost +0 +3 +new  REGRESSED$' "$T/night.txt" || fail "push lost not gated"
grep -q '^verdict: REGRESSION: .*push lost' "$T/night.txt"
expect_eq "lossy night's exit (the gate's)" 1 "$RC"
curl -sf -X POST "http://127.0.0.1:$WS/admin/drop?nth=" | grep -q '"armed":0'

night "$T/nightly.yaml" --baseline 1 --max-regression 100%
grep -q '^compare: base run 1 "nightly" (pass) -> run 4 "nightly"' "$T/night.txt"

"$BIN/pushstorm" report 4 --db "$DB" --html "$T/r4.html" --junit "$T/r4.xml"
grep -Eq '<svg id="chart-connections"[^>]*>.*<polyline [^>]*points="[0-9.]+,[0-9.]+ ' "$T/r4.html"
grep -Eq '<svg id="chart-latency"[^>]*>.*<polyline [^>]*points="[0-9.]+,[0-9.]+ ' "$T/r4.html"
expect_eq "junit test cases" 1 "$(grep -c '<testcase' "$T/r4.xml")"
echo "ok: report of a real run, $(wc -c <"$T/r4.html") bytes"
stop_pid "$RP"
