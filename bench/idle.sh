#!/usr/bin/env bash
# bench/idle.sh: what one agent costs while it holds N connections and has
# nothing to do, and what answering the server's pings costs on top.
#
# For SERVER (refpush, or nginx with the Nchan module: a server we did not
# write) three runs, each with its own agent process, controller and source
# addresses:
#   idle, 1 event loop          no pings either way, nothing sent
#   idle, default loops         the same with one loop per core
#   server pings, default loops the server pings every PING seconds; the
#                               agent only answers; refpush --ws-ping, or
#                               Nchan's nchan_websocket_ping_interval
#   agent pings, default loops  the agent pings every connection every PING
#                               seconds (heartbeat.ws_ping) and times the
#                               pongs the server sends back: what keeping a
#                               connection alive from the client side costs
# Each run ramps N connections, waits until the server has them all and
# SETTLE seconds more, then reads the agent's CPU time (utime + stime of
# /proc/PID/stat, and the nanosecond run time of every thread from
# /proc/PID/task/*/schedstat, which the figures use) over WINDOW seconds, then
# counts its system calls with `strace -c -f` over STRACE seconds (apart from
# the CPU window: strace slows what it traces).
# Figures (bench/lib.sh's `figure` lines; `make bench` compares them):
#   idle_cpu_<server>_1loop, idle_cpu_<server>_loops   agent CPU-s per 20 s
#   idle_syscalls_<server>_1loop, idle_syscalls_<server>_loops
#                             system calls per 10 s
#   ping_us_<server>          (CPU with pings - CPU idle) / pings answered;
#                             against refpush the pings it wrote in the
#                             window (its /stats ws_pings), against Nchan
#                             N * WINDOW / PING (WINDOW a multiple of PING:
#                             each connection is pinged WINDOW / PING times)
#   ping_syscalls_<server>    system calls per answered ping beyond idle
#   client_ping_us_<server>   (CPU with the agent's pings - CPU idle) / pings
#                             sent, N * WINDOW / PING
# PERF=DIR also records `perf record -g` of each run's agent for STRACE seconds
# (after the strace) into DIR/perf-TAG.txt (perf report --stdio).
# Goals (issue 12): <= 0.02 CPU-s per 20 s idle, <= 8 us per answered ping.
# Usage: bench/idle.sh [refpush|nchan] [N]   (env: PING=10 WINDOW=20 STRACE=10
#        SETTLE=3 RATE=10000 SRC_NET=127.1.20, which gives runs 127.1.20+k.2-5,
#        ENGINE=lws|native: every agent's --engine, unset the agent's default)
source "$(dirname "$0")/lib.sh"
source "$BENCH_ROOT/tests/integration/servers_nchan.sh"
SERVER=${1:-refpush}
N=${2:-15000}
PING=${PING:-10}
WINDOW=${WINDOW:-20}
STRACE_S=${STRACE:-10}
SETTLE=${SETTLE:-3}
RATE=${RATE:-10000}
SRC_NET=${SRC_NET:-127.1.20}
[ -x "$BIN/pushstorm-agent" ] || { echo "bench: build first (make)" >&2; exit 2; }
command -v strace >/dev/null || { echo "bench: strace is not installed" >&2; exit 2; }
case $SERVER in
  refpush) ;;
  nchan)
    command -v nginx >/dev/null && [ -e /usr/lib/nginx/modules/ngx_nchan_module.so ] ||
      { echo "bench: nchan needs nginx and libnginx-mod-nchan" >&2; exit 2; } ;;
  *) echo "bench: server $SERVER: want refpush or nchan" >&2; exit 2 ;;
esac

# start_server PORT PING_S: the server on PORT, pinging every PING_S s (0 = not)
start_server() {
  local port=$1 ping=$2
  if [ "$SERVER" = refpush ]; then
    local args=()
    [ "$ping" != 0 ] && args=(--ws-ping "${ping}s")
    start_refpush "$port" "${args[@]}"
    SRV=$RP
    WSURL="ws://127.0.0.1:$port/ws?uid={conn}" PUSHURL="http://127.0.0.1:$port/push?uid={conn}"
    return
  fi
  NCHAN_CONNS=19000 NCHAN_NOFILE=20000 nchan_start "$port" "$ping"
  SRV=$NX
  WSURL="ws://127.0.0.1:$port/ws?uid={conn}" PUSHURL="http://127.0.0.1:$port/pub?uid={conn}"
}

