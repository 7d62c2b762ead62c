// server.js: a small push service on the real Socket.IO 4 server (the npm
// package, pinned by package-lock.json), for pushstorm's socketio dialect to
// be tested against a server we did not write (tests/integration/test_socketio.sh,
// scripts/demo_socketio.sh, bench/proto_socketio.sh).
//
//   node server.js --port N [--host 127.0.0.1] [--ping-interval MS] [--ping-timeout MS]
//                  [--token SECRET] [--namespace /NSP]
//
// A client connects to /socket.io/?EIO=4&transport=websocket and sends the
// namespace connect with its auth payload {"user": "<id>"} (and "token" when
// the server was started with --token: a missing or wrong one is refused
// with a connect_error). The user id comes from the auth payload, not the
// URL's query, because that is where Socket.IO clients put credentials. Each
// socket joins the room user:<id>. The HTTP side, on the same port:
//   POST /push?uid=ID[,ID...][&ack=1]  body -> emit("push", body) to those users' rooms;
//                                      with ack=1 the emit asks each socket for an ack
//   POST /broadcast[?ack=1]             body -> emit("push", body) to every socket
//   POST /disconnect[?uid=ID]           the server ends those sockets (all without uid)
//                                      at the Socket.IO level: "41", the engine left open
//   POST /stop-pings                    the server stops sending Engine.IO pings (to
//                                      every socket, now and later) but still says
//                                      its interval: a client must notice by itself
//   GET  /stats                         counters as JSON (?users=1 adds emitted per user)
// It prints "listening on HOST:PORT" once it accepts connections.
"use strict";
const http = require("http");
const { Server } = require("socket.io");

function arg(name, dflt) {
  const i = process.argv.indexOf("--" + name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}
const host = arg("host", "127.0.0.1");
const port = Number(arg("port", "0"));
const token = arg("token", "");
const nspName = arg("namespace", "/");
const ackTimeoutMs = 5000;

const stats = {
  connected: 0,         // sockets connected now
  connects: 0,          // namespace connects accepted
  refused: 0,           // namespace connects refused (connect_error)
  disconnects: 0,
  pushes: 0,            // POST /push calls
  broadcasts: 0,        // POST /broadcast calls
  emitted: 0,           // events sent, one per socket reached
  acks_asked: 0,        // of those, events that asked for an ack
  acks: 0,              // acks received from sockets
  ack_timeouts: 0,      // emits whose acks did not all come within ackTimeoutMs
  pings_stopped: false,
};
const emittedByUser = new Map();

const httpServer = http.createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  const reply = (code, obj) => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(obj) + "\n");
  };
  if (req.method === "GET" && url.pathname === "/stats") {
    const out = Object.assign({}, stats);
    if (url.searchParams.get("users") === "1")
      out.emitted_by_user = Object.fromEntries(emittedByUser);
    return reply(200, out);
  }
  if (req.method === "POST" && url.pathname === "/stop-pings") {
    stats.pings_stopped = true;
    for (const s of Object.values(io.engine.clients))
      stopPings(s);
    return reply(200, { pings_stopped: true });
  }
  if (req.method === "POST" && url.pathname === "/disconnect") {
    const uid = url.searchParams.get("uid");
    let n = 0;
    for (const s of [...nsp.sockets.values()])
      if (!uid || s.data.user === uid) {
        s.disconnect(false);
        n++;
      }
    return reply(200, { disconnected: n });
  }
  const isPush = url.pathname === "/push", isBroadcast = url.pathname === "/broadcast";
  if (req.method !== "POST" || (!isPush && !isBroadcast))
    return reply(404, { error: "no such endpoint: " + req.method + " " + url.pathname });
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    let users = null;
    if (isPush) {
      const uid = url.searchParams.get("uid");
      if (!uid) return reply(400, { error: "POST /push needs ?uid=ID" });
      users = uid.split(",");
      stats.pushes++;
    } else
      stats.broadcasts++;
    const rooms = users ? users.map((u) => "user:" + u) : null;
    const target = rooms ? nsp.to(rooms) : nsp;
    // the sockets reached: one event each (socket.io sends once per socket
    // whatever the number of its rooms named)
    const reached = [];
    for (const s of nsp.sockets.values())
      if (!rooms || rooms.some((r) => s.rooms.has(r))) reached.push(s);
    for (const s of reached) {
      const u = s.data.user;
      emittedByUser.set(u, (emittedByUser.get(u) || 0) + 1);
    }
    stats.emitted += reached.length;
    if (url.searchParams.get("ack") === "1") {
      stats.acks_asked += reached.length;
      target.timeout(ackTimeoutMs).emit("push", body, (err, responses) => {
        stats.acks += responses ? responses.length : 0;
        if (err) stats.ack_timeouts++;
      });
    } else
      target.emit("push", body);
    reply(200, { sockets: reached.length });
  });
});

const io = new Server(httpServer, {
  transports: ["websocket"],
  pingInterval: Number(arg("ping-interval", "25000")),
  pingTimeout: Number(arg("ping-timeout", "20000")),
  serveClient: false,
});
const nsp = io.of(nspName);

// Engine.IO's server schedules the next ping after each pong; with pings
// stopped, the timer is cleared and never set again for that socket.
function stopPings(s) {
  s.schedulePing = () => {};
  clearTimeout(s.pingIntervalTimer);
}
io.engine.on("connection", (s) => {
  if (stats.pings_stopped) stopPings(s);
});

nsp.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  const user = typeof auth.user === "string" || typeof auth.user === "number" ? String(auth.user) : "";
  if (!user || (token && auth.token !== token)) {
    stats.refused++;
    return next(new Error(user ? "bad token" : "auth needs a user"));
  }
  socket.data.user = user;
  next();
});
nsp.on("connection", (socket) => {
  stats.connected++;
  stats.connects++;
  socket.join("user:" + socket.data.user);
  socket.on("disconnect", () => {
    stats.connected--;
    stats.disconnects++;
  });
});

httpServer.listen(port, host, () => {
  console.log("listening on " + host + ":" + httpServer.address().port);
});
for (const sig of ["SIGTERM", "SIGINT"])
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
