#!/usr/bin/env bash
# Installs the Debian packages pushstorm needs to build (programs and man
# pages), test and run its demo: the one place that installs anything (make
# deps, make test-deps; no test installs packages itself).
# Quiet when everything is already there; uses sudo when not root.
#   scripts/install-deps.sh        build + demo
#   scripts/install-deps.sh test   also what the tests use: nodejs, whose
#                                  built-in WebSocket client (node >= 20) drives
#                                  refpush's strict mode as a client we did not
#                                  write (test_refpush_strict.sh; no npm
#                                  packages); nginx, a TLS server not ours
#                                  (test_tls.sh); chromium renders the HTML report
#                                  (optional: without it that one check is
#                                  skipped, so a failed install of it does not
#                                  stop the tests); clang-14 and
#                                  libclang-rt-14-dev build the libFuzzer
#                                  targets (tests/fuzz/); debhelper, lintian,
#                                  ansible and debootstrap build the .deb and
#                                  deploy it into a chroot (test_deb.sh);
#                                  libnginx-mod-nchan, nginx's Nchan module,
#                                  the server not ours of bench/connect.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(build-essential pkg-config libuv1-dev libwebsockets-dev libwebsockets-evlib-uv
      libnng-dev libmsgpack-dev libsqlite3-dev libcurl4-openssl-dev libyaml-dev libcjson-dev
      libcmocka-dev sqlite3 curl iproute2 procps python3 help2man)
OPTIONAL=()
# test: nodejs drives strict refpush (test_refpush_strict.sh); nginx is the TLS
# terminator that is not ours and openssl makes its certificates (test_tls.sh) and
# serves the bad ones (openssl s_server, test_hostile_session.sh); clang-14 with
# libclang-rt-14-dev (its libFuzzer and sanitizer runtimes) builds the fuzz
# targets of tests/fuzz/; libnginx-mod-nchan is Nchan, the push server not
# ours that bench/idle.sh and bench/connect.sh hold connections to; strace
# counts the idle agent's wake-ups and its netlink sockets (test_idle.sh,
# test_source_bind.sh, bench/idle.sh); debhelper and lintian build and check
# the Debian package (make deb), debootstrap makes the Debian 12 target that
# ansible deploys it to (test_deb.sh)
TEST_PKGS=(nodejs nginx libnginx-mod-nchan strace openssl clang-14 libclang-rt-14-dev
           debhelper lintian ansible debootstrap)
# the real servers of each client protocol and push adapter (issue 13), a line each:
# the builds' libraries go into PKGS, the servers and their clients into TEST_PKGS
PKGS+=(libmosquitto-dev) && TEST_PKGS+=(mosquitto mosquitto-clients python3-grpcio)   # push adapters: mqtt, grpc
command -v npm >/dev/null || TEST_PKGS+=(npm)   # socketio: npm ci of tests/servers/socketio (Debian's node has it apart)
TEST_PKGS+=(rabbitmq-server)   # STOMP: web-stomp + management plugins ship in the package
[ "${1:-}" = test ] && PKGS+=("${TEST_PKGS[@]}") && OPTIONAL=(chromium)
missing() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}
need=($(missing "${PKGS[@]}"))
want=($(missing "${OPTIONAL[@]+"${OPTIONAL[@]}"}"))
if [ ${#need[@]} -gt 0 ] || [ ${#want[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >/dev/null || true
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  fi
  if [ ${#want[@]} -gt 0 ]; then
    echo "installing (optional, for tests): ${want[*]}"
    $SUDO apt-get install -y -q --no-install-recommends "${want[@]}" >/dev/null ||
      echo "install-deps: could not install ${want[*]}; the tests that need it will be skipped" >&2
  fi
fi
# npm packages of the test servers (tests/servers/*/package-lock.json), pinned by
# their lock files, installed once next to them (node_modules is not tracked)
if [ "${1:-}" = test ]; then
  for lock in tests/servers/*/package-lock.json; do
    [ -f "$lock" ] || continue
    dir=$(dirname "$lock")
    [ -d "$dir/node_modules" ] && continue
    echo "installing npm packages of $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
  done
fi
