// The smoke tool (`npm run smoke`, its own process) against two live meshes:
// one healthy (5/5), one with webhooks switched off (phase 4 fails with the
// reason, phase 5 as its dependent, exit non-zero).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMesh, type Mesh } from "../harness/mesh.js";
import { rest, runTool, startSinkProcess, type SinkProcess } from "./toolProcess.js";

interface SmokeReport {
  passed: number;
  total: number;
  results: { phase: string; passed: boolean; detail: string }[];
}

let healthy: Mesh;
let webhooksOff: Mesh;
let sink: SinkProcess;

const smoke = (mesh: Mesh, ...extra: string[]) => smokeWithSink(mesh, sink.url, ...extra);
const smokeWithSink = (mesh: Mesh, sinkUrl: string, ...extra: string[]) =>
  runTool("tools/smoke/main.ts", ["--backend-url", mesh.gatewayUrl, "--admin-key", mesh.adminKey, "--webhook-sink", sinkUrl, ...extra]);

beforeAll(async () => {
  // One mesh at a time: ten processes starting at once starve a two-core machine.
  healthy = await startMesh({ env: { ONERING_WEBHOOKS_DELIVERY_LOOP_SECONDS: "0.5" } });
  webhooksOff = await startMesh({ env: { ONERING_WEBHOOKS_ENABLED: "0" } });
  sink = await startSinkProcess(["--port", "0"]);
}, 300_000);
afterAll(async () => {
  await sink?.stop();
  await Promise.all([healthy?.stop(), webhooksOff?.stop()]);
});

describe("smoke test against a healthy mesh", () => {
  it("passes all five phases for humans and exits 0", async () => {
    const { code, stdout, stderr } = await smoke(healthy);
    expect(stderr).toBe("");
    expect(stdout).toContain("Total: 5/5 PASSED");
    expect(stdout.match(/✅/g)).toHaveLength(5);
    expect(stdout).not.toContain("❌");
    expect(code).toBe(0);
  });

  it("reports the same as JSON for machines, and cleans up the key it created", async () => {
    const { code, stdout } = await smoke(healthy, "--json");
    const report = JSON.parse(stdout) as SmokeReport;
    expect(report).toMatchObject({ passed: 5, total: 5 });
    expect(report.results.map((r) => r.phase)).toEqual([
      "Backend health",
      "API key creation",
      "External call with rate-limit headers",
      "Webhook subscription",
      "Webhook delivery verified at the sink",
    ]);
    expect(report.results.every((r) => r.passed && r.detail.length > 0)).toBe(true);
    expect(code).toBe(0);

    const keyId = /created (\S+)/.exec(report.results[1]!.detail)![1]!;
    const { key } = await rest<{ key: { revoke_time?: string } }>(`${healthy.gatewayUrl}/v1/admin/external/keys/${keyId}`, healthy.adminKey);
    expect(key.revoke_time).toBeTruthy();
  });

  it.each(["/webhook", "/"])("takes the sink's URL with %s after it, as people copy it", async (suffix) => {
    const { code, stdout } = await smokeWithSink(healthy, `${sink.url}${suffix}`, "--json");
    expect(JSON.parse(stdout)).toMatchObject({ passed: 5, total: 5 });
    expect(code).toBe(0);
  });
});

describe("smoke test against a mesh with webhooks switched off", () => {
  it("fails the subscription phase with WEBHOOKS_DISABLED, the delivery phase as its dependent, and exits non-zero", async () => {
    const { code, stdout } = await smoke(webhooksOff, "--json");
    const report = JSON.parse(stdout) as SmokeReport;
    expect(report.passed).toBe(3);
    expect(report.results.slice(0, 3).every((r) => r.passed)).toBe(true);
    expect(report.results[3]).toMatchObject({ phase: "Webhook subscription", passed: false });
    expect(report.results[3]!.detail).toContain("503 (WEBHOOKS_DISABLED");
    expect(report.results[4]).toMatchObject({ passed: false, detail: expect.stringContaining("subscription failed") });
    expect(code).toBe(1);
  });

  it("prints the failure for humans with the total", async () => {
    const { code, stdout } = await smoke(webhooksOff);
    expect(stdout).toMatch(/❌ 4\/5 Webhook subscription: .*WEBHOOKS_DISABLED/);
    expect(stdout).toContain("Total: 3/5 PASSED");
    expect(code).toBe(1);
  });
});