cpu_ns() {   # cpu_ns PID: run time of all its threads, ns
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%d\n", s}'
}
# ws_pings PORT: the pings refpush has written (0 for another server)
ws_pings() {
  [ "$SERVER" = refpush ] || { echo 0; return; }
  curl -s "http://127.0.0.1:$1/stats" | sed -n 's/.*"ws_pings":\([0-9]*\).*/\1/p'
}
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' /proc/"$1"/stat; }

# measure TAG THREADS PING_S K [CLIENT_PING_S]: one run, the server pinging
# every PING_S s (0: not) and the agent every CLIENT_PING_S s (unset: not);
# sets CPU_S (per WINDOW), TICKS_S, PINGS (the server's in the window),
# SYSCALLS (per STRACE window), and SC_TOP (the biggest syscall counts)
measure() {
  local tag=$1 threads=$2 ping=$3 k=$4 cping=${5:-off}
  [ "$cping" = off ] || cping=${cping}s
  local port ctl plan
  port=$(free_port); ctl=$(free_port)
  start_server "$port" "$ping"
  plan=$T/plan-$tag.yaml
  cat >"$plan" <<P
name: bench-idle-$tag
targets:
  - {ws: "$WSURL", push: "$PUSHURL"}
agents: {expect: 1, wait: 20s}
connections: {total: $N}
heartbeat: {ws_ping: $cping}
phases:
  - ramp: {to: $N, rate: $RATE/s}
  - hold: $((WINDOW + STRACE_S + SETTLE + 60))s
P
  "$BIN/pushstorm" run "$plan" --db "$T/$tag.db" --listen "tcp://127.0.0.1:$ctl" \
    >"$T/ctl-$tag.log" 2>&1 &
  local cp=$!; PIDS+=("$cp")
  local targs=()
  [ "$threads" != default ] && targs=(--threads "$threads")
  "$BIN/pushstorm-agent" --controller "tcp://127.0.0.1:$ctl" --name "idle-$tag" "${targs[@]}" \
    --source-ips "$SRC_NET.$((k + 2))-$SRC_NET.$((k + 5))" ${ENGINE:+--engine "$ENGINE"} \
    --once --quiet >"$T/agent-$tag.log" 2>&1 &
  local ap=$!; PIDS+=("$ap")
  local got=0
  for _ in $(seq 600); do
    got=$(ss -Htn state established "( dport = :$port )" | wc -l)
    [ "$got" -ge "$N" ] && break
    kill -0 "$cp" 2>/dev/null || break
    sleep 0.1
  done
  if [ "$got" -lt "$N" ]; then
    echo "bench: $tag: only $got of $N connections came up" >&2
    tail -n 20 "$T/ctl-$tag.log" "$T/agent-$tag.log" >&2; exit 1
  fi
  sleep "$SETTLE"
  local n0 t0 n1 t1 p0 p1
  p0=$(ws_pings "$port"); n0=$(cpu_ns "$ap"); t0=$(cpu_ticks "$ap")
  sleep "$WINDOW"
  n1=$(cpu_ns "$ap"); t1=$(cpu_ticks "$ap"); p1=$(ws_pings "$port")
  PINGS=$(( p1 - p0 ))
  [ "$SERVER" = refpush ] || PINGS=$(( N * WINDOW / (ping > 0 ? ping : 1) ))
  CPU_S=$(awk -v a="$n0" -v b="$n1" 'BEGIN {printf "%.4f", (b - a) / 1e9}')
  TICKS_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) / 100}')
  timeout -s INT $((STRACE_S + 5)) strace -c -f -q -p "$ap" -o "$T/strace-$tag.txt" &
  local sp=$!
  sleep "$STRACE_S"
  kill -INT "$sp" 2>/dev/null || true
  wait "$sp" 2>/dev/null || true
  SYSCALLS=$(awk '$NF == "total" {print $4}' "$T/strace-$tag.txt")
  SC_TOP=$(awk 'NR > 2 && $1 !~ /^-/ && $NF != "total" {printf "%s %s, ", $NF, $4}' \
           "$T/strace-$tag.txt" | head -c 300)
  if [ -n "${PERF:-}" ]; then
    mkdir -p "$PERF"
    timeout $((STRACE_S + 20)) perf record -q -g -F 999 -p "$ap" -o "$T/perf-$tag.data" -- sleep "$STRACE_S" \
      >/dev/null 2>&1 || true
    perf report -i "$T/perf-$tag.data" --stdio --no-children --percent-limit 0.5 >"$PERF/perf-$tag.txt" 2>&1 || true
  fi
  kill "$cp" "$ap" "$SRV" 2>/dev/null || true
  wait "$cp" "$ap" "$SRV" 2>/dev/null || true
}

