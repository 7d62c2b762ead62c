# refpush --ws-ping (issue 12): server pings, so the agent's cost of answering
# them is measured against refpush too (bench/idle.sh), not only Nchan. A bare
# RFC 6455 client (ws_pings.py) sees the control frames: with --ws-ping 1s a
# connection gets a ping about every second; one that answers stays open, one
# that never answers is hung up after about 3 s, one that sends frames (and
# answers no ping) is never silent, so never pinged; /stats counts the pings
# and the hang-up; without the option nothing is pinged. Bad values are
# refused naming the option.
. "$(dirname "$0")/lib.sh"
need_build
need_dep python3

P=$(free_port)
start_refpush "$P" --ws-ping 1s
python3 "$ROOT/tests/integration/ws_pings.py" "$P" 1 5.5 answer >"$T/answer" &
A=$!
python3 "$ROOT/tests/integration/ws_pings.py" "$P" 3 5 chatty >"$T/chatty" &
C=$!
python3 "$ROOT/tests/integration/ws_pings.py" "$P" 2 7 silent >"$T/silent"
wait "$A" "$C"
echo "answering client: $(cat "$T/answer")"
echo "chatty client:    $(cat "$T/chatty")"
echo "silent client:    $(cat "$T/silent")"
expect_eq "chatty client: never silent, never pinged" \
  "pings=0 pongs_sent=0 closed=0 closed_after_ms=-1" "$(cat "$T/chatty")"
stats=$(curl -s "http://127.0.0.1:$P/stats")
sent=$(sed -n 's/.*"ws_pings":\([0-9]*\).*/\1/p' <<<"$stats")
expect_eq "/stats ws_ping_hangups" 1 "$(sed -n 's/.*"ws_ping_hangups":\([0-9]*\).*/\1/p' <<<"$stats")"
read -r pings _ closed _ <<<"$(tr '=' ' ' <"$T/answer" | awk '{print $2, $4, $6, $8}')"
[ "$pings" -ge 4 ] && [ "$pings" -le 6 ] || fail "answering client: $pings pings in 5.5 s, not about 5"
expect_eq "answering client still open" 0 "$closed"
read -r pings _ closed after <<<"$(tr '=' ' ' <"$T/silent" | awk '{print $2, $4, $6, $8}')"
expect_eq "silent client hung up" 1 "$closed"
[ "$after" -ge 2500 ] && [ "$after" -le 5000 ] || fail "silent client hung up after $after ms, not about 3 s"
[ "$pings" -ge 1 ] || fail "silent client got no ping before the hang-up"
got=$(( $(cut -d' ' -f1 <"$T/answer" | cut -d= -f2) + pings ))
expect_eq "/stats ws_pings: every ping the clients saw" "$got" "$sent"
stop_pid "$RP" || fail "refpush did not exit cleanly"

P=$(free_port)
start_refpush "$P"
python3 "$ROOT/tests/integration/ws_pings.py" "$P" 1 2.5 silent >"$T/off"
echo "without --ws-ping: $(cat "$T/off")"
expect_eq "pings without --ws-ping" "pings=0 pongs_sent=0 closed=0 closed_after_ms=-1" "$(cat "$T/off")"
stop_pid "$RP" || fail "refpush did not exit cleanly"

for bad in 50ms 0s 30m x; do
  rc=0; out=$("$BIN/refpush" --port 0 --ws-ping "$bad" 2>&1) || rc=$?
  expect_eq "--ws-ping $bad exit" 2 "$rc"
  grep -q -- "--ws-ping" <<<"$out" || fail "--ws-ping $bad: message does not name the option: $out"
done
echo "PASS"
