#!/usr/bin/env bash
# `make test`: unit tests (cmocka, ASan/UBSan builds) then integration tests
# (tests/integration/test_*.sh, each a real campaign against refpush on loopback
# or in network namespaces). Each integration script is one test. Ends with the
# line "N passed, N failed".
#
# What `make test` builds must be there: a unit test binary missing for a
# tests/unit source is a failure, and PS_TEST_STRICT makes an integration test
# fail, not skip, when a program it needs is not built. Skips remain for what
# the machine lacks (root for namespaces, chromium, script, prlimit). The
# libFuzzer targets run between the two, 20 s each (tests/fuzz/run.sh).
set -u
cd "$(dirname "$0")/.."
pass=0; fail=0; skip=0; failed=()
export PS_TEST_STRICT=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}

echo "== unit tests"
for src in tests/unit/test_*.c tests/unit/*/test_*.c; do
  [ -f "$src" ] || continue
  t=${src#tests/unit/}; t=bin/tests/${t%.c}
  if [ ! -x "$t" ]; then fail=$((fail + 1)); failed+=("$t"); echo "FAIL $t: not built"; fi
done
for t in bin/tests/test_* bin/tests/*/test_*; do
  [ -x "$t" ] || continue
  out=$("$t" 2>&1); rc=$?
  p=$(grep -Eo '\[  PASSED  \] [0-9]+' <<<"$out" | grep -Eo '[0-9]+$' | tail -1)
  f=$(grep -Eo '\[  FAILED  \] [0-9]+' <<<"$out" | grep -Eo '[0-9]+$' | tail -1)
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
  if [ $rc -ne 0 ]; then
    echo "$out" | tail -40
    [ -z "${f:-}" ] && fail=$((fail + 1))
    failed+=("$t"); echo "FAIL $t"
  else
    echo "ok   $t (${p:-0} tests)"
  fi
done

# Each libFuzzer target (tests/fuzz/fuzz_*.c) is one test: its seed corpus
# and regression inputs, then FUZZ_TEST_SECONDS of fuzzing without a finding.
# One not built (no clang or libFuzzer) fails like any missing build product.
echo "== fuzz targets"
for src in tests/fuzz/fuzz_*.c; do
  [ -f "$src" ] || continue
  t=$(basename "$src" .c)
  if [ ! -x "bin/fuzz/$t" ]; then
    if [ -n "${PS_TEST_STRICT:-}" ]; then
      fail=$((fail + 1)); failed+=("bin/fuzz/$t"); echo "FAIL bin/fuzz/$t: not built (clang, libFuzzer: make test-deps)"
    else
      skip=$((skip + 1)); echo "skip bin/fuzz/$t: not built"
    fi
    continue
  fi
  if tests/fuzz/run.sh "${FUZZ_TEST_SECONDS:-20}" "bin/fuzz/$t"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); failed+=("bin/fuzz/$t")
  fi
done

echo "== integration tests"
for t in tests/integration/test_*.sh; do
  [ -f "$t" ] || continue
  log=$(mktemp /tmp/pushstorm-test.XXXXXX)
  start=$(date +%s)
  rc=0; timeout 600 bash "$t" >"$log" 2>&1 || rc=$?
  if [ $rc -eq 0 ]; then
    pass=$((pass + 1)); echo "ok   $t ($(( $(date +%s) - start ))s)"
  elif [ $rc -eq 77 ]; then
    skip=$((skip + 1)); echo "skip $t: $(tail -1 "$log")"
  else
    fail=$((fail + 1)); failed+=("$t"); echo "FAIL $t ($(( $(date +%s) - start ))s)"; tail -60 "$log"
  fi
  rm -f "$log"
done

[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
