#!/usr/bin/env bash
# bench/run-all.sh (`make bench`): every benchmark, figures printed, nothing timed
# as pass/fail. About 6 minutes on a 2-core machine. See docs/performance.md.
#
# Each run uses its own source addresses: the agent closes first, so every run
# leaves its connections in TIME_WAIT on the agent's side for 60 s, and a run
# that had to bind among 15,000 such sockets on the same addresses measured a
# third slower connects.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== one agent process, 15,000 connections, 1 event loop, 4 source addresses"
THREADS=1 SRC_IPS=127.1.1.2-127.1.1.5 bash bench/agent.sh 15000
echo
echo "== one agent process, 15,000 connections, 2 event loops, 4 source addresses"
THREADS=2 SRC_IPS=127.1.2.2-127.1.2.5 bash bench/agent.sh 15000
echo
echo "== one agent process, 12,000 connections, 1 event loop, kernel-chosen source address"
THREADS=1 HOLD=10 bash bench/agent.sh 12000
echo
echo "== connect cost and memory per connection, 15,000, 4 source addresses: refpush (1 loop),"
echo "   nginx + Nchan (1 loop and the default loops)"
THREADS=1 SRC_IPS=127.1.11.2-127.1.11.5 bash bench/connect.sh 15000
SERVER=nchan THREADS=1 SRC_IPS=127.1.12.2-127.1.12.5 bash bench/connect.sh 15000
SERVER=nchan SRC_IPS=127.1.13.2-127.1.13.5 bash bench/connect.sh 15000
echo
echo "== scale: several agents and servers on this machine"
bash bench/scale.sh
