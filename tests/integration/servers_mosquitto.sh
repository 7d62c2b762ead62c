# Debian's mosquitto broker for the tests of the mqtt push adapter, on loopback
# in the test's temp dir with its own port, stopped by PID (lib.sh's cleanup).
# Sourced after lib.sh.

# mosquitto_start PORT [CONF_LINE...]: a broker on 127.0.0.1:PORT with its
# config, log and no persistence under $T; MQ is its PID. Extra lines are
# appended to its config (allow_anonymous, password_file, ...).
mosquitto_start() {
  local port=$1; shift
  need_dep mosquitto
  local conf=$T/mosquitto-$port.conf
  {
    echo "listener $port 127.0.0.1"
    echo "persistence false"
    echo "log_dest file $T/mosquitto-$port.log"
    echo "log_type error"
    echo "log_type warning"
    echo "log_type notice"
    # the adapter's QoS 1 messages in flight are the campaign's concurrency
    echo "max_inflight_messages 0"
    echo "max_queued_messages 0"
    [ $# -gt 0 ] && printf '%s\n' "$@" || echo "allow_anonymous true"
  } >"$conf"
  mosquitto -c "$conf" >"$T/mosquitto-$port.out" 2>&1 &
  MQ=$!; PIDS+=("$MQ")
  wait_ready "$MQ" 100 port_listens "$port" && return 0
  cat "$T/mosquitto-$port.out" "$T/mosquitto-$port.log" >&2 2>/dev/null || true
  fail "mosquitto did not start on port $port"
}

# mqtt_bridge_start MQTT_PORT REFPUSH_PORT PREFIX SHARED: mosquitto_sub on
# PREFIX/# and SHARED at QoS 1, its lines (what the broker delivered) in
# $T/arrived.txt, each forwarded to refpush by tests/servers/mqtt_push/bridge.py;
# MB is the pipeline's PID (a subshell: stopped by PID, it stops both).
mqtt_bridge_start() {
  need_dep mosquitto_sub
  : >"$T/arrived.txt"
  ( exec > >(exec /usr/bin/python3 "$ROOT/tests/servers/mqtt_push/bridge.py" --refpush "127.0.0.1:$2" \
               --prefix "$3" --shared "$4" --log "$T/arrived.txt" >"$T/bridge.log" 2>&1)
    exec mosquitto_sub -h 127.0.0.1 -p "$1" -q 1 -v -i pushstorm-test-sub -t "$3/#" -t "$4" \
      -t pushstorm-probe ) &
  MB=$!; PIDS+=("$MB")
  # subscribed once a probe published after it comes back
  for _ in $(seq 50); do
    mosquitto_pub -h 127.0.0.1 -p "$1" -q 1 -t pushstorm-probe -m probe 2>/dev/null || true
    sleep 0.2
    grep -q "probe arrived" "$T/bridge.log" 2>/dev/null && return 0
  done
  fail "the mqtt bridge did not start: $(cat "$T/bridge.log" 2>/dev/null)"
}

# ---- the agents' side: mqtt over WebSocket (the mqtt dialect's tests, demo and bench)

# mosquitto_ws_start [USER PASSWORD]: the same broker with a websockets
# listener on MQ_WS as well (the agents connect there, subprotocol mqtt) and
# its plain listener on MQ_PORT (the push adapter, and $SYS reading).
# Anonymous clients are allowed unless USER and PASSWORD are given, then only
# that user (a password file made with mosquitto_passwd). $SYS is published
# every second so that mq_sys reads counters soon after a campaign. With
# MQ_DEBUG=1 the log (MQ_LOG) has every packet: the tests count the PUBACKs
# the broker received in it. A subscriber's window of unacknowledged QoS 1
# messages is mosquitto's default (20), not mosquitto_start's unlimited one.
#
# Every websockets client is one descriptor in mosquitto's libwebsockets
# context, which is sized from RLIMIT_NOFILE when it starts
# (max_connections is unlimited, -1, by default): the soft limit is raised to
# the hard one first, and a hard limit below MQ_CONNS_MAX (default 5000) fails.
mosquitto_ws_start() {
  need_dep mosquitto
  need_dep mosquitto_sub
  local lim
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  lim=$(ulimit -n)
  [ "$lim" = unlimited ] || [ "$lim" -ge "${MQ_CONNS_MAX:-5000}" ] ||
    fail "open files limit $lim is below ${MQ_CONNS_MAX:-5000}: mosquitto could not hold the connections"
  MQ_WS=$(free_port); MQ_PORT=$(free_port)
  MQ_LOG=$T/mosquitto-$MQ_PORT.log
  local extra=("user $(id -un)" "max_connections -1" "max_inflight_messages 20" "sys_interval 1"
               "connection_messages true")
  [ "${MQ_DEBUG:-0}" = 1 ] && extra+=("log_type all")
  if [ $# -ge 2 ]; then
    : >"$T/mosquitto-$MQ_PORT.passwd"
    mosquitto_passwd -b "$T/mosquitto-$MQ_PORT.passwd" "$1" "$2" ||
      fail "mosquitto_passwd could not write $T/mosquitto-$MQ_PORT.passwd"
    extra+=("allow_anonymous false" "password_file $T/mosquitto-$MQ_PORT.passwd")
  else
    extra+=("allow_anonymous true")
  fi
  mosquitto_start "$MQ_PORT" "${extra[@]}" "listener $MQ_WS 127.0.0.1" "protocol websockets"
  wait_ready "$MQ" 50 port_listens "$MQ_WS" && return 0
  fail "mosquitto listens on $MQ_PORT but not on its websockets port $MQ_WS"
}

# mq_sys TOPIC...: the $SYS values (topics under $SYS/broker/), one line
# each, in the order asked, read in one subscription on the plain listener.
# $SYS topics are retained, so the values published last come at once. The
# read itself is counted by the broker (publish/messages/sent rises by one per
# topic at its next publication): read once, at the end.
mq_sys() {
  local args=() t
  for t in "$@"; do args+=(-t "\$SYS/broker/$t"); done
  mosquitto_sub -h 127.0.0.1 -p "$MQ_PORT" -v -C $# -W 5 "${args[@]}" ${MQ_SYS_AUTH:-} >"$T/sys.txt" ||
    fail "could not read \$SYS from mosquitto on $MQ_PORT"
  for t in "$@"; do
    awk -v k="\$SYS/broker/$t" '$1 == k {print $2; exit}' "$T/sys.txt"
  done
}
