# bench/lib.sh: shared helpers of the benchmarks (sourced, not run).
#
# Benchmarks run the optimised binaries (bin/, not the sanitizer builds), start
# every process themselves, remember its PID and stop exactly those on exit.
# Per-process CPU and memory come from /proc/PID/stat and /proc/PID/status,
# sampled by `sample_proc` into a file that the figures are computed from, so
# nothing depends on the benchmark's own timing.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
T=$(mktemp -d /tmp/pushstorm-bench.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# A port below the ephemeral range whose port+1 is free too (controller: control + data).
free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 12000))
    if ! ss -Htan "sport = :$p or sport = :$((p+1))" | grep -q .; then echo "$p"; return; fi
  done
  echo "bench: no free port" >&2; return 1
}

# start_refpush PORT [ARGS...]: sets RP to its PID.
start_refpush() {
  local port=$1; shift
  "$BIN/refpush" --port "$port" --quiet "$@" >"$T/refpush-$port.log" 2>&1 &
  RP=$!
  PIDS+=("$RP")
  for _ in $(seq 100); do grep -q listening "$T/refpush-$port.log" && return 0; sleep 0.05; done
  echo "bench: refpush on $port did not start" >&2; cat "$T/refpush-$port.log" >&2; return 1
}

# sample_proc OUT PID...: every 100 ms, one line per PID:
#   wall_us pid cpu_ticks rss_kb hwm_kb sys_ticks
# until every PID is gone. Started in the background by the caller.
sample_proc() {
  local out=$1; shift
  python3 - "$out" "$@" <<'PY'
import os, sys, time
out, pids = sys.argv[1], sys.argv[2:]
with open(out, "w") as f:
    while pids:
        now = int(time.time() * 1e6)
        alive = []
        for p in pids:
            try:
                st = open(f"/proc/{p}/stat").read()
                fields = st[st.rindex(")") + 2:].split()
                ticks = int(fields[11]) + int(fields[12])
                rss = hwm = 0
                for line in open(f"/proc/{p}/status"):
                    if line.startswith("VmRSS:"): rss = int(line.split()[1])
                    if line.startswith("VmHWM:"): hwm = int(line.split()[1])
                f.write(f"{now} {p} {ticks} {rss} {hwm} {fields[12]}\n")
                alive.append(p)
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass
        f.flush()
        pids = alive
        time.sleep(0.1)
PY
}