per20() { awk -v c="$1" -v w="$WINDOW" 'BEGIN {printf "%.4f", c * 20 / w}'; }
per10() { awk -v c="$1" -v w="$STRACE_S" 'BEGIN {printf "%.0f", c * 10 / w}'; }
verdict() { awk -v v="$1" -v g="$2" 'BEGIN {print (v <= g ? "met" : "MISSED")}'; }
echo "idle benchmark: $N connections to $SERVER on loopback, one agent process"
for run in 1loop:1:0 loops:default:4; do
  IFS=: read -r tag threads k <<<"$run"
  measure "${SERVER}-$tag" "$threads" 0 "$k"
  c=$(per20 "$CPU_S")
  echo "  idle, $tag: $c CPU-s per 20 s (goal <= 0.02: $(verdict "$c" 0.02); /proc stat: $TICKS_S s per ${WINDOW}s)"
  echo "    $(per10 "$SYSCALLS") syscalls per 10 s: ${SC_TOP%, }"
  figure "idle_cpu_${SERVER}_$tag" "$c" "s/20s"
  figure "idle_syscalls_${SERVER}_$tag" "$(per10 "$SYSCALLS")" "calls/10s"
done
IDLE=$CPU_S IDLE_SC=$SYSCALLS   # default loops, as the ping run
measure "${SERVER}-ping" default "$PING" 8
[ "$PINGS" -gt 0 ] || { echo "bench: no ping was answered in the window" >&2; exit 1; }
PER=$(awk -v p="$CPU_S" -v i="$IDLE" -v n="$PINGS" 'BEGIN {printf "%.2f", (p - i) / n * 1e6}')
SC_PER=$(awk -v p="$SYSCALLS" -v i="$IDLE_SC" -v n="$((PINGS * STRACE_S / WINDOW))" 'BEGIN {printf "%.2f", (p - i) / n}')
echo "  server pings every ${PING}s, default loops: $(per20 "$CPU_S") CPU-s per 20 s," \
     "$PINGS pings in ${WINDOW}s ($((N * WINDOW / PING)) if every connection was pinged on time)"
echo "    $(per10 "$SYSCALLS") syscalls per 10 s: ${SC_TOP%, }"
echo "  per answered ping beyond idle: $PER us (goal <= 8 us: $(verdict "$PER" 8)), $SC_PER syscalls"
figure "ping_us_${SERVER}" "$PER" "us"
figure "ping_syscalls_${SERVER}" "$SC_PER" "calls"
measure "${SERVER}-client-ping" default 0 12 "$PING"
SENT=$((N * WINDOW / PING))
CPER=$(awk -v p="$CPU_S" -v i="$IDLE" -v n="$SENT" 'BEGIN {printf "%.2f", (p - i) / n * 1e6}')
CSC=$(awk -v p="$SYSCALLS" -v i="$IDLE_SC" -v n="$((SENT * STRACE_S / WINDOW))" 'BEGIN {printf "%.2f", (p - i) / n}')
echo "  agent pings every ${PING}s, default loops: $(per20 "$CPU_S") CPU-s per 20 s, $SENT pings in ${WINDOW}s"
echo "    $(per10 "$SYSCALLS") syscalls per 10 s: ${SC_TOP%, }"
echo "  per ping sent and its pong timed, beyond idle: $CPER us, $CSC syscalls"
figure "client_ping_us_${SERVER}" "$CPER" "us"
