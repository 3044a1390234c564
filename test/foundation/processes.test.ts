// Every process starts, answers health over gRPC (HTTP/2) and Connect JSON
// (HTTP/1.1) on one port, serves reflection to a real gRPC client, /metrics,
// and stops cleanly on SIGTERM.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/health/v1/health_pb.js";
import { meshProcesses, repoRoot, spawnProcess, type ProcessName } from "../../tools/mesh/processes.js";
import { startMesh, type Mesh } from "../harness/mesh.js";

const run = promisify(execFile);
const buf = path.join(repoRoot, "node_modules/.bin/buf");

const expectedServices: Record<ProcessName, string[]> = {
  gateway: ["onering.v1.GatewayService"],
  key: ["onering.v1.KeyService"],
  webhook: ["onering.v1.WebhookService"],
  metrics: ["onering.v1.MetricsService"],
  "webhook-worker": [],
};

let mesh: Mesh;
beforeAll(async () => {
  mesh = await startMesh();
});
afterAll(() => mesh?.stop());

describe.each(meshProcesses.map((p) => p.name))("%s", (name) => {
  it("answers Health/Check over gRPC on HTTP/2", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: mesh.url(name) }));
    expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    for (const service of expectedServices[name]) {
      expect((await health.check({ service })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    }
  });

  it("answers Health/Check as Connect JSON on HTTP/1.1, on the same port", async () => {
    const res = await fetch(`${mesh.url(name)}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "SERVING" });
  });

  it("lists its services through gRPC reflection (buf curl, v1 and v1alpha)", async () => {
    for (const protocol of ["grpc-v1", "grpc-v1alpha"]) {
      const { stdout } = await run(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--reflect-protocol", protocol, "--list-services", mesh.url(name)]);
      const listed = stdout.trim().split("\n").sort();
      expect(listed).toEqual(
        ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection", ...expectedServices[name]].sort(),
      );
    }
  });

  it("serves /healthz, /readyz and Prometheus /metrics (the gateway's only with the admin key: its port is public)", async () => {
    expect((await fetch(`${mesh.url(name)}/healthz`)).status).toBe(200);
    expect((await fetch(`${mesh.url(name)}/readyz`)).status).toBe(200);
    const open = await fetch(`${mesh.url(name)}/metrics`);
    expect(open.status).toBe(name === "gateway" ? 401 : 200);
    const metrics = await (await fetch(`${mesh.url(name)}/metrics`, { headers: { authorization: `Bearer ${mesh.adminKey}` } })).text();
    expect(metrics).toContain("process_cpu_seconds_total");
    expect(metrics).toContain("onering_rpc_requests_total");
  });
});

it("describes a service's methods through reflection, with no proto files at hand", async () => {
  const { stdout } = await run(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", mesh.url("metrics")]);
  expect(stdout).toContain("onering.v1.MetricsService/GetWebhookMetrics");
});

it.each([
  ["without the internal token", {}],
  ["with a wrong token", { authorization: `Bearer ${"x".repeat(48)}` }],
])("refuses internal RPCs %s", async (_, auth) => {
  const res = await fetch(`${mesh.url("key")}/onering.v1.KeyService/GetKey`, {
    method: "POST",
    headers: { "content-type": "application/json", ...auth },
    body: JSON.stringify({ id: "key_x" }),
  });
  expect(res.status).toBe(401);
  const body = (await res.json()) as { details: { debug: { reason: string } }[] };
  expect(body.details[0].debug.reason).toBe("UNAUTHENTICATED");
});

it("stops with exit code 0 on SIGTERM", async () => {
  const proc = mesh.processes.get("metrics")!;
  const exited = new Promise<number | null>((resolve) => proc.child.once("exit", (code) => resolve(code)));
  proc.child.kill("SIGTERM");
  expect(await exited).toBe(0);
  expect(proc.logs.join("\n")).toContain('"msg":"stopped"');
});

it("refuses to start on a bad environment value, naming the variable", async () => {
  const child = spawnProcess(meshProcesses[0], { ...mesh.env, PORT: "0", ONERING_WEBHOOKS_MAX_ATTEMPTS: "abc" });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  expect(code).toBe(1);
  expect(stderr).toContain("ONERING_WEBHOOKS_MAX_ATTEMPTS");
});
