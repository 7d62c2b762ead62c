# The nightly gate end to end with real campaigns against refpush:
# `run --baseline last-pass` on the first night has nothing to compare (exit as
# the run), the second night compares with the first and its exit status agrees
# with the comparison's verdict; `--baseline RUN` names the base explicitly; the
# HTML report of a real run has drawn connection and latency charts.
source "$(dirname "$0")/lib.sh"
need_agent
DB=$T/nightly.db
WS=$(free_port); CTL=$(free_port)
start_refpush "$WS"
cat >"$T/nightly.yaml" <<YAML
name: nightly
targets:
  - {ws: "ws://127.0.0.1:$WS/ws?uid={conn}", push: "http://127.0.0.1:$WS/push?uid={conn}"}
agents: {expect: 1, wait: 20s}
connections: {total: 200}
phases:
  - ramp: {to: 200, rate: 1000/s}
  - push: {count: 100, rate: 200/s}
thresholds:
  push_lost: "== 0"
YAML
night() { # night ARGS...: one run; sets RC and leaves its output in $T/night.txt
  RC=0
  "$BIN/pushstorm" run "$T/nightly.yaml" --db "$DB" --local-agents 1 --agent-threads 1 \
    --listen "tcp://127.0.0.1:$CTL" --quiet "$@" >"$T/night.txt" 2>&1 || RC=$?
  cat "$T/night.txt"
}

night --baseline last-pass
expect_eq "first night" 0 "$RC"
grep -q "no earlier passing run" "$T/night.txt"

night --baseline last-pass --max-regression 50%
grep -q '^compare: base run 1 "nightly" (pass) -> run 2 "nightly"' "$T/night.txt"
if grep -q '^verdict: REGRESSION' "$T/night.txt"; then want=1; else want=0; fi
expect_eq "second night's exit agrees with its verdict" "$want" "$RC"

night --baseline 1 --max-regression 100%
grep -q '^compare: base run 1 "nightly" (pass) -> run 3 "nightly"' "$T/night.txt"

"$BIN/pushstorm" report 3 --db "$DB" --html "$T/r3.html" --junit "$T/r3.xml"
grep -Eq '<svg id="chart-connections"[^>]*>.*<polyline [^>]*points="[0-9.]+,[0-9.]+ ' "$T/r3.html"
grep -Eq '<svg id="chart-latency"[^>]*>.*<polyline [^>]*points="[0-9.]+,[0-9.]+ ' "$T/r3.html"
expect_eq "junit test cases" 1 "$(grep -c '<testcase' "$T/r3.xml")"
echo "ok: report of a real run, $(wc -c <"$T/r3.html") bytes"
stop_pid "$RP"
