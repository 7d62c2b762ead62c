#!/usr/bin/python3
"""Forwards what a broker delivered to refpush's HTTP push API.

Reads `mosquitto_sub -v` lines ("TOPIC PAYLOAD") on stdin: a message on
PREFIX/N becomes POST /push?uid=N with the payload as body, one on the shared
topic POST /broadcast, so the WebSocket side of an mqtt-adapter campaign is
refpush and the agents' accounting covers the whole path. Each line is also
appended to --log (what the broker delivered, counted by the test); lines on
the probe topic only say that the subscription is up. A line it
cannot place, or a call refpush does not answer 2xx, is printed and counted;
the totals are printed on exit.
"""
import argparse
import http.client
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--refpush", required=True, help="host:port")
    ap.add_argument("--prefix", required=True, help="per-user topic prefix, e.g. users")
    ap.add_argument("--shared", required=True, help="the broadcast topic")
    ap.add_argument("--log", required=True)
    ap.add_argument("--probe", default="pushstorm-probe",
                    help="topic whose messages only say the subscription is up")
    a = ap.parse_args()
    conn = http.client.HTTPConnection(a.refpush, timeout=10)
    ok = bad = 0
    with open(a.log, "a", buffering=1) as log:
        print("listening", flush=True)
        for line in sys.stdin:
            line = line.rstrip("\n")
            topic, _, payload = line.partition(" ")
            if topic == a.probe:
                print("probe arrived", flush=True)
                continue
            log.write(line + "\n")
            if topic == a.shared:
                path = "/broadcast"
            elif topic.startswith(a.prefix + "/"):
                path = "/push?uid=" + topic[len(a.prefix) + 1:]
            else:
                print("unplaced: " + line, flush=True)
                bad += 1
                continue
            conn.request("POST", path, body=payload.encode())
            r = conn.getresponse()
            r.read()
            if 200 <= r.status < 300:
                ok += 1
            else:
                bad += 1
                print("refpush %d for %s" % (r.status, line), flush=True)
    print("forwarded %d failed %d" % (ok, bad), flush=True)


if __name__ == "__main__":
    main()
