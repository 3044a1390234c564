// The webhook section's receiver, in its own process: answers every POST with
// 204 and notes, per webhook-id (first arrival only, redeliveries ignored),
// how long after `data.sentAt` (the publisher's clock, same machine) it came.
// GET /stats returns the arrivals and their latencies; DELETE /stats forgets them.
import http from "node:http";
import { listenLocal } from "./childServer.js";

const now = () => performance.timeOrigin + performance.now();
let seen = new Set<string>();
let latencies: number[] = [];
let lastArrival = 0;

const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  if (req.url === "/stats") {
    if (req.method === "DELETE") {
      seen = new Set();
      latencies = [];
      lastArrival = 0;
      return void res.writeHead(204).end();
    }
    return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ count: seen.size, lastArrival, latencies }));
  }
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const arrived = now();
    const id = String(req.headers["webhook-id"]);
    if (!seen.has(id)) {
      seen.add(id);
      lastArrival = arrived;
      const sentAt = (JSON.parse(Buffer.concat(chunks).toString()) as { data?: { sentAt?: number } }).data?.sentAt;
      if (typeof sentAt === "number") latencies.push(arrived - sentAt);
    }
    res.writeHead(204).end();
  });
});

console.log(JSON.stringify({ receiver: await listenLocal(server) }));
