"""bench/million_figures.py: the million run's figures (called by bench/million.sh).

Reads the run's database, the sampler's lines (million_watch.py) and
/proc/meminfo before/after, and prints every figure twice: as
`figure NAME VALUE UNIT` lines (for scripts) and as a table (for people).
Ingest rates and the broadcast's accounting time come from the controller's
own live counters (what it had ingested at each second), the rest from the
database; nothing here is timed by this script itself.
Usage: million_figures.py DB RUN TMPDIR MILLION AGENTS SERVERS IPS RATE WALL_MS SETUP_MS HTML_MS JSON_MS
"""
import json
import os
import sqlite3
import sys

db, run, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
million, agents, servers, ips, rate = (int(x) for x in sys.argv[4:9])
wall_ms, setup_ms, html_ms, json_ms = (int(x) for x in sys.argv[9:13])
c = sqlite3.connect(db)
q = lambda sql, *a: c.execute(sql, a).fetchone()
fig = dict(c.execute("SELECT name, value FROM figures WHERE run_id=?", (run,)).fetchall())
rows = [json.loads(line) for line in open(os.path.join(tmp, "watch"))]
out = []  # (name, value, unit, label)


def put(name, value, unit, label):
    out.append((name, value, unit, label))


def meminfo(name):
    d = {}
    for line in open(os.path.join(tmp, name)):
        k, v = line.split(":")
        d[k] = int(v.split()[0])
    return d


# --- connections and the ramp ---------------------------------------------
phases = c.execute("SELECT idx, kind, started_us, ended_us, note FROM phases WHERE run_id=? ORDER BY idx",
                   (run,)).fetchall()
held = max((r["metrics"] or {}).get("connections", 0) for r in rows)
put("connections_target", million, "conns", "connections planned")
put("connections_held", int(held), "conns", "connections held (peak, controller's ledger)")
put("conn_opened", int(fig.get("conn_opened", 0)), "conns", "distinct connections ever up")
put("connect_success", fig.get("connect_success", 0) * 100, "%", "connect_success")
ramp = phases[0]
first, last, n = q("SELECT min(ts_us), max(ts_us), count(DISTINCT conn) FROM conn_events "
                   "WHERE run_id=? AND type=1 AND ts_us BETWEEN ? AND ?", run, ramp[2], ramp[3])
if n and last > first:
    put("ramp_rate", (n - 1) / ((last - first) / 1e6), "conn/s", f"ramp rate (planned {rate}/s)")
    put("ramp_s", (last - first) / 1e6, "s", "ramp, first to last connect")
fails = c.execute("SELECT r.name, count(*) FROM conn_events e LEFT JOIN reasons r ON r.reason=e.val "
                  "WHERE e.run_id=? AND e.type=2 GROUP BY e.val ORDER BY 2 DESC", (run,)).fetchall()
put("connect_failed_events", sum(k for _, k in fails), "events",
    "failed connect attempts" + (" (" + ", ".join(f"{k} {v}" for k, v in fails[:4]) + ")" if fails else ""))

# --- memory ------------------------------------------------------------------
peak = {}
for r in rows:
    for name, (pid, ticks, sys_, rss, hwm) in r["procs"].items():
        peak[name] = max(peak.get(name, 0), hwm)
kinds = {"agents": "a", "refpush": "s"}
for kind, pre in kinds.items():
    kb = sum(v for k, v in peak.items() if k[0] == pre and k != "ctl")
    put(f"{kind}_rss_mib", kb / 1024, "MiB", f"{kind}' peak RSS, all processes")
    put(f"{kind}_rss_per_conn", kb * 1024 / max(held, 1), "B", f"{kind}' peak RSS per connection")
put("controller_rss_mib", peak.get("ctl", 0) / 1024, "MiB", "controller peak RSS")
put("controller_rss_per_conn", peak.get("ctl", 0) * 1024 / max(held, 1), "B", "controller peak RSS per connection")
before, after = meminfo("meminfo.before"), meminfo("meminfo.after")
slab_peak = max(r["kernel"]["Slab"] for r in rows)
put("slab_before_mib", before["Slab"] / 1024, "MiB", "kernel slab before")
put("slab_peak_mib", slab_peak / 1024, "MiB", "kernel slab at its peak")
put("slab_after_mib", after["Slab"] / 1024, "MiB", "kernel slab after")
put("slab_per_conn", (slab_peak - before["Slab"]) * 1024 / max(held, 1), "B",
    "kernel slab growth per connection (both ends)")
put("tcp_mem_peak_mib", max(r["kernel"].get("tcp_mem_pages", 0) for r in rows) * 4 / 1024, "MiB",
    "TCP buffer memory at its peak (sockstat)")
put("mem_available_min_mib", min(r["kernel"]["MemAvailable"] for r in rows) / 1024, "MiB",
    "MemAvailable at its lowest")
put("files_peak", max(r["kernel"]["files"] for r in rows), "files", "open files machine-wide at the peak")
ct = [r["kernel"].get("conntrack", 0) for r in rows] + \
     [v for r in rows for v in r.get("ns_conntrack", {}).values()]
put("conntrack_peak", max(ct), "entries", "conntrack entries at the peak (root and sampled namespaces)")

# --- CPU -------------------------------------------------------------------
hz = os.sysconf("SC_CLK_TCK")
span = rows[-1]["t"] - rows[0]["t"]


