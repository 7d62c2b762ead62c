#!/usr/bin/env bash
# bench/tls.sh: what TLS costs one agent: the same agent benchmark (bench/agent.sh)
# over ws and over wss against the same refpush, N connections each (default
# 10,000), one event loop, each on its own source addresses (see run-all.sh on
# TIME_WAIT), each ending with every connection closed and reconnected
# (RESUME=1). Over wss the ramp's connects are full TLS handshakes (ECDSA
# P-256, TLS 1.3) and the reconnections resume the target's session, so the
# differences between the two runs are what TLS costs:
#   RSS per wss connection        wss RSS growth per connection - ws's
#   CPU per 1,000 full handshakes wss ramp CPU per 1,000 - ws's (the TLS part)
#   CPU per 1,000 resumed         wss reconnect CPU per 1,000 - ws's
#   CPU per received message      wss and ws side by side
# Goals (issue 10): <= 8 KB RSS growth per wss connection, >= 2,000 full
# handshakes/s per agent core (<= 0.5 s CPU per 1,000). Not a timed test.
# ENGINE (bench/agent.sh) goes through to both runs.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
command -v openssl >/dev/null || { echo "bench: openssl is not installed" >&2; exit 2; }
FIG_DIR=$(mktemp -d)
trap 'rm -rf "$FIG_DIR"' EXIT
echo "== ws, N=$N"
RESUME=1 FIGS=$FIG_DIR/ws.json THREADS=1 HOLD=${HOLD:-10} SRC_IPS=127.1.5.2-127.1.5.5 \
  bash bench/agent.sh "$N"
echo
echo "== wss, N=$N"
RESUME=1 FIGS=$FIG_DIR/wss.json TLS=1 THREADS=1 HOLD=${HOLD:-10} SRC_IPS=127.1.6.2-127.1.6.5 \
  bash bench/agent.sh "$N"
echo
python3 - "$FIG_DIR/ws.json" "$FIG_DIR/wss.json" <<'PY'
import json, sys
ws, wss = (json.load(open(p)) for p in sys.argv[1:3])
def line(name, value, goal="", ok=True):
    print(f"  {name:<36} {value:<34} {goal and 'goal ' + goal:<14} {'' if not goal else 'met' if ok else 'MISSED'}")
print(f"TLS cost, wss - ws, N={wss['n']}:")
rss = wss["rss_growth_per_conn"]
line("RSS growth per connection", f"{rss:.0f} B wss, {ws['rss_growth_per_conn']:.0f} B ws", "<= 8192 B", rss <= 8192)
line("  at the end of the hold", f"{wss['rss_held_per_conn']:.0f} B wss, {ws['rss_held_per_conn']:.0f} B ws")
full = wss["ramp_cpu_per_1000"] - ws["ramp_cpu_per_1000"]
line("CPU per 1,000 full handshakes", f"{full:.3f} s ({1000 / full if full > 0 else float('inf'):,.0f}/s per core)",
     "<= 0.5 s", full <= 0.5)
if "reconnect_cpu_per_1000" in wss and "reconnect_cpu_per_1000" in ws:
    res = wss["reconnect_cpu_per_1000"] - ws["reconnect_cpu_per_1000"]
    line("CPU per 1,000 resumed handshakes", f"{res:.3f} s ({1000 / res if res > 0 else float('inf'):,.0f}/s per core)")
    print(f"  (resumed {wss['tls_resumed'] or 0:.0f} of {wss['reconnects']} reconnections; "
          f"full {wss['tls_full'] or 0:.0f})")
line("CPU per received message", f"{wss['cpu_per_msg_us']:.2f} us wss, {ws['cpu_per_msg_us']:.2f} us ws")
PY
