# The gRPC push service of the grpc adapter's tests (tests/servers/grpc/server.py
# on Debian's python3-grpcio), on loopback with its own port, stopped by PID.
# Sourced after lib.sh.

# grpc_server_start PORT REFPUSH_PORT [server.py args...]: GS is its PID; its
# counters land in $T/grpc-stats-PORT.json when grpc_server_stop stops it.
grpc_server_start() {
  local port=$1 rp=$2; shift 2
  /usr/bin/python3 -c "import grpc" 2>/dev/null || {
    [ -z "${PS_TEST_STRICT:-}" ] || fail "python3-grpcio is not installed (make test installs it)"
    skip "python3-grpcio is not installed (scripts/install-deps.sh test installs it)"
  }
  start_listening GS "$T/grpc-$port.log" /usr/bin/python3 "$ROOT/tests/servers/grpc/server.py" \
    --port "$port" --refpush "127.0.0.1:$rp" --stats "$T/grpc-stats-$port.json" "$@"
}

# grpc_server_stop PORT: SIGTERM to GS and wait; then grpc_stat PORT NAME reads a counter.
grpc_server_stop() { stop_pid "$GS"; }
grpc_stat() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$T/grpc-stats-$1.json" "$2"; }
