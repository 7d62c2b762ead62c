#!/usr/bin/env bash
# bench/cmsg.sh: refpush's JSON reader (refpush/cmsg.c) against cJSON, per
# message (bench/cmsg/cmsg_vs_cjson.c). Built here, -O2 like the programs.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -Werror -Irefpush $(pkg-config --cflags libcjson) \
  -o "$out/cmsg_vs_cjson" bench/cmsg/cmsg_vs_cjson.c refpush/cmsg.c $(pkg-config --libs libcjson)
"$out/cmsg_vs_cjson"
