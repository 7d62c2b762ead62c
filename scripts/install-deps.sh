#!/usr/bin/env bash
# Installs the Debian packages pushstorm needs to build, test and run its demo.
# Quiet when everything is already there; uses sudo when not root.
set -euo pipefail
PKGS=(build-essential pkg-config libuv1-dev libwebsockets-dev libwebsockets-evlib-uv
      libnng-dev libmsgpack-dev libsqlite3-dev libcurl4-openssl-dev libyaml-dev
      libcmocka-dev sqlite3 curl iproute2 procps python3
      chromium)  # renders the HTML report in tests/integration/test_reports.sh
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null || true
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
