# bench/lib.sh: shared helpers of the benchmarks (sourced, not run).
#
# Benchmarks run the optimised binaries (bin/, not the sanitizer builds), start
# every process themselves, remember its PID and stop exactly those on exit.
# Per-process CPU and memory come from /proc/PID/stat and /proc/PID/status,
# sampled by `sample_proc` into a file that the figures are computed from, so
# nothing depends on the benchmark's own timing.
#
# The temp dir, PID cleanup, free_port and start_refpush are the integration
# tests' own (tests/integration/lib.sh), pointed at the optimised binaries;
# KEEP_TMP=1 keeps the temp dir.
#
# ENGINE=lws|native: the agent's WebSocket engine, passed as --engine ENGINE
# to every agent a benchmark starts (each writes ${ENGINE:+--engine "$ENGINE"}
# where it starts one); unset, nothing is passed and the agent's default holds.
#
# Figures `make bench` keeps: a benchmark prints each one as a line
#   figure NAME VALUE UNIT
# (the `figure` function below): NAME is one word ([A-Za-z0-9_.-], unique
# across all benchmarks, so it says what was measured and how, e.g.
# idle_cpu_nchan_1loop), VALUE a plain number, UNIT one word (s/20s, us, B).
# bench/run-all.sh collects every such line of every benchmark, whatever
# printed it, into build/bench/last.txt as NAME=VALUE UNIT lines (the run
# before it moves to build/bench/previous.txt) and prints each figure as
# previous -> now with the change in %, so a new figure needs nothing but
# its line. `figures_compare` below does that.
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PUSHSTORM_BIN=${BIN:-$BENCH_ROOT/bin}
source "$BENCH_ROOT/tests/integration/lib.sh"

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

# proto_bench_run PLAN STOP [PID...]: the run of one protocol benchmark
# (bench/proto_*.sh): the controller on PLAN (database $T/bench.db, log
# $T/ctl.log), one agent (--threads 1, started here so that AGENT is its PID)
# and sample_proc of the agent and PIDs (the server's) into $T/samples. Once
# the agent is done, STOP, the caller's function that reads the server's
# counters and stops it, so that the sampler ends with it. RUN_RC is the
# controller's exit status; a failed run says so with the tail of its log and
# the caller decides whether its figures still count.
proto_bench_run() {
  local plan=$1 stop=$2 ctl ctlpid sampler
  shift 2
  ctl=$(free_port)
  "$BIN/pushstorm" run "$plan" --db "$T/bench.db" --listen "tcp://127.0.0.1:$ctl" >"$T/ctl.log" 2>&1 &
  ctlpid=$!; PIDS+=("$ctlpid")
  "$BIN/pushstorm-agent" --controller "tcp://127.0.0.1:$ctl" --name bench --threads 1 \
    ${ENGINE:+--engine "$ENGINE"} --once --quiet >"$T/agent.log" 2>&1 &
  AGENT=$!; PIDS+=("$AGENT")
  sample_proc "$T/samples" "$AGENT" "$@" &
  sampler=$!
  RUN_RC=0; wait "$ctlpid" || RUN_RC=$?
  wait "$AGENT" 2>/dev/null || true
  "$stop"
  wait "$sampler" 2>/dev/null || true
  [ "$RUN_RC" = 0 ] && return 0
  echo "bench: the run failed (exit $RUN_RC)" >&2
  tail -30 "$T/ctl.log" >&2
}

# proto_bench_figures N SERVER_PID [NAME=VALUE...] <REPORT: the figures of the
# run proto_bench_run made, by bench/proto_figures.py (what it measures is
# listed there): REPORT is the benchmark's own lines, Python format strings
# over those measures and the NAME=VALUE fields ({{ and }} for a brace);
# SERVER_PID 0 when the server was not sampled.
proto_bench_figures() {
  python3 "$BENCH_ROOT/bench/proto_figures.py" "$T/bench.db" "$T/samples" "$AGENT" "$@"
}

# make_test_certs DIR: a throwaway CA (DIR/ca.pem) and an ECDSA P-256 server
# certificate it signed for 127.0.0.1 and localhost (DIR/srv.pem, DIR/srv.key).
make_test_certs() {
  local d=$1 ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  {
    openssl req -x509 "${ec[@]}" -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj "/CN=bench CA" &&
    openssl req "${ec[@]}" -keyout "$d/srv.key" -out "$d/srv.csr" -subj "/CN=localhost" &&
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$d/srv.ext" &&
    openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
      -out "$d/srv.pem" -days 2 -extfile "$d/srv.ext"
  } >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; echo "bench: openssl failed" >&2; exit 2; }
}

# figure NAME VALUE UNIT: one figure for `make bench` to keep and compare
figure() { printf 'figure %s %s %s\n' "$1" "$2" "$3"; }

# figures_compare LOG LAST: the `figure` lines of LOG against LAST (NAME=VALUE
# UNIT lines of the previous run, if any), printed as previous -> now; LAST is
# then replaced by this run's figures and the old one kept as LAST's
# previous.txt sibling.
figures_compare() {
  local log=$1 last=$2
  mkdir -p "$(dirname "$last")"
  python3 - "$log" "$last" <<'PY'
import os, re, sys
log, last = sys.argv[1], sys.argv[2]
line = re.compile(r"^figure ([A-Za-z0-9_.-]+) (-?[0-9.]+(?:e-?[0-9]+)?|nan|inf) (\S+)\s*$")
now = {}
for l in open(log, errors="replace"):
    m = line.match(l.strip())
    if m:
        now[m.group(1)] = (float(m.group(2)), m.group(3))
prev = {}
if os.path.exists(last):
    for l in open(last):
        k, _, rest = l.strip().partition("=")
        v, _, unit = rest.partition(" ")
        try:
            prev[k] = (float(v), unit)
        except ValueError:
            pass
print(f"figures: {len(now)} this run, against {'the previous run' if prev else 'nothing (first run)'}")
for k in sorted(set(now) | set(prev)):
    if k not in now:
        print(f"  {k:<40} {prev[k][0]:g} {prev[k][1]} -> (not measured this run)")
        continue
    v, unit = now[k]
    if k not in prev:
        print(f"  {k:<40} {v:g} {unit} (new)")
        continue
    p = prev[k][0]
    change = f"{(v - p) / abs(p) * 100:+.1f}%" if p else ("+0.0%" if v == p else "from 0")
    print(f"  {k:<40} {p:g} -> {v:g} {unit} ({change})")
if os.path.exists(last):
    os.replace(last, os.path.join(os.path.dirname(last), "previous.txt"))
with open(last, "w") as f:
    for k in sorted(now):
        f.write(f"{k}={now[k][0]:g} {now[k][1]}\n")
PY
}
