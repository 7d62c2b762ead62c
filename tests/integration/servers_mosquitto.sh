# Debian's mosquitto for the mqtt tests, demo and bench: sourced after lib.sh
# (or with T, PIDS and free_port of its own, as scripts/demo_mqtt.sh does).
#
# mosquitto_start [USER PASSWORD]: a broker on loopback from a config in
# $T/mosquitto/: a websockets listener on MQ_WS (the agents' side, subprotocol
# mqtt) and a plain MQTT listener on MQ_PORT (the push side, and $SYS
# reading). Anonymous clients are allowed unless USER and PASSWORD are given,
# then only that user (a password file made with mosquitto_passwd). No
# persistence: a test starts from an empty broker. $SYS is published every
# second so that mq_sys can read counters soon after a campaign. With
# MQ_DEBUG=1 the log has every packet (the tests count PUBACKs in it). Sets MQ
# to its PID (also in PIDS, so the EXIT trap stops it); mosquitto_stop stops
# it by that PID.
#
# Why a raised fd limit: each websockets client is one descriptor in
# mosquitto's libwebsockets context, which sizes its tables from
# RLIMIT_NOFILE at start; max_connections is unlimited (-1) by default.

MQ_CONNS_MAX=${MQ_CONNS_MAX:-20000}

mosquitto_need() {
  command -v mosquitto >/dev/null || PATH=$PATH:/usr/sbin
  local c
  for c in mosquitto mosquitto_sub mosquitto_pub mosquitto_passwd; do
    command -v "$c" >/dev/null && continue
    if [ -n "${PS_TEST_STRICT:-}" ]; then
      echo "FAIL: $c is not installed (scripts/install-deps.sh test installs mosquitto mosquitto-clients)" >&2
      exit 1
    fi
    echo "SKIP: $c is not installed (scripts/install-deps.sh test installs mosquitto mosquitto-clients)"
    exit 77
  done
}

mosquitto_start() {
  mosquitto_need
  local dir=$T/mosquitto
  mkdir -p "$dir"
  MQ_WS=$(free_port); MQ_PORT=$(free_port)
  MQ_LOG=$dir/mosquitto.log
  : >"$MQ_LOG"
  {
    echo "user $(id -un)"              # as root it would switch to user mosquitto, which cannot write here
    echo "per_listener_settings false"
    echo "persistence false"
    echo "sys_interval 1"
    echo "max_connections -1"
    echo "max_queued_messages 100000"
    echo "log_dest file $MQ_LOG"
    echo "log_timestamp_format %H:%M:%S"
    if [ "${MQ_DEBUG:-0}" = 1 ]; then echo "log_type all"; else
      echo "log_type error"; echo "log_type warning"; echo "log_type notice"; fi
    echo "connection_messages false"
    if [ $# -ge 2 ]; then
      mosquitto_passwd -b -c "$dir/passwd" "$1" "$2" >/dev/null 2>&1 ||
        { echo "mosquitto_passwd failed" >&2; return 1; }
      echo "allow_anonymous false"
      echo "password_file $dir/passwd"
    else
      echo "allow_anonymous true"
    fi
    echo "listener $MQ_WS 127.0.0.1"
    echo "protocol websockets"
    echo "listener $MQ_PORT 127.0.0.1"
    echo "protocol mqtt"
  } >"$dir/mosquitto.conf"
  # in a subshell, so that the raised limit is the broker's only
  (ulimit -n "$MQ_CONNS_MAX" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
   exec mosquitto -c "$dir/mosquitto.conf") >"$dir/stdout.log" 2>&1 &
  MQ=$!
  PIDS+=("$MQ")
  for _ in $(seq 100); do
    if ss -Htln "sport = :$MQ_WS" | grep -q . && ss -Htln "sport = :$MQ_PORT" | grep -q .; then
      return 0
    fi
    kill -0 "$MQ" 2>/dev/null || break
    sleep 0.1
  done
  cat "$dir/stdout.log" "$MQ_LOG" >&2
  echo "mosquitto did not start (config $dir/mosquitto.conf)" >&2
  return 1
}

# mosquitto_stop: SIGTERM by PID and wait; its exit status.
mosquitto_stop() {
  kill -TERM "$MQ" 2>/dev/null || return 0
  local rc=0
  wait "$MQ" || rc=$?
  return $rc
}

# mq_sys TOPIC: one $SYS value (topic under $SYS/broker/), read over the plain
# listener. $SYS topics are retained, so the value published last comes at once.
mq_sys() {
  mosquitto_sub -h 127.0.0.1 -p "$MQ_PORT" -t "\$SYS/broker/$1" -C 1 -W 5 ${MQ_SYS_AUTH:-}
}

# mq_sys_settled TOPIC: the value once two readings sys_interval apart agree
# (the counters of the last second are published a second later).
mq_sys_settled() {
  local a b
  a=$(mq_sys "$1")
  for _ in $(seq 10); do
    sleep 1.1
    b=$(mq_sys "$1")
    [ "$a" = "$b" ] && { echo "$b"; return 0; }
    a=$b
  done
  echo "$b"
}
