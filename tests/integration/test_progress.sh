# Live progress: on a terminal one status area is redrawn in place (a progress
# bar, rates, agents); into a file or pipe, plain timestamped lines without a
# single escape sequence; --quiet prints only the summary.
source "$(dirname "$0")/lib.sh"
need_cmd script
campaign_setup p.db
cat >"$T/p.yaml" <<YAML
name: progress
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: 400}
phases:
  - ramp: {to: 400, rate: 200/s}
  - push: {count: 100, rate: 100/s}
YAML
run() { ctl_run "$T/p.yaml" --local-agents 1 --agent-threads 1 "$@"; }
# on a pseudo-terminal (script(1) gives the controller one)
script -qec "$BIN/pushstorm run $T/p.yaml --db $T/p.db --local-agents 1 --agent-threads 1 --listen tcp://127.0.0.1:$CTL" \
  "$T/tty.out" >/dev/null
grep -q $'\033\\[5A\033\\[J' "$T/tty.out" || { cat -v "$T/tty.out" | head -30; fail "no redraw on a TTY"; }
grep -q 'connected  \[#\{30\}\] 400 / 400' "$T/tty.out" || fail "no full progress bar"
grep -q 'phase 2/2 push' "$T/tty.out"
grep -q 'agents     1/1' "$T/tty.out"
echo "ok: live status area on a TTY"
# into a file
run >"$T/plain.out" 2>&1
expect_eq "run exit" 0 "$RC"
! grep -q $'\033' "$T/plain.out" || fail "escape sequences in a file"
grep -Eq '^\[ *[0-9]+\.[0-9]s\] ramp +conn [0-9]+/400' "$T/plain.out"
echo "ok: plain timestamped lines into a file"
# --quiet: no per-second lines
run --quiet >"$T/quiet.out" 2>&1
expect_eq "run exit" 0 "$RC"
! grep -Eq '^\[ *[0-9]+\.[0-9]s\]' "$T/quiet.out" || fail "progress lines with --quiet"
grep -q '== run 3 "progress": pass' "$T/quiet.out"
echo "ok: --quiet"
stop_pid "$RP"
echo "progress test passed"
