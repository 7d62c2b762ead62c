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
  for _ in $(seq 100); do
    ss -Htln "sport = :$port" | grep -q . && return 0
    kill -0 "$MQ" 2>/dev/null || break
    sleep 0.1
  done
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
