// A mesh for benchmarks: the real processes, started by the test harness from
// the build (tsc output, as the image runs them; bench/run.ts builds first)
// with quiet logs. By default those the external API path runs through
// (KeyService, MetricsService for usage records, the gateway).
import { startMesh, type Mesh } from "../test/harness/mesh.js";
import { createKey } from "../test/keys/gatewayClient.js";
import type { ProcessName } from "../tools/mesh/processes.js";

export async function startBenchMesh(env: Record<string, string> = {}, only: ProcessName[] = ["key", "metrics", "gateway"]): Promise<Mesh> {
  return startMesh({ only, source: "build", env: { LOG_LEVEL: "warn", ...env } });
}

/** A fresh key's secret and the headers that present it. */
export async function benchKey(mesh: Mesh, tier: "pro" | "enterprise"): Promise<{ secret: string; headers: Record<string, string> }> {
  const { secret } = await createKey(mesh, { name: `bench-${tier}`, tier });
  return { secret, headers: { authorization: `Bearer ${secret}` } };
}

/** The REST and Connect JSON forms of GetMe against one gateway. */
export function getMeLoads(gatewayUrl: string, headers: Record<string, string>) {
  return {
    rest: { url: `${gatewayUrl}/v1/external/me`, headers },
    connect: { url: `${gatewayUrl}/onering.v1.GatewayService/GetMe`, method: "POST" as const, body: "{}", headers: { ...headers, "content-type": "application/json" } },
  };
}

/** No hourly limit is reached during a benchmark with this one. */
export const unreachableLimit = "1000000000";
