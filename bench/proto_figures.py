#!/usr/bin/env python3
# bench/proto_figures.py: the figures of one protocol benchmark's run
# (bench/proto_*.sh, through proto_bench_run and proto_bench_figures of
# bench/lib.sh), from the run's database and the agent's /proc samples.
#
# The phases' times come from the database, so each measure is the agent's
# own over one phase, whatever the benchmark's own timing was:
#   rss_per_conn       (agent RSS at the end of the hold - RSS before the
#                      ramp) / N, in B
#   cpu_per_msg        (agent CPU during the broadcasts - the holding cost for
#                      that time) / messages received, in us (nan if none)
#   hold_cpu_pct       agent CPU holding N, % of a core
#   ramp_cpu_per_1000  agent CPU during the ramp / N * 1000, in s
#   server_push_cpu    the server's CPU during the broadcasts, in s, and
#   server_held_gib    its RSS at the end of the hold, in GiB (nan both when
#                      the server was not sampled)
#   n, online, msgs, expected, acks, push_s   the counts they come from
# What is printed is the benchmark's own: its report lines come on stdin as
# Python format strings over these measures and the NAME=VALUE fields of
# the command line (the server's counters, the dialect's state size), so
# each benchmark keeps its wording and figure names and this file keeps
# only the arithmetic. A field named expect_msgs makes the run a check:
# every connection online and exactly that many messages received, or exit 1.
# Usage: proto_figures.py DB SAMPLES AGENT_PID N SERVER_PID [NAME=VALUE...] <REPORT
import bisect
import sqlite3
import sys

HZ = 100                    # clock ticks of /proc/PID/stat
PLAN = ("ramp", "hold", "push")


def die(msg):
    print(f"proto_figures: {msg}", file=sys.stderr)
    sys.exit(2)


def series(rows, pid):
    """(wall_us, cpu_ticks, rss_kb) of one PID, in time order (sample_proc)."""
    return [(int(t), int(ticks), int(rss)) for t, p, ticks, rss, _hwm, _sys in rows if p == pid]


def at(s, t):
    """The last sample at or before t (the first one if none is)."""
    return s[max(bisect.bisect_right([x[0] for x in s], t) - 1, 0)]


def cpu(s, t0, t1):
    return (at(s, t1)[1] - at(s, t0)[1]) / HZ


def measures(db, samples, agent, n, server):
    c = sqlite3.connect(db)
    run = c.execute("select max(id) from runs").fetchone()[0]
    if run is None:
        die(f"{db}: no run")
    phases = c.execute("select kind, started_us, ended_us from phases where run_id=? order by idx",
                       (run,)).fetchall()[:3]
    if tuple(k for k, _, _ in phases) != PLAN:
        die(f"{db}: run {run}'s phases are {[k for k, _, _ in phases]}, not {list(PLAN)}")
    ramp, hold, push = ((s, e) for _, s, e in phases)
    rows = [line.split() for line in open(samples)]
    a, b = series(rows, agent), series(rows, server)
    if not a:
        die(f"{samples}: no sample of the agent (PID {agent})")
    one = lambda sql: c.execute(sql, (run,)).fetchone()[0]
    acks = c.execute("select value from figures where run_id=? and name='proto_acks_sent'",
                     (run,)).fetchone()
    m = {
        "n": n,
        "online": one("select count(distinct conn) from conn_events where run_id=? and type=1"),
        "msgs": one("select count(*) from deliveries where run_id=?"),
        "expected": one("select sum(expected) from pushes where run_id=?") or 0,
        "acks": acks[0] if acks else "?",
    }
    hold_s, push_s = (hold[1] - hold[0]) / 1e6, (push[1] - push[0]) / 1e6
    hold_cpu = cpu(a, hold[0], hold[1])
    push_cpu = cpu(a, push[0], push[1])
    m["push_s"] = push_s
    m["rss_per_conn"] = (at(a, hold[1])[2] - at(a, ramp[0])[2]) * 1024 / n
    m["hold_cpu_pct"] = hold_cpu / hold_s * 100
    m["cpu_per_msg"] = ((push_cpu - hold_cpu / hold_s * push_s) / m["msgs"] * 1e6
                        if m["msgs"] else float("nan"))
    m["ramp_cpu_per_1000"] = cpu(a, ramp[0], ramp[1]) / n * 1000
    m["server_push_cpu"] = cpu(b, push[0], push[1]) if b else float("nan")
    m["server_held_gib"] = at(b, hold[1])[2] / 2**20 if b else float("nan")
    return m


def main(argv):
    if len(argv) < 6:
        die("usage: proto_figures.py DB SAMPLES AGENT_PID N SERVER_PID [NAME=VALUE...] <REPORT")
    db, samples, agent, n, server = argv[1:6]
    m = measures(db, samples, agent, int(n), server)
    for arg in argv[6:]:
        name, eq, value = arg.partition("=")
        if not eq or not name:
            die(f"argument {arg!r} is not NAME=VALUE")
        m[name] = value
    for line in sys.stdin.read().splitlines():
        try:
            print(line.format_map(m))
        except KeyError as e:
            die(f"the report line {line!r} names {e}, which is neither measured nor given")
    if "expect_msgs" in m and (m["online"] != m["n"] or m["msgs"] != int(m["expect_msgs"])):
        print(f"bench: {m['online']} of {m['n']} online, {m['msgs']} of {m['expect_msgs']} messages received",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv)
