# The control and data channels over nng's TLS transport (tls+tcp://, mutual
# certificates; docs/security.md). A CA signs the controller's certificate
# (name pushstorm-controller) and an agent's; a keyed run over TLS passes with
# every push delivered. An agent whose certificate another CA signed, and an
# agent that checks the controller against the wrong CA, never join (the
# handshake fails on one side or the other), so a run expecting them fails
# for want of agents; a plain tcp:// agent cannot talk to the TLS port either.
source "$(dirname "$0")/lib.sh"
need_dep openssl
campaign_setup ctltls.db
umask 077
cd "$T"
mkcert() { # mkcert NAME CA: NAME.pem = certificate + key, signed by CA (or self-signed CA)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=$1" -keyout "$1.key" -out "$1.crt" -addext "subjectAltName=DNS:$1" \
    ${2:+-CA "$2.crt" -CAkey "$2.key"} 2>>openssl.log
  cat "$1.crt" "$1.key" >"$1.pem"
}
mkcert ca; mkcert otherca
mkcert pushstorm-controller ca; mkcert agent ca; mkcert rogue otherca
head -c 32 /dev/urandom | base64 >key
URL=tls+tcp://127.0.0.1:$CTL
TLS_AGENT=(--controller "$URL" --tls-cert agent.pem --tls-ca ca.crt --tls-server-name pushstorm-controller)

# options that do not fit the address are refused before anything starts
rc=0; "$BIN/pushstorm-agent" --controller "tcp://127.0.0.1:$CTL" --tls-ca ca.crt --once 2>e.txt || rc=$?
expect_eq "tcp:// agent with --tls-ca exit" 2 "$rc"
grep -q -- "--tls-\* options need a tls+tcp:// address" e.txt || { cat e.txt; fail "no clear error"; }
rc=0; "$BIN/pushstorm-agent" --controller "$URL" --once 2>e.txt || rc=$?
expect_eq "tls+tcp:// agent without certificates exit" 2 "$rc"
grep -q "a tls+tcp:// address needs --tls-cert and --tls-ca" e.txt || { cat e.txt; fail "no clear error"; }

cat >plan.yaml <<YAML
name: it-control-tls
targets:
  - $TARGET
agents: {expect: 1, wait: 20s}
connections: {total: 100}
phases:
  - ramp: {to: 100, rate: 1000/s}
  - push: {mode: unicast, count: 100, rate: 200/s, grace: 1s}
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
YAML
"$BIN/pushstorm" run plan.yaml --db "$DB" --listen "$URL" --auth-key key \
  --tls-cert pushstorm-controller.pem --tls-ca ca.crt >run.out 2>&1 &
CP=$!; PIDS+=("$CP")
for _ in $(seq 100); do grep -q "waiting up to" run.out && break; sleep 0.1; done
# intruders first: none of them may join while the run waits
agent_start rogue --threads 1 --auth-key key --controller "$URL" --tls-cert rogue.pem --tls-ca ca.crt \
  --tls-server-name pushstorm-controller; R1=$AP
agent_start distrustful --threads 1 --auth-key key --controller "$URL" --tls-cert agent.pem --tls-ca otherca.crt \
  --tls-server-name pushstorm-controller; R2=$AP
agent_start plain --threads 1 --auth-key key --controller "tcp://127.0.0.1:$CTL"; R3=$AP
sleep 3
for p in $R1 $R2 $R3; do
  kill -0 "$p" 2>/dev/null || { cat "$T"/agent-*.log; fail "an intruder agent exited early"; }
  kill "$p"; wait "$p" 2>/dev/null || true
done
if grep -q "joined" "$T"/agent-rogue.log "$T"/agent-distrustful.log "$T"/agent-plain.log; then
  cat "$T"/agent-*.log; fail "an agent without the right certificates joined"
fi
grep -q "agent 1 joined" run.out && { cat run.out; fail "the controller took an intruder"; }
agent_start good --quiet --threads 1 --auth-key key "${TLS_AGENT[@]}"; GA=$AP
ctl_wait 0 "keyed run over TLS"
wait_rc "$GA"; expect_eq "agent exit" 0 "$RC"
last_run
expect_eq "agents in the run" good "$(q "SELECT group_concat(name) FROM agents WHERE run_id=$RUN")"
expect_eq "pushes delivered" 100 "$(q "SELECT count(*) FROM deliveries WHERE run_id=$RUN")"
