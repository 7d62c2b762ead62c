#!/usr/bin/env bash
# Connections bound to --source-ips: every one comes from one of the agent's
# addresses, spread evenly, and binding them walks no interface list. lws
# 4.1.6 looks the source address up with getifaddrs() (a netlink dump) before
# it binds; the agent answers that lookup itself while lws dials (srcaddr.c),
# so the agent, traced with strace, opens a handful of netlink sockets in all
# (the preflight's and the hello's own walks), not one per connection.
source "$(dirname "$0")/lib.sh"
need_build
need_cmd strace
campaign_setup bind.db
N=200
cat >"$T/plan.yaml" <<YAML
name: it-source-bind
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: $N}
phases:
  - ramp: {to: $N, rate: 400/s}
  - hold: 3s
thresholds:
  connect_success: ">= 100%"
YAML
ctl_start "$T/plan.yaml"
# LeakSanitizer cannot run under ptrace (it exits 1 at the end): leaks are
# checked by every other agent test, not this traced one
ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=socket,bind -o "$T/strace.txt" \
  "$BIN/pushstorm-agent" --controller "tcp://127.0.0.1:$CTL" --name bind --once --threads 2 \
  --source-ips 127.77.12.2-127.77.12.3 >"$T/agent-bind.log" 2>&1 &
AP=$!; PIDS+=("$AP")
# while the connections are held: their local addresses, as the kernel has them
for _ in $(seq 100); do
  [ "$(ss -Htn state established "dport = :$WS" | wc -l)" -ge "$N" ] && break
  sleep 0.1
done
ss -Htn state established "dport = :$WS" | awk '{print $3}' | sed 's/:[0-9]*$//' | sort | uniq -c \
  >"$T/sources.txt"
cat "$T/sources.txt"
ctl_wait 0
wait_rc "$AP"
expect_eq "agent exit" 0 "$RC"
last_run
expect_eq "connections opened" "$N" \
  "$(q "SELECT count(DISTINCT conn) FROM conn_events WHERE run_id=$RUN AND type=1")"
expect_eq "from 127.77.12.2" 100 "$(awk '$2 == "127.77.12.2" {print $1}' "$T/sources.txt")"
expect_eq "from 127.77.12.3" 100 "$(awk '$2 == "127.77.12.3" {print $1}' "$T/sources.txt")"
expect_eq "from any other address" 0 "$(awk '$2 !~ /^127\.77\.12\.[23]$/ {n += $1} END {print n + 0}' "$T/sources.txt")"
binds=$(grep -c 'bind(.*127\.77\.12\.[23]' "$T/strace.txt" || true)
netlink=$(grep -c 'socket(AF_NETLINK' "$T/strace.txt" || true)
echo "traced: $binds binds to the source addresses, $netlink netlink sockets"
expect_eq "one bind per connection" "$N" "$binds"
[ "$netlink" -le 10 ] || fail "the agent opened $netlink netlink sockets for $N connections (an interface walk per connect)"
echo "ok: $netlink netlink sockets for $N connections"
