// node:http + toNodeHandler(auth) on $HOST:$PORT (127.0.0.1:3005), serving /api/auth/*.
// Prints "listening on http://HOST:PORT" once it accepts connections.
import http from "node:http";
import { toNodeHandler } from "better-auth/node";
import { auth, closeDatabase } from "./auth.mjs";

const handler = toNodeHandler(auth);
const port = Number(process.env.PORT ?? 3005);
const host = process.env.HOST ?? "127.0.0.1"; // 0.0.0.0 inside a container
const server = http.createServer((req, res) => {
  if (req.url?.startsWith("/api/auth")) return handler(req, res);
  res.statusCode = 404;
  res.end("not found");
});

function shutdown() {
  server.close(() => closeDatabase().finally(() => process.exit(0)));
  server.closeAllConnections();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

server.listen(port, host, () => {
  console.log(`listening on http://${host}:${port}`);
});
