#!/usr/bin/env bash
# Runs libFuzzer targets for a bounded time each:
#   tests/fuzz/run.sh SECONDS bin/fuzz/fuzz_NAME...
# Seeds come from tests/fuzz/corpus/NAME/ (kept in git, with every input that
# once crashed a target: each run replays them all first, so a fixed bug that
# comes back fails at once). New inputs libFuzzer finds go to a work corpus:
# build/fuzz/corpus/NAME/ when FUZZ_KEEP=1 (`make fuzz`, so long runs build on
# each other), else a temporary directory (`make test`, the same run every
# time, from seed 1). A crash, leak, timeout or failed check exits non-zero and leaves the
# input in build/fuzz/crashes/NAME/; copy it into the seed corpus as a
# regression once the bug is fixed (docs/build.md, "Fuzzing"). Exit status: 0 when every
# target ran its time without a finding.
set -u
cd "$(dirname "$0")/../.."
secs=${1:?usage: tests/fuzz/run.sh SECONDS BINARY...}
shift
status=0
for bin in "$@"; do
  t=$(basename "$bin"); name=${t#fuzz_}
  seeds=tests/fuzz/corpus/$name
  crashes=build/fuzz/crashes/$name
  if [ ! -x "$bin" ]; then
    echo "FAIL $t: $bin not built (make fuzz-build; needs clang and libFuzzer)"; status=1; continue
  fi
  if [ ! -d "$seeds" ]; then
    echo "FAIL $t: no seed corpus $seeds"; status=1; continue
  fi
  # make test fixes the seed, so every CI run walks the same inputs (a finding
  # there is a regression, reproducible); `make fuzz` explores with fresh seeds.
  if [ "${FUZZ_KEEP:-0}" = 1 ]; then
    work=build/fuzz/corpus/$name; tmp=; seed=0
  else
    tmp=$(mktemp -d /tmp/pushstorm-fuzz.XXXXXX); work=$tmp; seed=1
  fi
  mkdir -p "$work" "$crashes"
  log=$(mktemp /tmp/pushstorm-fuzz-log.XXXXXX)
  start=$(date +%s)
  # -timeout: one input taking this long is a hang; -rss_limit_mb: the machine is shared
  rc=0
  timeout $((secs + 120)) "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1536 -seed=$seed \
    -print_final_stats=1 -artifact_prefix="$crashes/" "$work" "$seeds" >"$log" 2>&1 || rc=$?
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "ok   $t ($(( $(date +%s) - start ))s, ${runs:-?} inputs, ${cov:-cov: ?}, $(ls "$seeds" | wc -l) seeds)"
  else
    status=1
    echo "FAIL $t (exit $rc): the input is in $crashes/"
    grep -E 'ERROR|SUMMARY|fuzz_[a-z_]+: |Test unit written|==[0-9]+==' "$log" | head -20
    tail -30 "$log"
  fi
  rm -f "$log"
  [ -n "$tmp" ] && rm -rf "$tmp"
done
exit $status
