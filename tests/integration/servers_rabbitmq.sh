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
#                          to ready), RMQ_PUBLISH and RMQ_AUTH (the publish call's
#                          URL and headers) and returns once web-stomp and the
#                          API answer.
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
collect_statistics_interval = 500
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
  if wait_ready "$RMQ_PID" 600 rabbitmq_ready; then
    RMQ_START_MS=$((($(date +%s%N) - t0) / 1000000))
    RMQ_PUBLISH="http://127.0.0.1:$RMQ_HTTP_PORT/api/exchanges/%2F/amq.topic/publish"
    RMQ_AUTH='headers: {Authorization: "Basic Z3Vlc3Q6Z3Vlc3Q="}'
    return 0
  fi
  tail -20 "$dir/server.log" >&2; tail -20 "$dir"/log/*.log >&2 2>/dev/null || true
  echo "rabbitmq did not become ready in $dir" >&2; return 1
}

# ready once both the management API and web-stomp answer
rabbitmq_ready() {
  curl -sf -u guest:guest "http://127.0.0.1:$RMQ_HTTP_PORT/api/overview" >/dev/null 2>&1 &&
    curl -s -o /dev/null "http://127.0.0.1:$RMQ_STOMP_PORT/ws" 2>/dev/null
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

# rabbitmq_stomp_plan NAME CONNS [PASSCODE [SUBSCRIBE [SERVER_HB]]]: the head of
# a plan (name, the broker's STOMP target, protocol_options, connections) for
# the test, the demo and the bench. SUBSCRIBE is a YAML list (default: each
# connection's own destination and a shared one); pushes and broadcasts go to
# the management API's publish call (RMQ_PUBLISH, RMQ_AUTH: its headers, both
# set by rabbitmq_start).
rabbitmq_stomp_plan() {
  local subs='["/exchange/amq.topic/u.{conn}", "/exchange/amq.topic/all"]'
  cat <<EOF
name: $1
targets:
  - ws: "ws://127.0.0.1:$RMQ_STOMP_PORT/ws"
    protocol: stomp
    push: "$RMQ_PUBLISH"
    broadcast: "$RMQ_PUBLISH"
protocol_options:
  user: guest
  password: ${3:-guest}
  vhost: "/"
  subscribe: ${4:-$subs}
  ack: client
  keepalive: 10s
  server_heartbeat: ${5:-10s}
  timeout: 30s
connections: {total: $2}
EOF
}

# rabbitmq_body KEY: a publish call's JSON body routing {msg} to KEY (u.{conn}, all), quoted for YAML
rabbitmq_body() {
  printf "'{\"properties\":{},\"routing_key\":\"%s\",\"payload\":\"{msg}\",\"payload_encoding\":\"string\"}'" "$1"
}
