# nginx with Debian's Nchan module (libnginx-mod-nchan), a push server we did
# not write, for the tests: on loopback in the test's temp dir with its own
# port, one worker and no master (so that its PID is the one started here),
# no access log (a write per connection would load the benches), stopped by
# PID (lib.sh's cleanup). Sourced after lib.sh; bench/idle.sh and
# bench/connect.sh start their nginx with it too.
#   /ws?uid=U    a WebSocket subscriber of channel U
#   /pub?uid=U   its publisher: a POST's body goes to every subscriber of U

# nchan_start PORT [PING_S]: nginx listening on 127.0.0.1:PORT, pinging its
# WebSocket subscribers every PING_S seconds (default: not); NX is its PID.
# The benches hold more connections than a test and set the sizes:
#   NCHAN_CONNS    worker_connections (default 4096)
#   NCHAN_NOFILE   its open files limit (default: the shell's). Without a
#                  master nginx never applies worker_rlimit_nofile, so the
#                  soft limit is raised for it here as well.
#   NCHAN_BACKLOG  the listen backlog (default: nginx's, 511)
nchan_start() {
  local port=$1 ping=${2:-0} mod=/usr/lib/nginx/modules/ngx_nchan_module.so
  local conns=${NCHAN_CONNS:-4096} nofile=${NCHAN_NOFILE:-} backlog=${NCHAN_BACKLOG:-}
  need_dep nginx
  [ -f "$mod" ] || { [ -z "${PS_TEST_STRICT:-}" ] && skip "libnginx-mod-nchan is not installed"
                     fail "libnginx-mod-nchan is not installed (make test installs it)"; }
  local d=$T/nginx-$port
  mkdir -p "$d"
  cat >"$d/nginx.conf" <<NGINX
load_module $mod;
daemon off;
master_process off;
worker_processes 1;
$( [ -n "$nofile" ] && echo "worker_rlimit_nofile $nofile;" )
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections $conns; }
http {
  access_log off;
  client_body_temp_path $d/body;
  proxy_temp_path $d/proxy;
  fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi;
  scgi_temp_path $d/scgi;
  server {
    listen 127.0.0.1:$port${backlog:+ backlog=$backlog};
    location /ws {
      nchan_subscriber websocket;
      nchan_channel_id \$arg_uid;
      $( [ "$ping" != 0 ] && echo "nchan_websocket_ping_interval $ping;" )
    }
    location /pub { nchan_publisher; nchan_channel_id \$arg_uid; }
  }
}
NGINX
  ( [ -z "$nofile" ] || ulimit -Sn "$nofile" 2>/dev/null || true
    exec nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" >"$d/stdout.log" 2>&1 ) &
  NX=$!; PIDS+=("$NX")
  wait_ready "$NX" 100 port_listens "$port" && return 0
  cat "$d/error.log" "$d/stdout.log" >&2 2>/dev/null || true
  fail "nginx (nchan) did not start on port $port"
}
