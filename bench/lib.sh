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