def cpu(pre):
    first_t, last_t = {}, {}
    for r in rows:
        for name, (pid, ticks, *_rest) in r["procs"].items():
            if name.startswith(pre):
                key = (name, pid)
                first_t.setdefault(key, ticks)
                last_t[key] = ticks
    return sum(last_t[k] - first_t[k] for k in last_t) / hz


ctl_s = cpu("ctl")
put("controller_cpu_s", ctl_s, "s", "controller CPU over the run")
put("controller_cpu_pct", ctl_s / span * 100 if span else 0, "%", "controller CPU, mean share of one core")
put("agents_cpu_s", cpu("a"), "s", "agents' CPU over the run, all processes")
put("refpush_cpu_s", cpu("s"), "s", "refpush CPU over the run, all processes")
ctl_peak = 0
for a, b in zip(rows, rows[1:]):
    if "ctl" in a["procs"] and "ctl" in b["procs"] and b["t"] > a["t"]:
        ctl_peak = max(ctl_peak, (b["procs"]["ctl"][1] - a["procs"]["ctl"][1]) / hz / (b["t"] - a["t"]))
put("controller_cpu_peak_pct", ctl_peak * 100, "%", "controller CPU, busiest second")

# --- ingest and the broadcast ---------------------------------------------
EV = ("connects_total", "connect_failures_total", "closes_total", "deliveries_total", "duplicates_total")
m = [(r["t"], r["metrics"]) for r in rows if r["metrics"]]
best = best_del = 0
for (t1, a), (t2, b) in zip(m, m[1:]):
    if t2 > t1:
        best = max(best, sum(b.get(k, 0) - a.get(k, 0) for k in EV) / (t2 - t1))
        best_del = max(best_del, (b.get("deliveries_total", 0) - a.get("deliveries_total", 0)) / (t2 - t1))
put("ingest_peak", best, "events/s", "controller peak ingest (connects+fails+closes+deliveries, per second)")
put("ingest_deliveries_peak", best_del, "events/s", "controller peak delivery ingest")
bc = q("SELECT min(t_send_us), sum(expected), sum(delivered), max(p.lost) FROM pushes p "
       "WHERE run_id=? AND mode='broadcast'", run)
if bc[0]:
    t_call = bc[0] / 1e6
    base = [mm.get("deliveries_total", 0) for t, mm in m if t <= t_call]
    base = base[-1] if base else 0
    done = [t for t, mm in m if t > t_call and mm.get("deliveries_total", 0) >= base + (bc[1] or 0)]
    lat = q("SELECT max(d.latency_us) FROM deliveries d JOIN pushes p USING(run_id, msg_id) "
            "WHERE d.run_id=? AND p.mode='broadcast'", run)[0]
    put("broadcast_expected", bc[1] or 0, "msgs", "broadcast recipients expected")
    put("broadcast_delivered", bc[2] or 0, "msgs", "broadcast delivered")
    put("broadcast_last_delivery_s", (lat or 0) / 1e6, "s", "broadcast: last delivery after the call (agents' clocks)")
    if done:
        put("broadcast_accounted_s", done[0] - t_call, "s",
            "broadcast: call until every delivery was ingested (controller counters, 1 s samples)")
    else:
        put("broadcast_accounted_s", -1, "s", "broadcast: never fully ingested (counters)")
for idx, kind, s, e, note in phases:
    if kind == "push" and s and e:
        put(f"phase{idx}_s", (e - s) / 1e6, "s", f"phase {idx} ({kind}: {note})")
for k in sorted(fig):
    if "_reconnect_" in k:
        put(k, fig[k], "s" if k.endswith("_s") else "conns", k)

# --- results, reports, wall ------------------------------------------------
for k, label in (("push_expected", "pushes expected"), ("push_delivered", "pushes delivered"),
                 ("push_lost", "push_lost"), ("push_duplicates", "duplicates"),
                 ("push_failed", "push API calls failed"), ("conn_closed_events", "close events stored"),
                 ("agents_lost", "agents lost"), ("saturated_seconds", "agent-seconds saturated"),
                 ("push_latency_p99_us", "push latency p99 (us)")):
    if k in fig:
        put(k, fig[k], "", label)
size = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))
put("db_mib", size / 2**20, "MiB", "database size")
for kind, ms in (("html", html_ms), ("json", json_ms)):
    f = os.path.join(tmp, f"report.{kind}")
    put(f"report_{kind}_s", ms / 1e3, "s", f"pushstorm report --{kind}")
    put(f"report_{kind}_kib", os.path.getsize(f) / 1024 if os.path.exists(f) else -1, "KiB", f"{kind} report size")
put("setup_s", setup_ms / 1e3, "s", f"setup: {agents} + {servers} namespaces, servers started")
put("wall_s", wall_ms / 1e3, "s", "wall time of the run (controller start to exit)")
status = q("SELECT status, exit_code, reason FROM runs WHERE id=?", run)
thr = c.execute("SELECT name, expr, measured, pass FROM thresholds WHERE run_id=?", (run,)).fetchall()

for name, value, unit, _ in out:
    print(f"figure {name} {value:.6g} {unit}".rstrip())
print(f"\nmillion run: {agents} agents x {ips} source addresses, {servers} refpush servers, "
      f"{million:,} planned; run {run}: {status[0]} (exit {status[1]}){' - ' + status[2] if status[2] else ''}")
for name, value, unit, label in out:
    v = f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.3g}"
    print(f"  {label:<72} {v:>12} {unit}")
for name, expr, measured, ok in thr:
    print(f"  threshold {name} {expr}: measured {measured} -> {'pass' if ok else 'FAIL'}")
