// REST-transcoded vs Connect JSON vs bare node:http on the same operation
// (GatewayService.GetWebhook), all three in this process with the same
// implementation, measured one after another with autocannon.
//   npx tsx bench/transcoding.ts            (BENCH_SECONDS=10, BENCH_CONNECTIONS=10)
import type { ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import autocannon from "autocannon";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { GatewayService } from "../gen/onering/v1/gateway_pb.js";
import { createLogger } from "../services/shared/logger.js";
import { createTranscoder, transcodedService } from "../services/shared/transcoding/transcoder.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);

const impl: Partial<ServiceImpl<typeof GatewayService>> = {
  getWebhook: (req) => ({ webhook: { id: req.id, url: "https://example.com/hook", eventTypes: ["invoice.*"], enabled: true } }),
};

const rest = createTranscoder({ services: [transcodedService(GatewayService, impl)], maxBodyBytes: 1 << 20, logger: createLogger("bench", "silent") });
const connect = connectNodeAdapter({ routes: (router) => router.service(GatewayService, impl) });

// The floor: the same answer, hand-routed and hand-encoded, no framework at all.
const bare = (req: http.IncomingMessage, res: http.ServerResponse) => {
  const match = /^\/v1\/external\/webhooks\/([^/?]+)$/.exec(req.url ?? "");
  if (req.method !== "GET" || !match) {
    res.writeHead(404).end();
    return;
  }
  const body = JSON.stringify({ webhook: { id: decodeURIComponent(match[1]), url: "https://example.com/hook", event_types: ["invoice.*"], enabled: true } });
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
};

async function listen(handler: http.RequestListener): Promise<http.Server> {
  const server = http.createServer({ keepAliveTimeout: 65_000 }, handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

async function measure(name: string, handler: http.RequestListener, request: { method: "GET" | "POST"; path: string; body?: string; headers?: Record<string, string> }) {
  const server = await listen(handler);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${request.path}`;
  // One checked call first, so a broken setup cannot pass as a fast one.
  const check = await fetch(url, { method: request.method, body: request.body, headers: request.headers });
  if (check.status !== 200) throw new Error(`${name}: ${check.status} ${await check.text()}`);
  const result = await autocannon({ url, connections, duration: seconds, method: request.method, body: request.body, headers: request.headers });
  server.close();
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { name, rps: result.requests.average, p99: result.latency.p99 };
}

const results = [
  await measure("REST (transcoded)", (req, res) => void rest.handle(req, res), { method: "GET", path: "/v1/external/webhooks/wh_1" }),
  await measure("Connect JSON", connect, { method: "POST", path: "/onering.v1.GatewayService/GetWebhook", body: '{"id":"wh_1"}', headers: { "content-type": "application/json" } }),
  await measure("bare node:http", bare, { method: "GET", path: "/v1/external/webhooks/wh_1" }),
];
const [transcoded, connectJson, floor] = results;
console.log(`GetWebhook, ${connections} connections, ${seconds}s each`);
for (const r of results) console.log(`${r.name.padEnd(20)} ${r.rps.toFixed(0).padStart(8)} req/s   p99 ${r.p99} ms`);
console.log(`REST / Connect JSON: ${(transcoded.rps / connectJson.rps).toFixed(2)}  (goal ≥ 1.0)`);
console.log(`REST / bare:         ${(transcoded.rps / floor.rps).toFixed(2)}  (goal ≥ 0.5)`);
