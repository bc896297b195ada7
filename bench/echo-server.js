// A fast, off-the-shelf echo server for the benchmark: the npm package `ws` under node.
// Usage: node echo-server.js PORT   (prints "listening PORT" when ready)
const { WebSocketServer } = require("ws");
const port = Number(process.argv[2] || 0);
const server = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate: false, backlog: 8192 });
server.on("connection", (socket) => {
  socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.on("error", () => {});
});
server.on("listening", () => console.log(`listening ${server.address().port}`));
