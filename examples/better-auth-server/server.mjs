// node:http + toNodeHandler(auth) on 127.0.0.1:$PORT, serving /api/auth/*.
// Prints "listening on http://127.0.0.1:PORT" once it accepts connections.
import http from "node:http";
import { toNodeHandler } from "better-auth/node";
import { auth, closeDatabase } from "./auth.mjs";

const handler = toNodeHandler(auth);
const port = Number(process.env.PORT ?? 3005);
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

server.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${port}`);
});
