// The floor for the gateway section, run as its own process: bare node:http
// answering GET /v1/external/me with the same JSON and the same response
// headers as the gateway (request id, rate-limit set, canary mode), hand-routed
// and hand-encoded, with no authentication and no framework.
import { randomUUID } from "node:crypto";
import http from "node:http";
import { listenLocal } from "./childServer.js";

const limit = 1_000_000_000;
const reset = Math.ceil(Date.now() / 3_600_000) * 3600;
let used = 0;

const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  if (req.method !== "GET" || req.url !== "/v1/external/me" || !req.headers.authorization) {
    res.writeHead(404).end();
    return;
  }
  used++;
  const remaining = limit - used;
  const body = JSON.stringify({ id: "key_bench", name: "bench", tier: "enterprise", canary: false, limit: String(limit), remaining: String(remaining), reset: String(reset), usage_count: String(used) });
  res.writeHead(200, {
    "x-request-id": randomUUID(),
    "x-canary-mode": "false",
    "x-ratelimit-limit": String(limit),
    "x-ratelimit-remaining": String(remaining),
    "x-ratelimit-reset": String(reset),
    "ratelimit-policy": `"hourly";q=${limit};w=3600`,
    ratelimit: `"hourly";r=${remaining};t=${reset - Math.floor(Date.now() / 1000)}`,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
});

console.log(JSON.stringify({ bare: await listenLocal(server) }));
