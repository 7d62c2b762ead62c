#!/usr/bin/env bash
# bench/run-all.sh (`make bench`): every benchmark, figures printed, nothing timed
# as pass/fail. About 15 minutes on a 2-core machine. See docs/performance.md.
#
# Each run uses its own source addresses: the agent closes first, so every run
# leaves its connections in TIME_WAIT on the agent's side for 60 s, and a run
# that had to bind among 15,000 such sockets on the same addresses measured a
# third slower connects.
#
# Every `figure NAME VALUE UNIT` line a benchmark prints (bench/lib.sh) is
# kept in build/bench/last.txt and compared with the previous run's at the
# end: previous -> now, change in %.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
LOG=build/bench/run.log
mkdir -p build/bench
: >"$LOG"
run() { "$@" 2>&1 | tee -a "$LOG"; }
echo "== one agent process, 15,000 connections, 1 event loop, 4 source addresses"
THREADS=1 SRC_IPS=127.1.1.2-127.1.1.5 run bash bench/agent.sh 15000
echo
echo "== one agent process, 15,000 connections, 2 event loops, 4 source addresses"
THREADS=2 SRC_IPS=127.1.2.2-127.1.2.5 run bash bench/agent.sh 15000
echo
echo "== one agent process, 12,000 connections, 1 event loop, kernel-chosen source address"
THREADS=1 HOLD=10 run bash bench/agent.sh 12000
echo
echo "== idle and server pings: 15,000 connections held, refpush, then nginx + Nchan"
SRC_NET=127.1.20 run bash bench/idle.sh refpush 15000
if [ -e /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
  SRC_NET=127.1.40 run bash bench/idle.sh nchan 15000
else
  echo "(nginx's Nchan module is not installed: make test-deps installs it)"
fi
echo
echo "== connect cost and memory per connection, 15,000, 4 source addresses: refpush (1 loop),"
echo "   nginx + Nchan (1 loop and the default loops)"
THREADS=1 SRC_IPS=127.1.11.2-127.1.11.5 run bash bench/connect.sh 15000
SERVER=nchan THREADS=1 SRC_IPS=127.1.12.2-127.1.12.5 run bash bench/connect.sh 15000
SERVER=nchan SRC_IPS=127.1.13.2-127.1.13.5 run bash bench/connect.sh 15000
echo
echo "== broadcast fan-out: refpush and agent CPU per frame, 15,000 connections, 20 broadcasts"
SRC_IPS=127.1.90.2-127.1.90.5 run bash bench/fanout.sh 15000
echo
echo "== scale: several agents and servers on this machine"
run bash bench/scale.sh
echo
echo "== reports and prune of generated 100,000- and 1,000,000-connection runs"
run bash bench/reports.sh
echo
echo "== controller ingest: 50 synthetic agents, 1,000,000 connections, one broadcast to all"
LIMIT=240 run bash bench/ingest.sh
echo
echo "== figures"
figures_compare "$LOG" build/bench/last.txt
