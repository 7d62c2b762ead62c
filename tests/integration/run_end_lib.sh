# run_end_lib.sh: the setup the tests of a run's end share (test_run_end.sh,
# test_run_end_missing.sh; sourced after lib.sh). Both freeze one agent
# (SIGSTOP) as the last phase, a hold, begins, so that its final report comes
# late or never, and then look at what the end counted for each agent.
#
#   run_end_start NAME CONNS RATE HOLD AGENTS_YAML AGENT...
#       campaign_setup NAME.db; a plan NAME of CONNS connections to refpush,
#       ramped at RATE/s, then held HOLD; agents: {expect: <the number of
#       AGENTs>, AGENTS_YAML}; connect_success >= 100%. The controller is
#       started (ctl_start) and one agent per AGENT name (--quiet --threads 1)
#       joins it; APID[AGENT] is each one's PID.
#   run_end_freeze AGENT [SECONDS]
#       waits (SECONDS, default 60) for the hold to begin, then SIGSTOPs AGENT.
#   run_end_agent AGENT
#       AGENT's row of the last run ($RUN, last_run): AGENT_ID, and the
#       connections it was given, CONN_FIRST and CONN_COUNT.
declare -A APID=()

run_end_start() {
  local name=$1 conns=$2 rate=$3 hold=$4 agents=$5 a
  shift 5
  campaign_setup "$name.db"
  cat >"$T/plan.yaml" <<YAML
name: $name
targets:
  - $TARGET
agents: {expect: $#, $agents}
connections: {total: $conns}
phases:
  - ramp: {to: $conns, rate: $rate/s}
  - hold: $hold
thresholds:
  connect_success: ">= 100%"
YAML
  ctl_start "$T/plan.yaml"
  for a in "$@"; do
    agent_start "$a" --quiet --threads 1
    APID[$a]=$AP
  done
}

run_end_freeze() {
  wait_out "phase 2/2: hold" "${2:-60}"
  kill -STOP "${APID[$1]}"
}

run_end_agent() {
  read -r AGENT_ID CONN_FIRST CONN_COUNT <<<"$(q "SELECT agent_id, conn_first, conn_count FROM agents
    WHERE run_id=$RUN AND name='$1'" | tr '|' ' ')"
  [ -n "$CONN_COUNT" ] || fail "run $RUN has no agent named $1"
}
