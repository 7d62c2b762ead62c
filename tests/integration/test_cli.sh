# The command-line convention of the three programs (common/ps_cli): --version
# prints "NAME VERSION" and exits 0; --help of each program and of each
# pushstorm command exits 0 with that command's usage; "--opt=value" means what
# "--opt value" means; an unknown option or a missing value exits 2 naming it.
source "$(dirname "$0")/lib.sh"
need_build
VERSION=$(sed -n 's/^#define PS_VERSION_STRING *"\(.*\)"/\1/p' "$ROOT/proto/ps_proto.h")

for prog in pushstorm pushstorm-agent refpush; do
  out=$("$BIN/$prog" --version)
  expect_eq "$prog --version, first line" "$prog $VERSION" "$(head -1 <<<"$out")"
  "$BIN/$prog" --help >"$T/help.txt"
  grep -q "^usage: $prog" "$T/help.txt" || { cat "$T/help.txt"; echo "FAIL: $prog --help"; exit 1; }
  rc=0; "$BIN/$prog" --no-such-option >/dev/null 2>"$T/e.txt" || rc=$?
  expect_eq "$prog --no-such-option exit" 2 "$rc"
  grep -q -- '--no-such-option' "$T/e.txt" || { cat "$T/e.txt"; exit 1; }
done

for cmd in run check runs report compare prune; do
  rc=0; "$BIN/pushstorm" "$cmd" --help >"$T/help.txt" 2>&1 || rc=$?
  expect_eq "pushstorm $cmd --help exit" 0 "$rc"
  grep -q "^usage: pushstorm $cmd" "$T/help.txt" || { cat "$T/help.txt"; exit 1; }
  # the command's own options, not the overview of all commands
  ! grep -q "pushstorm COMMAND" "$T/help.txt" || { cat "$T/help.txt"; exit 1; }
  "$BIN/pushstorm" --help | grep -q "^ *\(usage: \)\?pushstorm $cmd" ||
    { echo "FAIL: pushstorm --help does not list $cmd"; exit 1; }
  rc=0; "$BIN/pushstorm" "$cmd" --bogus=1 2>"$T/e.txt" || rc=$?
  expect_eq "pushstorm $cmd --bogus=1 exit" 2 "$rc"
  grep -q "pushstorm $cmd: unknown option \"--bogus\"" "$T/e.txt" || { cat "$T/e.txt"; exit 1; }
done
"$BIN/pushstorm" run --help | grep -q -- "--local-agents N" ||
  { echo "FAIL: run --help lacks --local-agents"; exit 1; }

# Missing values and values a handler refuses, in both forms.
rc=0; "$BIN/pushstorm" report 1 --db 2>"$T/e.txt" || rc=$?
expect_eq "report --db without a value" 2 "$rc"; grep -q -- "--db needs a value" "$T/e.txt"
rc=0; "$BIN/pushstorm" run x.yaml --local-agents=65 2>"$T/e.txt" || rc=$?
expect_eq "run --local-agents=65" 2 "$rc"; grep -q -- '--local-agents: .*"65"' "$T/e.txt"
rc=0; "$BIN/pushstorm-agent" --controller=tcp://127.0.0.1:1 --threads=0 2>"$T/e.txt" || rc=$?
expect_eq "agent --threads=0" 2 "$rc"; grep -q -- "--threads 0" "$T/e.txt"
rc=0; "$BIN/refpush" --quiet=yes 2>"$T/e.txt" || rc=$?
expect_eq "refpush --quiet=yes" 2 "$rc"; grep -q -- "--quiet takes no value" "$T/e.txt"

# "--opt=value" works: a refpush on --port=P, a run with every value given that
# way, and its report written with --db=F --json=F the same as with separate values.
WS=$(free_port); CTL=$(free_port)
"$BIN/refpush" --port="$WS" --wrap=json --quiet >"$T/refpush.log" 2>&1 &
RP=$!; PIDS+=("$RP")
for _ in $(seq 100); do grep -q listening "$T/refpush.log" && break; sleep 0.1; done
grep -q "listening on ws://127.0.0.1:$WS/ws" "$T/refpush.log" || { cat "$T/refpush.log"; exit 1; }
DB=$T/cli.db
cat >"$T/cli.yaml" <<YAML
name: cli
targets:
  - {ws: "ws://127.0.0.1:$WS/ws?uid={conn}", push: "http://127.0.0.1:$WS/push?uid={conn}"}
agents: {expect: 1, wait: 20s}
connections: {total: 20}
phases:
  - ramp: {to: 20, rate: 200/s}
  - push: {count: 10, rate: 100/s}
YAML
rc=0; "$BIN/pushstorm" run "$T/cli.yaml" --db="$DB" --local-agents=1 --agent-threads=1 \
  --listen="tcp://127.0.0.1:$CTL" --quiet >"$T/out.txt" 2>&1 || rc=$?
cat "$T/out.txt"
expect_eq "run with --opt=value" 0 "$rc"
expect_eq "runs in --db=FILE" 1 "$(q 'SELECT count(*) FROM runs')"
"$BIN/pushstorm" report last --db="$DB" --json="$T/a.json" 2>/dev/null
"$BIN/pushstorm" report last --db "$DB" --json "$T/b.json" 2>/dev/null
cmp "$T/a.json" "$T/b.json"
echo "ok: report --db=F --json=F wrote what --db F --json F wrote"
stop_pid "$RP"
