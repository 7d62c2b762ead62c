# An idle agent wakes only when something is due (issue 12). During a hold,
# with no pings and nothing to do, its worker loop runs about once a second
# (the second's statistics) and, the controller's REPLY saying idle_ms, its
# control thread sends one TICK a second; before, the loop's 10 ms timer and
# the control thread's 10 ms poll woke each a hundred times a second and the
# TICKs went five times. Counted with strace -f over 4 s of the hold: every
# TICK is one sendmsg on the control socket, and epoll_wait returns once per
# loop wake-up and once per reply (nng's poller).
source "$(dirname "$0")/lib.sh"
need_dep strace
campaign_setup idle.db
cat >"$T/plan.yaml" <<YAML
name: it-idle
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: 20}
heartbeat: {ws_ping: off}
phases:
  - ramp: {to: 20, rate: 200/s}
  - hold: 10s
thresholds: {connect_success: ">= 100%"}
YAML
ctl_start "$T/plan.yaml"
agent_start a1 --threads 1
for _ in $(seq 300); do grep -q "phase 2/2: hold" "$T/run.out" && break; sleep 0.1; done
grep -q "phase 2/2: hold" "$T/run.out" || { cat "$T/run.out"; fail "no hold phase"; }
sleep 2   # the ramp's events flushed and acknowledged
timeout -s INT 4 strace -c -f -q -p "$AP" -o "$T/strace.txt" || true
calls() { awk -v s="$1" '$NF == s {print $4}' "$T/strace.txt"; }
cat "$T/strace.txt"
TICKS=$(calls sendmsg); WAITS=$(calls epoll_wait)
echo "in 4 s of the hold: ${TICKS:-0} ticks (sendmsg), ${WAITS:-0} epoll_wait"
[ "${TICKS:-0}" -ge 2 ] || fail "fewer than 2 ticks in 4 s: is the agent still talking to the controller?"
[ "${TICKS:-0}" -le 7 ] || fail "${TICKS} ticks in 4 s of an idle hold: want about one a second"
[ "${WAITS:-0}" -le 20 ] || fail "${WAITS} epoll_wait in 4 s of an idle hold: the loops poll"
ctl_wait 0
