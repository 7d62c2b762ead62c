// A WebSocket client for tests/integration/test_refpush_strict.sh that is not
// ours: Node's built-in WebSocket (undici, node >= 20 with
// --experimental-websocket). This file only scripts it.
//
//   node --experimental-websocket ws_client.mjs URL [--send TEXT]... [--ack]
//        [--hold MS]
//
// Sends each --send text, in order, once the first server frame (the welcome)
// has arrived; with --ack answers every frame carrying "id" with
// {"type":"ack","id":K}. Stays until the server closes or --hold ms have
// passed (then closes with 1000). Prints one JSON line per event on stdout:
//   {"ev":"open","t":MS}  {"ev":"msg","t":MS,"data":TEXT}
//   {"ev":"close","t":MS,"code":N,"reason":TEXT}  {"ev":"error","t":MS}
// t is milliseconds since the start.
const args = process.argv.slice(2);
const url = args.shift();
const sends = [];
let ack = false, hold = 3000;
while (args.length) {
  const a = args.shift();
  if (a === '--send') sends.push(args.shift());
  else if (a === '--ack') ack = true;
  else if (a === '--hold') hold = Number(args.shift());
  else { console.error(`ws_client: unknown argument ${a}`); process.exit(2); }
}
if (typeof WebSocket !== 'function') {
  console.error('ws_client: no built-in WebSocket (node >= 20 with --experimental-websocket)');
  process.exit(3);
}
const t0 = Date.now();
const out = (o) => console.log(JSON.stringify({ ...o, t: Date.now() - t0 }));
const ws = new WebSocket(url);
let first = true;
const timer = setTimeout(() => ws.close(1000, 'client done'), hold);
ws.onopen = () => out({ ev: 'open' });
ws.onerror = () => out({ ev: 'error' });
ws.onmessage = (e) => {
  out({ ev: 'msg', data: String(e.data) });
  if (first) {
    first = false;
    for (const s of sends) ws.send(s);
  }
  if (ack) {
    let m;
    try { m = JSON.parse(e.data); } catch { return; }
    if (m && typeof m.id === 'number') ws.send(JSON.stringify({ type: 'ack', id: m.id }));
  }
};
ws.onclose = (e) => {
  clearTimeout(timer);
  out({ ev: 'close', code: e.code, reason: e.reason });
};
