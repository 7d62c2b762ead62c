"""bench/million_watch.py: the million run's sampler (started by bench/million.sh).

Once a second, until the controller (PIDDIR/ctl.pid) is gone, appends one JSON
line to OUT with:
  - every process named in PIDDIR (a<N>.pid agents, s<N>.pid servers, ctl.pid;
    a file is re-read each time, so a restarted server is followed): CPU ticks
    (user + system), VmRSS and VmHWM in kB;
  - the kernel: /proc/meminfo (Slab, SUnreclaim, MemAvailable), fs/file-nr,
    TCP sockets and memory from /proc/net/sockstat (tcp memory is
    machine-wide), the root namespace's nf_conntrack_count, and every 10 s
    that of the namespaces named (so a table that tracks is seen, not assumed);
  - the controller's live counters from its --metrics endpoint (what it has
    ingested: connects, closes, deliveries...), for ingest rates and for the
    moment the broadcast is accounted.
Usage: million_watch.py OUT PIDDIR METRICS_PORT "NS1 NS2 ..."
"""
import json
import os
import subprocess
import sys
import time
import urllib.request

out, piddir, port, nss = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()


def proc(pid):
    try:
        st = open(f"/proc/{pid}/stat").read()
        f = st[st.rindex(")") + 2:].split()
        if f[0] == "Z":
            return None
        rss = hwm = 0
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
        return [int(pid), int(f[11]) + int(f[12]), int(f[12]), rss, hwm]
    except (OSError, ValueError):
        return None


def kernel():
    k = {}
    for line in open("/proc/meminfo"):
        name, val = line.split(":", 1)
        if name in ("Slab", "SUnreclaim", "MemAvailable"):
            k[name] = int(val.split()[0])
    k["files"] = int(open("/proc/sys/fs/file-nr").read().split()[0])
    for line in open("/proc/net/sockstat"):
        if line.startswith("TCP:"):
            f = line.split()[1:]
            d = dict(zip(f[::2], f[1::2]))
            k["tcp_inuse"], k["tcp_tw"], k["tcp_mem_pages"] = int(d["inuse"]), int(d["tw"]), int(d["mem"])
    try:
        k["conntrack"] = int(open("/proc/sys/net/netfilter/nf_conntrack_count").read())
    except OSError:
        pass
    return k


def metrics():
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=0.5).read().decode()
    except OSError:
        return None
    m = {}
    for line in text.splitlines():
        if line.startswith("pushstorm_") and "{" in line:
            name = line[10:line.index("{")]
            if name.endswith("_total") or name == "connections" or name == "phase":
                if "reason=" in line:
                    continue
                m[name] = float(line.rsplit(None, 1)[1])
    return m


def ns_conntrack():
    c = {}
    for ns in nss:
        r = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/sys/net/netfilter/nf_conntrack_count"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            c[ns] = int(r.stdout)
    return c


def alive(pid):
    try:
        return open(f"/proc/{pid}/stat").read().split(") ")[1][0] != "Z"
    except OSError:
        return False


with open(out, "w") as f:
    n = 0
    while True:
        t = time.time()
        procs = {}
        for name in os.listdir(piddir):
            try:
                pid = open(os.path.join(piddir, name)).read().strip()
            except OSError:
                continue
            p = proc(pid) if pid else None
            if p:
                procs[name[:-4]] = p
        ctl = procs.get("ctl")
        row = {"t": t, "procs": procs, "kernel": kernel(), "metrics": metrics() if ctl else None}
        if n % 10 == 0:
            row["ns_conntrack"] = ns_conntrack()
        f.write(json.dumps(row) + "\n")
        f.flush()
        n += 1
        if not ctl:
            break
        time.sleep(max(0.0, 1.0 - (time.time() - t)))
