#!/usr/bin/env python3
"""A bare RFC 6455 client for test_refpush_ping.sh, written against the RFC
and no WebSocket library: it sees the server's control frames, which browser
and node clients hide. Usage: ws_pings.py PORT UID SECONDS answer|silent|chatty (chatty answers no
ping but sends a text frame every 0.3 s, so it is never silent). Prints "pings=N pongs_sent=N closed=0|1 closed_after_ms=N"."""
import base64, os, select, socket, struct, sys, time

port, uid, seconds, mode = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall((f"GET /ws?uid={uid} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
buf = b""
while b"\r\n\r\n" not in buf:
    chunk = s.recv(4096)
    if not chunk:
        sys.exit("closed during the upgrade")
    buf += chunk
head, buf = buf.split(b"\r\n\r\n", 1)
if not head.startswith(b"HTTP/1.1 101"):
    sys.exit("no upgrade: " + head.decode(errors="replace").splitlines()[0])

def send(opcode, payload):
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    s.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body)

start = time.monotonic()
pings = pongs = 0
closed_ms = None
said = start
while closed_ms is None and time.monotonic() - start < seconds:
    if mode == "chatty" and time.monotonic() - said >= 0.3:
        send(0x1, b"chat")
        said = time.monotonic()
    r, _, _ = select.select([s], [], [], 0.05)
    if r:
        chunk = s.recv(4096)
        if not chunk:
            closed_ms = int((time.monotonic() - start) * 1000)
            break
        buf += chunk
    while len(buf) >= 2:
        opcode, n = buf[0] & 0x0F, buf[1] & 0x7F
        off = 2
        if n == 126:
            if len(buf) < 4: break
            n, off = struct.unpack(">H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10: break
            n, off = struct.unpack(">Q", buf[2:10])[0], 10
        if len(buf) < off + n:
            break
        payload, buf = buf[off:off + n], buf[off + n:]
        if opcode == 0x9:
            pings += 1
            if mode == "answer":
                send(0xA, payload)
                pongs += 1
        elif opcode == 0x8:
            closed_ms = int((time.monotonic() - start) * 1000)
            break
print(f"pings={pings} pongs_sent={pongs} closed={int(closed_ms is not None)} "
      f"closed_after_ms={closed_ms if closed_ms is not None else -1}")
