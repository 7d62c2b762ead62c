#!/usr/bin/env bash
# Runs cmocka unit test binaries and prints their totals (used by `make unit`).
set -u
pass=0; fail=0
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  p=$(grep -Eo '\[  PASSED  \] [0-9]+' <<<"$out" | grep -Eo '[0-9]+$' | tail -1)
  f=$(grep -Eo '\[  FAILED  \] [0-9]+' <<<"$out" | grep -Eo '[0-9]+$' | tail -1)
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
  if [ $rc -ne 0 ]; then
    echo "$out"
    [ -z "${f:-}" ] && fail=$((fail + 1))
    echo "FAIL $t"
  else
    echo "ok   $t (${p:-0} tests)"
  fi
done
echo "unit: $pass passed, $fail failed"
[ $fail -eq 0 ]
