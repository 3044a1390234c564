// Slow-loris (issue 18, item 1): a connection that has not sent a complete
// request head or HTTP/2 preface within the headers timeout is closed, 408
// where HTTP/1.1 allows, while normal requests keep being served; beyond the
// connection cap new connections are refused.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/health/v1/health_pb.js";
import { createLogger } from "../../services/shared/logger.js";
import { ProcessMetrics } from "../../services/shared/metrics.js";
import { serve, type RunningServer } from "../../services/shared/server.js";

const headersTimeoutMs = 500;

function start(server: { headersTimeoutMs?: number; maxConnections?: number }, metrics = new ProcessMetrics("slow-clients-test")) {
  return serve({
    processName: "slow-clients-test",
    config: { host: "127.0.0.1", port: 0, maxBodyBytes: 4096, server },
    logger: createLogger("slow-clients-test", "silent"),
    metrics,
    implementations: [],
  });
}

interface RawConnection {
  socket: net.Socket;
  /** Everything the server sent, and how long after connecting it closed the connection. */
  closed: Promise<{ received: string; afterMs: number }>;
}

function connectRaw(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, "127.0.0.1");
    let received = "";
    socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
    socket.on("error", () => {});
    const closed = new Promise<{ received: string; afterMs: number }>((done) => socket.once("close", () => done({ received, afterMs: Date.now() - started })));
    socket.once("connect", () => resolve({ socket, closed }));
    socket.once("error", reject);
  });
}

/** Writes `parts` one every `everyMs` until the connection closes. */
function trickle(socket: net.Socket, parts: string[], everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= parts.length) return clearInterval(timer);
    socket.write(parts[i++]!);
  }, everyMs);
  socket.once("close", () => clearInterval(timer));
}

let server: RunningServer;
let base: string;
beforeAll(async () => {
  server = await start({ headersTimeoutMs });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server?.close());

describe("slow clients", () => {
  it("closes an idle connection that sends nothing, with a 408", async () => {
    const { closed } = await connectRaw(server.port);
    const { received, afterMs } = await closed;
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(afterMs).toBeGreaterThanOrEqual(headersTimeoutMs - 50);
    expect(afterMs).toBeLessThan(headersTimeoutMs + 2000);
  });

  it("closes a connection stuck in the middle of its HTTP/2 preface", async () => {
    const { socket, closed } = await connectRaw(server.port);
    socket.write("PRI * HTTP/2.0\r\n");
    const { received, afterMs } = await closed;
    expect(received).toBe("");
    expect(afterMs).toBeLessThan(headersTimeoutMs + 2000);
  });

  it("closes an HTTP/1.1 request whose header lines keep trickling in, with a 408", async () => {
    const { socket, closed } = await connectRaw(server.port);
    socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    trickle(socket, Array.from({ length: 100 }, (_, i) => `X-Slow-${i}: y\r\n`), 100);
    const { received, afterMs } = await closed;
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(afterMs).toBeLessThan(headersTimeoutMs + 2000);
  });

  it("closes an idle keep-alive connection's next request head that never completes", async () => {
    const { socket, closed } = await connectRaw(server.port);
    socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((r) => setTimeout(r, 200));
    socket.write("GET /healthz HTTP/1.1\r\n");
    const { received } = await closed;
    expect(received).toMatch(/^HTTP\/1\.1 200 [\s\S]*HTTP\/1\.1 408 /);
  });

  it("keeps serving HTTP/1.1 and HTTP/2 clients while slow ones are held, and a head sent in pieces in time", async () => {
    const slow = await Promise.all(Array.from({ length: 20 }, () => connectRaw(server.port)));
    for (const [i, { socket }] of slow.entries()) if (i % 2 === 0) socket.write("PRI * HTTP/2.0\r\n");
    const health = createClient(Health, createGrpcTransport({ baseUrl: base }));
    for (let i = 0; i < 5; i++) {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    }
    const { socket, closed } = await connectRaw(server.port);
    trickle(socket, ["GET /healthz HTTP/1.1\r\n", "Host: x\r\n", "Connection: close\r\n", "\r\n"], 50);
    expect((await closed).received).toMatch(/^HTTP\/1\.1 200 /);
    await Promise.all(slow.map((c) => c.closed));
  });
});

describe("connection cap", () => {
  it("refuses connections beyond ONERING_MAX_CONNECTIONS, counts them, and takes new ones once some close", async () => {
    const metrics = new ProcessMetrics("slow-clients-cap-test");
    const capped = await start({ headersTimeoutMs: 60_000, maxConnections: 3 }, metrics);
    try {
      const held = await Promise.all([0, 1, 2].map(() => connectRaw(capped.port)));
      const refused = await connectRaw(capped.port);
      expect((await refused.closed).received).toBe("");
      expect(await metrics.registry.getSingleMetricAsString("onering_connections_refused_total")).toMatch(/ 1$/m);
      held[0]!.socket.destroy();
      await held[0]!.closed;
      await new Promise((r) => setTimeout(r, 50));
      const res = await fetch(`http://127.0.0.1:${capped.port}/healthz`);
      expect(res.status).toBe(200);
      for (const c of held) c.socket.destroy();
    } finally {
      await capped.close();
    }
  });
});
