# servers_socketio.sh: the real Socket.IO server (tests/servers/socketio/server.js
# on the socket.io npm package, pinned by its package-lock.json), started on
# loopback for a test, the demo or a bench, and stopped by PID. Sourced after
# tests/integration/lib.sh (start_listening, PIDS, T, skip, fail).
#
#   sio_need             node and the npm packages are there, or skip/fail saying
#                        what installs them (scripts/install-deps.sh test)
#   sio_start PORT [ARGS...]   server.js on 127.0.0.1:PORT with ARGS (--ping-interval,
#                        --ping-timeout, --token, --namespace), its log in
#                        $T/socketio-PORT.log, waits until it listens; SIO its PID
#   sio_plan_head NAME PORT PUSH_QUERY AUTH   a plan's name, its one socketio target
#                        (push URL /push?uid={conn}PUSH_QUERY) and protocol_options
#                        {auth: AUTH}, as YAML lines for the caller to go on from
#   sio_stats PORT FIELD     one counter of GET /stats
#   sio_stop             SIGTERM and wait for it
SIO_DIR=$ROOT/tests/servers/socketio

sio_need() {
  local why=""
  command -v node >/dev/null || why="node is not installed (package nodejs)"
  [ -n "$why" ] || [ -f "$SIO_DIR/node_modules/socket.io/package.json" ] ||
    why="the socket.io npm package is not installed in $SIO_DIR/node_modules"
  [ -z "$why" ] && return 0
  [ -z "${PS_TEST_STRICT:-}" ] || fail "$why (make test installs it: scripts/install-deps.sh test)"
  skip "$why (scripts/install-deps.sh test installs it)"
}

sio_start() {
  local port=$1; shift
  start_listening SIO "$T/socketio-$port.log" node "$SIO_DIR/server.js" --port "$port" "$@"
}

sio_plan_head() {
  cat <<YAML
name: $1
targets:
  - ws: "ws://127.0.0.1:$2/socket.io/?EIO=4&transport=websocket"
    push: "http://127.0.0.1:$2/push?uid={conn}$3"
    protocol: socketio
protocol_options: {auth: '$4', timeout: 5s}
YAML
}

sio_stats() {
  curl -sf "http://127.0.0.1:$1/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}

sio_stop() {
  [ -n "${SIO:-}" ] || return 0
  kill -TERM "$SIO" 2>/dev/null || true
  wait "$SIO" 2>/dev/null || true
  SIO=
}
