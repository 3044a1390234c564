// MetricsService against real NATS and Postgres: records published the way the
// gateway and worker publish them are counted exactly, once, across restarts.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MetricsService } from "../../gen/onering/v1/metrics_pb.js";
import { createLogger } from "../../services/shared/logger.js";
import { connectNats, type NatsConnection } from "../../services/shared/nats.js";
import { ProcessMetrics } from "../../services/shared/metrics.js";
import { ensureUsageStream, UsagePublishers } from "../../services/shared/usageStream.js";
import { repoRoot } from "../../tools/mesh/processes.js";
import { startMesh, type Mesh } from "../harness/mesh.js";

let mesh: Mesh;
let nc: NatsConnection;
let publishers: UsagePublishers;

beforeAll(async () => {
  // KeyService too: active_keys counts its non-revoked keys.
  mesh = await startMesh({ only: ["key", "metrics"], env: { ONERING_ALERT_AUTH_FAILURES_24H: "3" } });
  nc = await connectNats(mesh.natsUrl, "test", createLogger("test", "silent"));
  await ensureUsageStream(nc, mesh.natsPrefix, 1);
  publishers = new UsagePublishers(nc, mesh.natsPrefix, new ProcessMetrics("test").registry, createLogger("test", "silent"));
});
afterAll(async () => {
  await nc?.close();
  await mesh?.stop();
});

const client = () =>
  createClient(
    MetricsService,
    createGrpcTransport({
      baseUrl: mesh.url("metrics"),
      interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${mesh.adminKey}`), next(req))],
    }),
  );

function request(keyId: string, tier: string, outcome: string) {
  publishers.requests.record({ keyId, tier, route: "GetMe", outcome, status: outcome === "ok" ? 200 : 401, latencyUs: 500n, timeMs: BigInt(Date.now()) });
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

it("counts requests by tier and outcome, exactly, with alerts at the threshold", async () => {
  for (let i = 0; i < 5; i++) request("key_a", "free", "ok");
  for (let i = 0; i < 2; i++) request("key_b", "pro", "ok");
  request("key_b", "pro", "rate_limited");
  for (let i = 0; i < 3; i++) request("", "unknown", "auth_failure");
  await publishers.close();

  const metrics = await until(() => client().getExternalMetrics({}), (m) => m.requestsTotal >= 11n);
  expect(metrics.requestsTotal).toBe(11n);
  expect(metrics.authFailures24h).toBe(3n);
  expect(metrics.rateLimitHits24h).toBe(1n);
  expect(metrics.keysWithTraffic24h).toBe(2n);
  expect(metrics.activeKeys).toBe(0n);
  expect(metrics.byTier.free.requests).toEqual({ ok: 5n });
  expect(metrics.byTier.pro.rateLimitHits).toBe(1n);
  expect(metrics.byTier.pro.keysWithTraffic24h).toBe(1n);
  expect(metrics.alerts.auth_failures).toMatchObject({ threshold: 3, observed: 3, firing: false });

  request("", "unknown", "auth_failure");
  await publishers.close();
  const after = await until(() => client().getExternalMetrics({}), (m) => m.authFailures24h >= 4n);
  expect(after.alerts.auth_failures).toMatchObject({ observed: 4, firing: true });
});

it("keeps its figures, counted once, across a restart", async () => {
  const before = await client().getExternalMetrics({});
  await mesh.stopProcess("metrics");
  request("key_c", "enterprise", "ok");
  await publishers.close();
  await mesh.startProcess("metrics");
  const after = await until(() => client().getExternalMetrics({}), (m) => m.requestsTotal > before.requestsTotal);
  expect(after.requestsTotal).toBe(before.requestsTotal + 1n);
  expect(after.byTier.enterprise.requests).toEqual({ ok: 1n });
});

it("charts the last minutes, one point per minute with zeros where nothing happened, counts summed from aggregated records", async () => {
  const now = Date.now();
  const twoMinutesAgo = now - 120_000;
  publishers.requests.record({ keyId: "key_s", tier: "pro", route: "GetMe", outcome: "ok", status: 200, latencyUs: 700n, timeMs: BigInt(twoMinutesAgo), count: 40 });
  publishers.requests.record({ keyId: "key_s", tier: "pro", route: "GetMe", outcome: "rate_limited", status: 429, latencyUs: 30n, timeMs: BigInt(now), count: 3 });
  await publishers.close();
  const minuteOf = (ms: number) => BigInt(Math.floor(ms / 60_000) * 60);
  const series = await until(
    () => client().getMinuteSeries({ minutes: 5 }),
    (s) => s.points.some((p) => p.rateLimitHits >= 3n),
  );
  expect(series.points).toHaveLength(5);
  const seconds = series.points.map((p) => p.minute!.seconds);
  expect(seconds.at(-1)! - minuteOf(now)).toBeLessThanOrEqual(60n);
  expect(seconds.slice(1).map((s, i) => s - seconds[i]!)).toEqual([60n, 60n, 60n, 60n]);
  expect(series.points.find((p) => p.minute!.seconds === minuteOf(twoMinutesAgo))!.requestsOk).toBeGreaterThanOrEqual(40n);
  // The first test's single 429 may share this minute; a record's count must add as 3, not 1.
  expect(series.points.find((p) => p.minute!.seconds === minuteOf(now))!.rateLimitHits).toBeGreaterThanOrEqual(3n);
  expect(series.points.reduce((n, p) => n + p.delivered, 0n)).toBe(0n);
  await expect(client().getMinuteSeries({ minutes: 5000 })).rejects.toThrow(/minutes/);
});

it("rejects a window out of range with INVALID_ARGUMENT", async () => {
  await expect(client().getExternalMetrics({ windowSeconds: 5n })).rejects.toThrow(/window_seconds/);
});

it("answers grpcurl-style calls through reflection with the admin key (buf curl)", async () => {
  const { stdout } = await promisify(execFile)(path.join(repoRoot, "node_modules/.bin/buf"), [
    "curl", "--protocol", "grpc", "--http2-prior-knowledge",
    "-H", `authorization: Bearer ${mesh.adminKey}`,
    `${mesh.url("metrics")}/onering.v1.MetricsService/GetExternalMetrics`,
  ]);
  const body = JSON.parse(stdout) as { authFailures24h: string; alerts: Record<string, unknown> };
  expect(body.authFailures24h).toBe("4");
  expect(Object.keys(body.alerts).sort()).toEqual(["auth_failures", "dead_letter", "latency_p90", "rate_limits", "replay_rejected"]);
});
