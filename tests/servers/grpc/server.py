#!/usr/bin/python3
"""A gRPC push service for the grpc adapter's tests, on Debian's python3-grpcio.

No generated code: a generic handler with raw-bytes (de)serializers serves
SERVICE/Send and SERVICE/Broadcast, unary, and decodes each request message
as protobuf by hand: field 1 (string) is the user, i.e. the connection id;
field 2 (string) the body. Send forwards the body to refpush's HTTP push API
(POST /push?uid=USER), Broadcast to POST /broadcast, so the WebSocket side is
refpush and the agents account for every message. A call refpush does not
accept is answered NOT_FOUND (404) or UNAVAILABLE. --fail-nth N,M,... answers
those calls (1-based, in arrival order, over both methods) with --fail-status
and grpc-message "injected failure" without forwarding them. With --tls-cert
and --tls-key it serves TLS (grpcs://, ALPN h2) instead of h2c.

Its own counters (calls, ok, failed, injected, forwarded_unicast,
forwarded_broadcast, per-method) are written as JSON to --stats on SIGTERM,
after the server stopped, so a test compares the campaign with them.
"""
import argparse
import http.client
import json
import signal
import sys
import threading
from concurrent import futures

import grpc


def varint(buf, i):
    shift = value = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def decode(buf):
    """Fields of a protobuf message: number -> bytes (strings) or int (varints)."""
    fields = {}
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            fields[number], i = varint(buf, i)
        elif wire == 2:
            n, i = varint(buf, i)
            if i + n > len(buf):
                raise ValueError("truncated field %d" % number)
            fields[number] = buf[i:i + n]
            i += n
        else:
            raise ValueError("wire type %d of field %d not expected" % (wire, number))
    return fields


class Service:
    def __init__(self, a):
        self.a = a
        self.fail = {int(x) for x in a.fail_nth.split(",") if x}
        self.fail_code = grpc.StatusCode[a.fail_status]
        self.lock = threading.Lock()
        self.local = threading.local()
        self.n = 0
        self.stats = {"calls": 0, "ok": 0, "failed": 0, "injected": 0,
                      "forwarded_unicast": 0, "forwarded_broadcast": 0, "bad_request": 0,
                      "metadata_seen": 0}

    def count(self, name):
        with self.lock:
            self.stats[name] += 1

    def post(self, path, body):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.a.refpush, timeout=10)
        try:
            conn.request("POST", path, body=body)
            r = conn.getresponse()
            r.read()
            return r.status
        except (OSError, http.client.HTTPException):
            self.local.conn = None
            return 0

    def call(self, request, context, broadcast):
        with self.lock:
            self.n += 1
            nth = self.n
            self.stats["calls"] += 1
        if self.a.expect_metadata:
            k, _, v = self.a.expect_metadata.partition("=")
            got = dict(context.invocation_metadata()).get(k)
            if got is None or not got.startswith(v):
                self.count("failed")
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "metadata %s missing" % k)
            self.count("metadata_seen")
        if nth in self.fail:
            self.count("injected")
            self.count("failed")
            context.abort(self.fail_code, "injected failure")
        try:
            f = decode(request)
            body = f[2]
            user = None if broadcast else f[1].decode()
        except (ValueError, KeyError, AttributeError, UnicodeDecodeError) as e:
            self.count("bad_request")
            self.count("failed")
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad request message: %s" % e)
        status = self.post("/broadcast" if broadcast else "/push?uid=" + user, body)
        if not 200 <= status < 300:
            self.count("failed")
            context.abort(grpc.StatusCode.NOT_FOUND if status == 404 else grpc.StatusCode.UNAVAILABLE,
                          "refpush answered %d" % status)
        self.count("forwarded_broadcast" if broadcast else "forwarded_unicast")
        self.count("ok")
        return b""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--refpush", required=True, help="host:port of refpush's HTTP API")
    ap.add_argument("--service", default="push.v1.Push")
    ap.add_argument("--stats", required=True, help="JSON counters written here on SIGTERM")
    ap.add_argument("--fail-nth", default="", help="calls (1-based) answered with --fail-status")
    ap.add_argument("--fail-status", default="UNAVAILABLE")
    ap.add_argument("--expect-metadata", default="", help="KEY=PREFIX every call must carry")
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--tls-cert", help="PEM certificate: serve TLS (grpcs://, ALPN h2)")
    ap.add_argument("--tls-key", help="PEM key of --tls-cert")
    a = ap.parse_args()
    svc = Service(a)
    handler = grpc.method_handlers_generic_handler(a.service, {
        "Send": grpc.unary_unary_rpc_method_handler(lambda r, c: svc.call(r, c, False)),
        "Broadcast": grpc.unary_unary_rpc_method_handler(lambda r, c: svc.call(r, c, True)),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=a.workers),
                         options=[("grpc.max_concurrent_streams", 1000)])
    server.add_generic_rpc_handlers((handler,))
    addr = "127.0.0.1:%d" % a.port
    if a.tls_cert:
        with open(a.tls_key, "rb") as k, open(a.tls_cert, "rb") as c:
            creds = grpc.ssl_server_credentials([(k.read(), c.read())])
        bound = server.add_secure_port(addr, creds)
    else:
        bound = server.add_insecure_port(addr)
    if bound != a.port:
        sys.exit("cannot listen on 127.0.0.1:%d" % a.port)
    server.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print("listening on %s://127.0.0.1:%d" % ("grpcs" if a.tls_cert else "grpc", a.port), flush=True)
    done.wait()
    server.stop(2).wait()
    with open(a.stats, "w") as f:
        json.dump(svc.stats, f)
    print("stopped: " + json.dumps(svc.stats), flush=True)


if __name__ == "__main__":
    main()
