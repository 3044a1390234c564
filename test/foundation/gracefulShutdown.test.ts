// Graceful shutdown (issue 18, item 5): with 50 slow requests in flight over
// HTTP/1.1 and HTTP/2 when SIGTERM arrives, readiness fails first, every
// request completes (none reset), new work is refused cleanly, and the process
// exits 0 as soon as the drain is done, well inside the grace.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { createInterface } from "node:readline";
import { afterEach, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/health/v1/health_pb.js";
import { KeyService } from "../../gen/onering/v1/key_pb.js";
import { repoRoot } from "../../tools/mesh/processes.js";

let child: ChildProcess | undefined;
afterEach(() => {
  if (child?.exitCode === null) child.kill("SIGKILL");
});

interface SlowService {
  port: number;
  logs: string[];
  exited: Promise<number | null>;
  /** Resolves once `n` calls have reached the slow handler. */
  started(n: number): Promise<void>;
}

/** Starts test/foundation/slowService.ts: GetKey takes `slowMs`; the drain may take `graceSeconds`. */
async function startSlowService(slowMs: number, graceSeconds: number): Promise<SlowService> {
  const proc = spawn(process.execPath, ["--import", "tsx", "test/foundation/slowService.ts"], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      HOST: "127.0.0.1",
      PORT: "0",
      ONERING_ADMIN_KEY: randomBytes(16).toString("hex"),
      ONERING_INTERNAL_TOKEN: randomBytes(16).toString("hex"),
      ONERING_SHUTDOWN_GRACE_SECONDS: String(graceSeconds),
      SLOW_MS: String(slowMs),
    },
  });
  child = proc;
  const exited = new Promise<number | null>((resolve) => proc.once("exit", resolve));
  const logs: string[] = [];
  let startedCalls = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  proc.stderr!.on("data", (chunk: Buffer) => logs.push(chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    void exited.then((code) => reject(new Error(`slow service exited with ${code}: ${logs.join("\n")}`)));
    createInterface({ input: proc.stdout! }).on("line", (line) => {
      logs.push(line);
      if (line.includes('"msg":"slow-service listening"')) resolve(JSON.parse(line).port);
      if (line.includes('"msg":"slow call started"')) startedCalls++;
      for (const w of waiters) if (startedCalls >= w.n) w.resolve();
    });
  });
  const started = (n: number) => new Promise<void>((resolve) => (startedCalls >= n ? resolve() : waiters.push({ n, resolve })));
  return { port, logs, exited, started };
}

/** One Connect JSON call over HTTP/1.1; resolves with the status, body and Connection header. */
function http1GetKey(port: number, agent: http.Agent, id: string): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/onering.v1.KeyService/GetKey", agent, headers: { "content-type": "application/json" } }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(JSON.stringify({ id }));
  });
}

it("finishes 50 requests in flight on SIGTERM, fails readiness first, refuses new work cleanly and exits 0", async () => {
  const graceSeconds = 20;
  const service = await startSlowService(2000, graceSeconds);
  const baseUrl = `http://127.0.0.1:${service.port}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 25 });
  const grpc = createClient(KeyService, createGrpcTransport({ baseUrl }));
  const health = createClient(Health, createGrpcTransport({ baseUrl }));

  // A watcher of the process's health, as a load balancer keeps one.
  const seen: Status[] = [];
  const watching = (async () => {
    for await (const res of health.watch({ service: "" })) seen.push(res.status);
  })();

  let completed = 0;
  const count = <T>(p: Promise<T>) => p.finally(() => completed++);
  const http1 = Array.from({ length: 25 }, (_, i) => count(http1GetKey(service.port, agent, `h1_${i}`)));
  const http2 = Array.from({ length: 25 }, (_, i) => count(grpc.getKey({ id: `h2_${i}` })));
  await service.started(50);
  const stoppedAt = Date.now();
  child!.kill("SIGTERM");

  // Readiness fails first: the watcher hears NOT_SERVING and its stream ends before any request finishes.
  await watching;
  expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING]);
  expect(completed).toBe(0);

  // New work is refused cleanly: a new connection is refused, and the gRPC client, told GOAWAY, gets UNAVAILABLE.
  await expect(fetch(`${baseUrl}/healthz`)).rejects.toMatchObject({ cause: { code: "ECONNREFUSED" } });
  const late = await grpc.getKey({ id: "late" }).then(
    () => undefined,
    (err: unknown) => ConnectError.from(err),
  );
  expect(late?.code).toBe(Code.Unavailable);
  expect(completed).toBe(0);

  // Every request in flight completes; the HTTP/1.1 ones are told to close their connection.
  const h1 = await Promise.all(http1);
  for (const [i, res] of h1.entries()) {
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ key: { id: `h1_${i}` } });
    expect(res.connection).toBe("close");
  }
  const h2 = await Promise.all(http2);
  for (const [i, res] of h2.entries()) expect(res.key?.id).toBe(`h2_${i}`);

  // Out as soon as the drain is done, not at the end of the grace.
  expect(await service.exited).toBe(0);
  expect(Date.now() - stoppedAt).toBeLessThan((graceSeconds * 1000) / 2);
  expect(service.logs.join("\n")).toContain('"msg":"stopped"');
  agent.destroy();
});

it("cuts a request still running when the grace ends, then exits 0", async () => {
  const service = await startSlowService(60_000, 1);
  const keys = createClient(KeyService, createConnectTransport({ baseUrl: `http://127.0.0.1:${service.port}`, httpVersion: "1.1" }));
  const stuck = keys.getKey({ id: "stuck" }).then(
    () => undefined,
    (err: unknown) => ConnectError.from(err),
  );
  await service.started(1);
  const stoppedAt = Date.now();
  child!.kill("SIGTERM");
  expect(await service.exited).toBe(0);
  expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(900);
  expect(Date.now() - stoppedAt).toBeLessThan(5000);
  expect(await stuck).toBeInstanceOf(ConnectError);
  expect(service.logs.join("\n")).toContain("shutdown grace ended with requests in flight");
});
