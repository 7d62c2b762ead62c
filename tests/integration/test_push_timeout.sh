#!/usr/bin/env bash
# A push phase's `timeout` is each call's own: against a push API that takes
# the connection and never answers, calls fail after the phase's timeout (here
# 400 ms), not the default 10 s, the run says so (push_failed) and exits 1;
# the phase after it, without a timeout of its own, is back to the default
# (its one call to the same silent API is still waiting 2 s later).
source "$(dirname "$0")/lib.sh"
campaign_setup timeout.db
SILENT=$(free_port)
# a push API that accepts, reads and never answers (a few lines of Python)
python3 - "$SILENT" >"$T/silent.log" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
print("listening", flush=True)
held = []
end = time.time() + 60
s.settimeout(0.5)
while time.time() < end:
    try:
        c, _ = s.accept()
        held.append(c)
    except socket.timeout:
        pass
PY
SP=$!; PIDS+=("$SP")
wait_ready "$SP" 50 grep -qs listening "$T/silent.log" || fail "the silent push API did not start"
cat >"$T/plan.yaml" <<YAML
name: it-push-timeout
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: 20}
phases:
  - ramp: {to: 20, rate: 200/s}
  - push: {count: 3, rate: 100/s, url: "http://127.0.0.1:$SILENT/push?uid={conn}", timeout: 400ms, grace: 1s}
  - push: {count: 1, url: "http://127.0.0.1:$SILENT/push?uid={conn}", grace: 1s, deadline: 2s}
YAML
ctl_run "$T/plan.yaml" --local-agents 1 --agent-threads 1 >"$T/out.txt" 2>&1
cat "$T/out.txt"
expect_eq "run exit" 1 "$RC"
grep -q "push_failed.*FAIL" "$T/out.txt" || fail "no push_failed verdict"
last_run
expect_eq "calls of the first push phase that timed out" 3 \
  "$(q "SELECT count(*) FROM pushes WHERE run_id=$RUN AND msg_id <= 3 AND http_status=0 AND error LIKE '%timed out%'")"
slow=$(q "SELECT max(http_us) FROM pushes WHERE run_id=$RUN AND msg_id <= 3")
echo "longest call of the first phase: $slow us"
[ "$slow" -ge 350000 ] && [ "$slow" -lt 2000000 ] ||
  fail "the first phase's calls took up to $slow us, not about its 400 ms timeout"
# the second phase's call was cut by its 2 s deadline, still waiting on the default 10 s
grep -q "phase 3 (push, plan line 9) cut short: deadline 2s" "$T/out.txt" ||
  fail "the second phase's call did not keep the default timeout"
stop_pid "$RP"
