// 10,000 malformed, oversized and random requests against the real gateway:
// no crash, no 500, every error in the contract's shape, memory settles back.
import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startMesh, type Mesh } from "../harness/mesh.js";

let mesh: Mesh;
let validKey = "";
beforeAll(async () => {
  mesh = await startMesh({ only: ["key", "gateway"], env: { ONERING_MAX_BODY_BYTES: "65536" } });
  const res = await fetch(`${mesh.gatewayUrl}/v1/admin/external/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${mesh.adminKey}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "fuzz", tier: "enterprise" }),
  });
  validKey = ((await res.json()) as { secret: string }).secret;
});
afterAll(() => mesh?.stop());

// A seeded generator, so a failure can be replayed.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const paths = [
  "/v1/external/me",
  "/v1/external/webhooks",
  "/v1/external/webhooks/{x}",
  "/v1/external/webhooks/{x}:rotate-secret",
  "/v1/external/webhooks/{x}:test",
  "/v1/external/webhooks/{x}/deliveries",
  "/v1/admin/external/keys",
  "/v1/admin/external/keys/{x}",
  "/v1/admin/external/keys/{x}:rotate",
  "/v1/admin/events",
  "/v1/admin/webhooks/dead-letters",
  "/v1/admin/webhooks/deliveries/{x}:replay",
  "/v1/admin/webhooks/dead-letters:replay",
  "/v1/admin/flags",
  "/v1/admin/flags/{x}",
  "/v1/monitoring/external/metrics",
  "/v1/monitoring/webhooks/metrics",
  "/v1/monitoring/external/api-keys",
  "/v2/nothing/{x}",
  "/{x}",
];
const methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"];
const junk = ["", "%00", "%2F..%2F", "..", "a".repeat(3000), "😀", "%E0%A4%A", "key_1?x=1&x=2", "{id}", ":verb", "null", "-1"];

function request(random: () => number) {
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const path = pick(paths).replace("{x}", () => encodeURIComponent(pick(junk)).slice(0, 4000)) + (random() < 0.3 ? `?${pick(["page_size=abc", "tier=gold", "canary=maybe", "a.b.c=1", "page_size=-5&page_size=7", "since=yesterday", "%zz=1"])}` : "");
  const headers: Record<string, string> = {};
  const auth = random();
  if (auth < 0.25) headers.authorization = `Bearer ${validKey}`;
  else if (auth < 0.4) headers.authorization = `Bearer ${mesh.adminKey}`;
  else if (auth < 0.6) headers.authorization = pick(["Bearer", "Bearer sk_live_", `Bearer ${validKey.slice(0, -1)}x`, "Basic Zm9vOmJhcg==", `Bearer ${"z".repeat(5000)}`]);
  else if (auth < 0.7) headers["x-api-key"] = pick([validKey, "sk_test_abc", ""]);
  if (random() < 0.3) headers["x-request-id"] = pick(["ok-id", "bad id with spaces", "x".repeat(500)]);
  if (random() < 0.7) headers["content-type"] = pick(["application/json", "text/plain", "application/json; charset=latin1", "multipart/form-data"]);
  const kind = random();
  let body: Buffer | undefined;
  if (kind < 0.2) body = Buffer.from(JSON.stringify({ name: pick([1, null, "", "x".repeat(300), [], {}]), tier: pick(["gold", 3, null, "free"]), canary: pick(["yes", 1, true]) }));
  else if (kind < 0.35) body = Buffer.from(pick(["{", "[]", "null", '{"a":', "\u0000\u0001", '{"enabled":"true"}', '{"type":"a.b","data":[1,2]}', '{"url":"http://169.254.169.254/"}']));
  else if (kind < 0.4) body = Buffer.alloc(70_000 + Math.floor(random() * 10_000), 0x61);
  else if (kind < 0.5) body = Buffer.from(Array.from({ length: 200 }, () => Math.floor(random() * 256)));
  // Node's client frames a GET/DELETE/OPTIONS body only when told its length.
  if (body) headers["content-length"] = String(body.length);
  return { method: pick(methods), path, headers, body };
}

function send(req: ReturnType<typeof request>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request(`${mesh.gatewayUrl}${req.path}`, { method: req.method, headers: req.headers, agent }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on("error", reject);
    });
    // The server may refuse an oversized body before reading it all.
    r.on("error", (err: NodeJS.ErrnoException) => (err.code === "ECONNRESET" || err.code === "EPIPE" ? resolve({ status: 413, headers: {}, body: "" }) : reject(err)));
    r.end(req.body);
  });
}
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

async function rss(): Promise<number> {
  const text = await (await fetch(`${mesh.gatewayUrl}/metrics`, { headers: { authorization: `Bearer ${mesh.adminKey}` } })).text();
  return Number(/^process_resident_memory_bytes\S* (\d+)/m.exec(text)![1]);
}

it("survives 10,000 hostile requests, answering each in the contract's shape", async () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 100_000);
  const random = rng(seed);
  const baseline = await rss();
  const problems: string[] = [];
  let index = 0;
  const worker = async () => {
    while (index < 10_000) {
      const req = request(random);
      index++;
      const res = await send(req);
      const where = `seed ${seed}: ${req.method} ${req.path.slice(0, 120)} → ${res.status}`;
      if (res.status >= 500 && res.status !== 503 && res.status !== 501) problems.push(`${where} ${res.body.slice(0, 200)}`);
      if (res.status >= 400 && req.method !== "HEAD" && res.body) {
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(res.body) as Record<string, unknown>;
        } catch {
          problems.push(`${where} non-JSON error body ${res.body.slice(0, 100)}`);
        }
        if (typeof parsed.code !== "string" || typeof parsed.message !== "string" || typeof parsed.request_id !== "string") {
          problems.push(`${where} error not in the contract's shape ${res.body.slice(0, 200)}`);
        }
      }
      if (res.status !== 413 && !res.headers["x-request-id"]) problems.push(`${where} without X-Request-Id ${JSON.stringify(req.headers).slice(0, 300)} ${res.body.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  expect(problems.slice(0, 20)).toEqual([]);
  expect((await fetch(`${mesh.gatewayUrl}/healthz`)).status).toBe(200);
  expect(mesh.processes.get("gateway")!.child.exitCode).toBeNull();
  // Allow the collector a moment; the gateway must not keep what the flood left behind.
  let after = await rss();
  for (let i = 0; i < 20 && after > baseline + 64 * 1024 * 1024; i++) {
    await new Promise((r) => setTimeout(r, 250));
    after = await rss();
  }
  expect(after).toBeLessThan(baseline + 64 * 1024 * 1024);
}, 180_000);

it("answers bytes that are not HTTP at all in the contract's shape, then closes", async () => {
  const { port } = new URL(mesh.gatewayUrl);
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), "127.0.0.1", () => socket.end("GARBAGE \u0001\u0002 NOT HTTP\r\n\r\n"));
    let text = "";
    socket.on("data", (chunk) => (text += chunk.toString()));
    socket.on("close", () => resolve(text));
    socket.on("error", reject);
  });
  expect(reply).toMatch(/^HTTP\/1\.1 400 /);
  expect(reply).toMatch(/x-request-id: \S+/);
  const body = JSON.parse(reply.slice(reply.indexOf("\r\n\r\n") + 4)) as Record<string, string>;
  expect(body).toMatchObject({ code: "INVALID_ARGUMENT", message: "malformed HTTP request" });
  expect(body.request_id).toBeTruthy();
});
