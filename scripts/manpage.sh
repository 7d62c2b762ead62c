#!/usr/bin/env bash
# Writes the man page of one program (bin/pushstorm, bin/pushstorm-agent,
# bin/refpush) from its own --help and --version with help2man, so the page
# lists exactly the options the program's table accepts. pushstorm's page adds
# a COMMANDS section made of each command's --help.
#   scripts/manpage.sh BIN OUT.1
set -euo pipefail
bin=$1 out=$2
command -v help2man >/dev/null ||
  { echo "manpage: help2man is not installed (make deps installs it)" >&2; exit 1; }
name=$(basename "$bin")
declare -A about=(
  [pushstorm]="load-test controller: runs a plan across agents, stores and reports results"
  [pushstorm-agent]="load agent: holds WebSocket connections for a pushstorm controller"
  [refpush]="reference WebSocket push service for pushstorm"
)
inc=$(mktemp)
trap 'rm -f "$inc" "$out.tmp"' EXIT
# roff: a backslash is \e, a line starting with . or ' must not be a request
roff() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
{
  if [ "$name" = pushstorm ]; then
    # the overview lists one synopsis per command: kept as printed
    echo "[SYNOPSIS]"
    echo ".nf"
    "$bin" --help | roff
    echo ".fi"
    echo "[=DESCRIPTION]"
    echo "Runs a YAML plan of WebSocket load across pushstorm-agent processes, measures"
    echo "connect success, push latency and loss per message, stores everything in SQLite"
    echo "and reports, compares and gates on the results. Each command's options follow."
    echo "[COMMANDS]"
    for cmd in run check runs report compare prune; do
      echo ".SS $cmd"
      echo ".nf"
      "$bin" "$cmd" --help | roff
      echo ".fi"
    done
  fi
  echo "[SEE ALSO]"
  echo "pushstorm(1), pushstorm-agent(1), refpush(1); docs/ in the pushstorm sources."
} >"$inc"
help2man --no-info --no-discard-stderr --name="${about[$name]}" --include="$inc" \
  --output="$out.tmp" "$bin"
mv "$out.tmp" "$out"
