# A monitor agent on the "server under test" (refpush) joins the run, follows
# the refpush process by name, and its per-second host and process figures
# land in monitor_samples, in the progress lines and in the HTML report.
source "$(dirname "$0")/lib.sh"
need_build
# refpush under a name of its own (under the 15 characters a process name
# keeps), so that another refpush on this machine cannot be the one followed
NAME=rpmon$$
mkdir -p "$T/mon-bin" && cp "$BIN/refpush" "$T/mon-bin/$NAME"
REFPUSH=$T/mon-bin/$NAME campaign_setup mon.db
cat >"$T/mon.yaml" <<YAML
name: monitored
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: 300}
phases:
  - ramp: {to: 300, rate: 1000/s}
  - hold: 3s
  - push: {count: 50, rate: 100/s}
YAML
ctl_start "$T/mon.yaml" --local-agents 1 --agent-threads 1
agent_start srv1 --monitor --process "$NAME"; MON=$AP
ctl_wait 0
grep -q "monitor 1 joined: srv1" "$T/run.out"
grep -q "srv1 cpu [0-9]*% rss " "$T/run.out"
last_run
expect_eq "monitor registered as such" 1 "$(q "SELECT count(*) FROM agents WHERE run_id=$RUN AND monitor=1")"
n=$(q "SELECT count(*) FROM monitor_samples WHERE run_id=$RUN")
[ "$n" -ge 4 ] || fail "only $n monitor samples"
expect_eq "followed the refpush process" "$RP" \
  "$(q "SELECT DISTINCT proc_pid FROM monitor_samples WHERE run_id=$RUN AND proc_pid>0")"
# refpush held 300 connections during the hold: its fd count shows it
expect_eq "refpush fds seen above 300" 1 \
  "$(q "SELECT max(proc_fds) > 300 AND max(proc_rss_bytes) > 0 AND max(tcp_inuse) >= 600 FROM monitor_samples WHERE run_id=$RUN")"
expect_eq "no sample for a load agent" 0 \
  "$(q "SELECT count(*) FROM monitor_samples m JOIN agents a ON a.run_id=m.run_id AND a.agent_id=m.agent_id WHERE m.run_id=$RUN AND a.monitor=0")"
"$BIN/pushstorm" report "$RUN" --db "$DB" --html "$T/r.html" >/dev/null
grep -qi "server" "$T/r.html"
grep -q "proc_cpu_pct\|proc cpu\|process CPU" "$T/r.html"
# started with --once: it leaves by itself when the run ends
for _ in $(seq 50); do kill -0 "$MON" 2>/dev/null || break; sleep 0.1; done
wait_rc "$MON"
expect_eq "monitor --once exit after its run" 0 "$RC"
stop_pid "$RP"
echo "monitor test passed"
