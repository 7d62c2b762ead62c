# Agents and controller authenticate each other (docs/security.md). One keyed
# controller; before its real agent joins, an impostor (bin/fakeagent) tries
# what anyone who reaches the port could: a 100 MB request (refused by the
# receive cap: no answer, no memory), hellos with a wrong key and with none
# (refused, each line naming the peer, rate-limited), and a real agent with
# another key file (refused on both sides). Then the right agent joins and,
# during the push phase, the impostor floods the data port with batches
# claiming to be it (every connection "failed"): they are dropped, the run
# passes with every connection up and every push delivered. A second run:
# an agent whose --allow-targets leaves out refpush refuses its assignment
# and the run fails naming why.
source "$(dirname "$0")/lib.sh"
FAKE=${FAKEAGENT_BIN:-$ROOT/bin/fakeagent}
need_build "$FAKE"
campaign_setup security.db
URL=tcp://127.0.0.1:$CTL
umask 077
head -c 32 /dev/urandom | base64 >"$T/key"
head -c 32 /dev/urandom | base64 >"$T/other.key"

# a key file others can read is refused, naming the file
cp "$T/key" "$T/open.key"; chmod 644 "$T/open.key"
rc=0; "$BIN/pushstorm-agent" --controller "$URL" --auth-key "$T/open.key" --once 2>"$T/e.txt" || rc=$?
expect_eq "agent with a world-readable key exit" 2 "$rc"
grep -q "key file $T/open.key: readable or writable by others (mode 0644)" "$T/e.txt" ||
  { cat "$T/e.txt"; fail "no clear error for the open key file"; }

cat >"$T/plan.yaml" <<YAML
name: it-security
targets:
  - $TARGET
agents: {expect: 1, wait: 40s}
connections: {total: 200}
phases:
  - ramp: {to: 200, rate: 1000/s}
  - push: {mode: unicast, count: 300, rate: 100/s, grace: 1s}
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
YAML
ctl_start "$T/plan.yaml" --auth-key "$T/key"
for _ in $(seq 100); do grep -q "waiting up to" "$T/run.out" && break; sleep 0.1; done
grep -q "waiting up to" "$T/run.out" || { cat "$T/run.out"; fail "the controller did not start"; }

# 12: the control socket reads no request over its cap (the SP length header
# is enough to refuse it), so nothing answers and nothing is allocated
hwm() { awk '/VmHWM/ {print $2}' "/proc/$CP/status"; }
H0=$(hwm)
expect_eq "100 MB control request" "no answer" "$("$FAKE" big "$URL" 100)"
H1=$(hwm)
echo "controller peak RSS ${H0} kB -> ${H1} kB"
[ $((H1 - H0)) -lt 51200 ] || fail "controller grew $((H1 - H0)) kB on a refused 100 MB request"

# 10: wrong key, no key
# fakeagent exits 2 when no challenge or welcome comes: the checks below show what it said
OUT=$("$FAKE" hello "$URL" "$T/other.key" || true)
expect_eq "impostor with another key" "refused: authentication failed: wrong key" "$OUT"
OUT=$("$FAKE" hello "$URL" - || true)
case $OUT in "refused: authentication failed: this controller requires the shared key"*) ;;
  *) fail "impostor without a key: $OUT" ;; esac
for _ in $(seq 18); do "$FAKE" hello "$URL" "$T/other.key" >/dev/null; done
agent_start wrongkey --quiet --threads 1 --auth-key "$T/other.key"; WA=$AP
for _ in $(seq 50); do grep -q "did not prove" "$T/agent-wrongkey.log" && break; sleep 0.1; done
kill "$WA"; wait "$WA" 2>/dev/null || true
cat "$T/agent-wrongkey.log"
grep -q "the controller at $URL did not prove the shared key" "$T/agent-wrongkey.log" ||
  fail "the agent with another key did not say why it does not join"
N=$(grep -c 'refused agent "impostor" from 127.0.0.1:[0-9]*: authentication failed' "$T/run.out" || true)
echo "refusal lines printed for 20 impostor hellos: $N"
[ "$N" -ge 1 ] && [ "$N" -le 5 ] || fail "refusal lines not rate-limited to 5 per 10 s: $N"

agent_start good --quiet --threads 1 --auth-key "$T/key" --allow-targets "127.0.0.1:$WS"; GA=$AP
for _ in $(seq 300); do grep -q "phase 2/2: push" "$T/run.out" && break; sleep 0.1; done
grep -q "phase 2/2: push" "$T/run.out" || { cat "$T/run.out"; fail "no push phase"; }
last_run
read -r F C <<<"$(q "SELECT conn_first, conn_count FROM agents WHERE run_id=$RUN AND name='good'" | tr '|' ' ')"
expect_eq "the good agent holds every connection" "0 200" "$F $C"
"$FAKE" spoof "$URL" 1 "$RUN" 0 200 2
ctl_wait 0 "keyed run with an impostor around"
wait_rc "$GA"; expect_eq "good agent exit" 0 "$RC"
expect_eq "agents in the run" "good" "$(q "SELECT group_concat(name) FROM agents WHERE run_id=$RUN")"
expect_eq "connection failures stored" 0 \
  "$(q "SELECT count(*) FROM conn_events WHERE run_id=$RUN AND type=2")"
expect_eq "pushes delivered" 300 "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN")"
grep -q "dropped an event batch for agent 1 from 127.0.0.1:[0-9]*: not that agent's session token" \
  "$T/run.out" || fail "no line for the spoofed batches"
grep -Eq "security: [0-9]+ message\(s\) dropped without their agent's session token" "$T/run.out" ||
  fail "the summary does not count the spoofed batches"
grep -Eq "security: (2[0-9]|[3-9][0-9]) hello\(s\) refused" "$T/run.out" ||
  fail "the summary does not count the refused hellos"
if grep -q "WARNING: agents were not authenticated" "$T/run.out"; then fail "keyed run warns of no key"; fi
# the same in every report, from the stored figures
expect_eq "figure auth_keyless" 0 "$(fig auth_keyless)"
[ "$(fig auth_messages_spoofed)" -gt 0 ] || fail "figure auth_messages_spoofed is not counted"
"$BIN/pushstorm" report "$RUN" --db "$DB" | grep -Eq "security: [0-9]+ message\(s\) dropped" ||
  fail "report does not count the spoofed messages"

# 11: an assignment outside --allow-targets; no key this time (the summary warns)
sed -i 's/expect: 1, wait: 40s/expect: 1, wait: 20s/' "$T/plan.yaml"
ctl_start "$T/plan.yaml"
agent_start fenced --threads 1 --allow-targets "10.0.0.0/8,push.example.com:443"
ctl_wait 2 "run with a fenced agent"
wait_rc "$AP"
cat "$T/agent-fenced.log"
WHY="target ws://127.0.0.1:$WS/ws?uid={conn} (127.0.0.1 port $WS) is outside --allow-targets 10.0.0.0/8,push.example.com:443"
grep -qF "refused command 1: $WHY" "$T/agent-fenced.log" || fail "the agent log does not say why"
last_run
expect_eq "run status" failed "$(q "SELECT status FROM runs WHERE id=$RUN")"
REASON=$(q "SELECT reason FROM runs WHERE id=$RUN")
case $REASON in *"refused its assignment: $WHY"*) echo "ok: run reason: $REASON" ;;
  *) fail "run reason: $REASON" ;; esac
grep -q "WARNING: agents were not authenticated (no --auth-key)" "$T/run.out" ||
  fail "a run without a key does not warn"
expect_eq "refpush saw no connection from the fenced agent" 200 "$(stats_field "$WS" connections_total)"
