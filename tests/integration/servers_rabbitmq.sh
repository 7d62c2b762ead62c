# servers_rabbitmq.sh: a private RabbitMQ (Debian's rabbitmq-server) with the
# web-stomp and management plugins, for the STOMP tests, demo and bench.
# Sourced after lib.sh (it uses T, PIDS, free_port).
#
#   rabbitmq_start [DIR]   starts the broker on loopback with everything under
#                          DIR (default $T/rabbitmq): its own node name, epmd
#                          port, AMQP, distribution, web-stomp and management
#                          ports, so nothing collides with another broker or
#                          the system's service (never used). Sets RMQ_PID,
#                          RMQ_EPMD_PID, RMQ_STOMP_PORT (ws://127.0.0.1:PORT/ws),
#                          RMQ_HTTP_PORT (management API), RMQ_START_MS (start
#                          to ready) and returns once web-stomp and the API answer.
#   rabbitmq_stop          stops the broker, then its epmd, by PID (the EXIT trap
#                          of lib.sh stops them too, on every path).
#   rabbitmq_api PATH      GET on the management API (guest:guest), JSON on stdout.
#
# The broker's own script runs Erlang in the foreground and turns SIGTERM into a
# clean stop of the VM, so its PID is the one to stop. epmd is started here, in
# the foreground on its own port, rather than left for Erlang to daemonize where
# no PID of ours would reach it.
RMQ_SERVER=${RMQ_SERVER:-/usr/lib/rabbitmq/bin/rabbitmq-server}

rabbitmq_need() {
  [ -x "$RMQ_SERVER" ] && command -v epmd >/dev/null
}

rabbitmq_start() {
  local dir=${1:-$T/rabbitmq} amqp dist epmd
  mkdir -p "$dir/mnesia" "$dir/log"
  amqp=$(free_port); dist=$(free_port); epmd=$(free_port)
  RMQ_STOMP_PORT=$(free_port); RMQ_HTTP_PORT=$(free_port)
  RMQ_DIR=$dir
  cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$amqp
stomp.listeners.tcp = none
web_stomp.tcp.ip = 127.0.0.1
web_stomp.tcp.port = $RMQ_STOMP_PORT
web_stomp.ws_frame = text
management.tcp.ip = 127.0.0.1
management.tcp.port = $RMQ_HTTP_PORT
vm_memory_high_watermark.relative = 0.5
log.console = false
log.file.level = warning
EOF
  echo "[rabbitmq_management,rabbitmq_web_stomp]." >"$dir/enabled_plugins"
  local t0; t0=$(date +%s%N)
  epmd -port "$epmd" -address 127.0.0.1 >"$dir/epmd.log" 2>&1 &
  RMQ_EPMD_PID=$!; PIDS+=("$RMQ_EPMD_PID")
  # HOME: the Erlang cookie is written there; RABBITMQ_* keep all state in dir
  HOME=$dir ERL_EPMD_PORT=$epmd ERL_EPMD_ADDRESS=127.0.0.1 \
  RABBITMQ_NODENAME="pstest$$-$RANDOM@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
  RABBITMQ_NODE_PORT=$amqp RABBITMQ_DIST_PORT=$dist \
  RABBITMQ_MNESIA_BASE=$dir/mnesia RABBITMQ_LOG_BASE=$dir/log \
  RABBITMQ_CONFIG_FILE=$dir/rabbitmq RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config \
  RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins RABBITMQ_PID_FILE=$dir/pid \
  RABBITMQ_CONF_ENV_FILE=$dir/none.env \
    "$RMQ_SERVER" >"$dir/server.log" 2>&1 &
  RMQ_PID=$!; PIDS+=("$RMQ_PID")
  local i
  for i in $(seq 600); do
    if curl -sf -u guest:guest "http://127.0.0.1:$RMQ_HTTP_PORT/api/overview" >/dev/null 2>&1 &&
       curl -s -o /dev/null "http://127.0.0.1:$RMQ_STOMP_PORT/ws" 2>/dev/null; then
      RMQ_START_MS=$((($(date +%s%N) - t0) / 1000000))
      return 0
    fi
    kill -0 "$RMQ_PID" 2>/dev/null || break
    sleep 0.1
  done
  tail -20 "$dir/server.log" >&2; tail -20 "$dir"/log/*.log >&2 2>/dev/null || true
  echo "rabbitmq did not become ready in $dir" >&2; return 1
}

rabbitmq_stop() {
  if [ -n "${RMQ_PID:-}" ]; then
    kill -TERM "$RMQ_PID" 2>/dev/null || true
    wait "$RMQ_PID" 2>/dev/null || true
    RMQ_PID=
  fi
  if [ -n "${RMQ_EPMD_PID:-}" ]; then
    kill -TERM "$RMQ_EPMD_PID" 2>/dev/null || true
    wait "$RMQ_EPMD_PID" 2>/dev/null || true
    RMQ_EPMD_PID=
  fi
}

rabbitmq_api() {
  curl -sf -u guest:guest "http://127.0.0.1:$RMQ_HTTP_PORT$1"
}
