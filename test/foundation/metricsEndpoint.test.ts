// /metrics (issue 18, item 7): on a public port it needs the key, health
// endpoints stay open, and ONERING_METRICS_PORT serves it to the scraper alone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../services/shared/logger.js";
import { ProcessMetrics } from "../../services/shared/metrics.js";
import { serve, type RunningServer } from "../../services/shared/server.js";

const adminKey = `admin_${"k".repeat(24)}`;

function start(options: { metricsKey?: string; metricsPort?: number }) {
  return serve({
    processName: "metrics-endpoint-test",
    config: { host: "127.0.0.1", port: 0, maxBodyBytes: 4096, server: { metricsPort: options.metricsPort } },
    logger: createLogger("metrics-endpoint-test", "silent"),
    metrics: new ProcessMetrics("metrics-endpoint-test"),
    implementations: [],
    metricsKey: options.metricsKey,
  });
}

describe("a public port (the gateway's)", () => {
  let server: RunningServer;
  let base: string;
  beforeAll(async () => {
    server = await start({ metricsKey: adminKey, metricsPort: 0 });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => server?.close());

  it.each([
    ["no credentials", {}],
    ["a wrong key", { authorization: `Bearer ${"x".repeat(30)}` }],
    ["the key not as a bearer token", { authorization: adminKey }],
  ])("refuses /metrics with %s, in the contract's error shape", async (_, headers) => {
    const res = await fetch(`${base}/metrics`, { headers: { "x-request-id": "scrape-1", ...headers } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
    const body = (await res.json()) as Record<string, string>;
    expect(body).toMatchObject({ code: "UNAUTHENTICATED", request_id: "scrape-1" });
    expect(JSON.stringify(body)).not.toContain("process_cpu");
  });

  it("serves /metrics with the admin key", async () => {
    const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("process_cpu_seconds_total");
  });

  it("keeps /healthz and /readyz open", async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it("serves /metrics to anyone on the metrics port, and nothing else there", async () => {
    expect(server.metricsPort).toBeGreaterThan(0);
    const metricsBase = `http://127.0.0.1:${server.metricsPort}`;
    const res = await fetch(`${metricsBase}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    expect(await res.text()).toContain("process_cpu_seconds_total");
    expect((await fetch(`${metricsBase}/healthz`)).status).toBe(404);
    expect((await fetch(`${metricsBase}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(404);
  });
});

describe("an internal port", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({});
  });
  afterAll(() => server?.close());

  it("keeps /metrics open and opens no metrics port unless asked", async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("onering_connections_refused_total");
    expect(server.metricsPort).toBeUndefined();
  });
});
