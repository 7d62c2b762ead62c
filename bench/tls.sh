#!/usr/bin/env bash
# bench/tls.sh: what TLS costs one agent: the same agent benchmark (bench/agent.sh)
# over ws and over wss against the same refpush, N connections each (default
# 10,000), one event loop, each on its own source addresses (see run-all.sh on
# TIME_WAIT). Compare "RSS growth per connection" and "CPU per 1,000 connects"
# (over wss every connect is a full TLS handshake: ECDSA P-256, TLS 1.3).
# Goals (issue 10): <= 8 KB RSS growth per wss connection, >= 2,000 full
# handshakes/s per agent core (<= 0.5 s CPU per 1,000). Not a timed test.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
command -v openssl >/dev/null || { echo "bench: openssl is not installed" >&2; exit 2; }
echo "== ws, N=$N"
THREADS=1 HOLD=${HOLD:-10} SRC_IPS=127.1.5.2-127.1.5.5 bash bench/agent.sh "$N"
echo
echo "== wss, N=$N"
TLS=1 THREADS=1 HOLD=${HOLD:-10} SRC_IPS=127.1.6.2-127.1.6.5 bash bench/agent.sh "$N"
