# A results database on a disk that fills during a run (issue 11, item 6), on a
# real 4 MB tmpfs: the run ends with exit 2 and one line naming the database
# file and SQLite's error, the agent is told to stop (it leaves by itself, with
# --once), the run is recorded failed where the disk still takes that one
# write, and what was committed before stays (PRAGMA integrity_check, the
# earlier run's rows). Two fills: to the last byte during a hold (nothing can
# be written any more: the run stays `running`, and the controller says it
# could not mark it), and during a push with 300 KB left (a WAL commit fails
# part-way; rolled back, the failed status fits). Needs root (mount).
source "$(dirname "$0")/lib.sh"
need_build
[ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
MNT=$T/mnt
mkdir -p "$MNT"
mount -t tmpfs -o size=4m tmpfs "$MNT" 2>/dev/null || skip "cannot mount a tmpfs here"
full_cleanup() { cleanup_mnt; cleanup; }
cleanup_mnt() { umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true; }
trap full_cleanup EXIT

campaign_setup unused.db
DB=$MNT/results.db
plan() { # plan FILE NAME CONNS PHASE...
  local f=$1 name=$2 n=$3 ph; shift 3
  { echo "name: $name"; echo "targets:"; echo "  - $TARGET"; echo "agents: {expect: 1, wait: 20s}"
    echo "connections: {total: $n}"; echo "phases:"; echo "  - ramp: {to: $n, rate: 1000/s}"
    for ph in "$@"; do echo "  - $ph"; done; } >"$f"
}
# fill_when PHASE LEAVE: once the controller shows PHASE, fills the disk to LEAVE bytes free
fill_when() {
  for _ in $(seq 200); do grep -q "$1" "$T/run.out" && break; sleep 0.1; done
  grep -q "$1" "$T/run.out" || { cat "$T/run.out"; fail "the run never reached $1"; }
  local avail; avail=$(df --output=avail -B1 "$MNT" | tail -1)
  if [ "$2" = 0 ]; then dd if=/dev/zero of="$MNT/fill" bs=64k 2>/dev/null || true
  else dd if=/dev/zero of="$MNT/fill" bs=4096 count=$(( (avail - $2) / 4096 )) 2>/dev/null; fi
  echo "filled: $(df --output=avail -B1 "$MNT" | tail -1) bytes left"
}
DISK_LINE="^pushstorm: $DB: database (commit|write) failed: database or disk is full\$"

# 1. a run that completes: what it committed must survive the failures below
plan "$T/ok.yaml" it-disk-ok 20 "hold: 1s"
ctl_run "$T/ok.yaml" --local-agents 1 --agent-threads 1 >"$T/ok.out" 2>&1
expect_eq "first run exit" 0 "$RC"
EV1=$(q "SELECT count(*) FROM conn_events WHERE run_id=1")
[ "$EV1" -ge 20 ] || fail "first run stored $EV1 events"

# 2. the disk fills to the last byte during a hold
plan "$T/hold.yaml" it-disk-hold 50 "hold: 8s" "push: {mode: broadcast, count: 5, rate: 10/s}"
ctl_start "$T/hold.yaml"
agent_start hold
fill_when "phase 2/3" 0
wait_rc "$CP"; cat "$T/run.out"
expect_eq "hold: controller exit" 2 "$RC"
expect_eq "hold: lines naming the file and the error" 1 "$(grep -cE "$DISK_LINE" "$T/run.out")"
grep -q "phases done" "$T/run.out" && fail "the phases went on after the disk filled"
grep -q "pass (exit 0)" "$T/run.out" && fail "a summary says pass"
for _ in $(seq 100); do kill -0 "$AP" 2>/dev/null || break; sleep 0.1; done
kill -0 "$AP" 2>/dev/null && fail "the agent was not told to stop"
wait_rc "$AP"
expect_eq "hold: agent exit (told to stop)" 0 "$RC"
rm -f "$MNT/fill"
expect_eq "hold: integrity" ok "$(q "PRAGMA integrity_check")"
expect_eq "first run still pass" pass "$(q "SELECT status FROM runs WHERE id=1")"
expect_eq "first run's events kept" "$EV1" "$(q "SELECT count(*) FROM conn_events WHERE run_id=1")"
# the run's reserve (store_reserve.c) gives the failed status its room even on a full disk
expect_eq "hold: run recorded failed" failed "$(q "SELECT status FROM runs WHERE id=2")"

# 3. the disk fills during a push, 300 KB left: a WAL commit fails part-way
plan "$T/push.yaml" it-disk-push 200 "push: {mode: broadcast, count: 100, rate: 20/s}"
ctl_start "$T/push.yaml" --local-agents 1 --agent-threads 1
fill_when "phase 2/2" 300000
wait_rc "$CP"; cat "$T/run.out"
expect_eq "push: controller exit" 2 "$RC"
expect_eq "push: lines naming the file and the error" 1 "$(grep -cE "$DISK_LINE" "$T/run.out")"
expect_eq "push: run recorded failed" failed "$(q "SELECT status FROM runs WHERE id=3")"
q "SELECT reason FROM runs WHERE id=3" | grep -q "database or disk is full"
grep -q "failed (exit 2)" "$T/run.out" || fail "the summary does not say failed (exit 2)"
rm -f "$MNT/fill"
expect_eq "push: integrity" ok "$(q "PRAGMA integrity_check")"
expect_eq "first run's events kept" "$EV1" "$(q "SELECT count(*) FROM conn_events WHERE run_id=1")"
[ "$(q "SELECT count(*) FROM deliveries WHERE run_id=3")" -gt 0 ] || fail "no delivery committed before"
san=$(grep -cE "AddressSanitizer|LeakSanitizer|runtime error" "$T/run.out" || true)
expect_eq "sanitizer reports" 0 "$san"
stop_pid "$RP"
echo "disk full test passed"
